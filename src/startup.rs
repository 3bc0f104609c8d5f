//! Builds the application: shared state, the actix `App`, and the bound server. `main`
//! and the tests both go through `Application::build`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};

use crate::api;
use crate::api::extract::{path_config, query_config};
use crate::api::state::AppState;
use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::email::Mailer;
use crate::error::ApiError;
use crate::telemetry::request_context;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] mongodb::error::Error),
    #[error("{0}")]
    Email(#[from] crate::email::EmailError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// What `rookery migrate` does and `serve` does first: the indexes the queries rely on,
/// a publication job for every post scheduled before the job queue existed and a media
/// job for every file left processing without one, and a
/// capability key for every media file stored before keys existed (returns how many
/// files got one), so an upgrade never serves unreachable files nor forgets a post.
pub async fn prepare_database(db: &Db, settings: &Settings) -> mongodb::error::Result<usize> {
    crate::store::indexes::ensure_indexes(db, settings.activity.retention()).await?;
    let moved = crate::store::timelines::adopt_entries(db).await?;
    if moved > 0 {
        log::info!("{moved} feed entries stored one a document were moved into batches");
    }
    let adopted = crate::jobs::publish::adopt_scheduled(db)
        .await
        .map_err(|e| mongodb::error::Error::custom(e.to_string()))?;
    if adopted > 0 {
        log::info!("{adopted} posts scheduled before the job queue were given their job");
    }
    let processing = crate::jobs::media::adopt_processing(db)
        .await
        .map_err(|e| mongodb::error::Error::custom(e.to_string()))?;
    if processing > 0 {
        log::info!("{processing} media files left processing were given their job");
    }
    crate::media_keys::key_files_without_one(db).await
}

impl AppState {
    /// Connects and prepares the database (`prepare_database`).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let db = Db::connect(&settings.database, metrics.clone()).await?;
        let keyed = prepare_database(&db, &settings).await?;
        if keyed > 0 {
            log::info!("{keyed} media files stored before capability keys were given one");
        }
        let settings = Arc::new(settings);
        let mailer = Mailer::new(&settings.email)?;
        let feed = Arc::new(crate::feed::Feed::new(db.clone(), settings.feed.clone()));
        let jobs = Arc::new(crate::jobs::Jobs::new(
            db.clone(),
            feed.clone(),
            mailer.clone(),
            settings.clone(),
        ));
        let services = crate::core::Services {
            passwords: PasswordHasher::new(settings.auth.bcrypt_cost),
            image_slots: tokio::sync::Semaphore::new(settings.media.image_slots),
            writes: crate::core::services::Writes::new(&db, settings.database.command_monitoring),
            checks: crate::store::sessions::GroupCheck::new(
                db.clone(),
                settings.database.command_monitoring,
            ),
            db,
            settings,
            feed,
            jobs,
        };
        let settings = &services.settings;
        Ok(Self {
            jwt: JwtKeys::new(settings.jwt_secret(), settings.auth.access_token_ttl_secs),
            mailer,
            list_horizon: Arc::new(crate::store::posts::ListHorizon::new(
                settings.feed.list_horizon_posts,
            )),
            list_count: Default::default(),
            read_limiter: crate::api::rate_limit::ReadLimiter::new(&settings.rate_limit),
            hub: Default::default(),
            mastodon_streams: Default::default(),
            views: Default::default(),
            metrics,
            services,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let server_settings = settings.server.clone();
        let state = web::Data::new(AppState::build(settings).await?);
        if state.settings.jobs.workers {
            crate::jobs::start(state.jobs.clone());
        }
        crate::jobs::spawn_view_flusher(state.jobs.clone(), state.views.clone());
        crate::feed::spawn_celebrity_refresher(state.feed.clone());
        crate::realtime::start(state.db.clone(), state.hub.clone()).await?;

        let state_for_shutdown = state.clone();
        let openapi = web::Data::new(api::docs::OpenApiDocument(api::openapi::document().clone()));
        let telemetry = web::Data::new(crate::telemetry::RequestTelemetry {
            metrics: state.metrics.clone(),
            debug_headers: state.settings.server.debug_headers,
        });
        let cors_origins = state
            .settings
            .server
            .cors_origins()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(telemetry.clone())
                .app_data(openapi.clone())
                .app_data(query_config())
                .app_data(path_config())
                .configure(api::routes::configure)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound)
                }))
                .wrap(from_fn(crate::api::idempotency::idempotent_requests))
                .wrap(from_fn(crate::api::rate_limit::limit_requests))
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .wrap(from_fn(api::realworld::realworld_errors))
                .wrap(from_fn(api::mastodon::errors::mastodon_errors))
                .wrap(from_fn(request_context))
                .wrap(api::cors::middleware(&cors_origins))
                // No answer is ever sniffed into another type (an uploaded file served
                // as HTML, a JSON error run as a script).
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
                )
        })
        .client_request_timeout(Duration::from_secs(
            server_settings.client_request_timeout_secs,
        ))
        .shutdown_timeout(server_settings.shutdown_timeout_secs);
        if server_settings.workers > 0 {
            server = server.workers(server_settings.workers);
        }
        let server = server.listen(listener)?;
        log::info!("listening on {}:{port}", server_settings.host);
        Ok(Self {
            port,
            server: server.run(),
            state: state_for_shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped (`SIGTERM`, `SIGINT`), then writes the views still counted
    /// in memory as a job and hands the jobs it was running back to the queue (they are
    /// idempotent: another instance runs them again).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Err(err) = crate::jobs::flush_views(&self.state.jobs, &self.state.views).await {
            log::warn!("views counted before shutdown were not written: {err}");
        }
        self.state.jobs.release().await;
        served
    }
}
