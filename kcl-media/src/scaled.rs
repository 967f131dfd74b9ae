//! JPEG decoding at a reduced DCT scale with libjpeg (MozJPEG's decoder, through the
//! `mozjpeg` crate, built from C source without nasm: no SIMD).
//!
//! libjpeg reports a fatal error by calling back into Rust, which unwinds through the
//! C frames (`mozjpeg-sys`' `unwinding` feature, compiled with `-fexceptions`); every
//! call into it runs under [`std::panic::catch_unwind`] and an unwind becomes
//! [`ImageError::Corrupt`]. This module is left out under `panic = "abort"` (lib.rs),
//! where such an error would abort the process.
//!
//! Bounds: the input is already checked against the byte, side and pixel limits; the
//! caller refuses a JPEG without an end-of-image marker (libjpeg would pad a truncated
//! file with grey) or with more than [`crate::header::MAX_SCANS`] scans (each
//! progressive scan walks the whole coefficient buffer) before this runs. Memory: a
//! baseline JPEG is decoded a row of blocks at a time (a few rows of the scaled image);
//! a progressive one needs all its DCT coefficients at once, 2 bytes a sample, as in
//! any libjpeg (Pillow's too): 36 MB for a 12 MP 4:2:0 photo, 72 MB at 4:4:4. Plus
//! the scaled RGB output (0.56 MB at 1/8 of 12 MP).

use std::panic::{self, AssertUnwindSafe};

use kcl_core::ports::ImageError;
use mozjpeg::{ColorSpace, Decompress};

use crate::{header::Header, target_size, Pixels};

fn corrupt(message: impl std::fmt::Display) -> ImageError {
    ImageError::Corrupt(format!("JPEG: {message}"))
}

/// The text of a caught unwind: libjpeg's message (`"libjpeg fatal error: ..."`) or
/// a panic's.
fn unwind_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else {
        "libjpeg failed (no message)".to_owned()
    }
}

/// The numerator (over 8) of the smallest scale among 1/8, 1/4 and 1/2 whose output,
/// `ceil(side * n / 8)` as libjpeg computes it, is still at least the thumbnail's
/// `target` size; 8 (full size) when none is.
pub(crate) fn scale_numerator(size: (u32, u32), target: (u32, u32)) -> u8 {
    let scaled = |side: u32, n: u8| (u64::from(side) * u64::from(n)).div_ceil(8);
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| {
            scaled(size.0, n) >= u64::from(target.0) && scaled(size.1, n) >= u64::from(target.1)
        })
        .unwrap_or(8)
}

/// Decodes `data` (a checked, complete JPEG whose header is `header`) as RGB at the
/// smallest DCT scale whose result is still at least the thumbnail's size.
/// `Ok(None)`: this path cannot give RGB for it (CMYK or YCCK); use the generic one.
pub(crate) fn decode_scaled(
    data: &[u8],
    header: Header,
    max_side: u32,
) -> Result<Option<Pixels>, ImageError> {
    // `AssertUnwindSafe`: nothing outlives an unwind but `data` (read only); the
    // decompressor and the pixel buffer are dropped on the way out.
    match panic::catch_unwind(AssertUnwindSafe(|| decode(data, header, max_side))) {
        Ok(result) => result,
        Err(payload) => Err(corrupt(unwind_message(payload.as_ref()))),
    }
}

fn decode(data: &[u8], header: Header, max_side: u32) -> Result<Option<Pixels>, ImageError> {
    let mut decompress = Decompress::new_mem(data).map_err(corrupt)?;
    if matches!(
        decompress.color_space(),
        ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK
    ) {
        return Ok(None);
    }
    let (width, height) = decompress.size();
    if (width, height) != (header.width as usize, header.height as usize) {
        return Err(corrupt("frame header read two ways"));
    }
    let target = target_size(header.width, header.height, max_side);
    decompress.scale(scale_numerator((header.width, header.height), target));
    let mut started = decompress.rgb().map_err(corrupt)?;
    let (width, height) = (started.width(), started.height());
    let data: Vec<u8> = started.read_scanlines().map_err(corrupt)?;
    started.finish().map_err(corrupt)?;
    if data.len() != width * height * 3 {
        return Err(corrupt("fewer scanlines than the frame header says"));
    }
    let too_big = || ImageError::Internal("scaled JPEG over 4 G pixels a side".into());
    Ok(Some(Pixels {
        width: u32::try_from(width).map_err(|_| too_big())?,
        height: u32::try_from(height).map_err(|_| too_big())?,
        alpha: false,
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_scale_still_at_least_the_target() {
        // 4000x3000 -> 256x192: 1/8 gives 500x375.
        assert_eq!(scale_numerator((4000, 3000), (256, 192)), 1);
        // 1600x1200 -> 256x192: 1/8 gives 200x150, too small; 1/4 gives 400x300.
        assert_eq!(scale_numerator((1600, 1200), (256, 192)), 2);
        // 1600x1200 -> 999x749: 1/2 gives 800x600, too small: full size.
        assert_eq!(scale_numerator((1600, 1200), (999, 749)), 8);
        // 600x400 -> 256x171: 1/2 gives 300x200.
        assert_eq!(scale_numerator((600, 400), (256, 171)), 4);
        // Rounding up: 2041 / 8 = 255.125 -> 256 is enough for 256.
        assert_eq!(scale_numerator((2041, 10), (256, 2)), 1);
        assert_eq!(scale_numerator((2040, 10), (256, 2)), 2);
        // Not upscaled: the target is the source.
        assert_eq!(scale_numerator((100, 50), (100, 50)), 8);
    }
}
