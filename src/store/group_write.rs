//! Group commit for the writes requests make: documents handed in while the previous write
//! of their kind is under way go to the database together, in one command, and each caller
//! is answered only once the database has acknowledged its own document. Under load a
//! request costs its instance a share of one command instead of one of its own; alone, a
//! write goes at once, as before. SecantusDB spends about as much on a command as on five
//! documents more in it, and every commit wakes each open change stream
//! (`bench/QUICK.md`).
//!
//! `GroupInsert`: one unordered `insertMany` per batch. A document already there (same
//! unique key) answers "not new"; any other failure is that caller's alone.
//! `GroupInc`: one `updateMany` per batch adding the same amount to a field of distinct
//! documents (`{_id: {$in: …}}`); a failure is every caller's of that batch.

use std::sync::OnceLock;

use bson::doc;
use bson::oid::ObjectId;
use mongodb::Collection;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::DUPLICATE_KEY;

/// The most documents one command carries.
const MOST: usize = 256;

type Answer = mongodb::error::Result<bool>;

/// What a caller hands its writer: the item, and where its own answer goes.
pub(crate) struct Pending<I, R> {
    pub(crate) item: I,
    pub(crate) done: oneshot::Sender<mongodb::error::Result<R>>,
}

/// The channel to one writer task, which is started on first use. (Also the session
/// checks' reader, `store::sessions::GroupCheck`.)
pub(crate) struct Queue<I, R> {
    sender: OnceLock<mpsc::UnboundedSender<Pending<I, R>>>,
}

impl<I: Send + 'static, R: Send + 'static> Queue<I, R> {
    pub(crate) fn new() -> Self {
        Self {
            sender: OnceLock::new(),
        }
    }

    /// Hands `item` to the writer (`start` runs it on first use) and waits for its answer;
    /// `Err(item)` when the writer is gone (the runtime is stopping), for the caller to
    /// write it itself.
    pub(crate) async fn submit<F>(
        &self,
        item: I,
        start: impl FnOnce(mpsc::UnboundedReceiver<Pending<I, R>>) -> F,
    ) -> Result<mongodb::error::Result<R>, I>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(start(receiver));
            sender
        });
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = sender.send(Pending { item, done }) {
            return Err(pending.item);
        }
        Ok(answer
            .await
            .unwrap_or_else(|_| Err(failed("the group writer stopped before answering".into()))))
    }
}

/// One collection's insert writer.
pub struct GroupInsert<T: Send + Sync + 'static> {
    collection: Collection<T>,
    queue: Queue<T, bool>,
    /// Commands are counted per request (`database.command_monitoring`): the insert runs
    /// in the writer's task, so the request counts it as one of its own, shared or not.
    counted: bool,
}

impl<T: Serialize + Send + Sync + 'static> GroupInsert<T> {
    pub fn new(collection: Collection<T>, counted: bool) -> Self {
        Self {
            collection,
            queue: Queue::new(),
            counted,
        }
    }

    /// Writes `doc` with whatever others are waiting; whether it was new.
    pub async fn insert(&self, doc: T) -> Answer {
        if self.counted {
            crate::telemetry::count_db_command(
                "insert",
                &doc! { "insert": self.collection.name() },
            );
        }
        let start = |receiver| insert_batches(self.collection.clone(), receiver);
        match self.queue.submit(doc, start).await {
            Ok(answer) => answer,
            // The writer is gone: written here (counted above and by the driver: this rare
            // path counts twice).
            Err(doc) => {
                let outcome = self.collection.insert_many([doc]).await;
                answers(self.collection.name(), 1, outcome)
                    .pop()
                    .unwrap_or(Ok(true))
            }
        }
    }
}

