//! Parsers for the values of one sales row: decimals, dates, identifiers.

use chrono::NaiveDate;

use super::format::DateOrder;

/// Why a decimal did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not a number in one of the accepted formats.
    Format,
    /// More decimals than the column allows.
    Decimals,
    /// Larger than the column allows.
    TooLarge,
}

/// Parses a decimal into an integer count of `10^-scale` units, possibly negative.
///
/// Accepted: digits with an optional leading sign, `.` or `,` as the decimal
/// separator, the other one (or the same one, repeated) as a thousands separator
/// in groups of three. When a single separator is followed by exactly three digits
/// and `three_digits_is_thousands` is set (prices: at most two decimals), it is a
/// thousands separator (`1.234` = 1234); otherwise a single separator is the
/// decimal separator (quantities: `1.234` = 1.234 kg). Trailing zero decimals
/// beyond `scale` are accepted (`1,500` kg with scale 3, `2.50` with scale 2).
pub(crate) fn parse_decimal(
    input: &str,
    scale: u32,
    three_digits_is_thousands: bool,
    max_units: i64,
) -> Result<i64, NumError> {
    let s = input.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s.is_empty()
        || s.len() > 40
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return Err(NumError::Format);
    }
    let dots = s.bytes().filter(|&b| b == b'.').count();
    let commas = s.bytes().filter(|&b| b == b',').count();
    // Pick the decimal separator (if any) and the thousands separator (if any).
    let (int_part, frac_part, thousands): (&str, &str, Option<u8>) = match (dots, commas) {
        (0, 0) => (s, "", None),
        (_, 0) | (0, _) => {
            let sep = if dots > 0 { b'.' } else { b',' };
            let count = dots + commas;
            let last = s.rfind(sep as char).unwrap_or(0);
            let after = s.len() - last - 1;
            if count > 1
                || (three_digits_is_thousands && after == 3 && last > 0 && !s.starts_with('0'))
            {
                (s, "", Some(sep))
            } else {
                (&s[..last], &s[last + 1..], None)
            }
        }
        _ => {
            let last_dot = s.rfind('.').unwrap_or(0);
            let last_comma = s.rfind(',').unwrap_or(0);
            let (dec, th) = if last_dot > last_comma {
                (last_dot, b',')
            } else {
                (last_comma, b'.')
            };
            // The decimal separator must appear once, after every thousands separator.
            let dec_char = s.as_bytes()[dec];
            if s.bytes().filter(|&b| b == dec_char).count() != 1 {
                return Err(NumError::Format);
            }
            (&s[..dec], &s[dec + 1..], Some(th))
        }
    };
    if let Some(th) = thousands {
        let mut groups = int_part.split(th as char);
        let first = groups.next().unwrap_or("");
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return Err(NumError::Format);
        }
    }
    let frac = frac_part.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(NumError::Decimals);
    }
    let mut units: i64 = 0;
    let mut digits = 0usize;
    for b in int_part.bytes().filter(u8::is_ascii_digit) {
        digits += 1;
        if digits > 15 {
            return Err(NumError::TooLarge);
        }
        units = units * 10 + i64::from(b - b'0');
    }
    if digits == 0 && frac_part.is_empty() {
        return Err(NumError::Format);
    }
    let mut value = units;
    for i in 0..scale as usize {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(NumError::TooLarge)?;
    }
    if value > max_units {
        return Err(NumError::TooLarge);
    }
    Ok(if negative { -value } else { value })
}

/// Parses an ISO date (`2026-11-23`) or a date with slashes in `order`
/// (`23/11/2026` day first, `11/23/2026` month first, `2026/11/23` year first; day
/// and month may have one digit). `Err(true)` when the shape is right but the day
/// does not exist (`31/02/2026`).
pub(crate) fn parse_date_in(s: &str, order: DateOrder) -> Result<NaiveDate, bool> {
    let s = s.trim();
    let (y, m, d) = if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        match (num(&s[..4], 4, 4), num(&s[5..7], 2, 2), num(&s[8..], 2, 2)) {
            (Some(y), Some(m), Some(d)) => (y, m, d),
            _ => return Err(false),
        }
    } else {
        let mut parts = s.split('/');
        let (Some(a), Some(b), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(false);
        };
        let got = match order {
            DateOrder::Dmy => (num(c, 4, 4), num(b, 1, 2), num(a, 1, 2)),
            DateOrder::Mdy => (num(c, 4, 4), num(a, 1, 2), num(b, 1, 2)),
            DateOrder::Ymd => (num(a, 4, 4), num(b, 1, 2), num(c, 1, 2)),
        };
        match got {
            (Some(y), Some(m), Some(d)) => (y, m, d),
            _ => return Err(false),
        }
    };
    let y = i32::try_from(y).map_err(|_| false)?;
    NaiveDate::from_ymd_opt(y, m, d).ok_or(true)
}

