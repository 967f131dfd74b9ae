//! The Tesseract engine on rendered text (fixtures in `tests/fixtures/ocr/`, rendered
//! with DejaVu Sans and Liberation fonts). Skips when Tesseract's English data is
//! missing, unless `KCL_TEST_REQUIRE_ALL=1`. Run with `OMP_THREAD_LIMIT=1` for speed.
#![cfg(feature = "tesseract")]

use std::io::Cursor;

use image::{ImageFormat, Rgba, RgbaImage};
use kcl_core::ports::{OcrEngine, OcrError};
use kcl_core::testkit::ocr_engine::{self, words, Sample};
use kcl_media::{PageSegmentation, TesseractEngine};

const TWO_LINES: &[u8] = include_bytes!("fixtures/ocr/two-lines.png");
const TWO_LINES_TEXT: &str = "KCL reads this text.\nThe quick brown fox jumps over 13 lazy dogs.";
const SMALL_PRINT: &[u8] = include_bytes!("fixtures/ocr/small-print.png");
const SMALL_PRINT_TEXT: &str = "Small print: return by 3 March 2024.";
const PHOTO: &[u8] = include_bytes!("fixtures/ocr/photo.jpg");
const PHOTO_TEXT: &str = "Dom Casmurro, first published in 1899.";

/// The English engine, or `None` (with the reason printed) when Tesseract's data is
/// missing; panics then instead when `KCL_TEST_REQUIRE_ALL=1`.
fn engine() -> Option<TesseractEngine> {
    match TesseractEngine::new("eng") {
        Ok(engine) => Some(engine),
        Err(e) => {
            kcl_core::testkit::services::skip(format_args!(
                "Tesseract is unavailable ({e}); apt-get install tesseract-ocr-eng"
            ));
            None
        }
    }
}

