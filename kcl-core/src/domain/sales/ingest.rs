//! Types of loading sales files: what a load did, and what queries return (the
//! normalised row spool handed to a [`SalesRepo`](crate::ports::SalesRepo) is
//! [`RowSpool`](crate::ports::RowSpool), a file, beside the port).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Quantity;

/// What to do with a file that has rejected rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum IngestPolicy {
    /// Any rejected row refuses the whole file: nothing is loaded.
    Strict,
    /// Load the valid rows; write the rejected ones, with their reasons, to
    /// `sales/rejected/...`. The default.
    #[default]
    Lenient,
}

impl IngestPolicy {
    /// Parses `strict` or `lenient`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" => Some(Self::Strict),
            "lenient" => Some(Self::Lenient),
            _ => None,
        }
    }

    /// `strict` or `lenient`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Lenient => "lenient",
        }
    }
}

/// One loaded file (a version of a name), as recorded by the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesFile {
    /// The id of this load.
    pub id: Uuid,
    /// The file's name: its object key, or the name it was uploaded under.
    pub name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Rows loaded from it.
    pub rows: u64,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
}

/// A store and a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoreDay {
    /// The store.
    pub store_id: String,
    /// The day.
    pub date: NaiveDate,
}

/// What [`SalesRepo::load`](crate::ports::SalesRepo::load) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    /// The rows were loaded (and an earlier version of the same name replaced).
    Loaded {
        /// Rows inserted.
        rows: u64,
        /// The earlier version of this name that the load replaced: its rows were
        /// deleted and its quantities given back to stock, in the same transaction.
        replaced: Option<SalesFile>,
        /// Every store and day whose totals changed (the new rows' and the replaced
        /// version's), sorted.
        days: Vec<StoreDay>,
    },
    /// A loaded file has the same content: nothing changed.
    Duplicate(SalesFile),
}

/// Lines, quantity and revenue of one store on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotals {
    /// The store.
    pub store_id: String,
    /// The day.
    pub date: NaiveDate,
    /// Lines sold.
    pub lines: u64,
    /// Quantity sold, in thousandths.
    pub quantity: Quantity,
    /// Revenue in cents, tax included.
    pub revenue_cents: i64,
    /// The tax the revenue includes, in cents (from files read with a tax rate);
    /// revenue before tax is `revenue_cents - tax_cents`.
    #[serde(default)]
    pub tax_cents: i64,
}

/// How [`SummaryQuery`] groups rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One row per day.
    #[default]
    Day,
    /// One row per store.
    Store,
    /// One row per SKU.
    Sku,
}

impl GroupBy {
    /// Parses `day`, `store` or `sku`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "store" => Some(Self::Store),
            "sku" => Some(Self::Sku),
            _ => None,
        }
    }

    /// `day`, `store` or `sku`.
    ///
    /// ```
    /// use kcl_core::domain::GroupBy;
    /// assert_eq!(GroupBy::parse(GroupBy::Store.as_str()), Some(GroupBy::Store));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Store => "store",
            Self::Sku => "sku",
        }
    }
}

/// A sales query: filters (all optional, dates inclusive) and a grouping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SummaryQuery {
    /// First day included.
    pub from: Option<NaiveDate>,
    /// Last day included.
    pub to: Option<NaiveDate>,
    /// Only this store.
    pub store: Option<String>,
    /// Only this SKU.
    pub sku: Option<String>,
    /// The grouping.
    pub group_by: GroupBy,
}

/// One row of a summary: the group's key (an ISO date, a store id or a SKU) and
/// its totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    /// The group: `2026-11-23`, a store id or a SKU.
    pub key: String,
    /// Lines sold.
    pub lines: u64,
    /// Quantity sold.
    pub quantity: Quantity,
    /// Revenue in cents, tax included.
    pub revenue_cents: i64,
    /// The tax the revenue includes, in cents (from files read with a tax rate);
    /// revenue before tax is `revenue_cents - tax_cents`.
    #[serde(default)]
    pub tax_cents: i64,
}

/// One line of a sales report: a store's sales of one SKU on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    /// The day.
    pub date: NaiveDate,
    /// The store.
    pub store_id: String,
    /// The SKU.
    pub sku: String,
    /// A product name seen for the SKU (plain text, possibly starting with `=`).
    pub product_name: Option<String>,
    /// Lines sold.
    pub lines: u64,
    /// Quantity sold.
    pub quantity: Quantity,
    /// Revenue in cents, tax included.
    pub revenue_cents: i64,
    /// The tax the revenue includes, in cents (from files read with a tax rate);
    /// revenue before tax is `revenue_cents - tax_cents`.
    #[serde(default)]
    pub tax_cents: i64,
}

/// A SKU's stock on hand, in thousandths; negative when more was sold than was
/// received or set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    /// The SKU.
    pub sku: String,
    /// Quantity on hand.
    pub quantity: Quantity,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A change of stock through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Set the quantity on hand (a count).
    Set(Quantity),
    /// Add a received quantity.
    Receive(Quantity),
}
