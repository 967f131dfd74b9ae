//! The languages KCL writes in, and how each writes numbers and dates.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A language and its conventions for what KCL writes: English (`en`, the
/// default) or Brazilian Portuguese (`pt-BR`).
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::Locale;
///
/// let pt = Locale::parse("pt-br").unwrap();
/// assert_eq!(pt.to_string(), "pt-BR");
/// assert_eq!(pt.amount(123_456), "1.234,56");
/// assert_eq!(Locale::En.amount(-5), "-0.05");
/// assert_eq!(pt.quantity(3_000), "3,000");
/// assert_eq!(pt.date(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()), "23/11/2026");
/// assert_eq!(Locale::negotiate("fr-CA, pt;q=0.8, en;q=0.5"), Some(Locale::PtBr));
/// assert_eq!(Locale::negotiate("de"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum Locale {
    /// English: `1,234.56`, `2026-11-23`.
    #[default]
    #[serde(rename = "en")]
    En,
    /// Brazilian Portuguese: `1.234,56`, `23/11/2026`.
    #[serde(rename = "pt-BR")]
    PtBr,
}

impl Locale {
    /// Every locale, in the order they are offered.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::PtBr];

    /// Parses exactly `en` or `pt-BR` (any case, `_` for `-`): a setting or a
    /// request's `locale`.
    pub fn parse_exact(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "en" => Some(Self::En),
            "pt-br" => Some(Self::PtBr),
            _ => None,
        }
    }

    /// Parses a language tag leniently, for negotiation: `pt` and any `pt-*` are
    /// `pt-BR`, `en-US` and the like are `en`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        let lang = s.split('-').next().unwrap_or_default();
        match lang {
            "en" => Some(Self::En),
            "pt" => Some(Self::PtBr),
            _ => None,
        }
    }

    /// `en` or `pt-BR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::PtBr => "pt-BR",
        }
    }

    /// The best locale for an `Accept-Language` header (by its `q` weights, then
    /// its order), `None` when it names none KCL has.
    pub fn negotiate(accept_language: &str) -> Option<Self> {
        let mut best: Option<(u16, Locale)> = None;
        for part in accept_language.split(',').take(32) {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or_default();
            let q = fields
                .find_map(|f| {
                    let (name, value) = f.split_once('=')?;
                    name.trim().eq_ignore_ascii_case("q").then_some(value)
                })
                .map_or(1000, |q| {
                    let q = q.trim().parse::<f32>().unwrap_or(0.0);
                    if q.is_nan() {
                        0
                    } else {
                        (q.clamp(0.0, 1.0) * 1000.0) as u16
                    }
                });
            if q == 0 {
                continue;
            }
            if let Some(l) = Self::parse(tag) {
                if best.is_none_or(|(b, _)| q > b) {
                    best = Some((q, l));
                }
            }
        }
        best.map(|(_, l)| l)
    }

    fn separators(self) -> (char, char) {
        match self {
            Self::En => (',', '.'),
            Self::PtBr => ('.', ','),
        }
    }

    /// An amount in cents with thousands grouped: `1,234.56` / `1.234,56`.
    pub fn amount(self, cents: i64) -> String {
        self.decimal(i128::from(cents), 2, true)
    }

    /// An amount in cents without grouping, for spreadsheets: `1234.56` / `1234,56`.
    pub fn plain_amount(self, cents: i64) -> String {
        self.decimal(i128::from(cents), 2, false)
    }

    /// A quantity in thousandths: `1.500` / `1,500`.
    pub fn quantity(self, thousandths: i64) -> String {
        self.decimal(i128::from(thousandths), 3, false)
    }

    /// A day: `2026-11-23` / `23/11/2026`.
    pub fn date(self, d: NaiveDate) -> String {
        match self {
            Self::En => d.format("%Y-%m-%d").to_string(),
            Self::PtBr => d.format("%d/%m/%Y").to_string(),
        }
    }

    /// `value` in units of `10^-scale` (a scale of at most 18), with this locale's
    /// separators.
    pub fn decimal(self, value: i128, scale: u32, grouped: bool) -> String {
        let scale = scale.min(18);
        let (group, point) = self.separators();
        let sign = if value < 0 { "-" } else { "" };
        let a = value.unsigned_abs();
        let unit = 10u128.pow(scale);
        let whole = (a / unit).to_string();
        let mut out = String::with_capacity(whole.len() + 8);
        out.push_str(sign);
        for (i, c) in whole.chars().enumerate() {
            if grouped && i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(group);
            }
            out.push(c);
        }
        if scale > 0 {
            out.push(point);
            out.push_str(&format!("{:0width$}", a % unit, width = scale as usize));
        }
        out
    }
}

