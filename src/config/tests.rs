//! `Config::from_vars` on every variable: defaults, profiles, secrets, errors.

use std::collections::HashMap;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_the_embedded_profile() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(
        c.database,
        DatabaseConfig::Sqlite("./kcl-data/kcl.db".into())
    );
    assert_eq!(c.blobs, BlobsConfig::File("./kcl-data/blobs".into()));
    assert_eq!(c.queue, QueueKind::Sqlite);
    assert_eq!(c.http_backlog, 4096);
}

#[test]
fn the_listen_backlog_is_a_bounded_number() {
    let c = Config::from_vars(&vars(&[("KCL_HTTP_BACKLOG", "1024")])).unwrap();
    assert_eq!(c.http_backlog, 1024);
    for bad in ["0", "70000", "many"] {
        let e = Config::from_vars(&vars(&[("KCL_HTTP_BACKLOG", bad)])).unwrap_err();
        assert_eq!(e.variable, "KCL_HTTP_BACKLOG", "{e}");
    }
}

#[test]
fn postgres_urls_choose_postgres_and_never_print_the_password() {
    let c = Config::from_vars(&vars(&[(
        "KCL_DATABASE_URL",
        "postgres://u:pw@db:5432/kcl",
    )]))
    .unwrap();
    assert_eq!(
        c.database,
        DatabaseConfig::Postgres("postgres://u:pw@db:5432/kcl".into())
    );
    assert_eq!(
        c.queue,
        QueueKind::Postgres,
        "a durable queue in the database, never a silent memory queue"
    );
    let c = Config::from_vars(&vars(&[("KCL_DATABASE_URL", "memory://")])).unwrap();
    assert_eq!(c.queue, QueueKind::Memory);
    let e = Config::from_vars(&vars(&[("KCL_QUEUE", "postgres")])).unwrap_err();
    assert_eq!(e.variable, "KCL_QUEUE", "no PostgreSQL database: {e}");
    let e =
        Config::from_vars(&vars(&[("KCL_DATABASE_URL", "mysql://u:secret@db/kcl")])).unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
    assert!(e.to_string().contains("u:***@db"), "{e}");
}

#[test]
fn read_replicas_are_postgres_urls_of_a_postgres_database() {
    let primary = ("KCL_DATABASE_URL", "postgres://kcl:pw@primary/kcl");
    let c = Config::from_vars(&vars(&[
        primary,
        (
            "KCL_DATABASE_READ_URL",
            " postgres://kcl:pw@r1/kcl , postgresql://kcl:pw@r2/kcl,",
        ),
    ]))
    .unwrap();
    assert_eq!(
        c.database_read_urls,
        ["postgres://kcl:pw@r1/kcl", "postgresql://kcl:pw@r2/kcl"]
    );
    assert!(!format!("{c:?}").contains("pw@"), "{c:?}");
    assert!(Config::from_vars(&vars(&[primary]))
        .unwrap()
        .database_read_urls
        .is_empty());
    let e = Config::from_vars(&vars(&[(
        "KCL_DATABASE_READ_URL",
        "postgres://kcl:secret@r1/kcl",
    )]))
    .unwrap_err();
    assert_eq!(
        e.variable, "KCL_DATABASE_READ_URL",
        "SQLite has no replicas: {e}"
    );
    assert!(!e.to_string().contains("secret"), "{e}");
    let e = Config::from_vars(&vars(&[
        primary,
        (
            "KCL_DATABASE_READ_URL",
            "postgres://r1/kcl,mysql://u:secret@r2/kcl",
        ),
    ]))
    .unwrap_err();
    assert_eq!(e.variable, "KCL_DATABASE_READ_URL");
    assert!(e.to_string().contains("mysql://u:***@r2"), "{e}");
    assert!(!e.to_string().contains("secret"), "{e}");
}

