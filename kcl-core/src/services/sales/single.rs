//! Single sales recorded as they happen (`POST /api/sales`): a small batch of one
//! store and day, sent with an idempotency key, validated like a file's rows and
//! loaded as a file of its own under `sales/single/{store}/{day}/{key}`; a file
//! loaded for the same store and day replaces them.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{IngestOptions, IngestReport, SalesService};
use crate::domain::{
    IngestPolicy, LoadOutcome, SalesFile, SalesFormat, SalesReader, StoreDay, ValidateOptions,
    ValidationError,
};
use crate::ports::{BlobKey, RowSpool};
use crate::services::ServiceError;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

/// The most lines in one batch of single sales.
pub const MAX_SALE_LINES: usize = 100;
/// The longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 64;
/// Where single sales are kept, one object per batch: `{store}/{day}/{key}`.
pub const SINGLE_SALES_PREFIX: &str = "sales/single/";
/// The most batches of one store and day a file replaces (the rest stay counted).
const MAX_BATCHES_PER_DAY: usize = 10_000;
/// The `sha256` of a batch a file replaced starts with this.
const REPLACED: &str = "replaced:";

/// One line of a single sale: the columns of a sales file (`docs/sales.md`), each
/// value as text or a JSON number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SaleLine {
    /// The store.
    #[serde(deserialize_with = "text")]
    pub store_id: String,
    /// The day: `2026-11-23` or `23/11/2026`.
    #[serde(deserialize_with = "text")]
    pub sale_date: String,
    /// The receipt, if any.
    #[serde(default, deserialize_with = "some_text")]
    pub receipt_id: Option<String>,
    /// The product code.
    #[serde(deserialize_with = "text")]
    pub sku: String,
    /// The product name, if any.
    #[serde(default, deserialize_with = "some_text")]
    pub product_name: Option<String>,
    /// The quantity (up to 3 decimals), text or a JSON number.
    #[serde(deserialize_with = "text")]
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value, example = 2))]
    pub quantity: String,
    /// The price of one unit (up to 2 decimals), text or a JSON number.
    #[serde(deserialize_with = "text")]
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value, example = "4.99"))]
    pub unit_price: String,
    /// The line's total, if given: quantity x unit price within one cent.
    #[serde(default, deserialize_with = "some_text")]
    pub total: Option<String>,
}

impl SaleLine {
    /// A line with the required values.
    pub fn new(
        store_id: &str,
        sale_date: &str,
        sku: &str,
        quantity: &str,
        unit_price: &str,
    ) -> Self {
        Self {
            store_id: store_id.into(),
            sale_date: sale_date.into(),
            sku: sku.into(),
            quantity: quantity.into(),
            unit_price: unit_price.into(),
            ..Self::default()
        }
    }
}

