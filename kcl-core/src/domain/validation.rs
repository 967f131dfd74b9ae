use serde::Serialize;

/// One invalid field in an input: which field, a stable machine code and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field name as the caller sent it (for example `isbn`).
    pub field: String,
    /// A stable, kebab-case code (for example `bad-checksum`).
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

/// Every problem found in one input; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid input: {}", summary(.errors))]
pub struct ValidationError {
    /// The invalid fields, in the order they were checked.
    pub errors: Vec<FieldError>,
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationError {
    /// A validation error about a single field.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError {
                field: field.to_owned(),
                code,
                message: message.into(),
            }],
        }
    }
}

/// Collects field errors while validating a whole input.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    errors: Vec<FieldError>,
}

impl Collector {
    pub(crate) fn push(&mut self, e: ValidationError) {
        self.errors.extend(e.errors);
    }

    pub(crate) fn take<T>(&mut self, r: Result<T, ValidationError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    pub(crate) fn finish(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                errors: self.errors,
            })
        }
    }
}

/// Checks a free-text field: trimmed, length in characters within `min..=max`,
/// no control characters (newlines allowed only when `multiline`).
pub(crate) fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let v = value.trim();
    let len = v.chars().count();
    if len < min {
        return Err(ValidationError::field(
            field,
            if min == 1 { "required" } else { "too-short" },
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must have at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(ValidationError::field(
            field,
            "too-long",
            format!("must have at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(ValidationError::field(
            field,
            "control-character",
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}
