//! The [`Thumbnailer`] contract, on tiny fixture files (a few hundred bytes each, in
//! `testkit/fixtures/`) so no image library is needed here: outputs are checked by
//! probing them with the thumbnailer under test and by their magic bytes.

use crate::ports::{ImageError, ImageFormat, ImageInfo, ImageLimits, Thumbnail, Thumbnailer};

/// 64x32 baseline JPEG.
pub const LANDSCAPE_JPEG: &[u8] = include_bytes!("fixtures/landscape.jpg");
/// 40x20 JPEG stored, EXIF orientation 6 (displayed 20x40, portrait).
pub const ORIENT6_JPEG: &[u8] = include_bytes!("fixtures/orient6.jpg");
/// 32x16 RGBA PNG whose left half is fully transparent.
pub const ALPHA_PNG: &[u8] = include_bytes!("fixtures/alpha.png");
/// 24x48 opaque RGB PNG.
pub const PORTRAIT_PNG: &[u8] = include_bytes!("fixtures/portrait.png");
/// 30x20 GIF of two frames (red, then blue).
pub const ANIMATED_GIF: &[u8] = include_bytes!("fixtures/anim.gif");
/// 20x10 lossless WebP.
pub const SMALL_WEBP: &[u8] = include_bytes!("fixtures/small.webp");

/// A PNG signature and IHDR declaring `width` x `height` (8-bit RGBA), and nothing
/// else: enough for a header, far too little for pixels.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    data.extend_from_slice(&width.to_be_bytes());
    data.extend_from_slice(&height.to_be_bytes());
    data.extend_from_slice(&[8, 6, 0, 0, 0]);
    data.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked by a header reader)
    data
}

fn info(format: ImageFormat, width: u32, height: u32) -> ImageInfo {
    ImageInfo {
        format,
        width,
        height,
    }
}

/// Checks a thumbnail's declared size and format against its own bytes.
fn check_output(t: &dyn Thumbnailer, thumb: &Thumbnail, case: &str) {
    assert_eq!(
        ImageFormat::sniff(&thumb.data),
        Some(thumb.format),
        "{case}: the bytes are of the declared format"
    );
    assert!(
        matches!(thumb.format, ImageFormat::Jpeg | ImageFormat::Png),
        "{case}: thumbnails are JPEG or PNG"
    );
    let probed = t
        .probe(&thumb.data, &ImageLimits::default())
        .unwrap_or_else(|e| panic!("{case}: the thumbnail probes: {e}"));
    assert_eq!(
        (probed.width, probed.height),
        (thumb.width, thumb.height),
        "{case}: the declared size is the encoded size"
    );
}

fn thumb(t: &dyn Thumbnailer, data: &[u8], max_side: u32, case: &str) -> Thumbnail {
    let thumb = t
        .thumbnail(data, max_side, &ImageLimits::default())
        .unwrap_or_else(|e| panic!("{case}: thumbnail failed: {e}"));
    check_output(t, &thumb, case);
    thumb
}

