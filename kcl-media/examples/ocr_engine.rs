//! Reads the text of images with [`kcl_media::TesseractEngine`], timing each image: the
//! OCR benchmark's program (`scripts/bench-ocr.sh`), built from `kcl-media` alone (the
//! `kcl ocr` command and the facade's `examples/ocr.rs` print the same, with more to
//! build).
//!
//! ```sh
//! OMP_THREAD_LIMIT=1 cargo run --release -p kcl-media --features tesseract --example ocr_engine -- IMAGE...
//! ```
//!
//! Prints, per image, a `== PATH (SECONDS s, cpu CPU s, confidence C)` line (CPU: the
//! thread's time on a processor, from `/proc/thread-self/schedstat`, left out where
//! there is none) and the text; then, on
//! stderr, the count, the seconds and images per second. Options:
//!
//! - `--lang L` (default `eng`), `--psm N` (3, 6, 7 or 11; default 6);
//! - `--no-upscale`: leave small text as it is; `--no-flatten`: leave the paper as it is;
//!   `--no-deskew`: leave tilted pages tilted;
//!   `--shrink H`: shrink text lines taller than H pixels to H;
//! - `--set NAME=VALUE`: a Tesseract parameter (repeatable; `tesseract --print-parameters`);
//! - `--threads N`: N images at a time, one warm engine each; `--repeat R`: go over the
//!   list R times (texts printed the first time only), for throughput figures.
//!
//! The engine is loaded and has read the first image once before the clock starts.
//! Run with `OMP_THREAD_LIMIT=1` (the script sets it).

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kcl_core::ports::OcrEngine;
use kcl_media::{PageSegmentation, TesseractEngine};

struct Args {
    lang: String,
    psm: u8,
    upscale: bool,
    flatten: bool,
    deskew: bool,
    shrink: Option<u32>,
    parameters: Vec<(String, String)>,
    threads: usize,
    repeat: usize,
    images: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        lang: "eng".into(),
        psm: 6,
        upscale: true,
        flatten: true,
        deskew: true,
        shrink: None,
        parameters: Vec::new(),
        threads: 1,
        repeat: 1,
        images: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--lang" => args.lang = value("--lang")?,
            "--psm" => args.psm = value("--psm")?.parse().map_err(|e| format!("--psm: {e}"))?,
            "--no-upscale" => args.upscale = false,
            "--no-flatten" => args.flatten = false,
            "--no-deskew" => args.deskew = false,
            "--shrink" => {
                args.shrink = Some(
                    value("--shrink")?
                        .parse()
                        .map_err(|e| format!("--shrink: {e}"))?,
                )
            }
            "--set" => {
                let v = value("--set")?;
                let (name, val) = v.split_once('=').ok_or("--set NAME=VALUE")?;
                args.parameters.push((name.into(), val.into()));
            }
            "--threads" => {
                args.threads = value("--threads")?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?
            }
            "--repeat" => {
                args.repeat = value("--repeat")?
                    .parse()
                    .map_err(|e| format!("--repeat: {e}"))?
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => args.images.push(arg),
        }
    }
    if args.images.is_empty() {
        return Err(
            "usage: ocr [--lang L] [--psm N] [--no-upscale] [--no-flatten] [--no-deskew] [--shrink H] [--set NAME=VALUE]... \
                    [--threads N] [--repeat R] IMAGE..."
                .into(),
        );
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse()?;
    if std::env::var("OMP_THREAD_LIMIT").as_deref() != Ok("1") {
        eprintln!("warning: OMP_THREAD_LIMIT is not 1: OCR will be several times slower");
    }
    let segmentation = PageSegmentation::from_psm(args.psm).ok_or("--psm: 3, 6, 7 or 11")?;
    let mut engine = TesseractEngine::new(&args.lang)
        .map_err(|e| e.to_string())?
        .with_page_segmentation(segmentation)
        .with_upscaling(args.upscale)
        .with_flattening(args.flatten)
        .with_deskewing(args.deskew)
        .with_shrinking(args.shrink);
    for (name, value) in &args.parameters {
        engine = engine
            .with_parameter(name, value)
            .map_err(|e| e.to_string())?;
    }
    eprintln!("{}", engine.describe());
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        images.push((path, data));
    }
    let threads = args.threads.max(1);
    let total = images.len() * args.repeat.max(1);

    // One warm engine per thread before the clock starts.
    let barrier = std::sync::Barrier::new(threads);
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
                let cpu = thread_cpu();
                let result = engine.recognize(data);
                let cpu = thread_cpu().zip(cpu).map(|(after, before)| after - before);
                let elapsed = t.elapsed();
                times
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(elapsed);
                let _guard = out.lock().unwrap_or_else(|e| e.into_inner());
                match result {
                    Ok(text) if i < images.len() => println!(
                        "== {path} ({:.3} s, {}confidence {:.0})\n{}",
                        elapsed.as_secs_f64(),
                        cpu.map(|c| format!("cpu {c:.3} s, ")).unwrap_or_default(),
                        text.confidence,
                        text.text
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{path}: {e}");
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
        n => Err(format!("{n} of {total} reading(s) failed")),
    }
}

/// The calling thread's CPU time so far, in seconds (Linux: the first field of
/// `/proc/thread-self/schedstat`, nanoseconds on a CPU), or `None` elsewhere.
fn thread_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
