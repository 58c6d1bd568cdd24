//! The marketplace face, for customers: `GET customer` answers the caller's own
//! account. There is no id in the URI: the account is the one the credentials are bound to.
//! Errors are turned into `customer_response` envelopes by the scope's
//! [`envelope_errors`](crate::negotiate::envelope_errors) middleware.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde_json::Value;

use crate::AppState;
use crate::caller::Caller;
use crate::catalog::marketplace_dto::{CustomerEnvelopeDto, customer_view};
use crate::error::ApiError;
use crate::negotiate::{Format, Reply};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customer").route(web::get().to(get_marketplace_customer)));
}

/// Shows the caller's own account: balance, reserved amount, credit limit and currency.
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/customer",
    tag = "marketplace",
    responses(
        (status = 200, description = "The caller's account, in a `customer_response` envelope", content((CustomerEnvelopeDto = "application/json"), (CustomerEnvelopeDto = "application/xml"))),
        (status = 401, description = "No usable credentials (`request_status` with code 401)", body = CustomerEnvelopeDto),
        (status = 403, description = "The credentials match no registered customer", body = CustomerEnvelopeDto),
        (status = 404, description = "The caller is bound to no customer", body = CustomerEnvelopeDto),
    )
)]
pub(crate) async fn get_marketplace_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let account = state
        .services
        .accounts
        .own_account(&caller.principal)
        .await?;
    let format = Format::of(&req);
    let view = customer_view(&account, format).map_err(|e| ApiError::server_error(&e))?;
    Ok(match format {
        Format::Json => Reply::from_value(StatusCode::OK, "customer_response", view),
        Format::Xml => Reply::per_format(StatusCode::OK, "customer_response", Value::Null, view),
    })
}