/// Takes what is waiting (up to `MOST`) after `first`.
pub(crate) fn gather<P>(first: P, receiver: &mut mpsc::UnboundedReceiver<P>) -> Vec<P> {
    let mut batch = vec![first];
    while batch.len() < MOST {
        match receiver.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
    batch
}

async fn insert_batches<T: Serialize + Send + Sync>(
    collection: Collection<T>,
    mut receiver: mpsc::UnboundedReceiver<Pending<T, bool>>,
) {
    while let Some(first) = receiver.recv().await {
        let batch = gather(first, &mut receiver);
        let outcome = collection
            .insert_many(batch.iter().map(|p| &p.item))
            .ordered(false)
            .await;
        let answers = answers(collection.name(), batch.len(), outcome);
        for (pending, answer) in batch.into_iter().zip(answers) {
            let _ = pending.done.send(answer);
        }
    }
}

/// Each document's answer from an unordered `insertMany`'s outcome (as many as `count`).
fn answers(
    collection: &str,
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
                    "writing to {collection} failed: {} ({})",
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

type PendingInc = Pending<ObjectId, ()>;

/// Adds `amount` to the number field `field` of documents of one collection, by `_id`.
pub struct GroupInc {
    collection: Collection<bson::Document>,
    field: &'static str,
    amount: i64,
    queue: Queue<ObjectId, ()>,
    counted: bool,
}

impl GroupInc {
    pub fn new(
        collection: Collection<bson::Document>,
        field: &'static str,
        amount: i64,
        counted: bool,
    ) -> Self {
        Self {
            collection,
            field,
            amount,
            queue: Queue::new(),
            counted,
        }
    }

    /// Adds the amount to the document `id` (none there: nothing), with whatever others
    /// are waiting.
    pub async fn add(&self, id: ObjectId) -> mongodb::error::Result<()> {
        if self.counted {
            crate::telemetry::count_db_command(
                "update",
                &doc! { "update": self.collection.name(), "updates": [{ "q": { "_id": id } }] },
            );
        }
        let start =
            |receiver| inc_batches(self.collection.clone(), self.field, self.amount, receiver);
        match self.queue.submit(id, start).await {
            Ok(answer) => answer,
            // The writer is gone: written here.
            Err(id) => inc(&self.collection, self.field, self.amount, &[id]).await,
        }
    }
}

async fn inc(
    collection: &Collection<bson::Document>,
    field: &str,
    amount: i64,
    ids: &[ObjectId],
) -> mongodb::error::Result<()> {
    collection
        .update_many(
            doc! { "_id": { "$in": ids } },
            doc! { "$inc": { field: amount } },
        )
        .await?;
    Ok(())
}

async fn inc_batches(
    collection: Collection<bson::Document>,
    field: &'static str,
    amount: i64,
    mut receiver: mpsc::UnboundedReceiver<PendingInc>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = gather(first, &mut receiver);
        // One command adds once to each document it names: a document named twice waits
        // for the next round.
        while !batch.is_empty() {
            let (round, rest) = distinct(batch);
            batch = rest;
            let ids: Vec<ObjectId> = round.iter().map(|p| p.item).collect();
            let outcome = inc(&collection, field, amount, &ids).await;
            for pending in round {
                let _ = pending.done.send(outcome.clone());
            }
        }
    }
}

/// The first of each id, in order, and the rest.
fn distinct(batch: Vec<PendingInc>) -> (Vec<PendingInc>, Vec<PendingInc>) {
    let mut seen = std::collections::HashSet::new();
    batch.into_iter().partition(|p| seen.insert(p.item))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: ObjectId) -> PendingInc {
        let (done, _) = oneshot::channel();
        PendingInc { item: id, done }
    }

    #[test]
    fn a_document_named_twice_waits_for_the_next_round() {
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let batch = vec![pending(a), pending(b), pending(a), pending(a), pending(b)];
        let (round, rest) = distinct(batch);
        assert_eq!(round.iter().map(|p| p.item).collect::<Vec<_>>(), [a, b]);
        let (round, rest) = distinct(rest);
        assert_eq!(round.iter().map(|p| p.item).collect::<Vec<_>>(), [a, b]);
        let (round, rest) = distinct(rest);
        assert_eq!(round.iter().map(|p| p.item).collect::<Vec<_>>(), [a]);
        assert!(rest.is_empty());
    }

    #[test]
    fn an_unordered_insert_answers_each_document() {
        assert!(answers("c", 3, Ok(Default::default()))
            .into_iter()
            .all(|a| matches!(a, Ok(true))));
    }
}