fn png(image: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.into().write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The port's contract (`kcl_core::testkit::ocr_engine`) on the three fixtures: text
/// read, a blank page, corrupt input, four threads at once.
#[test]
fn ocr_engine_kit() {
    let Some(engine) = engine() else { return };
    let samples = [
        (TWO_LINES, TWO_LINES_TEXT),
        (SMALL_PRINT, SMALL_PRINT_TEXT),
        (PHOTO, PHOTO_TEXT),
    ]
    .map(|(image, text)| Sample { image, text });
    ocr_engine::run(&engine, &samples);
    // The four threads got engines of their own, kept for reuse.
    let idle = engine.idle_engines();
    assert!((1..=4).contains(&idle), "{idle} engines");
    // Lines stay lines.
    assert_eq!(engine.recognize(TWO_LINES).unwrap().text, TWO_LINES_TEXT);
}

#[test]
fn describes_itself() {
    let Some(engine) = engine() else { return };
    let description = engine.describe();
    assert!(description.starts_with("tesseract "), "{description}");
    assert!(description.ends_with(", eng, psm 6"), "{description}");
    assert_eq!(engine.language(), "eng");
    assert!(engine.version().starts_with(|c: char| c.is_ascii_digit()));
}

#[test]
fn other_page_segmentations_read_a_block() {
    let Some(engine) = engine() else { return };
    assert_eq!(engine.page_segmentation(), PageSegmentation::SingleBlock);
    for segmentation in [PageSegmentation::Auto, PageSegmentation::SparseText] {
        let engine = TesseractEngine::new("eng")
            .unwrap()
            .with_page_segmentation(segmentation);
        let text = engine.recognize(TWO_LINES).unwrap();
        assert_eq!(words(&text.text), words(TWO_LINES_TEXT), "{segmentation:?}");
    }
    assert_eq!(
        PageSegmentation::from_psm(6),
        Some(PageSegmentation::SingleBlock)
    );
    assert_eq!(PageSegmentation::default().psm(), 6);
    // Without upscaling, text of ordinary size reads the same.
    let plain = TesseractEngine::new("eng").unwrap().with_upscaling(false);
    assert_eq!(
        words(&plain.recognize(TWO_LINES).unwrap().text),
        words(TWO_LINES_TEXT)
    );
    assert_eq!(PageSegmentation::from_psm(0), None);
}

#[test]
fn transparent_background_is_white() {
    let Some(engine) = engine() else { return };
    // Black text drawn only through the alpha channel (transparent pixels are black).
    let gray = image::load_from_memory(TWO_LINES).unwrap().into_luma8();
    let rgba = RgbaImage::from_fn(gray.width(), gray.height(), |x, y| {
        Rgba([0, 0, 0, 255 - gray.get_pixel(x, y).0[0]])
    });
    let text = engine.recognize(&png(rgba)).unwrap();
    assert_eq!(words(&text.text), words(TWO_LINES_TEXT));
}

#[test]
fn missing_language_names_its_package() {
    if engine().is_none() {
        return;
    }
    match TesseractEngine::new("zzz_qq") {
        Err(OcrError::Unavailable(message)) => {
            assert!(message.contains("tesseract-ocr-zzz-qq"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    for bad in ["", "eng+", "../eng", "en g", "eng\0"] {
        assert!(
            matches!(TesseractEngine::new(bad), Err(OcrError::Unavailable(_))),
            "{bad:?}"
        );
    }
}

/// The two-line fixture on a larger page of gray paper, shaded by 30 levels from left
/// to right, with grain (noise of sigma 8) and the camera's blur (5x5 binomial, sigma
/// of one pixel) over it all, the text covering a few percent of it: what a photo of a page
/// holding little text looks like. Tesseract 5.3 alone (`with_flattening(false)`)
/// reads this page as a dozen lines of noise (its global threshold splits the grain).
fn shaded_page() -> Vec<u8> {
    let text = image::load_from_memory(TWO_LINES).unwrap().into_luma8();
    let (width, height) = (1400usize, 500usize);
    let mut state = 0x2545_f491_u32;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    let mut page = vec![0f32; width * height];
    for (i, v) in page.iter_mut().enumerate() {
        let (x, y) = (i % width, i / width);
        let paper = 215.0 - 30.0 * x as f32 / width as f32;
        let (tx, ty) = (x.wrapping_sub(300) as u32, y.wrapping_sub(190) as u32);
        let ink = if tx < text.width() && ty < text.height() {
            1.0 - f32::from(text.get_pixel(tx, ty).0[0]) / 255.0
        } else {
            0.0
        };
        let grain = (uniform() + uniform() + uniform()) * 8.0;
        *v = (paper - ink * (paper - 50.0) + grain).clamp(0.0, 255.0);
    }
    // The blur, separable: rows then columns.
    let kernel = [1.0, 4.0, 6.0, 4.0, 1.0].map(|k: f32| k / 16.0);
    let blur = |src: &[f32], step: usize, len: usize, at: &dyn Fn(usize) -> usize| {
        let mut out = vec![0f32; src.len()];
        for (i, o) in out.iter_mut().enumerate() {
            let pos = at(i);
            *o = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| {
                    let p = (pos + k).saturating_sub(2).min(len - 1);
                    w * src[i - pos * step + p * step]
                })
                .sum();
        }
        out
    };
    let rows = blur(&page, 1, width, &|i| i % width);
    let both = blur(&rows, width, height, &|i| i / width);
    let pixels = both.iter().map(|v| v.round() as u8).collect();
    png(image::GrayImage::from_raw(width as u32, height as u32, pixels).unwrap())
}

#[test]
fn shaded_grainy_page_reads() {
    let Some(engine) = engine() else { return };
    let page = shaded_page();
    let text = engine.recognize(&page).unwrap();
    assert_eq!(words(&text.text), words(TWO_LINES_TEXT));
    // Levelling and shrinking leave a level page of ordinary text as it is.
    let other = TesseractEngine::new("eng")
        .unwrap()
        .with_deskewing(false)
        .with_shrinking(Some(24));
    assert_eq!(
        words(&other.recognize(&page).unwrap().text),
        words(TWO_LINES_TEXT)
    );
    let plain = TesseractEngine::new("eng").unwrap().with_flattening(false);
    assert_eq!(
        words(&plain.recognize(TWO_LINES).unwrap().text),
        words(TWO_LINES_TEXT)
    );
}

#[test]
fn light_text_on_dark_reads() {
    let Some(engine) = engine() else { return };
    let mut gray = image::load_from_memory(TWO_LINES).unwrap().into_luma8();
    image::imageops::invert(&mut gray);
    let text = engine.recognize(&png(gray)).unwrap();
    assert_eq!(words(&text.text), words(TWO_LINES_TEXT));
}

#[test]
fn tesseract_parameters() {
    let Some(engine) = engine() else { return };
    let engine = engine
        .with_parameter("tessedit_do_invert", "0")
        .expect("a run-time parameter");
    assert_eq!(
        words(&engine.recognize(TWO_LINES).unwrap().text),
        words(TWO_LINES_TEXT)
    );
    // Engines loaded later get it too.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                assert_eq!(
                    words(&engine.recognize(TWO_LINES).unwrap().text),
                    words(TWO_LINES_TEXT)
                )
            });
        }
    });
    for (name, value) in [("no_such_parameter", "1"), ("tessedit_do_invert", "a\0b")] {
        let engine = TesseractEngine::new("eng").unwrap();
        assert!(
            matches!(
                engine.with_parameter(name, value),
                Err(OcrError::Unavailable(_))
            ),
            "{name}"
        );
    }
}
