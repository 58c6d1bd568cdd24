//! Who is calling: the [`Caller`] extractor every back-office handler takes and passes to the
//! service, so scope is decided in the domain.
//!
//! Credentials come as `Authorization: Bearer <key>`, `API-Key: <key>` or HTTP Basic
//! with the key as the password (clickworker's style). No usable credentials: `401` with a
//! `WWW-Authenticate` challenge. Credentials that match no live key: `403`.
//!
//! The API scopes authenticate in a middleware ([`crate::authn`]) before any extractor reads
//! the body, and leave the caller in the request's extensions; the extractor takes it from
//! there, and only looks the key up itself on a route outside those scopes.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use base64::Engine as _;
use credence_domain::Principal;
use credence_domain::services::AuthenticateError;
use futures_util::future::LocalBoxFuture;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated principal of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if let Some(caller) = req.extensions().get::<Self>().cloned() {
            return Box::pin(async move { Ok(caller) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = presented_key(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::server_error(&MissingState))?;
            let principal = authenticate(&state, presented.as_deref()).await?;
            Ok(Self { principal })
        })
    }
}

/// The principal `presented` stands for: `401` without a key, `403` for a key that matches no
/// live one, `503` when the key store does not answer.
pub(crate) async fn authenticate(
    state: &AppState,
    presented: Option<&str>,
) -> Result<Principal, ApiError> {
    let presented = presented.ok_or_else(ApiError::unauthorized)?;
    state
        .services
        .auth
        .authenticate(presented)
        .await
        .map_err(|e| match e {
            AuthenticateError::UnknownKey | AuthenticateError::Revoked => {
                ApiError::invalid_credentials()
            }
            AuthenticateError::Store(e) => e.into(),
        })
}

/// The key a request presents, from whichever of the three places it uses.
pub(crate) fn presented_key(req: &HttpRequest) -> Option<String> {
    if let Some(key) = req.headers().get("api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim().to_owned()).filter(|k| !k.is_empty());
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, value) = authorization.split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.to_owned()).filter(|k| !k.is_empty());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        // The key is the password; a client that puts it in the user name is forgiven.
        let (user, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        let key = if password.is_empty() { user } else { password };
        return Some(key.to_owned()).filter(|k| !k.is_empty());
    }
    None
}

#[derive(Debug)]
pub(crate) struct MissingState;

impl std::fmt::Display for MissingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the application state is not registered")
    }
}

impl std::error::Error for MissingState {}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::presented_key;

    #[test]
    fn reads_bearer_api_key_and_basic_credentials() {
        let bearer = TestRequest::default()
            .insert_header(("Authorization", "Bearer ck_abc"))
            .to_http_request();
        assert_eq!(presented_key(&bearer).as_deref(), Some("ck_abc"));
        let api_key = TestRequest::default()
            .insert_header(("API-Key", "ck_def"))
            .to_http_request();
        assert_eq!(presented_key(&api_key).as_deref(), Some("ck_def"));
        // "user:ck_ghi"
        let basic = TestRequest::default()
            .insert_header(("Authorization", "Basic dXNlcjpja19naGk="))
            .to_http_request();
        assert_eq!(presented_key(&basic).as_deref(), Some("ck_ghi"));
        // "ck_jkl:" (key as user name, empty password)
        let basic_user = TestRequest::default()
            .insert_header(("Authorization", "Basic Y2tfamtsOg=="))
            .to_http_request();
        assert_eq!(presented_key(&basic_user).as_deref(), Some("ck_jkl"));
        for unusable in [
            ("Authorization", "Bearer "),
            ("Authorization", "Digest abc"),
            ("Authorization", "Basic !!!"),
        ] {
            assert_eq!(
                presented_key(
                    &TestRequest::default()
                        .insert_header(unusable)
                        .to_http_request()
                ),
                None
            );
        }
        assert_eq!(
            presented_key(&TestRequest::default().to_http_request()),
            None
        );
    }
}
