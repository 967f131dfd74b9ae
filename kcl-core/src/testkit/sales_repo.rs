//! The [`SalesRepo`] and [`SalesDays`] contracts: atomic, idempotent loads,
//! corrections that replace a file's earlier version with stock adjusted, totals,
//! summaries, reports and stock changes.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};

use crate::domain::{
    DayTotals, GroupBy, LoadOutcome, Money, Quantity, RowSpool, SalesFile, SalesRow, StockChange,
    StoreDay, SummaryQuery,
};
use crate::memory::MemorySpooler;
use crate::ports::{SalesDays, SalesRepo, Spooler};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).expect("valid day")
}

fn row(store: &str, date: NaiveDate, sku: &str, q: i64, price: i64, line: u64) -> SalesRow {
    SalesRow {
        store_id: store.into(),
        sale_date: date,
        receipt_id: Some(format!("R{line}")),
        sku: sku.into(),
        product_name: Some(format!("=cmd|' /C calc'!A0 {sku}")),
        quantity: Quantity::from_thousandths(q),
        unit_price: Money::from_cents(price).expect("valid price"),
        total: None,
        tax_cents: 0,
        line,
    }
}

/// The rows spooled in memory: the CSV form the adapters may read
/// ([`RowSpool::csv`]) is the one the hosts' file spool writes (a test in
/// `kcl-formats` holds the two to the same bytes).
fn spool(id: uuid::Uuid, rows: &[SalesRow]) -> Arc<dyn RowSpool> {
    let mut s = MemorySpooler.create(id).expect("spool");
    for r in rows {
        s.push(r).expect("spool write");
    }
    s.finish().expect("spool flush")
}

fn file(name: &str, sha: &str, rows: u64) -> SalesFile {
    SalesFile {
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        sha256: sha.into(),
        rows,
        loaded_at: Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
    }
}

async fn level(repo: &dyn SalesRepo, sku: &str) -> i64 {
    repo.stock(sku)
        .await
        .expect("stock read")
        .map_or(0, |s| s.quantity.thousandths())
}

