//! Group commit for the jobs requests write: jobs handed in while the previous insert is
//! under way go to the database together, in one unordered `insertMany`, and each caller
//! is answered only once the database has acknowledged its own document. Under load a
//! like, a comment or a post costs its instance a share of one insert instead of one of
//! its own; alone, a job is written at once, as before.
//!
//! A job already there (same `_id`: a job about one thing is written once) counts as
//! not new, as `store::jobs::insert` answers; any other failure is that caller's alone.

use std::sync::OnceLock;

use tokio::sync::{mpsc, oneshot};

use crate::db::Db;
use crate::store::jobs::{self as store, JobDoc};
use crate::store::DUPLICATE_KEY;

/// The most jobs one insert carries.
const MOST: usize = 256;

type Answer = mongodb::error::Result<bool>;

struct Pending {
    job: JobDoc,
    done: oneshot::Sender<Answer>,
}

/// The instance's job writer: a task started on first use, fed through a channel.
pub struct GroupInsert {
    db: Db,
    sender: OnceLock<mpsc::UnboundedSender<Pending>>,
    /// Commands are counted per request (`database.command_monitoring`): the insert runs
    /// in the writer's task, so the request counts it as one of its own, shared or not.
    counted: bool,
}

impl GroupInsert {
    pub fn new(db: Db, counted: bool) -> Self {
        Self {
            db,
            sender: OnceLock::new(),
            counted,
        }
    }

    /// Writes `job` with whatever other jobs are waiting; whether it was new.
    pub async fn insert(&self, job: JobDoc) -> Answer {
        if self.counted {
            crate::telemetry::count_db_command("insert", &bson::doc! { "insert": "jobs" });
        }
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(self.db.clone(), receiver));
            sender
        });
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = sender.send(Pending { job, done }) {
            // The writer is gone (the runtime is stopping): write it here (counted above and
            // by the driver: this rare path counts twice).
            return store::insert(&self.db, &pending.job).await;
        }
        match answer.await {
            Ok(answer) => answer,
            Err(_) => Err(failed("the job writer stopped before answering".into())),
        }
    }
}

async fn write_batches(db: Db, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MOST {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let jobs: Vec<&JobDoc> = batch.iter().map(|p| &p.job).collect();
        let answers = answers(
            batch.len(),
            store::collection(&db)
                .insert_many(jobs)
                .ordered(false)
                .await,
        );
        for (pending, answer) in batch.into_iter().zip(answers) {
            let _ = pending.done.send(answer);
        }
    }
}

/// Each document's answer from an unordered `insertMany`'s outcome.
fn answers(
    count: usize,
    outcome: mongodb::error::Result<mongodb::results::InsertManyResult>,
) -> Vec<Answer> {
    let err = match outcome {
        Ok(_) => return (0..count).map(|_| Ok(true)).collect(),
        Err(err) => err,
    };
    let failure = match err.kind.as_ref() {
        mongodb::error::ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
            failure
        }
        _ => return (0..count).map(|_| Err(err.clone())).collect(),
    };
    let mut out: Vec<Answer> = (0..count).map(|_| Ok(true)).collect();
    for write in failure.write_errors.iter().flatten() {
        if let Some(slot) = out.get_mut(write.index) {
            *slot = if write.code == DUPLICATE_KEY {
                Ok(false)
            } else {
                Err(failed(format!(
                    "writing a job failed: {} ({})",
                    write.message, write.code
                )))
            };
        }
    }
    out
}

fn failed(message: String) -> mongodb::error::Error {
    std::io::Error::other(message).into()
}
