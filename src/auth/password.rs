//! bcrypt, on the service's own hashing threads so that hashing never stalls the executor.
//! There is one such thread per core, so a burst of sign-ups and logins uses every core,
//! and each runs at a lower scheduling priority (nice 10 on Linux), so the kernel gives
//! a core to request handling and the database whenever they want one (`GET /health`
//! stays fast while 50 logins queue). They replaced tokio's blocking pool behind a
//! semaphore of all cores but one, which left a core idle during a burst of hashing.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, OnceCell};

use crate::error::ApiError;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// A real hash to verify against when a login names no account, so that an unknown
    /// account and a wrong password take the same time (no user enumeration).
    dummy_hash: Arc<OnceCell<String>>,
    /// The hashing threads' queue; they start with the first hash and end with the last
    /// clone of this hasher.
    jobs: Arc<std::sync::OnceLock<mpsc::Sender<Job>>>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        Self {
            cost,
            dummy_hash: Arc::new(OnceCell::new()),
            jobs: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Runs `work` on a hashing thread and waits for it without blocking the executor.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .get_or_init(start_threads)
            .send(job)
            .map_err(|_| ApiError::internal("the password hashing threads are gone"))?;
        result
            .await
            .map_err(|_| ApiError::internal("a password hashing thread stopped"))
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(ApiError::internal)
    }

    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, ApiError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        // A stored hash bcrypt cannot read counts as a mismatch, never as a 500.
        self.run(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
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

/// One low-priority thread per core, sharing one queue.
fn start_threads() -> mpsc::Sender<Job> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for i in 0..cores {
        let receiver = Arc::clone(&receiver);
        let spawned = std::thread::Builder::new()
            .name(format!("rookery-bcrypt-{i}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(err) = spawned {
            log::error!("could not start a password hashing thread: {err}");
        }
    }
    sender
}

/// Nice 10 for the calling thread (Linux keeps a nice value per thread). Raising one's own
/// nice value needs no privilege; where it fails the thread runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; `0` names the calling thread.
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) } != 0;
        if failed {
            log::debug!("could not lower the priority of a password hashing thread");
        }
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
