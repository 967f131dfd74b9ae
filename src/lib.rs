#![doc = include_str!("../README.md")]
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
mod cloud;
pub mod config;
#[cfg(feature = "lambda")]
mod lambdas;
mod runtime;
#[cfg(feature = "http")]
mod server;
#[cfg(feature = "worker")]
mod workers;

pub use config::{Config, ConfigError};
pub use kcl_core::{domain, memory, ports, services, ServiceError, Services};
#[cfg(all(feature = "lambda", feature = "http"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "lambda", feature = "http"))))]
pub use lambdas::http_lambda_from_env;
#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
pub use lambdas::{ingest_lambda_from_env, reports_lambda_from_env, thumbnail_lambda_from_env};
#[cfg(any(feature = "local", feature = "aws"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "local", feature = "aws"))))]
pub use runtime::Database;
pub use runtime::{Kcl, StartError};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use server::{http_options, serve_from_env};
#[cfg(feature = "worker")]
#[cfg_attr(docsrs, doc(cfg(feature = "worker")))]
pub use workers::{run_worker, spawn_workers, work_from_env, WorkerOptions};

/// The HTTP host (axum router, REST API, web UI).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use kcl_adapters::http;

/// The queue worker host.
#[cfg(feature = "worker")]
#[cfg_attr(docsrs, doc(cfg(feature = "worker")))]
pub use kcl_adapters::worker;

/// The media adapters (the image thumbnailer).
#[cfg(feature = "media")]
#[cfg_attr(docsrs, doc(cfg(feature = "media")))]
pub use kcl_media as media;

/// The file-format adapters (the CSV row spool; Parquet curated copies and PDF
/// reports with the `parquet` and `pdf` features).
pub use kcl_formats as formats;

/// Lambda handlers.
#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
pub use kcl_adapters::lambda;

/// The embedded adapters (SQLite, files, SQLite queue).
#[cfg(feature = "local")]
#[cfg_attr(docsrs, doc(cfg(feature = "local")))]
pub use kcl_local as local;

/// The AWS profile's adapters (PostgreSQL, Redis, S3, SQS, DynamoDB).
#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub use kcl_aws as aws;

/// Conformance kits, to prove your own adapter honours a port's contract.
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub use kcl_core::testkit;

/// Makes sure `OMP_THREAD_LIMIT=1` is in this process's environment before Tesseract's
/// OpenMP runtime reads it (at library load, before `main`): when it is missing, the
/// program starts itself again with it set (Unix), so every host runs Tesseract one
/// thread per engine. Call it first thing in `main`; a no-op when already set or
/// without the `tesseract` feature.
pub fn ensure_omp_thread_limit() {
    #[cfg(all(unix, feature = "tesseract"))]
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OMP_THREAD_LIMIT", "1")
                .exec();
            // Only reached when the new image could not start: go on as we are.
            eprintln!("kcl: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR will be slower");
        }
    }
}

/// Installs the process's TLS crypto provider (rustls on aws-lc-rs, the one the AWS
/// SDK uses) unless one is installed already. With two providers built in, rustls
/// panics at the first handshake that needs the default (a `verify-full`
/// PostgreSQL connection with a custom CA, for one); every KCL host calls this
/// first thing, and so does [`Kcl::open`]. A no-op without the `aws` feature.
pub fn install_crypto_provider() {
    #[cfg(feature = "aws")]
    kcl_aws::install_crypto_provider();
}

