//! Reads: a file's current version, summaries, daily totals and a file's history.

use chrono::NaiveDate;

use super::{check_id, SalesService};
use crate::domain::{
    AuditEvent, DayTotals, EntityKind, EntityRef, SalesFile, SummaryQuery, SummaryRow,
    ValidationError,
};
use crate::services::ServiceError;

impl SalesService {
    /// The current version of a file name.
    pub async fn file(&self, name: &str) -> Result<SalesFile, ServiceError> {
        self.repo
            .current_file(name)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "sales file",
                id: name.to_owned(),
            })
    }

    /// Sales grouped by day, store or SKU.
    pub async fn summary(&self, query: &SummaryQuery) -> Result<Vec<SummaryRow>, ServiceError> {
        if let (Some(f), Some(t)) = (query.from, query.to) {
            if f > t {
                return Err(
                    ValidationError::field("from", "bad-range", "must not be after `to`").into(),
                );
            }
        }
        for (field, v) in [("store", &query.store), ("sku", &query.sku)] {
            if let Some(v) = v {
                check_id(field, v)?;
            }
        }
        let position = self.journal.sales_position().await;
        crate::context::with_read_position(position, self.repo.summary(query))
            .await
            .map_err(ServiceError::from)
    }

    /// A store's daily totals (kept in the daily totals store).
    pub async fn daily(
        &self,
        store: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayTotals>, ServiceError> {
        check_id("store", store)?;
        if from > to {
            return Err(
                ValidationError::field("from", "bad-range", "must not be after `to`").into(),
            );
        }
        if (to - from).num_days() > 3660 {
            return Err(
                ValidationError::field("to", "bad-range", "at most ten years at once").into(),
            );
        }
        self.days
            .range(store, from, to)
            .await
            .map_err(ServiceError::from)
    }

    /// A file name's audit history (its loads), oldest first.
    pub async fn history(&self, name: &str, limit: u32) -> Result<Vec<AuditEvent>, ServiceError> {
        let entity = EntityRef {
            kind: EntityKind::SalesFile,
            id: name.to_owned(),
        };
        self.journal.history(&entity, limit).await
    }
}
