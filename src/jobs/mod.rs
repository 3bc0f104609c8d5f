//! Background work on a durable queue in MongoDB (docs/OPERATIONS.md "Background jobs").
//!
//! A request writes a job (`jobs` collection) before it answers (or, for a like, a
//! comment or a post published at once, a record on the document it writes: `effects`,
//! `publish::posted`), then leaves the work to
//! the workers every instance runs (`worker`): they claim due jobs with a lease, run them,
//! and delete them when done; a failed job runs again after an exponential, jittered
//! delay, and one that failed `jobs.max_attempts` times stays `dead` with its last error
//! until `rookery jobs` retries or drops it. A job may run more than once (its instance
//! died after the work but before the delete), so every handler is idempotent: documents
//! are written with ids chosen in advance, counters are set
//! to recounts, and the fan-out resumes from its last checkpoint.

mod cascade;
mod effects;
mod in_flight;
mod mail;
pub mod media;
pub mod publish;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;
use bson::{Bson, DateTime};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::Db;
use crate::email::Mailer;
use crate::error::ApiError;
use crate::feed::Feed;
use crate::store::events::{Activity, Events};
use crate::store::jobs::{self as store, JobDoc};
use crate::store::notifications::NotificationDoc;
use crate::view_counter::ViewCounter;

pub use cascade::Cascade;
pub use mail::MailTask;
pub use worker::{backoff, next_due, start};

/// The kinds of job; each has its own workers and concurrency (`jobs.concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Notifications and activity entries.
    Events,
    /// What follows a post's publication: its author's count, the feed fan-out, mention
    /// and follower notifications.
    Publish,
    /// Every email.
    Email,
    /// Views counted for analytics.
    Views,
    /// Deletions' cascades.
    Cascade,
    /// A video's probe, poster and web rendition.
    Media,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::Events,
        JobKind::Publish,
        JobKind::Email,
        JobKind::Views,
        JobKind::Cascade,
        JobKind::Media,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Events => "events",
            JobKind::Publish => "publish",
            JobKind::Email => "email",
            JobKind::Views => "views",
            JobKind::Cascade => "cascade",
            JobKind::Media => "media",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a job does, with what: stored as its `kind` and `payload`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Task {
    Events(Events),
    Publish {
        post_id: ObjectId,
        /// The creating request's activity entry, written with the rest.
        #[serde(default)]
        events: Events,
        /// The post's author, when the job was written with the post (a job that finds
        /// no post recounts them: the request counted the post before writing it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author_id: Option<ObjectId>,
        /// The creating request added the post to its author's `posts_count` before
        /// writing the post, so the job leaves the count alone; otherwise (a scheduled
        /// post, a job queued by `rookery check --repair`, one written by an older
        /// version) the job sets it to a recount.
        #[serde(default)]
        counted: bool,
    },
    Email(MailTask),
    Views(crate::view_counter::ViewBatch),
    Cascade(Cascade),
    /// Processes an uploaded video.
    Media {
        media_id: ObjectId,
    },
}

impl Task {
    pub fn kind(&self) -> JobKind {
        match self {
            Task::Events(_) => JobKind::Events,
            Task::Publish { .. } => JobKind::Publish,
            Task::Email(_) => JobKind::Email,
            Task::Views(_) => JobKind::Views,
            Task::Cascade(_) => JobKind::Cascade,
            Task::Media { .. } => JobKind::Media,
        }
    }

    fn payload(&self) -> Result<Bson, ApiError> {
        let mut doc = bson::to_document(self).map_err(ApiError::internal)?;
        Ok(doc.remove("payload").unwrap_or(Bson::Null))
    }

    /// The queued job that runs this task from `due_at`, under the id `id`.
    pub(crate) fn job(&self, id: ObjectId, due_at: DateTime) -> Result<JobDoc, ApiError> {
        Ok(JobDoc::new(
            id,
            self.kind().as_str(),
            self.payload()?,
            due_at,
        ))
    }

    fn of(job: &JobDoc) -> Result<Self, String> {
        bson::from_document(bson::doc! { "kind": &job.kind, "payload": job.payload.clone() })
            .map_err(|e| format!("unreadable {} job: {e}", job.kind))
    }
}

