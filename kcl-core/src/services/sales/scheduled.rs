//! Scheduled sales reports (`KCL_REPORT_SCHEDULE`): every day, the previous day's
//! report of each store that sold, once per schedule and day however many processes
//! run the schedule.

use chrono::NaiveDate;
use serde::Serialize;

use super::{ReportFormat, ReportWritten, SalesService};
use crate::domain::{GroupBy, ReportSchedule, SalesKey, SummaryQuery};
use crate::ports::ReportRun;
use crate::services::ServiceError;

/// How long a process holds a day's run before another may take it over (it died
/// without finishing): longer than a run takes (the report function's timeout is
/// 15 minutes). A run that fails gives the day back at once. A take-over writes the
/// same reports again, under the same names.
pub const SCHEDULE_LEASE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// What a scheduled run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledReports {
    /// The schedule (`daily 06:00`).
    pub schedule: String,
    /// The day reported on.
    pub day: NaiveDate,
    /// The reports, a CSV (and a PDF, when the build has them) per store that sold
    /// that day, under `reports/daily-{day}-{store}.{csv|pdf}`.
    pub reports: Vec<ReportWritten>,
}

impl SalesService {
    /// The schedule of sales reports in force, if any
    /// ([`SalesSettings::schedule`](super::SalesSettings::schedule)).
    pub fn report_schedule(&self) -> Option<ReportSchedule> {
        self.settings.schedule
    }

    /// Writes the reports the schedule has due now, unless another process did or
    /// is doing it: `Ok(None)` without a schedule, or when the day's run is finished
    /// or held. Hosts call it about every minute (the `kcl` server's and worker's
    /// in-process scheduler, the report function on AWS); the claim in the database
    /// makes it once per schedule and day.
    ///
    /// A failure leaves the run unfinished: once its lease ends, the next call
    /// writes the day's reports again, under the same names.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use kcl_core::domain::ReportSchedule;
    /// use kcl_core::memory::MemoryBackend;
    /// use kcl_core::services::{SalesSettings, Services, Settings};
    ///
    /// let mut settings = Settings::default();
    /// settings.sales.schedule = Some(ReportSchedule::parse("daily 06:00", "UTC").unwrap());
    /// let services = Services::with_settings(MemoryBackend::new().ports(), &settings);
    /// let run = services.sales.run_scheduled_reports().await.unwrap().expect("due");
    /// assert!(run.reports.is_empty(), "nothing was sold");
    /// // Once per schedule and day.
    /// assert!(services.sales.run_scheduled_reports().await.unwrap().is_none());
    /// # });
    /// ```
    pub async fn run_scheduled_reports(&self) -> Result<Option<ScheduledReports>, ServiceError> {
        let Some(schedule) = self.settings.schedule else {
            return Ok(None);
        };
        let now = self.clock.now();
        let day = schedule.due_day(now);
        let name = schedule.to_string();
        let holder = self.ids.new_id();
        let lease = chrono::Duration::from_std(SCHEDULE_LEASE).unwrap_or(chrono::Duration::MAX);
        if !self
            .runs
            .claim(&name, day, holder, now, now + lease)
            .await
            .map_err(ServiceError::from)?
        {
            return Ok(None);
        }
        let written = self.write_day_reports(day).await;
        let reports = match written {
            Ok(r) => r,
            Err(e) => {
                // The next ask (a minute later in a worker, the next invocation on
                // AWS) takes the day at once.
                if let Err(released) = self
                    .runs
                    .release(&name, day, holder, self.clock.now())
                    .await
                {
                    tracing::warn!(error = %released, "scheduled reports: the failed run could not be given back; it is taken over when its lease ends");
                }
                return Err(e);
            }
        };
        let keys: Vec<String> = reports.iter().map(|r| r.key.clone()).collect();
        let finished = self
            .runs
            .finish(&name, day, holder, self.clock.now(), &keys)
            .await
            .map_err(ServiceError::from)?;
        if !finished {
            // Another process took the run over after this one's lease ended: it
            // writes the same reports; this one's copies are as good.
            tracing::warn!(schedule = %name, %day, "scheduled reports: the run was taken over");
        }
        tracing::info!(schedule = %name, %day, reports = keys.len(), "scheduled reports written");
        Ok(Some(ScheduledReports {
            schedule: name,
            day,
            reports,
        }))
    }

    /// Writes `day`'s report of each store that sold that day.
    async fn write_day_reports(&self, day: NaiveDate) -> Result<Vec<ReportWritten>, ServiceError> {
        let stores = self
            .summary(&SummaryQuery {
                from: Some(day),
                to: Some(day),
                store: None,
                sku: None,
                group_by: GroupBy::Store,
            })
            .await?;
        let mut formats = vec![ReportFormat::Csv];
        if self.pdf.is_some() {
            formats.push(ReportFormat::Pdf);
        }
        let mut reports = Vec::with_capacity(stores.len() * formats.len());
        for store in &stores {
            for &format in &formats {
                let ext = match format {
                    ReportFormat::Csv => "csv",
                    ReportFormat::Pdf => "pdf",
                };
                let key = SalesKey::scheduled(day, &store.key, ext);
                reports.push(
                    self.write_report_under(
                        day,
                        day,
                        Some(&store.key),
                        format,
                        self.settings.locale,
                        Some(key),
                    )
                    .await?,
                );
            }
        }
        Ok(reports)
    }

    /// The schedule's latest finished run (`None`: no schedule, or no run yet).
    pub async fn last_scheduled_run(&self) -> Result<Option<ReportRun>, ServiceError> {
        let Some(schedule) = self.settings.schedule else {
            return Ok(None);
        };
        self.runs
            .last_finished(&schedule.to_string())
            .await
            .map_err(ServiceError::from)
    }
}
