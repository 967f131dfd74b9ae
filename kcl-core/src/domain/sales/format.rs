//! How to read a file that does not follow KCL's own column names and date order:
//! a column mapping, a date order and a tax rate ([`SalesFormat`]), and named
//! formats chosen by object key ([`SalesProfiles`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::reader::{Col, COLS};

/// How the day and month of a date written with slashes are ordered. ISO dates
/// (`2026-11-23`) read the same under every order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day first: `23/11/2026` (KCL's default).
    Dmy,
    /// Month first: `11/23/2026`.
    Mdy,
    /// Year first: `2026/11/23`.
    Ymd,
}

impl DateOrder {
    /// Parses `dmy`, `mdy` or `ymd` (any case).
    ///
    /// ```
    /// use kcl_core::domain::DateOrder;
    /// assert_eq!(DateOrder::parse("MDY"), Some(DateOrder::Mdy));
    /// assert_eq!(DateOrder::parse("m/d/y"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dmy" => Some(Self::Dmy),
            "mdy" => Some(Self::Mdy),
            "ymd" => Some(Self::Ymd),
            _ => None,
        }
    }

    /// `dmy`, `mdy` or `ymd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dmy => "dmy",
            Self::Mdy => "mdy",
            Self::Ymd => "ymd",
        }
    }
}

impl fmt::Display for DateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tax rate included in a file's `total` column, in hundredths of a percent
/// (basis points), from 0 to 100 %.
///
/// ```
/// use kcl_core::domain::TaxRate;
/// assert_eq!(TaxRate::parse("5").unwrap().basis_points(), 500);
/// assert_eq!(TaxRate::parse("12,5%").unwrap().to_string(), "12.5%");
/// assert!(TaxRate::parse("101").is_none());
/// assert!(TaxRate::parse("0.125").is_none()); // hundredths of a percent at most
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaxRate(u32);

impl TaxRate {
    /// The largest rate: 100 %.
    pub const MAX_BASIS_POINTS: u32 = 10_000;

    /// A rate in hundredths of a percent; `None` over 100 %.
    pub fn from_basis_points(bp: u32) -> Option<Self> {
        (bp <= Self::MAX_BASIS_POINTS).then_some(Self(bp))
    }

    /// Parses a percentage such as `5`, `5.5`, `12,5` or `5%` (at most two
    /// decimals, 0 to 100).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_suffix('%').unwrap_or(s).trim_end();
        let bp =
            super::fields::parse_decimal(s, 2, false, i64::from(Self::MAX_BASIS_POINTS)).ok()?;
        u32::try_from(bp).ok().and_then(Self::from_basis_points)
    }

    /// The rate in hundredths of a percent (5 % is 500).
    pub fn basis_points(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        if frac == 0 {
            write!(f, "{whole}%")
        } else if frac % 10 == 0 {
            write!(f, "{whole}.{}%", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}%")
        }
    }
}

/// Which header of the file holds each of KCL's columns, for the columns whose
/// header is not KCL's name or its Portuguese alias (`docs/sales.md`).
///
/// One header may feed several columns (`sku:Product line,product_name:Product line`).
/// Headers are matched ignoring case, accents and surrounding blanks.
///
/// ```
/// use kcl_core::domain::ColumnMapping;
/// let m = ColumnMapping::parse("store_id:Branch, sku:Product line,sale_date:Date").unwrap();
/// assert_eq!(m.source("store_id"), Some("Branch"));
/// assert_eq!(m.to_string(), "store_id:Branch,sale_date:Date,sku:Product line");
/// assert!(ColumnMapping::parse("shop:Branch").is_err()); // not a column of KCL's
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ColumnMapping {
    /// The source header of each canonical column, indexed like `COLS`.
    sources: [Option<String>; 8],
}

/// The longest header a mapping may name, in characters.
const MAX_HEADER_CHARS: usize = 128;

