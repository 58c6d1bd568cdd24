//! Liveness and readiness probes for orchestrators: `live` says the process answers,
//! `ready` that the database does too and that the server is not shutting down.

use actix_web::web;

use crate::AppState;
use crate::dto::HealthDto;
use crate::error::{ApiError, ErrorBody};
use crate::negotiate::Reply;

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    // Resources, not bare routes: another method on a probe is `405` with `Allow`, not `404`.
    cfg.service(web::resource("/live").route(web::get().to(get_liveness)))
        .service(web::resource("/ready").route(web::get().to(get_readiness)));
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses((status = 200, description = "The process answers", body = HealthDto))
)]
pub(crate) async fn get_liveness() -> Result<Reply, ApiError> {
    Reply::ok("health", &HealthDto { status: "ok" })
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = HealthDto),
        (status = 503, description = "The database does not answer, or the server is shutting down", body = ErrorBody),
    )
)]
pub(crate) async fn get_readiness(state: web::Data<AppState>) -> Result<Reply, ApiError> {
    if state.config.lifecycle.is_draining() {
        return Err(ApiError::service_unavailable());
    }
    match state.services.readiness.ping().await {
        Ok(()) => Reply::ok("health", &HealthDto { status: "ok" }),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            Err(ApiError::service_unavailable())
        }
    }
}
