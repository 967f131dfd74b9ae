//! The production runtime as a user starts it: TLS to PostgreSQL and Redis with the
//! configuration's variables (and secrets from `_FILE`s), against the TLS-only
//! servers `scripts/services.sh` starts with a CA of its own. Every failure stops the
//! start with a message that names the variable and never the password. Skipped when
//! the servers are not set, unless `KCL_TEST_REQUIRE_ALL=1`.

#![cfg(feature = "aws")]

use std::collections::HashMap;

use kcl::{Config, Kcl};

use kcl_core::testkit::services::{tls_servers, TlsServers};

/// The TLS servers, with a password in the PostgreSQL URL (the server trusts anyone:
/// it is there to be hidden).
fn tls() -> Option<TlsServers> {
    tls_servers().map(|mut t| {
        t.postgres = t
            .postgres
            .replacen("postgres@", "postgres:hunter2-secret@", 1);
        t
    })
}

fn config(pairs: &[(&str, String)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("KCL_BLOBS".to_owned(), "memory://".to_owned()),
        ("KCL_AUTH_JWT_SECRET".to_owned(), "x".repeat(32)),
    ]);
    for (k, v) in pairs {
        vars.insert((*k).to_owned(), v.clone());
    }
    Config::from_vars(&vars).expect("a valid configuration")
}

async fn start_error(config: &Config) -> String {
    match Kcl::open(config).await {
        Ok(kcl) => {
            kcl.close().await;
            panic!("started, but should not have")
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains("hunter2"), "the password leaked: {text}");
            text
        }
    }
}

#[tokio::test]
async fn the_aws_profile_starts_over_verified_tls_with_secrets_from_files() {
    let Some(t) = tls() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("database-url");
    std::fs::write(
        &db_file,
        format!(
            "{}?sslmode=verify-full&sslrootcert={}\n",
            t.postgres,
            t.ca.display()
        ),
    )
    .unwrap();
    let config = config(&[
        ("KCL_DATABASE_URL_FILE", db_file.display().to_string()),
        ("KCL_CACHE_URL", t.redis.clone()),
        ("KCL_CACHE_CA_FILE", t.ca.display().to_string()),
    ]);
    assert!(!config.database.describe().contains("hunter2"));
    let kcl = Kcl::open(&config).await.expect("starts over TLS");
    let (ready, reports) = kcl.services.health.check().await;
    let names: Vec<_> = reports
        .iter()
        .map(|r| (r.name.as_str(), r.status))
        .collect();
    assert!(ready, "{reports:?}");
    assert!(
        names.contains(&("cache", "ok")),
        "the TLS cache answers: {names:?}"
    );
    assert!(
        reports.iter().all(|r| r.status == "ok"),
        "every probe passes over TLS: {reports:?}"
    );
    kcl.close().await;
}

#[tokio::test]
async fn a_wrong_ca_a_missing_ca_or_no_encryption_stops_the_start_naming_the_variable() {
    let Some(t) = tls() else { return };
    let pg = |query: String| config(&[("KCL_DATABASE_URL", format!("{}?{query}", t.postgres))]);

    let e = start_error(&pg(format!(
        "sslmode=verify-full&sslrootcert={}",
        t.wrong_ca.display()
    )))
    .await;
    assert!(e.starts_with("KCL_DATABASE_URL"), "{e}");
    assert!(e.to_lowercase().contains("certificate"), "{e}");

    let e = start_error(&pg("sslmode=disable".into())).await;
    assert!(e.starts_with("KCL_DATABASE_URL"), "{e}");

    let e = start_error(&pg(
        "sslmode=verify-full&sslrootcert=/nonexistent/rds.pem".into()
    ))
    .await;
    assert!(e.starts_with("KCL_DATABASE_URL"), "{e}");
    assert!(e.contains("/nonexistent/rds.pem"), "{e}");

    let redis = |ca: &std::path::Path| {
        config(&[
            ("KCL_DATABASE_URL", "memory://".into()),
            (
                "KCL_CACHE_URL",
                t.redis
                    .replacen("rediss://", "rediss://:hunter2-secret@", 1),
            ),
            ("KCL_CACHE_CA_FILE", ca.display().to_string()),
        ])
    };
    let e = start_error(&redis(&t.wrong_ca)).await;
    assert!(e.starts_with("KCL_CACHE_URL with KCL_CACHE_CA_FILE"), "{e}");
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    let e = start_error(&redis("/nonexistent/ca.pem".as_ref())).await;
    assert!(e.contains("KCL_CACHE_CA_FILE=/nonexistent/ca.pem"), "{e}");
}

