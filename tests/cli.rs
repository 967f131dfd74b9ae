//! The `kcl` binary itself, run as a user would: `--help`, `--version`, bad arguments,
//! `auth hash-password`, `migrate`, `seed`, `thumbnail` and `provision` on a fresh
//! SQLite data dir, and start errors that name their variable.
#![cfg(all(feature = "cli", feature = "local", feature = "media"))]

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use kcl::http::auth::Users;
use kcl::services::ListBooks;
use kcl::{Config, Kcl};

#[path = "support/kcl_proc.rs"]
mod kcl_proc;

/// `kcl ARGS` with no KCL_* variable but `vars`, and `stdin` on its standard input.
fn kcl_with(args: &[&str], vars: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = kcl_proc::kcl_command();
    cmd.envs(vars.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the kcl binary starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin)
        .expect("stdin written");
    child.wait_with_output().expect("kcl runs to the end")
}

fn kcl(args: &[&str], vars: &[(&str, &str)]) -> Output {
    kcl_with(args, vars, b"")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_subcommand() {
    let out = kcl(&["--help"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    for sub in [
        "serve",
        "worker",
        "ingest",
        "provision",
        "migrate",
        "seed",
        "thumbnail",
        "ocr",
        "auth",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "`{sub}` missing from:\n{help}"
        );
    }
    let out = kcl(&["auth", "--help"], &[]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("hash-password"));
    assert!(stdout(&out).contains("mint-token"));
}

#[test]
fn version_is_the_crate_version() {
    let out = kcl(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("kcl {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_arguments_exit_with_2() {
    for args in [
        &["frobnicate"][..],
        &[][..],
        &["seed", "many"][..],
        &["auth", "hash-password", "--name", "ana"][..],
        &["ocr", "--psm", "4", "x.png"][..],
    ] {
        let out = kcl(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn hash_password_prints_a_users_file_line_that_checks() {
    let out = kcl_with(
        &["auth", "hash-password", "--name", "ana", "--role", "staff"],
        &[],
        b"s3cret pass\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stdout(&out);
    assert!(line.starts_with("ana:staff:$argon2id$"), "{line}");
    let users = Users::parse(&line).unwrap();
    assert!(users.check("ana", "s3cret pass").is_some());
    assert!(users.check("ana", "s3cret pass\n").is_none());
    assert!(users.check("ana", "wrong").is_none());

    // An empty password is refused, on one line.
    let out = kcl_with(&["auth", "hash-password"], &[], b"\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), "kcl: the password (on stdin) is empty");
}

#[test]
fn mint_token_needs_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = kcl(&["auth", "mint-token"], &[("KCL_DATA_DIR", data)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("kcl: no KCL_AUTH_JWT_SECRET and no "),
        "{}",
        stderr(&out)
    );
    let secret = "a-secret-of-at-least-32-bytes-for-hs256!";
    let out = kcl(
        &["auth", "mint-token", "--role", "admin"],
        &[("KCL_DATA_DIR", data), ("KCL_AUTH_JWT_SECRET", secret)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A JWT: three base64url parts.
    assert_eq!(stdout(&out).trim().split('.').count(), 3);
}

/// The books in the SQLite database under `data`.
fn books_in(data: &Path) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let vars = [("KCL_DATA_DIR".to_owned(), data.display().to_string())].into();
        let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
        let page = kcl
            .services
            .catalog
            .list(ListBooks {
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        kcl.close().await;
        page.items.len()
    })
}

#[test]
fn migrate_then_seed_a_fresh_sqlite_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vars = [("KCL_DATA_DIR", data.to_str().unwrap())];

    let out = kcl(&["migrate"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(data.join("kcl.db").is_file());
    assert!(
        stdout(&out).contains("the schema is up to date"),
        "{}",
        stdout(&out)
    );
    // Only the database: no blob folder was made.
    assert!(!data.join("blobs").exists());
    // Again: nothing to do, still fine.
    assert!(kcl(&["migrate"], &vars).status.success());
    assert_eq!(books_in(&data), 0);

    let out = kcl(&["seed", "30"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("inserted 30 books in "),
        "{}",
        stdout(&out)
    );
    assert_eq!(books_in(&data), 30);
    // The same numbers again: their ISBNs are there, they are skipped.
    let out = kcl(&["seed", "5"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("inserted 0 books in ")
            && stdout(&out).contains("; 5 were there already"),
        "{}",
        stdout(&out)
    );
    assert_eq!(books_in(&data), 30);
    // From an offset, more books.
    let out = kcl(&["seed", "5", "30"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(books_in(&data), 35);

    // A books file: imported, then again (skipped); a bad one changes nothing.
    let file = data.join("books.csv");
    std::fs::write(
        &file,
        "titulo;autor;isbn;ano\nDom Casmurro;Machado de Assis;978-85-359-1066-7;1899\n\
         Vidas Secas;Graciliano Ramos;9788501067340;1938\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = kcl(&["import", path], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(": 2 books created, 0 skipped"),
        "{}",
        stdout(&out)
    );
    let out = kcl(&["import", path], &vars);
    assert!(
        stdout(&out).contains(": 0 books created, 2 skipped"),
        "{}",
        stdout(&out)
    );
    assert_eq!(books_in(&data), 37);
    std::fs::write(
        &file,
        "title,author,isbn,year\nA,B,9780306406157,2000\nC,D,12345,2001\n",
    )
    .unwrap();
    let out = kcl(&["import", path], &vars);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("refused, nothing imported"), "{err}");
    assert!(err.contains("line 3: isbn"), "{err}");
    assert_eq!(books_in(&data), 37);

    // An in-memory database has nothing to migrate.
    let out = kcl(&["migrate"], &[("KCL_DATABASE_URL", "memory://")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("kcl: KCL_DATABASE_URL=memory://"));
}

#[test]
fn provision_checks_every_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let out = kcl(
        &["provision"],
        &[("KCL_DATA_DIR", dir.path().to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    for probe in ["database", "blobs", "queue"] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(probe) && l.contains(" ok")),
            "{probe} in:\n{report}"
        );
    }
}

#[test]
fn thumbnail_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&input).unwrap();
    let img = image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 90]));
    img.save(input.join("photo.jpg")).unwrap();
    std::fs::write(input.join("broken.png"), b"not an image").unwrap();
    let args = [
        "thumbnail",
        "--size",
        "64",
        "--threads",
        "1",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    ];
    let out = kcl(&args, &[]);
    // One image thumbnailed, one refused: the error is reported, and the exit is 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("1 thumbnails (1 failed)"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("broken.png: "));
    assert!(stderr(&out)
        .trim_end()
        .ends_with("kcl: 1 of 2 image(s) could not be thumbnailed"));
    let thumb = image::open(output.join("photo.jpg")).unwrap();
    assert_eq!(thumb.width(), 64);
    assert!((42..=43).contains(&thumb.height()), "{}", thumb.height());
}

#[test]
fn a_bad_variable_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for (args, var, value) in [
        (&["worker"][..], "KCL_WORKER_ADDR", "localhost"),
        // An address this machine does not have (TEST-NET-1): cannot listen.
        (&["worker"][..], "KCL_WORKER_ADDR", "192.0.2.1:9000"),
        (&["serve"][..], "KCL_HTTP_ADDR", "nowhere"),
        (&["migrate"][..], "KCL_DATABASE_URL", "mysql://db/kcl"),
        (&["seed", "1"][..], "KCL_WORKER_CONCURRENCY", "0"),
        (&["serve"][..], "KCL_REPORT_SCHEDULE", "hourly"),
        (&["worker"][..], "KCL_REPORT_SCHEDULE", "daily 25:00"),
        (&["serve"][..], "KCL_REPORT_TZ", "Mars/Olympus"),
    ] {
        let out = kcl(args, &[("KCL_DATA_DIR", data), (var, value)]);
        assert_eq!(out.status.code(), Some(1), "{args:?} {var}");
        let err = stderr(&out);
        assert!(err.starts_with(&format!("kcl: {var}=")), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// `kcl worker` with `KCL_REPORT_SCHEDULE`: the sales loaded yesterday (by `kcl
/// ingest`) are reported by themselves, one CSV per store under a fixed name in the
/// reports folder, as soon as the worker starts (the day is due); a second worker on
/// the same data dir writes nothing more.
#[test]
fn the_worker_writes_scheduled_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let yesterday = chrono::Utc::now().date_naive().pred_opt().unwrap();
    let csv = dir.path().join("yesterday.csv");
    std::fs::write(
        &csv,
        format!(
            "loja;data;codigo;quantidade;preco_unitario\n\
             loja-01;{};A;2;1,50\nloja-02;{};B;1;3,00\n",
            yesterday.format("%d/%m/%Y"),
            yesterday.format("%d/%m/%Y")
        ),
    )
    .unwrap();
    let vars = [("KCL_DATA_DIR", data)];
    let out = kcl(&["ingest", csv.to_str().unwrap()], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let scheduled = [
        ("KCL_DATA_DIR", data),
        ("KCL_REPORT_SCHEDULE", "daily 00:00"),
        ("KCL_REPORT_TZ", "UTC"),
    ];
    // Stopped (SIGTERM, then SIGKILL) when dropped, so a failed assertion leaves
    // no worker behind.
    struct Worker(std::process::Child);
    impl Drop for Worker {
        fn drop(&mut self) {
            kcl_proc::stop(&mut self.0);
        }
    }
    let spawn = || {
        let mut cmd = kcl_proc::kcl_command();
        cmd.envs(scheduled.iter().copied())
            .arg("worker")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Worker(cmd.spawn().expect("the worker starts"))
    };
    let reports = dir.path().join("blobs/objects/reports");
    let want: Vec<String> = ["loja-01", "loja-02"]
        .iter()
        .map(|s| format!("daily-{yesterday}-{s}.csv"))
        .collect();
    let listed = || {
        let mut names: Vec<String> = std::fs::read_dir(&reports)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".csv"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let first = spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while listed() != want && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(listed(), want, "the worker wrote yesterday's reports");
    let text = std::fs::read_to_string(reports.join(&want[0])).unwrap();
    assert!(text.contains(&format!("{yesterday},loja-01,A")), "{text}");
    assert!(!text.contains("loja-02"), "one store per report: {text}");
    let written = std::fs::metadata(reports.join(&want[0]))
        .unwrap()
        .modified()
        .unwrap();
    drop(first);
    // Another worker (a restart, or a second machine): the day is done.
    let second = spawn();
    std::thread::sleep(std::time::Duration::from_secs(3));
    drop(second);
    assert_eq!(listed(), want);
    let again = std::fs::metadata(reports.join(&want[0]))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(written, again, "not written again");
}

/// `kcl migrate` with `KCL_DATABASE_SCHEMA`: KCL's tables land in that schema, and
/// a server that only verifies (`KCL_DATABASE_MIGRATE=verify`) then starts on it.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_puts_the_tables_in_the_configured_schema() {
    let Some(db) = kcl_aws::testkit::TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("KCL_DATA_DIR", dir.path().to_str().unwrap()),
        ("KCL_DATABASE_URL", db.url()),
        ("KCL_DATABASE_SCHEMA", "kcl_cli"),
    ];
    let out = kcl(&["migrate"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut config_vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    config_vars.insert("KCL_DATABASE_MIGRATE".into(), "verify".into());
    config_vars.insert("KCL_BLOBS".into(), "memory://".into());
    let kcl = Kcl::open(&Config::from_vars(&config_vars).unwrap())
        .await
        .expect("the schema kcl migrate made is up to date");
    kcl.close().await;
    let store =
        kcl_aws::PgStore::connect_without_migrating(db.url(), kcl_aws::PgStore::pool_options())
            .await
            .unwrap();
    let tables: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT to_regclass(t)::text FROM unnest(ARRAY['kcl_cli._kcl_migrations', \
         'kcl_cli.books', 'public.books']) AS t",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            Some("kcl_cli._kcl_migrations".to_owned()),
            Some("kcl_cli.books".to_owned()),
            None
        ]
    );
    store.close().await;
}

/// `kcl ingest` on a point-of-sale export: refused as it is (its columns are not
/// KCL's), refused with a bad `--tax-rate` before anything is read, loaded with
/// `--columns`, `--date-order` and `--tax-rate`, the report saying how dates were
/// read and which columns were ignored.
#[test]
fn ingest_reads_an_export_through_a_column_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let csv = dir.path().join("export.csv");
    std::fs::write(
        &csv,
        "Invoice ID,Branch,City,Product line,Unit price,Quantity,Tax 5%,Total,Date\n\
         750-67-8428,A,Yangon,Health and beauty,74.69,7,26.1415,548.9715,1/5/2019\n\
         226-31-3081,C,Naypyitaw,Electronic accessories,15.28,5,3.82,80.22,3/8/2019\n",
    )
    .unwrap();
    let file = csv.to_str().unwrap();
    let vars = [("KCL_DATA_DIR", data)];
    let out = kcl(&["ingest", file], &vars);
    assert!(!out.status.success(), "refused without a mapping");
    assert!(stdout(&out).contains("missing-column"), "{}", stdout(&out));
    let columns = "store_id:Branch,sku:Product line,sale_date:Date,receipt_id:Invoice ID";
    let out = kcl(
        &["ingest", "--columns", columns, "--tax-rate", "cinco", file],
        &vars,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--tax-rate"), "{}", stderr(&out));
    let out = kcl(
        &[
            "ingest",
            "--columns",
            columns,
            "--date-order",
            "mdy",
            "--tax-rate",
            "5",
            file,
        ],
        &vars,
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2 loaded, 0 rejected"), "{text}");
    assert!(text.contains("dates read as mdy"), "{text}");
    assert!(text.contains("columns ignored: City, Tax 5%"), "{text}");
}
