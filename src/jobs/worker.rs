//! The workers: per kind, a loop that claims due jobs while it has room under
//! `jobs.concurrency` and runs each in its own task, heartbeating its lease; one poller
//! that wakes them when another instance's jobs (or retries) come due, and puts back in
//! the queue the jobs whose lease ran out.
//!
//! Why not a crate: `apalis` has no MongoDB backend, and its 1.0 `Backend` trait is still
//! a release candidate; what a backend for it would need (atomic claim, lease, retry
//! state) is most of this file anyway.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{JobKind, Jobs, Run, Task};
use crate::config::JobSettings;
use crate::error::ApiError;
use crate::store::events::Events;
use crate::store::jobs::{self as store, JobDoc};

/// Starts the workers of every kind and the poller on this instance.
pub fn start(jobs: Arc<Jobs>) {
    for kind in JobKind::ALL {
        tokio::spawn(kind_loop(jobs.clone(), kind));
    }
    tokio::spawn(super::effects::run(jobs.clone()));
    tokio::spawn(super::publish::posted(jobs.clone()));
    tokio::spawn(poller(jobs));
}

fn concurrency(jobs: &Jobs, kind: JobKind) -> usize {
    let c = &jobs.settings.jobs.concurrency;
    match kind {
        JobKind::Events => c.events,
        JobKind::Publish => c.publish,
        JobKind::Email => c.email,
        JobKind::Views => c.views,
        JobKind::Cascade => c.cascade,
        JobKind::Media => c.media,
    }
    .max(1)
}

/// Paces a loop that claims batches: at most `concurrency` of them run at once, and after
/// a claim that found fewer than it could take, the next waits `linger` to gather more
/// (`jobs.publish_linger_ms`; zero: no wait).
pub(super) struct Pacer {
    room: Arc<Semaphore>,
    linger: Duration,
    /// When a claim last found fewer than it could take.
    emptied: Option<tokio::time::Instant>,
}

impl Pacer {
    pub(super) fn new(concurrency: usize, linger: Duration) -> Self {
        Self {
            room: Arc::new(Semaphore::new(concurrency.max(1))),
            linger,
            emptied: None,
        }
    }

    /// Room for the next batch (held while it runs), once any linger is over.
    pub(super) async fn next(&mut self) -> Option<OwnedSemaphorePermit> {
        let permit = self.room.clone().acquire_owned().await.ok()?;
        if let Some(at) = self.emptied.take() {
            tokio::time::sleep_until(at + self.linger).await;
        }
        Some(permit)
    }

    /// A claim took `took` of the `most` it could.
    pub(super) fn took(&mut self, took: usize, most: usize) {
        if !self.linger.is_zero() && took < most {
            self.emptied = Some(tokio::time::Instant::now());
        }
    }
}