/// Runs every [`SalesRepo`] case. Data is namespaced by a random prefix, so a
/// shared database is fine.
pub async fn run(repo: Arc<dyn SalesRepo>) {
    let p = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let (s1, s2) = (format!("{p}-S1"), format!("{p}-S2"));
    let (a, b) = (format!("{p}-A"), format!("{p}-B"));
    let name = format!("sales/incoming/{p}/day.csv");
    let sha1 = format!("{p}-sha-1");

    // A first load.
    let rows1 = vec![
        row(&s1, day(20), &a, 2000, 150, 2),
        row(&s1, day(20), &b, 1500, 1000, 3),
        row(&s1, day(21), &a, 1000, 150, 4),
        row(&s2, day(21), &a, 500, 199, 5),
    ];
    let f1 = file(&name, &sha1, 4);
    let sp = spool(f1.id, &rows1);
    match repo
        .load(&f1, &*sp, &crate::testkit::fixtures::event())
        .await
        .expect("first load")
    {
        LoadOutcome::Loaded {
            rows,
            replaced,
            days,
        } => {
            assert_eq!(rows, 4, "every spooled row is loaded");
            assert!(replaced.is_none(), "a first load replaces nothing");
            let want = vec![
                StoreDay {
                    store_id: s1.clone(),
                    date: day(20),
                },
                StoreDay {
                    store_id: s1.clone(),
                    date: day(21),
                },
                StoreDay {
                    store_id: s2.clone(),
                    date: day(21),
                },
            ];
            assert_eq!(days, want, "the touched days, sorted");
        }
        other => panic!("first load: {other:?}"),
    }
    assert_eq!(
        level(repo.as_ref(), &a).await,
        -3500,
        "sales take from stock"
    );
    assert_eq!(level(repo.as_ref(), &b).await, -1500);
    let current = repo
        .current_file(&name)
        .await
        .expect("current file")
        .expect("recorded");
    assert_eq!(
        (current.id, current.rows, current.sha256.as_str()),
        (f1.id, 4, sha1.as_str())
    );

    // The same content again, under the same or another name: nothing changes.
    for n in [name.clone(), format!("{name}.copy")] {
        let again = file(&n, &sha1, 4);
        let sp = spool(again.id, &rows1);
        match repo
            .load(&again, &*sp, &crate::testkit::fixtures::event())
            .await
            .expect("repeated load")
        {
            LoadOutcome::Duplicate(of) => assert_eq!(of.id, f1.id, "names the loaded file"),
            other => panic!("same content must be a duplicate: {other:?}"),
        }
    }
    assert_eq!(
        level(repo.as_ref(), &a).await,
        -3500,
        "a duplicate changes no stock"
    );
    assert!(repo
        .current_file(&format!("{name}.copy"))
        .await
        .unwrap()
        .is_none());

    // Totals per store and day; a day without lines has zeros.
    let asked = [
        StoreDay {
            store_id: s1.clone(),
            date: day(20),
        },
        StoreDay {
            store_id: s2.clone(),
            date: day(22),
        },
    ];
    let totals = repo.day_totals(&asked).await.expect("day totals");
    assert_eq!(
        totals,
        vec![
            DayTotals {
                store_id: s1.clone(),
                date: day(20),
                lines: 2,
                quantity: Quantity::from_thousandths(3500),
                revenue_cents: 300 + 1500,
                tax_cents: 0,
            },
            DayTotals {
                store_id: s2.clone(),
                date: day(22),
                lines: 0,
                quantity: Quantity::from_thousandths(0),
                revenue_cents: 0,
                tax_cents: 0,
            },
        ],
        "totals in the order asked"
    );

    // Summaries.
    let by = |g: GroupBy| SummaryQuery {
        store: None,
        sku: None,
        from: Some(day(20)),
        to: Some(day(21)),
        group_by: g,
    };
    let mut q = by(GroupBy::Store);
    q.sku = Some(a.clone());
    let s = repo.summary(&q).await.expect("summary by store");
    let got: Vec<_> = s
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.lines,
                r.quantity.thousandths(),
                r.revenue_cents,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(s1.as_str(), 2, 3000, 450), (s2.as_str(), 1, 500, 100)],
        "by store, one sku"
    );
    let mut q = by(GroupBy::Day);
    q.store = Some(s1.clone());
    let s = repo.summary(&q).await.expect("summary by day");
    let got: Vec<_> = s.iter().map(|r| (r.key.as_str(), r.lines)).collect();
    assert_eq!(
        got,
        vec![("2026-11-20", 2), ("2026-11-21", 1)],
        "by day, one store"
    );
    let mut q = by(GroupBy::Sku);
    q.store = Some(s1.clone());
    q.from = Some(day(21));
    let s = repo.summary(&q).await.expect("summary by sku");
    assert_eq!(s.len(), 1, "dates filter inclusively: {s:?}");
    assert_eq!((s[0].key.as_str(), s[0].revenue_cents), (a.as_str(), 150));

    // Report lines: (date, store, sku) order, limited.
    let lines = repo
        .report_lines(day(20), day(21), Some(&s1), 100)
        .await
        .expect("report");
    let got: Vec<_> = lines
        .iter()
        .map(|l| (l.date, l.sku.as_str(), l.lines))
        .collect();
    assert_eq!(
        got,
        vec![
            (day(20), a.as_str(), 1),
            (day(20), b.as_str(), 1),
            (day(21), a.as_str(), 1)
        ]
    );
    assert_eq!(
        lines[0].product_name.as_deref(),
        Some(format!("=cmd|' /C calc'!A0 {a}").as_str()),
        "names are kept as text"
    );
    let lines = repo
        .report_lines(day(20), day(21), Some(&s1), 2)
        .await
        .expect("limited report");
    assert_eq!(lines.len(), 2, "the limit holds");

    // A correction: one row changed, one day gone, a new SKU.
    let c = format!("{p}-C");
    let rows2 = vec![
        row(&s1, day(20), &a, 4000, 150, 2),
        row(&s1, day(20), &b, 1500, 1000, 3),
        row(&s2, day(22), &c, 1000, 500, 4),
    ];
    let f2 = file(&name, &format!("{p}-sha-2"), 3);
    let sp = spool(f2.id, &rows2);
    match repo
        .load(&f2, &*sp, &crate::testkit::fixtures::event())
        .await
        .expect("correction")
    {
        LoadOutcome::Loaded {
            rows,
            replaced,
            days,
        } => {
            assert_eq!(rows, 3);
            assert_eq!(
                replaced.map(|r| r.id),
                Some(f1.id),
                "the earlier version is replaced"
            );
            assert_eq!(days.len(), 4, "old and new days: {days:?}");
        }
        other => panic!("correction: {other:?}"),
    }
    assert_eq!(
        level(repo.as_ref(), &a).await,
        -4000,
        "old quantities given back, new taken"
    );
    assert_eq!(level(repo.as_ref(), &b).await, -1500);
    assert_eq!(level(repo.as_ref(), &c).await, -1000);
    let totals = repo
        .day_totals(&[StoreDay {
            store_id: s1.clone(),
            date: day(21),
        }])
        .await
        .unwrap();
    assert_eq!(totals[0].lines, 0, "the replaced version's rows are gone");
    assert_eq!(
        repo.current_file(&name).await.unwrap().map(|f| f.id),
        Some(f2.id)
    );
    // The first content again is a correction back, not a duplicate (it was replaced).
    let f3 = file(&name, &sha1, 4);
    let sp = spool(f3.id, &rows1);
    assert!(matches!(
        repo.load(&f3, &*sp, &crate::testkit::fixtures::event())
            .await
            .expect("revert"),
        LoadOutcome::Loaded {
            replaced: Some(_),
            ..
        }
    ));
    assert_eq!(
        level(repo.as_ref(), &a).await,
        -3500,
        "back to the first version's stock"
    );
    assert_eq!(level(repo.as_ref(), &c).await, 0);

    // Stock through the API.
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
    let set = repo
        .change_stock(
            &a,
            StockChange::Set(Quantity::from_thousandths(10_000)),
            now,
            &crate::testkit::fixtures::event(),
        )
        .await
        .expect("set");
    assert_eq!(set.quantity.thousandths(), 10_000);
    let got = repo
        .change_stock(
            &a,
            StockChange::Receive(Quantity::from_thousandths(2_500)),
            now,
            &crate::testkit::fixtures::event(),
        )
        .await
        .expect("receive");
    assert_eq!(got.quantity.thousandths(), 12_500);
    let fresh = format!("{p}-NEW");
    assert!(
        repo.stock(&fresh).await.unwrap().is_none(),
        "unknown sku has no stock"
    );
    let got = repo
        .change_stock(
            &fresh,
            StockChange::Receive(Quantity::from_thousandths(1_000)),
            now,
            &crate::testkit::fixtures::event(),
        )
        .await
        .unwrap();
    assert_eq!(
        (got.sku.as_str(), got.quantity.thousandths()),
        (fresh.as_str(), 1_000)
    );

    // Concurrent loads of one name with different content: loads are serialised,
    // the last one is current, and stock matches exactly the current version.
    let cname = format!("{name}.race");
    let d = format!("{p}-D");
    let mut tasks = Vec::new();
    for i in 0..6i64 {
        let repo = repo.clone();
        let (cname, d, s1) = (cname.clone(), d.clone(), s1.clone());
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let f = file(&cname, &format!("{p}-race-{i}"), 1);
            let sp = spool(f.id, &[row(&s1, day(23), &d, 1000 * (i + 1), 100, 2)]);
            repo.load(&f, &*sp, &crate::testkit::fixtures::event())
                .await
        }));
    }
    for t in tasks {
        let r = t.await.expect("load task");
        assert!(
            matches!(r, Ok(LoadOutcome::Loaded { .. })),
            "every racing load succeeds in turn: {r:?}"
        );
    }
    let cur = repo
        .current_file(&cname)
        .await
        .unwrap()
        .expect("one current version");
    let i: i64 = cur.sha256.rsplit('-').next().unwrap().parse().unwrap();
    assert_eq!(
        level(repo.as_ref(), &d).await,
        -1000 * (i + 1),
        "stock is exactly the current version's"
    );
    let t = repo
        .day_totals(&[StoreDay {
            store_id: s1.clone(),
            date: day(23),
        }])
        .await
        .unwrap();
    assert_eq!(t[0].lines, 1, "one version's rows only");

    taxes(repo.as_ref(), &p).await;
}