impl Locale {
    /// An amount in cents in `currency`, the way this locale writes money:
    /// `R$1,234.56` in English, `R$ 1.234,56` in Brazilian Portuguese.
    ///
    /// ```
    /// use kcl_core::domain::{Currency, Locale};
    ///
    /// assert_eq!(Locale::PtBr.money(123_456, Currency::BRL), "R$ 1.234,56");
    /// assert_eq!(Locale::En.money(123_456, Currency::BRL), "R$1,234.56");
    /// assert_eq!(Locale::En.money(-500, Currency::parse("usd").unwrap()), "-$5.00");
    /// assert_eq!(Locale::PtBr.money(500, Currency::parse("CHF").unwrap()), "CHF 5,00");
    /// ```
    pub fn money(self, cents: i64, currency: Currency) -> String {
        let amount = self.decimal(i128::from(cents).abs(), 2, true);
        let sign = if cents < 0 { "-" } else { "" };
        let symbol = currency.symbol(self);
        // A symbol such as `$` sits against the number in English; a code such as
        // `CHF`, and every symbol in Portuguese, is set apart by a space.
        let gap = if self == Self::PtBr || symbol.chars().all(|c| c.is_ascii_uppercase()) {
            " "
        } else {
            ""
        };
        format!("{sign}{symbol}{gap}{amount}")
    }

    /// A whole number with thousands grouped: `1,234,567` / `1.234.567`.
    pub fn integer(self, n: i64) -> String {
        self.decimal(i128::from(n), 0, true)
    }
}

/// The currency amounts are shown in: an ISO 4217 code such as `BRL` (the
/// default), `USD` or `EUR` (`KCL_CURRENCY`). KCL keeps amounts in cents and never
/// converts them; the currency only says how they are written.
///
/// ```
/// use kcl_core::domain::Currency;
///
/// assert_eq!(Currency::default(), Currency::BRL);
/// assert_eq!(Currency::parse(" eur ").unwrap().code(), "EUR");
/// assert!(Currency::parse("euro").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The Brazilian real (`R$`), the default.
    pub const BRL: Currency = Currency(*b"BRL");

    /// Three ASCII letters, any case, surrounding spaces ignored; `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.trim().as_bytes();
        match b {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphabetic()) => Some(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => None,
        }
    }

    /// The ISO 4217 code: `BRL`.
    pub fn code(&self) -> &str {
        // Built from ASCII letters only.
        std::str::from_utf8(&self.0).unwrap_or("BRL")
    }

    /// How `locale` writes this currency: `R$`; `US$` in Portuguese and `$` in
    /// English; `€`, `£`; the code for any other.
    pub fn symbol(&self, locale: Locale) -> &str {
        match (&self.0, locale) {
            (b"BRL", _) => "R$",
            (b"USD", Locale::PtBr) => "US$",
            (b"USD", _) => "$",
            (b"EUR", _) => "€",
            (b"GBP", _) => "£",
            _ => self.code(),
        }
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self::BRL
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Locale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("`{s}` is not a locale: en or pt-BR"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_per_locale() {
        assert_eq!(Locale::PtBr.amount(123_456_789), "1.234.567,89");
        assert_eq!(Locale::En.amount(123_456_789), "1,234,567.89");
        assert_eq!(Locale::PtBr.plain_amount(123_456_789), "1234567,89");
        assert_eq!(Locale::PtBr.amount(5), "0,05");
        assert_eq!(Locale::PtBr.amount(i64::MIN), "-92.233.720.368.547.758,08");
        assert_eq!(Locale::En.quantity(-1_500), "-1.500");
    }

    #[test]
    fn money_per_locale() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(Locale::En.money(0, Currency::BRL), "R$0.00");
        assert_eq!(Locale::PtBr.money(-123_456, Currency::BRL), "-R$ 1.234,56");
        assert_eq!(Locale::En.money(100_000_000, eur), "€1,000,000.00");
        assert_eq!(
            Locale::PtBr.money(5, Currency::parse("usd").unwrap()),
            "US$ 0,05"
        );
        assert_eq!(
            Locale::En.money(i64::MIN, Currency::BRL),
            "-R$92,233,720,368,547,758.08"
        );
        assert_eq!(Locale::PtBr.integer(1_234_567), "1.234.567");
        assert!(Currency::parse("R$").is_none() && Currency::parse("ÉUR").is_none());
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Locale::negotiate("pt-BR,pt;q=0.9,en;q=0.8"),
            Some(Locale::PtBr)
        );
        assert_eq!(Locale::negotiate("en;q=0.4, pt;q=0.6"), Some(Locale::PtBr));
        assert_eq!(Locale::negotiate("pt;q=0, en"), Some(Locale::En));
        assert_eq!(Locale::negotiate("pt;Q=0, en"), Some(Locale::En));
        assert_eq!(
            Locale::negotiate("en;q = 0.2, pt ; q = 0.5"),
            Some(Locale::PtBr)
        );
        assert_eq!(Locale::negotiate("pt;q=NaN, en;q=0.1"), Some(Locale::En));
        assert_eq!(Locale::parse_exact("pt-PT"), None);
        assert_eq!(Locale::parse_exact("PT_br"), Some(Locale::PtBr));
        assert_eq!(Locale::negotiate("*"), None);
        assert_eq!(Locale::negotiate(""), None);
        assert_eq!(Locale::parse("es"), None);
        assert_eq!(Locale::parse("PT_br"), Some(Locale::PtBr));
    }
}
