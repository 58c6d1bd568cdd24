//! `credence`: serve the API, migrate or back up the database, manage keys.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use credence_domain::Role;
use credence_domain::access::credentials::KeyId;
use credence_domain::ports::{Clock as _, SystemClock};
use credence_server::{Application, Config, demo, keys, startup, telemetry};
use credence_store::{BackupError, CopyError, CopyOptions, CopyProgress};

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
    /// Copy every row of one Credence database into another, empty and migrated one: from
    /// SQLite to PostgreSQL (or back), keeping ids, UUIDs and timestamps. The source is read
    /// in one snapshot; the target is written in one transaction and checked before it
    /// commits (each table's rows counted, every account against its ledger), so a failed
    /// copy leaves it as it was. Stop the server on the source first: writes made during the
    /// copy are not in it.
    Copy {
        /// The database to copy (sqlite://PATH, a file path, or postgres://...).
        #[arg(long, value_name = "URL")]
        from: String,
        /// The database to write: migrated (`credence migrate` with it) and empty.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Replace the rows the target holds instead of refusing it.
        #[arg(long)]
        force: bool,
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
            Command::Copy { from, to, force } => copy(from, to, force).await,
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
            if let Some(copy) = error.downcast_ref::<CopyError>() {
                // Refused before anything was written: the command's input is wrong.
                return if copy.is_refusal() {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                };
            }
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

/// `credence copy`: progress on standard error, the summary on standard output.
async fn copy(from: String, to: String, force: bool) -> anyhow::Result<()> {
    let options = CopyOptions {
        force,
        ..CopyOptions::default()
    };
    let report = tokio::task::spawn_blocking(move || {
        credence_store::copy_database(&from, &to, &options, &mut |progress| match progress {
            CopyProgress::Rows {
                table,
                copied,
                total,
                done: false,
                ..
            } => eprintln!("copy: {table}: {copied} of {total} rows"),
            CopyProgress::Rows {
                table,
                copied,
                elapsed,
                done: true,
                ..
            } => eprintln!(
                "copy: {table}: {copied} rows ({:.1} s)",
                elapsed.as_secs_f64()
            ),
            CopyProgress::Step(step) => eprintln!("copy: {step}"),
        })
    })
    .await
    .map_err(|e| anyhow::anyhow!("the copy task failed: {e}"))??;
    println!(
        "copied {} rows in {} tables; every table counted, {} accounts equal their ledger ({} \
         entries)",
        report.rows(),
        report.tables.len(),
        report.accounts,
        report.entries
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let app = Application::build(config).await?;
    tracing::info!(%bind, port = app.port(), "credence is listening");
    app.run_until_stopped().await?;
    tracing::info!("credence stopped");
    Ok(())
}