async fn kind_loop(jobs: Arc<Jobs>, kind: JobKind) {
    let linger = match kind {
        JobKind::Publish => Duration::from_millis(jobs.settings.jobs.publish_linger_ms),
        _ => Duration::ZERO,
    };
    let mut pacer = Pacer::new(concurrency(&jobs, kind), linger);
    let most = usize::try_from(jobs.settings.jobs.publish_batch).unwrap_or(usize::MAX);
    loop {
        let Some(permit) = pacer.next().await else {
            return;
        };
        // Held from before the claim, so a `drain` that waits for it sees these jobs done.
        let running = jobs.in_flight[kind.index()].begin();
        match claim(&jobs, kind).await {
            Ok(batch) if !batch.is_empty() => {
                pacer.took(batch.len(), most);
                let jobs = jobs.clone();
                tokio::spawn(async move {
                    run_batch(&jobs, kind, batch).await;
                    drop((permit, running));
                });
            }
            Ok(_) => {
                drop((permit, running));
                jobs.wake[kind.index()].notified().await;
            }
            Err(err) => {
                drop((permit, running));
                log::warn!("claiming {} jobs failed, retrying: {err}", kind.as_str());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Wakes every kind when any job is due (written by another instance, or a retry whose
/// time came), every `jobs.poll_ms`; puts back expired leases every half lease.
async fn poller(jobs: Arc<Jobs>) {
    let mut ticker =
        tokio::time::interval(Duration::from_millis(jobs.settings.jobs.poll_ms.max(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep = tokio::time::Instant::now();
    loop {
        ticker.tick().await;
        if last_sweep.elapsed() >= jobs.lease() / 2 {
            last_sweep = tokio::time::Instant::now();
            match store::release_expired(&jobs.db, |n| next_due(&jobs.settings.jobs, n)).await {
                Ok(0) => {}
                Ok(n) => log::warn!("{n} job(s) whose worker stopped answering were queued again"),
                Err(err) => log::warn!("looking for expired job leases failed: {err}"),
            }
        }
        match store::any_due(&jobs.db).await {
            Ok(true) => JobKind::ALL.iter().for_each(|kind| jobs.wake(*kind)),
            Ok(false) => {}
            Err(err) => log::warn!("looking for due jobs failed: {err}"),
        }
    }
}

/// Claims due jobs of `kind`: a batch of `jobs.events_batch` for events (written
/// together) and of `jobs.publish_batch` for publications (`publish::run_batch`), a fair
/// pick for media, one otherwise.
pub(super) async fn claim(jobs: &Jobs, kind: JobKind) -> mongodb::error::Result<Vec<JobDoc>> {
    let lease_until = jobs.lease_until();
    if kind == JobKind::Events || kind == JobKind::Publish {
        let limit = match kind {
            JobKind::Events => jobs.settings.jobs.events_batch,
            _ => jobs.settings.jobs.publish_batch,
        }
        .max(1);
        store::claim_many(&jobs.db, kind.as_str(), &jobs.owner, lease_until, limit).await
    } else if kind == JobKind::Media {
        let per_owner = jobs.settings.media.video_jobs_per_user;
        Ok(
            store::claim_fair(&jobs.db, kind.as_str(), &jobs.owner, lease_until, per_owner)
                .await?
                .into_iter()
                .collect(),
        )
    } else {
        Ok(
            store::claim_one(&jobs.db, kind.as_str(), &jobs.owner, lease_until)
                .await?
                .into_iter()
                .collect(),
        )
    }
}

/// Runs claimed jobs: a batch of events in one write per collection, publications
/// together where they can be, others one by one.
pub(super) async fn run_batch(jobs: &Jobs, kind: JobKind, batch: Vec<JobDoc>) {
    if kind == JobKind::Publish {
        return super::publish::run_batch(jobs, batch).await;
    }
    if kind != JobKind::Events {
        for job in batch {
            run_job(jobs, &job).await;
        }
        return;
    }
    let mut all = Events::new();
    let mut taken = Vec::with_capacity(batch.len());
    for job in batch {
        match Task::of(&job) {
            Ok(Task::Events(events)) => {
                all.merge(events);
                taken.push(job);
            }
            Ok(_) => settle(jobs, &job, Err("not an events job".into()), true).await,
            Err(err) => settle(jobs, &job, Err(err), true).await,
        }
    }
    match all.write(&jobs.db).await {
        Ok(()) => {
            let ids: Vec<_> = taken.iter().map(|j| j.id).collect();
            if let Err(err) = store::finish(&jobs.db, &ids, &jobs.owner).await {
                log::warn!("events were written but their jobs not closed (they will be written once more, harmlessly): {err}");
            }
        }
        Err(err) => {
            let err = err.to_string();
            for job in &taken {
                settle(jobs, job, Err(err.clone()), false).await;
            }
        }
    }
}

/// Runs one claimed job by its task and settles it.
pub(super) async fn run_job(jobs: &Jobs, job: &JobDoc) {
    match Task::of(job) {
        Ok(task) => {
            let run = Run { jobs, job };
            let _ = run_one(jobs, job, handle(&run, task)).await;
        }
        Err(err) => settle(jobs, job, Err(err), true).await,
    }
}

/// Runs one claimed job's work while a heartbeat keeps its lease; settles the job by the
/// outcome.
pub(super) async fn run_one<T>(
    jobs: &Jobs,
    job: &JobDoc,
    work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let owner = job.owner.as_deref().unwrap_or_default();
    let beat = async {
        loop {
            tokio::time::sleep(jobs.lease() / 3).await;
            match store::heartbeat(&jobs.db, job.id, owner, jobs.lease_until(), None).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => log::warn!("extending a job's lease failed: {err}"),
            }
        }
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        () = beat => {
            log::warn!("{} job {} was taken over after its lease ran out; this run stops", job.kind, job.id);
            return Err(ApiError::internal("job lease lost"));
        }
    };
    let result = outcome.as_ref().map(|_| ()).map_err(|e| e.to_string());
    settle(jobs, job, result, false).await;
    outcome
}

async fn handle(run: &Run<'_>, task: Task) -> Result<(), ApiError> {
    match task {
        Task::Events(events) => Ok(events.write(&run.jobs.db).await?),
        Task::Publish {
            post_id,
            events,
            author_id,
            counted,
        } => {
            events.write(&run.jobs.db).await?;
            super::publish::run(run, post_id, author_id, counted).await
        }
        Task::Email(mail) => super::mail::run(run, mail).await,
        Task::Views(batch) => {
            if let Some(left) = batch.write(&run.jobs.db).await? {
                run.jobs.enqueue(Task::Views(left)).await?;
            }
            Ok(())
        }
        Task::Cascade(cascade) => cascade.run(&run.jobs.db).await.map(|_| ()),
        Task::Media { media_id } => super::media::run(run, media_id).await,
    }
}

/// Deletes a job that succeeded; queues one that failed for its next attempt, or leaves
/// it dead (at once when `fatal`: it cannot be read).
pub(super) async fn settle(jobs: &Jobs, job: &JobDoc, result: Result<(), String>, fatal: bool) {
    let owner = job.owner.as_deref().unwrap_or_default();
    let written = match result {
        Ok(()) => store::finish(&jobs.db, &[job.id], owner).await,
        Err(error) => {
            let next = if fatal {
                None
            } else {
                next_due(&jobs.settings.jobs, job.attempts)
            };
            let give_up = next.is_none();
            if give_up {
                log::error!(
                    "{} job {} is dead after {} attempt(s): {error}",
                    job.kind,
                    job.id,
                    job.attempts
                );
            } else {
                log::warn!(
                    "{} job {} failed (attempt {}), retrying: {error}",
                    job.kind,
                    job.id,
                    job.attempts
                );
            }
            store::fail(&jobs.db, job.id, owner, next, &error).await
        }
    };
    if let Err(err) = written {
        log::warn!("recording the outcome of {} job {} failed (its lease will run out and it will run again): {err}", job.kind, job.id);
    }
}

/// When a job that failed (or lost its worker) after `attempts` runs may run again, or
/// `None` when it has had its `jobs.max_attempts` and is dead.
pub fn next_due(settings: &JobSettings, attempts: i32) -> Option<bson::DateTime> {
    if attempts >= i32::try_from(settings.max_attempts).unwrap_or(i32::MAX) {
        return None;
    }
    let wait = backoff(
        attempts,
        settings.retry_base_ms,
        settings.retry_max_secs,
        rand::rng().random::<f64>(),
    );
    Some(super::from_now(wait))
}

/// The wait before attempt `attempts + 1`: `base · 2^(attempts-1)`, at most `max_secs`,
/// of which the second half is random (`jitter` in [0, 1)), so jobs that failed together
/// do not all come back together.
pub fn backoff(attempts: i32, base_ms: u64, max_secs: u64, jitter: f64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = base_ms
        .saturating_mul(1u64 << doublings)
        .min(max_secs.saturating_mul(1000));
    let half = full / 2;
    Duration::from_millis(half + (half as f64 * jitter.clamp(0.0, 1.0)) as u64)
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        assert_eq!(backoff(1, 1000, 600, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(1, 1000, 600, 1.0), Duration::from_millis(1000));
        assert_eq!(backoff(3, 1000, 600, 0.0), Duration::from_millis(2000));
        assert_eq!(backoff(3, 1000, 600, 1.0), Duration::from_millis(4000));
        assert_eq!(backoff(30, 1000, 600, 1.0), Duration::from_secs(600));
        assert_eq!(
            backoff(i32::MAX, 1000, 600, 0.5),
            Duration::from_millis(450_000)
        );
        assert_eq!(backoff(0, 1000, 600, 0.0), Duration::from_millis(500));
    }
}