/// The log filter and format a host starts with: `(filter, json)`.
///
/// The filter is `KCL_LOG`, else (Lambda only) `AWS_LAMBDA_LOG_LEVEL` (Lambda's
/// advanced logging controls: `TRACE` ... `FATAL`), else `RUST_LOG`, else `info`.
/// JSON lines when `KCL_LOG_FORMAT=json`, or (Lambda only) when
/// `AWS_LAMBDA_LOG_FORMAT=JSON` and `KCL_LOG_FORMAT` is unset.
///
/// ```
/// let env = |vars: &'static [(&'static str, &'static str)]| {
///     move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
/// };
/// assert_eq!(kcl::log_settings(env(&[]), false), ("info".into(), false));
/// assert_eq!(kcl::log_settings(env(&[("RUST_LOG", "debug")]), false).0, "debug");
/// let lambda = env(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
/// assert_eq!(kcl::log_settings(lambda, true), ("warn".into(), true));
/// assert_eq!(kcl::log_settings(env(&[("KCL_LOG", "kcl=trace"), ("RUST_LOG", "off")]), false).0, "kcl=trace");
/// ```
pub fn log_settings(var: impl Fn(&str) -> Option<String>, lambda: bool) -> (String, bool) {
    let var = |k: &str| {
        var(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let lambda_level = || {
        var("AWS_LAMBDA_LOG_LEVEL").map(|l| match l.to_ascii_lowercase().as_str() {
            "fatal" => "error".to_owned(),
            other => other.to_owned(),
        })
    };
    let filter = var("KCL_LOG")
        .or_else(|| if lambda { lambda_level() } else { None })
        .or_else(|| var("RUST_LOG"))
        .unwrap_or_else(|| "info".into());
    let json = match var("KCL_LOG_FORMAT") {
        Some(f) => f == "json",
        None => {
            lambda && var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"))
        }
    };
    (filter, json)
}

/// Installs `$builder` (a `tracing_subscriber::fmt()` builder) with the filter and
/// format of [`log_settings`]. A macro: the builders of [`init_tracing`] and
/// [`init_lambda_tracing`] are of different types.
macro_rules! init_subscriber {
    ($builder:expr, $lambda:expr) => {{
        let (filter, json) = log_settings(|k| std::env::var(k).ok(), $lambda);
        let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
            eprintln!("kcl: log filter {filter:?} ignored ({e}); logging at info");
            tracing_subscriber::EnvFilter::new("info")
        });
        let builder = $builder.with_env_filter(filter);
        if json {
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .init();
        } else {
            builder.init();
        }
    }};
}

/// Logs to stderr with the filter in `KCL_LOG` (else `RUST_LOG`, else `info`), as
/// the hosts do: text, or one JSON object per line with `KCL_LOG_FORMAT=json` (each
/// line carries its spans' fields, such as a request's `request_id`).
pub fn init_tracing() {
    init_subscriber!(
        tracing_subscriber::fmt().with_writer(|| OneLinePerEvent(std::io::stderr())),
        false
    );
}

/// Logs for a Lambda function: like [`init_tracing`] but without timestamps, which
/// CloudWatch adds itself, and honouring Lambda's log controls
/// (`AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT`) where `KCL_LOG` /
/// `KCL_LOG_FORMAT` are unset. Also installs the TLS crypto provider
/// ([`install_crypto_provider`]): call it first thing in a Lambda's `main`.
pub fn init_lambda_tracing() {
    install_crypto_provider();
    init_subscriber!(
        tracing_subscriber::fmt()
            .without_time()
            .with_writer(|| OneLinePerEvent(std::io::stdout())),
        true
    );
}

/// A log writer that keeps each event on one line: line breaks inside an event
/// (a user name or an object key with a newline, logged with `%`) are written as
/// `\n` and `\r`, so a client cannot forge log lines. The formatter writes each
/// event whole, ending with its one newline; JSON lines are escaped already.
///
/// ```
/// use std::io::Write;
/// let mut out = Vec::new();
/// kcl::OneLinePerEvent(&mut out)
///     .write_all(b"WARN failed login user=ana\nINFO forged line\n")
///     .unwrap();
/// assert_eq!(out, b"WARN failed login user=ana\\nINFO forged line\n");
/// ```
#[derive(Debug)]
pub struct OneLinePerEvent<W>(pub W);

impl<W: std::io::Write> std::io::Write for OneLinePerEvent<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let (body, end) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (buf, &b""[..]),
        };
        if !body.iter().any(|b| matches!(b, b'\n' | b'\r')) {
            return self.0.write_all(buf);
        }
        let mut line = Vec::with_capacity(buf.len() + 8);
        for &b in body {
            match b {
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                _ => line.push(b),
            }
        }
        line.extend_from_slice(end);
        self.0.write_all(&line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Completes on Ctrl-C or SIGTERM (a load balancer's or an orchestrator's stop): the
/// shutdown signal of the server and worker hosts.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// The third-party crates whose types KCL's public API names, at the versions KCL
/// is built with: name them through here (`kcl::deps::axum::Router`,
/// `kcl::deps::sqlx::PgPool`) and your code always agrees with KCL's. A new major
/// version of any of them is a breaking release of KCL, listed in `CHANGELOG.md`;
/// the rule is in `docs/architecture.md` ("Third-party types in the API").
pub mod deps {
    #[cfg(any(feature = "http", feature = "lambda"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "http", feature = "lambda"))))]
    pub use kcl_adapters::deps::*;
    #[cfg(all(feature = "aws", not(feature = "local")))]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
    pub use kcl_aws::sqlx;
    #[cfg(feature = "local")]
    #[cfg_attr(docsrs, doc(cfg(feature = "local")))]
    pub use kcl_local::sqlx;
}
