//! `credence`: serve the API, migrate or back up the database, manage keys.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use credence_domain::Role;
use credence_domain::access::credentials::KeyId;
use credence_domain::ports::{Clock as _, SystemClock};
use credence_server::{Application, Config, demo, keys, startup, telemetry};
use credence_store::BackupError;

/// Credence: customer accounts and credit.
#[derive(Debug, Parser)]
#[command(
    name = "credence",
    version,
    about = "Credence: customer accounts, their credit and the catalog they order from, as a web service",
    long_about = "Credence keeps B2B customers, one credit account per customer (balance, credit \
                  limit, reservations, an append-only ledger) and the product catalog, and never \
                  admits an order a customer cannot pay for. `credence serve` runs the API; \
                  settings come from credence.toml and CREDENCE_* variables (`credence serve \
                  --help` lists them)."
)]
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
    #[command(after_help = credence_server::config::settings_help())]
    Serve,
    /// Apply the migrations and exit.
    Migrate,
    /// Load demo products, customers and credit, and print a key for each role.
    Demo,
    /// Write a consistent copy of the SQLite database to FILE while the server keeps running,
    /// then check it (integrity, and every account against its ledger). PostgreSQL is backed
    /// up with pg_dump or continuous archiving instead.
    Backup {
        /// Where to write the copy (a new file: an existing one is never overwritten).
        file: PathBuf,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a user with a role and an API key for it; the key is printed once, alone on
    /// the last line of standard output.
    Create {
        /// admin, reseller or customer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The reference of the customer a reseller or customer key is bound to.
        #[arg(long, value_name = "REF")]
        customer: Option<String>,
        /// A label for the user and the key.
        #[arg(long)]
        name: Option<String>,
    },
    /// List every key, revoked ones included: id, name, role, user, customer, created, last
    /// used, revoked. Never the secret (Credence keeps only its hash).
    List,
    /// Revoke a key by its id (as `keys list` shows it); running servers refuse it within
    /// `auth_cache_secs` (default 1 s).
    Revoke {
        /// The key's id.
        id: i64,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("unknown role {text}: use admin, reseller or customer"))
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
    let _logs = telemetry::init(config.log_format);
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
            Command::Backup { file } => {
                let database = startup::connect(&config).await?;
                let report = tokio::task::spawn_blocking(move || database.backup(&file))
                    .await
                    .map_err(|e| anyhow::anyhow!("the backup task failed: {e}"))??;
                println!(
                    "backup written to {} ({} bytes); integrity ok, {} accounts equal their \
                     ledger ({} entries)",
                    report.file.display(),
                    report.bytes,
                    report.accounts,
                    report.entries
                );
                Ok(())
            }
            Command::Demo => {
                let database = startup::open_database(&config).await?;
                let services = startup::services(&config, database)?;
                demo::load(&services).await
            }
            Command::Keys {
                command:
                    KeysCommand::Create {
                        role,
                        customer,
                        name,
                    },
            } => {
                let database = startup::open_database(&config).await?;
                let services = startup::services(&config, database)?;
                let (user, created) = services
                    .auth
                    .issue_key(role, customer.as_deref(), name.as_deref())
                    .await?;
                println!(
                    "user {} (id {}), role {}",
                    user.reference,
                    user.id,
                    role.as_str()
                );
                println!("{}", created.secret.expose());
                Ok(())
            }
            Command::Keys {
                command: KeysCommand::List,
            } => {
                let registry = keys::registry(&config).await?;
                print!("{}", keys::table(&registry.every_key().await?));
                Ok(())
            }
            Command::Keys {
                command: KeysCommand::Revoke { id },
            } => {
                let registry = keys::registry(&config).await?;
                if registry.revoke_any(KeyId(id), SystemClock.now()).await? {
                    println!("key {id} revoked");
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("no live API key has the id {id}"))
                }
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, once: the log's own copy would say the same again.
            eprintln!("credence: {error:#}");
            match error.downcast_ref::<BackupError>() {
                // Asked of the wrong database or file: nothing was written.
                Some(BackupError::Postgres | BackupError::Exists(_) | BackupError::Path(_)) => {
                    ExitCode::from(2)
                }
                _ => ExitCode::FAILURE,
            }
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
