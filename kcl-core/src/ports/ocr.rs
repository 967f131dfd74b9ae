use crate::BoxError;

/// Text read from an image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OcrText {
    /// The text, lines separated by `\n`, trimmed.
    pub text: String,
    /// The engine's mean word confidence, 0 to 100 (0 when no text was found).
    pub confidence: f32,
}

/// Why an [`OcrEngine`] could not read an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcrError {
    /// No engine in this build or on this machine (the message says how to get one).
    #[error("OCR unavailable: {0}")]
    Unavailable(String),
    /// The image cannot be decoded (truncated, corrupt, unsupported).
    #[error("unreadable image: {0}")]
    Corrupt(String),
    /// Anything else (the engine failed).
    #[error("OCR failure: {0}")]
    Internal(#[source] BoxError),
}

/// Reads the text in an image. CPU-bound and synchronous: call it from a blocking
/// thread (`tokio::task::spawn_blocking`). Implementations keep their engines warm
/// (one per thread that calls, reused across calls).
pub trait OcrEngine: Send + Sync {
    /// Recognizes the text of an encoded image (the Tesseract adapter reads JPEG, PNG,
    /// GIF and WebP).
    fn recognize(&self, image: &[u8]) -> Result<OcrText, OcrError>;

    /// A short description for logs and health (`tesseract 5.3.0, eng`).
    fn describe(&self) -> String;
}
