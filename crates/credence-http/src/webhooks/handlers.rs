//! `/webhookEndpoints`: create (the secret shown once), list, show, change, delete, and
//! rotate the secret. Scope is the service's: an admin manages every endpoint, a reseller its
//! own; customer keys get `403`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::events::EventId;
use credence_domain::services::{CreatedEndpoint, WebhookError};
use credence_domain::webhooks::EndpointId;

use crate::AppState;
use crate::body::{Body, authorize};
use crate::caller::Caller;
use crate::dto::{ListDto, SuccessDto};
use crate::error::{ApiError, ErrorBody};
use crate::negotiate::Reply;
use crate::openapi::PageParams;
use crate::query::{PAGE_PARAMS, Params};
use crate::webhooks::dto::{CreatedWebhookEndpointDto, DeliveryAttemptDto, WebhookEndpointDto};
use crate::webhooks::form::{RedeliveryForm, WebhookEndpointForm};

const COLLECTION: &str = "/api/v1.0/webhookEndpoints";

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhookEndpoints")
            .route(web::get().to(list_endpoints))
            .route(web::post().to(create_endpoint)),
    )
    .service(
        web::resource("/webhookEndpoints/{id}")
            .route(web::get().to(show_endpoint))
            .route(web::patch().to(update_endpoint))
            .route(web::delete().to(delete_endpoint)),
    )
    .service(web::resource("/webhookEndpoints/{id}/secret").route(web::post().to(rotate_secret)))
    .service(
        web::resource("/webhookEndpoints/{id}/deliveries").route(web::get().to(list_deliveries)),
    )
    .service(web::resource("/events/{id}/redeliver").route(web::post().to(redeliver)));
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Forbidden => Self::forbidden(),
            WebhookError::NotFound(_) | WebhookError::EventNotFound(_) => {
                Self::not_found(error.to_string())
            }
            WebhookError::Input(e) => e.into(),
            WebhookError::Store(e) => e.into(),
        }
    }
}

fn endpoint_id(text: &str) -> Result<EndpointId, ApiError> {
    text.parse()
        .map(EndpointId)
        .map_err(|_| ApiError::invalid_param_type("id"))
}

fn with_secret(created: &CreatedEndpoint) -> CreatedWebhookEndpointDto {
    CreatedWebhookEndpointDto {
        endpoint: WebhookEndpointDto::from(&created.endpoint),
        secret: created.secret.expose().to_owned(),
    }
}

/// Creates an endpoint; the answer carries its signing secret, once.
#[utoipa::path(
    post,
    path = "/api/v1.0/webhookEndpoints",
    tag = "webhooks",
    request_body(content = WebhookEndpointForm, description = "The endpoint; `url` is required", content_type = "application/json"),
    responses(
        (status = 201, description = "The endpoint and its secret", content((CreatedWebhookEndpointDto = "application/json"), (CreatedWebhookEndpointDto = "application/xml"))),
        (status = 400, description = "missing_param (`url`), invalid_param (a URL that is not http(s), holds credentials or points to a private address; an unknown event type) or invalid_param_type", body = ErrorBody),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
    )
)]
pub(crate) async fn create_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Reply, ApiError> {
    let input = WebhookEndpointForm::read(&body.0)?.into_input();
    let created = state
        .services
        .webhooks
        .create(&caller.principal, input)
        .await?;
    Ok(Reply::new(
        StatusCode::CREATED,
        "webhookEndpoint",
        &with_secret(&created),
    )?
    .located_in(COLLECTION))
}

/// Lists the caller's endpoints (every endpoint for an admin), oldest first, without secrets.
#[utoipa::path(
    get,
    path = "/api/v1.0/webhookEndpoints",
    tag = "webhooks",
    params(PageParams),
    responses(
        (status = 200, description = "A page of endpoints", content((ListDto<WebhookEndpointDto> = "application/json"), (ListDto<WebhookEndpointDto> = "application/xml"))),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
    )
)]
pub(crate) async fn list_endpoints(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let page = Params::parse(req.query_string(), PAGE_PARAMS)?.page()?;
    let found = state
        .services
        .webhooks
        .list(&caller.principal, page)
        .await?;
    let dto = ListDto::page(COLLECTION, page, &found, WebhookEndpointDto::from);
    Reply::list("webhookEndpoints", "webhookEndpoint", &dto)
}

