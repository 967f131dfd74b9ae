//! A sales load's rows in `COPY ... (FORMAT binary)` form, and what they change
//! (stock per SKU, totals per store and day) summed on the way, so that neither
//! PostgreSQL's text parsing nor a second pass over the loaded lines is needed.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

/// The binary COPY header: signature, flags, header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary COPY trailer: a tuple of -1 fields.
const TRAILER: &[u8] = &[0xff, 0xff];
/// Distinct SKUs or store-days summed in memory at most; past that, the sums are
/// dropped and computed from the loaded lines instead (memory stays bounded
/// whatever the file).
pub(super) const MAX_SUM_KEYS: usize = 100_000;

/// One row as `sales_lines` takes it (see `kcl_core::ports::SPOOL_COLUMNS`).
pub(super) struct Line<'a> {
    pub(super) line: u64,
    pub(super) store_id: &'a str,
    pub(super) sale_date: NaiveDate,
    /// Empty is NULL.
    pub(super) receipt_id: Option<&'a str>,
    pub(super) sku: &'a str,
    /// Empty is NULL.
    pub(super) product_name: Option<&'a str>,
    pub(super) quantity: i64,
    pub(super) unit_price: i64,
    pub(super) revenue: i64,
    pub(super) tax: i64,
}

/// Lines, quantity, revenue and tax of one store and day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DaySum {
    pub(super) lines: i64,
    pub(super) quantity: i64,
    pub(super) revenue: i64,
    pub(super) tax: i64,
}

impl DaySum {
    fn add(&mut self, other: DaySum) -> Option<()> {
        self.lines = self.lines.checked_add(other.lines)?;
        self.quantity = self.quantity.checked_add(other.quantity)?;
        self.revenue = self.revenue.checked_add(other.revenue)?;
        self.tax = self.tax.checked_add(other.tax)?;
        Some(())
    }
}

/// What a file's lines add up to: quantity per SKU and totals per store and day.
/// `None` once either has more than [`MAX_SUM_KEYS`] keys or a sum overflows.
#[derive(Debug, Default)]
pub(super) struct Sums {
    pub(super) stock: HashMap<String, i64>,
    pub(super) days: HashMap<(String, NaiveDate), DaySum>,
}

/// Encodes rows into COPY messages and sums them.
pub(super) struct CopyEncoder {
    file_id: [u8; 16],
    buf: Vec<u8>,
    rows: u64,
    sums: Option<Sums>,
    /// The store-day being summed (files list a store's day together, mostly).
    day: Option<((String, NaiveDate), DaySum)>,
}

