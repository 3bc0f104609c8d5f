//! Posts: writing one (its text, mentions, hashtags, media and group checked), editing
//! it, moving a scheduled one, removing one.

use bson::oid::ObjectId;
use bson::DateTime;

use crate::core::viewer::{is_staff, Viewer};
use crate::core::Services;
use crate::domain::posts::{hashtags, mention_candidates, search_terms};
use crate::error::{ApiError, FieldErrors};
use crate::jobs::{publish, Cascade};
use crate::store::deferred::Effects;
use crate::store::events::{Activity, Events};
use crate::store::groups::{self, GroupDoc, Visibility};
use crate::store::media;
use crate::store::posts::{self, AuthorSnapshot, PostDoc, PostStatus, PostText};
use crate::store::timelines::TimelineBatch;
use crate::store::users::{self, UserDoc};

/// A publication time as sent (RFC 3339), which must be in the future.
pub(crate) fn parse_publish_at(raw: &str) -> Result<DateTime, String> {
    let at = chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| "Enter a valid RFC 3339 date-time, e.g. 2026-11-22T10:15:30Z.".to_owned())?;
    let at = DateTime::from_chrono(at.with_timezone(&chrono::Utc));
    if at <= DateTime::now() {
        return Err("The publication time must be in the future.".into());
    }
    Ok(at)
}

/// A new post, validated.
pub(crate) struct Draft {
    pub title: String,
    pub content: String,
    pub description: String,
    pub tags: Vec<String>,
    pub media_ids: Vec<ObjectId>,
    pub group: Option<groups::GroupDoc>,
    pub publish_at: Option<DateTime>,
}

/// Writes a validated post and what publishing it needs: the one path of every façade.
pub(crate) async fn write_post(
    state: &Services,
    author: &Viewer,
    author_doc: &UserDoc,
    draft: Draft,
) -> Result<PostDoc, ApiError> {
    let Draft {
        title,
        content,
        description,
        tags,
        media_ids,
        group,
        publish_at,
    } = draft;
    let author_id = author_doc.id;
    let text = post_text(state, author, title, content, description, &tags).await?;
    let now = DateTime::now();
    let mut post = PostDoc {
        id: ObjectId::new(),
        author_id,
        title: text.title,
        content: text.content,
        description: text.description,
        tags,
        hashtags: text.hashtags,
        mentions: text.mentions,
        terms: text.terms,
        media_ids,
        group_id: group.as_ref().map(|g| g.id),
        group_private: group
            .as_ref()
            .is_some_and(|g| g.visibility == Visibility::Private),
        hidden: false,
        status: if publish_at.is_some() {
            PostStatus::Scheduled
        } else {
            PostStatus::Published
        },
        publish_at,
        published_at: publish_at.unwrap_or(now),
        like_count: 0,
        comment_count: 0,
        view_count: 0,
        created_at: now,
        updated_at: now,
        edited: false,
        author: Some(AuthorSnapshot::of(author_doc)),
        fanned_out: false,
        effects: None,
    };
    let published = post.status == PostStatus::Published;
    let counted = published && crate::cascade::counts_for_author(&post);
    let created = Events::new().record(author_id, Activity::on("post.create", "post", post.id));
    let own_record = published && state.jobs.runs_workers();
    if own_record {
        // A post published here is its own publication's record (`jobs::publish::posted`):
        // written with it, and left to this instance's workers (`Jobs::handoff`).
        post.effects = Some(Effects {
            due: crate::jobs::from_now(state.jobs.handoff()),
            claim: None,
            events: created,
        });
    } else {
        // The publication job (fan-out, notifications; for a scheduled post also the
        // count, at its time) is written first, so no failure can leave the post without
        // it. Then the author's `posts_count`, before the post: a request that stops
        // between the two leaves a count one too high and no post, which the job (finding
        // no post) recounts; the other order could leave a post uncounted with nothing to
        // tell.
        publish::enqueue(&state.jobs, &post, created, counted).await?;
        if counted {
            state.writes.posts_counts.add(author_id).await?;
        }
    }
    // The author's own timeline entry is written beside the post. Each write goes with
    // other requests' of its kind (`store::group_write`).
    let written = std::time::Instant::now();
    futures::try_join!(
        async {
            state.writes.posts.insert(post.clone()).await?;
            if let Some(group) = &group {
                groups::share(&state.db, group.id, post.id, author_id).await?;
            }
            Ok::<(), ApiError>(())
        },
        async {
            if published {
                // Already there only if this very request's entry was (a new id).
                let own = TimelineBatch::one(author_id, &post);
                state.writes.own_entries.insert(own).await?;
            }
            Ok(())
        },
    )?;
    if own_record {
        // The count after the post, which records the work: a request that stops between
        // the two leaves the post to another instance once its hand-off runs out, and
        // that one recounts the author. So does a count that failed, or one so late that
        // another instance may have recounted already (the post is answered either way).
        let counted = counted
            && written.elapsed() < state.jobs.handoff() / 2
            && match state.writes.posts_counts.add(author_id).await {
                Ok(()) => true,
                Err(err) => {
                    log::warn!("counting a new post failed (its publication recounts): {err}");
                    false
                }
            };
        state.jobs.posted(post.id, counted);
    } else if published {
        state.jobs.wake_publish();
    }
    // Read-your-writes: the author's next read shows the post in their feed and count.
    post.effects = None;
    Ok(post)
}