/// One endpoint, without its secret.
#[utoipa::path(
    get,
    path = "/api/v1.0/webhookEndpoints/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint", content((WebhookEndpointDto = "application/json"), (WebhookEndpointDto = "application/xml"))),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn show_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let id = endpoint_id(&path)?;
    let endpoint = state.services.webhooks.get(&caller.principal, id).await?;
    Reply::ok("webhookEndpoint", &WebhookEndpointDto::from(&endpoint))
}

/// Changes the fields sent (`url`, `types`, `description`, `enabled`); enabling an endpoint
/// clears its `disabledReason`.
#[utoipa::path(
    patch,
    path = "/api/v1.0/webhookEndpoints/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    request_body(content = WebhookEndpointForm, description = "The fields to change", content_type = "application/json"),
    responses(
        (status = 200, description = "The endpoint after the change", content((WebhookEndpointDto = "application/json"), (WebhookEndpointDto = "application/xml"))),
        (status = 400, description = "As for the creation", body = ErrorBody),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn update_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let id = endpoint_id(&path)?;
    let input = WebhookEndpointForm::read(&body.0)?.into_input();
    let endpoint = state
        .services
        .webhooks
        .update(&caller.principal, id, input)
        .await?;
    Reply::ok("webhookEndpoint", &WebhookEndpointDto::from(&endpoint))
}

/// Deletes an endpoint and its secrets.
#[utoipa::path(
    delete,
    path = "/api/v1.0/webhookEndpoints/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "Deleted", body = SuccessDto),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn delete_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let id = endpoint_id(&path)?;
    state
        .services
        .webhooks
        .delete(&caller.principal, id)
        .await?;
    Reply::ok("response", &SuccessDto::deleted())
}

/// Gives the endpoint a new signing secret, shown in this answer only; the previous secret
/// keeps signing deliveries for 24 hours.
#[utoipa::path(
    post,
    path = "/api/v1.0/webhookEndpoints/{id}/secret",
    tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint and its new secret", content((CreatedWebhookEndpointDto = "application/json"), (CreatedWebhookEndpointDto = "application/xml"))),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let id = endpoint_id(&path)?;
    let rotated = state
        .services
        .webhooks
        .rotate_secret(&caller.principal, id)
        .await?;
    Reply::ok("webhookEndpoint", &with_secret(&rotated))
}

/// The attempts to deliver events to an endpoint, newest first: made ones with their
/// outcome, and pending ones with when they are due.
#[utoipa::path(
    get,
    path = "/api/v1.0/webhookEndpoints/{id}/deliveries",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Endpoint id"),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of attempts", content((ListDto<DeliveryAttemptDto> = "application/json"), (ListDto<DeliveryAttemptDto> = "application/xml"))),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such endpoint of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let id = endpoint_id(&path)?;
    let page = Params::parse(req.query_string(), PAGE_PARAMS)?.page()?;
    let found = state
        .services
        .webhooks
        .attempts(&caller.principal, id, page)
        .await?;
    let path = format!("{COLLECTION}/{id}/deliveries");
    let dto = ListDto::page(&path, page, &found, DeliveryAttemptDto::from);
    Reply::list("deliveries", "delivery", &dto)
}

/// Queues one more attempt to deliver an event to one of the caller's endpoints, due now
/// (to a disabled endpoint, once it is enabled again). Receivers deduplicate by event id.
#[utoipa::path(
    post,
    path = "/api/v1.0/events/{id}/redeliver",
    tag = "events",
    params(("id" = String, Path, description = "The event's id, `evt_…`")),
    request_body(content = RedeliveryForm, description = "The endpoint to deliver to", content_type = "application/json"),
    responses(
        (status = 202, description = "The queued attempt", content((DeliveryAttemptDto = "application/json"), (DeliveryAttemptDto = "application/xml"))),
        (status = 400, description = "missing_param (`endpointId`) or invalid_param_type", body = ErrorBody),
        (status = 403, description = "The caller's role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such event, or no such endpoint of the caller's, or an event outside the endpoint's scope", body = ErrorBody),
    )
)]
pub(crate) async fn redeliver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let event = EventId::parse(path.trim())
        .ok_or_else(|| ApiError::not_found(format!("The event {} doesn't exist.", path.trim())))?;
    let endpoint = RedeliveryForm::read(&body.0)?.endpoint_id;
    let queued = state
        .services
        .webhooks
        .redeliver(&caller.principal, event, endpoint)
        .await?;
    Reply::new(
        StatusCode::ACCEPTED,
        "delivery",
        &DeliveryAttemptDto::from(&queued),
    )
}
