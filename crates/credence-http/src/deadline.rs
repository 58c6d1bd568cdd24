//! The request time-out (SPEC §6): a request that takes longer than the deadline is answered
//! `503 request_timeout` instead of holding its client forever. Its database work, if any, is
//! one transaction, so it either commits whole or not at all; nothing is half-written.
//!
//! The middleware must not hold a clone of the request while the inner scope routes it
//! (actix needs the only reference then, to record the matched path), so it keeps just the
//! method, the path and the negotiated format, and answers a time-out as an error whose response is
//! already rendered for the face and format the client uses.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::middleware::Next;
use actix_web::web;

use crate::AppState;
use crate::error::ApiError;
use crate::negotiate::{Format, error_for};

/// Runs the rest of the chain under the configured deadline.
pub(crate) async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(Duration::from_secs(30), |state| {
            state.config.request_timeout
        });
    let path = req.path().to_owned();
    let method = req.method().as_str().to_owned();
    let format = Format::of(req.request());
    match actix_web::rt::time::timeout(limit, next.call(req)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => {
            let error = ApiError::request_timeout(limit);
            let response = error_for(&method, &path, format, &error);
            Err(InternalError::from_response(error, response).into())
        }
    }
}
