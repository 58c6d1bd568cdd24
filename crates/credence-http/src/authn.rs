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
//! A route whose URL is its own credential (a logo's) passes [`capability`] instead: no key,
//! but each `404` is charged to the address as a failed authentication.
//!
//! The address is the connection's peer: `Forwarded` and `X-Forwarded-For` are not believed,
//! since any client can write them and would then choose its own bucket.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, web};
use sha2::Digest as _;

use crate::AppState;
use crate::caller::{Caller, MissingState, authenticate, presented_key};
use crate::error::ApiError;
use crate::gate::Limits;
use credence_domain::access::scope::Function;

/// The request, the application's state and the request's client address, unless the
/// address failed too often lately: then the `429` answer, given before anything is looked up.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the response itself, returned as soon as it is made"
)]
fn admitted(
    req: ServiceRequest,
) -> Result<(ServiceRequest, web::Data<AppState>, Option<IpAddr>), ServiceResponse<BoxBody>> {
    let state = match req.app_data::<web::Data<AppState>>().cloned() {
        Some(state) => state,
        None => return Err(refuse(req, &ApiError::server_error(&MissingState))),
    };
    let address = req.peer_addr().map(|peer| peer.ip());
    let limits = state.config.gate.limits(&state.config);
    if let Some(wait) = address.and_then(|address| limits.blocked(address)) {
        return Err(refuse(req, &ApiError::rate_limited(wait)));
    }
    Ok((req, state, address))
}

/// The request answered with `error`, without reaching the routes.
fn refuse(req: ServiceRequest, error: &ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(error.error_response())
}

/// Authenticates the request and charges its credential, or answers for it.
pub(crate) async fn authn(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, state, address) = match admitted(req) {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(refused),
    };
    let limits = state.config.gate.limits(&state.config);
    let presented = presented_key(req.request());
    let principal = match authenticate(&state, presented.as_deref()).await {
        Ok(principal) => principal,
        Err(error) => {
            let refused = matches!(
                error.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            );
            let error = match address {
                Some(address) if refused => match charge_failure(limits, address) {
                    None => error,
                    Some(wait) => ApiError::rate_limited(wait),
                },
                _ => error,
            };
            return Ok(refuse(req, &error));
        }
    };
    if let Some(key) = presented {
        let credential: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        if let Err(wait) = limits.charge(&credential) {
            return Ok(refuse(req, &ApiError::rate_limited(wait)));
        }
    }
    req.extensions_mut().insert(Caller { principal });
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The back office is for admins and resellers: a customer key is refused every route of it
/// but its own customer's (`GET /customers/me`), before its path, query or body is read, so
/// the answer never depends on what it sent and a handler that forgets its role check
/// cannot serve it. Runs after [`authn`], which left the caller in the request.
pub(crate) async fn back_office(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let outside = req
        .extensions()
        .get::<Caller>()
        .is_some_and(|caller| !Function::BackOffice.admits(&caller.principal));
    if outside && !(req.method() == Method::GET && req.path() == OWN_CUSTOMER_PATH) {
        return Ok(refuse(req, &ApiError::forbidden()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The one back-office route a customer key uses.
const OWN_CUSTOMER_PATH: &str = "/api/v1.0/customers/me";

/// For a route whose URL is its own credential (a logo's, decision 0036): no key is asked
/// for, so an `<img src>` works, but guessing URLs is charged as guessing keys is. An address
/// over `auth_failures_per_minute` is answered `429` before anything is looked up, and every
/// `404` takes a token from its bucket; the one that finds it empty is answered `429`.
pub(crate) async fn capability(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, state, address) = match admitted(req) {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(refused),
    };
    let response = next.call(req).await?.map_into_boxed_body();
    let wait = match address {
        Some(address) if response.status() == StatusCode::NOT_FOUND => {
            charge_failure(state.config.gate.limits(&state.config), address)
        }
        _ => None,
    };
    Ok(match wait {
        None => response,
        Some(wait) => response.into_response(ApiError::rate_limited(wait).error_response()),
    })
}

/// Charges a failure to `address`: how long it must wait once its bucket is empty.
fn charge_failure(limits: &Limits, address: IpAddr) -> Option<Duration> {
    let wait = limits.record_failure(address).err();
    if wait.is_some() {
        tracing::warn!(%address, "too many failed authentications");
    }
    wait
}
