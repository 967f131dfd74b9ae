//! `ImageThumbnailer`: the port's conformance kit, then cases that decode the output
//! again and look at real pixels.

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, Frame, GrayImage, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use kcl_core::ports::{ImageError, ImageFormat, ImageLimits, Thumbnail, Thumbnailer};
use kcl_media::ImageThumbnailer;

fn t() -> ImageThumbnailer {
    ImageThumbnailer::default()
}

fn limits() -> ImageLimits {
    ImageLimits::default()
}

fn jpeg(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .expect("encode jpeg");
    out
}

fn png(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .expect("encode png");
    out
}

/// A smooth, noisy, photograph-like RGB image.
fn photo(width: u32, height: u32) -> RgbImage {
    let mut seed = 0x2545_f491_u32;
    RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 17) as i32 - 8;
        let r = (x * 255 / width) as i32 + noise;
        let g = (y * 255 / height) as i32 + noise;
        let b = 128 + noise;
        Rgb([r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b as u8])
    })
}

/// Inserts an APP1 Exif segment holding only `Orientation = orientation` after SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01".to_vec();
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut segment = b"Exif\x00\x00".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn decode(thumb: &Thumbnail) -> DynamicImage {
    let image = image::load_from_memory(&thumb.data).expect("the thumbnail decodes");
    assert_eq!(
        (image.width(), image.height()),
        (thumb.width, thumb.height),
        "declared size is the real size"
    );
    let expected = match thumb.format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        other => panic!("thumbnail in {other}"),
    };
    assert_eq!(image::guess_format(&thumb.data).ok(), Some(expected));
    image
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= tolerance)
}

#[test]
fn passes_the_conformance_kit() {
    kcl_core::testkit::thumbnailer::run(&t());
}

#[test]
fn is_send_and_sync() {
    fn assert<T: Send + Sync + Default>() {}
    assert::<ImageThumbnailer>();
    let _: Box<dyn Thumbnailer> = Box::new(t());
}

#[test]
fn large_jpeg_is_scaled_with_the_longest_side_exact() {
    let src = photo(1600, 1200);
    let data = jpeg(&DynamicImage::ImageRgb8(src.clone()));
    let info = t().probe(&data, &limits()).expect("probe");
    assert_eq!(
        (info.format, info.width, info.height),
        (ImageFormat::Jpeg, 1600, 1200)
    );
    for (max_side, expected) in [(256, (256, 192)), (100, (100, 75)), (999, (999, 749))] {
        let thumb = t()
            .thumbnail(&data, max_side, &limits())
            .expect("thumbnail");
        assert_eq!(thumb.format, ImageFormat::Jpeg);
        assert_eq!((thumb.width, thumb.height), expected);
        let out = decode(&thumb).into_rgb8();
        // The gradient survives: dark red on the left, bright on the right.
        let left = out.get_pixel(2, out.height() / 2).0;
        let right = out.get_pixel(out.width() - 3, out.height() / 2).0;
        assert!(left[0] < 30 && right[0] > 225, "{left:?} .. {right:?}");
        let top = out.get_pixel(out.width() / 2, 2).0;
        let bottom = out.get_pixel(out.width() / 2, out.height() - 3).0;
        assert!(top[1] < 30 && bottom[1] > 225, "{top:?} .. {bottom:?}");
    }
}

#[test]
fn portrait_and_odd_sizes() {
    let data = jpeg(&DynamicImage::ImageRgb8(photo(333, 1001)));
    let thumb = t().thumbnail(&data, 256, &limits()).expect("thumbnail");
    assert_eq!((thumb.width, thumb.height), (85, 256));
    decode(&thumb);
}