/// The tax a file's revenue includes is summed in day totals, summaries and
/// report lines, and goes with its file when a correction replaces it.
async fn taxes(repo: &dyn SalesRepo, p: &str) {
    let store = format!("{p}-TX");
    let sku = format!("{p}-T");
    let name = format!("sales/incoming/{p}/taxed.csv");
    let taxed = |line: u64, tax: i64| SalesRow {
        tax_cents: tax,
        ..row(&store, day(24), &sku, 2000, 500, line)
    };
    // 2 x 5.00 = 10.00 before tax on each line, plus 0.50 and 0.75 of tax.
    let rows = [taxed(2, 50), taxed(3, 75)];
    let f = file(&name, &format!("{p}-tax-1"), 2);
    let sp = spool(f.id, &rows);
    repo.load(&f, &*sp, &crate::testkit::fixtures::event())
        .await
        .expect("a taxed load");
    let the_day = [StoreDay {
        store_id: store.clone(),
        date: day(24),
    }];
    let totals = repo.day_totals(&the_day).await.expect("day totals");
    assert_eq!(
        (totals[0].revenue_cents, totals[0].tax_cents),
        (2125, 125),
        "revenue includes the tax"
    );
    let summary = repo
        .summary(&SummaryQuery {
            store: Some(store.clone()),
            group_by: GroupBy::Store,
            ..SummaryQuery::default()
        })
        .await
        .expect("summary");
    assert_eq!(
        (summary[0].revenue_cents, summary[0].tax_cents),
        (2125, 125)
    );
    let lines = repo
        .report_lines(day(24), day(24), Some(&store), 10)
        .await
        .expect("report lines");
    assert_eq!((lines[0].revenue_cents, lines[0].tax_cents), (2125, 125));
    // A correction without tax takes the tax away with the old version.
    let f2 = file(&name, &format!("{p}-tax-2"), 1);
    let sp = spool(f2.id, &[taxed(2, 0)]);
    repo.load(&f2, &*sp, &crate::testkit::fixtures::event())
        .await
        .expect("a correction");
    let totals = repo.day_totals(&the_day).await.expect("day totals");
    assert_eq!((totals[0].revenue_cents, totals[0].tax_cents), (1000, 0));
}

