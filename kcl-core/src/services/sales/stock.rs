//! Stock: a SKU's level, and changes through the API (audited).

use super::{check_id, SalesService};
use crate::domain::{AuditAction, EntityKind, EntityRef, StockChange, StockLevel, ValidationError};
use crate::services::journal::Touched;
use crate::services::ServiceError;

impl SalesService {
    /// A SKU's stock.
    pub async fn stock(&self, sku: &str) -> Result<StockLevel, ServiceError> {
        check_id("sku", sku)?;
        self.repo
            .stock(sku)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "stock",
                id: sku.to_owned(),
            })
    }

    /// Sets or adds to a SKU's stock.
    pub async fn change_stock(
        &self,
        sku: &str,
        change: StockChange,
    ) -> Result<StockLevel, ServiceError> {
        check_id("sku", sku)?;
        let q = match change {
            StockChange::Set(q) | StockChange::Receive(q) => q.thousandths(),
        };
        if !(0..=1_000_000_000_000).contains(&q) {
            return Err(ValidationError::field(
                "quantity",
                "out-of-range",
                "must be between 0 and 1,000,000,000",
            )
            .into());
        }
        let (what, qty) = match change {
            StockChange::Set(q) => ("set", q),
            StockChange::Receive(q) => ("received", q),
        };
        // The store adds `on_hand`, the level the change left.
        let event = self.journal.event(
            AuditAction::Updated,
            EntityRef {
                kind: EntityKind::Stock,
                id: sku.to_owned(),
            },
            &serde_json::json!({ "change": what, "quantity": qty.to_string() }),
        );
        let level = self
            .repo
            .change_stock(sku, change, self.clock.now(), &event)
            .await
            .map_err(ServiceError::from)?;
        self.journal.committed(Touched::Sales).await;
        Ok(level)
    }
}