#[test]
fn exif_orientation_6_turns_a_landscape_jpeg_into_portrait() {
    // Stored 40x20: left half red, right half blue. Orientation 6 = rotate 90 CW, so
    // displayed 20x40 with red on top, blue below.
    let src = RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let data = with_orientation(&jpeg(&DynamicImage::ImageRgb8(src)), 6);
    let info = t().probe(&data, &limits()).expect("probe");
    assert_eq!(
        (info.width, info.height),
        (40, 20),
        "probe gives the stored size"
    );
    for (max_side, size) in [(256, (20, 40)), (10, (5, 10))] {
        let thumb = t()
            .thumbnail(&data, max_side, &limits())
            .expect("thumbnail");
        assert_eq!((thumb.width, thumb.height), size, "portrait");
        let out = decode(&thumb).into_rgb8();
        let top = out.get_pixel(out.width() / 2, 1).0;
        let bottom = out.get_pixel(out.width() / 2, out.height() - 2).0;
        assert!(close(top, [255, 0, 0], 40), "top is red: {top:?}");
        assert!(close(bottom, [0, 0, 255], 40), "bottom is blue: {bottom:?}");
    }
    // Orientation 3 (180): red now on the right.
    let src = RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let data = with_orientation(&jpeg(&DynamicImage::ImageRgb8(src)), 3);
    let thumb = t().thumbnail(&data, 256, &limits()).expect("thumbnail");
    let out = decode(&thumb).into_rgb8();
    assert_eq!((out.width(), out.height()), (40, 20));
    assert!(close(out.get_pixel(38, 10).0, [255, 0, 0], 40));
}

#[test]
fn png_with_alpha_stays_png_and_keeps_transparency() {
    let src = RgbaImage::from_fn(200, 100, |x, _| {
        if x < 100 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 200, 0, 255])
        }
    });
    let thumb = t().thumbnail(&png(&src), 50, &limits()).expect("thumbnail");
    assert_eq!(thumb.format, ImageFormat::Png);
    assert_eq!((thumb.width, thumb.height), (50, 25));
    let out = decode(&thumb).into_rgba8();
    assert_eq!(
        out.get_pixel(2, 12).0[3],
        0,
        "transparent stays transparent"
    );
    let opaque = out.get_pixel(47, 12).0;
    assert_eq!(opaque[3], 255);
    assert!(close([opaque[0], opaque[1], opaque[2]], [0, 200, 0], 3));
}

#[test]
fn png_with_an_unused_alpha_channel_becomes_jpeg() {
    let src = RgbaImage::from_pixel(64, 64, Rgba([10, 20, 30, 255]));
    let thumb = t().thumbnail(&png(&src), 32, &limits()).expect("thumbnail");
    assert_eq!(thumb.format, ImageFormat::Jpeg);
    assert_eq!((thumb.width, thumb.height), (32, 32));
    decode(&thumb);
}

#[test]
fn gif_uses_the_first_frame() {
    let mut data = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut data);
        for colour in [[255, 0, 0, 255], [0, 0, 255, 255]] {
            let frame = Frame::new(RgbaImage::from_pixel(60, 40, Rgba(colour)));
            encoder.encode_frame(frame).expect("frame");
        }
    }
    let thumb = t().thumbnail(&data, 30, &limits()).expect("thumbnail");
    assert_eq!((thumb.width, thumb.height), (30, 20));
    let out = decode(&thumb).into_rgb8();
    let centre = out.get_pixel(15, 10).0;
    assert!(
        close(centre, [255, 0, 0], 30),
        "first frame (red): {centre:?}"
    );
}

#[test]
fn lossless_webp() {
    let src = photo(120, 80);
    let mut data = Vec::new();
    WebPEncoder::new_lossless(&mut data)
        .encode(src.as_raw(), 120, 80, image::ExtendedColorType::Rgb8)
        .expect("webp");
    let info = t().probe(&data, &limits()).expect("probe");
    assert_eq!(
        (info.format, info.width, info.height),
        (ImageFormat::WebP, 120, 80)
    );
    let thumb = t().thumbnail(&data, 60, &limits()).expect("thumbnail");
    assert_eq!(
        (thumb.format, thumb.width, thumb.height),
        (ImageFormat::Jpeg, 60, 40)
    );
    decode(&thumb);
}

#[test]
fn grayscale_jpeg() {
    let src = GrayImage::from_fn(300, 200, |x, _| image::Luma([(x % 256) as u8]));
    let data = jpeg(&DynamicImage::ImageLuma8(src));
    let thumb = t().thumbnail(&data, 150, &limits()).expect("thumbnail");
    assert_eq!((thumb.width, thumb.height), (150, 100));
    decode(&thumb);
}

