//! # kcl-media
//!
//! Media adapters: the [`Thumbnailer`] port as [`ImageThumbnailer`] and, with the
//! feature `tesseract`, the `OcrEngine` port as `TesseractEngine`.
//!
//! - `probe` reads only the header (JPEG SOF, PNG IHDR, GIF screen descriptor, WebP
//!   `VP8 `/`VP8L`/`VP8X`) and checks the byte, side and pixel limits before anything
//!   is decoded.
//! - `thumbnail` decodes JPEGs at a reduced DCT scale (1/8, 1/4 or 1/2: the smallest
//!   still at least the target size) with libjpeg (MozJPEG's decoder through the
//!   `mozjpeg` crate, feature `mozjpeg`, on by default; built from C source with only a
//!   C compiler) so a 12 MP photo never exists at full size in memory. libjpeg's errors
//!   unwind and are caught as [`ImageError::Corrupt`]; under `panic = "abort"` the
//!   path is left out. Other formats (and JPEGs this path does not take: CMYK, YCCK,
//!   lossless, arithmetic-coded, 12-bit) go through the `image` crate under allocation
//!   limits. JPEGs cut short or with more than 500 scans are refused before decoding.
//!   Resizing is `fast_image_resize` (Lanczos3), the EXIF orientation is applied, and
//!   the result is a JPEG, or a PNG when the source uses its alpha channel. Only a
//!   GIF's first frame is used.
//!
//! - `TesseractEngine` (feature `tesseract`: needs libtesseract-dev, libleptonica-dev,
//!   tesseract-ocr-eng and clang) decodes the same formats under the same limits, makes
//!   the image grayscale (upscaling small text) and reads it with a pool of warm
//!   Tesseract engines, one per concurrent caller. Run with `OMP_THREAD_LIMIT=1`.
//!
//! ```
//! use kcl_core::ports::{ImageFormat, ImageLimits, Thumbnailer};
//! use kcl_media::ImageThumbnailer;
//!
//! // A 1x1 GIF.
//! let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
//! let thumbnailer = ImageThumbnailer::default();
//! let info = thumbnailer.probe(gif, &ImageLimits::default()).unwrap();
//! assert_eq!((info.format, info.width, info.height), (ImageFormat::Gif, 1, 1));
//! let thumb = thumbnailer.thumbnail(gif, 256, &ImageLimits::default()).unwrap();
//! assert_eq!((thumb.width, thumb.height), (1, 1)); // never upscaled
//! ```
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod header;
#[cfg(feature = "tesseract")]
mod ocr;
// libjpeg's errors unwind: under `panic = "abort"` they would abort the process, so
// the path is left out there and JPEGs take the pure-Rust one.
#[cfg(all(feature = "mozjpeg", not(panic = "abort")))]
mod scaled;

#[cfg(feature = "tesseract")]
#[cfg_attr(docsrs, doc(cfg(feature = "tesseract")))]
pub use ocr::{PageSegmentation, TesseractEngine};

use std::io::Cursor;

use bytes::Bytes;
use fast_image_resize::{
    images::Image as FirImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use kcl_core::ports::{ImageError, ImageFormat, ImageInfo, ImageLimits, Thumbnail, Thumbnailer};

/// JPEG quality of thumbnails unless [`ImageThumbnailer::with_jpeg_quality`] says
/// otherwise.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;

/// The [`Thumbnailer`] on libjpeg (JPEG, MozJPEG's decoder), the `image` crate (PNG,
/// GIF, WebP, and the JPEGs libjpeg does not take), `fast_image_resize` and
/// `jpeg-encoder`. Stateless and cheap to clone; safe to share between threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageThumbnailer {
    jpeg_quality: u8,
}

impl Default for ImageThumbnailer {
    fn default() -> Self {
        Self {
            jpeg_quality: DEFAULT_JPEG_QUALITY,
        }
    }
}

impl ImageThumbnailer {
    /// A thumbnailer writing JPEGs at quality [`DEFAULT_JPEG_QUALITY`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The same, writing JPEGs at `quality` (clamped to 1..=100).
    pub fn with_jpeg_quality(self, quality: u8) -> Self {
        Self {
            jpeg_quality: quality.clamp(1, 100),
        }
    }
}

/// Pixels on their way to the encoder: 8-bit RGB or RGBA, rows packed.
pub(crate) struct Pixels {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// `true`: 4 bytes a pixel, RGBA; `false`: 3, RGB.
    pub(crate) alpha: bool,
    pub(crate) data: Vec<u8>,
}

fn internal(message: impl Into<String>) -> ImageError {
    ImageError::Internal(message.into().into())
}

