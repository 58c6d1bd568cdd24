//! Every failure the API can answer, in one shape: a status and
//! `{"error": code, "error_description": text}`.
//!
//! Each domain error enum has one exhaustive `From` impl here, so a new variant fails to
//! compile until someone decides its status. Store failures are the only place a `500` is
//! made: the cause chain goes to the log, the client gets an opaque text. The JSON
//! body is written by [`ResponseError`]; the negotiation middleware re-renders it as XML
//! (from the [`ErrorBody`] left in the response's extensions) when the client prefers XML.
//! A credit refusal adds the two amounts the client needs to decide what to do next
//! (`available`, `requested`), as exact numbers; every other error omits them. An error made
//! of several problems (a task template's failing attributes) keeps each as a detail: the
//! back office shows their texts joined in `error_description`, the marketplace envelope one
//! `errors[]` entry per detail.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use credence_domain::ports::StoreError;
use credence_domain::services::{
    CreateCustomerError, DeleteCustomerError, DeleteRecordError, GetCustomerError, GetRecordError,
    ListCustomersError, ListRecordsError, ManageKeysError, ProjectError, SaveRecordError,
    UpdateCustomerError,
};
use credence_domain::services::{CreditError, DocumentError, OrderError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code (`not_found`, `invalid_param`, ...).
    #[schema(example = "not_found")]
    pub error: String,
    /// Human-readable description, safe to show.
    #[schema(example = "The customer with the id 2559 doesn't exist.")]
    pub error_description: String,
    /// `credit_limit_exceeded` only: the credit available, exact, in the account currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>, example = 12.00)]
    pub available: Option<Box<Value>>,
    /// `credit_limit_exceeded` only: the amount asked for, in the account currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>, example = 50.00)]
    pub requested: Option<Box<Value>>,
    /// Separate problems (`code`, `message`) for the marketplace's `errors[]`; never written
    /// in the plain error shape, whose description already joins their texts.
    #[serde(skip)]
    pub details: Vec<(String, String)>,
}

/// An error answer: a status and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Whole seconds for `Retry-After`: every `503` has one (a client or a load balancer
    /// should come back rather than give up), a `429` says when its bucket has a token again.
    retry_after: Option<u64>,
}