#[test]
fn never_upscales_but_re_encodes() {
    let data = jpeg(&DynamicImage::ImageRgb8(photo(100, 60)));
    let thumb = t().thumbnail(&data, 256, &limits()).expect("thumbnail");
    assert_eq!((thumb.width, thumb.height), (100, 60));
    assert_ne!(&thumb.data[..], &data[..]);
    decode(&thumb);
}

#[test]
fn truncated_jpeg_is_corrupt_at_every_cut() {
    let data = jpeg(&DynamicImage::ImageRgb8(photo(96, 64)));
    for cut in (0..data.len() - 2).step_by(7) {
        let result = t().thumbnail(&data[..cut], 32, &limits());
        match result {
            Err(ImageError::Unsupported(_)) if cut < 3 => {}
            Err(ImageError::Corrupt(_)) if cut >= 3 => {}
            other => panic!("cut at {cut} of {}: {other:?}", data.len()),
        }
    }
}

#[test]
fn garbled_inputs_never_panic() {
    let mut gif = Vec::new();
    GifEncoder::new(&mut gif)
        .encode_frame(Frame::new(RgbaImage::from_pixel(
            20,
            20,
            Rgba([1, 2, 3, 255]),
        )))
        .expect("gif");
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .encode(
            photo(20, 20).as_raw(),
            20,
            20,
            image::ExtendedColorType::Rgb8,
        )
        .expect("webp");
    let sources = [
        jpeg(&DynamicImage::ImageRgb8(photo(48, 32))),
        png(&RgbaImage::from_pixel(20, 20, Rgba([1, 2, 3, 4]))),
        gif,
        webp,
    ];
    let mut seed = 12345u64;
    for source in &sources {
        for _ in 0..300 {
            let mut data = source.clone();
            for _ in 0..4 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = 3 + (seed >> 33) as usize % (data.len() - 3);
                data[at] = (seed >> 20) as u8;
            }
            // Errors are fine; a panic or an abort is not.
            let _ = t().thumbnail(&data, 16, &limits());
            let _ = t().probe(&data, &limits());
        }
    }
}

#[test]
fn bad_inputs() {
    assert!(matches!(
        t().probe(b"", &limits()),
        Err(ImageError::Unsupported(_))
    ));
    assert!(matches!(
        t().thumbnail(b"", 256, &limits()),
        Err(ImageError::Unsupported(_))
    ));
    let text = b"name,price\nDom Casmurro,12.50\n";
    assert!(matches!(
        t().thumbnail(text, 256, &limits()),
        Err(ImageError::Unsupported(_))
    ));
    assert!(matches!(
        t().thumbnail(b"\xff\xd8\xff", 256, &limits()),
        Err(ImageError::Corrupt(_))
    ));
}

#[test]
fn limits_are_checked_before_decoding() {
    let huge = kcl_core::testkit::thumbnailer::png_header(100_000, 100_000);
    assert!(matches!(
        t().probe(&huge, &limits()),
        Err(ImageError::TooLarge(_))
    ));
    // Within the limits' sides and area, but the file is just a header: Corrupt when
    // decoded, never a huge allocation.
    let header_only = kcl_core::testkit::thumbnailer::png_header(5000, 5000);
    assert!(t().probe(&header_only, &limits()).is_ok());
    assert!(matches!(
        t().thumbnail(&header_only, 256, &limits()),
        Err(ImageError::Corrupt(_))
    ));
    let data = jpeg(&DynamicImage::ImageRgb8(photo(64, 64)));
    let tight = ImageLimits {
        max_bytes: data.len() as u64 - 1,
        ..limits()
    };
    assert!(matches!(
        t().probe(&data, &tight),
        Err(ImageError::TooLarge(_))
    ));
    assert!(matches!(
        t().thumbnail(&data, 32, &tight),
        Err(ImageError::TooLarge(_))
    ));
    assert!(matches!(
        t().thumbnail(&data, 0, &limits()),
        Err(ImageError::Internal(_))
    ));
}

