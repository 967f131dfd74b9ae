//! One sales line: a valid row and why a row was rejected.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::Money;

/// A quantity sold, exact to the thousandth (goods sold by weight). Positive in a
/// valid row.
///
/// ```
/// use kcl_core::domain::Quantity;
/// let q = Quantity::from_thousandths(1_250);
/// assert_eq!(q.to_string(), "1.250");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(pub(super) i64);

impl Quantity {
    /// From a count of thousandths of a unit.
    pub fn from_thousandths(thousandths: i64) -> Self {
        Self(thousandths)
    }

    /// The quantity in thousandths of a unit.
    pub fn thousandths(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03}", a / 1000, a % 1000)
    }
}

/// One valid line of a sales file: one item sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesRow {
    /// The store (`store_id` / `loja`).
    pub store_id: String,
    /// The day of the sale (`sale_date` / `data`).
    pub sale_date: NaiveDate,
    /// The receipt the line belongs to (`receipt_id` / `cupom`), when given.
    pub receipt_id: Option<String>,
    /// The product code (`sku` / `codigo`).
    pub sku: String,
    /// The product name (`product_name` / `produto`), when given. Plain text: never
    /// interpreted, possibly starting with `=`.
    pub product_name: Option<String>,
    /// The quantity sold (`quantity` / `quantidade`), > 0.
    pub quantity: Quantity,
    /// The price of one unit (`unit_price` / `preco_unitario`).
    pub unit_price: Money,
    /// The line total as given (`total`), when given, rounded to the cent; checked
    /// against quantity x unit price (plus the file's tax rate) within one cent.
    pub total: Option<Money>,
    /// The tax the line's revenue includes, in cents: 0 unless the file was read
    /// with a tax rate ([`SalesFormat`](super::SalesFormat)).
    pub tax_cents: i64,
    /// The line of the file where the record starts (the header is line 1).
    pub line: u64,
}

impl SalesRow {
    /// The line's revenue in cents, tax included: `total` when given, else quantity
    /// x unit price rounded half up to the cent, plus the tax.
    pub fn revenue_cents(&self) -> i64 {
        match self.total {
            Some(t) => t.cents(),
            None => line_cents(self.quantity, self.unit_price).saturating_add(self.tax_cents),
        }
    }
}

pub(super) fn line_cents(q: Quantity, p: Money) -> i64 {
    let milli = i128::from(q.thousandths()) * i128::from(p.cents());
    i64::try_from((milli + 500).div_euclid(1000)).unwrap_or(i64::MAX)
}

/// Why one data row was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    /// The line of the file where the record starts (the header is line 1).
    pub line: u64,
    /// The canonical name of the offending column (`quantity`, ...), if one.
    pub column: Option<&'static str>,
    /// A stable kebab-case code (see `docs/sales.md`), such as `bad-date`.
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
    /// The record as read, re-encoded as one CSV line with the file's delimiter
    /// (at most [`MAX_RAW_CHARS`](super::MAX_RAW_CHARS) characters), for a rejected-rows file.
    pub raw: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "line {}: {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for RowError {}