impl Jobs {
    /// Hands the jobs this instance holds back to the queue (at a graceful stop).
    pub async fn release(&self) {
        let handed: Vec<ObjectId> = self
            .take_posted(usize::MAX)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if !handed.is_empty() {
            // Not yet taken over here: due at once to any instance's workers.
            let posts = crate::store::deferred::collection(&self.db, "posts");
            match crate::store::deferred::due_now(&posts, &handed).await {
                Ok(()) => log::info!("{} new post(s) handed to the other instances", handed.len()),
                Err(err) => {
                    log::warn!("handing new posts over failed (their hand-off will run out): {err}")
                }
            }
        }
        match store::release_owned(&self.db, &self.owner).await {
            Ok(0) => {}
            Ok(n) => log::info!("{n} running job(s) handed back to the queue"),
            Err(err) => {
                log::warn!("handing running jobs back failed (their leases will run out): {err}")
            }
        }
    }
}

/// The moment `wait` from now.
pub(crate) fn from_now(wait: Duration) -> DateTime {
    crate::store::millis_from_now(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2))
}

/// At most this many claims for one `drain` of a kind claimed one job at a time.
const DRAIN_CLAIMS: usize = 20;
/// The longest a read waits for the runs under way on its instance.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// The queue as this instance sees it, with what the handlers work with.
pub struct Jobs {
    pub db: Db,
    pub feed: Arc<Feed>,
    pub mailer: Mailer,
    pub settings: Arc<Settings>,
    /// This instance, as it signs its claims.
    owner: String,
    /// Wakes a kind's workers: a job of that kind was written here, or the poller saw
    /// one due.
    wake: [Notify; 6],
    /// The runs of each kind under way on this instance, so `drain` can wait for those
    /// already claimed without excluding anyone.
    in_flight: [in_flight::InFlight; 6],
    /// Writes the jobs requests hand in, several to an insert under load.
    inserts: crate::store::group_write::GroupInsert<JobDoc>,
    /// Wakes the worker of the effects likes and comments carry (`effects`).
    effects_wake: Notify,
    /// Its runs under way here, for `drain`.
    effects_runs: in_flight::InFlight,
    /// The flushes of counted views under way here (`flush_views`).
    view_flushes: in_flight::InFlight,
    /// Posts written here that are their own publication's record, for this instance's
    /// workers to take over at once (`publish::posted`), each with whether its request
    /// counted it in its author's `posts_count`.
    posted: std::sync::Mutex<Vec<(ObjectId, bool)>>,
    /// Wakes the worker that takes them over.
    posted_wake: Notify,
}