#[test]
fn secrets_come_from_files_without_ever_being_printed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::write(&db, "postgres://kcl:pa55word@db/kcl\n").unwrap();
    let jwt = dir.path().join("jwt");
    std::fs::write(&jwt, "0123456789abcdef0123456789abcdef\r\n").unwrap();
    let cache = dir.path().join("cache");
    std::fs::write(&cache, "rediss://:cachepw@cache:6379").unwrap();
    let c = Config::from_vars(&vars(&[
        ("KCL_DATABASE_URL_FILE", db.to_str().unwrap()),
        ("KCL_AUTH_JWT_SECRET_FILE", jwt.to_str().unwrap()),
        ("KCL_CACHE_URL_FILE", cache.to_str().unwrap()),
    ]))
    .unwrap();
    assert_eq!(
        c.database,
        DatabaseConfig::Postgres("postgres://kcl:pa55word@db/kcl".into()),
        "one trailing newline stripped"
    );
    assert_eq!(
        c.auth.jwt_secret.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!(c.cache_url.as_deref(), Some("rediss://:cachepw@cache:6379"));
    let shown = format!("{c:?} {}", c.database.describe());
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    assert!(!shown.contains("pa55word"), "{shown}");
    assert!(!shown.contains("cachepw"), "{shown}");
    assert!(c.database.describe().contains("kcl:***@db"));

    // Both forms: an error naming the _FILE variable.
    let e = Config::from_vars(&vars(&[
        ("KCL_DATABASE_URL_FILE", db.to_str().unwrap()),
        ("KCL_DATABASE_URL", "postgres://other/kcl"),
    ]))
    .unwrap_err();
    assert_eq!(e.variable, "KCL_DATABASE_URL_FILE");
    // Unreadable or empty: an error naming the variable and the path only.
    let e =
        Config::from_vars(&vars(&[("KCL_AUTH_JWT_SECRET_FILE", "/nonexistent/jwt")])).unwrap_err();
    assert_eq!(e.variable, "KCL_AUTH_JWT_SECRET_FILE");
    assert!(e.to_string().contains("/nonexistent/jwt"), "{e}");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let e =
        Config::from_vars(&vars(&[("KCL_CACHE_URL_FILE", empty.to_str().unwrap())])).unwrap_err();
    assert_eq!(e.variable, "KCL_CACHE_URL_FILE");
    // A bad value read from a file is reported without the password.
    std::fs::write(&db, "mysql://kcl:pa55word@db/kcl\n").unwrap();
    let e =
        Config::from_vars(&vars(&[("KCL_DATABASE_URL_FILE", db.to_str().unwrap())])).unwrap_err();
    assert_eq!(e.variable, "KCL_DATABASE_URL");
    assert!(!e.to_string().contains("pa55word"), "{e}");
    // A short secret from a file: refused without repeating it.
    std::fs::write(&jwt, "short-secret\n").unwrap();
    let e = Config::from_vars(&vars(&[(
        "KCL_AUTH_JWT_SECRET_FILE",
        jwt.to_str().unwrap(),
    )]))
    .unwrap_err();
    assert!(!e.to_string().contains("short-secret"), "{e}");
}

#[test]
fn a_cache_ca_needs_a_tls_cache_url() {
    let e = Config::from_vars(&vars(&[
        ("KCL_CACHE_URL", "redis://cache:6379"),
        ("KCL_CACHE_CA_FILE", "/etc/ca.pem"),
    ]))
    .unwrap_err();
    assert_eq!(e.variable, "KCL_CACHE_CA_FILE");
    let c = Config::from_vars(&vars(&[
        ("KCL_CACHE_URL", "rediss://cache:6379"),
        ("KCL_CACHE_CA_FILE", "/etc/ca.pem"),
    ]))
    .unwrap();
    assert_eq!(c.cache_ca_file, Some(PathBuf::from("/etc/ca.pem")));
}

#[test]
fn the_aws_profile_is_chosen_by_urls() {
    let c = Config::from_vars(&vars(&[
        ("KCL_DATABASE_URL", "postgres://db/kcl"),
        ("KCL_BLOBS", "s3://media/kcl"),
        ("KCL_QUEUE", "sqs://kcl-tasks"),
        ("KCL_AUDIT", "dynamodb://kcl-audit"),
        ("KCL_AUTO_PROVISION", "1"),
    ]))
    .unwrap();
    assert_eq!(c.blobs, BlobsConfig::S3("s3://media/kcl".into()));
    assert_eq!(c.queue, QueueKind::Sqs("kcl-tasks".into()));
    assert_eq!(c.audit_table.as_deref(), Some("kcl-audit"));
    assert_eq!(
        c.status_table.as_deref(),
        Some("kcl-audit"),
        "status follows audit"
    );
    assert!(c.auto_provision);
    let c = Config::from_vars(&vars(&[
        ("KCL_AUDIT", "dynamodb://kcl-audit"),
        ("KCL_STATUS", "database"),
    ]))
    .unwrap();
    assert_eq!(c.status_table, None);
}