/// Maps an `image` crate error onto the port's error.
fn from_image(err: image::ImageError) -> ImageError {
    use image::ImageError as E;
    match err {
        E::Limits(e) => ImageError::TooLarge(e.to_string()),
        E::Unsupported(e) => ImageError::Unsupported(e.to_string()),
        E::Decoding(e) => ImageError::Corrupt(e.to_string()),
        E::Parameter(e) => ImageError::Corrupt(e.to_string()),
        E::IoError(e) => ImageError::Corrupt(e.to_string()),
        E::Encoding(e) => ImageError::Internal(Box::new(e)),
    }
}

/// Width and height of the thumbnail of a `width` x `height` image whose longest side
/// becomes `max_side` (never larger than the source). Both at least 1.
pub(crate) fn target_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_side {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(max_side).clamp(1, max_side)
    };
    if width >= height {
        (max_side, scale(height))
    } else {
        (scale(width), max_side)
    }
}

/// Checks `data`'s size, format and header against `limits`; the header too.
fn check(data: &[u8], limits: &ImageLimits) -> Result<(ImageFormat, header::Header), ImageError> {
    if data.is_empty() {
        return Err(ImageError::Unsupported("empty input".to_owned()));
    }
    let len = data.len() as u64;
    if len > limits.max_bytes {
        return Err(ImageError::TooLarge(format!(
            "{len} bytes, over the limit of {}",
            limits.max_bytes
        )));
    }
    let format = ImageFormat::sniff(data).ok_or_else(|| {
        ImageError::Unsupported("not a JPEG, PNG, WebP or GIF (by magic bytes)".to_owned())
    })?;
    let header = header::read(format, data)?;
    let (w, h) = (header.width, header.height);
    if w > limits.max_side || h > limits.max_side {
        return Err(ImageError::TooLarge(format!(
            "{format} of {w}x{h}, over the side limit of {}",
            limits.max_side
        )));
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{format} of {w}x{h} ({pixels} pixels), over the limit of {}",
            limits.max_pixels
        )));
    }
    Ok((format, header))
}

impl Thumbnailer for ImageThumbnailer {
    fn probe(&self, data: &[u8], limits: &ImageLimits) -> Result<ImageInfo, ImageError> {
        let (format, header) = check(data, limits)?;
        Ok(ImageInfo {
            format,
            width: header.width,
            height: header.height,
        })
    }

    fn thumbnail(
        &self,
        data: &[u8],
        max_side: u32,
        limits: &ImageLimits,
    ) -> Result<Thumbnail, ImageError> {
        let (format, header) = check(data, limits)?;
        if max_side == 0 {
            return Err(internal("max_side must be at least 1"));
        }
        let (pixels, orientation) = decode_resized(format, header, data, max_side)?;
        let pixels = orient(pixels, orientation)?;
        self.encode(pixels)
    }
}

/// Decodes `data` and resizes it (in its stored orientation) so the longest side is
/// `max_side`; returns the pixels and the orientation still to apply.
fn decode_resized(
    format: ImageFormat,
    header: header::Header,
    data: &[u8],
    max_side: u32,
) -> Result<(Pixels, Orientation), ImageError> {
    #[cfg(all(feature = "mozjpeg", not(panic = "abort")))]
    if format == ImageFormat::Jpeg && header.jpeg_huffman_8bit {
        header::check_jpeg_data(data)?;
        if let Some(pixels) = scaled::decode_scaled(data, header, max_side)? {
            let orientation = header
                .orientation
                .and_then(Orientation::from_exif)
                .unwrap_or(Orientation::NoTransforms);
            // The size from the source's, not the scaled image's (whose sides were
            // rounded up separately): the same thumbnail size as the generic path.
            let target = target_size(header.width, header.height, max_side);
            return Ok((resize(pixels, target)?, orientation));
        }
    }
    let (pixels, orientation) = decode_with_image(format, header, data)?;
    let target = target_size(pixels.width, pixels.height, max_side);
    Ok((resize(pixels, target)?, orientation))
}

/// Decodes the whole image with the `image` crate, under allocation limits derived
/// from the (already checked) header.
fn decode_with_image(
    format: ImageFormat,
    header: header::Header,
    data: &[u8],
) -> Result<(Pixels, Orientation), ImageError> {
    let (image, orientation) = decode_full(format, &header, data)?;
    let (width, height) = (image.width(), image.height());
    let pixels = if image.color().has_alpha() {
        let rgba = image.into_rgba8().into_raw();
        if rgba.chunks_exact(4).any(|p| p[3] != 255) {
            Pixels {
                width,
                height,
                alpha: true,
                data: rgba,
            }
        } else {
            let rgb = rgba
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            Pixels {
                width,
                height,
                alpha: false,
                data: rgb,
            }
        }
    } else {
        Pixels {
            width,
            height,
            alpha: false,
            data: image.into_rgb8().into_raw(),
        }
    };
    Ok((pixels, orientation))
}

