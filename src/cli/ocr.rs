//! `kcl ocr`: reads the text of images with Tesseract (feature `tesseract`).

use std::path::PathBuf;

use clap::Parser;

use super::Error;

/// Read the text of each IMAGE (JPEG, PNG, WebP, GIF) with Tesseract: per image, a
/// `== PATH (SECONDS s, confidence C)` line and the text; then, on stderr, the count,
/// the seconds and images per second. Run with OMP_THREAD_LIMIT=1 (kcl sets it).
#[derive(Debug, Parser)]
pub struct OcrArgs {
    /// Tesseract language code(s), such as `eng` or `eng+por`.
    #[arg(long, default_value = "eng")]
    pub lang: String,
    /// Page segmentation mode: 3 (automatic layout: several columns), 6 (one block),
    /// 7 (one line), 11 (sparse text).
    #[arg(long, default_value_t = 6, value_parser = parse_psm)]
    pub psm: u8,
    /// Do not upscale small text before recognition.
    #[arg(long)]
    pub no_upscale: bool,
    /// Images read at a time (one warm engine each).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Go over the images this many times (texts are printed the first time only;
    /// for throughput figures).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Images to read.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

fn parse_psm(s: &str) -> Result<u8, String> {
    match s.parse() {
        Ok(n @ (3 | 6 | 7 | 11)) => Ok(n),
        _ => Err("must be 3, 6, 7 or 11".into()),
    }
}

/// Runs `kcl ocr`; fails when an image could not be read.
#[cfg(feature = "tesseract")]
pub fn run(args: OcrArgs) -> Result<(), Error> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Barrier, Mutex};
    use std::time::{Duration, Instant};

    use kcl_core::ports::OcrEngine;
    use kcl_media::{PageSegmentation, TesseractEngine};

    if std::env::var("OMP_THREAD_LIMIT").as_deref() != Ok("1") {
        eprintln!(
            "warning: OMP_THREAD_LIMIT is not 1: Tesseract's OpenMP threads will fight over \
             the cores and OCR will be several times slower; run with OMP_THREAD_LIMIT=1"
        );
    }
    let segmentation = PageSegmentation::from_psm(args.psm).ok_or("--psm: 3, 6, 7 or 11")?;
    let engine = TesseractEngine::new(&args.lang)?
        .with_page_segmentation(segmentation)
        .with_upscaling(!args.no_upscale);
    eprintln!("{}", engine.describe());
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        images.push((path, data));
    }
    let threads = args.threads.max(1);
    let repeat = args.repeat.max(1);
    let total = images.len() * repeat;

    // One warm engine per thread before the clock starts.
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                let _ = engine.recognize(&images[0].1);
            });
        }
    });

    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let times = Mutex::new(Vec::with_capacity(total));
    let out = Mutex::new(());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let (path, data) = &images[i % images.len()];
                let t = Instant::now();
                let result = engine.recognize(data);
                let elapsed = t.elapsed();
                times
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(elapsed);
                let _guard = out.lock().unwrap_or_else(|e| e.into_inner());
                match result {
                    Ok(text) if i < images.len() => println!(
                        "== {} ({:.3} s, confidence {:.0})\n{}",
                        path.display(),
                        elapsed.as_secs_f64(),
                        text.confidence,
                        text.text
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{}: {e}", path.display());
                    }
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let mut times = times.into_inner().unwrap_or_else(|e| e.into_inner());
    times.sort_unstable();
    let median = times
        .get(times.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO);
    eprintln!(
        "{total} images in {wall:.3} s with {threads} thread(s): {:.1} images/s, median {:.4} s an image",
        total as f64 / wall.max(1e-9),
        median.as_secs_f64()
    );
    match failures.into_inner() {
        0 => Ok(()),
        n => Err(format!("{n} of {total} reading(s) failed").into()),
    }
}

/// Without the `tesseract` feature there is no OCR engine.
#[cfg(not(feature = "tesseract"))]
pub fn run(_: OcrArgs) -> Result<(), Error> {
    Err(
        "this kcl was built without OCR: install it with --features cli,tesseract \
         (needs libtesseract-dev, libleptonica-dev and clang)"
            .into(),
    )
}