impl Jobs {
    pub fn new(db: Db, feed: Arc<Feed>, mailer: Mailer, settings: Arc<Settings>) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "rookery".into());
        let inserts = crate::store::group_write::GroupInsert::new(
            crate::store::jobs::collection(&db),
            settings.database.command_monitoring,
        );
        Self {
            feed,
            mailer,
            settings,
            owner: format!("{host}:{}:{}", std::process::id(), ObjectId::new().to_hex()),
            wake: Default::default(),
            in_flight: Default::default(),
            inserts,
            effects_wake: Notify::new(),
            effects_runs: Default::default(),
            view_flushes: Default::default(),
            posted: Default::default(),
            posted_wake: Notify::new(),
            db,
        }
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.settings.jobs.lease_secs.max(1))
    }

    fn lease_until(&self) -> DateTime {
        from_now(self.lease())
    }

    pub(crate) fn wake(&self, kind: JobKind) {
        self.wake[kind.index()].notify_one();
    }

    /// A like or comment with effects to write was written here (`effects`).
    pub fn wake_effects(&self) {
        self.effects_wake.notify_one();
    }

    /// Writes a job to run now.
    pub async fn enqueue(&self, task: Task) -> Result<(), ApiError> {
        self.enqueue_as(ObjectId::new(), task, DateTime::now())
            .await
            .map(|_| ())
    }

    /// Writes a job with a chosen id (a job about one thing is written once: a second
    /// write of the same id is a no-op) to run from `due_at`; returns whether it was new.
    pub async fn enqueue_as(
        &self,
        id: ObjectId,
        task: Task,
        due_at: DateTime,
    ) -> Result<bool, ApiError> {
        self.write(task.kind(), task.job(id, due_at)?).await
    }

    /// `enqueue_as` without waking the workers: the caller wakes them (`wake_publish`)
    /// once what the job reads is written, or the poller finds the job.
    pub(crate) async fn enqueue_unwoken(
        &self,
        id: ObjectId,
        task: Task,
        due_at: DateTime,
    ) -> Result<(), ApiError> {
        self.inserts.insert(task.job(id, due_at)?).await?;
        Ok(())
    }

    /// Wakes the publication workers: a post whose job is due was written here.
    pub(crate) fn wake_publish(&self) {
        self.wake(JobKind::Publish);
    }

    /// Whether this instance runs the job workers. Then a post published here may be its
    /// own publication's record (the workers take it over at once: `publish::posted`),
    /// and a read of events waits for them instead of running them (`drain`).
    pub(crate) fn runs_workers(&self) -> bool {
        self.settings.jobs.workers
    }

    /// How long a post that is its own publication's record is left to the instance that
    /// wrote it before any instance's workers may take it (`jobs.lease_secs`, as a lease
    /// it holds): that instance hands it to its own workers at once, once its request has
    /// counted it; one that stopped first leaves it to the others, which recount its
    /// author.
    pub(crate) fn handoff(&self) -> Duration {
        self.lease()
    }

    /// Hands a post written here as its own publication's record to this instance's
    /// workers (`counted`: its request added it to its author's `posts_count`).
    pub(crate) fn posted(&self, post_id: ObjectId, counted: bool) {
        if let Ok(mut posted) = self.posted.lock() {
            posted.push((post_id, counted));
        }
        self.posted_wake.notify_one();
    }

    /// Up to `limit` of the posts handed over here, oldest first.
    fn take_posted(&self, limit: usize) -> Vec<(ObjectId, bool)> {
        match self.posted.lock() {
            Ok(mut posted) => {
                let n = posted.len().min(limit);
                posted.drain(..n).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    /// Puts posts whose claim failed back in front of the hand-off.
    fn return_posted(&self, back: Vec<(ObjectId, bool)>) {
        if let Ok(mut posted) = self.posted.lock() {
            posted.splice(0..0, back);
        }
    }

    /// Writes a job (a second write of its id is a no-op) and wakes its kind's workers
    /// when it is due; returns whether it was new.
    /// Requests' jobs go through the group insert (`store::group_write`).
    async fn write(&self, kind: JobKind, job: JobDoc) -> Result<bool, ApiError> {
        let due = job.due_at <= DateTime::now();
        let written = self.inserts.insert(job).await?;
        if due {
            self.wake(kind);
        }
        Ok(written)
    }

    /// Writes the `media` job of an uploaded video (its id the file's: written once), in
    /// fair order between owners: behind its owner's videos already waiting, by
    /// `media.video_fair_share_secs` each, so another owner's single video is not held
    /// behind a batch. Returns whether it was new.
    pub async fn enqueue_media(
        &self,
        media_id: ObjectId,
        owner: ObjectId,
    ) -> Result<bool, ApiError> {
        let share_ms = i64::try_from(self.settings.media.video_fair_share_secs)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(1000);
        let order_at =
            store::fair_order(&self.db, JobKind::Media.as_str(), owner, share_ms).await?;
        let mut job = Task::Media { media_id }.job(media_id, DateTime::now())?;
        job.fair_key = Some(owner);
        job.order_at = Some(order_at);
        self.write(JobKind::Media, job).await
    }

    /// Writes an action's notifications and activity as one `events` job (nothing when
    /// there are none).
    pub async fn events(&self, events: Events) -> Result<(), ApiError> {
        if events.is_empty() {
            return Ok(());
        }
        self.enqueue(Task::Events(events)).await
    }

    /// Records one entry of `actor`'s activity log.
    pub async fn record(&self, actor: ObjectId, activity: Activity<'_>) -> Result<(), ApiError> {
        self.events(Events::new().record(actor, activity)).await
    }

    /// Sees the due jobs of `kind` run, then waits (at most `DRAIN_WAIT`) for the runs of
    /// that kind this instance had under way by then: what a read of one's own
    /// notifications, activity, analytics or development outbox does first, so it sees
    /// what its own requests set in motion. Events (and the effects of likes and
    /// comments), on an instance that runs workers, are left to them: the read wakes them
    /// and waits for a run that began after it (one run serves every reader waiting, and
    /// under load the next batch comes anyway). Otherwise the read runs them itself (one
    /// batch of events, or up to `DRAIN_CLAIMS` jobs). Claims are atomic, so no lock is
    /// taken: concurrent readers and the workers go on side by side. A failure is only
    /// logged: the read goes on and the workers retry.
    pub async fn drain(&self, kind: JobKind) {
        if kind == JobKind::Events && self.runs_workers() {
            let runs = &self.in_flight[kind.index()];
            let asked = runs.latest();
            self.wake(kind);
            let (effects, events) = tokio::join!(
                self.next_effects_run(),
                runs.wait_for_next(asked, DRAIN_WAIT)
            );
            if !(effects && events) {
                log::debug!("a read went on before this instance's workers ran its events");
            }
            return;
        }
        if kind == JobKind::Events {
            self.drain_effects().await;
        }
        let runs = &self.in_flight[kind.index()];
        for _ in 0..DRAIN_CLAIMS {
            let ticket = runs.begin();
            match worker::claim(self, kind).await {
                Ok(batch) if !batch.is_empty() => worker::run_batch(self, kind, batch).await,
                Ok(_) => break,
                Err(err) => {
                    log::warn!(
                        "running due {} jobs before a read failed: {err}",
                        kind.as_str()
                    );
                    break;
                }
            }
            drop(ticket);
            if kind == JobKind::Events {
                break;
            }
        }
        // A worker that claimed a job before this read looked holds a run begun by now.
        let seen = runs.latest();
        if !runs.wait_past(seen, DRAIN_WAIT).await {
            log::debug!(
                "a read went on before this instance's {} runs ended",
                kind.as_str()
            );
        }
    }

    /// Wakes this instance's effects worker and waits (at most `DRAIN_WAIT`) for a run of
    /// it that began after now; whether one ended.
    async fn next_effects_run(&self) -> bool {
        let asked = self.effects_runs.latest();
        self.effects_wake.notify_one();
        self.effects_runs.wait_for_next(asked, DRAIN_WAIT).await
    }

    /// `drain` for the effects of likes and comments, on an instance without workers: a
    /// batch of each here, then a wait for the batches this instance had under way.
    async fn drain_effects(&self) {
        if let Err(err) = effects::run_all(self).await {
            log::warn!("writing the effects of likes and comments before a read failed: {err}");
        }
        self.wait_for_effects().await;
    }

    /// For tests: a worker stalled past its lease. Claims a batch of the likes' effects
    /// under a lease that has already run out (any worker may take it over at once),
    /// moves their posts' counters, and hands the batch back unsettled; its `settle` then
    /// does what the stalled worker does when it wakes.
    #[doc(hidden)]
    pub async fn stalled_likes_batch(&self) -> mongodb::error::Result<Option<effects::Batch<'_>>> {
        let likes = &effects::DEFERRED[0];
        let Some(mut batch) = effects::Batch::claim(self, likes, DateTime::now()).await? else {
            return Ok(None);
        };
        batch.count().await?;
        Ok(Some(batch))
    }

    /// Waits (at most `DRAIN_WAIT`) for the effects runs under way here to end.
    pub async fn wait_for_effects(&self) {
        let seen = self.effects_runs.latest();
        if !self.effects_runs.wait_past(seen, DRAIN_WAIT).await {
            log::debug!("a read went on before this instance's effects runs ended");
        }
    }

    /// Runs a deletion's cascade in the caller, which waits for it, as a job written first
    /// and held under a lease: if this instance dies half-way, a worker finishes it once
    /// the lease runs out; if it fails, the workers retry it. Returns how many posts this
    /// run deleted.
    pub async fn cascade(&self, cascade: Cascade) -> Result<usize, ApiError> {
        let mut job = Task::Cascade(cascade.clone()).job(ObjectId::new(), DateTime::now())?;
        job.state = store::JobState::Running;
        job.owner = Some(self.owner.clone());
        job.lease_until = Some(self.lease_until());
        job.attempts = 1;
        store::insert(&self.db, &job).await?;
        worker::run_one(self, &job, cascade.run(&self.db)).await
    }
}

/// Every `posts.view_flush_ms`, writes the views this instance counted as one `views`
/// job (a batch that cannot be written goes with the next).
pub fn spawn_view_flusher(jobs: Arc<Jobs>, views: Arc<ViewCounter>) {
    let interval = Duration::from_millis(jobs.settings.posts.view_flush_ms.max(10));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = flush_views(&jobs, &views).await {
                log::warn!("writing counted views failed, retrying: {err}");
            }
        }
    });
}

