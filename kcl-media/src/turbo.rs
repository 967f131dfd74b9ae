//! JPEG decoding with libjpeg-turbo at a reduced DCT scale.

use std::cell::RefCell;

use kcl_core::ports::ImageError;
use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

use crate::{header::Header, target_size, Pixels};

/// Progressive scans allowed (a guard against the many-scans denial of service).
const MAX_SCANS: u32 = 500;

thread_local! {
    /// One decompressor per thread, reused across images.
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

fn corrupt(err: turbojpeg::Error) -> ImageError {
    ImageError::Corrupt(format!("JPEG: {err}"))
}

/// Decodes `data` as RGB at the smallest DCT scale (1/8, 1/4, 1/2 or 1) whose result
/// is still at least the thumbnail's size. `Ok(None)`: libjpeg-turbo cannot give RGB
/// for this JPEG (CMYK, lossless); use the generic path.
pub(crate) fn decode_scaled(
    data: &[u8],
    header: Header,
    max_side: u32,
) -> Result<Option<Pixels>, ImageError> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(d) => d,
            None => {
                let mut d = Decompressor::new().map_err(|e| ImageError::Internal(Box::new(e)))?;
                d.set_scan_limit(MAX_SCANS)
                    .map_err(|e| ImageError::Internal(Box::new(e)))?;
                slot.insert(d)
            }
        };
        decode_with(decompressor, data, header, max_side)
    })
}

fn decode_with(
    d: &mut Decompressor,
    data: &[u8],
    header: Header,
    max_side: u32,
) -> Result<Option<Pixels>, ImageError> {
    let jpeg = d.read_header(data).map_err(corrupt)?;
    if matches!(jpeg.colorspace, Colorspace::CMYK | Colorspace::YCCK) || jpeg.is_lossless {
        return Ok(None);
    }
    if (jpeg.width, jpeg.height) != (header.width as usize, header.height as usize) {
        return Err(ImageError::Corrupt(
            "JPEG: frame header read two ways".to_owned(),
        ));
    }
    let (tw, th) = target_size(header.width, header.height, max_side);
    let (tw, th) = (tw as usize, th as usize);
    let scale = [
        ScalingFactor::ONE_EIGHTH,
        ScalingFactor::ONE_QUARTER,
        ScalingFactor::ONE_HALF,
    ]
    .into_iter()
    .find(|s| s.scale(jpeg.width) >= tw && s.scale(jpeg.height) >= th)
    .unwrap_or(ScalingFactor::ONE);
    d.set_scaling_factor(scale).map_err(corrupt)?;
    let (width, height) = (scale.scale(jpeg.width), scale.scale(jpeg.height));
    let pitch = width * 3;
    let mut pixels = vec![0u8; pitch * height];
    d.decompress(
        data,
        Image {
            pixels: pixels.as_mut_slice(),
            width,
            pitch,
            height,
            format: PixelFormat::RGB,
        },
    )
    .map_err(corrupt)?;
    let too_big = || ImageError::Internal("scaled JPEG over 4 G pixels a side".into());
    Ok(Some(Pixels {
        width: u32::try_from(width).map_err(|_| too_big())?,
        height: u32::try_from(height).map_err(|_| too_big())?,
        alpha: false,
        data: pixels,
    }))
}
