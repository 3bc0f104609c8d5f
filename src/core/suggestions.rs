//! Accounts to suggest following, and why.

use std::collections::HashMap;

use bson::oid::ObjectId;

use crate::core::viewer::Viewer;
use crate::core::Services;
use crate::error::ApiError;
use crate::store::{follows, posts, users};

/// How far the friends-of-friends walk looks.
const FOLLOWEES_CONSIDERED: i64 = 500;
/// How many candidates each source brings.
const CANDIDATES: i64 = 50;

/// `a`, `a and 1 other`, `a and 2 others`.
fn names(list: &[String]) -> String {
    match list {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!(
            "{first} and {} other{}",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

/// Why an account is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SuggestionSource {
    /// Followed by accounts the viewer follows.
    FriendsOfFriends,
    /// Interested in what the viewer is interested in or writes about.
    Interests,
    /// Among the most followed.
    Popular,
}

/// A suggested account, why, and the reason in words.
pub(crate) struct Ranked {
    pub user: users::UserDoc,
    pub source: SuggestionSource,
    pub reason: String,
}

/// Accounts for `me` to follow, best first, at most `limit`: those `me` does not follow
/// and has no block with, ranked by followers in common (friends of friends), then shared
/// interests and the hashtags `me` writes; popular accounts fill the rest. The ranking
/// the native and the Mastodon suggestions share.
pub(crate) async fn suggest(
    state: &Services,
    viewer: &Viewer,
    me: &users::UserDoc,
    limit: usize,
) -> Result<Vec<Ranked>, ApiError> {
    let followees = follows::followee_ids(&state.db, me.id, FOLLOWEES_CONSIDERED).await?;
    let mut exclude = viewer.hidden();
    exclude.extend(&followees);
    exclude.push(me.id);

    // (score, source, reason) per candidate.
    let mut ranked: HashMap<ObjectId, (i64, SuggestionSource, String)> = HashMap::new();
    let friends_of_friends =
        follows::followed_by_many(&state.db, &followees, &exclude, CANDIDATES).await?;
    let via_ids: Vec<ObjectId> = friends_of_friends
        .iter()
        .flat_map(|(_, _, via)| via.iter().copied())
        .collect();
    let via_names: HashMap<ObjectId, String> = users::find_many(&state.db, &via_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    for (id, count, via) in &friends_of_friends {
        let named: Vec<String> = via
            .iter()
            .filter_map(|v| via_names.get(v).cloned())
            .collect();
        ranked.insert(
            *id,
            (
                count * 10,
                SuggestionSource::FriendsOfFriends,
                format!("Followed by {} whom you follow", names(&named)),
            ),
        );
    }

    let mut topics = me.interests.clone();
    for tag in posts::recent_hashtags_of(&state.db, me.id, 50).await? {
        if !topics.contains(&tag) {
            topics.push(tag);
        }
    }
    for user in users::with_interests(&state.db, &topics, &exclude, CANDIDATES).await? {
        let shared: Vec<String> = user
            .interests
            .iter()
            .filter(|t| topics.contains(t))
            .cloned()
            .collect();
        let entry =
            ranked
                .entry(user.id)
                .or_insert((0, SuggestionSource::Interests, String::new()));
        entry.0 += i64::try_from(shared.len()).unwrap_or(0);
        if entry.2.is_empty() {
            entry.2 = format!("Interested in {}", shared.join(", "));
        }
    }
    if ranked.len() < limit {
        for user in users::most_followed(&state.db, &exclude, CANDIDATES).await? {
            ranked.entry(user.id).or_insert((
                0,
                SuggestionSource::Popular,
                "Popular on Rookery".to_owned(),
            ));
        }
    }

    let mut order: Vec<(ObjectId, i64, SuggestionSource, String)> = ranked
        .into_iter()
        .map(|(id, (score, source, reason))| (id, score, source, reason))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(limit);
    let ids: Vec<ObjectId> = order.iter().map(|(id, ..)| *id).collect();
    let mut found: HashMap<ObjectId, users::UserDoc> = users::find_many(&state.db, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(order
        .into_iter()
        .filter_map(|(id, _, source, reason)| {
            found.remove(&id).map(|user| Ranked {
                user,
                source,
                reason,
            })
        })
        .collect())
}
