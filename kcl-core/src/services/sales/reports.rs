//! Sales reports: a period's lines rendered by a [`ReportWriter`] (CSV here, PDF
//! from `Ports::pdf_reports`) and written to the reports store.

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;

use super::{check_id, ReportFormat, ReportWritten, SalesService};
use crate::domain::{write_csv_report, Locale, ReportLine, ReportMeta, SalesKey, ValidationError};
use crate::ports::{BlobKey, ReportError, ReportWriter};
use crate::services::ServiceError;

/// The CSV [`ReportWriter`]: [`write_csv_report`] (formula-safe cells). It stays in
/// core: plain text through the `csv` crate core already uses to read sales files.
///
/// ```
/// use kcl_core::ports::ReportWriter;
/// let csv = kcl_core::services::CsvReports;
/// assert_eq!((csv.extension(), csv.media_type()), ("csv", "text/csv; charset=utf-8"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvReports;

impl ReportWriter for CsvReports {
    fn extension(&self) -> &'static str {
        "csv"
    }

    fn media_type(&self) -> &'static str {
        "text/csv; charset=utf-8"
    }

    fn render(&self, meta: &ReportMeta, lines: &[ReportLine]) -> Result<Bytes, ReportError> {
        let mut out = Vec::new();
        write_csv_report(meta, lines, &mut out).map_err(|e| ReportError::Internal(Box::new(e)))?;
        Ok(Bytes::from(out))
    }
}

impl SalesService {
    /// Writes a sales report of a period to the reports store, under
    /// `reports/sales-{from}-{to}[-{store}]-{id}.{csv|pdf}`.
    pub async fn write_report(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        format: ReportFormat,
    ) -> Result<ReportWritten, ServiceError> {
        let locale = self.settings.locale;
        self.write_report_under(from, to, store, format, locale, None)
            .await
    }

    /// [`write_report`](Self::write_report) in `locale` (its numbers and dates; a
    /// pt-BR CSV is what a Brazilian spreadsheet opens as it is) instead of
    /// [`SalesSettings::locale`](super::SalesSettings::locale).
    pub async fn write_report_in(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        format: ReportFormat,
        locale: Locale,
    ) -> Result<ReportWritten, ServiceError> {
        self.write_report_under(from, to, store, format, locale, None)
            .await
    }

    /// [`write_report`](Self::write_report) under `key` (a scheduled report's
    /// fixed name), or a new unique key when `None`.
    pub(super) async fn write_report_under(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        format: ReportFormat,
        locale: Locale,
        key: Option<BlobKey>,
    ) -> Result<ReportWritten, ServiceError> {
        if from > to {
            return Err(
                ValidationError::field("from", "bad-range", "must not be after `to`").into(),
            );
        }
        if let Some(s) = store {
            check_id("store", s)?;
        }
        let writer = match format {
            ReportFormat::Csv => self.csv.clone(),
            ReportFormat::Pdf => self.pdf.clone().ok_or_else(|| {
                ServiceError::NotEnabled(
                    "PDF reports need the `pdf` feature (cargo ... --features pdf); CSV works"
                        .into(),
                )
            })?,
        };
        let max = self.settings.report_max_lines;
        let position = self.journal.sales_position().await;
        let read = self
            .repo
            .report_lines(from, to, store, max.saturating_add(1));
        let mut lines = crate::context::with_read_position(position, read)
            .await
            .map_err(ServiceError::from)?;
        let truncated = lines.len() > max as usize;
        lines.truncate(max as usize);
        let meta = ReportMeta {
            from,
            to,
            store: store.map(str::to_owned),
            generated_at: self.clock.now(),
            truncated,
            locale,
        };
        let count = lines.len();
        let bytes = render(writer.clone(), meta, lines).await?;
        let ext = writer.extension();
        let key = key.unwrap_or_else(|| SalesKey::report(from, to, store, self.ids.new_id(), ext));
        self.reports
            .put(&key, bytes, writer.media_type())
            .await
            .map_err(ServiceError::from)?;
        let url = self
            .reports
            .presigned_get(&key, std::time::Duration::from_secs(3600))
            .await
            .map_err(ServiceError::from)?;
        Ok(ReportWritten {
            key: key.as_str().to_owned(),
            url,
            lines: count,
            truncated,
            format: ext,
        })
    }

    /// Reads a report back (to serve it where the store has no presigned URLs).
    pub async fn report(&self, key: &str) -> Result<crate::ports::Blob, ServiceError> {
        if !SalesKey::is_report(key) {
            return Err(ServiceError::NotFound {
                entity: "report",
                id: key.to_owned(),
            });
        }
        let k = BlobKey::parse(key)?;
        self.reports.get(&k).await.map_err(ServiceError::from)
    }
}

/// Renders on a blocking thread: a long report's layout is CPU work.
async fn render(
    writer: Arc<dyn ReportWriter>,
    meta: ReportMeta,
    lines: Vec<ReportLine>,
) -> Result<Bytes, ServiceError> {
    tokio::task::spawn_blocking(move || writer.render(&meta, &lines))
        .await
        .map_err(|e| ServiceError::Internal(Box::new(e)))?
        .map_err(ServiceError::from)
}
