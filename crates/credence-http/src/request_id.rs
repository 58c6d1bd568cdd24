//! `X-Request-Id`: the client's id when it sends a usable one (1 to 128 visible ASCII
//! characters), otherwise a new one; it is the `request_id` of every log line the request
//! writes, and every response carries it, errors included, so a client can quote it.

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The header's name.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id kept from a client.
const LONGEST: usize = 128;

/// A request's id, in its extensions for the log span.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's id when usable.
fn usable(value: &HeaderValue) -> Option<String> {
    let bytes = value.as_bytes();
    ((1..=LONGEST).contains(&bytes.len()) && bytes.iter().all(|b| (0x21..=0x7e).contains(b)))
        .then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// Keeps or makes the request's id and writes it on the response. Errors reach it already
/// rendered as responses (each face's error renderer, the fallback route), so they carry the
/// id too.
///
/// # Errors
/// Whatever the rest of the chain returns, unchanged.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(usable)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ascii_ids_are_kept() {
        let keep = |text: &str| usable(&HeaderValue::from_str(text).unwrap());
        assert_eq!(keep("abc-123"), Some("abc-123".to_owned()));
        assert_eq!(keep(&"x".repeat(128)), Some("x".repeat(128)));
        assert_eq!(keep(&"x".repeat(129)), None);
        assert_eq!(keep(""), None);
        assert_eq!(keep("has space"), None);
    }
}
