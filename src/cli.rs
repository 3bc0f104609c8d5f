//! The command line of API.md §10: `serve` (default), `migrate`, `create-admin`.

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
    /// posts; exits 1 when anything is off. With --repair, fixes what it finds.
    Check {
        #[arg(long)]
        repair: bool,
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
        Command::Check { repair } => {
            let db = Db::connect(&settings.database, Default::default())
                .await
                .map_err(|e| e.to_string())?;
            let report = crate::check::run(&db, repair)
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
