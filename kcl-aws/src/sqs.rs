//! The [`TaskQueue`] port on SQS: standard queues with a redrive policy to a
//! dead-letter queue.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::error::{BuildError, SdkError};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use kcl_core::ports::{
    Delivery, HealthProbe, QueueConfig, QueueError, QueueStats, ReceiptHandle, TaskQueue,
};

use crate::sdk;
use crate::AwsError;

/// A [`TaskQueue`] on an SQS standard queue whose redrive policy names a dead-letter
/// queue. Also a [`HealthProbe`] named `queue`.
///
/// The visibility timeout and the receive limit are the queue's own attributes
/// (`VisibilityTimeout`, `RedrivePolicy.maxReceiveCount`): SQS, not this adapter,
/// moves a message to the dead-letter queue. Long-poll waits are whole seconds
/// (SQS's unit), rounded up.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    dlq_url: String,
    config: QueueConfig,
}

impl SqsQueue {
    /// Opens an existing queue by name or URL (`sqs://` prefix allowed), reading its
    /// visibility timeout and redrive policy. Fails, naming the queue, when it does not
    /// exist, cannot be reached, is FIFO, or has no dead-letter queue (a poison
    /// message would then be delivered forever).
    pub async fn open(sdk: &SdkConfig, name_or_url: &str) -> Result<Self, AwsError> {
        let client = Client::new(sdk);
        let spec = name_or_url.strip_prefix("sqs://").unwrap_or(name_or_url);
        if spec.is_empty() {
            return Err(AwsError::Config(
                "empty queue name (expected sqs://<name or URL>)".into(),
            ));
        }
        if spec.ends_with(".fifo") {
            return Err(AwsError::Config(format!(
                "queue {spec}: FIFO queues are not supported; use a standard queue"
            )));
        }
        let url = queue_url(&client, spec).await?;
        let attrs = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| unreachable(spec, &e))?;
        let attrs = attrs.attributes().cloned().unwrap_or_default();
        let visibility = attrs
            .get(&QueueAttributeName::VisibilityTimeout)
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        let redrive = attrs
            .get(&QueueAttributeName::RedrivePolicy)
            .ok_or_else(|| {
                AwsError::Config(format!(
                    "queue {spec} has no redrive policy: give it a dead-letter queue \
                 (or run the provisioning helper, KCL_AUTO_PROVISION=1)"
                ))
            })?;
        let policy: serde_json::Value = serde_json::from_str(redrive)
            .map_err(|e| AwsError::Config(format!("queue {spec}: bad RedrivePolicy: {e}")))?;
        let arn = policy["deadLetterTargetArn"].as_str().unwrap_or_default();
        let max_receives = match &policy["maxReceiveCount"] {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(0) as u32;
        let dlq_name = arn.rsplit(':').next().unwrap_or_default();
        if dlq_name.is_empty() || max_receives == 0 {
            return Err(AwsError::Config(format!(
                "queue {spec}: RedrivePolicy needs deadLetterTargetArn and maxReceiveCount"
            )));
        }
        let dlq_url = queue_url(&client, dlq_name).await?;
        Ok(Self {
            client,
            url,
            dlq_url,
            config: QueueConfig {
                visibility_timeout: Duration::from_secs(visibility),
                max_receives,
            },
        })
    }

