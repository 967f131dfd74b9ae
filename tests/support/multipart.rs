//! The `multipart/form-data` body of `POST /api/jobs` (an OCR job), shared by the
//! facade's tests. Used through `#[path = "support/multipart.rs"] mod multipart;`.
#![allow(dead_code)] // each test binary uses part of it

/// An image of two lines of text (kcl-media's OCR fixture).
pub(crate) const OCR_PNG: &[u8] =
    include_bytes!("../../kcl-media/tests/fixtures/ocr/two-lines.png");

const BOUNDARY: &str = "kclJobBoundary42";

/// A new OCR job's form: its `name` when given, then each image as a file
/// `0.png`, `1.png`...; returns its content type and body.
pub(crate) fn job_form(name: Option<&str>, images: &[&[u8]]) -> (String, Vec<u8>) {
    let b = BOUNDARY;
    let mut body = Vec::new();
    if let Some(name) = name {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n")
                .as_bytes(),
        );
    }
    for (i, img) in images.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"images\"; filename=\"{i}.png\"\r\n\
                 Content-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(img);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}
