//! Any bytes given to the upload validator (header-only probe) and, when they pass,
//! to the thumbnailer under small limits: an error is fine, a panic, a hang or an
//! allocation beyond the limits is not.
#![no_main]

use kcl_core::ports::{ImageLimits, Thumbnailer};
use kcl_media::ImageThumbnailer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = ImageThumbnailer::default();
    let limits = ImageLimits {
        max_bytes: 1024 * 1024,
        max_side: 2048,
        max_pixels: 2_000_000,
    };
    if let Ok(info) = t.probe(data, &limits) {
        assert!(info.width <= limits.max_side && info.height <= limits.max_side);
        assert!(u64::from(info.width) * u64::from(info.height) <= limits.max_pixels);
        if let Ok(thumb) = t.thumbnail(data, 64, &limits) {
            assert!(thumb.width <= 64 && thumb.height <= 64);
            assert!(!thumb.data.is_empty());
        }
    }
});
