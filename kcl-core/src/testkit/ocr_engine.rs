//! The [`OcrEngine`] contract. An engine reads its own language and fonts, so the
//! images with text come from the caller as [`Sample`]s; the kit brings a blank page
//! (`fixtures/blank.png`, 800x300 white) and makes its corrupt inputs itself.
//!
//! The kit is synchronous, like the port: call it from a test thread, not from
//! inside an async runtime's worker.

use crate::ports::{OcrEngine, OcrError};

/// 800x300 white 8-bit grayscale PNG: a page without text.
pub const BLANK_PNG: &[u8] = include_bytes!("fixtures/blank.png");

/// An encoded image and the text an engine must read from it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The encoded image (PNG, JPEG, ...).
    pub image: &'a [u8],
    /// Its text; compared word by word (line breaks and runs of spaces are one).
    pub text: &'a str,
}

/// Runs every case. `samples` must not be empty.
pub fn run(engine: &dyn OcrEngine, samples: &[Sample<'_>]) {
    assert!(!samples.is_empty(), "the OCR kit needs samples with text");
    describes_itself(engine);
    reads_samples(engine, samples);
    blank_page_has_no_text(engine);
    corrupt_input_is_corrupt(engine, samples);
    concurrent_callers(engine, samples);
}

/// Words separated by single spaces (line breaks too).
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `describe` says something (for logs and health).
pub fn describes_itself(engine: &dyn OcrEngine) {
    assert!(
        !engine.describe().trim().is_empty(),
        "an engine describes itself"
    );
}

/// Each sample reads as its text, trimmed, with a confidence over 50 of 100.
pub fn reads_samples(engine: &dyn OcrEngine, samples: &[Sample<'_>]) {
    for (i, sample) in samples.iter().enumerate() {
        let got = engine.recognize(sample.image).expect("recognize");
        assert_eq!(words(&got.text), words(sample.text), "sample {i}: {got:?}");
        assert_eq!(got.text.trim(), got.text, "sample {i}: the text is trimmed");
        assert!(
            got.confidence > 50.0 && got.confidence <= 100.0,
            "sample {i}: a confidence of 0 to 100, high for clear text: {got:?}"
        );
    }
}

/// A page without text reads as no text, with confidence 0.
pub fn blank_page_has_no_text(engine: &dyn OcrEngine) {
    let got = engine.recognize(BLANK_PNG).expect("recognize a blank page");
    assert_eq!(got.text, "", "a blank page has no text");
    assert_eq!(got.confidence, 0.0, "no text, confidence 0");
}

/// Bytes that are no whole image are [`OcrError::Corrupt`] (never a panic, never
/// text), and the engine reads the next image as before.
pub fn corrupt_input_is_corrupt(engine: &dyn OcrEngine, samples: &[Sample<'_>]) {
    let header_only = super::thumbnailer::png_header(800, 300);
    let mut cases: Vec<(String, &[u8])> = vec![
        ("empty".into(), b""),
        ("not an image".into(), b"%PDF-1.7 definitely not an image"),
        ("a PNG header without pixels".into(), &header_only),
    ];
    for (i, sample) in samples.iter().enumerate() {
        cases.push((
            format!("sample {i} cut in half"),
            &sample.image[..sample.image.len() / 2],
        ));
    }
    for (what, data) in cases {
        match engine.recognize(data) {
            Err(OcrError::Corrupt(_)) => {}
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        }
    }
    let first = &samples[0];
    let got = engine
        .recognize(first.image)
        .expect("recognize after errors");
    assert_eq!(
        words(&got.text),
        words(first.text),
        "the engine works after corrupt input"
    );
}

/// Four threads reading at once each get their own image's text.
pub fn concurrent_callers(engine: &dyn OcrEngine, samples: &[Sample<'_>]) {
    std::thread::scope(|scope| {
        for thread in 0..4 {
            scope.spawn(move || {
                for round in 0..3 {
                    let sample = &samples[(thread + round) % samples.len()];
                    let got = engine.recognize(sample.image).expect("recognize");
                    assert_eq!(
                        words(&got.text),
                        words(sample.text),
                        "thread {thread}, round {round}"
                    );
                }
            });
        }
    });
}
