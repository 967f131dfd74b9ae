//! Where sales files, and what KCL derives from them, live in the blob stores.

use chrono::NaiveDate;
use uuid::Uuid;

use super::StoreDay;
use crate::ports::BlobKey;

/// The blob keys of a sales file, from its name (an object key or an upload name):
///
/// - `sales/incoming/...`: files dropped in for ingestion ([`SalesKey::INCOMING`]);
/// - `sales/rejected/{stem}.{file_id}.csv`: a load's rejected rows;
/// - `sales/curated/store={store}/date={YYYY-MM-DD}/{stem}.{ext}`: a load's curated
///   copy of one store and day;
/// - `reports/sales-{from}-{to}[-{store}]-{id}.{ext}`: reports, in the reports store.
///
/// `stem` is the name's last segment without `.csv`, with anything but
/// `A-Z a-z 0-9 . _ -` replaced by `_`, at most 100 characters (`sales` when nothing
/// is left), so every key built here is a valid [`BlobKey`].
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::{SalesKey, StoreDay};
///
/// let k = SalesKey::of("sales/incoming/Loja 1/nov 23.CSV");
/// assert_eq!(k.stem(), "nov_23");
/// let day = StoreDay { store_id: "S1".into(), date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap() };
/// assert_eq!(
///     k.curated(&day, "parquet").as_str(),
///     "sales/curated/store=S1/date=2026-11-23/nov_23.parquet"
/// );
/// assert_eq!(
///     k.rejected(uuid::Uuid::nil()).as_str(),
///     "sales/rejected/nov_23.00000000-0000-0000-0000-000000000000.csv"
/// );
/// assert!(SalesKey::is_incoming("sales/incoming/a.csv"));
/// assert!(!SalesKey::is_incoming("sales/curated/a.csv"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SalesKey {
    stem: String,
}

impl SalesKey {
    /// Where files dropped in for ingestion go (S3 notifications of objects created
    /// there are loaded).
    pub const INCOMING: &'static str = "sales/incoming/";
    /// Where reports go, in the reports store.
    pub const REPORTS: &'static str = "reports/";

    /// The keys of the file named `name`.
    pub fn of(name: &str) -> Self {
        let last = name.rsplit('/').next().unwrap_or(name);
        let base = last
            .strip_suffix(".csv")
            .or_else(|| last.strip_suffix(".CSV"))
            .unwrap_or(last);
        let mut stem: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .take(100)
            .collect();
        if stem.is_empty() || stem.chars().all(|c| c == '.') {
            stem = "sales".into();
        }
        Self { stem }
    }

    /// The file part of the derived keys.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Where the rejected rows of the load `file_id` are written.
    pub fn rejected(&self, file_id: Uuid) -> BlobKey {
        key(format!("sales/rejected/{}.{file_id}.csv", self.stem))
    }

    /// The curated copy of one store and day of this file, in a format whose files
    /// end in `.{extension}` (`parquet`).
    pub fn curated(&self, day: &StoreDay, extension: &str) -> BlobKey {
        key(format!(
            "sales/curated/store={}/date={}/{}.{}",
            day.store_id,
            day.date.format("%Y-%m-%d"),
            self.stem,
            extension
        ))
    }

    /// The key of a new report of `from` to `to` (of one store, or all), made unique
    /// by `id`, in a format whose files end in `.{extension}` (`csv`, `pdf`). The
    /// store must be an identifier (`A-Z a-z 0-9 _ - .`), as the service checks.
    pub fn report(
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        id: Uuid,
        extension: &str,
    ) -> BlobKey {
        key(format!(
            "{}sales-{from}-{to}{}-{}.{extension}",
            Self::REPORTS,
            store.map(|s| format!("-{s}")).unwrap_or_default(),
            id.simple()
        ))
    }

    /// The key of a scheduled report of one store and day, the same for every run
    /// of that day (a retry rewrites it): `reports/daily-{day}-{store}.{extension}`.
    /// The store must be an identifier, as summaries' store ids are.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use kcl_core::domain::SalesKey;
    /// let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    /// assert_eq!(SalesKey::scheduled(day, "S1", "csv").as_str(), "reports/daily-2026-12-05-S1.csv");
    /// ```
    pub fn scheduled(day: NaiveDate, store: &str, extension: &str) -> BlobKey {
        key(format!("{}daily-{day}-{store}.{extension}", Self::REPORTS))
    }

    /// Whether `key` is under [`INCOMING`](Self::INCOMING).
    pub fn is_incoming(key: &str) -> bool {
        key.starts_with(Self::INCOMING)
    }

    /// Whether `key` is under [`REPORTS`](Self::REPORTS).
    pub fn is_report(key: &str) -> bool {
        key.starts_with(Self::REPORTS)
    }
}

/// Every key built above is relative, has no empty, `.` or `..` segment (a stem is
/// never empty nor only dots, a store id or date holds no `/`), no control
/// character and stays far under 1024 bytes.
fn key(k: String) -> BlobKey {
    BlobKey::parse(&k).expect("a valid sales key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_give_valid_keys() {
        let day = StoreDay {
            store_id: "..".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        for name in [
            "",
            "/",
            "..",
            "a/..",
            "...csv",
            ".csv",
            "a\0b\\c\n",
            "é ü/ç",
            &"x".repeat(5000),
        ] {
            let k = SalesKey::of(name);
            assert!(!k.stem().is_empty() && k.stem().len() <= 100, "{name:?}");
            assert!(k.stem().chars().any(|c| c != '.'), "{name:?}");
            let _ = k.rejected(Uuid::nil());
            let _ = k.curated(&day, "parquet");
        }
        assert_eq!(SalesKey::of("").stem(), "sales");
        assert_eq!(SalesKey::of("a/b/S1 nov.csv").stem(), "S1_nov");
        let r = SalesKey::report(day.date, day.date, Some("S-1"), Uuid::nil(), "pdf");
        assert_eq!(
            r.as_str(),
            "reports/sales-2026-11-23-2026-11-23-S-1-00000000000000000000000000000000.pdf"
        );
        assert!(SalesKey::is_report(r.as_str()));
        let all = SalesKey::report(day.date, day.date, None, Uuid::nil(), "csv");
        assert_eq!(
            all.as_str(),
            "reports/sales-2026-11-23-2026-11-23-00000000000000000000000000000000.csv"
        );
    }
}
