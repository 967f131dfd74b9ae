use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// An amount of money in integer cents (never a float). Non-negative.
///
/// ```
/// use kcl_core::domain::Money;
/// let m = Money::parse("1.234,56").unwrap(); // Brazilian format
/// assert_eq!(m.cents(), 123_456);
/// assert_eq!(m.to_string(), "1234.56");
/// assert_eq!(Money::parse("39.9").unwrap().cents(), 3990);
/// assert!(Money::parse("-1").is_err());
/// assert_eq!(Money::parse("1.234").unwrap().cents(), 123_400); // a thousands separator
/// assert!(Money::parse("1.2345").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

/// The largest accepted amount: 1 billion units.
const MAX_CENTS: i64 = 100_000_000_000;

impl Money {
    /// No money: the sum of nothing, the price of a free item.
    pub const ZERO: Money = Money(0);

    /// From a number of cents; refuses negative and absurdly large amounts.
    pub fn from_cents(cents: i64) -> Result<Self, ValidationError> {
        if cents < 0 {
            return Err(ValidationError::field(
                "price",
                "negative",
                "must not be negative",
            ));
        }
        if cents > MAX_CENTS {
            return Err(ValidationError::field("price", "too-large", "is too large"));
        }
        Ok(Self(cents))
    }

    /// Parses `1234.56`, `1234,56`, `1.234,56` or `1,234.56` (at most two decimals).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::field(
                "price",
                "bad-format",
                "must be an amount such as 39.90 or 39,90 with at most two decimals",
            )
        };
        let s = input.trim();
        if s.is_empty() || s.len() > 24 {
            return Err(bad());
        }
        if s.starts_with('-') {
            return Err(ValidationError::field(
                "price",
                "negative",
                "must not be negative",
            ));
        }
        // The decimal separator is the last '.' or ',' if followed by 1 or 2 digits.
        let last_sep = s.rfind(['.', ',']);
        let (int_part, frac_part) = match last_sep {
            Some(i) if (1..=2).contains(&(s.len() - i - 1)) => (&s[..i], &s[i + 1..]),
            Some(i) if s.len() - i - 1 == 3 => (s, ""), // thousands separator only
            Some(_) => return Err(bad()),
            None => (s, ""),
        };
        let int_digits: String = int_part
            .chars()
            .filter(|c| *c != '.' && *c != ',')
            .collect();
        if int_digits.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        if !int_digits.chars().all(|c| c.is_ascii_digit())
            || !frac_part.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let units: i64 = if int_digits.is_empty() {
            0
        } else {
            int_digits.parse().map_err(|_| bad())?
        };
        let frac: i64 = match frac_part.len() {
            0 => 0,
            1 => frac_part.parse::<i64>().map_err(|_| bad())? * 10,
            _ => frac_part.parse().map_err(|_| bad())?,
        };
        let cents = units
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac))
            .ok_or_else(bad)?;
        Self::from_cents(cents)
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        for (s, c) in [
            ("0", 0),
            ("39", 3900),
            ("39.90", 3990),
            ("39,90", 3990),
            ("1.234,56", 123456),
            ("1,234.56", 123456),
            ("1.234", 123400),
            (",5", 50),
        ] {
            assert_eq!(Money::parse(s).unwrap().cents(), c, "{s}");
        }
        for s in [
            "",
            "abc",
            "1.2.3,4x",
            "-5",
            "1.2345",
            "99999999999999999999",
            "1e5",
        ] {
            assert!(Money::parse(s).is_err(), "{s}");
        }
    }
}