impl ApiError {
    /// Any status, code and description.
    pub fn new(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1),
            body: ErrorBody {
                error: code.to_owned(),
                error_description: description.into(),
                available: None,
                requested: None,
                details: Vec::new(),
            },
        }
    }

    /// `409 idempotency_key_in_use`: the first request with this key is still running.
    pub fn idempotency_key_in_use() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still being processed; retry later.",
        )
    }

    /// `422 idempotency_key_reused`: the key was used with another request.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with another request.",
        )
    }

    /// `400 invalid_param`.
    pub fn invalid_param(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_param", description)
    }

    /// `400 invalid_param_type` naming a parameter.
    pub fn invalid_param_type(name: &'static str) -> Self {
        crate::wording::WireError::InvalidType(name).into()
    }

    /// `400 invalid_param` listing the query parameters this route does not know.
    pub fn unknown_params(names: &[String]) -> Self {
        Self::invalid_param(format!(
            "The parameters [{}] you provided are not valid for this request.",
            names.join(", ")
        ))
    }

    /// `400 invalid_datetime_format` naming the value.
    pub fn invalid_datetime(value: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_datetime_format",
            format!("Invalid datetime filter (not ISO-8601 formatted): [{value}]"),
        )
    }

    /// `404 not_found`.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// `404 not_found` for a path no route matches.
    pub fn no_route(path: &str) -> Self {
        Self::not_found(format!("The resource {path} doesn't exist."))
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("The method {method} is not allowed on {path}."),
        )
    }

    /// `413 payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    /// `415 unsupported_media_type`.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "The content type {content_type} is not supported: use application/json, \
                 application/x-www-form-urlencoded or multipart/form-data."
            ),
        )
    }

    /// `400 delete_failed`.
    pub fn delete_failed() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "delete_failed",
            "Failed to delete instance.",
        )
    }

    /// `401 unauthorized`: no usable credentials; the response carries a `WWW-Authenticate`
    /// challenge.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication is required: send an API key as a Bearer token, an API-Key header or a Basic password.",
        )
    }

    /// `403 forbidden`: credentials that match no live API key.
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The API key is not valid.",
        )
    }

    /// `403 forbidden`: the caller is known, but its role may not use the function.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            credence_domain::services::FORBIDDEN,
        )
    }

    /// `400 not_unique`.
    pub fn not_unique() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "not_unique",
            "reference already used",
        )
    }

    /// `412 precondition_failed`: the resource no longer matches the request's `If-Match`.
    pub fn precondition_failed(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            description,
        )
    }

    /// `503 request_timeout`: the request outlived the deadline while the server worked on it.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!(
                "The request took longer than {} s; please retry.",
                limit.as_secs()
            ),
        )
    }

    /// `408 request_timeout`: the deadline passed while the client was still sending the body,
    /// so the wait was the client's, not the server's.
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "The request body did not arrive within {} s.",
                limit.as_secs()
            ),
        )
    }

    /// `503 overloaded`: more requests are being processed than the server takes at once.
    /// Answered at once, so a client can retry elsewhere instead of waiting in a queue.
    pub fn overloaded() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "The server is processing as many requests as it can; please retry in a moment.",
        )
    }

    /// `429 rate_limited`, with `Retry-After` rounded up to whole seconds (at least 1).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests; retry after the number of seconds in Retry-After.",
        );
        error.retry_after = Some(seconds.max(1));
        error
    }

    /// `503 service_unavailable`.
    pub fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable, please retry.",
        )
    }

    /// An opaque `500 server_error`; the cause chain is logged, never sent.
    pub fn server_error(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error.cause_chain = %Chain(cause), error.message = %cause, "request failed unexpectedly");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Oops! Something went wrong...",
        )
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// The `Retry-After` seconds, if the answer carries one.
    #[must_use]
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// Adds the headers this error implies to a response rendered for it elsewhere (in
    /// another face or format): the `WWW-Authenticate` challenge of a `401`, `Retry-After`.
    pub(crate) fn add_headers(&self, response: &mut HttpResponse) {
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"credence\", Basic realm=\"credence\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
}

/// Writes an error and its sources, one per line (zero-to-production's `error_chain_fmt`).
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.body.error,
            self.body.error_description
        )
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = crate::negotiate::render(
            self.status,
            "error",
            None,
            &self.body,
            crate::negotiate::Format::Json,
        );
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept"));
        self.add_headers(&mut response);
        response.extensions_mut().insert(self.body.clone());
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::Unavailable(_) => {
                tracing::warn!(error.cause_chain = %Chain(&error), "a retryable store failure");
                Self::service_unavailable()
            }
            StoreError::Unexpected(_) => Self::server_error(&error),
        }
    }
}

impl From<ListCustomersError> for ApiError {
    fn from(error: ListCustomersError) -> Self {
        match error {
            ListCustomersError::Forbidden => Self::forbidden(),
            ListCustomersError::Store(e) => e.into(),
        }
    }
}

impl From<GetCustomerError> for ApiError {
    fn from(error: GetCustomerError) -> Self {
        match error {
            GetCustomerError::Forbidden => Self::forbidden(),
            GetCustomerError::NotFound(_) | GetCustomerError::LogoNotFound(_) => {
                Self::not_found(error.to_string())
            }
            GetCustomerError::Store(e) => e.into(),
        }
    }
}

impl From<CreateCustomerError> for ApiError {
    fn from(error: CreateCustomerError) -> Self {
        match error {
            CreateCustomerError::Forbidden => Self::forbidden(),
            CreateCustomerError::Input(e) => e.into(),
            CreateCustomerError::DuplicateReference => Self::not_unique(),
            CreateCustomerError::Store(e) => e.into(),
        }
    }
}

