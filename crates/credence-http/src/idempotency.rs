//! `Idempotency-Key` (IETF draft semantics) for the POSTs that move money, written once so
//! that no handler can get it subtly different.
//!
//! A request with a key is first recorded as in progress under a 60 s lease
//! ([`IdempotencyStore::start`](credence_domain::ports::IdempotencyStore::start)). Then:
//! - `Started`: the use case runs with a domain tag made of the scope, the key and a digest of
//!   the fingerprint, so the store never applies the effect twice even if this process dies
//!   before the answer is stored; a
//!   success is stored (`complete`) with its exact JSON body, a failure forgets the key
//!   (`abandon`; beside the answer when the database is unreachable, so the `503` is not
//!   delayed) so the client may retry (a failure moved nothing, and if it did, the domain
//!   tag makes the retry return the first effect);
//! - `Replay`: the stored status and body are answered again (re-rendered as XML if asked);
//! - `InFlight`: `409 idempotency_key_in_use`; `Mismatch`: `422 idempotency_key_reused`.
//!
//! The scope is the caller alone (its user id, or `system`): two callers never share a key,
//! and one caller's key names one request whatever route it is sent to. The fingerprint is
//! the method, the concrete path and the SHA-256 of the body, so the same key with another
//! route (a payment's key on a charge), another customer or another amount is `422` and
//! nothing runs. The domain tag carries the fingerprint's digest too: if a key was forgotten
//! (its first request failed) and then reused for another request, the store can never hand
//! that request the effect of the first one (a payment as the answer to a charge).

use std::future::Future;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use chrono::TimeDelta;
use credence_domain::ports::IdempotencyStore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::body::Body;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::negotiate::Reply;

/// The header.
pub(crate) const HEADER: &str = "idempotency-key";

/// How long a started key blocks repeats before a crashed request may be retried.
const LEASE: TimeDelta = TimeDelta::seconds(60);

/// The longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// Where a created resource lives, read off an answer's body, so that a replayed `201` says
/// it as the first one did (the key's record keeps the body, not the headers).
pub(crate) type Locate = fn(&Value) -> Option<String>;

/// The body's `href`: where a back-office resource lives.
pub(crate) fn at_href(body: &Value) -> Option<String> {
    body.get("href").and_then(Value::as_str).map(str::to_owned)
}

/// Runs `use_case` at most once per `Idempotency-Key` (see the module docs). Without the
/// header it simply runs, with no domain tag. `root` is the XML root of the answer, needed to
/// re-render a replayed answer as XML; `locate` finds where a replayed creation lives.
///
/// # Errors
/// `400 invalid_param` for a malformed key, `409`/`422` as above, the use case's own errors,
/// and store failures of `start`.
pub(crate) async fn once<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    body: &Body,
    (root, locate): (&'static str, Locate),
    use_case: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let Some(key) = key_of(req)? else {
        return use_case(None).await;
    };
    let store = &state.services.idempotency;
    let user = caller
        .principal
        .user_id()
        .map_or_else(|| "system".to_owned(), |u| u.to_string());
    let scope = user;
    let fingerprint = format!("{} {} {}", req.method(), req.path(), body.1.as_str());
    let now = state.services.clock.now();
    let started = store
        .start(&scope, &key, &fingerprint, now, now + LEASE)
        .await?;
    match started {
        credence_domain::ports::IdempotencyStart::Started => {}
        credence_domain::ports::IdempotencyStart::Replay { status, body } => {
            let status = StatusCode::from_u16(status).map_err(|e| ApiError::server_error(&e))?;
            let value: Value =
                serde_json::from_str(&body).map_err(|e| ApiError::server_error(&e))?;
            // A replayed creation says where its resource lives, as the first answer did.
            let location = locate(&value);
            let reply = Reply::replayed(status, root, value).with_header(
                HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
            return Ok(match location {
                Some(location) => reply.located(&location),
                None => reply,
            });
        }
        credence_domain::ports::IdempotencyStart::InFlight => {
            return Err(ApiError::idempotency_key_in_use());
        }
        credence_domain::ports::IdempotencyStart::Mismatch => {
            return Err(ApiError::idempotency_key_reused());
        }
    }
    match use_case(Some(tag(&scope, &key, &fingerprint))).await {
        Ok(reply) => {
            let text = reply.json_text()?;
            if let Err(e) = store
                .complete(
                    &scope,
                    &key,
                    reply.status().as_u16(),
                    &text,
                    state.services.clock.now(),
                )
                .await
            {
                // The effect is committed and tagged: answer it. A retry after the lease
                // lapses runs again and the store hands back this same effect.
                tracing::warn!(error = %e, "the answer of an idempotent request could not be stored");
            }
            Ok(reply)
        }
        Err(error) if error.status() == StatusCode::SERVICE_UNAVAILABLE => {
            // The database did not answer: releasing the key would wait for it once more and
            // double the time to this 503, so it is released beside the answer instead.
            let store = store.clone();
            actix_web::rt::spawn(async move { abandon(store.as_ref(), &scope, &key).await });
            Err(error)
        }
        Err(error) => {
            abandon(store.as_ref(), &scope, &key).await;
            Err(error)
        }
    }
}

/// Forgets a key whose request failed, so the client may retry it.
async fn abandon(store: &dyn IdempotencyStore, scope: &str, key: &str) {
    if let Err(e) = store.abandon(scope, key).await {
        // The lease lapses on its own; until then a retry answers 409.
        tracing::warn!(error = %e, "an idempotency key could not be released");
    }
}

/// The domain tag of a request: its scope, its key and the digest of its fingerprint.
fn tag(scope: &str, key: &str, fingerprint: &str) -> String {
    let digest: String = Sha256::digest(fingerprint.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{scope}:{key}:{digest}")
}

/// The key sent, if any: 1 to 255 visible ASCII characters.
fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| {
            !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::invalid_param(
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
            )
        })?;
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    /// The header the document describes is the one read, by that name.
    #[test]
    fn the_documented_header_is_the_one_read() {
        use utoipa::IntoParams;
        let documented: Vec<String> = crate::openapi::IdempotencyKeyHeader::into_params(|| None)
            .into_iter()
            .map(|p| p.name.to_ascii_lowercase())
            .collect();
        assert_eq!(documented, [HEADER]);
    }

    #[test]
    fn tags_differ_by_request_not_only_by_key() {
        let payment = tag(
            "7",
            "k-1",
            "POST /api/v1.0/customers/1/account/payments abc",
        );
        let charge = tag("7", "k-1", "POST /api/v1.0/customers/1/account/charges abc");
        assert_ne!(payment, charge);
        assert!(payment.starts_with("7:k-1:"), "{payment}");
        assert_eq!(
            payment,
            tag(
                "7",
                "k-1",
                "POST /api/v1.0/customers/1/account/payments abc"
            )
        );
    }

    #[test]
    fn keys_are_visible_ascii() {
        let key = |value: &str| {
            key_of(
                &TestRequest::default()
                    .insert_header((HEADER, value))
                    .to_http_request(),
            )
        };
        assert_eq!(key("abc-123").unwrap().as_deref(), Some("abc-123"));
        assert!(key("").is_err());
        assert!(key(&"k".repeat(256)).is_err());
        assert!(key("a b").is_err());
        assert_eq!(
            key_of(&TestRequest::default().to_http_request()).unwrap(),
            None
        );
    }
}