#[test]
fn trusted_proxies_are_cidrs_or_addresses() {
    assert!(Config::from_vars(&vars(&[]))
        .unwrap()
        .trusted_proxies
        .is_empty());
    let c = Config::from_vars(&vars(&[(
        "KCL_TRUSTED_PROXIES",
        "10.0.0.0/16, 192.168.1.7\n2001:db8::/32 ::1",
    )]))
    .unwrap();
    let nets: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        nets,
        ["10.0.0.0/16", "192.168.1.7/32", "2001:db8::/32", "::1/128"]
    );
    let e = Config::from_vars(&vars(&[("KCL_TRUSTED_PROXIES", "10.0.0.0/8 alb")])).unwrap_err();
    assert!(e.to_string().contains("\"alb\" is not a CIDR"), "{e}");
}

#[test]
fn the_metrics_token_comes_from_a_variable_or_a_file_and_is_never_shown() {
    assert_eq!(Config::from_vars(&vars(&[])).unwrap().metrics_token, None);
    let c = Config::from_vars(&vars(&[("KCL_METRICS_TOKEN", "scrape-me-0123456789")])).unwrap();
    assert_eq!(c.metrics_token.as_deref(), Some("scrape-me-0123456789"));
    assert!(!format!("{c:?}").contains("scrape-me"), "{c:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics-token");
    std::fs::write(&file, "from-a-file-0123456789\n").unwrap();
    let c =
        Config::from_vars(&vars(&[("KCL_METRICS_TOKEN_FILE", file.to_str().unwrap())])).unwrap();
    assert_eq!(c.metrics_token.as_deref(), Some("from-a-file-0123456789"));
    let e = Config::from_vars(&vars(&[
        ("KCL_METRICS_TOKEN_FILE", file.to_str().unwrap()),
        ("KCL_METRICS_TOKEN", "scrape-me-0123456789"),
    ]))
    .unwrap_err();
    assert_eq!(e.variable, "KCL_METRICS_TOKEN_FILE");
    for bad in ["short", "sixteen but spaced out"] {
        let e = Config::from_vars(&vars(&[("KCL_METRICS_TOKEN", bad)])).unwrap_err();
        assert_eq!(e.variable, "KCL_METRICS_TOKEN");
        assert!(!e.to_string().contains(bad), "{e}");
    }
}

#[test]
fn every_bad_value_names_its_variable() {
    for (k, v) in [
        ("KCL_HTTP_ADDR", "localhost"),
        ("KCL_DATABASE_URL", "mysql://x/y"),
        ("KCL_DATABASE_URL", "sqlite://"),
        ("KCL_BLOBS", "gs://bucket"),
        ("KCL_QUEUE", "sqs://"),
        ("KCL_QUEUE", "amqp://q"),
        ("KCL_AUDIT", "postgres://x"),
        ("KCL_STATUS", "dynamodb://"),
        ("KCL_AUTO_PROVISION", "yes"),
        ("KCL_THUMB_SIZE", "8"),
        ("KCL_THUMB_SIZE", "big"),
        ("KCL_THUMB_STALE_SECS", "5"),
        ("KCL_WORKER", "maybe"),
        ("KCL_WORKER_CONCURRENCY", "0"),
        ("KCL_WORKER_ADDR", "localhost"),
        ("KCL_OCR_LANG", "../eng"),
        ("KCL_OCR_PSM", "4"),
        ("KCL_OCR_PSM", "auto"),
        ("KCL_JOB_MAX_IMAGES", "0"),
        ("KCL_JOB_RETENTION_SECS", "1"),
        ("KCL_CACHE_URL", "memcached://127.0.0.1"),
        ("KCL_LIST_CACHE_TTL_SECS", "-1"),
        ("KCL_TRUSTED_PROXIES", "10.0.0.0/8, alb.internal"),
        ("KCL_TRUSTED_PROXIES", "10.0.0.0/33"),
    ] {
        let e = Config::from_vars(&vars(&[(k, v)])).unwrap_err();
        assert_eq!(e.variable, k, "{v}");
        assert!(e.to_string().starts_with(k));
    }
}

