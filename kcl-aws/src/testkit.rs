//! Test helpers for the PostgreSQL adapters (feature `testkit`): a database of one
//! test's own on the test server (`KCL_TEST_POSTGRES_URL`), so tests run in
//! parallel on one server and leave nothing behind.
//!
//! ```no_run
//! # async fn demo() {
//! use kcl_aws::testkit::TestDatabase;
//! let Some(db) = TestDatabase::create().await else {
//!     return; // skipped, with the reason printed (a failure under KCL_TEST_REQUIRE_ALL=1)
//! };
//! let store = db.store().await;
//! kcl_core::testkit::book_repo::run(&store).await;
//! store.close().await;
//! db.drop_now().await;
//! # }
//! ```

use std::str::FromStr;

use kcl_core::testkit::services;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::PgStore;

/// A fresh database (`kcl_test_<random>`) on a test server, dropped with
/// `WITH (FORCE)` when this value is dropped, also when the test panics.
pub struct TestDatabase {
    admin: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A database on [`services::postgres_url`]'s server, or `None` after the skip
    /// (a panic under `KCL_TEST_REQUIRE_ALL=1`) when it is not set.
    pub async fn create() -> Option<Self> {
        let admin_url = services::postgres_url()?;
        Some(Self::create_on(&admin_url).await)
    }

    /// A database on the server of `admin_url` (a URL whose user may create
    /// databases). Panics when the server refuses.
    pub async fn create_on(admin_url: &str) -> Self {
        let admin = PgConnectOptions::from_str(admin_url).expect("a PostgreSQL URL");
        let name = format!("kcl_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin.connect().await.expect("connect to the test server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        let base = admin_url.split('?').next().unwrap_or(admin_url);
        let server = base.rfind('/').map_or(base, |slash| &base[..slash]);
        let url = format!("{server}/{name}");
        Self { admin, name, url }
    }

    /// The database's URL (`postgres://.../kcl_test_...`), as a host's configuration
    /// takes it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's connect options.
    pub fn options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }

    /// A [`PgStore`] on the database (migrated), with the store's pool options.
    pub async fn store(&self) -> PgStore {
        PgStore::connect_with(self.options(), PgStore::pool_options())
            .await
            .expect("open the store on the test database")
    }

    /// Drops the database now (as dropping the value does), for a test to say where
    /// its database ends.
    pub async fn drop_now(self) {
        drop(self);
    }
}

impl Drop for TestDatabase {
    /// Drops the database, best effort, on a thread of its own (this may run while a
    /// test unwinds, inside or outside a runtime); `WITH (FORCE)` ends the
    /// connections of pools still open.
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = admin.connect().await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropped.join();
    }
}