#[test]
fn jpeg_quality_is_configurable() {
    let data = jpeg(&DynamicImage::ImageRgb8(photo(400, 300)));
    let low = ImageThumbnailer::new()
        .with_jpeg_quality(30)
        .thumbnail(&data, 256, &limits())
        .expect("thumbnail");
    let high = ImageThumbnailer::new()
        .with_jpeg_quality(95)
        .thumbnail(&data, 256, &limits())
        .expect("thumbnail");
    assert!(low.data.len() < high.data.len());
    let _ = Cursor::new(&low.data);
}

/// A JPEG written by MozJPEG (progressive by default) from `pixels` in `color_space`,
/// stored as `stored`.
fn mozjpeg(
    color_space: mozjpeg::ColorSpace,
    stored: mozjpeg::ColorSpace,
    width: usize,
    height: usize,
    pixels: &[u8],
) -> Vec<u8> {
    let mut compress = mozjpeg::Compress::new(color_space);
    compress.set_color_space(stored);
    compress.set_size(width, height);
    compress.set_quality(90.0);
    let mut started = compress.start_compress(Vec::new()).expect("start");
    started.write_scanlines(pixels).expect("scanlines");
    started.finish().expect("finish")
}

/// Where the first `FF <marker>` is: in a freshly encoded baseline file, the segment
/// itself (tables and the frame header come before the scan).
fn segment(data: &[u8], marker: u8) -> usize {
    data.windows(2)
        .position(|w| w == [0xFF, marker])
        .expect("marker present")
}