    /// Creates the queue `name` and its dead-letter queue `{name}-dlq` (kept 14 days)
    /// if missing, sets the visibility timeout and redrive policy from `config`, and
    /// opens it (development and tests; production queues belong to infrastructure
    /// code).
    pub async fn provision(
        sdk: &SdkConfig,
        name: &str,
        config: QueueConfig,
    ) -> Result<Self, AwsError> {
        let name = name.strip_prefix("sqs://").unwrap_or(name);
        if name.is_empty() || name.contains('/') || name.len() > 76 {
            return Err(AwsError::Config(format!(
                "provisioning needs a queue name (1 to 76 characters, no URL), not {name:?}"
            )));
        }
        let client = Client::new(sdk);
        let dlq = format!("{name}-dlq");
        let dlq_url = client
            .create_queue()
            .queue_name(&dlq)
            .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
            .send()
            .await
            .map_err(|e| unreachable(&dlq, &e))?
            .queue_url
            .unwrap_or_default();
        let arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| unreachable(&dlq, &e))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        let redrive = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": config.max_receives.to_string(),
        })
        .to_string();
        let visibility = config.visibility_timeout.as_secs().to_string();
        let url = match client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::VisibilityTimeout, &visibility)
            .attributes(QueueAttributeName::RedrivePolicy, &redrive)
            .send()
            .await
        {
            Ok(out) => out.queue_url.unwrap_or_default(),
            // It exists with other attributes: bring them in line.
            Err(e) if matches!(sdk::code(&e), Some(c) if c.contains("QueueAlreadyExists") || c.contains("QueueNameExists")) =>
            {
                let url = queue_url(&client, name).await?;
                client
                    .set_queue_attributes()
                    .queue_url(&url)
                    .attributes(QueueAttributeName::VisibilityTimeout, &visibility)
                    .attributes(QueueAttributeName::RedrivePolicy, &redrive)
                    .send()
                    .await
                    .map_err(|e| unreachable(name, &e))?;
                url
            }
            Err(e) => return Err(unreachable(name, &e)),
        };
        let _ = url;
        Self::open(sdk, name).await
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The dead-letter queue's URL.
    pub fn dead_letter_url(&self) -> &str {
        &self.dlq_url
    }

    /// The queue's visibility timeout and receive limit, as read from SQS.
    pub fn config(&self) -> QueueConfig {
        self.config
    }

    async fn count(&self, url: &str, names: &[QueueAttributeName]) -> Result<Vec<u64>, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| sdk::port_error::<QueueError, _, _>(&e))?;
        let attrs = out.attributes().cloned().unwrap_or_default();
        Ok(names
            .iter()
            .map(|n| attrs.get(n).and_then(|v| v.parse().ok()).unwrap_or(0))
            .collect())
    }
}

async fn queue_url(client: &Client, spec: &str) -> Result<String, AwsError> {
    if spec.starts_with("https://") || spec.starts_with("http://") {
        return Ok(spec.to_owned());
    }
    client
        .get_queue_url()
        .queue_name(spec)
        .send()
        .await
        .map_err(|e| unreachable(spec, &e))?
        .queue_url
        .ok_or_else(|| AwsError::Unreachable(format!("SQS queue {spec}: no URL returned")))
}

fn unreachable<E, R>(queue: &str, e: &SdkError<E, R>) -> AwsError
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    AwsError::Unreachable(format!("SQS queue {queue}: {}", sdk::describe(e)))
}

fn stale<E: aws_sdk_sqs::error::ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(
        sdk::code(e),
        Some(c) if c.contains("ReceiptHandleIsInvalid") || c.contains("MessageNotInflight")
            || c.contains("InvalidParameterValue")
    )
}

/// The entries of a batch request, one per item, each with the item's index as its
/// id (how the answer names it).
fn batch_entries<T, E>(
    items: &[T],
    entry: impl Fn(String, &T) -> Result<E, BuildError>,
) -> Result<Vec<E>, QueueError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| entry(i.to_string(), item).map_err(|e| QueueError::Internal(Box::new(e))))
        .collect()
}

#[async_trait]
impl TaskQueue for SqsQueue {
    fn config(&self) -> Option<QueueConfig> {
        Some(self.config)
    }