fn text(buf: &mut Vec<u8>, v: Option<&str>) {
    match v.filter(|s| !s.is_empty()) {
        Some(s) => {
            // Values are bounded far below 2 GiB by the validator (64 KiB records).
            buf.extend_from_slice(&(s.len() as i32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

fn int8(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

/// PostgreSQL's date epoch.
fn pg_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date")
}

impl CopyEncoder {
    /// Starts the rows of the load `file_id`; `capacity` is the message size.
    pub(super) fn new(file_id: Uuid, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity + 1024);
        buf.extend_from_slice(HEADER);
        Self {
            file_id: *file_id.as_bytes(),
            buf,
            rows: 0,
            sums: Some(Sums::default()),
            day: None,
        }
    }

    /// Rows encoded so far.
    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes waiting to be sent.
    pub(super) fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Takes the bytes encoded so far (a COPY message).
    pub(super) fn take(&mut self) -> Vec<u8> {
        let cap = self.buf.capacity();
        std::mem::replace(&mut self.buf, Vec::with_capacity(cap))
    }

    /// Appends a row. Fails only on a line number past `i64`.
    pub(super) fn push(&mut self, r: &Line<'_>) -> Result<(), std::num::TryFromIntError> {
        let line = i64::try_from(r.line)?;
        let b = &mut self.buf;
        b.extend_from_slice(&11i16.to_be_bytes());
        b.extend_from_slice(&16i32.to_be_bytes());
        b.extend_from_slice(&self.file_id);
        int8(b, line);
        text(b, Some(r.store_id));
        b.extend_from_slice(&4i32.to_be_bytes());
        // Dates are days from 2000-01-01; validated dates are well within i32.
        let days = (r.sale_date - pg_epoch()).num_days() as i32;
        b.extend_from_slice(&days.to_be_bytes());
        text(b, r.receipt_id);
        text(b, Some(r.sku));
        text(b, r.product_name);
        int8(b, r.quantity);
        int8(b, r.unit_price);
        int8(b, r.revenue);
        int8(b, r.tax);
        self.rows += 1;
        self.sum(r);
        Ok(())
    }

    fn sum(&mut self, r: &Line<'_>) {
        let Some(sums) = self.sums.as_mut() else {
            return;
        };
        let room = sums.stock.len() < MAX_SUM_KEYS;
        let mut ok = match sums.stock.get_mut(r.sku) {
            Some(q) => q.checked_add(r.quantity).map(|v| *q = v).is_some(),
            None if room => {
                sums.stock.insert(r.sku.to_owned(), r.quantity);
                true
            }
            None => false,
        };
        let this = DaySum {
            lines: 1,
            quantity: r.quantity,
            revenue: r.revenue,
            tax: r.tax,
        };
        match &mut self.day {
            Some(((store, date), sum)) if store == r.store_id && *date == r.sale_date => {
                ok &= sum.add(this).is_some();
            }
            _ => {
                ok &= self.flush_day();
                self.day = Some(((r.store_id.to_owned(), r.sale_date), this));
            }
        }
        if !ok {
            self.sums = None;
            self.day = None;
        }
    }

    /// Adds the store-day being summed to the sums; false when over the bounds.
    fn flush_day(&mut self) -> bool {
        let (Some(sums), Some((key, sum))) = (self.sums.as_mut(), self.day.take()) else {
            return true;
        };
        let fits = sums.days.len() < MAX_SUM_KEYS;
        match sums.days.get_mut(&key) {
            Some(s) => s.add(sum).is_some(),
            None if fits => {
                sums.days.insert(key, sum);
                true
            }
            None => false,
        }
    }

    /// Ends the rows: the last message (the trailer included) and the sums, or
    /// `None` when they went past the bounds.
    pub(super) fn finish(mut self) -> (Vec<u8>, Option<Sums>) {
        if !self.flush_day() {
            self.sums = None;
        }
        self.buf.extend_from_slice(TRAILER);
        (self.buf, self.sums)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(store: &'static str, d: u32, sku: &'static str, q: i64) -> Line<'static> {
        Line {
            line: 2,
            store_id: store,
            sale_date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            receipt_id: Some(""),
            sku,
            product_name: Some("Café"),
            quantity: q,
            unit_price: 100,
            revenue: q / 10,
            tax: 0,
        }
    }

    #[test]
    fn a_row_is_encoded_as_copy_binary_expects() {
        let mut e = CopyEncoder::new(Uuid::from_u128(1), 1024);
        e.push(&line("S1", 1, "A", 1500)).unwrap();
        let (bytes, _) = e.finish();
        let mut want = HEADER.to_vec();
        want.extend_from_slice(&11i16.to_be_bytes());
        want.extend_from_slice(&16i32.to_be_bytes());
        want.extend_from_slice(Uuid::from_u128(1).as_bytes());
        want.extend_from_slice(&8i32.to_be_bytes());
        want.extend_from_slice(&2i64.to_be_bytes());
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice(b"S1");
        want.extend_from_slice(&4i32.to_be_bytes());
        // 2026-11-01 is 9801 days after 2000-01-01.
        want.extend_from_slice(&9801i32.to_be_bytes());
        want.extend_from_slice(&(-1i32).to_be_bytes());
        want.extend_from_slice(&1i32.to_be_bytes());
        want.extend_from_slice(b"A");
        want.extend_from_slice(&5i32.to_be_bytes());
        want.extend_from_slice("Café".as_bytes());
        for v in [1500i64, 100, 150, 0] {
            want.extend_from_slice(&8i32.to_be_bytes());
            want.extend_from_slice(&v.to_be_bytes());
        }
        want.extend_from_slice(TRAILER);
        assert_eq!(bytes, want);
    }

    #[test]
    fn sums_follow_skus_and_days_in_any_order() {
        let mut e = CopyEncoder::new(Uuid::nil(), 1024);
        for l in [
            line("S1", 1, "A", 1000),
            line("S1", 1, "B", 500),
            line("S2", 1, "A", 250),
            line("S1", 1, "A", 10),
        ] {
            e.push(&l).unwrap();
        }
        let (_, sums) = e.finish();
        let sums = sums.expect("within bounds");
        assert_eq!(sums.stock["A"], 1260);
        assert_eq!(sums.stock["B"], 500);
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(
            sums.days[&("S1".to_owned(), d)],
            DaySum {
                lines: 3,
                quantity: 1510,
                revenue: 151,
                tax: 0,
            }
        );
        assert_eq!(sums.days[&("S2".to_owned(), d)].lines, 1);
    }

    #[test]
    fn too_many_keys_or_an_overflow_drop_the_sums() {
        let mut e = CopyEncoder::new(Uuid::nil(), 1024);
        let skus: Vec<String> = (0..=MAX_SUM_KEYS).map(|i| format!("K{i}")).collect();
        for sku in &skus {
            let mut l = line("S1", 1, "A", 1);
            l.sku = sku;
            e.push(&l).unwrap();
        }
        assert_eq!(e.rows(), MAX_SUM_KEYS as u64 + 1);
        assert!(e.finish().1.is_none(), "past the bound");
        let mut e = CopyEncoder::new(Uuid::nil(), 1024);
        e.push(&line("S1", 1, "A", i64::MAX)).unwrap();
        e.push(&line("S1", 1, "A", 1)).unwrap();
        assert!(e.finish().1.is_none(), "an overflow");
    }
}
