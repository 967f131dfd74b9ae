//! The HTTP router as a Lambda function: fixture events of API Gateway (HTTP API v2
//! and REST API v1) and an ALB go through `lambda_http`'s adapter, exactly as
//! `examples/lambda_http.rs` runs them, and the serialized responses are checked.
#![cfg(all(feature = "lambda", feature = "http", feature = "media"))]

use std::time::Duration;

use base64::Engine;
use kcl::http::auth::{AuthSettings, Role, TokenIssuer};
use kcl::http::{router_with, HttpOptions};
use kcl::lambda::lambda_http::request::LambdaRequest;
use kcl::lambda::lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;

#[path = "support/memory.rs"]
mod support;

const SECRET: &[u8] = b"lambda http test secret, 32+ bytes long";

async fn app() -> (kcl::Kcl, axum::Router) {
    let kcl = support::memory_kcl().await;
    let options = HttpOptions::default().auth(AuthSettings::new(SECRET.to_vec()).unwrap());
    let router = router_with(kcl.services.clone(), options);
    (kcl, router)
}

/// Invokes the router with a fixture event (placeholders replaced) and returns the
/// response as Lambda would serialize it.
async fn invoke(router: &axum::Router, fixture: &str, vars: &[(&str, &str)]) -> Value {
    let path = format!(
        "{}/tests/fixtures/lambda/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(path).unwrap();
    for (k, v) in vars {
        text = text.replace(&format!("{{{k}}}"), v);
    }
    let request: LambdaRequest = serde_json::from_str(&text).unwrap();
    let mut adapter = Adapter::from(router.clone());
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(response).unwrap()
}

fn body_json(response: &Value) -> Value {
    let body = response["body"].as_str().unwrap_or_default();
    let bytes = if response["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    } else {
        body.as_bytes().to_vec()
    };
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn header<'a>(response: &'a Value, name: &str) -> Option<&'a str> {
    response["headers"][name]
        .as_str()
        .or_else(|| response["multiValueHeaders"][name][0].as_str())
}

#[tokio::test]
async fn api_gateway_and_alb_events_reach_the_router() {
    // As examples/lambda_http.rs sets it: REST API paths carry the stage (`/prod/...`).
    std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    let (_kcl, router) = app().await;
    let admin = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "lambda",
        Role::Admin,
        Duration::from_secs(300),
    );

    // ALB health check: no token needed.
    let r = invoke(&router, "alb_health_live.json", &[]).await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert_eq!(body_json(&r)["status"], "ok");

    // REST API (v1): create a book, with the request id passed through.
    let r = invoke(&router, "apigw_v1_create_book.json", &[("TOKEN", &admin)]).await;
    assert_eq!(r["statusCode"], 201, "{r}");
    let book = body_json(&r);
    assert_eq!(book["title"], "Dom Casmurro");
    assert_eq!(header(&r, "x-request-id"), Some("apigw-v1-req"));
    let id = book["id"].as_str().unwrap().to_owned();

    // HTTP API (v2): list with a query string.
    let r = invoke(&router, "apigw_v2_list_books.json", &[("TOKEN", &admin)]).await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let page = body_json(&r);
    assert_eq!(page["items"][0]["id"], id.as_str());

    // Without a valid token: 401 with a problem document, through Lambda too.
    let r = invoke(&router, "apigw_v2_list_books.json", &[("TOKEN", "nope")]).await;
    assert_eq!(r["statusCode"], 401, "{r}");
    assert_eq!(body_json(&r)["code"], "unauthenticated");
    assert_eq!(header(&r, "content-type"), Some("application/problem+json"));

    // A binary upload arrives base64-encoded and is decoded for the router.
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(16, 16)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD.encode(png.into_inner());
    let r = invoke(
        &router,
        "apigw_v2_upload_cover.json",
        &[("TOKEN", &admin), ("BOOK_ID", &id), ("PNG_BASE64", &png)],
    )
    .await;
    assert_eq!(r["statusCode"], 202, "{r}");
    assert_eq!(body_json(&r)["status"], "PENDING");
}
