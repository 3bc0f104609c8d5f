//! A post's publication: what follows it, whether at creation or when its scheduled time
//! comes. Recorded by the post itself when it is published at creation on an instance
//! that runs workers (`posted`: its `effects` field, taken over by this instance's
//! workers at once, by any instance's once `Jobs::handoff` has passed), and otherwise by
//! its `publish` job, keyed by the post's id, so a post has at most one. Both are run the
//! same way (`run_tasks`); a post that needs what only a job has (checkpoints, mention
//! notifications kept in it) is given one.
//!
//! In order: publish it if it is a scheduled post now due; add it to its author's public
//! `posts_count` (as a recount, so a second run changes nothing) unless the creating
//! request counted it before writing it; copy it into the author's and each follower's
//! timeline (unless the author is over the celebrity threshold), a page of followers at a
//! time with a checkpoint after each; notify those it mentions (notifications made once
//! and kept in the job) and, for a scheduled post, its followers (ids derived from the
//! post and the follower), so a repeated run writes each once; and mark the post done,
//! which is what `rookery check` looks for.

use bson::oid::ObjectId;
use bson::DateTime;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;

use super::{Jobs, Run, Task};
use crate::db::Db;
use crate::error::ApiError;
use crate::feed::{who_may_read, Feed};
use crate::store::deferred;
use crate::store::events::Events;
use crate::store::jobs::JobDoc;
use crate::store::notifications::{self, NotificationDoc, NotificationType, Subject};
use crate::store::posts::{self, PostDoc, PostStatus};
use crate::store::timelines::{self, Entry, FAN_OUT_BATCH};
use crate::store::{follows, users};

/// A missing post is waited for this long (its job is written before it) before the job
/// concludes it was never written or is deleted.
const MISSING_POST_GRACE: Duration = Duration::from_secs(60);

/// Writes the publication job of `post` (with the creating request's `events`; `counted`
/// when the request adds the post to its author's `posts_count` itself, before writing
/// it): to run now for a published post, at its time for a scheduled one. Written before
/// the post, so no crash can leave a post without it. The workers are not woken: the
/// request wakes them once the post is written (`Jobs::wake_publish`), else the poller
/// finds the job.
pub async fn enqueue(
    jobs: &Jobs,
    post: &PostDoc,
    events: Events,
    counted: bool,
) -> Result<(), ApiError> {
    let due_at = match post.status {
        PostStatus::Published => DateTime::now(),
        PostStatus::Scheduled => post.publish_at.unwrap_or(post.published_at),
    };
    let task = Task::Publish {
        post_id: post.id,
        events,
        author_id: Some(post.author_id),
        counted,
    };
    jobs.enqueue_unwoken(post.id, task, due_at).await
}

/// A publication job for a post whose job was lost (`rookery check --repair`), or that
/// was scheduled before publication became a job, due at `due_at`.
pub fn job_for(post_id: ObjectId, due_at: DateTime) -> Result<JobDoc, ApiError> {
    Task::Publish {
        post_id,
        events: Events::new(),
        author_id: None,
        counted: false,
    }
    .job(post_id, due_at)
}

/// Gives every post scheduled before publication became a job its job (at start-up and
/// `rookery migrate`); returns how many.
pub async fn adopt_scheduled(db: &crate::db::Db) -> Result<usize, ApiError> {
    let legacy = posts::scheduled_without_job_flag(db).await?;
    for (id, due_at) in &legacy {
        crate::store::jobs::insert(db, &job_for(*id, *due_at)?).await?;
        posts::mark_unfinished(db, *id).await?;
    }
    Ok(legacy.len())
}

