//! The [`BlobStore`] port on S3 (and S3-compatible servers: moto, MinIO...).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use kcl_core::ports::{Blob, BlobKey, BlobMeta, BlobStore, BlobStoreError, HealthProbe};

use crate::sdk;
use crate::AwsError;

/// Where and how to store blobs on S3, parsed from `s3://bucket[/prefix][?options]`.
///
/// Options (query parameters):
/// - `path_style=true|false`: path-style addressing (`http://host/bucket/key`), which
///   emulators and most S3-compatible servers need. Default: on when a custom endpoint
///   is configured (`AWS_ENDPOINT_URL`), off on AWS.
/// - `checksums=when_supported|when_required`: whether the SDK adds CRC checksums
///   to every request and validates them on responses (`when_supported`, the SDK's
///   default) or only where the API requires them, for servers that reject them.
///
/// ```
/// use kcl_aws::S3Location;
/// let loc = S3Location::parse("s3://media/kcl/dev?path_style=true").unwrap();
/// assert_eq!((loc.bucket.as_str(), loc.prefix.as_str()), ("media", "kcl/dev/"));
/// assert_eq!(loc.path_style, Some(true));
/// assert!(S3Location::parse("s3://").is_err());
/// assert!(S3Location::parse("http://media").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, empty or ending in `/`.
    pub prefix: String,
    /// Path-style addressing, when set explicitly.
    pub path_style: Option<bool>,
    /// Checksums only where required.
    pub checksums_when_required: bool,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix][?path_style=..&checksums=..]`.
    pub fn parse(url: &str) -> Result<Self, AwsError> {
        let bad = |why: &str| AwsError::Config(format!("{why} (expected s3://bucket[/prefix])"));
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("not an s3:// URL"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad(&format!(
                "bad bucket name {bucket:?}: 3 to 63 lowercase letters, digits, '-' or '.'"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            BlobKey::parse(prefix).map_err(|_| bad(&format!("bad key prefix {prefix:?}")))?;
        }
        let mut loc = Self {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            path_style: None,
            checksums_when_required: false,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("path_style", "true" | "1") => loc.path_style = Some(true),
                ("path_style", "false" | "0") => loc.path_style = Some(false),
                ("checksums", "when_required") => loc.checksums_when_required = true,
                ("checksums", "when_supported") => loc.checksums_when_required = false,
                _ => {
                    return Err(bad(&format!(
                        "unknown option {pair:?} (known: path_style=true|false, \
                         checksums=when_supported|when_required)"
                    )))
                }
            }
        }
        Ok(loc)
    }
}

/// A [`BlobStore`] on one S3 bucket, under an optional key prefix.
///
/// Whole-object `put`/`get` for the port, plus streaming for large objects
/// ([`put_file`](Self::put_file), [`get_stream`](Self::get_stream)) and presigned GET
/// URLs. Also a [`HealthProbe`] named `blobs` (`HeadBucket`).
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3BlobStore {
    /// A store at `location`, with the SDK configuration `sdk` (see
    /// [`config_from_env`](crate::config_from_env)). Does not contact S3.
    pub fn new(sdk: &SdkConfig, location: &S3Location) -> Self {
        let path_style = location
            .path_style
            .unwrap_or_else(|| sdk.endpoint_url().is_some());
        let mut conf = aws_sdk_s3::config::Builder::from(sdk).force_path_style(path_style);
        if location.checksums_when_required {
            conf = conf
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        Self {
            client: Client::from_conf(conf.build()),
            bucket: location.bucket.clone(),
            prefix: location.prefix.clone(),
        }
    }

    /// Checks that the bucket exists and is reachable (`HeadBucket`).
    pub async fn check(&self) -> Result<(), AwsError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let why = match &e {
                    SdkError::ServiceError(s) if s.err().is_not_found() => {
                        "does not exist (create it, or set KCL_AUTO_PROVISION=1 in development)"
                            .to_owned()
                    }
                    SdkError::ServiceError(s) if s.raw().status().as_u16() == 403 => {
                        "access denied (check the credentials and the bucket policy)".to_owned()
                    }
                    _ => sdk::describe(&e),
                };
                AwsError::Unreachable(format!("S3 bucket {}: {why}", self.bucket))
            })
    }

    /// Creates the bucket if it does not exist (development and tests).
    pub async fn provision(&self) -> Result<(), AwsError> {
        if self.check().await.is_ok() {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    sdk::code(&e),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::Unreachable(format!(
                "cannot create S3 bucket {}: {}",
                self.bucket,
                sdk::describe(&e)
            ))),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The full object key of `key` (prefix included), as S3 sees it.
    pub fn object_key(&self, key: &BlobKey) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// The blob key of an object key under this store's prefix (for S3 event
    /// notifications), or `None` if the object is not under the prefix or its key is
    /// not a valid [`BlobKey`].
    pub fn blob_key(&self, object_key: &str) -> Option<BlobKey> {
        BlobKey::parse(object_key.strip_prefix(&self.prefix)?).ok()
    }

    /// Uploads a file from disk without reading it into memory.
    pub async fn put_file(
        &self,
        key: &BlobKey,
        path: &Path,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        check_content_type(content_type)?;
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| BlobStoreError::InvalidInput(format!("cannot read {path:?}: {e}")))?;
        self.put_body(key, body, content_type).await
    }

    /// Streams a blob: its metadata and a body read as it arrives (for large objects;
    /// `ByteStream::into_async_read` gives an `AsyncRead`).
    pub async fn get_stream(
        &self,
        key: &BlobKey,
    ) -> Result<(BlobMeta, ByteStream), BlobStoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| match sdk::code(&e) {
                Some("NoSuchKey" | "NotFound") => BlobStoreError::NotFound(key.clone()),
                _ => sdk::port_error::<BlobStoreError, _, _>(&e),
            })?;
        let meta = meta(
            key,
            out.content_length(),
            out.content_type(),
            out.last_modified(),
        );
        Ok((meta, out.body))
    }

    async fn put_body(
        &self,
        key: &BlobKey,
        body: ByteStream,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        let size = body.size_hint().0;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .content_type(content_type)
            .body(body)
            .customize()
            // Sending the body takes time of its own; beyond it, a frozen S3 gets
            // the small calls' timeouts.
            .config_override(
                aws_sdk_s3::config::Builder::default()
                    .timeout_config(sdk::longer_timeouts(sdk::upload_allowance(size))),
            )
            .send()
            .await
            .map_err(|e| sdk::port_error::<BlobStoreError, _, _>(&e))?;
        Ok(BlobMeta {
            key: key.clone(),
            size,
            content_type: content_type.to_owned(),
            last_modified: Utc::now(),
        })
    }
}

fn check_content_type(ct: &str) -> Result<(), BlobStoreError> {
    if BlobMeta::is_valid_content_type(ct) {
        Ok(())
    } else {
        Err(BlobStoreError::InvalidInput(
            "content type must be 1 to 255 printable ASCII characters".into(),
        ))
    }
}

/// A blob's metadata from an S3 response's headers.
fn meta(
    key: &BlobKey,
    length: Option<i64>,
    content_type: Option<&str>,
    modified: Option<&aws_sdk_s3::primitives::DateTime>,
) -> BlobMeta {
    BlobMeta {
        key: key.clone(),
        size: length.unwrap_or_default().max(0) as u64,
        content_type: content_type
            .unwrap_or("application/octet-stream")
            .to_owned(),
        last_modified: time(modified),
    }
}

fn time(t: Option<&aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_else(Utc::now)
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        data: Bytes,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        check_content_type(content_type)?;
        self.put_body(key, ByteStream::from(data), content_type)
            .await
    }

    /// Streams the file from disk (the inherent [`S3BlobStore::put_file`]).
    async fn put_file(
        &self,
        key: &BlobKey,
        path: &Path,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        S3BlobStore::put_file(self, key, path, content_type).await
    }

    /// Streams the object to disk as it arrives: a sales file of any size costs no
    /// memory (the Lambda ingest).
    async fn get_to_file(&self, key: &BlobKey, path: &Path) -> Result<BlobMeta, BlobStoreError> {
        use tokio::io::AsyncWriteExt;
        let (meta, mut body) = self.get_stream(key).await?;
        let local = |e: std::io::Error| BlobStoreError::Internal(Box::new(e));
        let mut file = tokio::fs::File::create(path).await.map_err(local)?;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| BlobStoreError::Unavailable(Box::new(e)))?
        {
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.flush().await.map_err(local)?;
        Ok(meta)
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobStoreError> {
        let (meta, body) = self.get_stream(key).await?;
        let data = body
            .collect()
            .await
            .map_err(|e| BlobStoreError::Unavailable(Box::new(e)))?
            .into_bytes();
        Ok(Blob { meta, data })
    }

    async fn head(&self, key: &BlobKey) -> Result<BlobMeta, BlobStoreError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(s) if s.err().is_not_found() => {
                    BlobStoreError::NotFound(key.clone())
                }
                _ => sdk::port_error::<BlobStoreError, _, _>(&e),
            })?;
        Ok(meta(
            key,
            out.content_length(),
            out.content_type(),
            out.last_modified(),
        ))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk::port_error::<BlobStoreError, _, _>(&e))
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobMeta>, BlobStoreError> {
        // ListObjectsV2 returns keys in UTF-8 binary order (the port's key order) but
        // no content types: those come from a HEAD per object, 8 at a time.
        let mut keys = Vec::new();
        let mut token = None;
        while keys.len() < limit {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{}{prefix}", self.prefix))
                .max_keys((limit - keys.len()).min(1000) as i32)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk::port_error::<BlobStoreError, _, _>(&e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter_map(|k| self.blob_key(k)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        keys.truncate(limit);
        let metas: Vec<Option<BlobMeta>> = futures::stream::iter(keys)
            .map(|k| async move {
                match self.head(&k).await {
                    Ok(m) => Ok(Some(m)),
                    // Deleted between the listing and the HEAD: not listed.
                    Err(BlobStoreError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(8)
            .try_collect()
            .await?;
        Ok(metas.into_iter().flatten().collect())
    }

    fn object_location(&self, key: &BlobKey) -> (String, String) {
        (self.bucket.clone(), self.object_key(key))
    }

    fn key_of(&self, bucket: &str, object_key: &str) -> Option<BlobKey> {
        if bucket != self.bucket {
            return None;
        }
        self.blob_key(object_key)
    }

    async fn presigned_get(
        &self,
        key: &BlobKey,
        ttl: Duration,
    ) -> Result<Option<String>, BlobStoreError> {
        let conf = PresigningConfig::expires_in(ttl)
            .map_err(|e| BlobStoreError::InvalidInput(e.to_string()))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .presigned(conf)
            .await
            .map_err(|e| BlobStoreError::Internal(Box::new(e)))?;
        Ok(Some(req.uri().to_owned()))
    }
}

#[async_trait]
impl HealthProbe for S3BlobStore {
    fn name(&self) -> &str {
        "blobs"
    }

    async fn check(&self) -> Result<(), String> {
        S3BlobStore::check(self).await.map_err(|e| e.to_string())
    }
}