/// Runs every thumbnailer case. Panics on the first broken rule.
pub fn run(t: &dyn Thumbnailer) {
    let limits = ImageLimits::default();

    // probe: format by magic bytes, stored dimensions.
    for (data, expected) in [
        (LANDSCAPE_JPEG, info(ImageFormat::Jpeg, 64, 32)),
        (ORIENT6_JPEG, info(ImageFormat::Jpeg, 40, 20)),
        (ALPHA_PNG, info(ImageFormat::Png, 32, 16)),
        (PORTRAIT_PNG, info(ImageFormat::Png, 24, 48)),
        (ANIMATED_GIF, info(ImageFormat::Gif, 30, 20)),
        (SMALL_WEBP, info(ImageFormat::WebP, 20, 10)),
    ] {
        assert_eq!(
            t.probe(data, &limits).expect("probe a fixture"),
            expected,
            "probe reads format and stored size"
        );
    }

    // Longest side exact, aspect kept.
    let th = thumb(t, LANDSCAPE_JPEG, 16, "jpeg 64x32 -> 16");
    assert_eq!((th.format, th.width, th.height), (ImageFormat::Jpeg, 16, 8));
    let th = thumb(t, PORTRAIT_PNG, 12, "png 24x48 -> 12");
    assert_eq!((th.width, th.height), (6, 12), "longest side is max_side");
    assert_eq!(th.format, ImageFormat::Jpeg, "an opaque PNG becomes a JPEG");

    // Never upscaled, still re-encoded.
    let th = thumb(t, LANDSCAPE_JPEG, 1000, "jpeg never upscaled");
    assert_eq!((th.width, th.height), (64, 32), "never upscaled");
    assert_ne!(
        &th.data[..],
        LANDSCAPE_JPEG,
        "re-encoded, not passed through"
    );
    let th = thumb(t, LANDSCAPE_JPEG, 64, "jpeg at exactly max_side");
    assert_eq!((th.width, th.height), (64, 32));

    // EXIF orientation applied.
    let th = thumb(t, ORIENT6_JPEG, 1000, "orientation 6");
    assert_eq!(
        (th.width, th.height),
        (20, 40),
        "EXIF orientation 6 is applied"
    );
    let th = thumb(t, ORIENT6_JPEG, 10, "orientation 6, resized");
    assert_eq!(
        (th.width, th.height),
        (5, 10),
        "orientation applied after resize"
    );

    // Alpha: PNG out.
    let th = thumb(t, ALPHA_PNG, 8, "png with alpha");
    assert_eq!(th.format, ImageFormat::Png, "transparency keeps PNG");
    assert_eq!((th.width, th.height), (8, 4));

    // GIF and WebP.
    let th = thumb(t, ANIMATED_GIF, 15, "gif");
    assert_eq!((th.width, th.height), (15, 10));
    let th = thumb(t, SMALL_WEBP, 10, "webp");
    assert_eq!((th.width, th.height), (10, 5));

    // Bad inputs: the right error, never a panic.
    for (data, case) in [
        (&b""[..], "empty"),
        (&b"hello, I am a text file, not an image"[..], "text"),
        (&b"\x00\x00\x00\x00"[..], "zeros"),
    ] {
        assert!(
            matches!(t.probe(data, &limits), Err(ImageError::Unsupported(_))),
            "probe: {case} is Unsupported"
        );
        assert!(
            matches!(
                t.thumbnail(data, 16, &limits),
                Err(ImageError::Unsupported(_))
            ),
            "thumbnail: {case} is Unsupported"
        );
    }
    for cut in [
        3,
        10,
        100,
        LANDSCAPE_JPEG.len() / 2,
        LANDSCAPE_JPEG.len() - 40,
    ] {
        let result = t.thumbnail(&LANDSCAPE_JPEG[..cut], 16, &limits);
        assert!(
            matches!(result, Err(ImageError::Corrupt(_))),
            "a JPEG truncated at {cut} bytes is Corrupt: {result:?}"
        );
    }
    let result = t.thumbnail(&ALPHA_PNG[..ALPHA_PNG.len() - 30], 16, &limits);
    assert!(
        matches!(result, Err(ImageError::Corrupt(_))),
        "a truncated PNG is Corrupt: {result:?}"
    );

    // Limits, checked by probe before any decoding.
    let huge = png_header(100_000, 100_000);
    assert!(
        matches!(t.probe(&huge, &limits), Err(ImageError::TooLarge(_))),
        "a PNG declaring 100000x100000 is refused by probe"
    );
    assert!(
        matches!(
            t.thumbnail(&huge, 16, &limits),
            Err(ImageError::TooLarge(_))
        ),
        "and by thumbnail"
    );
    let small_bytes = ImageLimits {
        max_bytes: 100,
        ..limits
    };
    assert!(
        matches!(
            t.probe(LANDSCAPE_JPEG, &small_bytes),
            Err(ImageError::TooLarge(_))
        ),
        "over max_bytes is TooLarge"
    );
    assert!(
        matches!(
            t.thumbnail(LANDSCAPE_JPEG, 16, &small_bytes),
            Err(ImageError::TooLarge(_))
        ),
        "thumbnail checks max_bytes too"
    );
    let small_side = ImageLimits {
        max_side: 63,
        ..limits
    };
    assert!(
        matches!(
            t.probe(LANDSCAPE_JPEG, &small_side),
            Err(ImageError::TooLarge(_))
        ),
        "over max_side is TooLarge"
    );
    let small_area = ImageLimits {
        max_pixels: 64 * 32 - 1,
        ..limits
    };
    assert!(
        matches!(
            t.probe(LANDSCAPE_JPEG, &small_area),
            Err(ImageError::TooLarge(_))
        ),
        "over max_pixels is TooLarge"
    );
    let exact = ImageLimits {
        max_bytes: LANDSCAPE_JPEG.len() as u64,
        max_side: 64,
        max_pixels: 64 * 32,
    };
    assert!(
        t.probe(LANDSCAPE_JPEG, &exact).is_ok(),
        "limits are inclusive"
    );
}