/// Resizes to `(tw, th)` (Lanczos3, alpha-aware), a size from [`target_size`]: never
/// larger than the source.
fn resize(pixels: Pixels, (tw, th): (u32, u32)) -> Result<Pixels, ImageError> {
    let (tw, th) = (tw.min(pixels.width), th.min(pixels.height));
    if (tw, th) == (pixels.width, pixels.height) {
        return Ok(pixels);
    }
    let pixel_type = if pixels.alpha {
        PixelType::U8x4
    } else {
        PixelType::U8x3
    };
    let src = FirImage::from_vec_u8(pixels.width, pixels.height, pixels.data, pixel_type)
        .map_err(|e| internal(format!("resize source: {e}")))?;
    let mut dst = FirImage::new(tw, th, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| internal(format!("resize: {e}")))?;
    Ok(Pixels {
        width: tw,
        height: th,
        alpha: pixels.alpha,
        data: dst.into_vec(),
    })
}

/// Applies the EXIF orientation (on the small, resized image).
fn orient(pixels: Pixels, orientation: Orientation) -> Result<Pixels, ImageError> {
    if orientation == Orientation::NoTransforms {
        return Ok(pixels);
    }
    let bad = || internal("pixel buffer of the wrong size");
    let mut image = if pixels.alpha {
        DynamicImage::ImageRgba8(
            image::RgbaImage::from_raw(pixels.width, pixels.height, pixels.data).ok_or_else(bad)?,
        )
    } else {
        DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(pixels.width, pixels.height, pixels.data).ok_or_else(bad)?,
        )
    };
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let data = match image {
        DynamicImage::ImageRgba8(buffer) => buffer.into_raw(),
        DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
        other => other.into_rgb8().into_raw(),
    };
    Ok(Pixels {
        width,
        height,
        alpha: pixels.alpha,
        data,
    })
}

impl ImageThumbnailer {
    /// JPEG (no alpha) or PNG (alpha).
    fn encode(&self, pixels: Pixels) -> Result<Thumbnail, ImageError> {
        let Pixels {
            width,
            height,
            alpha,
            data,
        } = pixels;
        let mut out = Vec::with_capacity(data.len() / 8 + 1024);
        let format = if alpha {
            use image::ImageEncoder as _;
            image::codecs::png::PngEncoder::new(&mut out)
                .write_image(&data, width, height, image::ExtendedColorType::Rgba8)
                .map_err(|e| ImageError::Internal(Box::new(e)))?;
            ImageFormat::Png
        } else {
            let w = u16::try_from(width).map_err(|_| internal("JPEG side over 65,535"))?;
            let h = u16::try_from(height).map_err(|_| internal("JPEG side over 65,535"))?;
            jpeg_encoder::Encoder::new(&mut out, self.jpeg_quality)
                .encode(&data, w, h, jpeg_encoder::ColorType::Rgb)
                .map_err(|e| ImageError::Internal(Box::new(e)))?;
            ImageFormat::Jpeg
        };
        Ok(Thumbnail {
            data: Bytes::from(out),
            format,
            width,
            height,
        })
    }
}

/// Decodes a whole image whose header was checked: truncated JPEGs refused, the
/// decoder's allocations bounded by the header's size; returns the image and the
/// orientation to apply (EXIF for JPEG, the decoder's for the others).
pub(crate) fn decode_full(
    format: ImageFormat,
    header: &header::Header,
    data: &[u8],
) -> Result<(DynamicImage, Orientation), ImageError> {
    if format == ImageFormat::Jpeg {
        header::check_jpeg_data(data)?;
    }
    let image_format = match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::WebP => image::ImageFormat::WebP,
        ImageFormat::Gif => image::ImageFormat::Gif,
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(header.width);
    limits.max_image_height = Some(header.height);
    // At most 16 bits x 4 channels a pixel, plus slack for the decoders' own buffers.
    limits.max_alloc = Some(u64::from(header.width) * u64::from(header.height) * 8 + (4 << 20));
    let mut reader = ImageReader::with_format(Cursor::new(data), image_format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(from_image)?;
    let orientation = match format {
        ImageFormat::Jpeg => header.orientation.and_then(Orientation::from_exif),
        _ => decoder.orientation().ok(),
    }
    .unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(from_image)?;
    Ok((image, orientation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_sizes() {
        assert_eq!(target_size(4000, 3000, 256), (256, 192));
        assert_eq!(target_size(3000, 4000, 256), (192, 256));
        assert_eq!(target_size(100, 50, 256), (100, 50));
        assert_eq!(target_size(10_000, 1, 256), (256, 1));
        assert_eq!(target_size(256, 256, 256), (256, 256));
    }
}
