use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    AuditEvent, ItemId, ItemResult, ItemStatus, Job, JobId, JobItem, StatusCounts,
};
use crate::ports::{
    AuditLog, AuditLogError, AuditOutbox, ItemStart, JobPage, JobRepo, JobRepoError,
};

/// OCR jobs in memory.
#[derive(Default)]
pub struct MemoryJobs {
    jobs: Mutex<HashMap<JobId, (Job, Vec<JobItem>)>>,
    /// Audit events of committed changes, until [`AuditOutbox::relay`] moves them.
    outbox: super::outbox::PendingEvents,
}

impl MemoryJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, (Job, Vec<JobItem>)>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn apply(item: &mut JobItem, result: &ItemResult, now: DateTime<Utc>) {
    match result {
        ItemResult::Done { text, confidence } => {
            item.status = ItemStatus::Done;
            item.text = Some(text.clone());
            item.confidence = Some(*confidence);
            item.error = None;
        }
        ItemResult::Error(why) => {
            item.status = ItemStatus::Error;
            item.error = Some(why.clone());
        }
    }
    item.updated_at = now;
}

#[async_trait]
impl JobRepo for MemoryJobs {
    async fn create(
        &self,
        job: &Job,
        items: &[JobItem],
        event: &AuditEvent,
    ) -> Result<(), JobRepoError> {
        let mut jobs = self.lock();
        if jobs.contains_key(&job.id) {
            return Err(JobRepoError::Duplicate(job.id.to_string()));
        }
        let mut ids = std::collections::HashSet::new();
        if let Some(dup) = items.iter().find(|i| !ids.insert(i.id)) {
            return Err(JobRepoError::Duplicate(dup.id.to_string()));
        }
        jobs.insert(job.id, (job.clone(), items.to_vec()));
        self.outbox.push(event);
        Ok(())
    }

    async fn get(&self, id: JobId) -> Result<(Job, Vec<JobItem>), JobRepoError> {
        self.lock()
            .get(&id)
            .cloned()
            .ok_or(JobRepoError::NotFound(id))
    }

    async fn list(&self, offset: u64, limit: u32) -> Result<JobPage, JobRepoError> {
        let jobs = self.lock();
        let mut all: Vec<_> = jobs.values().collect();
        all.sort_by_key(|(j, _)| std::cmp::Reverse((j.created_at, j.id)));
        Ok(JobPage {
            total: all.len() as u64,
            jobs: all
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .map(|(j, items)| (j.clone(), StatusCounts::of(items.iter().map(|i| i.status))))
                .collect(),
        })
    }

    async fn rename(
        &self,
        id: JobId,
        name: &str,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Job, JobRepoError> {
        let mut jobs = self.lock();
        let (job, _) = jobs.get_mut(&id).ok_or(JobRepoError::NotFound(id))?;
        job.name = name.to_owned();
        job.updated_at = now;
        self.outbox.push(event);
        Ok(job.clone())
    }

    async fn delete(
        &self,
        id: JobId,
        event: &AuditEvent,
    ) -> Result<(Job, Vec<JobItem>), JobRepoError> {
        let mut jobs = self.lock();
        let gone = jobs.remove(&id).ok_or(JobRepoError::NotFound(id))?;
        self.outbox.push(event);
        Ok(gone)
    }

    async fn start_item(
        &self,
        job: JobId,
        item: ItemId,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ItemStart, JobRepoError> {
        let mut jobs = self.lock();
        let Some(it) = jobs
            .get_mut(&job)
            .and_then(|(_, items)| items.iter_mut().find(|i| i.id == item))
        else {
            return Ok(ItemStart::Gone);
        };
        if it.status.is_final() {
            return Ok(ItemStart::Final(it.clone()));
        }
        it.status = ItemStatus::Processing;
        it.updated_at = now;
        let started = it.clone();
        drop(jobs);
        self.outbox.push(event);
        Ok(ItemStart::Started(started))
    }

    async fn finish_item(
        &self,
        job: JobId,
        item: ItemId,
        result: &ItemResult,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<u64, JobRepoError> {
        let mut jobs = self.lock();
        let Some((_, items)) = jobs.get_mut(&job) else {
            return Ok(0);
        };
        let mut changed = 0;
        for it in items.iter_mut() {
            if (it.id == item || it.duplicate_of == Some(item)) && !it.status.is_final() {
                apply(it, result, now);
                changed += 1;
            }
        }
        drop(jobs);
        if changed > 0 {
            self.outbox.push(event);
        }
        Ok(changed)
    }

    async fn expire(
        &self,
        now: DateTime<Utc>,
        event: &(dyn Fn(JobId, ItemId) -> AuditEvent + Send + Sync),
    ) -> Result<u64, JobRepoError> {
        let mut jobs = self.lock();
        let mut expired = Vec::new();
        for (job, items) in jobs.values_mut() {
            for it in items.iter_mut() {
                if !it.status.is_final() && it.expires_at < now {
                    it.status = ItemStatus::Expired;
                    it.error = Some(JobItem::EXPIRED_MESSAGE.into());
                    it.updated_at = now;
                    expired.push((job.id, it.id));
                }
            }
        }
        drop(jobs);
        for (job, item) in &expired {
            self.outbox.push(&event(*job, *item));
        }
        Ok(expired.len() as u64)
    }
}

#[async_trait]
impl AuditOutbox for MemoryJobs {
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        self.outbox.relay(log, limit).await
    }
}
