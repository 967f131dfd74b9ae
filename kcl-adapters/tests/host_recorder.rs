//! A host's own metrics recorder (a process of its own: the recorder is global):
//! building KCL's router installs nothing, so the host installs its recorder after
//! it as well as before, KCL's series land in it, and `/metrics` serves the host's
//! handle when given it.
#![cfg(feature = "http")]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kcl_adapters::http::metrics::MetricsExport;
use kcl_adapters::http::{router, router_with, HttpOptions};
use kcl_core::memory::MemoryBackend;
use metrics_exporter_prometheus::PrometheusBuilder;
use tower::ServiceExt;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_hosts_recorder_installed_after_the_router_gets_kcls_series() {
    // KCL's router first, with its defaults: it records, but installs nothing...
    let kcl = router(MemoryBackend::new().services());
    assert_eq!(get(&kcl, "/metrics").await.0, StatusCode::NOT_FOUND);
    // ...so the host's own recorder still goes in afterwards.
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("no recorder was installed before the host's");
    get(&kcl, "/api/books?limit=3").await;
    let series = handle.render();
    assert!(
        series.contains("kcl_http_requests_total") && series.contains("route=\"/api/books\""),
        "{series}"
    );
    // Given the handle, KCL serves it as its `/metrics`.
    let served = router_with(
        MemoryBackend::new().services(),
        HttpOptions::default().metrics(MetricsExport::Prometheus(handle)),
    );
    let (status, text) = get(&served, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("kcl_http_requests_total"), "{text}");
    // Off: nothing recorded, no route.
    let off = router_with(
        MemoryBackend::new().services(),
        HttpOptions::default().metrics(MetricsExport::Off),
    );
    assert_eq!(get(&off, "/metrics").await.0, StatusCode::NOT_FOUND);
}
