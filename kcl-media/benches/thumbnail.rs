//! `cargo bench -p kcl-media`: one 12 MP JPEG to 256 px, on the calling thread.
//!
//! Uses `$KCL_BENCH_PHOTO` (a real 4000x3000 photo) when set, otherwise a synthetic
//! noisy 4000x3000 JPEG made with the `image` crate (smoother than a photo, so
//! somewhat faster to decode).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use image::{DynamicImage, Rgb, RgbImage};
use kcl_core::ports::{ImageLimits, Thumbnailer};
use kcl_media::ImageThumbnailer;

fn photo() -> Vec<u8> {
    if let Some(path) = std::env::var_os("KCL_BENCH_PHOTO") {
        return std::fs::read(path).expect("read KCL_BENCH_PHOTO");
    }
    let mut seed = 0x2545_f491_u32;
    let image = RgbImage::from_fn(4000, 3000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = seed % 24;
        Rgb([
            ((x / 16 + n) % 256) as u8,
            ((y / 12 + n) % 256) as u8,
            ((x + y) / 28 % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&DynamicImage::ImageRgb8(image))
        .expect("encode");
    out
}

fn bench(c: &mut Criterion) {
    let data = photo();
    let t = ImageThumbnailer::default();
    let limits = ImageLimits::default();
    let mut group = c.benchmark_group("thumbnail");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    group.bench_function("jpeg_12mp_to_256", |b| {
        b.iter(|| t.thumbnail(&data, 256, &limits).expect("thumbnail"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
