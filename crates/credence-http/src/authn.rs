//! Authentication and rate limits, before anything reads the body.
//!
//! Every request of the API scopes passes here first, so the answer to a caller without
//! usable credentials (`401`) or with a key that matches no live one (`403`) never depends on
//! what the body holds, and a body is never read for a caller the service does not know.
//! In order:
//!
//! 1. A client address that failed to authenticate more than `auth_failures_per_minute`
//!    times is answered `429 rate_limited` before its key is looked up, so guessing keys
//!    costs the database nothing and goes no faster than the limit.
//! 2. The key is looked up; a failure (`401`/`403`) takes a token from the address's bucket,
//!    and the failure that finds it empty is answered `429` instead.
//! 3. The credential's bucket (`rate_limit_per_second`, `rate_limit_burst`) gives a token,
//!    or the answer is `429` with `Retry-After` in whole seconds.
//! 4. The [`Caller`] goes into the request's extensions for the handlers' extractor.
//!
//! The address is the connection's peer: `Forwarded` and `X-Forwarded-For` are not believed,
//! since any client can write them and would then choose its own bucket.

use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, web};
use sha2::Digest as _;

use crate::AppState;
use crate::caller::{Caller, MissingState, authenticate, presented_key};
use crate::error::ApiError;

/// Authenticates the request and charges its credential, or answers for it.
pub(crate) async fn authn(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let error = ApiError::server_error(&MissingState);
        return Ok(req.into_response(error.error_response()));
    };
    let limits = state.config.gate.limits(&state.config);
    let address = req.peer_addr().map(|peer| peer.ip());
    if let Some(wait) = address.and_then(|address| limits.blocked(address)) {
        return Ok(req.into_response(ApiError::rate_limited(wait).error_response()));
    }
    let presented = presented_key(req.request());
    let principal = match authenticate(&state, presented.as_deref()).await {
        Ok(principal) => principal,
        Err(error) => {
            let refused = matches!(
                error.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            );
            let error = match address {
                Some(address) if refused => match limits.record_failure(address) {
                    Ok(()) => error,
                    Err(wait) => {
                        tracing::warn!(%address, "too many failed authentications");
                        ApiError::rate_limited(wait)
                    }
                },
                _ => error,
            };
            return Ok(req.into_response(error.error_response()));
        }
    };
    if let Some(key) = presented {
        let credential: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        if let Err(wait) = limits.charge(&credential) {
            return Ok(req.into_response(ApiError::rate_limited(wait).error_response()));
        }
    }
    req.extensions_mut().insert(Caller { principal });
    Ok(next.call(req).await?.map_into_boxed_body())
}
