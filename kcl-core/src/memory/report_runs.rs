use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::ports::{check_schedule_name, ReportRun, ReportRuns, ReportRunsError};

/// Scheduled runs in memory (one process: tests and the memory backend).
#[derive(Default)]
pub struct MemoryReportRuns {
    runs: Mutex<HashMap<(String, NaiveDate), Run>>,
}

struct Run {
    holder: Uuid,
    lease_until: DateTime<Utc>,
    done: Option<(DateTime<Utc>, Vec<String>)>,
    attempts: u32,
}

#[async_trait]
impl ReportRuns for MemoryReportRuns {
    async fn claim(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, ReportRunsError> {
        check_schedule_name(schedule)?;
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        match runs.get_mut(&(schedule.to_owned(), day)) {
            None => {
                runs.insert(
                    (schedule.to_owned(), day),
                    Run {
                        holder,
                        lease_until,
                        done: None,
                        attempts: 1,
                    },
                );
                Ok(true)
            }
            Some(run) if run.done.is_none() && run.lease_until <= now => {
                run.holder = holder;
                run.lease_until = lease_until;
                run.attempts += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    async fn finish(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        at: DateTime<Utc>,
        reports: &[String],
    ) -> Result<bool, ReportRunsError> {
        check_schedule_name(schedule)?;
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        match runs.get_mut(&(schedule.to_owned(), day)) {
            Some(run) if run.holder == holder && run.done.is_none() => {
                run.done = Some((at, reports.to_vec()));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, ReportRunsError> {
        check_schedule_name(schedule)?;
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        match runs.get_mut(&(schedule.to_owned(), day)) {
            Some(run) if run.holder == holder && run.done.is_none() => {
                run.lease_until = now;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn last_finished(&self, schedule: &str) -> Result<Option<ReportRun>, ReportRunsError> {
        check_schedule_name(schedule)?;
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(runs
            .iter()
            .filter(|((s, _), r)| s == schedule && r.done.is_some())
            .max_by_key(|((_, day), _)| *day)
            .and_then(|((s, day), r)| {
                r.done.as_ref().map(|(at, reports)| ReportRun {
                    schedule: s.clone(),
                    day: *day,
                    done_at: *at,
                    reports: reports.clone(),
                    attempts: r.attempts,
                })
            }))
    }
}