#[test]
fn the_postgres_pool_size_and_migration_mode_are_postgres_settings() {
    let primary = ("KCL_DATABASE_URL", "postgres://kcl:pw@primary/kcl");
    let c = Config::from_vars(&vars(&[primary])).unwrap();
    assert_eq!(c.database_max_connections, 10);
    assert_eq!(c.database_migrate, super::Migrate::Apply);
    let c = Config::from_vars(&vars(&[
        primary,
        ("KCL_DATABASE_MAX_CONNECTIONS", "40"),
        ("KCL_DATABASE_MIGRATE", "verify"),
    ]))
    .unwrap();
    assert_eq!(c.database_max_connections, 40);
    assert_eq!(c.database_migrate, super::Migrate::Verify);
    for bad in ["0", "1001", "ten", "-1"] {
        let e = Config::from_vars(&vars(&[primary, ("KCL_DATABASE_MAX_CONNECTIONS", bad)]))
            .unwrap_err();
        assert_eq!(e.variable, "KCL_DATABASE_MAX_CONNECTIONS", "{bad}: {e}");
    }
    let e = Config::from_vars(&vars(&[primary, ("KCL_DATABASE_MIGRATE", "maybe")])).unwrap_err();
    assert_eq!(e.variable, "KCL_DATABASE_MIGRATE");
    // SQLite: one writer and its readers, migrated when opened.
    for (var, value) in [
        ("KCL_DATABASE_MAX_CONNECTIONS", "20"),
        ("KCL_DATABASE_MIGRATE", "verify"),
    ] {
        let e = Config::from_vars(&vars(&[(var, value)])).unwrap_err();
        assert_eq!(e.variable, var, "{e}");
    }
    assert!(Config::from_vars(&vars(&[("KCL_DATABASE_MIGRATE", "apply")])).is_ok());
}

#[test]
fn a_database_schema_is_a_plain_postgres_name() {
    let primary = ("KCL_DATABASE_URL", "postgres://kcl:pw@primary/kcl");
    let c = Config::from_vars(&vars(&[primary, ("KCL_DATABASE_SCHEMA", "kcl_1")])).unwrap();
    assert_eq!(c.database_schema.as_deref(), Some("kcl_1"));
    for bad in [
        "Kcl",
        "1kcl",
        "kcl;drop",
        "pg_kcl",
        "kcl-x",
        &"k".repeat(64),
    ] {
        let e = Config::from_vars(&vars(&[primary, ("KCL_DATABASE_SCHEMA", bad)])).unwrap_err();
        assert_eq!(e.variable, "KCL_DATABASE_SCHEMA", "{bad}: {e}");
    }
    let e = Config::from_vars(&vars(&[
        (
            "KCL_DATABASE_URL",
            "postgres://primary/kcl?options=-c%20x%3D1",
        ),
        ("KCL_DATABASE_SCHEMA", "kcl"),
    ]))
    .unwrap_err();
    assert_eq!(e.variable, "KCL_DATABASE_SCHEMA");
}

#[test]
fn sales_profiles_are_read_from_a_toml_file_and_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.toml");
    let with = |text: &str| {
        std::fs::write(&path, text).unwrap();
        Config::from_vars(&vars(&[("KCL_SALES_PROFILES", path.to_str().unwrap())]))
    };
    let c = with(
        "[profiles.us]\nprefix = \"sales/incoming/us/\"\ndate_order = \"mdy\"\ntax_rate = \"7,5\"\n\
         columns = { store_id = \"Branch\", sku = \"Product line\" }\n",
    )
    .unwrap();
    let p = c
        .settings
        .sales
        .profiles
        .for_key("sales/incoming/us/a.csv")
        .expect("the profile");
    assert_eq!(p.format.tax_rate.unwrap().basis_points(), 750);
    assert_eq!(p.format.columns.source("sku"), Some("Product line"));
    for (text, says) in [
        (
            "[profiles.us]\nprefix = \"a/\"\ndate_order = \"dym\"\n",
            "profile `us`: date_order",
        ),
        (
            "[profiles.us]\nprefix = \"a/\"\ncolumns = { shop = \"Branch\" }\n",
            "`shop` is not a column",
        ),
        (
            "[profiles.us]\nprefix = \"a/\"\ntax_rate = 120\n",
            "tax_rate",
        ),
        ("[profiles.us]\nprefx = \"a/\"\n", "not valid TOML"),
        ("[profiles.us\n", "not valid TOML"),
    ] {
        let e = with(text).unwrap_err();
        assert_eq!(e.variable, "KCL_SALES_PROFILES", "{e}");
        assert!(e.reason.contains(says), "{text}: {e}");
    }
    let e = Config::from_vars(&vars(&[(
        "KCL_SALES_PROFILES",
        "/nonexistent/profiles.toml",
    )]))
    .unwrap_err();
    assert!(e.reason.contains("cannot read"), "{e}");
}

