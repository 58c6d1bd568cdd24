//! Wiring: one database, the store behind every port, the services, the HTTP server.
//! `Application::build` binds before it returns, so tests can start it on port 0 and ask
//! which port they got.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer};
use anyhow::Context as _;
use credence_domain::Settings;
use credence_domain::document::DocumentLimits;
use credence_domain::ports::{BlobStore, Clock, SystemClock};
use credence_domain::services::{
    AccountService, AuthService, CustomerService, DocumentService, Media, OrderService,
    RecordService, ReferencePorts,
};
use credence_domain::values::CurrencyCode;
use credence_http::{HttpConfig, Lifecycle, Services};
use credence_media::ImageCodec;
use credence_store::{Database, FsBlobStore, PoolOptions, Store};

use crate::config::Config;
use crate::secrets::OsSecrets;

/// A bound, not yet running, Credence server, and its background sweeper.
pub struct Application {
    server: Server,
    port: u16,
    sweeper: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Opens the database named by the configuration and applies the migrations.
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let url = config.database_url.expose().to_owned();
    let options = PoolOptions {
        max_size: config.pool_size.max(1),
        connection_timeout: config.pool_timeout(),
    };
    let currency = organization_currency(config)?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Database> {
        // The store's errors already say which step failed.
        let database = Database::connect(&url, options)?;
        database.migrate()?;
        database.ensure_organization_currency(currency)?;
        Ok(database)
    })
    .await
    .context("the database set-up task failed")?
}

fn organization_currency(config: &Config) -> anyhow::Result<CurrencyCode> {
    CurrencyCode::parse(&config.currency)
        .with_context(|| format!("invalid currency in configuration: {}", config.currency))
}

/// Builds the services over one store.
///
/// # Errors
/// When the configured currency is not ISO 4217.
pub fn services(config: &Config, database: Database) -> anyhow::Result<Services> {
    let store = Arc::new(Store::new(database));
    let settings = Settings {
        organization: config.organization.clone(),
        currency: organization_currency(config)?,
    };
    let refs = ReferencePorts {
        categories: store.clone(),
        segmentations: store.clone(),
        payment_types: store.clone(),
        regions: store.clone(),
        currencies: store.clone(),
        users: store.clone(),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let expiry = chrono::TimeDelta::seconds(
        i64::try_from(config.reservation_expiry_secs.max(1)).unwrap_or(900),
    );
    let accounts = AccountService::new(
        store.clone(),
        store.clone(),
        refs.currencies.clone(),
        clock.clone(),
        expiry,
    );
    let blobs: Arc<dyn BlobStore> = match &config.blob_dir {
        Some(dir) => Arc::new(FsBlobStore::new(dir.clone())),
        None => store.blobs(),
    };
    let media = Media {
        documents: store.documents(),
        blobs,
        images: Arc::new(ImageCodec),
        limits: DocumentLimits {
            max_bytes: config.max_document_bytes,
            max_per_customer: config.max_documents_per_customer,
        },
    };
    Ok(Services {
        documents: DocumentService::new(store.clone(), media.clone(), clock.clone()),
        orders: OrderService::new(
            store.clone(),
            store.clone(),
            store.clone(),
            accounts.clone(),
            clock.clone(),
        ),
        accounts,
        idempotency: store.clone(),
        auth: AuthService::new(
            store.clone(),
            refs.users.clone(),
            store.clone(),
            clock.clone(),
            Arc::new(OsSecrets),
        ),
        customers: CustomerService::new(store.clone(), refs.clone(), clock, settings, media),
        categories: RecordService::new(refs.categories),
        segmentations: RecordService::new(refs.segmentations),
        payment_types: RecordService::new(refs.payment_types),
        regions: RecordService::new(refs.regions),
        currencies: RecordService::new(refs.currencies),
        users: RecordService::new(refs.users),
        readiness: store,
    })
}

/// How many expired reservations one sweep releases at most.
const SWEEP_BATCH: u32 = 500;

/// Idempotency keys are kept at least this long (SPEC §3: 24 hours).
const IDEMPOTENCY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(25);

/// How many blob keys one tick of the orphan sweep looks at.
const ORPHAN_BATCH: u32 = 500;

/// Releases expired reservations, forgets old idempotency keys and removes orphaned blobs (one
/// page of keys per tick, resuming where the last tick stopped), forever. Every replica runs
/// one: the store's conditional updates make concurrent sweeps release each reservation once,
/// and deleting a blob another replica already deleted is not an error.
async fn sweep(services: Services, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut orphan_cursor = None;
    loop {
        ticks.tick().await;
        loop {
            match services.accounts.sweep(SWEEP_BATCH).await {
                Ok(released) if u64::from(SWEEP_BATCH) <= released => continue,
                Ok(0) => break,
                Ok(released) => {
                    tracing::info!(released, "expired reservations released");
                    break;
                }
                Err(error) => {
                    tracing::warn!(error = %error, "the reservation sweep failed; retrying at the next tick");
                    break;
                }
            }
        }
        if let Err(error) = services
            .idempotency
            .purge(chrono::Utc::now() - IDEMPOTENCY_RETENTION)
            .await
        {
            tracing::warn!(error = %error, "purging old idempotency keys failed");
        }
        match services
            .documents
            .sweep_orphans(orphan_cursor.clone(), ORPHAN_BATCH)
            .await
        {
            Ok((deleted, next)) => {
                if deleted > 0 {
                    tracing::info!(deleted, "orphaned blobs removed");
                }
                orphan_cursor = next;
            }
            // The cursor stays: the same page is tried again at the next tick.
            Err(error) => {
                tracing::warn!(error = %error, "the orphaned blob sweep failed; retrying at the next tick");
            }
        }
    }
}

impl Application {
    /// Opens and migrates the database, wires the services and binds the listener.
    ///
    /// # Errors
    /// When the database cannot be opened or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let database = open_database(&config).await?;
        let services = services(&config, database)?;
        if let Some(secret) = &config.admin_key {
            services
                .auth
                .ensure_admin_key(secret.expose())
                .await
                .context("cannot set up CREDENCE_ADMIN_KEY")?;
        }
        let listener = TcpListener::bind(&config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let sweeper_services = services.clone();
        let http = HttpConfig {
            body_limit: config.body_limit,
            request_timeout: std::time::Duration::from_secs(config.request_timeout_secs.max(1)),
            max_in_flight: config.max_in_flight.max(1),
            rate_limit_per_second: config.rate_limit_per_second.max(1),
            rate_limit_burst: config.rate_limit_burst.max(1),
            auth_failures_per_minute: config.auth_failures_per_minute.max(1),
            lifecycle: Lifecycle::default(),
            gate: credence_http::Gate::default(),
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(tracing_actix_web::TracingLogger::default())
                .configure(credence_http::configure(services.clone(), http.clone()))
        })
        .shutdown_timeout(30)
        .client_request_timeout(std::time::Duration::from_secs(30));
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server.listen(listener)?.run();
        let sweeper = tokio::spawn(sweep(
            sweeper_services,
            Duration::from_secs(config.sweep_interval_secs.max(1)),
        ));
        Ok(Self {
            server,
            port,
            sweeper,
        })
    }

    /// The port the server listens on (useful with `bind = "127.0.0.1:0"`).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (graceful shutdown).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        self.sweeper.abort();
        outcome
    }
}
