//! bcrypt, always on the blocking thread pool so that hashing never stalls the executor,
//! and on at most all cores but one, so that a burst of logins leaves a core to everything
//! else (`GET /health` stays fast while 50 logins queue).

use std::sync::Arc;

use tokio::sync::{OnceCell, Semaphore};

use crate::error::ApiError;

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// A real hash to verify against when a login names no account, so that an unknown
    /// account and a wrong password take the same time (no user enumeration).
    dummy_hash: Arc<OnceCell<String>>,
    /// How many hashes may run at once.
    slots: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            cost,
            dummy_hash: Arc::new(OnceCell::new()),
            slots: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        let cost = self.cost;
        let _slot = self.slots.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
            .await?
            .map_err(ApiError::internal)
    }

    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, ApiError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        let _slot = self.slots.acquire().await.map_err(ApiError::internal)?;
        // A stored hash bcrypt cannot read counts as a mismatch, never as a 500.
        Ok(
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await?,
        )
    }

    /// Spends the time of one verification on a hash that matches nothing.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), ApiError> {
        let dummy = self
            .dummy_hash
            .get_or_try_init(|| self.hash("rookery-dummy-password"))
            .await?
            .clone();
        self.verify(password, &dummy).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let hasher = PasswordHasher::new(4);
        let hash = hasher.hash("s3cure-pass").await.unwrap();
        assert!(hasher.verify("s3cure-pass", &hash).await.unwrap());
        assert!(!hasher.verify("wrong-pass", &hash).await.unwrap());
        assert!(!hasher.verify("s3cure-pass", "not-a-hash").await.unwrap());
    }
}