/// What an edit of a post sets: its text, and its files when `media_ids` is given
/// (checked by `parse_media_ids`).
pub(crate) struct PostEdit {
    pub title: String,
    pub content: String,
    pub description: String,
    pub media_ids: Option<Vec<ObjectId>>,
}

/// A post its author may edit: the only way to `edit_post`. Made first, before the
/// edit's fields are checked, so anyone else gets the `403` whatever they sent.
pub(crate) struct OwnPost(PostDoc);

impl OwnPost {
    /// `post`, if `viewer` wrote it; `403` otherwise.
    pub(crate) fn of(viewer: &Viewer, post: PostDoc) -> Result<Self, ApiError> {
        if viewer.id() == Some(post.author_id) {
            Ok(Self(post))
        } else {
            Err(ApiError::permission_denied())
        }
    }

    pub(crate) fn post(&self) -> &PostDoc {
        &self.0
    }
}

/// Its author's edit of a post: the files first, then the text (keeping the earlier
/// version), and the edit logged. The one path of every façade.
pub(crate) async fn edit_post(
    state: &Services,
    viewer: &Viewer,
    OwnPost(post): OwnPost,
    edit: PostEdit,
) -> Result<PostDoc, ApiError> {
    let author_id = post.author_id;
    let PostEdit {
        title,
        content,
        description,
        media_ids,
    } = edit;
    let mut updated = change_media(state, post, media_ids).await?;
    if title != updated.title || content != updated.content || description != updated.description {
        let tags = updated.tags.clone();
        let text = post_text(state, viewer, title, content, description, &tags).await?;
        updated = posts::update_text(&state.db, &updated, text)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    state
        .jobs
        .record(author_id, Activity::on("post.update", "post", updated.id))
        .await?;
    Ok(updated)
}

/// Sets a post's files to `media_ids` when they differ; the files it no longer shows get
/// new keys, so whoever was handed their URL through it loses them.
async fn change_media(
    state: &Services,
    post: PostDoc,
    media_ids: Option<Vec<ObjectId>>,
) -> Result<PostDoc, ApiError> {
    let Some(media_ids) = media_ids.filter(|ids| *ids != post.media_ids) else {
        return Ok(post);
    };
    let removed: Vec<ObjectId> = post
        .media_ids
        .iter()
        .filter(|id| !media_ids.contains(id))
        .copied()
        .collect();
    let updated = posts::set_media(&state.db, post.id, media_ids)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::media_keys::rekey(&state.db, &removed).await?;
    Ok(updated)
}

/// Moves one's scheduled post to `at` (checked by `parse_publish_at`), and its
/// publication job with it; `404` for a post that is not one's own or no longer
/// scheduled. A job already running when it moves finds the post not yet due and runs
/// again later.
pub(crate) async fn reschedule_post(
    state: &Services,
    by: ObjectId,
    id: ObjectId,
    at: DateTime,
) -> Result<PostDoc, ApiError> {
    let post = posts::reschedule(&state.db, id, by, at)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The publication job is keyed by the post (`publish::enqueue`).
    crate::store::jobs::set_due(&state.db, post.id, at).await?;
    Ok(post)
}

/// Deletes a post with everything that hangs on it, when `by` is its author or staff.
pub(crate) async fn remove_post(
    state: &Services,
    by: ObjectId,
    post: &PostDoc,
) -> Result<(), ApiError> {
    if post.author_id != by && !is_staff(state, by).await? {
        return Err(ApiError::permission_denied());
    }
    let ids = vec![post.id];
    if state.jobs.cascade(Cascade::Posts { ids }).await? == 0 {
        return Err(ApiError::NotFound);
    }
    state
        .jobs
        .record(by, Activity::on("post.delete", "post", post.id))
        .await?;
    Ok(())
}

/// The text of a post with what is derived from it: mentions of existing accounts (not
/// across a block), the hashtags (the explicit `tags` first, then the text's `#tags`),
/// the search terms.
pub(crate) async fn post_text(
    state: &Services,
    author: &Viewer,
    title: String,
    content: String,
    description: String,
    tags: &[String],
) -> Result<PostText, ApiError> {
    let limits = &state.settings.posts;
    let candidates = mention_candidates(&title, &content);
    if candidates.len() > limits.max_mentions {
        return Err(FieldErrors::single(
            "content",
            format!(
                "Mention at most {} accounts in one post.",
                limits.max_mentions
            ),
        ));
    }
    let found = users::find_by_username_keys(&state.db, &candidates).await?;
    // Nobody mentions across a block, either way (API.md §3).
    let mentions = candidates
        .iter()
        .filter_map(|key| found.iter().find(|u| &u.username_key == key))
        .filter(|u| !author.hides(u.id))
        .map(|u| u.username.clone())
        .collect();
    let mut all_tags = tags.to_vec();
    for tag in hashtags(&title, &content) {
        if !all_tags.contains(&tag) {
            all_tags.push(tag);
        }
    }
    if all_tags.len() > limits.max_hashtags {
        return Err(FieldErrors::single(
            "content",
            format!("Use at most {} hashtags in one post.", limits.max_hashtags),
        ));
    }
    Ok(PostText {
        hashtags: all_tags,
        terms: search_terms(&[&title, &description, &content]),
        mentions,
        title,
        content,
        description,
    })
}

/// `media_ids` as sent: each must name one of the author's own uploads (API.md §5).
pub(crate) async fn parse_media_ids(
    state: &Services,
    errors: &mut FieldErrors,
    author: ObjectId,
    raw: &Option<Vec<String>>,
) -> Result<Option<Vec<ObjectId>>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let max = state.settings.posts.max_media;
    if raw.len() > max {
        errors.add("media_ids", format!("Attach at most {max} files."));
        return Ok(None);
    }
    const NOT_YOURS: &str = "Each media id must name one of your own uploads.";
    let mut ids: Vec<ObjectId> = Vec::with_capacity(raw.len());
    for raw_id in raw {
        let Ok(id) = ObjectId::parse_str(raw_id.trim()) else {
            errors.add("media_ids", NOT_YOURS);
            return Ok(None);
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let owned = media::count_owned(&state.db, author, &ids).await?;
    if usize::try_from(owned).ok() != Some(ids.len()) {
        errors.add("media_ids", NOT_YOURS);
        return Ok(None);
    }
    Ok(Some(ids))
}

/// The group a new post goes to: it must exist and the author must belong to it.
pub(crate) async fn member_group(
    state: &Services,
    errors: &mut FieldErrors,
    author: ObjectId,
    raw: &str,
) -> Result<Option<GroupDoc>, ApiError> {
    let Ok(id) = ObjectId::parse_str(raw.trim()) else {
        errors.add("group_id", NOT_A_MEMBER);
        return Ok(None);
    };
    let group = groups::find(&state.db, id).await?;
    let is_member = groups::membership(&state.db, id, author).await?.is_some();
    match group {
        Some(group) if is_member => Ok(Some(group)),
        _ => {
            errors.add("group_id", NOT_A_MEMBER);
            Ok(None)
        }
    }
}

const NOT_A_MEMBER: &str = "No such group, or you are not a member.";
