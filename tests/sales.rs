//! Sales files end to end over HTTP, in-process: upload (raw and multipart),
//! lenient and strict policies, duplicates, corrections, stock, summaries, daily
//! totals, Parquet copies, rejected rows and reports, a point-of-sale export read
//! through a column mapping, a date order and a tax rate; on the in-memory, SQLite and
//! PostgreSQL profiles (PostgreSQL: `KCL_TEST_POSTGRES_URL`; skipped when unset
//! unless `KCL_TEST_REQUIRE_ALL=1`).
#![cfg(all(feature = "http", feature = "local", feature = "sales-formats"))]

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use kcl::http::router;
use kcl::{Config, Kcl};
use serde_json::{json, Value};

#[path = "support/app.rs"]
mod app;
#[path = "support/multipart.rs"]
mod multipart;
use app::{Reply, TestApp};

async fn upload(app: &TestApp, query: &str, csv: impl Into<Body>) -> Reply {
    app.post(&format!("/api/sales/files?{query}"), "text/csv", csv)
        .await
}

/// Each of `bodies`, sent as `method uri`, is refused as invalid (422).
async fn assert_all_invalid(app: &TestApp, method: Method, uri: &str, bodies: &[Value]) {
    for body in bodies {
        let r = app.call(method.clone(), uri, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:#}",
            r.body
        );
    }
}

const NAME: &str = "sales/incoming/s1-2026-11-20.csv";

const FIRST: &str = "loja;data;cupom;codigo;produto;quantidade;preco_unitario;total\r\n\
S1;20/11/2026;C1;789;=cmd|' /C calc'!A0;2;1.234,50;2469,00\r\n\
S1;20/11/2026;C1;790;Açúcar;1,5;4,00;6,00\r\n\
S1;31/02/2026;C2;791;Bad date;1;1,00;1,00\r\n\
S1;21/11/2026;C3;789;Café;-1;1,00;\r\n";

/// The first file with one row changed (3 instead of 2 of SKU 789).
const CORRECTED: &str = "loja;data;cupom;codigo;produto;quantidade;preco_unitario;total\r\n\
S1;20/11/2026;C1;789;=cmd|' /C calc'!A0;3;1.234,50;3703,50\r\n\
S1;20/11/2026;C1;790;Açúcar;1,5;4,00;6,00\r\n\
S1;31/02/2026;C2;791;Bad date;1;1,00;1,00\r\n\
S1;21/11/2026;C3;789;Café;-1;1,00;\r\n";

