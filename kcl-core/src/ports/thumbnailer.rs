use std::fmt;

use bytes::Bytes;
use serde::Serialize;

use crate::BoxError;

/// The image types KCL accepts, told apart by their first bytes (never by a file name
/// or a declared content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// WebP (`RIFF....WEBP`).
    WebP,
    /// GIF (`GIF87a` / `GIF89a`); only the first frame is used.
    Gif,
}

impl ImageFormat {
    /// The format of `data` by its magic bytes, or `None`.
    ///
    /// ```
    /// use kcl_core::ports::ImageFormat;
    /// assert_eq!(ImageFormat::sniff(b"\xff\xd8\xff\xe0..."), Some(ImageFormat::Jpeg));
    /// assert_eq!(ImageFormat::sniff(b"GIF89a..."), Some(ImageFormat::Gif));
    /// assert_eq!(ImageFormat::sniff(b"hello, I am text"), None);
    /// ```
    pub fn sniff(data: &[u8]) -> Option<Self> {
        if data.starts_with(b"\xff\xd8\xff") {
            Some(Self::Jpeg)
        } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
            Some(Self::WebP)
        } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else {
            None
        }
    }

    /// The file extension (`jpg`, `png`, `webp`, `gif`).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
            Self::Gif => "gif",
        }
    }

    /// The media type (`image/jpeg`...).
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
            Self::Gif => "image/gif",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Limits an image must respect before anything decodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest file, in bytes (default 20 MiB).
    pub max_bytes: u64,
    /// Largest width or height, in pixels (default 12,000).
    pub max_side: u32,
    /// Largest width x height (default 50 megapixels).
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            max_side: 12_000,
            max_pixels: 50_000_000,
        }
    }
}

/// What an image's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// Format, by magic bytes.
    pub format: ImageFormat,
    /// Width in pixels, as stored (before EXIF orientation).
    pub width: u32,
    /// Height in pixels, as stored.
    pub height: u32,
}

/// A thumbnail, encoded.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// The encoded image.
    pub data: Bytes,
    /// JPEG, or PNG when the source has transparency.
    pub format: ImageFormat,
    /// Width in pixels (after EXIF orientation).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why an image was refused or could not be thumbnailed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// Not one of the accepted formats (by magic bytes), or empty.
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// Over a byte, side or pixel limit.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// The data is truncated or corrupt.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// Anything else (out of memory, an encoder failure).
    #[error("thumbnailer failure: {0}")]
    Internal(#[source] BoxError),
}

/// Reads image headers and makes thumbnails. CPU-bound and synchronous: call it from
/// a blocking thread (`tokio::task::spawn_blocking`), never on the async runtime.
pub trait Thumbnailer: Send + Sync {
    /// Reads only the header: format by magic bytes, and dimensions, checked against
    /// `limits` (byte size included). Decodes no pixels.
    fn probe(&self, data: &[u8], limits: &ImageLimits) -> Result<ImageInfo, ImageError>;

    /// A thumbnail whose longest side is `max_side` (never upscaled), EXIF
    /// orientation applied, JPEG or PNG (when the source has alpha). Probes first:
    /// an image over `limits` is refused before decoding.
    fn thumbnail(
        &self,
        data: &[u8],
        max_side: u32,
        limits: &ImageLimits,
    ) -> Result<Thumbnail, ImageError>;
}
