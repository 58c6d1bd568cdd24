//! A customer's `ETag`, and the conditional requests that compare it (see [`crate::etag`]).
//!
//! A write with `If-Match` reads the customer as it is now and compares its tag; when it
//! matches, the write names the revision it compared, and the store changes the row only
//! while it is still at that revision. A second writer holding the same tag is refused with
//! `412`, whichever of the two reads first: no change is written over another.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use credence_domain::customers::service::{GetCustomerError, UpdateCustomerError};
use credence_domain::customers::{Customer, CustomerKey, Revision};

use crate::AppState;
use crate::caller::Caller;
use crate::customers::dto::CustomerDto;
use crate::error::ApiError;
use crate::etag::Condition;
use crate::negotiate::Reply;

/// Where customers live.
pub(super) const CUSTOMERS: &str = "/api/v1.0/customers";

/// A customer's answer, with its `ETag` (and `Location` when it was created).
pub(super) fn customer_reply(
    state: &AppState,
    status: StatusCode,
    customer: &Customer,
) -> Result<Reply, ApiError> {
    let dto = CustomerDto::new(customer, &state.services.customers.settings().organization);
    Ok(Reply::new(status, "customer", &dto)?
        .located_in(CUSTOMERS)
        .tagged())
}

/// A read's answer: `304 Not Modified`, without a body, while the client's copy is current
/// (`If-None-Match`).
pub(super) fn read_reply(
    state: &AppState,
    req: &HttpRequest,
    customer: &Customer,
) -> Result<Reply, ApiError> {
    Ok(customer_reply(state, StatusCode::OK, customer)?.unless_current(req))
}

/// Whether a write may go ahead under its `If-Match`, and at which revision: `None` without
/// the header (the write merges onto whatever it reads), or with `*` and a customer that
/// exists. A route that would otherwise create the customer (`creates`) fails the condition
/// when it finds none; the others answer `404` as they would without the header.
///
/// # Errors
/// `412 precondition_failed` when no tag matches; what reading the customer answers.
pub(super) async fn expected_revision(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    key: &CustomerKey,
    creates: bool,
) -> Result<Option<Revision>, ApiError> {
    let Some(condition) = Condition::if_match(req) else {
        return Ok(None);
    };
    let current = match state.services.customers.get(&caller.principal, key).await {
        Ok(customer) => customer,
        Err(GetCustomerError::NotFound(_)) if creates => return Err(changed()),
        Err(GetCustomerError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if condition == Condition::Any {
        return Ok(None);
    }
    let tag = customer_reply(state, StatusCode::OK, &current)?.tag();
    if condition.matches_strongly(&tag) {
        Ok(Some(current.revision))
    } else {
        Err(changed())
    }
}

fn changed() -> ApiError {
    UpdateCustomerError::Changed.into()
}