#[test]
fn the_locale_is_en_pt_br_or_a_start_error() {
    use kcl_core::domain::Locale;
    assert_eq!(
        Config::from_vars(&vars(&[])).unwrap().settings.sales.locale,
        Locale::En
    );
    assert_eq!(Config::from_vars(&vars(&[])).unwrap().locale, None);
    let c = Config::from_vars(&vars(&[("KCL_LOCALE", "pt-BR")])).unwrap();
    assert_eq!(c.settings.sales.locale, Locale::PtBr);
    assert_eq!(c.locale, Some(Locale::PtBr));
    let e = Config::from_vars(&vars(&[("KCL_LOCALE", "klingon")])).unwrap_err();
    assert_eq!(e.variable, "KCL_LOCALE", "{e}");
}

#[test]
fn the_currency_is_an_iso_code_or_a_start_error() {
    use kcl_core::domain::Currency;
    assert_eq!(
        Config::from_vars(&vars(&[])).unwrap().currency,
        Currency::BRL
    );
    let c = Config::from_vars(&vars(&[("KCL_CURRENCY", "eur")])).unwrap();
    assert_eq!(c.currency.code(), "EUR");
    for bad in ["euro", "R$", "12A"] {
        let e = Config::from_vars(&vars(&[("KCL_CURRENCY", bad)])).unwrap_err();
        assert_eq!(e.variable, "KCL_CURRENCY", "{bad}: {e}");
    }
}

#[test]
fn report_schedules_and_their_zone() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.settings.sales.schedule, None, "no schedule by default");
    let c = Config::from_vars(&vars(&[("KCL_REPORT_SCHEDULE", "daily 6:30")])).unwrap();
    let s = c.settings.sales.schedule.expect("a schedule");
    assert_eq!(s.to_string(), "daily 06:30");
    assert_eq!(s.tz().name(), "America/Sao_Paulo", "the default zone");
    let c = Config::from_vars(&vars(&[
        ("KCL_REPORT_SCHEDULE", "daily 23:05"),
        ("KCL_REPORT_TZ", "Europe/Lisbon"),
    ]))
    .unwrap();
    assert_eq!(
        c.settings.sales.schedule.unwrap().tz().name(),
        "Europe/Lisbon"
    );
    let off = Config::from_vars(&vars(&[("KCL_REPORT_SCHEDULE", "off")])).unwrap();
    assert_eq!(off.settings.sales.schedule, None);
    for (var, value, says) in [
        ("KCL_REPORT_SCHEDULE", "every day", "daily HH:MM"),
        ("KCL_REPORT_SCHEDULE", "daily 6", "daily HH:MM"),
        ("KCL_REPORT_TZ", "Sao Paulo", "IANA"),
    ] {
        let e = Config::from_vars(&vars(&[
            ("KCL_REPORT_SCHEDULE", "daily 06:00"),
            (var, value),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, var, "{e}");
        assert!(e.reason.contains(says), "{e}");
    }
}

#[test]
fn sales_incoming_is_an_s3_bucket() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.sales_incoming, None);
    let c = Config::from_vars(&vars(&[(
        "KCL_SALES_INCOMING",
        "s3://supermarket-sales-data/incoming",
    )]))
    .unwrap();
    assert_eq!(
        c.sales_incoming.as_deref(),
        Some("s3://supermarket-sales-data/incoming")
    );
    for bad in [
        "file://./incoming",
        "s3://",
        "s3:///incoming",
        "supermarket-sales-data",
    ] {
        let e = Config::from_vars(&vars(&[("KCL_SALES_INCOMING", bad)])).unwrap_err();
        assert_eq!(e.variable, "KCL_SALES_INCOMING", "{bad}");
        assert!(e.reason.contains("s3://bucket"), "{e}");
    }
}