/// The first two numbers of a `a/b/yyyy` date (one or two digits each), to tell
/// whether it reads both day first and month first.
pub(crate) fn slashed_day_month(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.trim().split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(c), None) => {
            num(c, 4, 4)?;
            Some((num(a, 1, 2)?, num(b, 1, 2)?))
        }
        _ => None,
    }
}

fn num(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// 1..=`max` characters of `A-Z a-z 0-9 _ - .`.
pub(crate) fn is_identifier(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let q = |s| parse_decimal(s, 3, false, i64::MAX);
        let p = |s| parse_decimal(s, 2, true, i64::MAX);
        assert_eq!(q("1"), Ok(1000));
        assert_eq!(q("1.5"), Ok(1500));
        assert_eq!(q("1,5"), Ok(1500));
        assert_eq!(q("1.234"), Ok(1234));
        assert_eq!(q("0,250"), Ok(250));
        assert_eq!(q("1.234,567"), Ok(1_234_567));
        assert_eq!(q("1,234.5"), Ok(1_234_500));
        assert_eq!(q("1.2345"), Err(NumError::Decimals));
        assert_eq!(q("1.23450"), Err(NumError::Decimals));
        assert_eq!(q("2.5000"), Ok(2500));
        assert_eq!(q("-2"), Ok(-2000));
        assert_eq!(p("1234.56"), Ok(123_456));
        assert_eq!(p("1.234,56"), Ok(123_456));
        assert_eq!(p("1234,56"), Ok(123_456));
        assert_eq!(p("1.234"), Ok(123_400));
        assert_eq!(p("1.234.567"), Ok(123_456_700));
        assert_eq!(p(",5"), Ok(50));
        assert_eq!(p("3,999"), Ok(399_900));
        assert_eq!(p("0.999"), Err(NumError::Decimals));
        assert_eq!(p("1.005"), Ok(100_500));
        for bad in [
            "",
            "-",
            ".",
            "abc",
            "1e5",
            "1.2.3,4",
            "12,34.5,6",
            "1..2",
            "1,23,456",
            "12.34.5",
            " ",
            "1 000",
        ] {
            assert_eq!(p(bad), Err(NumError::Format), "{bad:?}");
        }
        assert_eq!(p("9999999999999999"), Err(NumError::TooLarge));
        assert_eq!(
            parse_decimal("999999999999999", 4, false, i64::MAX),
            Err(NumError::TooLarge),
            "no overflow past the digits"
        );
        assert_eq!(
            parse_decimal("101", 2, true, 10_000),
            Err(NumError::TooLarge)
        );
    }

    fn parse_date(s: &str) -> Result<NaiveDate, bool> {
        parse_date_in(s, DateOrder::Dmy)
    }

    #[test]
    fn date_orders() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_date_in("1/5/2019", DateOrder::Mdy), Ok(d(2019, 1, 5)));
        assert_eq!(parse_date_in("1/5/2019", DateOrder::Dmy), Ok(d(2019, 5, 1)));
        assert_eq!(parse_date_in("2019/1/5", DateOrder::Ymd), Ok(d(2019, 1, 5)));
        assert_eq!(
            parse_date_in("2019-01-05", DateOrder::Mdy),
            Ok(d(2019, 1, 5))
        );
        assert_eq!(parse_date_in("13/1/2019", DateOrder::Mdy), Err(true));
        assert_eq!(parse_date_in("2019/1/5", DateOrder::Dmy), Err(false));
        assert_eq!(parse_date_in("1/5/2019", DateOrder::Ymd), Err(false));
        assert_eq!(slashed_day_month("1/13/2019"), Some((1, 13)));
        assert_eq!(slashed_day_month("2019-01-13"), None);
        assert_eq!(slashed_day_month("1/13/19"), None);
    }

    #[test]
    fn dates() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_date("2026-11-23"), Ok(d(2026, 11, 23)));
        assert_eq!(parse_date("23/11/2026"), Ok(d(2026, 11, 23)));
        assert_eq!(parse_date("3/1/2026"), Ok(d(2026, 1, 3)));
        assert_eq!(parse_date("31/02/2026"), Err(true));
        assert_eq!(parse_date("2026-02-30"), Err(true));
        for bad in [
            "",
            "2026/11/23",
            "23-11-2026",
            "11/23/26",
            "2026-1-3",
            "23/11/2026/1",
            "aaaa-bb-cc",
            "2026-11-2x",
        ] {
            assert_eq!(parse_date(bad), Err(false), "{bad:?}");
        }
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("LOJA-01", 32));
        assert!(is_identifier("a.b_c", 32));
        assert!(!is_identifier("", 32));
        assert!(!is_identifier("loja 1", 32));
        assert!(!is_identifier("ação", 32));
        assert!(!is_identifier(&"a".repeat(33), 32));
    }
}
