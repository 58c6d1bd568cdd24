//! Load shedding: at most `max_in_flight` API requests are processed at once by this
//! process, fewer while those let in are queueing ([`crate::concurrency`]); one more is
//! answered `503 overloaded` with `Retry-After: 1` at once.
//!
//! Past capacity a queue only turns every answer into a late one (p99 went from 4 ms to 24 s
//! within 30 s at 1.5× load before this gate); an immediate `503` lets a client or a load
//! balancer go elsewhere while the requests already admitted keep their latency. The place is
//! held until the response is ready, or until the client goes away (the guard drops with the
//! request's future). Health probes, the documentation and metrics are not behind this gate:
//! they are never shed.

use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::AppState;
use crate::error::ApiError;

/// Processes the request if a place is free, else answers `503 overloaded`.
pub(crate) async fn shed(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(_place) = state.config.gate.limits(&state.config).enter() else {
        tracing::debug!("request shed: the in-flight limit is reached");
        return Ok(req.into_response(ApiError::overloaded().error_response()));
    };
    Ok(next.call(req).await?.map_into_boxed_body())
}
