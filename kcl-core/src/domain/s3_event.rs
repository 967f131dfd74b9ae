//! S3 event notifications: the objects created in a bucket, read one way for the
//! thumbnail tasks ([`TaskMessage`](super::TaskMessage)), the request id a worker
//! logs, and the sales Lambda.
//!
//! Read tolerantly: S3 emulators leave out `userIdentity`, `requestParameters` and
//! `responseElements`, so only the event name, the bucket and the object key are
//! required, and only of `ObjectCreated:*` records. Keys are URL-encoded with `+`
//! for spaces.

use serde_json::Value;

use super::BadMessage;

/// What a notification body holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum S3Notification<'a> {
    /// S3's `s3:TestEvent`, sent when a notification is configured: nothing to do.
    TestEvent,
    /// The records, each read with [`S3Record::read`].
    Records(&'a [Value]),
}

impl<'a> S3Notification<'a> {
    /// Reads a notification: `None` when `v` is not one (neither a test event nor a
    /// `Records` field), an error when `Records` is not an array.
    ///
    /// ```
    /// use kcl_core::domain::S3Notification;
    /// let v = serde_json::json!({"Event": "s3:TestEvent"});
    /// assert_eq!(S3Notification::read(&v).unwrap(), Some(S3Notification::TestEvent));
    /// let v = serde_json::json!({"bucket": "b", "key": "k"});
    /// assert_eq!(S3Notification::read(&v).unwrap(), None);
    /// assert!(S3Notification::read(&serde_json::json!({"Records": {}})).is_err());
    /// ```
    pub fn read(v: &'a Value) -> Result<Option<Self>, BadMessage> {
        if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Some(Self::TestEvent));
        }
        match v.get("Records") {
            None => Ok(None),
            Some(records) => records
                .as_array()
                .map(|r| Some(Self::Records(r.as_slice())))
                .ok_or_else(|| BadMessage("Records is not an array".into())),
        }
    }
}

/// One record of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Record {
    /// An object was created.
    Created(ObjectCreated),
    /// Any other event (`ObjectRemoved:*`...), or a record without an event name:
    /// nothing to do.
    Other {
        /// The event's name, empty when the record has none.
        event_name: String,
    },
}

impl S3Record {
    /// Reads one record. An `ObjectCreated:*` record without its bucket name or
    /// object key, or with a key that is not valid URL encoding of UTF-8, is an
    /// error (`no s3.bucket.name`, `no s3.object.key`, `bad URL-encoded key`).
    ///
    /// ```
    /// use kcl_core::domain::{ObjectCreated, S3Record};
    /// let r = serde_json::json!({"eventName": "ObjectCreated:Put",
    ///     "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810"},
    ///     "s3": {"bucket": {"name": "media"}, "object": {"key": "uploads/1/my+cover%C3%A7.jpg"}}});
    /// let S3Record::Created(o) = S3Record::read(&r).unwrap() else { panic!() };
    /// assert_eq!((o.bucket.as_str(), o.key.as_str()), ("media", "uploads/1/my coverç.jpg"));
    /// assert_eq!(o.request_id.as_deref(), Some("C3D13FE58DE4C810"));
    /// let gone = serde_json::json!({"eventName": "ObjectRemoved:Delete", "s3": {}});
    /// assert!(matches!(S3Record::read(&gone).unwrap(), S3Record::Other { .. }));
    /// ```
    pub fn read(record: &Value) -> Result<Self, BadMessage> {
        let event_name = record
            .get("eventName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !event_name.starts_with("ObjectCreated:") {
            return Ok(Self::Other {
                event_name: event_name.to_owned(),
            });
        }
        let s3 = record.get("s3");
        let field = |path: [&str; 2]| {
            s3.and_then(|s| s.get(path[0]))
                .and_then(|o| o.get(path[1]))
                .and_then(Value::as_str)
                .ok_or_else(|| BadMessage(format!("no s3.{}.{}", path[0], path[1])))
        };
        let bucket = field(["bucket", "name"])?.to_owned();
        let key = url_decode(field(["object", "key"])?)
            .ok_or_else(|| BadMessage("bad URL-encoded key".into()))?;
        Ok(Self::Created(ObjectCreated {
            event_name: event_name.to_owned(),
            bucket,
            key,
            request_id: ObjectCreated::request_id_of(record),
        }))
    }
}

/// An `ObjectCreated:*` record of an S3 event notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    /// The event (`ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`...).
    pub event_name: String,
    /// The bucket.
    pub bucket: String,
    /// The object key, URL-decoded.
    pub key: String,
    /// S3's id of the request that created the object, when the record has one
    /// that is short printable text (see [`request_id_of`](Self::request_id_of)).
    pub request_id: Option<String>,
}

impl ObjectCreated {
    /// S3's request id of a record (`responseElements.x-amz-request-id`), when it is
    /// 1 to 128 printable ASCII characters (it goes into log lines); whatever the
    /// record's event.
    pub fn request_id_of(record: &Value) -> Option<String> {
        let id = record
            .get("responseElements")?
            .get("x-amz-request-id")?
            .as_str()?;
        (!id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
            .then(|| id.to_owned())
    }
}

/// S3's event key encoding: `+` is a space, then percent-decoding (UTF-8).
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn records_read_tolerantly_or_say_why() {
        // Emulator-shaped: no responseElements, extra fields.
        let r = json!({"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "m"}, "object": {"key": "a%20b+c.csv", "size": 3}}});
        assert_eq!(
            S3Record::read(&r).unwrap(),
            S3Record::Created(ObjectCreated {
                event_name: "ObjectCreated:Put".into(),
                bucket: "m".into(),
                key: "a b c.csv".into(),
                request_id: None,
            })
        );
        assert_eq!(
            S3Record::read(&json!(3)).unwrap(),
            S3Record::Other {
                event_name: String::new()
            }
        );
        for (bad, why) in [
            (
                json!({"eventName": "ObjectCreated:Put"}),
                "no s3.bucket.name",
            ),
            (
                json!({"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "m"}}}),
                "no s3.object.key",
            ),
            (
                json!({"eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": "m"}, "object": {"key": "%zz"}}}),
                "bad URL-encoded key",
            ),
            (
                json!({"eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": "m"}, "object": {"key": "%ff"}}}),
                "bad URL-encoded key",
            ),
        ] {
            assert_eq!(S3Record::read(&bad).unwrap_err().0, why, "{bad}");
        }
    }

    #[test]
    fn request_ids_are_short_printable_text() {
        let with = |id: &str| json!({"responseElements": {"x-amz-request-id": id}});
        assert_eq!(
            ObjectCreated::request_id_of(&with("C3D13FE58DE4C810")).as_deref(),
            Some("C3D13FE58DE4C810")
        );
        assert_eq!(ObjectCreated::request_id_of(&with("a b\n")), None);
        assert_eq!(ObjectCreated::request_id_of(&with("")), None);
        assert_eq!(ObjectCreated::request_id_of(&with(&"x".repeat(129))), None);
        assert_eq!(ObjectCreated::request_id_of(&json!({})), None);
    }
}
