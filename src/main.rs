//! The `profilestore` command: parses arguments, sets up logging and runs
//! the chosen command; errors are printed with their causes.

use profilestore::cli::{self, Cli};
use profilestore::config::LogFormat;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse_args();
    let filter = cli.storage.log_filter(&cli.command);
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match cli.storage.log_format(&cli.command) {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.with_ansi(cli::log_colour()).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
