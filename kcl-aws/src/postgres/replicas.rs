//! Read replicas: where a read that a replica may answer goes, and the primary's
//! log position for [`Replication`].
//!
//! A read goes to a replica only inside
//! [`with_read_position`](kcl_core::context::with_read_position), and only to one
//! that has replayed the primary's WAL up to that position; otherwise to the
//! primary. Each replica's last known replay position is kept, so a replica known to
//! be far enough costs nothing more; one that is not is asked again
//! (`pg_last_wal_replay_lsn()`, a few hundred microseconds) before the read falls
//! back to the primary.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kcl_core::ports::{LogPosition, Replication, ReplicationError};
use sqlx::postgres::PgPool;

use super::fault::db_error;
use super::PgStore;
use crate::AwsError;

/// How long a replica's position check may take before the read goes to the
/// primary.
const CHECK_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a replica whose check failed is left alone.
const BACKOFF: Duration = Duration::from_secs(5);
/// A replica's replay position is asked at most once per this interval (per
/// server): reads that need a position it has not reached in the meantime (a
/// client's cookie can name any position) go to the primary without asking.
const RECHECK: Duration = Duration::from_millis(10);
/// A replica that answers reads is asked its replay position at least this often
/// (per server), which is how one that went away is noticed.
const HEALTH_CHECK: Duration = Duration::from_secs(1);

/// One read replica: its pool and what is known of its replay.
#[derive(Debug)]
pub(super) struct Replica {
    pool: PgPool,
    /// The replay position last read (0: none yet).
    replayed: AtomicU64,
    /// Until when the replica is skipped, as milliseconds since `epoch` (0: never).
    skip_until_ms: AtomicU64,
    /// When its replay position was last asked, as milliseconds since `epoch` + 1
    /// (0: never).
    asked_ms: AtomicU64,
    epoch: Instant,
    /// For logs: its host and port, never its password.
    name: String,
}

/// The replicas of a store, shared by its clones.
#[derive(Debug, Default)]
pub(super) struct Replicas {
    list: Vec<Replica>,
    /// Where the next read starts looking (round robin).
    next: AtomicUsize,
}

impl Replica {
    fn skipped(&self) -> bool {
        let until = self.skip_until_ms.load(Ordering::Relaxed);
        until != 0 && (self.epoch.elapsed().as_millis() as u64) < until
    }

    /// Whether the replay position was last asked over [`HEALTH_CHECK`] ago.
    fn asked_long_ago(&self) -> bool {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        now >= self.asked_ms.load(Ordering::Relaxed) + HEALTH_CHECK.as_millis() as u64
    }

