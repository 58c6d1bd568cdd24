//! The credit account routes under `/customers/{id}/account`: the account, its
//! limit, payments, charges, adjustments, reservations (admit, capture, release), quotes, the
//! ledger and the reservation list. Who may act on which account is the service's business.
//!
//! Every POST that moves money goes through [`crate::idempotency::once`], so an
//! `Idempotency-Key` is honoured the same way everywhere. Amounts are money in the paying
//! account's currency, so an answer needs nothing but the entry or reservation it writes.
//!
//! The account's answer is tagged ([`crate::etag`]); every write that moves the account (its
//! limit, payments, charges, adjustments, reservations and their captures and releases) takes
//! an `If-Match` naming that tag, which the store tests under the account's lock. The account
//! a reservation moves is the paying one, so for a customer billing with its parent the tag
//! it must name is the parent's account's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::credit::{CreditAccount, EntryKind, LedgerEntry, Reservation, ReservationId};
use credence_domain::listing::PageRequest;
use credence_domain::services::{LimitOutcome, ReserveRequest};

use crate::AppState;
use crate::body::{Body, authorize};
use crate::caller::Caller;
use crate::credit::dto::{
    AccountDto, AlertsDto, LedgerEntryDto, LimitChangeDto, QuoteDto, ReservationDto,
};
use crate::credit::form::{
    AdjustmentForm, AlertsForm, CaptureForm, CreditLimitForm, PostingForm, QuoteForm,
    ReservationForm,
};
use crate::credit::requests::PendingLimitDto;
use crate::dto::ListDto;
use crate::error::{ApiError, ErrorBody};
use crate::etag::{self, EntityTag};
use crate::idempotency::{at_href, once};
use crate::negotiate::Reply;
use crate::openapi::{
    AccountParams, IdempotencyKeyHeader, LedgerListParams, PageParams, ReservationListParams,
};
use crate::query::{ACCOUNT_PARAMS, LEDGER_PARAMS, PAGE_PARAMS, Params, RESERVATION_PARAMS};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{id}/account").route(web::get().to(get_account)))
        .service(
            web::resource("/customers/{id}/account/creditLimit")
                .route(web::put().to(update_credit_limit)),
        )
        .service(
            web::resource("/customers/{id}/account/creditLimitHistory")
                .route(web::get().to(list_limit_changes)),
        )
        .service(
            web::resource("/customers/{id}/account/alerts")
                .route(web::get().to(get_alerts))
                .route(web::put().to(update_alerts)),
        )
        .service(
            web::resource("/customers/{id}/account/payments").route(web::post().to(create_payment)),
        )
        .service(
            web::resource("/customers/{id}/account/charges").route(web::post().to(create_charge)),
        )
        .service(
            web::resource("/customers/{id}/account/adjustments")
                .route(web::post().to(create_adjustment)),
        )
        .service(
            web::resource("/customers/{id}/account/reservations")
                .route(web::get().to(list_reservations))
                .route(web::post().to(create_reservation)),
        )
        .service(
            web::resource("/customers/{id}/account/reservations/{rid}")
                .route(web::get().to(show_reservation)),
        )
        .service(
            web::resource("/customers/{id}/account/reservations/{rid}/capture")
                .route(web::post().to(capture_reservation)),
        )
        .service(
            web::resource("/customers/{id}/account/reservations/{rid}/release")
                .route(web::post().to(release_reservation)),
        )
        .service(
            web::resource("/customers/{id}/account/quote").route(web::post().to(quote_account)),
        )
        .service(
            web::resource("/customers/{id}/account/ledger")
                .route(web::get().to(list_ledger_entries)),
        )
        .service(
            web::resource("/customers/{id}/account/ledger/{eid}")
                .route(web::get().to(show_ledger_entry)),
        );
}

fn reservation_id(text: &str) -> Result<ReservationId, ApiError> {
    text.parse()
        .map(ReservationId)
        .map_err(|_| ApiError::invalid_param_type("reservationId"))
}

fn account_reply(account: &CreditAccount) -> Result<Reply, ApiError> {
    Reply::ok("account", &AccountDto::from(account)).map(Reply::tagged)
}

