//! Cover images: object keys and the thumbnail task's wire formats.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::s3_event::{S3Notification, S3Record};
use super::BookId;
use crate::ports::{BlobKey, ImageFormat};

/// The thumbnail task KCL publishes after an upload (the seed's message).
///
/// ```
/// use kcl_core::domain::ThumbnailTask;
/// let t = ThumbnailTask { bucket: "media".into(), key: "uploads/1/a.jpg".into(), request_id: None };
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"bucket":"media","key":"uploads/1/a.jpg"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailTask {
    /// The bucket (`local` on the embedded profile).
    pub bucket: String,
    /// The object key of the original, `uploads/{book_id}/{uuid}.{ext}`.
    pub key: String,
    /// The request that queued it, for logs (absent in S3 events and older tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a queue message is not a task KCL can run (it is dropped, never retried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable task message: {0}")]
pub struct BadMessage(pub String);

/// What a message on the thumbnail queue asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskMessage {
    /// Thumbnail these objects (one for KCL's own message; one per record of an S3
    /// event notification).
    Thumbnails(Vec<ThumbnailTask>),
    /// S3's `s3:TestEvent`, sent when a notification is configured: nothing to do.
    TestEvent,
}

impl TaskMessage {
    /// The longest message accepted, in bytes (SQS's limit).
    pub const MAX_BYTES: usize = 256 * 1024;

    /// Decodes a message body: KCL's `{"bucket","key"}`, or an S3 event notification
    /// (`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":..},
    /// "object":{"key":..}}}]}`, keys URL-encoded with `+` for spaces), read
    /// tolerantly: fields S3 emulators leave out are not required, records that are
    /// not `ObjectCreated:*` are skipped.
    ///
    /// ```
    /// use kcl_core::domain::TaskMessage;
    /// let m = TaskMessage::decode(r#"{"Records":[{"eventName":"ObjectCreated:Put",
    ///   "s3":{"bucket":{"name":"media"},"object":{"key":"uploads/1/my+cover%C3%A7.jpg"}}}]}"#)
    ///   .unwrap();
    /// let TaskMessage::Thumbnails(tasks) = m else { panic!() };
    /// assert_eq!(tasks[0].key, "uploads/1/my coverç.jpg");
    /// assert!(TaskMessage::decode("not json").is_err());
    /// ```
    pub fn decode(body: &str) -> Result<Self, BadMessage> {
        if body.len() > Self::MAX_BYTES {
            return Err(BadMessage("over 256 KiB".into()));
        }
        let v: serde_json::Value =
            serde_json::from_str(body).map_err(|e| BadMessage(format!("not JSON: {e}")))?;
        match S3Notification::read(&v)? {
            Some(S3Notification::TestEvent) => return Ok(Self::TestEvent),
            Some(S3Notification::Records(records)) => {
                let mut tasks = Vec::new();
                for (i, r) in records.iter().enumerate() {
                    match S3Record::read(r) {
                        Ok(S3Record::Created(o)) => tasks.push(ThumbnailTask {
                            bucket: o.bucket,
                            key: o.key,
                            request_id: None,
                        }),
                        Ok(S3Record::Other { .. }) => {}
                        Err(e) => return Err(BadMessage(format!("record {i}: {}", e.0))),
                    }
                }
                return Ok(Self::Thumbnails(tasks));
            }
            None => {}
        }
        let task: ThumbnailTask = serde_json::from_value(v)
            .map_err(|e| BadMessage(format!("expected {{\"bucket\",\"key\"}}: {e}")))?;
        Ok(Self::Thumbnails(vec![task]))
    }
}

/// Where a book's cover files live: `uploads/{book_id}/{id}.{ext}` for the original,
/// `thumb/{book_id}/{id}.{ext}` for its thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverKey {
    /// The book.
    pub book_id: BookId,
    /// This upload's name: a UUID for uploads through KCL; for files dropped into
    /// the bucket, their name without extension (1 to 128 of `A-Z a-z 0-9 - _`).
    pub upload_id: String,
}

impl CoverKey {
    /// The original's key.
    pub fn original(&self, format: ImageFormat) -> BlobKey {
        BlobKey::parse(&format!(
            "uploads/{}/{}.{}",
            self.book_id,
            self.upload_id,
            format.extension()
        ))
        .expect("a valid key")
    }

    /// The thumbnail's key.
    pub fn thumbnail(&self, format: ImageFormat) -> BlobKey {
        BlobKey::parse(&format!(
            "thumb/{}/{}.{}",
            self.book_id,
            self.upload_id,
            format.extension()
        ))
        .expect("a valid key")
    }

    /// A key for a new upload.
    pub fn new(book_id: BookId, upload_id: Uuid) -> Self {
        Self {
            book_id,
            upload_id: upload_id.to_string(),
        }
    }

    /// Parses an original's key, `uploads/{book_id}/{name}.{ext}`.
    ///
    /// ```
    /// use kcl_core::domain::CoverKey;
    /// let k = CoverKey::parse_original(
    ///     "uploads/0190b3f0-0000-7000-8000-000000000001/0190b3f0-0000-7000-8000-000000000002.jpg",
    /// );
    /// assert!(k.is_some());
    /// assert!(CoverKey::parse_original("uploads/x/y.jpg").is_none(), "not a book id");
    /// assert!(CoverKey::parse_original(
    ///     "uploads/0190b3f0-0000-7000-8000-000000000001/a b.jpg").is_none(), "bad name");
    /// assert!(CoverKey::parse_original("thumb/a/b.jpg").is_none());
    /// ```
    pub fn parse_original(key: &str) -> Option<Self> {
        let rest = key.strip_prefix("uploads/")?;
        let (book, file) = rest.split_once('/')?;
        let (id, _ext) = file.rsplit_once('.')?;
        let ok = (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return None;
        }
        Some(Self {
            book_id: BookId(book.parse().ok()?),
            upload_id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_decode_or_say_why() {
        assert_eq!(
            TaskMessage::decode(r#"{"bucket":"b","key":"uploads/1/a.jpg"}"#).unwrap(),
            TaskMessage::Thumbnails(vec![ThumbnailTask {
                bucket: "b".into(),
                key: "uploads/1/a.jpg".into(),
                request_id: None,
            }])
        );
        assert_eq!(
            TaskMessage::decode(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).unwrap(),
            TaskMessage::TestEvent
        );
        // Removal events are skipped; created ones kept; emulator-shaped records OK.
        let m = TaskMessage::decode(
            r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{}},
               {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"m"},"object":{"key":"uploads/a%20b.jpg","size":3}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            TaskMessage::Thumbnails(vec![ThumbnailTask {
                bucket: "m".into(),
                key: "uploads/a b.jpg".into(),
                request_id: None,
            }])
        );
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"bucket":1,"key":"x"}"#,
            r#"{"Records":{}}"#,
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"m"}}}]}"#,
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"m"},"object":{"key":"%zz"}}}]}"#,
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"m"},"object":{"key":"%ff"}}}]}"#,
        ] {
            assert!(TaskMessage::decode(bad).is_err(), "{bad:?}");
        }
        assert!(TaskMessage::decode(&"x".repeat(300 * 1024)).is_err());
    }

    #[test]
    fn cover_keys_round_trip() {
        let k = CoverKey::new(BookId(Uuid::now_v7()), Uuid::now_v7());
        let original = k.original(ImageFormat::Png);
        assert_eq!(CoverKey::parse_original(original.as_str()), Some(k.clone()));
        assert!(k
            .thumbnail(ImageFormat::Jpeg)
            .as_str()
            .starts_with("thumb/"));
    }
}
