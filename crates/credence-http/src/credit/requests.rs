//! Four-eyes credit-limit requests on the wire: `GET /creditLimitRequests` (scoped like
//! customers), `GET /creditLimitRequests/{id}`, and `POST .../approve` and `.../reject`, with
//! the request's representation (also the `202` answer of a limit change that waits, and the
//! object of the `credit_limit_request.*` events) and the rejection's body.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::credit::{LimitRequest, LimitRequestId, LimitRequestStatus};
use credence_domain::values::FreeText;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::body::{Body, BodyFields, authorize};
use crate::caller::Caller;
use crate::credit::dto::money;
use crate::customers::dto::CreatedByDto;
use crate::dto::{BASE, ListDto, timestamp};
use crate::error::{ApiError, ErrorBody};
use crate::input::given;
use crate::negotiate::Reply;
use crate::openapi::PageParams;
use crate::query::Params;
use crate::wording::{self, WireError};
use credence_domain::services::ApprovalError;

/// The parameters of `GET /creditLimitRequests`.
pub(crate) const REQUEST_PARAMS: &[&str] = &["max", "offset", "status"];

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/creditLimitRequests").route(web::get().to(list_limit_requests)))
        .service(
            web::resource("/creditLimitRequests/{id}").route(web::get().to(show_limit_request)),
        )
        .service(
            web::resource("/creditLimitRequests/{id}/approve")
                .route(web::post().to(approve_limit_request)),
        )
        .service(
            web::resource("/creditLimitRequests/{id}/reject")
                .route(web::post().to(reject_limit_request)),
        );
}

impl From<ApprovalError> for ApiError {
    fn from(error: ApprovalError) -> Self {
        match error {
            ApprovalError::Forbidden => Self::forbidden(),
            ApprovalError::NoIdentity | ApprovalError::OwnRequest => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            ApprovalError::NotFound(_) => Self::not_found(error.to_string()),
            ApprovalError::NotPending(..) => Self::new(
                StatusCode::CONFLICT,
                "request_not_pending",
                error.to_string(),
            ),
            ApprovalError::NoLongerApplies(_) => Self::new(
                StatusCode::CONFLICT,
                "request_not_applicable",
                error.to_string(),
            ),
            ApprovalError::Input(e) => e.into(),
            ApprovalError::Store(e) => e.into(),
        }
    }
}

/// A request to raise a credit limit above the approval threshold.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitRequestDto {
    /// Id.
    pub id: i64,
    /// The customer whose account it is for.
    pub customer_id: i64,
    /// The limit asked for, in the account currency.
    #[schema(value_type = f64, example = 50000.00)]
    pub requested_limit: Value,
    /// The account's limit when it was asked for.
    #[schema(value_type = f64, example = 3000.00)]
    pub previous_limit: Value,
    /// The account currency.
    #[schema(example = "EUR")]
    pub currency: String,
    /// Who asked; `null` for a key without a user.
    pub requested_by: Option<CreatedByDto>,
    /// Why, as the requester said.
    pub reason: Option<String>,
    /// When it was asked for (`YYYY-MM-DDTHH:MM:SSZ`).
    pub created_at: String,
    /// `pending`, `approved`, `rejected` or `replaced` (a later request for the same
    /// account took its place).
    #[schema(example = "pending")]
    pub status: &'static str,
    /// The admin who approved or rejected it.
    pub decided_by: Option<CreatedByDto>,
    /// When it was approved, rejected or replaced.
    pub decided_at: Option<String>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Where it lives.
    pub href: String,
}

impl From<&LimitRequest> for LimitRequestDto {
    fn from(request: &LimitRequest) -> Self {
        Self {
            id: request.id.0,
            customer_id: request.customer.get(),
            requested_limit: money(request.requested),
            previous_limit: money(request.previous),
            currency: request.requested.currency().code().to_owned(),
            requested_by: request.requested_by.as_ref().map(CreatedByDto::from),
            reason: request.reason.clone(),
            created_at: timestamp(request.created_at),
            status: request.status.as_str(),
            decided_by: request.decided_by.as_ref().map(CreatedByDto::from),
            decided_at: request.decided_at.map(timestamp),
            rejection_reason: request.decision_reason.clone(),
            href: format!("{BASE}/creditLimitRequests/{}", request.id),
        }
    }
}

/// The `202` answer of a limit change that waits for another admin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingLimitDto {
    /// Always `pending`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// The request now waiting.
    pub request: LimitRequestDto,
}

impl PendingLimitDto {
    /// The answer for `request`.
    pub(crate) fn reply(request: &LimitRequest) -> Result<Reply, ApiError> {
        let dto = Self {
            status: LimitRequestStatus::Pending.as_str(),
            request: LimitRequestDto::from(request),
        };
        Reply::new(StatusCode::ACCEPTED, "creditLimitChange", &dto)
    }
}

/// `POST /creditLimitRequests/{id}/reject`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct RejectionForm {
    /// Why; required, not blank, at most 255 characters.
    #[schema(value_type = String, max_length = 255, pattern = "{non_blank}", example = "No collateral on file")]
    pub(crate) reason: FreeText,
}

