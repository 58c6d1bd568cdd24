//! Cross-origin requests from browsers: off unless the operator lists the origins allowed
//! (`cors_origins`). Then those origins may call every route with the headers Credence
//! reads, and read the headers it answers with.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_CACHE_SECS: usize = 3600;

/// The CORS middleware for `origins` (exact origins, `https://app.example.com`); with none,
/// no origin is allowed (the caller then leaves it out of the chain).
pub fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            crate::request_id::REQUEST_ID,
        ])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            header::ETAG,
            header::HeaderName::from_static("idempotent-replayed"),
            crate::request_id::REQUEST_ID,
        ])
        .max_age(PREFLIGHT_CACHE_SECS)
}
