//! The request time-out: a request that takes longer than the deadline is
//! answered instead of holding its client forever. Its database work, if any, is one
//! transaction, so it either commits whole or not at all; nothing is half-written.
//!
//! Whose fault the wait was decides the answer: when the client was still sending its body,
//! `408 request_timeout` (and the connection is closed, since the rest of that body would
//! otherwise be read as the next request); when the whole body had arrived (or there was
//! none), the server was too slow: `503 request_timeout` with `Retry-After`. To tell the two
//! apart the payload is wrapped in a stream that notes when it ends.
//!
//! The middleware must not hold a clone of the request while the inner scope routes it
//! (actix needs the only reference then, to record the matched path), so it keeps just the
//! method, the path and the negotiated format, and answers a time-out as an error whose response is
//! already rendered for the face and format the client uses.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, PayloadError};
use actix_web::http::{ConnectionType, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web;
use futures_util::Stream as _;

use crate::AppState;
use crate::error::ApiError;
use crate::negotiate::{Format, error_for};

/// The bulk import's route, which has [`IMPORT_DEADLINE`] instead of the configured one
/// when that is shorter.
const IMPORT_PATH: &str = "/api/v1.0/customers/import";

/// The least time a bulk import is given in all. A backstop only: the import bounds each of
/// its steps (the next part of the body, one batch of lines) by the configured deadline
/// itself, so an import is cut when it stalls, not for being large. A fixed total used to
/// cut a slow 100,000-line import in the middle of its body, and the client, still sending,
/// saw its connection closed instead of the answer.
const IMPORT_DEADLINE: Duration = Duration::from_secs(60 * 60);

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
    // A bulk import works through up to 100,000 lines: it gets longer than a request, and
    // bounds each of its steps itself (each of its batches is a transaction; a cut import
    // keeps the batches it committed, and running it again is safe).
    let limit = if req.path() == IMPORT_PATH {
        limit.max(IMPORT_DEADLINE)
    } else {
        limit
    };
    let path = req.path().to_owned();
    let method = req.method().as_str().to_owned();
    let format = Format::of(req.request());
    let (req, arrived) = track_body(req);
    match actix_web::rt::time::timeout(limit, next.call(req)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => {
            let error = timed_out(limit, arrived.load(Ordering::Acquire));
            let mut response = error_for(&method, &path, format, &error);
            error.add_headers(&mut response);
            if error.status() == StatusCode::REQUEST_TIMEOUT {
                response
                    .head_mut()
                    .set_connection_type(ConnectionType::Close);
            }
            Err(InternalError::from_response(error, response).into())
        }
    }
}

/// The answer to a request past its deadline: `408` while its body was still arriving,
/// `503` once it had.
fn timed_out(limit: Duration, body_arrived: bool) -> ApiError {
    if body_arrived {
        ApiError::request_timeout(limit)
    } else {
        ApiError::body_timeout(limit)
    }
}

/// Wraps the payload so the returned flag turns true once the body has been read to its end
/// (or failed); a request without a body starts with it true.
fn track_body(req: ServiceRequest) -> (ServiceRequest, Arc<AtomicBool>) {
    let headers = req.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok());
    // HTTP/1 has a body only when one of the two headers announces it.
    let http1 = req.version() < actix_web::http::Version::HTTP_2;
    let empty = length.is_some_and(|value| value.trim() == "0")
        || (http1 && length.is_none() && !headers.contains_key(header::TRANSFER_ENCODING));
    let (http, payload) = req.into_parts();
    let arrived = Arc::new(AtomicBool::new(empty || matches!(payload, Payload::None)));
    if arrived.load(Ordering::Relaxed) {
        return (ServiceRequest::from_parts(http, payload), arrived);
    }
    let flag = Arc::clone(&arrived);
    let mut inner = payload;
    let tracked = futures_util::stream::poll_fn(move |cx| {
        let item = Pin::new(&mut inner).poll_next(cx);
        if matches!(item, Poll::Ready(None | Some(Err(_)))) {
            flag.store(true, Ordering::Release);
        }
        item
    });
    let tracked: Pin<Box<dyn futures_util::Stream<Item = Result<web::Bytes, PayloadError>>>> =
        Box::pin(tracked);
    let payload = Payload::from(tracked);
    (ServiceRequest::from_parts(http, payload), arrived)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_clients_while_the_body_arrives_else_the_servers() {
        let limit = Duration::from_secs(30);
        let slow_client = timed_out(limit, false);
        assert_eq!(slow_client.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(slow_client.body().error, "request_timeout");
        let slow_server = timed_out(limit, true);
        assert_eq!(slow_server.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(slow_server.body().error, "request_timeout");
        assert_eq!(slow_server.retry_after(), Some(1));
    }

    #[actix_web::test]
    async fn the_flag_turns_once_the_body_is_read_to_its_end() {
        use actix_web::HttpMessage as _;
        use actix_web::test::TestRequest;
        use futures_util::StreamExt as _;
        let req = TestRequest::post()
            .insert_header((header::CONTENT_LENGTH, "5"))
            .set_payload("hello")
            .to_srv_request();
        let (mut req, arrived) = track_body(req);
        assert!(!arrived.load(Ordering::Acquire));
        let mut payload = req.take_payload();
        let mut bytes = Vec::new();
        while let Some(chunk) = payload.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(bytes, b"hello");
        assert!(arrived.load(Ordering::Acquire));
        let (_, arrived) = track_body(TestRequest::get().to_srv_request());
        assert!(
            arrived.load(Ordering::Acquire),
            "no body: nothing to wait for"
        );
    }
}