impl From<UpdateCustomerError> for ApiError {
    fn from(error: UpdateCustomerError) -> Self {
        match error {
            UpdateCustomerError::Forbidden => Self::forbidden(),
            UpdateCustomerError::NotFound(_) => Self::not_found(error.to_string()),
            UpdateCustomerError::Input(e) => e.into(),
            UpdateCustomerError::DuplicateReference => Self::not_unique(),
            UpdateCustomerError::Changed => Self::precondition_failed(error.to_string()),
            UpdateCustomerError::Store(e) => e.into(),
        }
    }
}

impl From<ProjectError> for ApiError {
    fn from(error: ProjectError) -> Self {
        match error {
            ProjectError::Forbidden => Self::forbidden(),
            ProjectError::CustomerNotFound(_) | ProjectError::ProjectNotFound(_) => {
                Self::not_found(error.to_string())
            }
            ProjectError::Input(e) => e.into(),
            ProjectError::DuplicateReference => Self::not_unique(),
            ProjectError::Changed => Self::precondition_failed(error.to_string()),
            ProjectError::Store(e) => e.into(),
        }
    }
}

impl From<DocumentError> for ApiError {
    fn from(error: DocumentError) -> Self {
        match error {
            DocumentError::Forbidden => Self::forbidden(),
            DocumentError::CustomerNotFound(_) | DocumentError::DocumentNotFound(_) => {
                Self::not_found(error.to_string())
            }
            DocumentError::TooLarge { .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                error.to_string(),
            ),
            DocumentError::TooMany { .. } => Self::invalid_param(error.to_string()),
            DocumentError::Input(e) => e.into(),
            DocumentError::Store(e) => e.into(),
        }
    }
}

impl From<DeleteCustomerError> for ApiError {
    fn from(error: DeleteCustomerError) -> Self {
        match error {
            DeleteCustomerError::Forbidden => Self::forbidden(),
            DeleteCustomerError::NotFound(_) => Self::not_found(error.to_string()),
            DeleteCustomerError::HasSubCustomers => Self::delete_failed(),
            DeleteCustomerError::Changed => Self::precondition_failed(error.to_string()),
            DeleteCustomerError::Store(e) => e.into(),
        }
    }
}

impl From<ListRecordsError> for ApiError {
    fn from(error: ListRecordsError) -> Self {
        match error {
            ListRecordsError::Forbidden => Self::forbidden(),
            ListRecordsError::Store(e) => e.into(),
        }
    }
}

impl From<GetRecordError> for ApiError {
    fn from(error: GetRecordError) -> Self {
        match error {
            GetRecordError::Forbidden => Self::forbidden(),
            GetRecordError::NotFound { .. } => Self::not_found(error.to_string()),
            GetRecordError::Store(e) => e.into(),
        }
    }
}

impl From<SaveRecordError> for ApiError {
    fn from(error: SaveRecordError) -> Self {
        match error {
            SaveRecordError::Forbidden => Self::forbidden(),
            SaveRecordError::NotFound { .. } => Self::not_found(error.to_string()),
            SaveRecordError::Input(e) => e.into(),
            SaveRecordError::DuplicateReference => Self::not_unique(),
            // Only when a change kept being overtaken: the client may send it again.
            SaveRecordError::Changed(_) => StoreError::Unavailable(Box::new(error)).into(),
            SaveRecordError::Store(e) => e.into(),
        }
    }
}

impl From<DeleteRecordError> for ApiError {
    fn from(error: DeleteRecordError) -> Self {
        match error {
            DeleteRecordError::Forbidden => Self::forbidden(),
            DeleteRecordError::NotFound { .. } => Self::not_found(error.to_string()),
            DeleteRecordError::Refused => Self::delete_failed(),
            DeleteRecordError::Store(e) => e.into(),
        }
    }
}

impl From<ManageKeysError> for ApiError {
    fn from(error: ManageKeysError) -> Self {
        match error {
            ManageKeysError::Forbidden => Self::forbidden(),
            ManageKeysError::NotFound { .. } => Self::not_found(error.to_string()),
            ManageKeysError::Input(e) => e.into(),
            ManageKeysError::Store(e) => e.into(),
        }
    }
}