/// The tag a read of `account` carries, which an `If-Match` names.
fn account_tag(account: &CreditAccount) -> Option<EntityTag> {
    account_reply(account).ok().map(|reply| reply.tag())
}

fn entry_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid_param_type("entryId"))
}

/// An entry, and, when the answer made it (`201`), where it lives.
fn entry_reply(status: StatusCode, entry: &LedgerEntry) -> Result<Reply, ApiError> {
    let dto = LedgerEntryDto::from(entry);
    let href = dto.href.clone();
    Ok(Reply::new(status, "entry", &dto)?.located(&href))
}

/// A reservation, and, when the answer made it (`201`), where it lives.
fn reservation_reply(status: StatusCode, reservation: &Reservation) -> Result<Reply, ApiError> {
    let dto = ReservationDto::from(reservation);
    let href = dto.href.clone();
    Ok(Reply::new(status, "reservation", &dto)?.located(&href))
}

/// Payments, charges and adjustments: one use case, three routes.
async fn post_entry(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    id: &str,
    body: &Body,
    kind: EntryKind,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(id)?;
    let (value, description) = if kind == EntryKind::Adjustment {
        let form = AdjustmentForm::read(&body.0)?;
        (form.amount, Some(form.reason))
    } else {
        let form = PostingForm::read(&body.0)?;
        (form.amount, form.description)
    };
    let only_if = etag::if_match(req, false, account_tag);
    once(
        state,
        req,
        caller,
        body,
        ("entry", at_href),
        |tag| async move {
            let entry = state
                .services
                .accounts
                .post(
                    &caller.principal,
                    &key,
                    kind,
                    value,
                    description,
                    tag,
                    only_if,
                )
                .await?;
            entry_reply(StatusCode::CREATED, &entry)
        },
    )
    .await
}

/// Shows a customer's credit account, now or as it stood at `at`.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID"), AccountParams),
    responses(
        (status = 200, description = "The account", content((AccountDto = "application/json"), (AccountDto = "application/xml"))),
        (status = 400, description = "invalid_datetime_format or invalid_param", body = ErrorBody),
        (status = 403, description = "The caller's role may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found (also for an instant before the account existed)", body = ErrorBody),
    )
)]
pub(crate) async fn get_account(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let at = Params::parse(req.query_string(), ACCOUNT_PARAMS)?.instant()?;
    let key = crate::input::customer_key(&id)?;
    let accounts = &state.services.accounts;
    let account = match at {
        Some(at) => accounts.account_as_of(&caller.principal, &key, at).await?,
        None => accounts.account(&caller.principal, &key).await?,
    };
    Ok(account_reply(&account)?.unless_current(&req))
}

