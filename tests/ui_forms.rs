//! Forms the server refuses come back as the user filled them in: a sales upload
//! (its policy and its file's own format), a single sale, an OCR job's name. Only
//! the files must be chosen again (a page cannot choose files for its user).
#![cfg(feature = "http")]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use kcl::http::{router, router_with, HttpOptions};
use kcl_core::memory::MemoryBackend;

#[path = "support/app.rs"]
mod app;
#[path = "support/multipart.rs"]
mod multipart;
use app::TestApp;
use multipart::Form;

fn app() -> TestApp {
    TestApp::new(router(MemoryBackend::new().services()))
}

#[tokio::test]
async fn a_refused_sales_upload_keeps_its_policy_and_format() {
    let app = app();
    // A mapping that names a column KCL does not have: refused before any row.
    let (ct, body) = Form::default()
        .field("policy", "strict")
        .field("columns", "store_id:Branch,colour:Shade")
        .field("date_order", "mdy")
        .field("tax_rate", "5")
        .file(
            "file",
            "branch.csv",
            "text/csv",
            b"Branch,Date\nA,1/2/2026\n",
        )
        .finish();
    let r = app.post("/ui/sales", &ct, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    assert!(
        r.text.contains("value=\"store_id:Branch,colour:Shade\""),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("<option value=\"strict\" selected>"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("<option value=\"mdy\" selected>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("value=\"5\""), "{}", r.text);
    // The file's own format is shown open, since it was filled in.
    assert!(r.text.contains("<details open>"), "{}", r.text);

    // A file refused whole (strict, a bad row): its report, then the form again.
    let (ct, body) = Form::default()
        .field("policy", "strict")
        .field("tax_rate", "")
        .file(
            "file",
            "day.csv",
            "text/csv",
            b"store_id,sale_date,sku,quantity,unit_price\nS1,2026-11-02,A-1,2,3.50\nS1,2026-11-02,A-2,two,3.50\n",
        )
        .finish();
    let r = app.post("/ui/sales", &ct, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("Try again"), "{}", r.text);
    assert!(
        r.text.contains("<option value=\"strict\" selected>"),
        "{}",
        r.text
    );
    // A file loaded: no form to try again.
    let (ct, body) = Form::default()
        .file(
            "file",
            "good.csv",
            "text/csv",
            b"store_id,sale_date,sku,quantity,unit_price\nS1,2026-11-02,A-1,2,3.50\n",
        )
        .finish();
    let r = app.post("/ui/sales", &ct, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains("Try again"), "{}", r.text);
}

#[tokio::test]
async fn a_refused_sale_keeps_what_was_typed_and_its_key() {
    let app = app();
    let form =
        "key=form-key-1&store_id=BR-7&sale_date=2026-11-02&sku=RT-1&quantity=two&unit_price=3%2C50";
    let r = app
        .post(
            "/ui/sales/single",
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    for kept in [
        "value=\"form-key-1\"",
        "value=\"BR-7\"",
        "value=\"2026-11-02\"",
        "value=\"RT-1\"",
        "value=\"two\"",
        "value=\"3,50\"",
    ] {
        assert!(r.text.contains(kept), "{kept}: {}", r.text);
    }
    // The quantity is marked, and said what is wrong with, where it is.
    let quantity = r
        .text
        .split("name=\"quantity\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_default();
    assert!(quantity.contains("aria-invalid=\"true\""), "{quantity}");
    assert!(r.text.contains("id=\"sale-quantity-error\""), "{}", r.text);

    // Corrected under the same key, it is recorded once.
    let fixed = form.replace("quantity=two", "quantity=2");
    let r = app
        .post(
            "/ui/sales/single",
            "application/x-www-form-urlencoded",
            fixed.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let again = app
        .post(
            "/ui/sales/single",
            "application/x-www-form-urlencoded",
            fixed,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert!(again.text.contains("Already loaded"), "{}", again.text);

    // The same key with other lines (the browser's back, a changed quantity): the
    // key is what is refused, so the form comes back with a new one, and sending
    // it records the sale.
    let changed = form.replace("quantity=two", "quantity=3");
    let r = app
        .post(
            "/ui/sales/single",
            "application/x-www-form-urlencoded",
            changed,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"3\""), "{}", r.text);
    assert!(!r.text.contains("value=\"form-key-1\""), "{}", r.text);
    let key = r
        .text
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's key")
        .to_owned();
    let resent = format!(
        "key={key}&store_id=BR-7&sale_date=2026-11-02&sku=RT-1&quantity=3&unit_price=3%2C50"
    );
    let r = app
        .post(
            "/ui/sales/single",
            "application/x-www-form-urlencoded",
            resent,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn a_refused_ocr_job_keeps_its_name() {
    let app = app();
    let (ct, body) = Form::default()
        .field("name", "Recibos de março")
        .file("images", "notes.txt", "text/plain", b"not an image at all")
        .finish();
    let r = app.post("/ui/jobs", &ct, body).await;
    // Refused: a file that is not an image, or (the in-memory services have no
    // OCR engine) OCR not enabled in this build.
    assert!(
        r.status.is_client_error() || r.status == StatusCode::SERVICE_UNAVAILABLE,
        "{}: {}",
        r.status,
        r.text
    );
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert!(r.text.contains("value=\"Recibos de março\""), "{}", r.text);
    assert!(r.text.contains("name=\"images\""), "{}", r.text);
}

#[tokio::test]
async fn a_refused_form_in_portuguese() {
    let app = TestApp::new(router_with(
        MemoryBackend::new().services(),
        HttpOptions::default().locale(kcl_core::domain::Locale::PtBr),
    ));
    let book = "title=&author=Machado&isbn=978-85-359-1066-7&category=Romance&year=1899&price=39%2C90&copies=1&summary=";
    let req = Request::post("/ui/books")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(book))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("<html lang=\"pt-BR\">"), "{}", r.text);
    assert!(r.text.contains("Adicionar um livro"), "{}", r.text);
    // The field's problem by its code, in Portuguese; what was typed, kept.
    assert!(r.text.contains("não pode ficar vazio"), "{}", r.text);
    assert!(r.text.contains("value=\"Machado\""), "{}", r.text);
    assert!(r.text.contains("value=\"39,90\""), "{}", r.text);
}