fn halves(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

#[test]
fn scaled_jpegs_of_several_sizes_keep_size_and_orientation() {
    // Each size takes another DCT scale for 256: 1/8, 1/4, 1/2, full.
    let sizes = [
        (2400, 1800),
        (1200, 900),
        (513, 2049),
        (600, 400),
        (300, 200),
    ];
    for (width, height) in sizes {
        let plain = jpeg(&DynamicImage::ImageRgb8(halves(width, height)));
        let (tw, th) = if width >= height {
            (256, (height * 256 + width / 2) / width)
        } else {
            ((width * 256 + height / 2) / height, 256)
        };
        // Orientation and where the red (stored left) half ends up: 1 left, 3 right,
        // 6 (90 CW) top, 8 (90 CCW) bottom.
        for (orientation, size, red_at) in [
            (1, (tw, th), "left"),
            (3, (tw, th), "right"),
            (6, (th, tw), "top"),
            (8, (th, tw), "bottom"),
        ] {
            let data = with_orientation(&plain, orientation);
            let thumb = t().thumbnail(&data, 256, &limits()).expect("thumbnail");
            let case = format!("{width}x{height}, orientation {orientation}");
            assert_eq!((thumb.width, thumb.height), size, "{case}");
            let out = decode(&thumb).into_rgb8();
            let (w, h) = (out.width(), out.height());
            let (red, blue) = match red_at {
                "left" => ((2, h / 2), (w - 3, h / 2)),
                "right" => ((w - 3, h / 2), (2, h / 2)),
                "top" => ((w / 2, 2), (w / 2, h - 3)),
                _ => ((w / 2, h - 3), (w / 2, 2)),
            };
            let (red, blue) = (
                out.get_pixel(red.0, red.1).0,
                out.get_pixel(blue.0, blue.1).0,
            );
            assert!(close(red, [255, 0, 0], 40), "{case}: red {red:?}");
            assert!(close(blue, [0, 0, 255], 40), "{case}: blue {blue:?}");
        }
    }
}

#[test]
fn progressive_jpeg() {
    let src = photo(1000, 750);
    let data = mozjpeg(
        mozjpeg::ColorSpace::JCS_RGB,
        mozjpeg::ColorSpace::JCS_YCbCr,
        1000,
        750,
        src.as_raw(),
    );
    let scans = data.windows(2).filter(|w| *w == [0xFF, 0xDA]).count();
    assert!(scans > 1, "progressive: {scans} scans");
    let thumb = t().thumbnail(&data, 256, &limits()).expect("thumbnail");
    assert_eq!((thumb.width, thumb.height), (256, 192));
    let out = decode(&thumb).into_rgb8();
    let left = out.get_pixel(2, 96).0;
    let right = out.get_pixel(253, 96).0;
    assert!(left[0] < 30 && right[0] > 225, "{left:?} .. {right:?}");
}

#[test]
fn cmyk_jpeg_goes_through_the_generic_path() {
    // Left half C = M = Y = K = 0, right half all 255: no ink and full ink, white and
    // black (or the other way round by the Adobe inversion); never the same.
    let (width, height) = (640usize, 480usize);
    let pixels: Vec<u8> = (0..height)
        .flat_map(|_| (0..width).map(|x| if x < width / 2 { [0; 4] } else { [255; 4] }))
        .flatten()
        .collect();
    for stored in [mozjpeg::ColorSpace::JCS_CMYK, mozjpeg::ColorSpace::JCS_YCCK] {
        let data = mozjpeg(
            mozjpeg::ColorSpace::JCS_CMYK,
            stored,
            width,
            height,
            &pixels,
        );
        let thumb = t().thumbnail(&data, 256, &limits()).expect("thumbnail");
        assert_eq!((thumb.width, thumb.height), (256, 192));
        let out = decode(&thumb).into_rgb8();
        let luma = |p: [u8; 3]| p.iter().map(|&c| i32::from(c)).sum::<i32>() / 3;
        let (left, right) = (out.get_pixel(4, 96).0, out.get_pixel(251, 96).0);
        assert!(
            (luma(left) - luma(right)).abs() > 200,
            "{stored:?}: {left:?} vs {right:?}"
        );
    }
}

#[test]
fn bad_tables_are_corrupt_not_a_panic() {
    let good = jpeg(&DynamicImage::ImageRgb8(photo(800, 600)));
    assert!(t().thumbnail(&good, 256, &limits()).is_ok());
    // SOF0: FF C0, length, precision, height, width, count, then per component id,
    // sampling factors, table. Sampling factors 0 are refused when the frame is read.
    let sof = segment(&good, 0xC0);
    let mut bad_sampling = good.clone();
    bad_sampling[sof + 11] = 0x00;
    // SOS: FF DA, length, count, then per component id and tables (DC << 4 | AC).
    // Tables 3/3 were never defined: refused when the scan starts.
    let sos = segment(&good, 0xDA);
    let mut undefined_table = good.clone();
    undefined_table[sos + 6] = 0x33;
    // DHT: FF C4, length, class/id, 16 counts: counts over 256 codes are refused.
    let dht = segment(&good, 0xC4);
    let mut bogus_huffman = good.clone();
    bogus_huffman[dht + 5..dht + 21].fill(0xFF);
    for (what, data) in [
        ("sampling factors", bad_sampling),
        ("Huffman table reference", undefined_table),
        ("Huffman table counts", bogus_huffman),
    ] {
        match t().thumbnail(&data, 256, &limits()) {
            Err(ImageError::Corrupt(message)) => {
                // On the default path the error is libjpeg's, caught as it unwinds.
                if cfg!(feature = "mozjpeg") {
                    assert!(message.starts_with("JPEG: libjpeg"), "{what}: {message}");
                }
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn too_many_scans_are_refused_before_decoding() {
    let data = mozjpeg(
        mozjpeg::ColorSpace::JCS_RGB,
        mozjpeg::ColorSpace::JCS_YCbCr,
        64,
        48,
        photo(64, 48).as_raw(),
    );
    // Repeat the last scan (from its SOS to the EOI) until there are over 500.
    let last = data
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    let scan = &data[last..data.len() - 2];
    let mut many = data[..data.len() - 2].to_vec();
    for _ in 0..500 {
        many.extend_from_slice(scan);
    }
    many.extend_from_slice(&[0xFF, 0xD9]);
    match t().thumbnail(&many, 32, &limits()) {
        Err(ImageError::Corrupt(message)) => assert!(message.contains("scans"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(t().thumbnail(&data, 32, &limits()).is_ok());
}