impl ColumnMapping {
    /// Parses `column:Header,column:Header,...` (KCL's column names or their
    /// Portuguese aliases on the left). Empty text is the empty mapping.
    pub fn parse(s: &str) -> Result<Self, SalesFormatError> {
        let mut m = Self::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((col, header)) = pair.split_once(':') else {
                return Err(SalesFormatError::columns(format!(
                    "`{pair}` is not `column:Header`"
                )));
            };
            m.set(col, header)?;
        }
        Ok(m)
    }

    /// Maps `column` (a KCL column name or its alias) to the header `header`.
    pub fn set(&mut self, column: &str, header: &str) -> Result<(), SalesFormatError> {
        let Some(col) = Col::from_name(column.trim()) else {
            return Err(SalesFormatError::columns(format!(
                "`{}` is not a column of the sales format (one of {})",
                column.trim(),
                COLS.map(Col::name).join(", ")
            )));
        };
        let header = header.trim();
        if header.is_empty()
            || header.chars().count() > MAX_HEADER_CHARS
            || header.chars().any(char::is_control)
        {
            return Err(SalesFormatError::columns(format!(
                "the header for {} must be 1 to {MAX_HEADER_CHARS} characters of text",
                col.name()
            )));
        }
        let slot = &mut self.sources[col as usize];
        if slot.is_some() {
            return Err(SalesFormatError::columns(format!(
                "{} is mapped twice",
                col.name()
            )));
        }
        *slot = Some(header.to_owned());
        Ok(())
    }

    /// The header mapped to `column` (a KCL column name), if any.
    pub fn source(&self, column: &str) -> Option<&str> {
        Col::from_name(column).and_then(|c| self.sources[c as usize].as_deref())
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.sources.iter().all(Option::is_none)
    }

    pub(super) fn of(&self, col: Col) -> Option<&str> {
        self.sources[col as usize].as_deref()
    }
}

impl fmt::Display for ColumnMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for col in COLS {
            if let Some(h) = &self.sources[col as usize] {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                write!(f, "{}:{h}", col.name())?;
            }
        }
        Ok(())
    }
}

/// How to read a file: its column mapping, its date order and the tax rate its
/// totals include. The default reads KCL's own format (day-first dates, totals
/// without tax).
///
/// - With a mapping, spaces inside a store id or SKU read from a mapped column
///   become `-` (`Health and beauty` → `Health-and-beauty`): point-of-sale exports
///   often use names as codes. Columns the file has beyond the mapped ones are
///   listed in the summary's `ignored_columns`, never errors.
/// - Without a date order, dates read day first, except when the mapping names
///   the `sale_date` column: then the first date whose day and month cannot be
///   swapped decides the order, and a file whose date reads both ways before that
///   is refused (`ambiguous-date-order`).
/// - With a tax rate, a row's `total` must equal quantity × unit price plus the
///   rate within one cent, and may carry up to four decimals (rounded half up to
///   the cent); the row's tax is `total` minus quantity × unit price.
///
/// ```
/// use kcl_core::domain::{DateOrder, SalesFormat};
/// let f = SalesFormat::parse(Some("store_id:Branch"), Some("mdy"), Some("5")).unwrap();
/// assert_eq!(f.date_order, Some(DateOrder::Mdy));
/// assert_eq!(f.tax_rate.unwrap().basis_points(), 500);
/// let e = SalesFormat::parse(None, Some("ydm"), None).unwrap_err();
/// assert_eq!((e.field, e.code), ("date_order", "bad-date-order"));
/// assert!(SalesFormat::default().is_default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SalesFormat {
    /// Which header holds which column.
    pub columns: ColumnMapping,
    /// The date order (`None`: day first, or inferred under a mapping).
    pub date_order: Option<DateOrder>,
    /// The tax rate `total` includes, if any.
    pub tax_rate: Option<TaxRate>,
}

impl SalesFormat {
    /// Parses the three settings as a form or a command line gives them (an
    /// empty value is no value).
    pub fn parse(
        columns: Option<&str>,
        date_order: Option<&str>,
        tax_rate: Option<&str>,
    ) -> Result<Self, SalesFormatError> {
        Ok(Self {
            columns: some(columns).map_or(Ok(ColumnMapping::default()), ColumnMapping::parse)?,
            date_order: some(date_order)
                .map(|d| DateOrder::parse(d).ok_or_else(|| SalesFormatError::date_order(d)))
                .transpose()?,
            tax_rate: some(tax_rate)
                .map(|t| TaxRate::parse(t).ok_or_else(|| SalesFormatError::tax_rate(t)))
                .transpose()?,
        })
    }

    /// True for KCL's own format.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Why a column mapping, date order or tax rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
#[non_exhaustive]
pub struct SalesFormatError {
    /// The setting: `columns`, `date_order`, `tax_rate` or `profiles`.
    pub field: &'static str,
    /// `bad-columns`, `bad-date-order`, `bad-tax-rate` or `bad-profile`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl SalesFormatError {
    fn columns(message: String) -> Self {
        Self {
            field: "columns",
            code: "bad-columns",
            message,
        }
    }

    fn date_order(given: &str) -> Self {
        Self {
            field: "date_order",
            code: "bad-date-order",
            message: format!(
                "`{}` is not a date order: dmy, mdy or ymd",
                given.chars().take(32).collect::<String>()
            ),
        }
    }

    fn tax_rate(given: &str) -> Self {
        Self {
            field: "tax_rate",
            code: "bad-tax-rate",
            message: format!(
                "`{}` is not a tax rate: a percentage from 0 to 100 with at most two decimals, such as 5 or 12.5",
                given.chars().take(32).collect::<String>()
            ),
        }
    }