/// Runs for as long as the process lives: takes over the posts written here as their
/// own publication's record (`Jobs::posted`), a batch of up to `jobs.publish_batch` at a
/// time, and otherwise those any instance left due (its hand-off or a claim's lease ran
/// out), then publishes them as claimed jobs are (`run_tasks`). Up to
/// `jobs.concurrency.publish` batches run at once; after a batch that was not full, the
/// next waits `jobs.publish_linger_ms` to gather more. Woken by a post handed over here,
/// or every `jobs.poll_ms`.
pub(super) async fn posted(jobs: Arc<Jobs>) {
    let mut pacer = super::worker::Pacer::new(
        jobs.settings.jobs.concurrency.publish,
        Duration::from_millis(jobs.settings.jobs.publish_linger_ms),
    );
    let poll = Duration::from_millis(jobs.settings.jobs.poll_ms.max(10));
    let limit = usize::try_from(jobs.settings.jobs.publish_batch.max(1)).unwrap_or(1);
    loop {
        let Some(permit) = pacer.next().await else {
            return;
        };
        match claim_posts(&jobs, limit).await {
            Ok(Some(claimed)) => {
                pacer.took(claimed.taken, limit);
                let jobs = jobs.clone();
                tokio::spawn(async move {
                    // Done already: handed to a job that has run (a claim that ran out after
                    // writing the job, taken again). Only the record is left to close.
                    let (done, open): (Vec<_>, Vec<_>) = claimed
                        .posts
                        .into_iter()
                        .partition(|(post, _)| post.fanned_out);
                    let done: Vec<ObjectId> = done.iter().map(|(post, _)| post.id).collect();
                    let db = &jobs.feed.db;
                    if let Err(err) =
                        posts::take_over_publications(db, claimed.claim, &done, true).await
                    {
                        log::warn!("closing published posts' records failed (retried once their claim runs out): {err}");
                    }
                    let found = open.iter().map(|(post, _)| post.clone()).collect();
                    let tasks: Vec<Queued> = open
                        .into_iter()
                        .map(|(mut post, counted)| Queued {
                            post_id: post.id,
                            events: post.effects.take().map(|e| e.events).unwrap_or_default(),
                            counted,
                            origin: Origin::Post {
                                claim: claimed.claim,
                                author_id: post.author_id,
                            },
                        })
                        .collect();
                    run_tasks(&jobs, &tasks, found).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = jobs.posted_wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
            Err(err) => {
                drop(permit);
                log::warn!("taking over new posts' publication failed, retrying: {err}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Posts claimed for publication: with whether their request counted each.
struct ClaimedPosts {
    claim: ObjectId,
    posts: Vec<(PostDoc, bool)>,
    /// How many the claim tried to take.
    taken: usize,
}

/// Claims the posts handed over here, else those due to any instance (whose counts are
/// not known to be done, so their authors are recounted); `None` when there are none.
async fn claim_posts(jobs: &Jobs, limit: usize) -> mongodb::error::Result<Option<ClaimedPosts>> {
    let db = &jobs.feed.db;
    let collection = deferred::collection(db, "posts");
    let handed = jobs.take_posted(limit);
    let lease_until = jobs.lease_until();
    let (claim, ids, counted): (ObjectId, Vec<ObjectId>, HashMap<ObjectId, bool>) =
        if handed.is_empty() {
            let most = i64::try_from(limit).unwrap_or(i64::MAX);
            match deferred::claim_due(&collection, lease_until, most).await? {
                Some((claim, ids)) => (claim, ids, HashMap::new()),
                None => return Ok(None),
            }
        } else {
            let ids: Vec<ObjectId> = handed.iter().map(|(id, _)| *id).collect();
            match deferred::claim_given(&collection, &ids, lease_until).await {
                Ok(claim) => (claim, ids, handed.into_iter().collect()),
                Err(err) => {
                    jobs.return_posted(handed);
                    return Err(err);
                }
            }
        };
    let taken = ids.len();
    let found: Vec<PostDoc> = posts::collection(db)
        .find(deferred::claimed_by(claim, &ids))
        .projection(posts::shown())
        .await?
        .try_collect()
        .await?;
    let posts = found
        .into_iter()
        .map(|post| {
            let counted = counted.get(&post.id).copied().unwrap_or(false);
            (post, counted)
        })
        .collect();
    Ok(Some(ClaimedPosts {
        claim,
        posts,
        taken,
    }))
}

pub(super) async fn run(
    run: &Run<'_>,
    post_id: ObjectId,
    author_id: Option<ObjectId>,
    counted: bool,
) -> Result<(), ApiError> {
    let feed = &run.jobs.feed;
    let db = &feed.db;
    let Some(post) = posts::find(db, post_id).await? else {
        if run.age() < MISSING_POST_GRACE {
            return Err(ApiError::internal("the post is not written yet"));
        }
        // Never written (the request failed or stopped after counting it), or deleted:
        // the author's count and own timeline agree with the posts there are.
        if let Some(author) = author_id {
            timelines::remove_posts(db, &[post_id]).await?;
            users::recount_posts(db, author).await?;
        }
        return Ok(());
    };
    let post = match post.status {
        PostStatus::Published => post,
        PostStatus::Scheduled => match posts::publish_if_due(db, post_id).await? {
            Some(post) => post,
            None => return Err(ApiError::internal("the post is not due yet")),
        },
    };
    if crate::cascade::counts_for_author(&post) && !counted {
        users::recount_posts(db, post.author_id).await?;
    }
    fan_out(run, feed, &post).await?;
    notify(run, feed, &post).await?;
    posts::mark_fanned_out(db, post.id).await?;
    Ok(())
}

/// Puts the post into its author's timeline and, unless the author is over the celebrity
/// threshold, into every follower's who may read it, resuming after the job's checkpoint.
async fn fan_out(run: &Run<'_>, feed: &Feed, post: &PostDoc) -> Result<(), ApiError> {
    let db = &feed.db;
    timelines::insert(db, vec![(post.author_id, Entry::of(post))]).await?;
    let followers_count = users::find_by_id(db, post.author_id)
        .await?
        .map_or(0, |u| u.followers_count);
    if crate::feed::is_celebrity(feed, followers_count) {
        return Ok(());
    }
    let mut after = run.job.progress;
    let batch = run.jobs.settings.jobs.fan_out_batch.max(1);
    let page = i64::try_from(batch).unwrap_or(1000);
    loop {
        let followers = follows::follower_ids_after(db, post.author_id, after, page).await?;
        let Some(last) = followers.last().copied() else {
            return Ok(());
        };
        let full = followers.len() == batch;
        let readers = who_may_read(feed, post, followers).await?;
        let entries = readers.into_iter().map(|f| (f, Entry::of(post))).collect();
        timelines::insert(db, entries).await?;
        if !full {
            return Ok(());
        }
        run.checkpoint(last).await?;
        after = Some(last);
    }
}

/// Mentions, and a scheduled post's followers (`post_published`); for a private group's
/// post only its members.
async fn notify(run: &Run<'_>, feed: &Feed, post: &PostDoc) -> Result<(), ApiError> {
    let db = &feed.db;
    let subject = Subject {
        post_id: Some(post.id),
        ..Subject::default()
    };
    // A scheduled post's followers may be many: their notifications' ids are derived
    // from the post, the recipient and the moment of publication instead.
    let published = |recipient| {
        NotificationDoc::derived(
            post.id,
            post.published_at,
            recipient,
            NotificationType::PostPublished,
            post.author_id,
            subject,
        )
    };
    // Mentions are few: made with new ids, kept in the job, then written.
    let docs = run
        .prepared(|| async {
            // `mentions` already holds only accounts outside any block with the author.
            let keys: Vec<String> = post.mentions.iter().map(|m| m.to_lowercase()).collect();
            let mentioned: Vec<ObjectId> = users::find_by_username_keys(db, &keys)
                .await?
                .iter()
                .map(|u| u.id)
                .filter(|id| *id != post.author_id)
                .collect();
            let mentioned = who_may_read(feed, post, mentioned).await?;
            Ok(mentioned
                .into_iter()
                .map(|r| {
                    NotificationDoc::new(r, NotificationType::Mention, post.author_id, subject)
                })
                .collect())
        })
        .await?;
    notifications::insert_many(db, &docs).await?;
    if post.publish_at.is_none() {
        return Ok(());
    }
    let followers = follows::follower_ids(db, post.author_id).await?;
    for chunk in followers.chunks(FAN_OUT_BATCH) {
        let readers = who_may_read(feed, post, chunk.to_vec()).await?;
        let docs: Vec<_> = readers.into_iter().map(published).collect();
        notifications::insert_many(db, &docs).await?;
    }
    Ok(())
}

/// Runs claimed publication jobs together where they are the common case — a post
/// published at creation, by an author with at most `jobs.fan_out_batch` followers (or a
/// celebrity, who is not fanned out), mentioning no one, outside private groups — in a
/// fixed number of commands for the whole batch: the posts, their authors, the authors'
/// followers, every timeline entry in one `insert_many`, the posts marked done, the jobs'
/// events, the jobs closed; and the post counts of authors whose request did not count
/// the post (one aggregation, one update), none in the common case. Two or more such
/// posts of one author with more followers run together per author (`publish_wide`).
/// Every other job runs alone, as before. Each step is idempotent as the single run is
/// (a batch's id derived from its owner and posts, a post read once per timeline, counts
/// set to recounts), so a batch that fails part way is retried job by job.
pub(super) async fn run_batch(jobs: &Jobs, batch: Vec<JobDoc>) {
    let mut tasks = Vec::with_capacity(batch.len());
    for job in batch {
        match Task::of(&job) {
            Ok(Task::Publish {
                post_id,
                events,
                counted,
                ..
            }) => tasks.push(Queued {
                origin: Origin::Job(Box::new(job)),
                post_id,
                events,
                counted,
            }),
            Ok(_) => super::worker::settle(jobs, &job, Err("not a publish job".into()), true).await,
            Err(err) => super::worker::settle(jobs, &job, Err(err), true).await,
        }
    }
    let ids: Vec<ObjectId> = tasks.iter().map(|t| t.post_id).collect();
    match posts::find_many(&jobs.feed.db, &ids).await {
        Ok(found) => run_tasks(jobs, &tasks, found).await,
        // The batch could not be read: each job runs alone.
        Err(_) => {
            for task in &tasks {
                run_alone(jobs, task).await;
            }
        }
    }
}

/// Runs claimed publications, of jobs or of posts (`posted`), whose posts are `found`.
async fn run_tasks(jobs: &Jobs, tasks: &[Queued], found: Vec<PostDoc>) {
    if tasks.is_empty() {
        return;
    }
    let feed = &jobs.feed;
    let Split { quick, wide, alone } = match split(feed, jobs, tasks, found).await {
        Ok(split) => split,
        Err(_) => Split {
            alone: (0..tasks.len()).collect(),
            ..Split::default()
        },
    };
    for at in alone {
        run_alone(jobs, &tasks[at]).await;
    }
    let page = fan_out_page(jobs);
    for group in wide {
        let outcome = publish_wide(feed, page, tasks, &group).await;
        close(jobs, tasks, &group, outcome).await;
    }
    if quick.is_empty() {
        return;
    }
    let outcome = publish_together(feed, tasks, &quick).await;
    close(jobs, tasks, &quick, outcome).await;
}

/// Runs a publication on its own: a job as a job; a post that is its own record is given
/// a job (keyed by the post, so written once), which then runs with its checkpoints and
/// its notifications kept, and the post's record is closed.
async fn run_alone(jobs: &Jobs, task: &Queued) {
    let claim = match &task.origin {
        Origin::Job(job) => return super::worker::run_job(jobs, job).await,
        Origin::Post { claim, author_id } => {
            let job = Task::Publish {
                post_id: task.post_id,
                events: task.events.clone(),
                author_id: Some(*author_id),
                counted: task.counted,
            };
            match jobs.enqueue_as(task.post_id, job, DateTime::now()).await {
                Ok(_) => *claim,
                Err(err) => {
                    return log::warn!(
                        "a new post's publication job could not be written (retried once its claim runs out): {err}"
                    )
                }
            }
        }
    };
    if let Err(err) =
        posts::take_over_publications(&jobs.feed.db, claim, &[task.post_id], false).await
    {
        log::warn!("a new post's publication was handed to a job but its record not closed (the job will be written once more, harmlessly): {err}");
    }
}

/// Closes the jobs of posts published together, or leaves each to be retried (a post
/// that is its own record, once its claim runs out).
async fn close(jobs: &Jobs, tasks: &[Queued], run: &[Quick], outcome: Result<(), ApiError>) {
    let done: Vec<&JobDoc> = run
        .iter()
        .filter_map(|q| match &tasks[q.at].origin {
            Origin::Job(job) => Some(job.as_ref()),
            Origin::Post { .. } => None,
        })
        .collect();
    match outcome {
        Ok(()) => {
            let ids: Vec<ObjectId> = done.iter().map(|j| j.id).collect();
            if ids.is_empty() {
                return;
            }
            if let Err(err) = crate::store::jobs::finish(&jobs.feed.db, &ids, &jobs.owner).await {
                log::warn!("posts were published but their jobs not closed (they will run once more, harmlessly): {err}");
            }
        }
        Err(err) => {
            let err = err.to_string();
            if done.len() < run.len() {
                log::warn!(
                    "publishing new posts failed (retried once their claim runs out): {err}"
                );
            }
            for job in done {
                super::worker::settle(jobs, job, Err(err.clone()), false).await;
            }
        }
    }
}

/// A claimed publication, read.
struct Queued {
    origin: Origin,
    post_id: ObjectId,
    events: Events,
    counted: bool,
}

/// What records a claimed publication.
enum Origin {
    /// Its job.
    Job(Box<JobDoc>),
    /// The post itself (`posted`), held by `claim`.
    Post {
        claim: ObjectId,
        author_id: ObjectId,
    },
}

/// A job of the batch that runs with the others: its place in the batch and its post.
struct Quick {
    at: usize,
    post: PostDoc,
    /// The author is over the celebrity threshold: only their own timeline gets it.
    celebrity: bool,
}

/// Followers per page of a fan-out (`jobs.fan_out_batch`), as a query's limit.
fn fan_out_page(jobs: &Jobs) -> i64 {
    i64::try_from(jobs.settings.jobs.fan_out_batch.max(1)).unwrap_or(i64::MAX)
}

/// How a batch of jobs runs: the common case together, several plain posts of one author
/// with many followers together per author, the rest alone (their places in `tasks`).
#[derive(Default)]
struct Split {
    quick: Vec<Quick>,
    wide: Vec<Vec<Quick>>,
    alone: Vec<usize>,
}

async fn split(
    feed: &Feed,
    jobs: &Jobs,
    tasks: &[Queued],
    found: Vec<PostDoc>,
) -> Result<Split, ApiError> {
    let db = &feed.db;
    let authors: Vec<ObjectId> = found.iter().map(|p| p.author_id).collect();
    let accounts = users::find_many(db, &authors).await?;
    let batch = fan_out_page(jobs);
    let mut split = Split::default();
    let mut wide: HashMap<ObjectId, Vec<Quick>> = HashMap::new();
    for (
        at,
        Queued {
            origin, post_id, ..
        },
    ) in tasks.iter().enumerate()
    {
        let resumed = matches!(origin, Origin::Job(job) if job.progress.is_some());
        let post = found.iter().find(|p| p.id == *post_id);
        let followers = post
            .and_then(|p| accounts.iter().find(|a| a.id == p.author_id))
            .map(|a| a.followers_count);
        let celebrity = followers.is_some_and(|f| crate::feed::is_celebrity(feed, f));
        match (post, followers) {
            (Some(post), Some(followers))
                if !resumed
                    && post.status == PostStatus::Published
                    && post.publish_at.is_none()
                    && post.mentions.is_empty()
                    && !post.group_private =>
            {
                let run = Quick {
                    at,
                    post: post.clone(),
                    celebrity,
                };
                if followers <= batch || celebrity {
                    split.quick.push(run);
                } else {
                    wide.entry(post.author_id).or_default().push(run);
                }
            }
            _ => split.alone.push(at),
        }
    }
    for group in wide.into_values() {
        if group.len() > 1 {
            split.wide.push(group);
        } else {
            // An author's only post of the batch runs alone, resuming from its checkpoints.
            split.alone.extend(group.iter().map(|q| q.at));
        }
    }
    Ok(split)
}

async fn publish_together(feed: &Feed, tasks: &[Queued], quick: &[Quick]) -> Result<(), ApiError> {
    let db = &feed.db;
    write_events(db, tasks, quick).await?;
    let mut fanned: Vec<ObjectId> = quick
        .iter()
        .filter(|q| !q.celebrity)
        .map(|q| q.post.author_id)
        .collect();
    fanned.sort_unstable();
    fanned.dedup();
    let followers = follows::followers_of_many(db, &fanned).await?;
    let mut entries = Vec::new();
    for q in quick {
        entries.push((q.post.author_id, Entry::of(&q.post)));
        if q.celebrity {
            continue;
        }
        entries.extend(
            followers
                .iter()
                .filter(|(followee, _)| *followee == q.post.author_id)
                .map(|(_, follower)| (*follower, Entry::of(&q.post))),
        );
    }
    // One batch per owner for all the posts of the run that reach them.
    timelines::insert(db, entries).await?;
    mark_published(db, tasks, quick).await
}

/// The creating requests' events of posts published together, in one write.
async fn write_events(db: &Db, tasks: &[Queued], run: &[Quick]) -> Result<(), ApiError> {
    let mut events = Events::new();
    for q in run {
        events.merge(tasks[q.at].events.clone());
    }
    events.write(db).await?;
    Ok(())
}

/// Posts published together, once fanned out: their authors' counts recounted where the
/// request did not count the post (`Task::Publish::counted`), the posts marked done.
async fn mark_published(db: &Db, tasks: &[Queued], run: &[Quick]) -> Result<(), ApiError> {
    let mut authors: Vec<ObjectId> = run
        .iter()
        .filter(|q| !tasks[q.at].counted)
        .map(|q| q.post.author_id)
        .collect();
    authors.sort_unstable();
    authors.dedup();
    users::recount_posts_of_many(db, &authors).await?;
    let mut of_jobs = Vec::new();
    let mut of_posts: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    for q in run {
        match &tasks[q.at].origin {
            Origin::Job(_) => of_jobs.push(q.post.id),
            Origin::Post { claim, .. } => of_posts.entry(*claim).or_default().push(q.post.id),
        }
    }
    posts::mark_many_fanned_out(db, &of_jobs).await?;
    for (claim, ids) in of_posts {
        posts::take_over_publications(db, claim, &ids, true).await?;
    }
    Ok(())
}

/// Several plain posts of one author with more than `jobs.fan_out_batch` followers: the
/// followers are read once, `page` at a time, and each gets one batch holding all of the
/// posts (`timelines::batches`) instead of one document per post, which a stream of such
/// an author's posts would otherwise cost their whole audience each time. No checkpoints:
/// a run that fails part way leaves each job to run again, and a follower who already
/// has the posts may then hold one twice in two batches, which pages and counts read
/// once (`timelines`).
async fn publish_wide(
    feed: &Feed,
    page: i64,
    tasks: &[Queued],
    group: &[Quick],
) -> Result<(), ApiError> {
    let db = &feed.db;
    let Some(author) = group.first().map(|q| q.post.author_id) else {
        return Ok(());
    };
    write_events(db, tasks, group).await?;
    let own = group.iter().map(|q| (author, Entry::of(&q.post))).collect();
    timelines::insert(db, own).await?;
    let mut after = None;
    loop {
        let followers = follows::follower_ids_after(db, author, after, page).await?;
        let Some(last) = followers.last().copied() else {
            break;
        };
        let full = i64::try_from(followers.len()).is_ok_and(|n| n == page);
        let entries = followers
            .iter()
            .flat_map(|f| group.iter().map(|q| (*f, Entry::of(&q.post))))
            .collect();
        timelines::insert_by_entries(db, entries, followers.len()).await?;
        if !full {
            break;
        }
        after = Some(last);
    }
    mark_published(db, tasks, group).await
}
