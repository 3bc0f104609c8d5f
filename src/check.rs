//! `rookery check [--repair]`: finds the drift a crash can leave between writes that are
//! not in one transaction (DESIGN.md: "repairable by a recount"). A like or a follow is
//! written first and its counter moved second, so a process killed between the two leaves
//! a counter one off; a post deleted while a like was being added can leave the like
//! behind. The check recounts every counter from the documents it counts and looks for
//! likes, comments and feed entries of posts that are gone, for what lost background
//! work leaves (`lost_jobs`), and for stored bytes nothing will serve (`stray_media`);
//! `--repair` sets each counter to its recount, deletes the orphans and queues the work
//! again.

use std::collections::HashMap;
use std::fmt;

use bson::doc;
use bson::oid::ObjectId;
use mongodb::Collection;

use crate::config::JobSettings;
use crate::db::Db;
use crate::store::consistency::{self, counts_by, each_counter, set_counter};

/// What one check found (and, with `--repair`, fixed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Finding {
    pub what: &'static str,
    pub found: u64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub repaired: bool,
}

impl Report {
    pub fn drift(&self) -> u64 {
        self.findings.iter().map(|f| f.found).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.repaired { "repaired" } else { "found" };
        for finding in &self.findings {
            writeln!(f, "{:>8} {verb}: {}", finding.found, finding.what)?;
        }
        match (self.drift(), self.repaired) {
            (0, _) => write!(f, "everything is consistent"),
            (n, true) => write!(f, "{n} repaired in all"),
            (n, false) => write!(f, "{n} inconsistencies; run `rookery check --repair`"),
        }
    }
}

/// One counter field of a collection and what it counts.
struct Counter<T: Send + Sync> {
    what: &'static str,
    holder: Collection<T>,
    field: &'static str,
    actual: HashMap<ObjectId, i64>,
}

impl<T: Send + Sync> Counter<T> {
    /// The holders whose stored count is not their recount, fixed when `repair`.
    async fn check(self, repair: bool) -> mongodb::error::Result<Finding> {
        let mut wrong = Vec::new();
        each_counter(self.holder.clone(), self.field, |id, stored| {
            let actual = self.actual.get(&id).copied().unwrap_or(0);
            if stored != actual {
                wrong.push((id, actual));
            }
        })
        .await?;
        if repair {
            for (id, actual) in &wrong {
                set_counter(&self.holder, *id, self.field, *actual).await?;
            }
        }
        Ok(Finding {
            what: self.what,
            found: wrong.len() as u64,
        })
    }
}

pub async fn run(db: &Db, jobs: &JobSettings, repair: bool) -> mongodb::error::Result<Report> {
    let mut findings = Vec::new();
    // Orphans first, so that the recounts below do not count them.
    for (what, finding) in [
        (
            "likes of deleted posts",
            orphans(db, crate::store::likes::collection(db), repair).await?,
        ),
        (
            "comments of deleted posts",
            orphans(db, crate::store::comments::collection(db), repair).await?,
        ),
        (
            "feed batches holding deleted posts",
            feed_orphans(db, repair).await?,
        ),
    ] {
        findings.push(Finding {
            what,
            found: finding,
        });
    }
    findings.extend(lost_jobs(db, jobs, repair).await?);
    findings.extend(stray_media(db, repair).await?);
    let posts = crate::store::posts::collection(db);
    let users = crate::store::users::collection(db);
    let counted_posts = crate::store::posts::counted_for_author();
    findings.push(
        Counter {
            what: "posts with a wrong like_count",
            holder: posts.clone(),
            field: "like_count",
            actual: counts_by(
                crate::store::likes::collection(db),
                "post_id",
                crate::store::deferred::settled(),
            )
            .await?,
        }
        .check(repair)
        .await?,
    );
    findings.push(
        Counter {
            what: "posts with a wrong comment_count",
            holder: posts.clone(),
            field: "comment_count",
            actual: counts_by(
                crate::store::comments::collection(db),
                "post_id",
                crate::store::deferred::settled(),
            )
            .await?,
        }
        .check(repair)
        .await?,
    );
    findings.push(
        Counter {
            what: "users with a wrong followers_count",
            holder: users.clone(),
            field: "followers_count",
            actual: counts_by(
                crate::store::follows::collection(db),
                "followee_id",
                doc! {},
            )
            .await?,
        }
        .check(repair)
        .await?,
    );
    findings.push(
        Counter {
            what: "users with a wrong following_count",
            holder: users.clone(),
            field: "following_count",
            actual: counts_by(
                crate::store::follows::collection(db),
                "follower_id",
                doc! {},
            )
            .await?,
        }
        .check(repair)
        .await?,
    );
    findings.push(
        Counter {
            what: "users with a wrong posts_count",
            holder: users,
            field: "posts_count",
            actual: counts_by(
                crate::store::posts::collection(db),
                "author_id",
                counted_posts,
            )
            .await?,
        }
        .check(repair)
        .await?,
    );
    findings.push(
        Counter {
            what: "groups with a wrong member_count",
            holder: crate::store::groups::collection(db),
            field: "member_count",
            actual: counts_by(
                crate::store::groups::members_collection(db),
                "group_id",
                doc! {},
            )
            .await?,
        }
        .check(repair)
        .await?,
    );
    Ok(Report {
        findings,
        repaired: repair,
    })
}

