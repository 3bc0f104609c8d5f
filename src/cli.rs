//! The command line: `serve` (default), `migrate`, `create-admin`, `openapi`, `check`,
//! `jobs`.

use bson::oid::ObjectId;
use clap::{Parser, Subcommand};

use crate::api::state::AppState;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::accounts::{Email, Password, Username};
use crate::startup::Application;
use crate::store::users::{self, NewUser, Role};

#[derive(Parser, Debug)]
#[command(name = "rookery", version, about = "Rookery social-media backend")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Ensure the database indexes, then serve HTTP (the default).
    Serve,
    /// Ensure the database indexes and exit.
    Migrate,
    /// Create a verified admin, or promote the account with this username or email.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "ROOKERY_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Print the OpenAPI document (the one served at /api/openapi.json) and exit.
    Openapi,
    /// Recount every counter and look for likes, comments and feed entries of deleted
    /// posts, work lost with a stopped instance, and stored media bytes nothing serves;
    /// exits 1 when anything is off. With --repair, fixes what it finds.
    Check {
        #[arg(long)]
        repair: bool,
    },
    /// The background job queue: how many jobs wait, and the dead ones (failed
    /// `jobs.max_attempts` times) with their last error; retry or drop them.
    Jobs {
        #[command(subcommand)]
        action: Option<JobsAction>,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsAction {
    /// Counts by kind and state, then the dead jobs (the default).
    List,
    /// Queue dead jobs again, with a fresh count of attempts.
    Retry {
        /// The dead job's id (from `rookery jobs list`).
        id: Option<String>,
        /// Every dead job.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Delete dead jobs: their work is given up.
    Drop {
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

pub async fn run(cli: Cli, settings: Settings) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            let text = serde_json::to_string_pretty(crate::api::openapi::document())
                .map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(())
        }
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .map_err(|e| e.to_string())?;
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let db = Db::connect(&settings.database, Default::default())
                .await
                .map_err(|e| e.to_string())?;
            let keyed = crate::startup::prepare_database(&db, &settings)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "indexes are in place on database {:?}; {keyed} media files were given their key",
                settings.database.name
            );
            Ok(())
        }
        Command::CreateAdmin {
            username,
            email,
            password,
        } => create_admin(settings, &username, &email, &password).await,
        Command::Jobs { action } => {
            let db = Db::connect(&settings.database, Default::default())
                .await
                .map_err(|e| e.to_string())?;
            jobs(&db, action.unwrap_or(JobsAction::List)).await
        }
        Command::Check { repair } => {
            let db = Db::connect(&settings.database, Default::default())
                .await
                .map_err(|e| e.to_string())?;
            let report = crate::check::run(&db, &settings.jobs, repair)
                .await
                .map_err(|e| e.to_string())?;
            println!("{report}");
            if report.drift() > 0 && !repair {
                return Err("the data is inconsistent".into());
            }
            Ok(())
        }
    }
}

async fn create_admin(
    settings: Settings,
    username: &str,
    email: &str,
    password: &str,
) -> Result<(), String> {
    let username = Username::parse(username).map_err(|e| format!("username: {e}"))?;
    let email = Email::parse(email).map_err(|e| format!("email: {e}"))?;
    let password = Password::parse(password, username.as_str(), email.as_str())
        .map_err(|e| format!("password: {e}"))?;
    let state = AppState::build(settings).await.map_err(|e| e.to_string())?;
    let hash = state
        .passwords
        .hash(password.expose())
        .await
        .map_err(|e| e.to_string())?;
    let existing = match users::find_by_login(&state.db, username.as_str())
        .await
        .map_err(|e| e.to_string())?
    {
        Some(user) => Some(user),
        None => users::find_by_email(&state.db, email.as_str())
            .await
            .map_err(|e| e.to_string())?,
    };
    match existing {
        Some(user) => {
            users::promote_to_admin(&state.db, user.id, &hash)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "promoted {} ({}) to a verified admin and set the given password",
                user.username, user.id
            );
        }
        None => {
            let user = users::insert(
                &state.db,
                NewUser {
                    username: username.as_str().to_owned(),
                    email: email.as_str().to_owned(),
                    password_hash: hash,
                    full_name: String::new(),
                    role: Role::Admin,
                    email_verified: true,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("created admin {} ({})", user.username, user.id);
        }
    }
    Ok(())
}

async fn jobs(db: &Db, action: JobsAction) -> Result<(), String> {
    use crate::store::jobs::{self, JobState};
    let target = |id: Option<String>, all: bool| -> Result<Option<ObjectId>, String> {
        match (id, all) {
            (Some(id), false) => ObjectId::parse_str(id.trim())
                .map(Some)
                .map_err(|_| format!("{id:?} is not a job id")),
            (None, true) => Ok(None),
            _ => Err("name a dead job's id, or --all".into()),
        }
    };
    match action {
        JobsAction::List => {
            print!(
                "{}",
                crate::jobs::gauges(db).await.map_err(|e| e.to_string())?
            );
            let dead = jobs::list(db, JobState::Dead, 1000)
                .await
                .map_err(|e| e.to_string())?;
            println!("{} dead job(s)", dead.len());
            for job in dead {
                println!(
                    "{}  {:<8} attempts {:<3} written {}  last error: {}",
                    job.id,
                    job.kind,
                    job.attempts,
                    crate::domain::rfc3339(job.created_at),
                    job.last_error.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        JobsAction::Retry { id, all } => {
            let n = jobs::retry_dead(db, target(id, all)?).await;
            report_dead(n, all, "queued again")
        }
        JobsAction::Drop { id, all } => {
            let n = jobs::drop_dead(db, target(id, all)?).await;
            report_dead(n, all, "dropped")
        }
    }
}

fn report_dead(n: mongodb::error::Result<u64>, all: bool, done: &str) -> Result<(), String> {
    let n = n.map_err(|e| e.to_string())?;
    println!("{n} dead job(s) {done}");
    if n == 0 && !all {
        return Err("no dead job has that id".into());
    }
    Ok(())
}
