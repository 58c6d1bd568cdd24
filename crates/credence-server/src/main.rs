//! `credence`: serve the API, or migrate the database.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use credence_server::{Application, Config, startup, telemetry};

/// Credence: customer accounts and credit.
#[derive(Debug, Parser)]
#[command(name = "credence", version, about)]
struct Cli {
    /// Configuration file (default: credence.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the migrations, then serve the API until SIGINT/SIGTERM.
    Serve,
    /// Apply the migrations and exit.
    Migrate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("credence: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("credence: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Migrate => {
                startup::open_database(&config).await?;
                println!("migrations applied");
                Ok(())
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "credence failed");
            eprintln!("credence: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let app = Application::build(config).await?;
    tracing::info!(%bind, port = app.port(), "credence is listening");
    app.run_until_stopped().await?;
    tracing::info!("credence stopped");
    Ok(())
}
