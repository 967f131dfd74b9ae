use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValidationError;

/// An ISBN, stored in its canonical ISBN-13 form.
///
/// [`Isbn::parse`] accepts ISBN-10 and ISBN-13, with or without hyphens and spaces,
/// checks the check digit and converts ISBN-10 to ISBN-13, so one book has one key.
///
/// ```
/// use kcl_core::domain::Isbn;
/// let isbn = Isbn::parse("85-359-1066-2").unwrap(); // an ISBN-10
/// assert_eq!(isbn.as_str(), "9788535910667");
/// assert!(Isbn::parse("978-85-359-1066-0").is_err()); // wrong check digit
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isbn(String);

impl Isbn {
    /// Parses and validates an ISBN-10 or ISBN-13.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let bad = |code, msg: &str| Err(ValidationError::field("isbn", code, msg));
        if input.len() > 32 {
            return bad("too-long", "an ISBN has 10 or 13 digits");
        }
        let chars: Vec<char> = input
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match chars.len() {
            10 => {
                let mut sum = 0u32;
                for (i, c) in chars.iter().enumerate() {
                    let v = match (i, c) {
                        (9, 'X') => 10,
                        (_, c) if c.is_ascii_digit() => *c as u32 - '0' as u32,
                        _ => return bad("bad-format", "an ISBN-10 has 9 digits and a digit or X"),
                    };
                    sum += v * (10 - i as u32);
                }
                if !sum.is_multiple_of(11) {
                    return bad("bad-checksum", "the ISBN-10 check digit does not match");
                }
                let body: String = std::iter::once("978")
                    .chain(std::iter::once(&*chars[..9].iter().collect::<String>()))
                    .collect();
                Ok(Self::from_body12(&body))
            }
            13 => {
                if !chars.iter().all(|c| c.is_ascii_digit()) {
                    return bad("bad-format", "an ISBN-13 has 13 digits");
                }
                let s: String = chars.iter().collect();
                if !(s.starts_with("978") || s.starts_with("979")) {
                    return bad("bad-format", "an ISBN-13 starts with 978 or 979");
                }
                let expected = Self::from_body12(&s[..12]);
                if expected.0 != s {
                    return bad("bad-checksum", "the ISBN-13 check digit does not match");
                }
                Ok(expected)
            }
            _ => bad("bad-format", "an ISBN has 10 or 13 digits"),
        }
    }

    /// An ISBN already in its canonical form (13 digits, no separators: what
    /// [`as_str`](Self::as_str) gives and stores keep), checked like
    /// [`parse`](Self::parse) checks one but kept as given, without copying: for
    /// adapters reading stored books.
    ///
    /// ```
    /// use kcl_core::domain::Isbn;
    /// let isbn = Isbn::from_canonical("9788535910667".to_owned()).unwrap();
    /// assert_eq!(isbn, Isbn::parse("85-359-1066-2").unwrap());
    /// assert!(Isbn::from_canonical("978-85-359-1066-7".to_owned()).is_err());
    /// assert!(Isbn::from_canonical("9788535910660".to_owned()).is_err());
    /// ```
    pub fn from_canonical(digits: String) -> Result<Self, ValidationError> {
        let b = digits.as_bytes();
        let canonical = b.len() == 13
            && b.iter().all(u8::is_ascii_digit)
            && (b.starts_with(b"978") || b.starts_with(b"979"))
            && Self::check_digit(&b[..12]) == b[12] - b'0';
        if canonical {
            Ok(Self(digits))
        } else {
            Err(ValidationError::field(
                "isbn",
                "bad-format",
                "a stored ISBN is 13 digits with a matching check digit",
            ))
        }
    }

    /// The ISBN-13 check digit of its first 12 digits (ASCII).
    fn check_digit(body: &[u8]) -> u8 {
        let sum: u32 = body
            .iter()
            .enumerate()
            .map(|(i, b)| (b - b'0') as u32 * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        ((10 - sum % 10) % 10) as u8
    }

    /// Builds an ISBN-13 from its first 12 digits, computing the check digit.
    fn from_body12(body: &str) -> Self {
        let check = Self::check_digit(body.as_bytes());
        Self(format!("{body}{check}"))
    }

    /// A valid ISBN-13 derived from a number (`978` + 9 digits of `n` + check digit).
    /// Meant for fixtures, seeds and benchmarks.
    ///
    /// ```
    /// # use kcl_core::domain::Isbn;
    /// assert_eq!(Isbn::synthetic(1).as_str(), Isbn::parse(Isbn::synthetic(1).as_str()).unwrap().as_str());
    /// ```
    pub fn synthetic(n: u64) -> Self {
        Self::from_body12(&format!("978{:09}", n % 1_000_000_000))
    }

    /// The 13 digits, without separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Isbn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Isbn {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Isbn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Isbn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn13_valid_and_invalid() {
        assert!(Isbn::parse("978-0-306-40615-7").is_ok());
        assert!(Isbn::parse("9780306406158").is_err());
        assert!(Isbn::parse("978030640615").is_err());
        assert!(Isbn::parse("97803064061a7").is_err());
        assert!(Isbn::parse("1234567890123").is_err());
    }

    #[test]
    fn isbn10_converts_to_13() {
        assert_eq!(
            Isbn::parse("0-306-40615-2").unwrap().as_str(),
            "9780306406157"
        );
        assert!(Isbn::parse("0-306-40615-3").is_err());
        assert_eq!(Isbn::parse("080442957X").unwrap().as_str(), "9780804429573");
    }

    #[test]
    fn synthetic_is_valid() {
        for n in [0, 1, 42, 99_999, 999_999_999] {
            let i = Isbn::synthetic(n);
            assert_eq!(Isbn::parse(i.as_str()).unwrap(), i);
        }
    }

    #[test]
    fn garbage_is_refused() {
        for s in [
            "",
            "x",
            "9780306406157000000000000000000000000",
            "978\u{0}306406157",
        ] {
            assert!(Isbn::parse(s).is_err(), "{s:?}");
        }
    }
}
