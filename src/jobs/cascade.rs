//! The `cascade` job: a deletion with everything that hangs on it. The request that
//! deletes runs it itself (`Jobs::cascade`, the client waits for it), but as a job
//! written first: if the instance dies half-way, a worker finishes it once the lease runs
//! out. Every step deletes what is still there, so a second run completes the first.

use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::error::ApiError;
use crate::store::{groups, posts};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Cascade {
    /// Posts, with their likes, comments, versions, feed entries, shares and stats.
    Posts { ids: Vec<ObjectId> },
    /// A group, with its posts.
    Group { id: ObjectId },
    /// An account, with everything it owns.
    Account { user_id: ObjectId },
}

impl Cascade {
    /// Runs the deletion; returns how many posts this run deleted.
    pub async fn run(&self, db: &Db) -> Result<usize, ApiError> {
        match self {
            Cascade::Posts { ids } => crate::cascade::remove_posts(db, ids).await,
            Cascade::Group { id } => {
                let group_posts = posts::ids_in_group(db, *id).await?;
                let deleted = crate::cascade::remove_posts(db, &group_posts).await?;
                groups::delete(db, *id).await?;
                Ok(deleted)
            }
            Cascade::Account { user_id } => {
                crate::account_deletion::delete_account(db, *user_id).await?;
                Ok(0)
            }
        }
    }
}
