//! Routing: which handler answers which method and path, the app data, the extractor error
//! handlers and the fallbacks. Handlers themselves live in their capability's folder
//! (`customers/`, `credit/`, `catalog/`, `documents/`, `access/`; the health probes in
//! [`crate::health`]) and are thin: parse, call one service method with the caller's
//! principal, convert to a DTO, reply.
//!
//! The two API scopes share one middleware chain, composed here and nowhere else, so no
//! handler knows of it. From the outside in:
//!
//! 1. the face's error renderer (`negotiate_errors` or `envelope_errors`), so every answer
//!    below, a `429` or `503` included, comes in the face's shape and the client's format,
//!    with its `Retry-After` and `WWW-Authenticate` kept;
//! 2. load shedding ([`crate::shed`]): past `max_in_flight`, `503 overloaded` at once;
//! 3. the deadline ([`crate::deadline`]): `408` for a body still arriving, `503` else;
//! 4. authentication and rate limits ([`crate::authn`]), before any extractor reads the body;
//! 5. in the back office, its roles ([`crate::authn::back_office`]): a customer key is `403`
//!    on every route but `GET /customers/me`, whatever its path, query or body hold;
//! 6. characters a path may not carry ([`crate::strict`]): `400` naming the segment;
//! 7. the handler, whose body extractor checks the caller's role before reading the body.
//!
//! Health probes, metrics, the OpenAPI document and the Swagger UI sit outside that chain:
//! they are never shed, rate limited or authenticated (metrics may ask for their own key).
//! A customer's logo goes through the chain without a key: its URL is the credential.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};
use credence_domain::access::scope::Function;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::body::Requires;
use crate::error::ApiError;
use crate::negotiate::{Format, envelope_errors, negotiate_errors, render};
use crate::{
    AppState, HttpConfig, access, catalog, credit, customers, documents, events, health, webhooks,
};

/// Registers everything (see [`crate::configure`]).
pub(crate) fn register(
    cfg: &mut web::ServiceConfig,
    state: web::Data<AppState>,
    config: &HttpConfig,
) {
    let limit = config.body_limit;
    cfg.app_data(state)
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(move |e, _| json_error(e, limit).into()),
        )
        .app_data(
            web::FormConfig::default()
                .limit(limit)
                .error_handler(move |e, _| form_error(e, limit).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(&e).into()))
        .app_data(web::PathConfig::default().error_handler(|e, _| path_error(&e).into()))
        .app_data(web::PayloadConfig::new(limit))
        .service(
            // A logo's URL is its own credential (decision 0036): an `<img src>` sends no key.
            // Registered before its scope, so it matches first; the chain is the scope's but
            // for authentication, where each `404` is charged to the address instead.
            web::resource("/api/v1.0/customers/{id}/logo/{file}")
                .wrap(from_fn(crate::strict::strict_path))
                .wrap(from_fn(crate::authn::capability))
                .wrap(from_fn(crate::deadline::deadline))
                .wrap(from_fn(crate::shed::shed))
                .wrap(from_fn(negotiate_errors))
                .route(web::get().to(documents::handlers::get_customer_logo)),
        )
        .service(
            // The chain, innermost first (see the module docs): path characters, the back
            // office's roles, authentication and rate limits, the deadline, shedding, errors
            // for the face.
            web::scope("/api/v1.0")
                // Request bodies here are for the back office: its roles are checked first.
                .app_data(Requires(Function::BackOffice))
                .wrap(from_fn(crate::strict::strict_path))
                .wrap(from_fn(crate::authn::back_office))
                .wrap(from_fn(crate::authn::authn))
                .wrap(from_fn(crate::deadline::deadline))
                .wrap(from_fn(crate::shed::shed))
                .wrap(from_fn(negotiate_errors))
                .configure(customers::import::register)
                .configure(customers::handlers::register)
                .configure(documents::handlers::register)
                .configure(credit::handlers::register)
                .configure(credit::statement::register)
                .configure(credit::overview::register)
                .configure(credit::requests::register)
                .configure(customers::records::categories::register)
                .configure(customers::records::segmentations::register)
                .configure(customers::records::payment_types::register)
                .configure(customers::records::regions::register)
                .configure(customers::records::currencies::register)
                .configure(customers::records::users::register)
                .configure(access::handlers::register)
                .configure(events::handlers::register)
                .configure(webhooks::handlers::register)
                .configure(catalog::products::register),
        )
        .service(
            // The marketplace renders its errors as `<x>_response` envelopes, not the back office's.
            web::scope("/api/marketplace/v2")
                .wrap(from_fn(crate::strict::strict_path))
                .wrap(from_fn(crate::authn::authn))
                .wrap(from_fn(crate::deadline::deadline))
                .wrap(from_fn(crate::shed::shed))
                .wrap(from_fn(envelope_errors))
                .configure(catalog::marketplace::register)
                .configure(catalog::orders::register)
                .default_service(web::to(no_route)),
        )
        .service(
            web::scope("/health")
                .wrap(from_fn(negotiate_errors))
                .configure(health::register),
        )
        .route("/metrics", web::get().to(crate::metrics::metrics))
        .route("/docs", web::get().to(redirect_docs))
        .service(
            web::resource(OPENAPI_PATH)
                .guard(actix_web::guard::Get())
                .to(openapi_json),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new([OPENAPI_PATH])))
        .default_service(web::to(no_route));
}

/// Where the OpenAPI document is served (the Swagger UI reads it there).
const OPENAPI_PATH: &str = "/openapi.json";

/// The OpenAPI document, rendered once for the process. Each worker builds its routes, and
/// building the document per worker (as the Swagger UI's own route would, keeping it to
/// render on every request) left tens of MiB of the heap touched for good.
async fn openapi_json() -> HttpResponse {
    static RENDERED: std::sync::OnceLock<web::Bytes> = std::sync::OnceLock::new();
    let body = RENDERED.get_or_init(|| {
        web::Bytes::from(serde_json::to_vec(&crate::openapi()).unwrap_or_default())
    });
    HttpResponse::Ok()
        .content_type(actix_web::mime::APPLICATION_JSON)
        .body(body.clone())
}

async fn redirect_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The JSON 404 of every path no route matches.
async fn no_route(req: HttpRequest) -> HttpResponse {
    let error = ApiError::no_route(req.path());
    let mut response = render(
        StatusCode::NOT_FOUND,
        "error",
        None,
        error.body(),
        Format::of(&req),
    );
    response.extensions_mut().insert(error.body().clone());
    response
}

fn json_error(error: JsonPayloadError, limit: usize) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::payload_too_large(limit)
        }
        JsonPayloadError::ContentType => ApiError::unsupported_media_type("(not JSON)"),
        e => ApiError::invalid_param(format!("The request body is not valid JSON: {e}.")),
    }
}

fn form_error(error: UrlencodedError, limit: usize) -> ApiError {
    match error {
        UrlencodedError::Overflow { .. } => ApiError::payload_too_large(limit),
        UrlencodedError::ContentType => ApiError::unsupported_media_type("(not a form)"),
        e => ApiError::invalid_param(format!("The request body is not a valid form: {e}.")),
    }
}

fn query_error(error: &QueryPayloadError) -> ApiError {
    ApiError::invalid_param(format!(
        "The query string is not valid for this request: {error}."
    ))
}

fn path_error(_: &PathError) -> ApiError {
    ApiError::invalid_param_type("id")
}
