//! The actix-web adapter of Credence's back-office customer API (`/api/v1.0`) and of the
//! marketplace face (`/api/marketplace/v2`).
//!
//! Everything HTTP lives here and nowhere else: routing, the body extractor that reads JSON,
//! forms and multipart into the domain's text-only inputs, the DTOs that shape the wire format
//! (the marketplace's catalog included), content negotiation between JSON and XML, the
//! mapping of every domain error to a status and `{"error", "error_description"}` body, and
//! the OpenAPI document.
//!
//! Grouped by capability, as the domain is: `customers/`, `credit/`, `catalog/`, `documents/`
//! and `access/` each hold their routes and their DTOs (and, for customers and the catalog,
//! the readers of their bodies); what several share (routing and the middleware chain, body
//! reading, negotiation, errors, the shared DTOs, the OpenAPI document) stays at the root.
//!
//! The composition root calls [`configure`] with the domain services and gets back a closure
//! for `App::configure`; it never needs to know about a handler.
#![forbid(unsafe_code)]

// Capabilities: each folder holds its routes and its DTOs.
mod access;
mod catalog;
mod credit;
mod customers;
mod documents;
mod events;
mod webhooks;

// What the capabilities share.
mod access_log;
mod authn;
mod body;
mod caller;
mod concurrency;
mod cors;
mod deadline;
mod dto;
mod error;
mod etag;
mod gate;
mod head;
mod health;
mod idempotency;
mod input;
mod lifecycle;
mod metrics;
mod negotiate;
mod openapi;
mod query;
mod request_id;
mod routes;
#[cfg(test)]
mod schema_check;
mod shed;
mod strict;
mod wire_name;
mod wording;

use std::sync::Arc;

use actix_web::web;
use credence_domain::Settings;
use credence_domain::customers::reference_data::{
    Category, Currency, PaymentType, Region, Segmentation, User,
};
use credence_domain::ports::{
    Clock, CustomerRepository, IdempotencyStore, ImportUnits, LimitRequests, Readiness,
};
use credence_domain::services::{
    AccountService, AuthService, CustomerImports, CustomerService, DocumentService, EventService,
    LimitApprovals, Media, OrderService, RecordService, ReferencePorts, WebhookService,
};

pub use access_log::{RequestSpan, access_log};
pub use caller::Caller;
pub use cors::cors;
pub use error::{ApiError, ErrorBody};
pub use events::EventJson;
pub use gate::Gate;
pub use head::head_as_get;
pub use lifecycle::Lifecycle;
pub use metrics::{Metrics, PoolStates};
pub use openapi::openapi;
pub use request_id::{REQUEST_ID, RequestId, request_id};

/// The domain services the handlers call, cloned into every worker.
#[derive(Clone)]
pub struct Services {
    /// API keys and the principals they stand for.
    pub auth: AuthService,
    /// Credit accounts, reservations and the ledger.
    pub accounts: AccountService,
    /// Credit-limit changes, with the four-eyes requests of raises above the threshold.
    pub approvals: LimitApprovals,
    /// `Idempotency-Key` records of money-moving requests.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Customers.
    pub customers: CustomerService,
    /// Bulk imports of customers.
    pub imports: CustomerImports,
    /// Documents: uploads, metadata, attachments.
    pub documents: DocumentService,
    /// Products, task templates and tasks.
    pub orders: OrderService,
    /// The event feed.
    pub events: EventService,
    /// Webhook endpoints.
    pub webhooks: WebhookService,
    /// Customer categories.
    pub categories: RecordService<Category>,
    /// Customer segmentations.
    pub segmentations: RecordService<Segmentation>,
    /// Payment types.
    pub payment_types: RecordService<PaymentType>,
    /// Regions.
    pub regions: RecordService<Region>,
    /// Configured currencies.
    pub currencies: RecordService<Currency>,
    /// Users.
    pub users: RecordService<User>,
    /// Whether the database answers (`/health/ready`).
    pub readiness: Arc<dyn Readiness>,
    /// The time, for what the adapter itself records (idempotency keys' leases).
    pub clock: Arc<dyn Clock>,
}

