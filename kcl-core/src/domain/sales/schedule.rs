//! When scheduled sales reports run: the grammar of `KCL_REPORT_SCHEDULE`.

use std::fmt;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The time zone of scheduled reports when none is given (`KCL_REPORT_TZ`).
pub const DEFAULT_REPORT_TZ: &str = "America/Sao_Paulo";

/// A schedule of sales reports: every day at a local time, the previous day's
/// reports (one per store that sold).
///
/// The grammar is `daily HH:MM` (24-hour clock; `daily 6:00` is `daily 06:00`), in
/// an IANA time zone (`America/Sao_Paulo`, `UTC`). A day's reports are due from that
/// time on the next day, local time, and stay due until they are written: a process
/// that was down at 06:00 writes them when it comes back, the same day.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use kcl_core::domain::ReportSchedule;
///
/// let s = ReportSchedule::parse("daily 06:00", "America/Sao_Paulo").unwrap();
/// assert_eq!(s.to_string(), "daily 06:00");
/// // 08:59 UTC is 05:59 in São Paulo: the 5th's reports are not due yet.
/// let before = Utc.with_ymd_and_hms(2026, 12, 6, 8, 59, 0).unwrap();
/// assert_eq!(s.due_day(before), NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
/// let after = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
/// assert_eq!(s.due_day(after), NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());
/// assert!(ReportSchedule::parse("hourly", "UTC").is_err());
/// assert!(ReportSchedule::parse("daily 06:00", "Mars/Olympus").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSchedule {
    at: NaiveTime,
    tz: Tz,
}

impl ReportSchedule {
    /// Reads a schedule (`daily HH:MM`) and its time zone (an IANA name). The error
    /// says what is wrong, for a start error naming the variable.
    pub fn parse(spec: &str, tz: &str) -> Result<Self, String> {
        let tz: Tz = tz.trim().parse().map_err(|_| {
            format!("unknown time zone {tz:?}: expected an IANA name such as {DEFAULT_REPORT_TZ} or UTC")
        })?;
        let bad = || format!("expected `daily HH:MM` (such as `daily 06:00`), got {spec:?}");
        let mut words = spec.split_whitespace();
        let (Some(kind), Some(time), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        if !kind.eq_ignore_ascii_case("daily") {
            return Err(bad());
        }
        let (h, m) = time.split_once(':').ok_or_else(bad)?;
        // Hours in one or two digits, minutes in two.
        let number = |s: &str, widths: &[usize], max: u32| {
            (widths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
                .filter(|n| *n <= max)
        };
        let (Some(h), Some(m)) = (number(h, &[1, 2], 23), number(m, &[2], 59)) else {
            return Err(bad());
        };
        let at = NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)?;
        Ok(Self { at, tz })
    }

    /// The local time the reports are due at.
    pub fn at(&self) -> NaiveTime {
        self.at
    }

    /// The time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The latest day whose reports are due at `now`: yesterday (local) once the
    /// day's time has come, else the day before.
    pub fn due_day(&self, now: DateTime<Utc>) -> NaiveDate {
        let local = now.with_timezone(&self.tz);
        let back = if local.time() >= self.at { 1 } else { 2 };
        local
            .date_naive()
            .checked_sub_days(Days::new(back))
            .unwrap_or(NaiveDate::MIN)
    }

    /// When the next day's reports fall due after `now` (UTC). On a day whose
    /// clocks skip that local time, the end of the gap (when [`due_day`](Self::due_day)
    /// moves on).
    pub fn next_run(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.tz);
        let mut day = local.date_naive();
        if local.time() >= self.at {
            day = day.succ_opt().unwrap_or(day);
        }
        let wanted = day.and_time(self.at);
        // A time in a gap (daylight saving) does not exist: the first minute after
        // it does (gaps are at most a few hours).
        (0..=24 * 60)
            .find_map(|m| {
                self.tz
                    .from_local_datetime(&(wanted + chrono::Duration::minutes(m)))
                    .earliest()
            })
            .map_or(now, |t| t.with_timezone(&Utc))
    }
}

impl fmt::Display for ReportSchedule {
    /// The schedule's stable name (`daily 06:00`), under which its runs are kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "daily {:02}:{:02}", self.at.hour(), self.at.minute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        for (spec, want) in [
            ("daily 06:00", "daily 06:00"),
            ("DAILY 6:05", "daily 06:05"),
            ("  daily   23:59 ", "daily 23:59"),
            ("daily 00:00", "daily 00:00"),
        ] {
            let s = ReportSchedule::parse(spec, "UTC").unwrap();
            assert_eq!(s.to_string(), want, "{spec}");
        }
        for bad in [
            "",
            "daily",
            "daily 24:00",
            "daily 06:60",
            "daily 06",
            "daily 6:5",
            "weekly 06:00",
            "daily 06:00 extra",
            "daily -1:00",
            "daily 006:00",
            "daily 06:000",
            "daily +6:00",
        ] {
            assert!(ReportSchedule::parse(bad, "UTC").is_err(), "{bad:?}");
        }
        assert!(ReportSchedule::parse("daily 06:00", "").is_err());
    }

    #[test]
    fn due_days_and_next_runs_follow_the_zone() {
        let s = ReportSchedule::parse("daily 06:00", "UTC").unwrap();
        let t = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(s.due_day(t(6, 5, 59)), day(4));
        assert_eq!(s.due_day(t(6, 6, 0)), day(5));
        assert_eq!(s.next_run(t(6, 5, 59)), t(6, 6, 0));
        assert_eq!(s.next_run(t(6, 6, 0)), t(7, 6, 0));
        // New York: 06:00 is 11:00 UTC in December.
        let ny = ReportSchedule::parse("daily 06:00", "America/New_York").unwrap();
        assert_eq!(ny.next_run(t(6, 12, 0)), t(7, 11, 0));
        assert_eq!(ny.due_day(t(6, 10, 59)), day(4));
        // A local time that does not exist (clocks go from 02:00 to 03:00 on
        // 8 March 2026 in New York): the run is at the end of the gap, 03:00 EDT,
        // when the day falls due.
        let gap = ReportSchedule::parse("daily 02:30", "America/New_York").unwrap();
        let before = Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap();
        let next = gap.next_run(before);
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap());
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        assert_eq!(gap.due_day(next - chrono::Duration::seconds(1)), day(6));
        assert_eq!(gap.due_day(next), day(7));
    }
}
