//! The curated copies are queryable without KCL: the DuckDB query of
//! `docs/queries/sales_by_day_and_store.sql`, run by DuckDB from PyPI (the Python
//! of `KCL_TEST_DUCKDB_PYTHON`, which `scripts/services.sh start` sets up, with
//! extension autoinstall and autoload off: nothing is downloaded), over the Parquet
//! files of loads, a correction and a duplicate, gives the figures of
//! `GET /api/sales/summary`. Skipped when unset unless `KCL_TEST_REQUIRE_ALL=1`.
#![cfg(all(feature = "http", feature = "local", feature = "sales-formats"))]

use std::collections::BTreeMap;

use axum::http::StatusCode;
use kcl_core::testkit::services;
use serde_json::Value;

#[path = "support/app.rs"]
mod app;
use app::TestApp;

/// Runs the documented query over `curated` (the blob store's `sales/curated/`
/// folder): `(day, store, lines, quantity, revenue in cents)` rows.
fn duckdb(python: &str, curated: &std::path::Path) -> Vec<(String, String, u64, String, i64)> {
    let sql = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/queries/sales_by_day_and_store.sql"),
    )
    .unwrap();
    let documented = "kcl-data/blobs/objects/sales/curated/";
    assert!(
        sql.contains(documented),
        "the query names the embedded profile's path"
    );
    let sql = sql.replace(documented, &format!("{}/", curated.display()));
    let script = r#"
import json, sys, duckdb
con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
rows = con.sql(sys.stdin.read()).fetchall()
print(json.dumps([[d, s, n, str(q), int(r * 100)] for (d, s, n, q, r) in rows]))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `key -> (lines, quantity, revenue_cents)` of a summary answer.
fn summary(body: &Value) -> BTreeMap<String, (u64, String, i64)> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                (
                    r["lines"].as_u64().unwrap(),
                    r["quantity"].as_str().unwrap().to_owned(),
                    r["revenue_cents"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Adds up `rows` by day (`by_day`) or by store.
fn grouped(
    rows: &[(String, String, u64, String, i64)],
    by_day: bool,
) -> BTreeMap<String, (u64, String, i64)> {
    let mut sums: BTreeMap<String, (u64, i64, i64)> = BTreeMap::new();
    for (day, store, lines, quantity, revenue) in rows {
        let key = if by_day { day } else { store };
        let thousandths: i64 = quantity.replace('.', "").parse().unwrap();
        let e = sums.entry(key.clone()).or_default();
        e.0 += lines;
        e.1 += thousandths;
        e.2 += revenue;
    }
    sums.into_iter()
        .map(|(k, (n, q, r))| (k, (n, format!("{}.{:03}", q / 1000, q % 1000), r)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_reads_the_curated_copies_as_the_summary_does() {
    let Some(python) = services::var("KCL_TEST_DUCKDB_PYTHON") else {
        return;
    };
    let (_kcl, app, dir) = TestApp::open(true, &[]).await;
    let upload = |name: &'static str, csv: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post(&format!("/api/sales/files?name={name}"), "text/csv", csv)
                .await;
            assert!(r.status.is_success(), "{name}: {}", r.text);
            r.body["status"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(
        upload(
            "s1.csv",
            "store_id,sale_date,receipt_id,sku,quantity,unit_price\n\
             S1,2026-11-20,r1,A,2,1.50\nS1,2026-11-20,r1,B,0.5,10.00\n\
             S2,2026-11-20,r2,A,1,1.50\nS1,2026-11-21,r3,C,3,0.99\n"
        )
        .await,
        "loaded"
    );
    assert_eq!(
        upload(
            "s2.csv",
            "loja;data;cupom;codigo;quantidade;preco_unitario\n\
             S2;21/11/2026;r9;A;1,250;2,00\nS2;21/11/2026;r9;D;4;1.234,56\n"
        )
        .await,
        "loaded"
    );
    // A correction of s1.csv without the 21st: its copy of S1's 21st goes.
    assert_eq!(
        upload(
            "s1.csv",
            "store_id,sale_date,receipt_id,sku,quantity,unit_price\n\
             S1,2026-11-20,r1,A,2,1.50\nS2,2026-11-20,r2,A,1,1.50\n"
        )
        .await,
        "loaded"
    );
    // The same content under another name: nothing new.
    assert_eq!(
        upload(
            "again.csv",
            "loja;data;cupom;codigo;quantidade;preco_unitario\n\
             S2;21/11/2026;r9;A;1,250;2,00\nS2;21/11/2026;r9;D;4;1.234,56\n"
        )
        .await,
        "duplicate"
    );

    let rows = duckdb(&python, &dir.path().join("blobs/objects/sales/curated"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (by_day, group) in [(true, "day"), (false, "store")] {
        let r = app
            .get(&format!("/api/sales/summary?group_by={group}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(grouped(&rows, by_day), summary(&r.body), "by {group}");
    }
}
