//! `GET /metrics`: Prometheus text exposition of what operators watch. HTTP traffic is
//! counted by the access log middleware (by route template, never the raw path), admissions
//! by the routes that admit, the pools and webhook work by the parts that own them (through
//! the handles of [`Metrics`], which every replica's parts share).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::AppState;

/// What the pools hold now: `(pool, open connections, idle ones)`.
pub type PoolStates = Arc<dyn Fn() -> Vec<(&'static str, u32, u32)> + Send + Sync>;

/// The metrics of one process. Cheap to clone: every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    admissions: IntCounterVec,
    pool_connections: IntGaugeVec,
    webhook_deliveries: IntCounterVec,
    webhook_backlog: IntGauge,
    reservations_expired: prometheus::IntCounter,
    pools: Option<PoolStates>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The request-duration buckets, in seconds: from a cached read to a slow write.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// A fresh registry with every metric at zero.
    ///
    /// # Panics
    /// Never: the names and labels below are fixed and valid, and registered once.
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "fixed metric definitions; a failure is a bug seen on the first start"
    )]
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("a valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("a valid metric");
        let admissions = IntCounterVec::new(
            Opts::new(
                "credence_admissions_total",
                "Orders and reservations admitted or refused for credit",
            ),
            &["outcome"],
        )
        .expect("a valid metric");
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "credence_db_pool_connections",
                "Database connections per pool, open or idle",
            ),
            &["pool", "state"],
        )
        .expect("a valid metric");
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "credence_webhook_deliveries_total",
                "Webhook delivery attempts made by this replica",
            ),
            &["outcome"],
        )
        .expect("a valid metric");
        let webhook_backlog = IntGauge::new(
            "credence_webhook_backlog",
            "Webhook delivery attempts pending, as this replica last counted",
        )
        .expect("a valid metric");
        let reservations_expired = prometheus::IntCounter::new(
            "credence_reservations_expired_total",
            "Reservations released by this replica's sweeper on expiry",
        )
        .expect("a valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(admissions.clone()),
            Box::new(pool_connections.clone()),
            Box::new(webhook_deliveries.clone()),
            Box::new(webhook_backlog.clone()),
            Box::new(reservations_expired.clone()),
        ] {
            registry.register(collector).expect("each metric once");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            admissions,
            pool_connections,
            webhook_deliveries,
            webhook_backlog,
            reservations_expired,
            pools: None,
        }
    }

    /// The same metrics, reading the pools' connections from `pools` at each scrape.
    #[must_use]
    pub fn with_pools(self, pools: PoolStates) -> Self {
        Self {
            pools: Some(pools),
            ..self
        }
    }

    /// One answered request.
    pub(crate) fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Counts an admission's answer, and passes it on: a success is `admitted`, a refusal
    /// for credit (`credit_limit_exceeded`) `refused`; other failures decided nothing.
    pub(crate) fn admitting<T>(
        &self,
        answer: Result<T, crate::error::ApiError>,
    ) -> Result<T, crate::error::ApiError> {
        let outcome = match &answer {
            Ok(_) => Some("admitted"),
            Err(error) if error.body().error == "credit_limit_exceeded" => Some("refused"),
            Err(_) => None,
        };
        if let Some(outcome) = outcome {
            self.admissions.with_label_values(&[outcome]).inc();
        }
        answer
    }

    /// One webhook attempt made: `succeeded`, `failed` or `lost` (its lease had lapsed).
    pub fn webhook_delivery(&self, outcome: &str) {
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }

    /// The pending webhook attempts, as last counted.
    pub fn webhook_backlog(&self, pending: u64) {
        self.webhook_backlog
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Reservations released on expiry.
    pub fn reservations_expired(&self, released: u64) {
        self.reservations_expired.inc_by(released);
    }

    /// The exposition text.
    fn render(&self) -> Vec<u8> {
        if let Some(pools) = &self.pools {
            for (pool, open, idle) in pools() {
                self.pool_connections
                    .with_label_values(&[pool, "open"])
                    .set(i64::from(open));
                self.pool_connections
                    .with_label_values(&[pool, "idle"])
                    .set(i64::from(idle));
            }
        }
        let mut text = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::error!(error = %error, "the metrics could not be written");
        }
        text
    }
}

/// `GET /metrics`: open, or with `metrics_key` set, for that bearer token only.
pub(crate) async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Some(key) = &state.config.metrics_key {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented != Some(key.as_str()) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .finish();
        }
    }
    HttpResponse::Ok()
        .content_type(TextEncoder::new().format_type())
        .body(state.config.metrics.render())
}