/// Runs every [`SalesDays`] case.
pub async fn run_days(days: &dyn SalesDays) {
    let p = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let store = format!("{p}-S1");
    let t = |d: u32, lines: u64| DayTotals {
        store_id: store.clone(),
        date: day(d),
        lines,
        quantity: Quantity::from_thousandths(lines as i64 * 1000),
        revenue_cents: lines as i64 * 250,
        tax_cents: lines as i64 * 25,
    };
    let other = DayTotals {
        store_id: format!("{p}-S2"),
        ..t(21, 9)
    };
    days.put(&[t(21, 3), t(20, 2), t(25, 1), other])
        .await
        .expect("put");
    days.put(&[t(21, 3)]).await.expect("repeated put");
    let got = days.range(&store, day(20), day(21)).await.expect("range");
    assert_eq!(
        got,
        vec![t(20, 2), t(21, 3)],
        "inclusive range, date order, one store, no double counting"
    );
    days.put(&[t(21, 5), t(20, 0)])
        .await
        .expect("replace and remove");
    let got = days.range(&store, day(1), day(30)).await.expect("range");
    assert_eq!(
        got,
        vec![t(21, 5), t(25, 1)],
        "absolute values; zero lines removes the day"
    );
    assert!(
        days.range(&store, day(22), day(21))
            .await
            .unwrap()
            .is_empty(),
        "an empty range"
    );
    assert!(days
        .range(&format!("{p}-none"), day(1), day(30))
        .await
        .unwrap()
        .is_empty());
}
