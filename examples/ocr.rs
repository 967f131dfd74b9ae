//! Reads the text of images with Tesseract.
//!
//! ```sh
//! OMP_THREAD_LIMIT=1 cargo run --release --features tesseract --example ocr -- IMAGE...
//! ```
//!
//! Prints, per image, a `== PATH (SECONDS s, confidence C)` line and the text; then, on
//! stderr, the count, the seconds and images per second. `--threads N` reads N images
//! at a time (one warm engine each); `--repeat R` goes over the list R times (for
//! throughput figures); `--lang`, `--psm` choose the language and page segmentation,
//! `--no-upscale` leaves small text as it is.
//! Without `OMP_THREAD_LIMIT=1` in the environment it warns: Tesseract is then several
//! times slower.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use kcl::media::{PageSegmentation, TesseractEngine};
use kcl::ports::OcrEngine;

/// Reads the text of each IMAGE (JPEG, PNG, WebP, GIF) with Tesseract.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Tesseract language code(s), such as `eng` or `eng+por`.
    #[arg(long, default_value = "eng")]
    lang: String,
    /// Page segmentation mode: 3 (automatic layout: several columns), 6 (one block),
    /// 7 (one line), 11 (sparse text).
    #[arg(long, default_value_t = 6)]
    psm: u8,
    /// Do not upscale small text before recognition.
    #[arg(long)]
    no_upscale: bool,
    /// Images read at a time (one engine each).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Go over the images this many times (texts are printed the first time only).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Images to read.
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

fn main() -> ExitCode {
    // Starts again with OMP_THREAD_LIMIT=1 when it is missing (Unix); see docs/ocr.md.
    kcl::ensure_omp_thread_limit();
    let args = Args::parse();
    if std::env::var("OMP_THREAD_LIMIT").as_deref() != Ok("1") {
        eprintln!(
            "warning: OMP_THREAD_LIMIT is not 1: Tesseract's OpenMP threads will fight over \
             the cores and OCR will be several times slower; run with OMP_THREAD_LIMIT=1"
        );
    }
    let Some(segmentation) = PageSegmentation::from_psm(args.psm) else {
        eprintln!("--psm: 3, 6, 7 or 11");
        return ExitCode::FAILURE;
    };
    let engine = match TesseractEngine::new(&args.lang) {
        Ok(engine) => engine
            .with_page_segmentation(segmentation)
            .with_upscaling(!args.no_upscale),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{}", engine.describe());
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        match std::fs::read(path) {
            Ok(data) => images.push((path, data)),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
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
                times.lock().unwrap().push(elapsed);
                let _guard = out.lock().unwrap();
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
    let mut times = times.into_inner().unwrap();
    times.sort_unstable();
    let median = times
        .get(times.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO);
    eprintln!(
        "{total} images in {wall:.3} s with {threads} thread(s): {:.1} images/s, median {:.4} s an image",
        total as f64 / wall,
        median.as_secs_f64()
    );
    if failures.load(Ordering::Relaxed) > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