impl RejectionForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` naming `reason` when absent or blank, `invalid_param` when longer than
    /// 255 characters, `invalid_param_type` for a structured value.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let reason = given(fields, "reason")?
            .map(|text| FreeText::new(&text, FreeText::SHORT))
            .transpose()
            .map_err(|e| WireError::invalid("reason", wording::free_text("reason", &e)))?
            .flatten()
            .ok_or(WireError::Missing("reason"))?;
        Ok(Self { reason })
    }
}

/// The parameters of `GET /creditLimitRequests`: paging and `status`.
pub(crate) struct LimitRequestListParams;

impl IntoParams for LimitRequestListParams {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let names: Vec<&str> = LimitRequestStatus::ALL.iter().map(|s| s.as_str()).collect();
        let mut parameters = PageParams::into_params(parameter_in);
        parameters.push(
            ParameterBuilder::new()
                .name("status")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(format!(
                    "Only requests in this status: {}.",
                    names.join(", ")
                )))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(format!(r"^[ \t]*(?:{})?[ \t]*$", names.join("|")))),
                ))
                .build(),
        );
        parameters
    }
}

/// Reads `status`: blank is none.
///
/// # Errors
/// `400 invalid_param` for a status that is none of the four.
pub(crate) fn status_filter(params: &Params) -> Result<Option<LimitRequestStatus>, ApiError> {
    Ok(params
        .non_blank("status")
        .map(|text| {
            LimitRequestStatus::parse(text.trim()).ok_or_else(|| {
                let names: Vec<&str> = LimitRequestStatus::ALL.iter().map(|s| s.as_str()).collect();
                WireError::invalid(
                    "status",
                    format!("The status {text} is not one of {}.", names.join(", ")),
                )
            })
        })
        .transpose()?)
}

/// A request id from the path; anything but a positive integer names no request.
fn request_id(text: &str) -> Result<LimitRequestId, ApiError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(LimitRequestId)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "The credit-limit request with the id {text} doesn't exist."
            ))
        })
}

/// Lists credit-limit requests, newest first.
///
/// Admins see all of them; a reseller those of its own customer and the customers below it.
#[utoipa::path(
    get,
    path = "/api/v1.0/creditLimitRequests",
    tag = "accounts",
    params(LimitRequestListParams),
    responses(
        (status = 200, description = "One page of requests", content((ListDto<LimitRequestDto> = "application/json"), (ListDto<LimitRequestDto> = "application/xml"))),
        (status = 400, description = "invalid_param (an unknown status, paging out of range) or invalid_param_type", body = ErrorBody),
        (status = 403, description = "The caller's role may not use the back office", body = ErrorBody),
    )
)]
pub(crate) async fn list_limit_requests(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), REQUEST_PARAMS)?;
    let page_request = params.page()?;
    let status = status_filter(&params)?;
    let page = state
        .services
        .approvals
        .list(&caller.principal, status, page_request)
        .await?;
    let tail = params.filter_tail();
    let dto = ListDto::filtered(
        req.path(),
        &tail,
        page_request,
        &page,
        LimitRequestDto::from,
    );
    Reply::list("creditLimitRequests", "request", &dto)
}

/// One credit-limit request.
#[utoipa::path(
    get,
    path = "/api/v1.0/creditLimitRequests/{id}",
    tag = "accounts",
    params(("id" = i64, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", content((LimitRequestDto = "application/json"), (LimitRequestDto = "application/xml"))),
        (status = 403, description = "The caller's role may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found: no such request in the caller's scope", body = ErrorBody),
    )
)]
pub(crate) async fn show_limit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let id = request_id(&id)?;
    let request = state
        .services
        .approvals
        .request(&caller.principal, id)
        .await?;
    Reply::ok("creditLimitRequest", &LimitRequestDto::from(&request))
}

/// Approves a pending credit-limit request.
///
/// The limit applies at once, and the account's limit history names the requester as
/// `changedBy` and the caller as `approvedBy`. Admins only, with a key that belongs to a user,
/// and never the requester. Of two admins approving at once, one applies it; the other is
/// answered `409`. A request whose account has moved to another currency since it was made
/// no longer applies: `409 request_not_applicable`, and it stays pending to be rejected.
#[utoipa::path(
    post,
    path = "/api/v1.0/creditLimitRequests/{id}/approve",
    tag = "accounts",
    params(("id" = i64, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The approved request", content((LimitRequestDto = "application/json"), (LimitRequestDto = "application/xml"))),
        (status = 403, description = "forbidden: not an admin, a key without a user, or the requester", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "request_not_pending: approved, rejected or replaced already; request_not_applicable: the account's currency changed since the request", body = ErrorBody),
    )
)]
pub(crate) async fn approve_limit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::Operations)?;
    let id = request_id(&id)?;
    let request = state
        .services
        .approvals
        .approve(&caller.principal, id)
        .await?;
    Reply::ok("creditLimitRequest", &LimitRequestDto::from(&request))
}

/// Rejects a pending credit-limit request, saying why.
///
/// The limit stays as it is. Admins only, with a key that belongs to a user, and never the
/// requester.
#[utoipa::path(
    post,
    path = "/api/v1.0/creditLimitRequests/{id}/reject",
    tag = "accounts",
    params(("id" = i64, Path, description = "The request's id")),
    request_body(content((RejectionForm = "application/json"), (RejectionForm = "application/x-www-form-urlencoded"), (RejectionForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The rejected request", content((LimitRequestDto = "application/json"), (LimitRequestDto = "application/xml"))),
        (status = 400, description = "missing_param (reason), invalid_param (over 255 characters) or invalid_param_type", body = ErrorBody),
        (status = 403, description = "forbidden: not an admin, a key without a user, or the requester", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "request_not_pending: approved, rejected or replaced already", body = ErrorBody),
    )
)]
pub(crate) async fn reject_limit_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::Operations)?;
    let id = request_id(&id)?;
    let form = RejectionForm::read(&body.0)?;
    let request = state
        .services
        .approvals
        .reject(&caller.principal, id, &form.reason)
        .await?;
    Reply::ok("creditLimitRequest", &LimitRequestDto::from(&request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_reads_every_property_of_its_schema() {
        crate::schema_check::readers_read_every_property(
            &[("RejectionForm", |f| RejectionForm::read(f).map(drop))],
            |_| "why",
        );
    }
}