/// Documents of `collection` whose `post_id` names no post; deleted when `repair`.
async fn orphans<T: Send + Sync>(
    db: &Db,
    collection: Collection<T>,
    repair: bool,
) -> mongodb::error::Result<u64> {
    let missing = consistency::missing_posts(db, &collection, "post_id").await?;
    if !repair {
        return consistency::count_pointing_at(&collection, "post_id", &missing).await;
    }
    consistency::delete_pointing_at(&collection, "post_id", &missing).await
}

/// Feed batches holding entries of deleted posts; repair takes those entries out.
async fn feed_orphans(db: &Db, repair: bool) -> mongodb::error::Result<u64> {
    let batches = crate::store::timelines::collection(db);
    let missing = consistency::missing_posts(db, &batches, "entries.post_id").await?;
    let found = consistency::count_pointing_at(&batches, "entries.post_id", &missing).await?;
    if repair {
        crate::store::timelines::remove_posts(db, &missing).await?;
    }
    Ok(found)
}

/// How long a post's publication may take before the check calls it unfinished.
const PUBLICATION_GRACE_MS: i64 = 10 * 60 * 1000;

/// What lost background work leaves: jobs still `running` under a lease that ran out
/// (their instance stopped; repair queues them again, as any instance's workers would),
/// and posts whose publication (count, fan-out, notifications) never finished and have
/// no job left to finish it (repair writes one). Dead jobs are not drift: `rookery jobs`
/// shows them.
async fn lost_jobs(
    db: &Db,
    settings: &JobSettings,
    repair: bool,
) -> mongodb::error::Result<Vec<Finding>> {
    use crate::store::jobs;
    let expired = if repair {
        jobs::release_expired(db, |n| crate::jobs::next_due(settings, n)).await?
    } else {
        jobs::count_expired(db).await?
    };
    let before = crate::store::millis_from_now(-PUBLICATION_GRACE_MS);
    let unfinished = crate::store::posts::unfinished_publications(db, before).await?;
    let with_job = jobs::existing(db, &unfinished).await?;
    let lost: Vec<ObjectId> = unfinished
        .into_iter()
        .filter(|id| !with_job.contains(id))
        .collect();
    if repair {
        for id in &lost {
            let job = crate::jobs::publish::job_for(*id, bson::DateTime::now())
                .map_err(|e| mongodb::error::Error::custom(e.to_string()))?;
            jobs::insert(db, &job).await?;
        }
    }
    Ok(vec![
        Finding {
            what: "jobs left running by a stopped instance",
            found: expired,
        },
        Finding {
            what: "posts whose publication job was lost",
            found: lost.len() as u64,
        },
    ])
}

/// How old stored bytes must be before the check calls them stray: a newer variant or
/// chunk may belong to an upload or a processing run still under way.
const STRAY_MEDIA_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// Stored bytes nothing will serve: variants of media that are gone, never closed or
/// processed again, and chunks of uploads a process died in (`media` and
/// `media_variants`). Repair deletes them.
async fn stray_media(db: &Db, repair: bool) -> mongodb::error::Result<Vec<Finding>> {
    use crate::store::media;
    let before = crate::store::millis_from_now(-STRAY_MEDIA_GRACE_MS);
    let variants = media::stray_variants(db, before).await?;
    if repair {
        media::delete_variants(db, &variants).await?;
    }
    let mut unfinished = 0;
    for bucket in [media::FILES, media::VARIANTS] {
        let ids = media::unfinished_uploads(db, bucket, before).await?;
        if repair {
            media::delete_chunks_of(db, bucket, &ids).await?;
        }
        unfinished += ids.len() as u64;
    }
    Ok(vec![
        Finding {
            what: "media variants nothing serves",
            found: variants.len() as u64,
        },
        Finding {
            what: "uploads never finished (their chunks)",
            found: unfinished,
        },
    ])
}