/// Sets the credit limit (>= 0; lowering it below the current usage blocks new orders).
///
/// With `credit_limit_approval_above` configured, a raise above that amount (in the organization
/// currency) does not apply: it answers `202` with a pending request that another admin
/// approves or rejects (`/creditLimitRequests/{id}/approve|reject`); a second one for the
/// same customer replaces it.
#[utoipa::path(
    put,
    path = "/api/v1.0/customers/{id}/account/creditLimit",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    request_body(content((CreditLimitForm = "application/json"), (CreditLimitForm = "application/x-www-form-urlencoded"), (CreditLimitForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The account", content((AccountDto = "application/json"), (AccountDto = "application/xml"))),
        (status = 202, description = "A raise above the approval threshold, waiting for another admin", content((PendingLimitDto = "application/json"), (PendingLimitDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param (negative, too many decimals) or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn update_credit_limit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let form = CreditLimitForm::read(&body.0)?;
    let only_if = etag::if_match(&req, false, account_tag);
    let outcome = state
        .services
        .approvals
        .change_limit(
            &caller.principal,
            &key,
            form.credit_limit,
            form.reason,
            only_if,
        )
        .await?;
    match outcome {
        LimitOutcome::Applied(account) => account_reply(&account),
        LimitOutcome::Pending(request) => PendingLimitDto::reply(&request),
    }
}

/// Every change of the account's credit limit, newest first: the limit before and after, who
/// set it, who approved it where an approval was needed, and why.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/creditLimitHistory",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID"), PageParams),
    responses(
        (status = 200, description = "One page of limit changes", content((ListDto<LimitChangeDto> = "application/json"), (ListDto<LimitChangeDto> = "application/xml"))),
        (status = 400, description = "invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn list_limit_changes(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let (_, page_request) = account_list_query(&caller, &req, PAGE_PARAMS)?;
    let key = crate::input::customer_key(&id)?;
    let page = state
        .services
        .accounts
        .limit_history(&caller.principal, &key, page_request)
        .await?;
    let dto = ListDto::page(req.path(), page_request, &page, LimitChangeDto::from);
    Reply::list("creditLimitHistory", "change", &dto)
}

/// Shows the account's credit alerts.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/alerts",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    responses(
        (status = 200, description = "The thresholds", content((AlertsDto = "application/json"), (AlertsDto = "application/xml"))),
        (status = 403, description = "The caller's role may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn get_alerts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let alerts = state
        .services
        .accounts
        .alerts(&caller.principal, &key)
        .await?;
    Reply::ok("alerts", &AlertsDto::new(&alerts))
}

/// Replaces the account's credit alerts: when a movement takes the available credit from at
/// least a threshold to below it, one `account.threshold_crossed` event is written in that
/// movement's transaction; the threshold fires again only after the available credit has
/// been back at or above it.
#[utoipa::path(
    put,
    path = "/api/v1.0/customers/{id}/account/alerts",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    request_body(content((AlertsForm = "application/json"), (AlertsForm = "application/x-www-form-urlencoded"), (AlertsForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The thresholds", content((AlertsDto = "application/json"), (AlertsDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param (too many decimals, more than 10 thresholds) or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn update_alerts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let form = AlertsForm::read(&body.0)?;
    let alerts = state
        .services
        .accounts
        .set_alerts(&caller.principal, &key, &form.available_below)
        .await?;
    Reply::ok("alerts", &AlertsDto::new(&alerts))
}

/// Posts a payment: the balance rises by `amount` (> 0).
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/payments",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        IdempotencyKeyHeader,
    ),
    request_body(content((PostingForm = "application/json"), (PostingForm = "application/x-www-form-urlencoded"), (PostingForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "The ledger entry", content((LedgerEntryDto = "application/json"), (LedgerEntryDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "idempotency_key_in_use", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn create_payment(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    post_entry(&state, &req, &caller, &id, &body, EntryKind::Payment).await
}

/// Posts a charge: a real cost, the balance drops by `amount` (> 0); never refused for credit.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/charges",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        IdempotencyKeyHeader,
    ),
    request_body(content((PostingForm = "application/json"), (PostingForm = "application/x-www-form-urlencoded"), (PostingForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "The ledger entry", content((LedgerEntryDto = "application/json"), (LedgerEntryDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "idempotency_key_in_use", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn create_charge(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    post_entry(&state, &req, &caller, &id, &body, EntryKind::Charge).await
}

/// Posts an adjustment: the balance moves by the signed `amount`, for a `reason`.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/adjustments",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        IdempotencyKeyHeader,
    ),
    request_body(content((AdjustmentForm = "application/json"), (AdjustmentForm = "application/x-www-form-urlencoded"), (AdjustmentForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "The ledger entry", content((LedgerEntryDto = "application/json"), (LedgerEntryDto = "application/xml"))),
        (status = 400, description = "missing_param (`reason parameter is missing`), invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "idempotency_key_in_use", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn create_adjustment(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    post_entry(&state, &req, &caller, &id, &body, EntryKind::Adjustment).await
}

/// How a reservation is closed by hand.
#[derive(Clone, Copy)]
enum Settlement {
    /// All of it, or the body's `amount`.
    Capture,
    Release,
}

/// Captures and releases: one use case, two routes. The path is read first, then a capture's
/// body.
async fn settle(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    (id, rid): (String, String),
    body: &Body,
    settlement: Settlement,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let rid = reservation_id(&rid)?;
    let captured = match settlement {
        Settlement::Capture => Some(CaptureForm::read(&body.0)?.amount),
        Settlement::Release => None,
    };
    let only_if = etag::if_match(req, false, account_tag);
    once(
        state,
        req,
        caller,
        body,
        ("reservation", at_href),
        |tag| async {
            let accounts = &state.services.accounts;
            let principal = &caller.principal;
            let reservation = match captured {
                Some(amount) => {
                    accounts
                        .capture(principal, &key, rid, amount, tag, only_if)
                        .await?
                }
                None => accounts.release(principal, &key, rid, tag, only_if).await?,
            };
            reservation_reply(StatusCode::OK, &reservation)
        },
    )
    .await
}

/// Admits a cost against the paying account and reserves it, or refuses it (`422`).
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/reservations",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        IdempotencyKeyHeader,
    ),
    request_body(content((ReservationForm = "application/json"), (ReservationForm = "application/x-www-form-urlencoded"), (ReservationForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "Admitted", content((ReservationDto = "application/json"), (ReservationDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found (customer or currency)", body = ErrorBody),
        (status = 409, description = "idempotency_key_in_use", body = ErrorBody),
        (status = 422, description = "credit_limit_exceeded (with `available` and `requested`), customer_on_hold, customer_inactive or idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn create_reservation(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let form = ReservationForm::read(&body.0)?;
    let request = ReserveRequest {
        amount: form.amount,
        currency: form.currency,
        description: form.description,
        expires_in: form.expires_in,
        idempotency: None,
    };
    let only_if = etag::if_match(&req, false, account_tag);
    let state = &state;
    once(
        state,
        &req,
        &caller,
        &body,
        ("reservation", at_href),
        |tag| async {
            let answer = state
                .services
                .accounts
                .reserve(
                    &caller.principal,
                    &key,
                    ReserveRequest {
                        idempotency: tag,
                        ..request
                    },
                    only_if,
                )
                .await
                .map_err(ApiError::from);
            let reservation = state.config.metrics.admitting(answer)?;
            reservation_reply(StatusCode::CREATED, &reservation)
        },
    )
    .await
}

/// Captures an open reservation: all of it, or `amount` (at most what it holds; the rest is
/// released).
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/reservations/{rid}/capture",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("rid" = i64, Path, description = "The reservation's id"),
        IdempotencyKeyHeader,
    ),
    request_body(content((CaptureForm = "application/json"), (CaptureForm = "application/x-www-form-urlencoded"), (CaptureForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Captured", content((ReservationDto = "application/json"), (ReservationDto = "application/xml"))),
        (status = 400, description = "invalid_param (more than reserved) or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found (customer or reservation)", body = ErrorBody),
        (status = 409, description = "reservation_closed or idempotency_key_in_use", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn capture_reservation(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<Reply, ApiError> {
    settle(
        &state,
        &req,
        &caller,
        path.into_inner(),
        &body,
        Settlement::Capture,
    )
    .await
}

/// Releases an open reservation: it stops counting against the available credit.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/reservations/{rid}/release",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("rid" = i64, Path, description = "The reservation's id"),
        IdempotencyKeyHeader,
    ),
    responses(
        (status = 200, description = "Released", content((ReservationDto = "application/json"), (ReservationDto = "application/xml"))),
        (status = 404, description = "not_found (customer or reservation)", body = ErrorBody),
        (status = 409, description = "reservation_closed or idempotency_key_in_use", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    )
)]
pub(crate) async fn release_reservation(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<Reply, ApiError> {
    settle(
        &state,
        &req,
        &caller,
        path.into_inner(),
        &body,
        Settlement::Release,
    )
    .await
}

/// Whether a cost would be admitted now and what would remain; writes nothing.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/account/quote",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    request_body(content((QuoteForm = "application/json"), (QuoteForm = "application/x-www-form-urlencoded"), (QuoteForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The quote", content((QuoteDto = "application/json"), (QuoteDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found (customer or currency)", body = ErrorBody),
        (status = 422, description = "customer_on_hold or customer_inactive", body = ErrorBody),
    )
)]
pub(crate) async fn quote_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let form = QuoteForm::read(&body.0)?;
    let quote = state
        .services
        .accounts
        .quote(&caller.principal, &key, form.amount, form.currency)
        .await?;
    Reply::ok("quote", &QuoteDto::from(&quote))
}

/// One page of the customer's ledger, oldest first, narrowed by the time of writing and the
/// entry's kind if asked.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/ledger",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID"), LedgerListParams),
    responses(
        (status = 200, description = "One page of entries", content((ListDto<LedgerEntryDto> = "application/json"), (ListDto<LedgerEntryDto> = "application/xml"))),
        (status = 400, description = "invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn list_ledger_entries(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let (params, page_request) = account_list_query(&caller, &req, LEDGER_PARAMS)?;
    let filter = params.ledger_filter()?;
    let key = crate::input::customer_key(&id)?;
    let page = state
        .services
        .accounts
        .ledger(&caller.principal, &key, filter, page_request)
        .await?;
    let tail = params.filter_tail();
    let dto = ListDto::filtered(req.path(), &tail, page_request, &page, LedgerEntryDto::from);
    Reply::list("ledger", "entry", &dto)
}

/// One entry of the customer's ledger.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/ledger/{eid}",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("eid" = i64, Path, description = "The ledger entry's id"),
    ),
    responses(
        (status = 200, description = "The entry", content((LedgerEntryDto = "application/json"), (LedgerEntryDto = "application/xml"))),
        (status = 404, description = "not_found (customer, or no such entry in its ledger)", body = ErrorBody),
    )
)]
pub(crate) async fn show_ledger_entry(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    // The caller's role first, as the account's lists answer it.
    authorize(&caller, Function::BackOffice)?;
    let (id, eid) = path.into_inner();
    let key = crate::input::customer_key(&id)?;
    let eid = entry_id(&eid)?;
    let entry = state
        .services
        .accounts
        .entry(&caller.principal, &key, eid)
        .await?;
    entry_reply(StatusCode::OK, &entry)
}

/// One reservation held on the customer's paying account.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/reservations/{rid}",
    tag = "accounts",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("rid" = i64, Path, description = "The reservation's id"),
    ),
    responses(
        (status = 200, description = "The reservation", content((ReservationDto = "application/json"), (ReservationDto = "application/xml"))),
        (status = 404, description = "not_found (customer, or no such reservation on its paying account)", body = ErrorBody),
    )
)]
pub(crate) async fn show_reservation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let (id, rid) = path.into_inner();
    let key = crate::input::customer_key(&id)?;
    let rid = reservation_id(&rid)?;
    let reservation = state
        .services
        .accounts
        .reservation(&caller.principal, &key, rid)
        .await?;
    reservation_reply(StatusCode::OK, &reservation)
}

/// One page of the reservations held on the customer's paying account, newest first,
/// narrowed by the time of admission if asked.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/reservations",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID"), ReservationListParams),
    responses(
        (status = 200, description = "One page of reservations", content((ListDto<ReservationDto> = "application/json"), (ListDto<ReservationDto> = "application/xml"))),
        (status = 400, description = "invalid_param or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn list_reservations(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let (params, page_request) = account_list_query(&caller, &req, RESERVATION_PARAMS)?;
    let filter = params.reservation_filter()?;
    let key = crate::input::customer_key(&id)?;
    let page = state
        .services
        .accounts
        .reservations(&caller.principal, &key, filter, page_request)
        .await?;
    let tail = params.filter_tail();
    let dto = ListDto::filtered(req.path(), &tail, page_request, &page, ReservationDto::from);
    Reply::list("reservations", "reservation", &dto)
}

/// The query string of a per-account list, which may hold only `allowed`, and its page. The checks run in
/// the order every list answers them: the caller's role, the query parameters (the page,
/// then the list's filters), then the customer's id.
fn account_list_query(
    caller: &Caller,
    req: &HttpRequest,
    allowed: &[&str],
) -> Result<(Params, PageRequest), ApiError> {
    authorize(caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), allowed)?;
    let page = params.page()?;
    Ok((params, page))
}