/// What [`Services::new`] is built from: the services wired on their own, and the ports of the
/// customer side, which `new` wires itself.
pub struct ServiceParts {
    /// API keys and the principals they stand for.
    pub auth: AuthService,
    /// Credit accounts, reservations and the ledger.
    pub accounts: AccountService,
    /// Products, task templates and tasks.
    pub orders: OrderService,
    /// The event feed.
    pub events: EventService,
    /// Webhook endpoints.
    pub webhooks: WebhookService,
    /// `Idempotency-Key` records of money-moving requests.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The four-eyes credit-limit requests (waiting while
    /// [`Settings::credit_limit_approval_above`] is set).
    pub limit_requests: Arc<dyn LimitRequests>,
    /// The repository that customers and their documents are read from and written to.
    pub customers: Arc<dyn CustomerRepository>,
    /// The units of work bulk imports write through (the same store as `customers`).
    pub imports: Arc<dyn ImportUnits>,
    /// The reference records: the customer service checks a customer's links against them,
    /// and each serves its own list's routes.
    pub refs: ReferencePorts,
    /// Documents, blobs and images, with their limits.
    pub media: Media,
    /// The organization and its currency.
    pub settings: Settings,
    /// The time the customer side reads.
    pub clock: Arc<dyn Clock>,
    /// Whether the database answers (`/health/ready`).
    pub readiness: Arc<dyn Readiness>,
    /// The time the adapter itself reads (`Services::clock`).
    pub adapter_clock: Arc<dyn Clock>,
}

impl Services {
    /// Every service: the customer side (customers, their documents and the six reference
    /// record lists) over one repository and one set of reference ports, so the server and
    /// the tests wire it the same way; the rest as given.
    pub fn new(parts: ServiceParts) -> Self {
        let ServiceParts {
            auth,
            accounts,
            orders,
            events,
            webhooks,
            idempotency,
            limit_requests,
            customers,
            imports,
            refs,
            media,
            settings,
            clock,
            readiness,
            adapter_clock,
        } = parts;
        let approvals = LimitApprovals::new(
            accounts.clone(),
            limit_requests,
            Arc::clone(&customers),
            Arc::clone(&refs.currencies),
            Arc::clone(&clock),
            settings.credit_limit_approval_above,
        );
        Self {
            auth,
            accounts,
            approvals,
            idempotency,
            documents: DocumentService::new(
                Arc::clone(&customers),
                media.clone(),
                Arc::clone(&clock),
            ),
            imports: CustomerImports::new(
                imports,
                Arc::clone(&clock),
                settings.clone(),
                media.clone(),
            ),
            customers: CustomerService::new(customers, refs.clone(), clock, settings, media),
            orders,
            events,
            webhooks,
            categories: RecordService::new(refs.categories),
            segmentations: RecordService::new(refs.segmentations),
            payment_types: RecordService::new(refs.payment_types),
            regions: RecordService::new(refs.regions),
            currencies: RecordService::new(refs.currencies),
            users: RecordService::new(refs.users),
            readiness,
            clock: adapter_clock,
        }
    }
}

impl std::fmt::Debug for ServiceParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceParts").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("customers", &self.customers)
            .finish_non_exhaustive()
    }
}

/// Limits and switches of the HTTP layer. Uploaded files have their own bounds: 2 MB for a
/// logo, the documents' configured limit for a document.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest JSON, form or multipart text body accepted, in bytes; larger is `413`.
    pub body_limit: usize,
    /// How long a request may take before it is answered `503 request_timeout` (`408` when
    /// the client was still sending the body).
    pub request_timeout: std::time::Duration,
    /// Most requests processed at once; beyond it `503 overloaded` with `Retry-After: 1`.
    pub max_in_flight: usize,
    /// Requests per second per credential (token bucket refill rate).
    pub rate_limit_per_second: u32,
    /// Token bucket size per credential.
    pub rate_limit_burst: u32,
    /// Failed authentications per client address and minute.
    pub auth_failures_per_minute: u32,
    /// Whether the server is shutting down (readiness answers `503` then).
    pub lifecycle: Lifecycle,
    /// The in-flight count and the token buckets, shared by every worker that gets a clone
    /// of this config (made from the numbers above on first use): clone the config for each
    /// worker, never build one per worker, or each would get its own limits.
    pub gate: Gate,
    /// The process's metrics (shared by every clone).
    pub metrics: Metrics,
    /// When set, `GET /metrics` needs this bearer token.
    pub metrics_key: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 256 * 1024,
            request_timeout: std::time::Duration::from_secs(30),
            max_in_flight: 512,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            auth_failures_per_minute: 60,
            lifecycle: Lifecycle::default(),
            gate: Gate::default(),
            metrics: Metrics::default(),
            metrics_key: None,
        }
    }
}

/// What every handler reaches through `web::Data`.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) services: Services,
    pub(crate) config: HttpConfig,
}

/// Registers every route, the app data, the JSON/form/query/path error handlers and a JSON
/// 404 default service.
pub fn configure(
    services: Services,
    config: HttpConfig,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        let state = web::Data::new(AppState {
            services: services.clone(),
            config: config.clone(),
        });
        routes::register(cfg, state, &config);
    }
}
