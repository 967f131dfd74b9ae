//! Thumbnails every image in a folder.
//!
//! ```sh
//! cargo run --release --example thumbnail --features fast-jpeg -- --size 256 [--threads N] IN_DIR OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/<name>.jpg` (or `.png` for sources with transparency), prints each
//! file's error without stopping, then the count, the seconds and images per second.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::Parser;
use kcl::media::ImageThumbnailer;
use kcl::ports::{ImageLimits, Thumbnailer};

/// Thumbnails every image (JPEG, PNG, WebP, GIF) in IN_DIR into OUT_DIR.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Longest side of the thumbnails, in pixels.
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// JPEG quality of the thumbnails (1-100).
    #[arg(long, default_value_t = kcl::media::DEFAULT_JPEG_QUALITY)]
    quality: u8,
    /// Folder of source images (not recursive).
    in_dir: PathBuf,
    /// Folder for the thumbnails (created if missing).
    out_dir: PathBuf,
}

fn one(t: &ImageThumbnailer, path: &Path, out_dir: &Path, size: u32) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
    let thumb = t
        .thumbnail(&data, size, &ImageLimits::default())
        .map_err(|e| e.to_string())?;
    let stem = path.file_stem().unwrap_or(path.as_os_str());
    let out = out_dir.join(stem).with_extension(thumb.format.extension());
    std::fs::write(&out, &thumb.data).map_err(|e| format!("write {}: {e}", out.display()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.in_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(e) => {
            eprintln!("{}: {e}", args.in_dir.display());
            return ExitCode::FAILURE;
        }
    };
    files.sort();
    if let Err(e) = std::fs::create_dir_all(&args.out_dir) {
        eprintln!("{}: {e}", args.out_dir.display());
        return ExitCode::FAILURE;
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len().max(1));
    let thumbnailer = ImageThumbnailer::new().with_jpeg_quality(args.quality);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if let Err(e) = one(&thumbnailer, path, &args.out_dir, args.size) {
                    eprintln!("{}: {e}", path.display());
                    if let Ok(mut f) = failures.lock() {
                        f.push(path.clone());
                    }
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let failed = failures.lock().map_or(0, |f| f.len());
    let done = files.len() - failed;
    println!(
        "{done} thumbnails ({failed} failed) in {seconds:.3} s on {threads} thread(s): {:.1} images/s, {:.2} ms/image",
        done as f64 / seconds.max(1e-9),
        seconds * 1000.0 / (files.len().max(1)) as f64
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
