use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::BoxError;

/// Why a [`ReportRuns`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportRunsError {
    /// A value the store cannot hold (a schedule name over 64 bytes, a key list too
    /// long).
    #[error("invalid scheduled run: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("scheduled runs unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("scheduled runs failure: {0}")]
    Internal(#[source] BoxError),
}

/// A scheduled run that finished: which schedule, which day, what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRun {
    /// The schedule's name (`daily 06:00`).
    pub schedule: String,
    /// The day the run reported on.
    pub day: NaiveDate,
    /// When it finished.
    pub done_at: DateTime<Utc>,
    /// The reports it wrote (keys in the reports store).
    pub reports: Vec<String>,
    /// How many times the run was claimed (more than one: a holder died or was
    /// too slow, and another took over).
    pub attempts: u32,
}

/// The longest schedule name a [`ReportRuns`] store takes, in bytes.
pub const MAX_SCHEDULE_NAME: usize = 64;

/// Runs of scheduled work (sales reports), one per schedule and day, however many
/// processes run the schedule: a unique (schedule, day) record with a lease.
///
/// A process [`claim`](Self::claim)s the day's run before doing its work; a claim
/// succeeds when the run is not finished and nobody holds an unexpired lease on it.
/// The holder then [`finish`](Self::finish)es it, or, when its work failed,
/// [`release`](Self::release)s it for the next claim. A holder that dies leaves
/// its lease to expire; the next claim after that takes the run over (its work
/// writes the same deterministic results again). The persistent adapters keep the records
/// in the deployment's database.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use chrono::{Duration, NaiveDate, Utc};
/// use kcl_core::memory::MemoryReportRuns;
/// use kcl_core::ports::ReportRuns;
///
/// let runs = MemoryReportRuns::default();
/// let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
/// let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
/// let now = Utc::now();
/// let lease = now + Duration::minutes(10);
/// assert!(runs.claim("daily 06:00", day, a, now, lease).await.unwrap());
/// assert!(!runs.claim("daily 06:00", day, b, now, lease).await.unwrap());
/// assert!(runs.finish("daily 06:00", day, a, now, &[]).await.unwrap());
/// assert!(!runs.claim("daily 06:00", day, b, lease, lease + Duration::minutes(10)).await.unwrap());
/// # });
/// ```
#[async_trait]
pub trait ReportRuns: Send + Sync {
    /// Gives `holder` the run of `schedule` for `day` until `lease_until`, unless it
    /// is finished or another holder's lease is still running at `now`. True when
    /// `holder` now holds it.
    async fn claim(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, ReportRunsError>;

    /// Marks the run finished at `at`, with the `reports` it wrote, if `holder`
    /// still holds it (its lease was not taken over). True when it did.
    async fn finish(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        at: DateTime<Utc>,
        reports: &[String],
    ) -> Result<bool, ReportRunsError>;

    /// Gives the run back (its work failed) if `holder` still holds it, so that the
    /// next claim takes it at once instead of after the lease. True when it did.
    async fn release(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, ReportRunsError>;

    /// The finished run of `schedule` with the latest day, if any.
    async fn last_finished(&self, schedule: &str) -> Result<Option<ReportRun>, ReportRunsError>;
}

/// `Ok` for a schedule name every store takes: 1 to [`MAX_SCHEDULE_NAME`] bytes
/// without control characters.
pub fn check_schedule_name(name: &str) -> Result<(), ReportRunsError> {
    if name.is_empty() || name.len() > MAX_SCHEDULE_NAME || name.chars().any(char::is_control) {
        return Err(ReportRunsError::InvalidInput(format!(
            "a schedule name is 1 to {MAX_SCHEDULE_NAME} bytes of text"
        )));
    }
    Ok(())
}