/// Writes the views counted so far as a `views` job; returns once every flush begun
/// before this one has written its job too (the periodic flush may have taken views just
/// before a read of analytics asked for them).
pub async fn flush_views(jobs: &Jobs, views: &ViewCounter) -> Result<(), ApiError> {
    let earlier = jobs.view_flushes.latest();
    let flushing = jobs.view_flushes.begin();
    let written = match views.take() {
        None => Ok(()),
        Some(batch) => match jobs.enqueue(Task::Views(batch.clone())).await {
            Ok(()) => Ok(()),
            Err(err) => {
                views.restore(batch);
                Err(err)
            }
        },
    };
    drop(flushing);
    if !jobs.view_flushes.wait_past(earlier, DRAIN_WAIT).await {
        log::debug!("a flush of views went on before an earlier one ended");
    }
    written
}

/// The queue's gauges in Prometheus text: jobs by kind and state (`queued` ones that
/// failed before and wait for a retry are `failed`), and how long the longest-due job has
/// waited.
pub async fn gauges(db: &Db) -> mongodb::error::Result<String> {
    use std::collections::BTreeMap;
    use std::fmt::Write;
    let mut by: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for kind in JobKind::ALL {
        for state in ["queued", "running", "failed", "dead"] {
            by.insert((kind.as_str(), state), 0);
        }
    }
    let counts = store::counts(db).await?;
    for (kind, state, retried, n) in &counts {
        let state = match state {
            store::JobState::Queued if *retried => "failed",
            other => other.as_str(),
        };
        let kind = JobKind::ALL
            .iter()
            .map(|k| k.as_str())
            .find(|k| k == kind)
            .unwrap_or("other");
        *by.entry((kind, state)).or_default() += n;
    }
    let mut out = String::new();
    out.push_str(
        "# HELP rookery_jobs Background jobs by kind and state (failed: waiting for a retry).\n",
    );
    out.push_str("# TYPE rookery_jobs gauge\n");
    for ((kind, state), n) in &by {
        let _ = writeln!(out, "rookery_jobs{{kind=\"{kind}\",state=\"{state}\"}} {n}");
    }
    let waited = store::oldest_due(db).await?.map_or(0.0, |due| {
        (DateTime::now().timestamp_millis() - due.timestamp_millis()).max(0) as f64 / 1000.0
    });
    out.push_str(
        "# HELP rookery_jobs_oldest_due_seconds How long the longest-waiting due job has waited.\n",
    );
    out.push_str("# TYPE rookery_jobs_oldest_due_seconds gauge\n");
    let _ = writeln!(out, "rookery_jobs_oldest_due_seconds {waited}");
    Ok(out)
}

