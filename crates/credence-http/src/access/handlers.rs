//! API keys of a user: list, create (the secret is shown once), revoke. Admins manage every
//! user's keys; a reseller those of users bound to its tree; customers none.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::UserId;
use credence_domain::access::credentials::KeyId;
use credence_domain::access::scope::Function;

use crate::AppState;
use crate::access::dto::{CreatedKeyDto, KeyDto};
use crate::access::form::KeyForm;
use crate::body::{Body, authorize};
use crate::caller::Caller;
use crate::dto::{ListDto, SuccessDto};
use crate::error::{ApiError, ErrorBody};
use crate::negotiate::Reply;
use crate::query::{PAGE_PARAMS, Params};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/{id}/keys")
            .route(web::get().to(list_keys))
            .route(web::post().to(create_key)),
    )
    .service(web::resource("/users/{id}/keys/{key}").route(web::delete().to(revoke_key)));
}

fn id(text: &str, name: &'static str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| ApiError::invalid_param_type(name))
}

/// Lists a user's keys, revoked ones included, without their secrets.
#[utoipa::path(
    get,
    path = "/api/v1.0/users/{id}/keys",
    tag = "keys",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's keys", content((ListDto<KeyDto> = "application/json"), (ListDto<KeyDto> = "application/xml"))),
        (status = 403, description = "The caller's role may not manage keys", body = ErrorBody),
        (status = 404, description = "No such user in the caller's scope", body = ErrorBody),
    )
)]
pub(crate) async fn list_keys(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    Params::parse(req.query_string(), PAGE_PARAMS)?;
    let user = UserId(id(&path, "id")?);
    let keys = state
        .services
        .auth
        .list_keys(&caller.principal, user)
        .await?;
    let dto = ListDto::whole(keys.iter().map(KeyDto::from).collect());
    Reply::list("keys", "key", &dto)
}

/// Creates a key for a user; the answer carries the secret, once.
#[utoipa::path(
    post,
    path = "/api/v1.0/users/{id}/keys",
    tag = "keys",
    params(("id" = i64, Path, description = "User id")),
    request_body(content = KeyForm, description = "An optional label", content_type = "application/json"),
    responses(
        (status = 201, description = "The key and its secret", content((CreatedKeyDto = "application/json"), (CreatedKeyDto = "application/xml"))),
        (status = 403, description = "The caller's role may not manage keys", body = ErrorBody),
        (status = 404, description = "No such user in the caller's scope", body = ErrorBody),
    )
)]
pub(crate) async fn create_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let user = UserId(id(&path, "id")?);
    let name = KeyForm::read(&body.0)?.name;
    let created = state
        .services
        .auth
        .create_key(&caller.principal, user, name)
        .await?;
    let dto = CreatedKeyDto {
        key: KeyDto::from(&created.key),
        secret: created.secret.expose().to_owned(),
    };
    Ok(Reply::new(StatusCode::CREATED, "key", &dto)?
        .located_in(&format!("/api/v1.0/users/{}/keys", user.get())))
}

/// Revokes one of a user's keys: it authenticates no one from now on.
#[utoipa::path(
    delete,
    path = "/api/v1.0/users/{id}/keys/{key}",
    tag = "keys",
    params(("id" = i64, Path, description = "User id"), ("key" = i64, Path, description = "Key id")),
    responses(
        (status = 200, description = "Revoked", body = SuccessDto),
        (status = 404, description = "No such user or live key in the caller's scope", body = ErrorBody),
    )
)]
pub(crate) async fn revoke_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    let (user, key) = path.into_inner();
    let user = UserId(id(&user, "id")?);
    let key = KeyId(id(&key, "key")?);
    state
        .services
        .auth
        .revoke_key(&caller.principal, user, key)
        .await?;
    Reply::ok("response", &SuccessDto::deleted())
}