use kcl_aws::testkit::TestDatabase;

#[tokio::test]
async fn on_postgresql_queued_tasks_survive_a_restart_without_naming_a_queue() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url().to_owned();
    let config = config(&[("KCL_DATABASE_URL", url)]);
    assert_eq!(config.queue, kcl::config::QueueKind::Postgres);
    let kcl = Kcl::open(&config).await.unwrap();
    kcl.tasks
        .send(r#"{"bucket":"b","key":"uploads/a.jpg"}"#)
        .await
        .unwrap();
    kcl.ocr_tasks.send(r#"{"job_id":"j"}"#).await.unwrap();
    kcl.close().await;

    // A new process: the tasks are still there.
    let kcl = Kcl::open(&config).await.unwrap();
    let got = kcl
        .tasks
        .receive(10, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].body.contains("uploads/a.jpg"));
    if cfg!(feature = "tesseract") {
        let ocr = kcl
            .ocr_tasks
            .receive(10, std::time::Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(ocr.len(), 1, "OCR tasks have their own durable queue");
    }
    kcl.close().await;
    db.drop_now().await;
}

/// `KCL_DATABASE_MIGRATE=verify`: a server refuses a database whose schema is
/// behind, naming `kcl migrate`, and starts once it has run.
#[tokio::test]
async fn a_server_that_only_verifies_the_schema_waits_for_kcl_migrate() {
    let Some(db) = kcl_aws::testkit::TestDatabase::create().await else {
        return;
    };
    let verify = config(&[
        ("KCL_DATABASE_URL", db.url().to_owned()),
        ("KCL_DATABASE_MIGRATE", "verify".to_owned()),
        ("KCL_DATABASE_MAX_CONNECTIONS", "3".to_owned()),
    ]);
    let e = start_error(&verify).await;
    assert!(
        e.contains("KCL_DATABASE_URL") && e.contains("kcl migrate"),
        "{e}"
    );
    // What `kcl migrate` does.
    kcl_aws::PgStore::connect(db.url())
        .await
        .unwrap()
        .close()
        .await;
    let kcl = Kcl::open(&verify).await.expect("an up-to-date schema");
    kcl.close().await;
}

/// `KCL_DATABASE_SCHEMA=kcl`: KCL's tables (and its migration records) in a schema
/// of their own, created at the first start, beside a host's own `books` table in
/// `public`, which KCL never touches.
#[tokio::test]
async fn kcls_tables_live_in_their_own_schema_beside_the_hosts() {
    let Some(db) = kcl_aws::testkit::TestDatabase::create().await else {
        return;
    };
    let host =
        kcl_aws::PgStore::connect_without_migrating(db.url(), kcl_aws::PgStore::pool_options())
            .await
            .unwrap();
    let host = host.pool();
    sqlx::raw_sql("CREATE TABLE public.books (isbn TEXT PRIMARY KEY); INSERT INTO public.books VALUES ('host')")
        .execute(host)
        .await
        .unwrap();
    let c = config(&[
        ("KCL_DATABASE_URL", db.url().to_owned()),
        ("KCL_DATABASE_SCHEMA", "kcl".to_owned()),
    ]);
    let kcl = Kcl::open(&c).await.expect("KCL in its schema");
    let draft = kcl::domain::BookDraft::builder("Iracema", "José de Alencar", "85-359-1066-2")
        .year(1865)
        .build()
        .unwrap();
    kcl.services
        .catalog
        .create(draft)
        .await
        .expect("a book of KCL's");
    kcl.close().await;
    // A second start finds its records and applies nothing again.
    Kcl::open(&c).await.expect("started again").close().await;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(host)
            .await
            .unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM kcl.books").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM public.books").await, 1);
    assert!(count("SELECT COUNT(*) FROM kcl._kcl_migrations").await >= 10);
    let public_migrations: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('public._kcl_migrations')::text")
            .fetch_one(host)
            .await
            .unwrap();
    assert_eq!(public_migrations, None);
    // SQLite has no schemas.
    let mut vars =
        std::collections::HashMap::from([("KCL_DATABASE_SCHEMA".to_owned(), "kcl".to_owned())]);
    vars.insert("KCL_DATA_DIR".into(), "/nonexistent".into());
    assert_eq!(
        Config::from_vars(&vars).unwrap_err().variable,
        "KCL_DATABASE_SCHEMA"
    );
}
