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

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (the bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once instead of after mimalloc's default
/// second: with the delay, the bursts of the mixed benchmark's detail and create rows
/// left the peak resident set 6-12 MB above glibc's; without it, at or below
/// (`bench/QUICK.md`).
fn return_freed_memory_at_once() {
    // SAFETY: sets one of mimalloc's options; called first thing in `main`, before this
    // program starts any thread of its own.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    return_freed_memory_at_once();
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