    fn profile(name: &str, inner: &SalesFormatError) -> Self {
        Self {
            field: "profiles",
            code: "bad-profile",
            message: format!("profile `{name}`: {}: {}", inner.field, inner.message),
        }
    }
}

/// One named format of [`SalesProfiles`], as written in its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesProfileSpec {
    /// The object key prefix whose files use this format (`sales/incoming/branch-a/`).
    pub prefix: String,
    /// KCL column → the file's header.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// `dmy`, `mdy` or `ymd`.
    #[serde(default)]
    pub date_order: Option<String>,
    /// A percentage, as a number or text (`5`, `"12,5"`).
    #[serde(default)]
    pub tax_rate: Option<TaxRateSpec>,
}

/// A tax rate in a profile file: a number or text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TaxRateSpec {
    /// `tax_rate = 5` or `tax_rate = 12.5`.
    Number(f64),
    /// `tax_rate = "12,5"`.
    Text(String),
}

/// One named format chosen by key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesProfile {
    /// The profile's name (its table in the file).
    pub name: String,
    /// The key prefix it applies to.
    pub prefix: String,
    /// How its files are read.
    pub format: SalesFormat,
}

/// Named formats for files that arrive in a bucket (`KCL_SALES_PROFILES`): a file
/// is read with the format of the profile whose prefix is the longest prefix of its
/// key, or KCL's own format when none matches.
///
/// ```
/// use std::collections::BTreeMap;
/// use kcl_core::domain::{DateOrder, SalesProfileSpec, SalesProfiles};
///
/// let spec: SalesProfileSpec = serde_json::from_value(serde_json::json!({
///     "prefix": "sales/incoming/kaggle/",
///     "columns": {"store_id": "Branch", "sku": "Product line", "sale_date": "Date"},
///     "date_order": "mdy",
///     "tax_rate": 5,
/// })).unwrap();
/// let profiles = SalesProfiles::new(BTreeMap::from([("kaggle".to_owned(), spec)])).unwrap();
/// let p = profiles.for_key("sales/incoming/kaggle/2019-01.csv").unwrap();
/// assert_eq!(p.format.date_order, Some(DateOrder::Mdy));
/// assert!(profiles.for_key("sales/incoming/s1.csv").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalesProfiles {
    /// Longest prefix first.
    profiles: Vec<SalesProfile>,
}

/// The most profiles one file may define.
const MAX_PROFILES: usize = 256;

impl SalesProfiles {
    /// Checks and orders named profiles: every mapping, order and rate must parse,
    /// prefixes must be distinct.
    pub fn new(specs: BTreeMap<String, SalesProfileSpec>) -> Result<Self, SalesFormatError> {
        if specs.len() > MAX_PROFILES {
            return Err(SalesFormatError {
                field: "profiles",
                code: "bad-profile",
                message: format!("more than {MAX_PROFILES} profiles"),
            });
        }
        let mut profiles: Vec<SalesProfile> = Vec::with_capacity(specs.len());
        for (name, spec) in specs {
            let mut columns = ColumnMapping::default();
            for (col, header) in &spec.columns {
                columns
                    .set(col, header)
                    .map_err(|e| SalesFormatError::profile(&name, &e))?;
            }
            let rate = match &spec.tax_rate {
                None => None,
                Some(TaxRateSpec::Text(t)) => Some(t.clone()),
                Some(TaxRateSpec::Number(n)) => Some(n.to_string()),
            };
            let parsed = SalesFormat::parse(None, spec.date_order.as_deref(), rate.as_deref())
                .map_err(|e| SalesFormatError::profile(&name, &e))?;
            if let Some(other) = profiles.iter().find(|p| p.prefix == spec.prefix) {
                return Err(SalesFormatError {
                    field: "profiles",
                    code: "bad-profile",
                    message: format!(
                        "profiles `{}` and `{name}` have the same prefix `{}`",
                        other.name, spec.prefix
                    ),
                });
            }
            profiles.push(SalesProfile {
                name,
                prefix: spec.prefix,
                format: SalesFormat { columns, ..parsed },
            });
        }
        profiles.sort_by_key(|p| std::cmp::Reverse(p.prefix.len()));
        Ok(Self { profiles })
    }

    /// The profile whose prefix is the longest prefix of `key`, if any.
    pub fn for_key(&self, key: &str) -> Option<&SalesProfile> {
        self.profiles.iter().find(|p| key.starts_with(&p.prefix))
    }

    /// True when there are no profiles.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// The profiles, longest prefix first.
    pub fn iter(&self) -> impl Iterator<Item = &SalesProfile> {
        self.profiles.iter()
    }
}

/// A setting as given, `None` when absent or blank.
fn some(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}
