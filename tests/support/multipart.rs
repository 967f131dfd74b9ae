//! `multipart/form-data` bodies as a browser sends them (an OCR job's images, a
//! sales file), shared by the facade's tests. Used through
//! `#[path = "support/multipart.rs"] mod multipart;`.
#![allow(dead_code)] // each test binary uses part of it

/// An image of two lines of text (kcl-media's OCR fixture).
pub(crate) const OCR_PNG: &[u8] =
    include_bytes!("../../kcl-media/tests/fixtures/ocr/two-lines.png");

const BOUNDARY: &str = "kclTestBoundary42";

/// A form's parts, in order.
#[derive(Default)]
pub(crate) struct Form {
    body: Vec<u8>,
}

impl Form {
    /// A text field.
    pub(crate) fn field(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
        self
    }

    /// A file field: `filename` of `content_type`.
    pub(crate) fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The content type and the whole body.
    pub(crate) fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        (
            format!("multipart/form-data; boundary={BOUNDARY}"),
            self.body,
        )
    }
}

/// A new OCR job's form: its `name` when given, then each image as a file
/// `0.png`, `1.png`...; returns its content type and body.
pub(crate) fn job_form(name: Option<&str>, images: &[&[u8]]) -> (String, Vec<u8>) {
    let mut form = Form::default();
    if let Some(name) = name {
        form = form.field("name", name);
    }
    for (i, img) in images.iter().enumerate() {
        form = form.file("images", &format!("{i}.png"), "image/png", img);
    }
    form.finish()
}