impl From<CreditError> for ApiError {
    fn from(error: CreditError) -> Self {
        let unprocessable = |code: &str, error: &CreditError| {
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
        };
        match error {
            CreditError::Forbidden => Self::forbidden(),
            CreditError::NotFound(_)
            | CreditError::NotYetOpen(_)
            | CreditError::ReservationNotFound(_)
            | CreditError::EntryNotFound(_) => Self::not_found(error.to_string()),
            CreditError::ReservationClosed(_) => Self::new(
                StatusCode::CONFLICT,
                "reservation_closed",
                error.to_string(),
            ),
            CreditError::Input(e) => e.into(),
            CreditError::Refused {
                available,
                requested,
            } => {
                let mut refused = unprocessable("credit_limit_exceeded", &error);
                refused.body.available = Some(Box::new(crate::dto::exact(available.amount())));
                refused.body.requested = Some(Box::new(crate::dto::exact(requested.amount())));
                refused
            }
            CreditError::OnHold(_) => unprocessable("customer_on_hold", &error),
            CreditError::Inactive => unprocessable("customer_inactive", &error),
            CreditError::Changed => Self::precondition_failed(error.to_string()),
            CreditError::Store(e) => e.into(),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Forbidden => Self::forbidden(),
            OrderError::NotFound { .. } => Self::not_found(error.to_string()),
            OrderError::Input(e) => e.into(),
            OrderError::Attributes(ref problems) => {
                let details = problems
                    .iter()
                    .map(|p| ("invalid_attribute".to_owned(), p.to_string()))
                    .collect();
                let mut invalid = Self::invalid_param(error.to_string());
                invalid.body.details = details;
                invalid
            }
            OrderError::ProductUnavailable(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "product_unavailable",
                error.to_string(),
            ),
            OrderError::Changed(_) => Self::precondition_failed(error.to_string()),
            OrderError::Credit(e) => e.into(),
            OrderError::Transition(e) => {
                Self::new(StatusCode::CONFLICT, "invalid_transition", e.to_string())
            }
            OrderError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::input::InputError;

    #[test]
    fn input_errors_keep_the_domain_texts_and_pick_the_status() {
        let missing: ApiError = crate::wording::WireError::Missing("reference").into();
        assert_eq!(
            (missing.status(), missing.body().error.as_str()),
            (StatusCode::BAD_REQUEST, "missing_param")
        );
        assert_eq!(
            missing.body().error_description,
            "reference parameter is missing"
        );
        let currency: ApiError = InputError::UnknownCurrency("GmBP".into()).into();
        assert_eq!(
            (currency.status(), currency.body().error.as_str()),
            (StatusCode::NOT_FOUND, "not_found")
        );
        assert_eq!(
            currency.body().error_description,
            "The currency with name GmBP doesn't exist."
        );
    }

    #[test]
    fn unexpected_store_failures_are_opaque() {
        let error: ApiError = StoreError::Unexpected("disk on fire".into()).into();
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            error.body().error_description,
            "Oops! Something went wrong..."
        );
    }

    #[test]
    fn credit_errors_pick_their_status_and_code() {
        use credence_domain::credit::ReservationId;
        let cases: [(CreditError, StatusCode, &str); 5] = [
            (
                CreditError::OnHold(Some("unpaid invoices".into())),
                StatusCode::UNPROCESSABLE_ENTITY,
                "customer_on_hold",
            ),
            (
                CreditError::Inactive,
                StatusCode::UNPROCESSABLE_ENTITY,
                "customer_inactive",
            ),
            (
                CreditError::ReservationNotFound(ReservationId(4)),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                CreditError::ReservationClosed(ReservationId(4)),
                StatusCode::CONFLICT,
                "reservation_closed",
            ),
            (CreditError::Forbidden, StatusCode::FORBIDDEN, "forbidden"),
        ];
        for (error, status, code) in cases {
            let api: ApiError = error.into();
            assert_eq!((api.status(), api.body().error.as_str()), (status, code));
            assert_eq!(api.body().available, None);
        }
        let on_hold: ApiError = CreditError::OnHold(Some("unpaid invoices".into())).into();
        assert!(on_hold.body().error_description.contains("unpaid invoices"));
    }
}
