//! What the SDK adapters (S3, SQS, DynamoDB) share: loading the AWS configuration
//! and telling a transient failure from a permanent one.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::AwsError;

/// The AWS configuration from the environment, the way every AWS tool reads it:
/// credentials from the standard chain (environment, profile, web identity, ECS, IMDS),
/// `AWS_REGION` / `AWS_DEFAULT_REGION` / profile, and `AWS_ENDPOINT_URL` (or the
/// per-service `AWS_ENDPOINT_URL_S3`, `..._SQS`, `..._DYNAMODB`) for emulators.
///
/// Calls time out (connect 3 s, each attempt 10 s, 25 s with the retries: under
/// the HTTP host's 30 s request timeout) and throttling or transient failures are retried by the
/// SDK (3 attempts, back-off). Calls that take longer by design set their own: a
/// long poll its wait on top, an upload a second per MiB on top.
///
/// Fails when no region is configured, naming the variable.
pub async fn config_from_env() -> Result<SdkConfig, AwsError> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await;
    if config.region().is_none() {
        return Err(AwsError::Config(
            "no AWS region: set AWS_REGION (for example AWS_REGION=eu-west-1)".into(),
        ));
    }
    Ok(config)
}

/// A configuration for an emulator (moto, MinIO...) at `endpoint`: region `us-east-1`
/// and fixed test credentials, whatever the environment says.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let creds = aws_credential_types::Credentials::new("test", "test", None, None, "kcl-emulator");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

/// Longest wait for a TCP (and TLS) connection to an AWS endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest one attempt of a call may take. AWS answers these small requests in
/// milliseconds; one unanswered after this is a frozen or partitioned endpoint
/// (a connection to a stopped process still opens: the kernel accepts it).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a call may take with its retries: under the HTTP host's request timeout
/// (30 s), so a request whose AWS dependency hangs is answered `503` by the
/// dependency's own `Unavailable` error, and a cover upload (whose deadline is
/// minutes, for slow clients) does not wait on a frozen S3 for minutes either.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

fn timeouts() -> TimeoutConfig {
    longer_timeouts(Duration::ZERO)
}

/// The timeouts of a call that may take `extra` longer than a small one: a long
/// poll (its wait), an upload (a second per MiB, S3's slowest usable throughput
/// being far above 1 MiB/s). Passed to an operation's `config_override`.
pub(crate) fn longer_timeouts(extra: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT + extra)
        .operation_timeout(OPERATION_TIMEOUT + extra)
        .build()
}

/// What an upload of `bytes` may take beyond a small call: a second per MiB.
pub(crate) fn upload_allowance(bytes: u64) -> Duration {
    Duration::from_secs(bytes.div_ceil(1024 * 1024))
}

/// How an SDK error should be reported by a port.
pub(crate) enum Fault {
    /// Retrying may succeed: network, timeout, throttling, 5xx.
    Transient,
    /// The service refused the request for good.
    Permanent,
}

/// Classifies an SDK error.
pub(crate) fn fault<E, R>(e: &SdkError<E, R>) -> Fault
where
    E: ProvideErrorMetadata,
    R: HasStatus,
{
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            Fault::Transient
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status_code();
            let code = s.err().code().unwrap_or_default();
            if status >= 500
                || status == 429
                || code.contains("Throttl")
                || code == "RequestLimitExceeded"
                || code == "ProvisionedThroughputExceededException"
                || code == "SlowDown"
            {
                Fault::Transient
            } else {
                Fault::Permanent
            }
        }
        _ => Fault::Permanent,
    }
}

/// The error code of a service error (`NoSuchKey`, `ConditionalCheckFailedException`...).
pub(crate) fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// The HTTP status of a raw response.
pub(crate) trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// An SDK error as text, with the service's code and message when there are some.
pub(crate) fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("(no message)")
        ),
        other => {
            // The Display of SdkError is terse ("dispatch failure"); the source says why.
            let mut text = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(s) = src {
                text.push_str(": ");
                text.push_str(&s.to_string());
                src = s.source();
            }
            text
        }
    }
}

/// An SDK error as any port's error: `unavailable` when retrying may help, else
/// `internal`, with the SDK's code, message and HTTP status in the text.
pub(crate) fn port_error<P, E, R>(e: &SdkError<E, R>) -> P
where
    P: kcl_core::ports::StoreError,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HasStatus,
{
    let text = describe(e);
    match fault(e) {
        Fault::Transient => P::unavailable(text.into()),
        Fault::Permanent => P::internal(text.into()),
    }
}