async fn stock(app: &TestApp, sku: &str) -> String {
    let r = app.get(&format!("/api/stock/{sku}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["quantity"].as_str().unwrap().to_owned()
}

async fn scenario(app: &TestApp, kcl: &Kcl) {
    // A lenient load: good rows loaded, bad rows reported and written out.
    let r = upload(app, &format!("name={NAME}"), FIRST).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    let rep = &r.body;
    assert_eq!(rep["status"], "loaded");
    assert_eq!(rep["policy"], "lenient");
    assert_eq!(
        (
            rep["rows_total"].as_u64(),
            rep["rows_loaded"].as_u64(),
            rep["rows_rejected"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
    let codes: Vec<_> = rep["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["bad-date", "not-positive"]);
    assert_eq!(rep["errors"][0]["line"], 4);
    let file_id = rep["file_id"].as_str().unwrap().to_owned();
    let rejected = rep["rejected_key"].as_str().expect("rejected rows written");
    assert!(
        rejected.starts_with("sales/rejected/s1-2026-11-20."),
        "{rejected}"
    );
    let blob = kcl
        .blobs
        .get(&kcl::ports::BlobKey::parse(rejected).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(blob.data.to_vec()).unwrap();
    assert!(text.starts_with("line,column,code,message,raw"), "{text}");
    assert!(text.contains("4,sale_date,bad-date"), "{text}");
    assert_eq!(
        rep["curated_keys"],
        json!(["sales/curated/store=S1/date=2026-11-20/s1-2026-11-20.parquet"])
    );
    let parquet = kcl
        .blobs
        .get(
            &kcl::ports::BlobKey::parse(
                "sales/curated/store=S1/date=2026-11-20/s1-2026-11-20.parquet",
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(parquet.data.starts_with(b"PAR1"), "a Parquet file");
    assert_eq!(stock(app, "789").await, "-2.000");
    assert_eq!(stock(app, "790").await, "-1.500");

    // The same content again: nothing changes, and the report says so.
    let r = upload(app, &format!("name={NAME}"), FIRST).await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert_eq!(r.body["status"], "duplicate");
    assert_eq!(r.body["duplicate_of"], file_id.as_str());
    assert_eq!(r.body["rows_loaded"], 0);
    assert_eq!(
        stock(app, "789").await,
        "-2.000",
        "a duplicate changes no stock"
    );

    // A corrected version under the same name replaces the first.
    let r = upload(app, &format!("name={NAME}"), CORRECTED).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    assert_eq!(
        r.body["replaced"],
        file_id.as_str(),
        "the report names the replaced version"
    );
    assert_eq!(
        stock(app, "789").await,
        "-3.000",
        "stock adjusted for both versions"
    );
    assert_eq!(stock(app, "790").await, "-1.500");

    // Summaries and daily totals.
    let r = app
        .get("/api/sales/summary?from=2026-11-01&to=2026-11-30&store=S1&group_by=sku")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert_eq!(
        r.body["rows"],
        json!([
            {"key": "789", "lines": 1, "quantity": "3.000", "revenue": "3703.50", "revenue_cents": 370350,
             "tax": "0.00", "tax_cents": 0, "revenue_before_tax": "3703.50", "revenue_before_tax_cents": 370350},
            {"key": "790", "lines": 1, "quantity": "1.500", "revenue": "6.00", "revenue_cents": 600,
             "tax": "0.00", "tax_cents": 0, "revenue_before_tax": "6.00", "revenue_before_tax_cents": 600},
        ])
    );
    let r = app.get("/api/sales/summary?group_by=day").await;
    assert_eq!(r.body["rows"][0]["key"], "2026-11-20");
    let r = app
        .get("/api/sales/daily?store=S1&from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert_eq!(
        r.body["days"],
        json!([{"key": "2026-11-20", "lines": 2, "quantity": "4.500", "revenue": "3709.50", "revenue_cents": 370950,
                "tax": "0.00", "tax_cents": 0, "revenue_before_tax": "3709.50", "revenue_before_tax_cents": 370950}]),
        "daily totals follow the correction"
    );
    for bad in [
        "/api/sales/summary?group_by=week",
        "/api/sales/summary?from=2026-13-01",
        "/api/sales/summary?from=2026-11-30&to=2026-11-01",
        "/api/sales/summary?store=a%20b",
        "/api/sales/daily?store=S1&from=2026-11-01",
    ] {
        let r = app.get(bad).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
    }

    // Stock through the API.
    let r = app
        .call(
            Method::PUT,
            "/api/stock/789",
            Some(json!({"quantity": "10"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["quantity"].as_str()),
        (StatusCode::OK, Some("10.000"))
    );
    let r = app
        .call(
            Method::POST,
            "/api/stock/789/receipts",
            Some(json!({"quantity": 2.5})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["quantity"].as_str()),
        (StatusCode::OK, Some("12.500"))
    );
    let invalid = [
        json!({"quantity": "abc"}),
        json!({"quantity": -1}),
        json!({"quantity": "1.2345"}),
        json!({"q": 1}),
    ];
    assert_all_invalid(app, Method::PUT, "/api/stock/789", &invalid).await;
    assert_eq!(
        app.get("/api/stock/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/stock/bad%20sku").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Strict: one bad row refuses the file; nothing is loaded.
    let r = upload(
        app,
        "name=strict.csv&policy=strict",
        FIRST.replace("C1;789", "C9;789"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["code"], "rejected-rows");
    assert_eq!(r.body["report"]["rows_loaded"], 0);
    assert_eq!(r.body["report"]["rows_rejected"], 2);
    assert_eq!(
        stock(app, "789").await,
        "12.500",
        "a refused file changes nothing"
    );

    // Whole-file problems.
    let huge_line = format!(
        "store_id,sale_date,sku,quantity,unit_price\n{}",
        "x".repeat(200_000)
    );
    for (csv, code) in [
        ("".to_owned(), "empty-file"),
        ("\u{feff}  \n".to_owned(), "empty-file"),
        (
            "store_id,sale_date,sku,quantity,unit_price\n".to_owned(),
            "no-rows",
        ),
        ("\0\u{1}\u{2}binary\u{3}\n\u{5}".to_owned(), "not-text"),
        (
            "store_id,sale_date,quantity\nS1,2026-11-20,1\n".to_owned(),
            "missing-column",
        ),
        (
            "store_id,sale_date,sku,quantity,unit_price\nS1,2026-11-20,\"A1,1,1\n".to_owned(),
            "unbalanced-quote",
        ),
        (huge_line, "record-too-long"),
        (
            "store_id;sale_date;sku;quantity;unit_price\nS1,2026-11-20,A,1,1\n".to_owned(),
            "no-valid-rows",
        ),
    ] {
        let r = upload(app, "name=bad.csv", csv.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{code}: {:#}",
            r.body
        );
        assert_eq!(r.body["code"], code, "{:#}", r.body);
    }
    let r = upload(app, "", FIRST).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing-name"))
    );
    let r = upload(app, "name=x.csv&policy=loose", FIRST).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad-policy"))
    );
    assert!(
        kcl.services.sales.file("bad.csv").await.is_err(),
        "nothing recorded for refused files"
    );

    // Multipart, as the web page sends it: the file name names the file.
    let (content_type, body) = multipart::Form::default()
        .field("policy", "lenient")
        .file(
            "file",
            "s2.csv",
            "text/csv",
            b"store_id,sale_date,sku,quantity,unit_price\r\nS2,2026-11-21,A1,1,2.50\r\n",
        )
        .finish();
    let r = app.post("/api/sales/files", &content_type, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["rows_loaded"].as_u64()),
        (Some("s2.csv"), Some(1))
    );

    // The web page: the summary, a stock lookup, an upload showing its report.
    let page = app
        .get("/sales?from=2026-11-01&to=2026-11-30&group_by=store&sku=789")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8(page.bytes).unwrap();
    assert!(
        html.contains("Upload a sales file") && html.contains("<td>S1</td>"),
        "{html}"
    );
    assert!(html.contains("12.500"), "the stock lookup: {html}");
    let (content_type, body) = multipart::Form::default()
        .file(
            "file",
            "ui.csv",
            "text/csv",
            b"store_id,sale_date,sku,quantity,unit_price\r\nS3,2026-11-21,A1,1,2.50\r\nS3,2026-11-40,A1,1,2.50\r\n",
        )
        .finish();
    let r = app.post("/ui/sales", &content_type, body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let html = String::from_utf8(r.bytes).unwrap();
    assert!(
        html.contains("Loaded.") && html.contains("bad-date"),
        "{html}"
    );

    // Reports: CSV with formulas neutralised, and PDF.
    let r = app
        .call(
            Method::POST,
            "/api/reports",
            Some(json!({"from": "2026-11-01", "to": "2026-11-30", "format": "csv"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    assert_eq!(r.body["lines"], 4, "S1 x 2 SKUs, S2, S3");
    let key = r.body["key"].as_str().unwrap();
    assert!(
        key.starts_with("reports/sales-2026-11-01-2026-11-30-") && key.ends_with(".csv"),
        "{key}"
    );
    let url = r.body["url"].as_str().unwrap();
    let csv = app.get(url).await;
    assert_eq!(csv.status, StatusCode::OK, "{url}");
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(
        text.contains("2026-11-20,S1,789,'=cmd|' /C calc'!A0,1,3.000,3703.50"),
        "{text}"
    );
    assert!(!text.contains(",=cmd"), "no live formula: {text}");

    // The same in pt-BR: what a Brazilian spreadsheet opens as it is, read back by
    // Python's csv module set the pt-BR way (`;`, decimal commas, dd/mm/aaaa, BOM).
    let r = app
        .call(
            Method::POST,
            "/api/reports",
            Some(json!({"from": "2026-11-01", "to": "2026-11-30", "format": "csv", "locale": "pt-BR"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    let bytes = app.get(r.body["url"].as_str().unwrap()).await.bytes;
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 byte order mark"
    );
    let read_back = python_reads_pt_br_csv(&bytes);
    assert!(read_back.starts_with("data 4 "), "{read_back}");
    let bad = app
        .call(
            Method::POST,
            "/api/reports",
            Some(json!({"from": "2026-11-01", "to": "2026-11-30", "locale": "fr"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.body["errors"][0]["code"], "bad-locale",
        "{:#}",
        bad.body
    );
    let r = app
        .call(
            Method::POST,
            "/api/reports",
            Some(json!({"from": "2026-11-01", "to": "2026-11-30", "store": "S1", "format": "pdf"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    let pdf = app.get(r.body["url"].as_str().unwrap()).await;
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    let invalid = [
        json!({"from": "2026-11-30", "to": "2026-11-01"}),
        json!({"from": "2026-11-01", "to": "2026-11-30", "format": "xls"}),
        json!({"from": "yesterday", "to": "2026-11-30"}),
        json!({"from": "2026-11-01", "to": "2026-11-30", "store": "../etc"}),
    ];
    assert_all_invalid(app, Method::POST, "/api/reports", &invalid).await;
    assert_eq!(
        app.get("/api/reports/nope.csv").await.status,
        StatusCode::NOT_FOUND
    );

    // The audit log records the loads.
    // Audit events are written by a task of their own: give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = kcl.services.sales.history(NAME, 10).await.unwrap();
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["ingested", "ingested"],
        "two loads of the name (the duplicate is not one)"
    );
}

/// A public supermarket export's shape (synthetic rows): its own headers,
/// month-first dates, totals with 5 % tax at four decimals, columns KCL has no use
/// for.
const EXPORT: &str = "Invoice ID,Branch,City,Customer type,Gender,Product line,Unit price,Quantity,Tax 5%,Total,Date,Time,Payment,cogs,gross margin percentage,gross income,Rating\n\
750-67-8428,A,Yangon,Member,Female,Health and beauty,74.69,7,26.1415,548.9715,1/5/2019,13:08,Ewallet,522.83,4.761904762,26.1415,9.1\n\
226-31-3081,C,Naypyitaw,Normal,Female,Electronic accessories,15.28,5,3.82,80.22,3/8/2019,10:29,Cash,76.4,4.761904762,3.82,9.6\n\
631-41-3108,A,Yangon,Normal,Male,Home and lifestyle,46.33,7,16.2155,340.5255,3/3/2019,13:23,Credit card,324.31,4.761904762,16.2155,7.4\n\
123-19-1176,A,Yangon,Member,Male,Health and beauty,58.22,8,23.288,489.048,1/27/2019,20:33,Ewallet,465.76,4.761904762,23.288,8.4\n";

const EXPORT_COLUMNS: &str =
    "store_id:Branch,sku:Product line,product_name:Product line,sale_date:Date,receipt_id:Invoice ID";

/// A point-of-sale export with its own column names, date order and tax: refused
/// as it is (missing columns), refused when its dates read both ways, loaded with a
/// mapping, a date order and its tax rate; revenue before and after tax.
async fn real_export(app: &TestApp) {
    let summary = "/api/sales/summary?from=2019-01-01&to=2019-12-31&group_by=store";
    let r = upload(app, "name=export.csv", EXPORT).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.body);
    assert_eq!(r.body["code"], "missing-column");
    // A bad mapping, order or rate: 422 naming the field, nothing read.
    for (query, field, code) in [
        ("columns=shop:Branch", "columns", "bad-columns"),
        ("date_order=dym", "date_order", "bad-date-order"),
        ("tax_rate=150", "tax_rate", "bad-tax-rate"),
    ] {
        let r = upload(app, &format!("name=export.csv&{query}"), EXPORT).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {:#}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{query}: {:#}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{query}: {:#}", r.body);
    }
    // A mapping without a date order, on dates that read both ways: refused whole.
    let columns = EXPORT_COLUMNS.replace(' ', "%20");
    let r = upload(
        app,
        &format!("name=export.csv&columns={columns}&tax_rate=5"),
        EXPORT,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.body);
    assert_eq!(r.body["code"], "ambiguous-date-order", "{:#}", r.body);
    assert_eq!(
        app.get(summary).await.body["rows"],
        json!([]),
        "nothing loaded"
    );

    // Mapped, month first, 5 % tax: every row loads.
    let r = upload(
        app,
        &format!("name=export.csv&columns={columns}&date_order=mdy&tax_rate=5"),
        EXPORT,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    assert_eq!(
        (
            r.body["rows_loaded"].as_u64(),
            r.body["rows_rejected"].as_u64()
        ),
        (Some(4), Some(0))
    );
    assert_eq!(r.body["date_order"], "mdy");
    assert!(
        r.body["ignored_columns"]
            .as_array()
            .unwrap()
            .contains(&json!("City")),
        "{:#}",
        r.body
    );
    let rows = app.get(summary).await.body["rows"].clone();
    assert_eq!(rows[0]["key"], "A");
    assert_eq!(
        (
            &rows[0]["revenue"],
            &rows[0]["tax"],
            &rows[0]["revenue_before_tax"]
        ),
        (&json!("1378.55"), &json!("65.65"), &json!("1312.90")),
        "{rows:#}"
    );
    assert_eq!(
        (&rows[1]["key"], &rows[1]["revenue_before_tax"]),
        (&json!("C"), &json!("76.40"))
    );
    let r = app
        .get("/api/sales/daily?store=A&from=2019-01-01&to=2019-01-31")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert_eq!(r.body["days"][0]["key"], "2019-01-05", "{:#}", r.body);
    assert_eq!(r.body["days"][0]["tax"], "26.14", "{:#}", r.body);
    assert_eq!(stock(app, "Health-and-beauty").await, "-15.000");

    // The report carries tax and revenue before tax.
    let r = app
        .call(
            Method::POST,
            "/api/reports",
            Some(json!({"from": "2019-01-01", "to": "2019-12-31", "store": "A", "format": "csv"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    let text = String::from_utf8(app.get(r.body["url"].as_str().unwrap()).await.bytes).unwrap();
    assert!(
        text.starts_with(
            "date,store_id,sku,product_name,lines,quantity,revenue,tax,revenue_before_tax"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "2019-01-05,A,Health-and-beauty,Health and beauty,1,7.000,548.97,26.14,522.83"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("total,,,,3,22.000,1378.55,65.65,1312.90\n"),
        "{text}"
    );

    // The same as a multipart form, as the page sends it: a duplicate of the content.
    let (content_type, body) = multipart::Form::default()
        .field("columns", EXPORT_COLUMNS)
        .field("date_order", "mdy")
        .field("tax_rate", "5")
        .file("file", "export-again.csv", "text/csv", EXPORT.as_bytes())
        .finish();
    let r = app.post("/api/sales/files", &content_type, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert_eq!(r.body["status"], "duplicate");
}

/// `POST /api/sales` with an idempotency key (none when `key` is empty).
async fn record(app: &TestApp, key: &str, body: Value) -> Reply {
    let mut req =
        axum::http::Request::post("/api/sales").header("content-type", "application/json");
    if !key.is_empty() {
        req = req.header("idempotency-key", key);
    }
    app.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

/// Single sales over HTTP: recorded at once and once per key, refused whole on a
/// bad line, and replaced by a file of their store-day (nothing counted twice).
async fn single_sales(app: &TestApp) {
    let line = |sku: &str, q: Value| json!({"store_id": "S7", "sale_date": "2026-11-25", "sku": sku, "quantity": q, "unit_price": 2.5});
    let r = record(
        app,
        "till-1-0001",
        json!({"sales": [line("Q1", json!(2)), line("Q2", json!("1,5"))]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    assert_eq!(r.body["name"], "sales/single/S7/2026-11-25/till-1-0001");
    assert_eq!(stock(app, "Q1").await, "-2.000");
    let daily = "/api/sales/daily?store=S7&from=2026-11-25&to=2026-11-25";
    let days = app.get(daily).await.body["days"].clone();
    assert_eq!(
        (&days[0]["lines"], &days[0]["revenue"]),
        (&json!(2), &json!("8.75")),
        "{days:#}"
    );
    // A retry: 200, nothing changes.
    let r = record(
        app,
        "till-1-0001",
        json!({"sales": [line("Q1", json!(2)), line("Q2", json!("1,5"))]}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::OK, &json!("duplicate")),
        "{:#}",
        r.body
    );
    assert_eq!(stock(app, "Q1").await, "-2.000");
    // Refused, nothing stored.
    for (key, body, status, field, code) in [
        (
            "till-1-0001",
            json!({"sales": [line("Q1", json!(3))]}),
            422,
            "Idempotency-Key",
            "idempotency-key-reused",
        ),
        (
            "till-1-0002",
            json!({"sales": [line("Q1", json!(1)), {"store_id": "S7", "sale_date": "2026-11-31", "sku": "Q1", "quantity": 1, "unit_price": 1}]}),
            422,
            "sales[1].sale_date",
            "bad-date",
        ),
        (
            "till-1-0003",
            json!({"sales": [{"store_id": "S7", "sale_date": "2099-01-01", "sku": "Q1", "quantity": 1, "unit_price": 1}]}),
            422,
            "sales[0].sale_date",
            "future-date",
        ),
        (
            "till-1-0004",
            json!({"sales": []}),
            422,
            "sales",
            "bad-batch",
        ),
        (
            "bad key!",
            json!({"sales": [line("Q1", json!(1))]}),
            422,
            "Idempotency-Key",
            "bad-idempotency-key",
        ),
    ] {
        let r = record(app, key, body).await;
        assert_eq!(r.status.as_u16(), status, "{key}: {:#}", r.body);
        assert_eq!(
            (&r.body["errors"][0]["field"], &r.body["errors"][0]["code"]),
            (&json!(field), &json!(code)),
            "{key}: {:#}",
            r.body
        );
    }
    // JSON numbers read as the numbers they are: 4.99 is 4.99, 1.234 has a third
    // decimal (not a thousands separator).
    let s8 = |price: Value| json!({"sales": [{"store_id": "S8", "sale_date": "2026-11-25", "sku": "Q3", "quantity": 2, "unit_price": price, "total": 9.98}]});
    let r = record(app, "till-2-0001", s8(json!(4.99))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    let days = app
        .get("/api/sales/daily?store=S8&from=2026-11-25&to=2026-11-25")
        .await
        .body["days"]
        .clone();
    assert_eq!(days[0]["revenue"], "9.98", "{days:#}");
    let r = record(app, "till-2-0002", s8(json!(1.234))).await;
    assert_eq!(
        (&r.body["errors"][0]["field"], &r.body["errors"][0]["code"]),
        (&json!("sales[0].unit_price"), &json!("too-many-decimals")),
        "{:#}",
        r.body
    );
    let r = record(app, "", json!({"sales": [line("Q1", json!(1))]})).await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (StatusCode::BAD_REQUEST, &json!("missing-idempotency-key"))
    );
    let r = record(
        app,
        "till-1-0005",
        json!({"sales": [line("Q1", json!(1))], "extra": 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.body);
    assert_eq!(
        stock(app, "Q1").await,
        "-2.000",
        "no refused batch moved stock"
    );
    let r = upload(
        app,
        "name=sales/single/S7/2026-11-25/x",
        "store_id,sale_date,sku,quantity,unit_price\nS7,2026-11-25,Q1,1,1\n",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a file may not take their names"
    );

    // The store-day's file replaces them: its own sales only.
    let r = upload(
        app,
        "name=s7-2026-11-25.csv",
        "store_id,sale_date,sku,quantity,unit_price\nS7,2026-11-25,Q1,5,1.00\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
    assert_eq!(r.body["single_sales_replaced"], 1, "{:#}", r.body);
    assert_eq!(stock(app, "Q1").await, "-5.000");
    assert_eq!(stock(app, "Q2").await, "0.000");
    let days = app.get(daily).await.body["days"].clone();
    assert_eq!(
        (&days[0]["lines"], &days[0]["revenue"]),
        (&json!(1), &json!("5.00")),
        "{days:#}"
    );
    let r = record(
        app,
        "till-1-0001",
        json!({"sales": [line("Q1", json!(2)), line("Q2", json!("1,5"))]}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (StatusCode::CONFLICT, &json!("sales-replaced")),
        "{:#}",
        r.body
    );
}

/// Reads a pt-BR CSV report with Python's csv module as a Brazilian user's script
/// would (`utf-8-sig`, `;`, `,` decimals, dd/mm/aaaa): checks that the lines add up
/// to the total row; prints the first header, the line count and the total.
fn python_reads_pt_br_csv(bytes: &[u8]) -> String {
    use std::io::Write as _;
    const SCRIPT: &str = "import csv, io, sys, datetime\n\
from decimal import Decimal\n\
rows = list(csv.reader(io.StringIO(sys.stdin.buffer.read().decode('utf-8-sig')), delimiter=';'))\n\
head, body, total = rows[0], rows[1:-1], rows[-1]\n\
num = lambda s: Decimal(s.replace(',', '.'))\n\
assert sum(num(r[6]) for r in body) == num(total[6]), (body, total)\n\
assert sum(num(r[5]) for r in body) == num(total[5]), (body, total)\n\
[datetime.datetime.strptime(r[0], '%d/%m/%Y') for r in body]\n\
print(head[0], len(body), total[6])\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (the machine's CPython) runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn open(vars: HashMap<String, String>) -> (Kcl, TestApp) {
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    let app = TestApp::new(router(kcl.services.clone()));
    (kcl, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    let (kcl, app, _dir) = TestApp::open(false, &[]).await;
    scenario(&app, &kcl).await;
    real_export(&app).await;
    single_sales(&app).await;
}

/// A multipart body whose `field` goes on for `megabytes` MiB, produced lazily (the
/// test never holds it), with a file after it.
fn endless_field(b: &str, field: &str, megabytes: usize) -> Body {
    let head = format!("--{b}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n");
    let tail = format!(
        "\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\n\
         store_id,sale_date,sku,quantity,unit_price\r\nS9,2026-11-21,A1,1,2.50\r\n--{b}--\r\n"
    );
    let chunks = std::iter::once(bytes::Bytes::from(head))
        .chain((0..megabytes).map(|_| bytes::Bytes::from(vec![b'a'; 1 << 20])))
        .chain(std::iter::once(bytes::Bytes::from(tail)))
        .map(Ok::<_, std::io::Error>);
    Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_multipart_text_fields_are_refused_without_being_read() {
    let (kcl, app, _dir) = TestApp::open(false, &[]).await;
    let b = "kclHugeField";
    for (uri, field) in [
        ("/api/sales/files", "name"),
        ("/api/sales/files", "policy"),
        ("/ui/sales", "name"),
    ] {
        let content_type = format!("multipart/form-data; boundary={b}");
        let body = endless_field(b, field, 256);
        let r = app.post(uri, &content_type, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri} {field}");
        if uri.starts_with("/api") {
            assert_eq!(r.body["code"], "field-too-long", "{:#}", r.body);
        }
    }
    let r = app.get("/api/sales/summary?group_by=day").await;
    assert_eq!(
        r.body["rows"],
        json!([]),
        "nothing was loaded: {:#}",
        r.body
    );
    kcl.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (kcl, app) = open(HashMap::from([
        ("KCL_DATA_DIR".to_owned(), dir.path().display().to_string()),
        (
            "KCL_REPORTS".to_owned(),
            format!("file://{}", reports.display()),
        ),
    ]))
    .await;
    scenario(&app, &kcl).await;
    real_export(&app).await;
    single_sales(&app).await;
    // Reports went to their own store (KCL_REPORTS), not to the blobs.
    assert!(
        std::fs::read_dir(reports.join("objects/reports"))
            .unwrap()
            .count()
            >= 2,
        "the CSV and the PDF report"
    );
    assert!(kcl.blobs.list("reports/", 10).await.unwrap().is_empty());
    kcl.close().await;
}

#[cfg(feature = "aws")]
use kcl_aws::testkit::TestDatabase;

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (kcl, app) = open(HashMap::from([
        ("KCL_DATABASE_URL".to_owned(), url),
        ("KCL_DATA_DIR".to_owned(), dir.path().display().to_string()),
    ]))
    .await;
    scenario(&app, &kcl).await;
    real_export(&app).await;
    single_sales(&app).await;
    kcl.close().await;
    db.drop_now().await;
}

/// The sales page shows the schedule of reports and, once a day ran, its reports,
/// each a download link that serves the file; without a schedule, how to set one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sales_page_shows_scheduled_reports() {
    let (_kcl, plain, _d) = TestApp::open(true, &[]).await;
    let page = plain.get("/sales").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("KCL_REPORT_SCHEDULE=daily 06:00"),
        "{}",
        page.text
    );

    let (kcl, app, _dir) = TestApp::open(
        true,
        &[
            ("KCL_REPORT_SCHEDULE", "daily 00:00"),
            ("KCL_REPORT_TZ", "UTC"),
        ],
    )
    .await;
    let page = app.get("/sales").await;
    assert!(
        page.text.contains("Every day at 00:00 (UTC)"),
        "{}",
        page.text
    );
    assert!(page.text.contains("No run yet."), "{}", page.text);
    let yesterday = chrono::Utc::now().date_naive().pred_opt().unwrap();
    let r = upload(
        &app,
        "name=yesterday.csv",
        format!("store_id,sale_date,sku,quantity,unit_price\nS1,{yesterday},A,1,2.00\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let run = kcl
        .services
        .sales
        .run_scheduled_reports()
        .await
        .unwrap()
        .expect("yesterday is due");
    assert_eq!(run.day, yesterday);
    let page = app.get("/sales").await;
    let name = format!("daily-{yesterday}-S1.csv");
    assert!(
        page.text.contains(&format!("href=\"/api/reports/{name}\"")),
        "{}",
        page.text
    );
    let report = app.get(&format!("/api/reports/{name}")).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(
        report.text.contains(&format!("{yesterday},S1,A")),
        "{}",
        report.text
    );
}
