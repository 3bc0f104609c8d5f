use clap::Parser;

use rookery::cli::{run, Cli};
use rookery::config::Settings;
use rookery::telemetry::init_logging;

/// mimalloc instead of glibc's allocator: a request allocates and frees many small
/// buffers (BSON, JSON, the driver's messages), and glibc's `malloc`/`free` were about a
/// tenth of the service's CPU under load. Built without transparent huge pages
/// (`no_thp`), which otherwise grew the resident set by half (`bench/QUICK.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let settings = match Settings::from_process_env() {
        Ok(settings) => settings,
        Err(err) => {
            log::error!("{err}");
            eprintln!("rookery: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    log::info!("environment: {}", settings.environment.as_str());
    match run(cli, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            log::error!("{err}");
            eprintln!("rookery: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
