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
use credence_domain::documents::DocumentLimits;
use credence_domain::events::RetryPolicy;
use credence_domain::ports::{BlobStore, Clock, SystemClock};
use credence_domain::services::{
    AccountService, AuthService, EventService, Media, OrderService, ReferencePorts, WebhookPolicy,
    WebhookService,
};
use credence_domain::values::CurrencyCode;
use credence_domain::webhooks::{DispatchSettings, WebhookDispatcher};
use credence_http::{EventJson, HttpConfig, Lifecycle, ServiceParts, Services};
use credence_media::ImageCodec;
use credence_sender::HttpSender;
use credence_store::{Database, FsBlobStore, PoolOptions, Store};

use crate::background::Background;
use crate::config::Config;
use crate::resolver::SystemResolver;
use crate::secrets::OsSecrets;
use crate::shutdown::Signals;

/// A bound, not yet running, Credence server, and its background work.
pub struct Application {
    server: Server,
    port: u16,
    background: Background,
    lifecycle: Lifecycle,
    drain: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Connects to the configured database as it is, applying no migration (a backup copies
/// what is there).
///
/// # Errors
/// When the database cannot be opened.
pub async fn connect(config: &Config) -> anyhow::Result<Database> {
    let url = config.database_url.expose().to_owned();
    let options = PoolOptions {
        max_size: 2,
        connection_timeout: config.pool_timeout(),
    };
    tokio::task::spawn_blocking(move || Ok(Database::connect(&url, options)?))
        .await
        .context("the database set-up task failed")?
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

/// `credit_limit_approval_above`. A negative amount would make every raise wait, which no one
/// means: it stops the server at start, naming the key.
fn approval_threshold(config: &Config) -> anyhow::Result<Option<rust_decimal::Decimal>> {
    match config.credit_limit_approval_above {
        Some(amount) if amount.is_sign_negative() && !amount.is_zero() => Err(anyhow::anyhow!(
            "invalid credit_limit_approval_above in configuration: {amount} is below 0"
        )),
        other => Ok(other),
    }
}

/// Builds the services over one store.
///
/// # Errors
/// When the configured currency is not ISO 4217.
pub fn services(config: &Config, database: Database) -> anyhow::Result<Services> {
    Ok(wire(config, database)?.0)
}

/// How many events one round of the dispatcher queues, and how many attempts it makes at once.
const DISPATCH_BATCH: u32 = 64;

/// The services and the webhook dispatcher, over one store.
fn wire(config: &Config, database: Database) -> anyhow::Result<(Services, WebhookDispatcher)> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let encoder = Arc::new(EventJson::new(config.organization.clone()));
    let store = Arc::new(
        Store::new(database)
            .with_clock(clock.clone())
            .with_event_encoder(encoder.clone()),
    );
    let timeout = config.webhook_timeout_secs.clamp(1, 3600);
    let sender = HttpSender::new(
        Duration::from_secs(timeout),
        config.webhook_allow_private_networks,
    )
    .context("cannot set up the webhook client")?;
    let dispatcher = WebhookDispatcher::new(
        store.clone(),
        Arc::new(sender),
        encoder,
        clock.clone(),
        DispatchSettings {
            retry: RetryPolicy::new(
                chrono::TimeDelta::seconds(
                    i64::try_from(config.webhook_retry_base_secs.min(86_400)).unwrap_or(10),
                ),
                config.webhook_max_attempts,
            ),
            timeout: chrono::TimeDelta::seconds(i64::try_from(timeout).unwrap_or(10)),
            disable_after: config.webhook_disable_after,
            batch: DISPATCH_BATCH,
        },
    );
    let settings = Settings {
        organization: config.organization.clone(),
        currency: organization_currency(config)?,
        credit_limit_approval_above: approval_threshold(config)?,
    };
    let refs = ReferencePorts {
        categories: store.clone(),
        segmentations: store.clone(),
        payment_types: store.clone(),
        regions: store.clone(),
        currencies: store.clone(),
        users: store.clone(),
    };
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
    let services = Services::new(ServiceParts {
        auth: AuthService::new(
            store.clone(),
            refs.users.clone(),
            store.clone(),
            clock.clone(),
            Arc::new(OsSecrets),
        )
        .with_cache(chrono::TimeDelta::seconds(
            i64::try_from(config.auth_cache_secs.min(3600)).unwrap_or(3600),
        )),
        orders: OrderService::new(
            store.clone(),
            store.clone(),
            store.clone(),
            accounts.clone(),
            clock.clone(),
        ),
        accounts,
        events: EventService::new(store.clone(), store.clone()).with_retention(
            (config.event_retention_days > 0)
                .then(|| chrono::TimeDelta::days(i64::from(config.event_retention_days))),
        ),
        webhooks: WebhookService::new(
            store.clone(),
            store.clone(),
            Arc::new(SystemResolver),
            Arc::new(OsSecrets),
            clock.clone(),
            WebhookPolicy {
                allow_private_networks: config.webhook_allow_private_networks,
            },
        ),
        idempotency: store.clone(),
        limit_requests: store.clone(),
        customers: store.clone(),
        imports: store.clone(),
        refs,
        media,
        settings,
        clock: clock.clone(),
        readiness: store,
        adapter_clock: clock,
    });
    Ok((services, dispatcher))
}

impl Application {
    /// Opens and migrates the database, wires the services and binds the listener.
    ///
    /// # Errors
    /// When the database cannot be opened or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let database = open_database(&config).await?;
        let pools = database.clone();
        let metrics =
            credence_http::Metrics::new().with_pools(Arc::new(move || pools.pool_states()));
        let (services, dispatcher) = wire(&config, database)?;
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
        let background_services = services.clone();
        let lifecycle = Lifecycle::default();
        let request_timeout = Duration::from_secs(config.request_timeout_secs.max(1));
        let http = HttpConfig {
            body_limit: config.body_limit,
            request_timeout,
            max_in_flight: config.max_in_flight.max(1),
            rate_limit_per_second: config.rate_limit_per_second.max(1),
            rate_limit_burst: config.rate_limit_burst.max(1),
            auth_failures_per_minute: config.auth_failures_per_minute.max(1),
            lifecycle: lifecycle.clone(),
            gate: credence_http::Gate::default(),
            metrics: metrics.clone(),
            metrics_key: config.metrics_key.as_ref().map(|k| k.expose().to_owned()),
        };
        let origins = config.cors_origins.clone();
        // Outermost last: every answer carries its request id; a HEAD is routed as a GET;
        // bodies are compressed when the client asks; CORS (when origins are configured)
        // answers preflights before authentication; then the log span and the access line.
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(credence_http::access_log))
                .wrap(tracing_actix_web::TracingLogger::<credence_http::RequestSpan>::new())
                .wrap(actix_web::middleware::Condition::new(
                    !origins.is_empty(),
                    credence_http::cors(&origins),
                ))
                .wrap(actix_web::middleware::Compress::default())
                .wrap(actix_web::middleware::from_fn(credence_http::head_as_get))
                .wrap(actix_web::middleware::from_fn(credence_http::request_id))
                .configure(credence_http::configure(services.clone(), http.clone()))
        })
        // Shutdown is ours (see `run_until_stopped`): readiness must turn 503 before the
        // listener closes, which actix's own signal handling does not do.
        .disable_signals()
        .shutdown_timeout(request_timeout.as_secs())
        .client_request_timeout(request_timeout);
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server.listen(listener)?.run();
        let background = Background::start(
            background_services,
            dispatcher,
            metrics,
            Duration::from_secs(config.sweep_interval_secs.max(1)),
        );
        Ok(Self {
            server,
            port,
            background,
            lifecycle,
            drain: Duration::from_secs(config.shutdown_drain_secs),
        })
    }

    /// The port the server listens on (useful with `bind = "127.0.0.1:0"`).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully: `/health/ready` answers
    /// `503` at once while the listener keeps accepting for the drain period (so load
    /// balancers move traffic away before connections are refused); then the listener closes,
    /// in-flight requests finish (for at most the request time-out), and the background work
    /// stops at a safe point. A second signal during the drain skips the rest of it.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let lifecycle = self.lifecycle;
        let drain = self.drain;
        let mut signals = Signals::install()?;
        // The server future must keep being polled while the drain runs (it handles the stop
        // command), so the shutdown sequence runs beside it.
        let shutdown = tokio::spawn(async move {
            signals.next().await;
            lifecycle.begin_drain();
            tracing::info!(
                drain_secs = drain.as_secs(),
                "shutting down: readiness answers 503 while the listener drains"
            );
            tokio::select! {
                () = tokio::time::sleep(drain) => {}
                () = signals.next() => tracing::info!("second signal: the drain is cut short"),
            }
            tracing::info!("no longer accepting connections; finishing in-flight requests");
            handle.stop(true).await;
        });
        let outcome = self.server.await;
        shutdown.abort();
        self.background.stop().await;
        outcome
    }
}