    async fn send(&self, body: &str) -> Result<String, QueueError> {
        QueueConfig::check_body(body)?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sdk::port_error::<QueueError, _, _>(&e))?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        QueueConfig::check_receive(max, wait)?;
        let secs = wait.as_millis().div_ceil(1000) as i32;
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max as i32)
            .wait_time_seconds(secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .customize()
            // A long poll lasts its wait by design.
            .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(
                sdk::longer_timeouts(Duration::from_secs(secs.max(0) as u64)),
            ))
            .send()
            .await
            .map_err(|e| sdk::port_error::<QueueError, _, _>(&e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Delivery {
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
                message_id: m.message_id.unwrap_or_default(),
                receipt: ReceiptHandle(m.receipt_handle.unwrap_or_default()),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn ack(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        match self
            .client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already deleted (acked twice): the port says that is fine.
            Err(e) if stale(&e) => Ok(()),
            Err(e) => Err(sdk::port_error::<QueueError, _, _>(&e)),
        }
    }

    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        QueueConfig::check_visibility(timeout)?;
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(timeout.as_secs() as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                if stale(&e) {
                    QueueError::StaleReceipt
                } else {
                    sdk::port_error::<QueueError, _, _>(&e)
                }
            })
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let main = self
            .count(
                &self.url,
                &[
                    QueueAttributeName::ApproximateNumberOfMessages,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                ],
            )
            .await?;
        let dead = self
            .count(
                &self.dlq_url,
                &[QueueAttributeName::ApproximateNumberOfMessages],
            )
            .await?;
        Ok(QueueStats {
            visible: main[0],
            in_flight: main[1],
            dead_lettered: dead[0],
            oldest_age_secs: None,
        })
    }

    async fn send_batch(&self, bodies: &[&str]) -> Result<Vec<String>, QueueError> {
        for b in bodies {
            QueueConfig::check_body(b)?;
        }
        let mut ids = Vec::with_capacity(bodies.len());
        for chunk in bodies.chunks(QueueConfig::MAX_BATCH) {
            // SQS also caps a batch at 256 KiB in total: split further when needed.
            let mut groups: Vec<Vec<&str>> = vec![Vec::new()];
            let mut size = 0;
            for b in chunk {
                if size + b.len() > QueueConfig::MAX_BODY_BYTES {
                    groups.push(Vec::new());
                    size = 0;
                }
                size += b.len();
                groups.last_mut().expect("one group").push(b);
            }
            for group in groups.into_iter().filter(|g| !g.is_empty()) {
                let entries = batch_entries(&group, |id, b| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(*b)
                        .build()
                })?;
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| sdk::port_error::<QueueError, _, _>(&e))?;
                if let Some(f) = out.failed().first() {
                    return Err(QueueError::Unavailable(
                        format!(
                            "SQS refused a batch entry ({} sent before it): {}: {}",
                            ids.len(),
                            f.code(),
                            f.message().unwrap_or_default()
                        )
                        .into(),
                    ));
                }
                let mut sent: Vec<_> = out.successful().to_vec();
                sent.sort_by_key(|s| s.id().parse::<usize>().unwrap_or(usize::MAX));
                ids.extend(sent.into_iter().map(|s| s.message_id().to_owned()));
            }
        }
        Ok(ids)
    }

    async fn ack_batch(&self, receipts: &[ReceiptHandle]) -> Result<(), QueueError> {
        for chunk in receipts.chunks(QueueConfig::MAX_BATCH) {
            let entries = batch_entries(chunk, |id, r| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(&r.0)
                    .build()
            })?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk::port_error::<QueueError, _, _>(&e))?;
            if let Some(f) = out
                .failed()
                .iter()
                .find(|f| !f.code().contains("ReceiptHandleIsInvalid"))
            {
                return Err(QueueError::Unavailable(
                    format!(
                        "SQS refused to delete a message: {}: {}",
                        f.code(),
                        f.message().unwrap_or_default()
                    )
                    .into(),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl HealthProbe for SqsQueue {
    fn name(&self) -> &str {
        "queue"
    }

    async fn check(&self) -> Result<(), String> {
        self.count(
            &self.url,
            &[QueueAttributeName::ApproximateNumberOfMessages],
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}