/// A JSON string as it is, a number as decimal text that the file rules read as
/// the number: `1.234` gets a trailing zero (`1.2340`), so a price never reads it
/// as 1,234 (a file's thousands separator) but refuses its third decimal.
fn number_text(v: TextOrNumber) -> String {
    match v {
        TextOrNumber::Text(s) => s,
        TextOrNumber::Number(n) => {
            let s = n.to_string();
            match s.split_once('.') {
                Some((_, frac)) if frac.len() == 3 => s + "0",
                _ => s,
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(serde_json::Number),
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    TextOrNumber::deserialize(d).map(number_text)
}

fn some_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<TextOrNumber>::deserialize(d).map(|v| v.map(number_text))
}

fn invalid(field: String, code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(ValidationError::field(&field, code, message))
}

/// 1 to 64 characters of `A-Z a-z 0-9 _ - .` (a UUID fits).
fn check_key(key: &str) -> Result<(), ServiceError> {
    if crate::domain::is_identifier(key, MAX_IDEMPOTENCY_KEY_CHARS) && key != "." && key != ".." {
        Ok(())
    } else {
        Err(invalid(
            "Idempotency-Key".into(),
            "bad-idempotency-key",
            format!(
                "must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters among A-Z a-z 0-9 _ - . (a UUID)"
            ),
        ))
    }
}

/// The batch as a sales file: KCL's header and the lines, plus the key as an
/// ignored column (so two keys never share a content).
fn batch_csv(key: &str, lines: &[SaleLine]) -> Result<Vec<u8>, ServiceError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| ServiceError::Internal(Box::new(e));
    w.write_record([
        "store_id",
        "sale_date",
        "receipt_id",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
        "total",
        "idempotency_key",
    ])
    .map_err(io)?;
    for l in lines {
        w.write_record([
            l.store_id.as_str(),
            &l.sale_date,
            l.receipt_id.as_deref().unwrap_or(""),
            &l.sku,
            l.product_name.as_deref().unwrap_or(""),
            &l.quantity,
            &l.unit_price,
            l.total.as_deref().unwrap_or(""),
            key,
        ])
        .map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| ServiceError::Internal(Box::new(e.into_error())))
}

impl SalesService {
    /// Records single sales as they happen: `lines` (1 to [`MAX_SALE_LINES`]) of one
    /// store and day, under the client's idempotency `key`.
    ///
    /// - Each line is checked by the rules of a file's rows (`docs/sales.md`); any
    ///   bad line refuses the batch (422, the errors named `sales[i].column`), and
    ///   nothing is stored.
    /// - The batch is loaded as a file named `sales/single/{store}/{day}/{key}`:
    ///   stock and the day's totals move at once.
    /// - The same key with the same lines again changes nothing (`duplicate`, the
    ///   first load's id): a retry is safe. The same key with other lines is
    ///   refused (`idempotency-key-reused`).
    /// - A sales file loaded later with rows of that store and day replaces its single
    ///   sales (the file is the day's record): they are taken out, stock given back,
    ///   so nothing is counted twice. Single sales recorded after that file count on
    ///   top of it until a file for the day is loaded again.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// use kcl_core::memory::MemoryBackend;
    /// use kcl_core::services::{IngestStatus, SaleLine};
    ///
    /// let services = MemoryBackend::new().services();
    /// let sale = [SaleLine::new("S1", "2026-11-23", "789", "2", "1.50")];
    /// let first = services.sales.record_sales("c0ffee-1", &sale).await.unwrap();
    /// assert_eq!(first.status, IngestStatus::Loaded);
    /// assert_eq!(services.sales.stock("789").await.unwrap().quantity.to_string(), "-2.000");
    /// let retry = services.sales.record_sales("c0ffee-1", &sale).await.unwrap();
    /// assert_eq!(retry.status, IngestStatus::Duplicate);
    /// let other = [SaleLine::new("S1", "2026-11-23", "789", "3", "1.50")];
    /// let e = services.sales.record_sales("c0ffee-1", &other).await.unwrap_err();
    /// assert_eq!(e.code(), "validation-failed");
    /// # });
    /// ```
    pub async fn record_sales(
        &self,
        key: &str,
        lines: &[SaleLine],
    ) -> Result<IngestReport, ServiceError> {
        check_key(key)?;
        if lines.is_empty() || lines.len() > MAX_SALE_LINES {
            return Err(invalid(
                "sales".into(),
                "bad-batch",
                format!("send 1 to {MAX_SALE_LINES} lines"),
            ));
        }
        let csv = batch_csv(key, lines)?;
        // The rows' rules first, in memory: a bad line refuses the batch here, named
        // by its index, before anything is stored.
        let today = self.clock.now().date_naive();
        let mut reader = SalesReader::new(&csv[..], ValidateOptions::new(today))
            .map_err(|e| invalid("sales".into(), e.code(), e.to_string()))?;
        let mut errors = Vec::new();
        let mut days = BTreeSet::new();
        for item in &mut reader {
            match item.map_err(|e| invalid("sales".into(), e.code(), e.to_string()))? {
                Ok(row) => {
                    days.insert(StoreDay {
                        store_id: row.store_id,
                        date: row.sale_date,
                    });
                }
                Err(e) => {
                    let i = e.line.saturating_sub(2);
                    let field = match e.column {
                        Some(c) => format!("sales[{i}].{c}"),
                        None => format!("sales[{i}]"),
                    };
                    errors.push(crate::domain::FieldError {
                        field,
                        code: e.code,
                        message: e.message,
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(ValidationError { errors }));
        }
        let day = match days.len() {
            1 => days.pop_first().unwrap_or_else(|| unreachable!("one day")),
            _ => {
                return Err(invalid(
                    "sales".into(),
                    "mixed-store-day",
                    "the lines of one batch must be of one store and one day",
                ))
            }
        };
        if day.store_id.trim_matches('.').is_empty() {
            return Err(invalid(
                "sales[0].store_id".into(),
                "bad-format",
                "must hold a character other than `.`",
            ));
        }
        let name = format!("{SINGLE_SALES_PREFIX}{}/{}/{key}", day.store_id, day.date);
        let sha = hex::encode(Sha256::digest(&csv));
        if let Some(current) = self
            .repo
            .current_file(&name)
            .await
            .map_err(ServiceError::from)?
        {
            if let Some(original) = current.sha256.strip_prefix(REPLACED) {
                return Err(if original == sha {
                    ServiceError::Conflict {
                        code: "sales-replaced",
                        message: format!(
                            "these sales were recorded, then replaced by a file for store {} on {}",
                            day.store_id, day.date
                        ),
                    }
                } else {
                    reused()
                });
            }
            if current.sha256 != sha {
                return Err(reused());
            }
        }
        let blob = BlobKey::parse(&name).map_err(ServiceError::Invalid)?;
        self.blobs
            .put(&blob, bytes::Bytes::from(csv), "text/csv")
            .await
            .map_err(ServiceError::from)?;
        let opts = IngestOptions {
            policy: IngestPolicy::Strict,
            progress: None,
            format: Some(SalesFormat::default()),
        };
        // A batch that fails to load leaves its object (a retry writes it again; a
        // file of its day skips a batch never loaded): removing it here could race
        // a retry whose load is committing.
        let report = self
            .load_object(self.blobs.as_ref(), &blob, &name, opts)
            .await?;
        if report.sha256 != sha {
            // Another request with this key and other lines wrote the object first.
            return Err(reused());
        }
        Ok(report)
    }

    /// Takes out the single sales of these store-days recorded at or before
    /// `loaded_at` (a file for them was loaded then): each batch is replaced by an
    /// empty version of its name, in one transaction that gives its stock back, and
    /// its object is removed. Returns the store-days whose totals changed; failures
    /// are warnings (ingesting the file again repeats this).
    pub(super) async fn replace_single_sales(
        &self,
        days: &[StoreDay],
        loaded_at: chrono::DateTime<chrono::Utc>,
        report: &mut IngestReport,
    ) -> Vec<StoreDay> {
        let mut changed = BTreeSet::new();
        for day in days {
            let prefix = format!("{SINGLE_SALES_PREFIX}{}/{}/", day.store_id, day.date);
            let batches = match self.blobs.list(&prefix, MAX_BATCHES_PER_DAY).await {
                Ok(b) => b,
                Err(e) => {
                    report
                        .warnings
                        .push(format!("single sales of {prefix} not replaced: {e}"));
                    continue;
                }
            };
            if batches.len() >= MAX_BATCHES_PER_DAY {
                report.warnings.push(format!(
                    "{prefix} holds {MAX_BATCHES_PER_DAY} or more batches of single sales: \
                     ingest the file again to replace the rest"
                ));
            }
            for batch in batches {
                match self.replace_batch(&batch.key, loaded_at).await {
                    Ok(Some(days)) => {
                        report.single_sales_replaced += 1;
                        changed.extend(days);
                    }
                    Ok(None) => {}
                    Err(e) => report.warnings.push(format!(
                        "single sales {} not replaced: {e}",
                        batch.key.as_str()
                    )),
                }
            }
        }
        changed.into_iter().collect()
    }

    /// Replaces one batch loaded at or before `loaded_at`; `None` when there was
    /// none to replace (never loaded, or loaded after the file).
    async fn replace_batch(
        &self,
        key: &BlobKey,
        loaded_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Vec<StoreDay>>, ServiceError> {
        let name = key.as_str();
        let current = match self
            .repo
            .current_file(name)
            .await
            .map_err(ServiceError::from)?
        {
            // Never loaded, or still loading: its object stays for that load.
            None => return Ok(None),
            // Recorded after the file: it counts on top of it.
            Some(c) if c.loaded_at > loaded_at => return Ok(None),
            Some(c) => c,
        };
        let mut days = Vec::new();
        if !current.sha256.starts_with(REPLACED) {
            let file = SalesFile {
                id: self.ids.new_id(),
                name: name.to_owned(),
                sha256: format!("{REPLACED}{}", current.sha256),
                rows: 0,
                loaded_at: self.clock.now(),
            };
            let spools = self.spools.clone();
            let id = file.id;
            let empty: Arc<dyn RowSpool> =
                tokio::task::spawn_blocking(move || spools.create(id)?.finish())
                    .await
                    .map_err(|e| ServiceError::Internal(Box::new(e)))?
                    .map_err(super::io_error)?;
            let event = self.ingested_event(&file, 0);
            if let LoadOutcome::Loaded { days: d, .. } = self
                .repo
                .load(&file, empty.as_ref(), &event)
                .await
                .map_err(ServiceError::from)?
            {
                days = d;
            }
        }
        self.blobs.delete(key).await.map_err(ServiceError::from)?;
        Ok(Some(days))
    }
}

fn reused() -> ServiceError {
    invalid(
        "Idempotency-Key".into(),
        "idempotency-key-reused",
        "this key was used for other sales: send each batch with a key of its own",
    )
}
