//! A fresh PostgreSQL database per test, dropped when the test ends, also when it
//! panics. Used by the facade's tests through `#[path = "support/pg.rs"] mod pg;`.
#![allow(dead_code)] // each test binary uses part of it
/// A fresh database on the test PostgreSQL server, dropped by [`PgDb::drop_db`].
pub(crate) struct PgDb {
    admin_url: String,
    name: String,
}

impl PgDb {
    /// A database on `KCL_TEST_POSTGRES_URL`'s server, and its URL; `None` (the test
    /// skips) when the variable is unset, a panic when `KCL_TEST_REQUIRE_ALL=1`.
    pub(crate) async fn create() -> Option<(Self, String)> {
        let Ok(admin_url) = std::env::var("KCL_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("KCL_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
                "KCL_TEST_POSTGRES_URL is not set and KCL_TEST_REQUIRE_ALL=1"
            );
            println!("skipped: KCL_TEST_POSTGRES_URL is not set");
            return None;
        };
        Some(Self::create_on(&admin_url).await)
    }

    /// A database on the server of `admin_url`, and its URL.
    pub(crate) async fn create_on(admin_url: &str) -> (Self, String) {
        use sqlx::Connection;
        let admin_url = admin_url.to_owned();
        let name = format!("kcl_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = admin_url.split('?').next().unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        (Self { admin_url, name }, url)
    }

    /// Drops the database now.
    pub(crate) async fn drop_db(self) {
        drop(self);
    }
}

impl Drop for PgDb {
    /// Drops the database, best effort, on a thread of its own: this also runs when a
    /// check panics, inside or outside a runtime.
    fn drop(&mut self) {
        use sqlx::Connection;
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(&sql).execute(&mut admin).await;
                }
            });
        });
        let _ = dropped.join();
    }
}
