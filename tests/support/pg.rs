//! The old shape of the per-test PostgreSQL database, for tests not yet moved to
//! `kcl_aws::testkit::TestDatabase` (which this wraps; use that in new tests).
//! Used through `#[path = "support/pg.rs"] mod pg;`.
#![allow(dead_code)] // each test binary uses part of it

use kcl_aws::testkit::TestDatabase;

/// A fresh database on the test PostgreSQL server, dropped with this value.
pub(crate) struct PgDb(TestDatabase);

impl PgDb {
    /// A database on `KCL_TEST_POSTGRES_URL`'s server, and its URL; `None` after the
    /// skip (a panic under `KCL_TEST_REQUIRE_ALL=1`) when it is not set.
    pub(crate) async fn create() -> Option<(Self, String)> {
        let db = TestDatabase::create().await?;
        let url = db.url().to_owned();
        Some((Self(db), url))
    }

    /// A database on the server of `admin_url`, and its URL.
    pub(crate) async fn create_on(admin_url: &str) -> (Self, String) {
        let db = TestDatabase::create_on(admin_url).await;
        let url = db.url().to_owned();
        (Self(db), url)
    }

    /// Drops the database now.
    pub(crate) async fn drop_db(self) {
        self.0.drop_now().await;
    }
}
