//! `kcl thumbnail`: thumbnails every image of a folder (feature `media`).

use std::path::PathBuf;

use clap::Parser;

use super::Error;

#[cfg(feature = "media")]
const DEFAULT_QUALITY: u8 = kcl_media::DEFAULT_JPEG_QUALITY;
/// Unused without a thumbnailer; shown in `--help` all the same.
#[cfg(not(feature = "media"))]
const DEFAULT_QUALITY: u8 = 85;

/// Thumbnail every image (JPEG, PNG, WebP, GIF) of IN_DIR into OUT_DIR, as
/// `<name>.jpg` (or `.png` for sources with transparency): each file's error is
/// printed without stopping, then the count, the seconds and images per second.
#[derive(Debug, Parser)]
pub struct ThumbnailArgs {
    /// Longest side of the thumbnails, in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// JPEG quality of the thumbnails (1-100).
    #[arg(long, default_value_t = DEFAULT_QUALITY, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Folder of source images (not recursive).
    pub in_dir: PathBuf,
    /// Folder for the thumbnails (created if missing).
    pub out_dir: PathBuf,
}

/// Runs `kcl thumbnail`; fails when an image could not be thumbnailed.
#[cfg(feature = "media")]
pub fn run(args: ThumbnailArgs) -> Result<(), Error> {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;

    use kcl_core::ports::{ImageLimits, Thumbnailer};
    use kcl_media::ImageThumbnailer;

    fn one(t: &ImageThumbnailer, path: &Path, out_dir: &Path, size: u32) -> Result<(), String> {
        let data = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
        let thumb = t
            .thumbnail(&data, size, &ImageLimits::default())
            .map_err(|e| e.to_string())?;
        let stem = path.file_stem().unwrap_or(path.as_os_str());
        let out = out_dir.join(stem).with_extension(thumb.format.extension());
        std::fs::write(&out, &thumb.data).map_err(|e| format!("write {}: {e}", out.display()))
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.in_dir)
        .map_err(|e| format!("{}: {e}", args.in_dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len().max(1));
    let thumbnailer = ImageThumbnailer::new().with_jpeg_quality(args.quality);
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let stderr = Mutex::new(());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if let Err(e) = one(&thumbnailer, path, &args.out_dir, args.size) {
                    failed.fetch_add(1, Ordering::Relaxed);
                    let _line = stderr.lock();
                    eprintln!("{}: {e}", path.display());
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let failed = failed.into_inner();
    let done = files.len() - failed;
    println!(
        "{done} thumbnails ({failed} failed) in {seconds:.3} s on {threads} thread(s): {:.1} images/s, {:.2} ms/image",
        done as f64 / seconds.max(1e-9),
        seconds * 1000.0 / (files.len().max(1)) as f64
    );
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} image(s) could not be thumbnailed", files.len()).into()),
    }
}

/// Without the `media` feature there is no thumbnailer.
#[cfg(not(feature = "media"))]
pub fn run(_: ThumbnailArgs) -> Result<(), Error> {
    Err("this kcl was built without the `media` feature (the thumbnailer)".into())
}
