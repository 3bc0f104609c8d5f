//! The database connection: a driver client per thread, command monitoring, and
//! collection handles by name (each `store` module names its own).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bson::doc;
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};

use crate::config::DatabaseSettings;
use crate::metrics::Metrics;

/// A handle on the database. Each thread that uses it gets its own driver `Client`,
/// made on first use, because a client's connection pool and topology monitor are tasks
/// on the runtime that made it: with one client for the process, every command an actix
/// worker sent woke the main thread twice (pool check-out and cluster time) and back.
/// With a client per worker thread a command never leaves the thread that sent it
/// (`bench/RESULTS.md`, "Service CPU"). Cloning a `Db` shares its clients.
///
/// A thread keeps its client for as long as it lives, so this assumes what actix and the
/// jobs do: one runtime per thread. Each client has its own pool, so an instance may
/// open up to (workers + 1) × `maxPoolSize` connections.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
}

struct Shared {
    /// Tells this `Db`'s clients apart from another's in the thread-local table.
    id: u64,
    options: ClientOptions,
    name: String,
    /// The client made by `connect`, on the thread that called it; also the one used
    /// outside any runtime.
    primary: Database,
}

static NEXT_DB: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's clients, by `Shared::id`: in practice one.
    static CLIENTS: RefCell<Vec<(u64, Database)>> = const { RefCell::new(Vec::new()) };
}

impl Db {
    /// Builds the client; the driver connects lazily, so this succeeds while the database
    /// is down and requests answer `503` until it returns.
    /// `metrics` receives every command's name, outcome and duration.
    pub async fn connect(
        settings: &DatabaseSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, mongodb::error::Error> {
        let mut options = ClientOptions::parse(&settings.uri).await?;
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        options.app_name = Some("rookery".into());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        options.command_event_handler = settings.command_monitoring.then(|| {
            EventHandler::callback(move |event| match event {
                CommandEvent::Started(started) => {
                    crate::telemetry::count_db_command(&started.command_name, &started.command)
                }
                CommandEvent::Succeeded(done) => {
                    metrics.observe_command(&done.command_name, true, done.duration)
                }
                CommandEvent::Failed(failed) => {
                    metrics.observe_command(&failed.command_name, false, failed.duration)
                }
                _ => {}
            })
        });
        let primary = Client::with_options(options.clone())?.database(&settings.name);
        let shared = Shared {
            id: NEXT_DB.fetch_add(1, Ordering::Relaxed),
            options,
            name: settings.name.clone(),
            primary: primary.clone(),
        };
        CLIENTS.with_borrow_mut(|clients| clients.push((shared.id, primary)));
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    /// The database through this thread's client, made now if this is the thread's first
    /// use. A thread outside any runtime (where a client could not start its tasks) shares
    /// the primary client.
    pub fn database(&self) -> Database {
        let shared = &*self.shared;
        if tokio::runtime::Handle::try_current().is_err() {
            return shared.primary.clone();
        }
        CLIENTS.with_borrow_mut(|clients| {
            if let Some((_, database)) = clients.iter().find(|(id, _)| *id == shared.id) {
                return database.clone();
            }
            let database = match Client::with_options(shared.options.clone()) {
                Ok(client) => client.database(&shared.name),
                Err(err) => {
                    log::warn!("no client of this thread's own, sharing the first: {err}");
                    shared.primary.clone()
                }
            };
            clients.push((shared.id, database.clone()));
            database
        })
    }

    /// A collection of documents of type `T`; each `store` module names its own.
    pub fn collection<T: Send + Sync>(&self, name: &str) -> Collection<T> {
        self.database().collection(name)
    }

    /// Answers whether the database responds (for `/ready`).
    pub async fn ping(&self) -> bool {
        self.database()
            .run_command(doc! { "ping": 1 })
            .await
            .is_ok()
    }
}