    /// Whether the replay position may be asked now (at most once per
    /// [`RECHECK`]); claims the turn.
    fn may_ask(&self) -> bool {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        let last = self.asked_ms.load(Ordering::Relaxed);
        if last != 0 && now < last + RECHECK.as_millis() as u64 {
            return false;
        }
        self.asked_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Reads the replay position again; `None` when the replica cannot tell (then
    /// it is skipped for a while).
    async fn refresh(&self) -> Option<u64> {
        let ask = sqlx::query_scalar::<_, Option<String>>("SELECT pg_last_wal_replay_lsn()::TEXT")
            .fetch_one(&self.pool);
        let lsn = match tokio::time::timeout(CHECK_TIMEOUT, ask).await {
            Ok(Ok(Some(text))) => text.parse::<LogPosition>().ok().map(|p| p.0),
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::warn!(replica = %self.name, error = %e, "read replica check failed");
                None
            }
            Err(_) => {
                tracing::warn!(replica = %self.name, "read replica check timed out");
                None
            }
        };
        match lsn {
            Some(p) => {
                self.replayed.fetch_max(p, Ordering::Relaxed);
                Some(p)
            }
            None => {
                let until = self.epoch.elapsed() + BACKOFF;
                self.skip_until_ms
                    .store(until.as_millis() as u64, Ordering::Relaxed);
                None
            }
        }
    }
}

impl PgStore {
    /// Adds a read replica (a PostgreSQL hot standby of this store's database,
    /// streaming its WAL): listings, searches, sales summaries and reports that the
    /// services allow on a replica go to one that has replayed far enough, the rest
    /// to the primary. `url` is written as for [`connect`](Self::connect); its pool
    /// has [`pool_options`](Self::pool_options). Call it before cloning the store:
    /// clones made earlier keep reading the primary only.
    ///
    /// Fails when the server is not a standby (`pg_is_in_recovery()` is false): a
    /// second primary would never be known to be fresh, and reads there would be
    /// wrong. A standby that cannot report its replay position (some managed
    /// readers) is accepted, and never read: a warning says so.
    pub async fn with_read_replica(mut self, url: &str) -> Result<Self, AwsError> {
        let options = Self::parse_url(url)?;
        let name = format!("{}:{}", options.get_host(), options.get_port());
        // A pool the size of the primary's.
        let pool = Self::pool_options()
            .max_connections(self.pool.options().get_max_connections())
            .connect_with(Self::session_options(options))
            .await
            .map_err(AwsError::PostgresConnect)?;
        let standby: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&pool)
            .await
            .map_err(AwsError::PostgresConnect)?;
        if !standby {
            return Err(AwsError::Config(format!(
                "{name} is not a standby (pg_is_in_recovery() is false): a read replica \
                 streams the primary's WAL"
            )));
        }
        let replica = Replica {
            pool,
            replayed: AtomicU64::new(0),
            skip_until_ms: AtomicU64::new(0),
            asked_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            name,
        };
        if replica.refresh().await.is_none() {
            tracing::warn!(replica = %replica.name, "the read replica does not report its replay position: reads stay on the primary");
        }
        let mut list: Vec<Replica> = Vec::new();
        if let Some(old) = std::sync::Arc::get_mut(&mut self.replicas) {
            list.append(&mut old.list);
        } else {
            return Err(AwsError::Config(
                "add read replicas before cloning the store".into(),
            ));
        }
        list.push(replica);
        self.replicas = std::sync::Arc::new(Replicas {
            list,
            next: AtomicUsize::new(0),
        });
        Ok(self)
    }

    /// How many read replicas the store has.
    pub fn read_replicas(&self) -> usize {
        self.replicas.list.len()
    }

    /// Where a read goes: a replica that has replayed up to the current
    /// [`read_position`](kcl_core::context::read_position), else the primary.
    pub(super) async fn reader(&self) -> &PgPool {
        let replicas = &self.replicas.list;
        let Some(min) = kcl_core::context::read_position() else {
            return &self.pool;
        };
        if replicas.is_empty() {
            return &self.pool;
        }
        let start = self.replicas.next.fetch_add(1, Ordering::Relaxed);
        let order = (0..replicas.len()).map(|k| &replicas[(start + k) % replicas.len()]);
        for r in order.clone() {
            if !r.skipped() && r.replayed.load(Ordering::Relaxed) >= min.0 {
                // Known to be far enough; still asked once every HEALTH_CHECK, so a
                // replica that went away stops getting reads (it is skipped for
                // BACKOFF when it cannot answer).
                if r.asked_long_ago() && r.may_ask() && r.refresh().await.is_none() {
                    continue;
                }
                return read_on("replica", &r.pool);
            }
        }
        for r in order {
            if !r.skipped() && r.may_ask() && r.refresh().await.is_some_and(|p| p >= min.0) {
                return read_on("replica", &r.pool);
            }
        }
        read_on("primary", &self.pool)
    }

    /// Closes the replicas' connections too (see [`close`](Self::close)).
    pub(super) async fn close_replicas(&self) {
        for r in &self.replicas.list {
            r.pool.close().await;
        }
    }
}

/// Counts where a read that a replica could answer went
/// (`kcl_db_replica_reads_total{on="replica"|"primary"}`).
fn read_on<'a>(on: &'static str, pool: &'a PgPool) -> &'a PgPool {
    metrics::counter!("kcl_db_replica_reads_total", "on" => on).increment(1);
    pool
}

#[async_trait]
impl Replication for PgStore {
    fn has_replicas(&self) -> bool {
        !self.replicas.list.is_empty()
    }

    async fn position(&self) -> Result<Option<LogPosition>, ReplicationError> {
        if self.replicas.list.is_empty() {
            return Ok(None);
        }
        // The flush position: past every commit that has returned (KCL's sessions
        // commit synchronously), and what the primary streams to its standbys. (The
        // insert position would not do: at a page boundary it points past the
        // page's header, where no replayed record ever ends.)
        let text: String = sqlx::query_scalar("SELECT pg_current_wal_flush_lsn()::TEXT")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        text.parse().map(Some)
    }
}