/// A job while it runs: what its handler may ask of the queue.
pub struct Run<'a> {
    pub jobs: &'a Jobs,
    pub job: &'a JobDoc,
}

impl Run<'_> {
    fn owner(&self) -> &str {
        self.job.owner.as_deref().unwrap_or_default()
    }

    /// Records how far the job got and extends its lease; fails when the job is no
    /// longer this run's (its lease ran out and another run took it over).
    pub async fn checkpoint(&self, progress: ObjectId) -> Result<(), ApiError> {
        let still_mine = store::heartbeat(
            &self.jobs.db,
            self.job.id,
            self.owner(),
            self.jobs.lease_until(),
            Some(progress),
        )
        .await?;
        if still_mine {
            Ok(())
        } else {
            Err(ApiError::internal("the job's lease was lost"))
        }
    }

    /// The notifications this job writes, made once: by `make` on the first run (then
    /// stored in the job before anything is written), as stored on any later run. Their
    /// ids are then both new (in order with everything else) and the same on every run.
    pub async fn prepared<F, Fut>(&self, make: F) -> Result<Vec<NotificationDoc>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<NotificationDoc>, ApiError>>,
    {
        if let Some(docs) = &self.job.prepared {
            return Ok(docs.clone());
        }
        let docs = make().await?;
        if !store::prepare(&self.jobs.db, self.job.id, self.owner(), &docs).await? {
            return Err(ApiError::internal("the job's lease was lost"));
        }
        Ok(docs)
    }

    /// How long ago the job was first written.
    pub fn age(&self) -> Duration {
        let ms = DateTime::now().timestamp_millis() - self.job.created_at.timestamp_millis();
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}
