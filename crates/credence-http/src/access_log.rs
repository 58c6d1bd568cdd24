//! One log line per request, and its count and duration in the metrics: method, route
//! template (never the raw path, which may carry references), status, body size, duration and the
//! calling user, inside the request's span so the line carries its `request_id`. Keys never
//! reach it: the caller is logged by user id.
//!
//! The request's span ([`RequestSpan`]) holds the request id and nothing else: every line
//! logged during the request repeats the span's fields, and the default span's dozen of them
//! (host, user agent, target, OpenTelemetry names) were formatted, parsed back and written out
//! again on every line, which cost more than answering a request that is refused at once. What
//! the access line needs, it carries itself.

use std::time::Instant;

use actix_web::HttpMessage as _;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing_actix_web::RootSpanBuilder;

use crate::request_id::RequestId;

/// The span each request runs in: its request id, for every line logged while it is served.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let id = request.extensions().get::<RequestId>().cloned();
        match id {
            Some(RequestId(id)) => tracing::info_span!("request", request_id = %id),
            None => tracing::info_span!("request"),
        }
    }

    /// The outcome is in the access line, logged inside the span just before this.
    fn on_request_end<B: MessageBody>(
        _span: tracing::Span,
        _outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
    }
}

use crate::caller::Caller;

/// Logs the request once it has been answered (errors included).
///
/// # Errors
/// Whatever the rest of the chain returns, unchanged.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let outcome = next.call(req).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &outcome {
        Ok(response) => {
            let request = response.request();
            let route = request
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into());
            let user = request
                .extensions()
                .get::<Caller>()
                .and_then(|caller| caller.principal.user_id())
                .map(|id| id.get());
            let status = response.status().as_u16();
            // The body as the handler made it, before any compression; a streamed body (a
            // document's content) has no size until it is sent, and logs none.
            let bytes = match response.response().body().size() {
                BodySize::Sized(bytes) => Some(bytes),
                BodySize::None | BodySize::Stream => None,
            };
            if let Some(state) = request.app_data::<actix_web::web::Data<crate::AppState>>() {
                state
                    .config
                    .metrics
                    .request(method.as_str(), &route, status, elapsed_ms / 1000.0);
            }
            tracing::info!(
                method = %method,
                route = %route,
                status,
                bytes,
                duration_ms = elapsed_ms,
                user_id = user,
                "request"
            );
        }
        Err(error) => tracing::info!(
            method = %method,
            status = error.as_response_error().status_code().as_u16(),
            duration_ms = elapsed_ms,
            "request"
        ),
    }
    outcome
}
