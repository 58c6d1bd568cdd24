//! The back office's catalog: operators manage products under `/api/v1.0/products` (the
//! marketplace's detail representation plus the unit `price` and its `currency`; `DELETE`
//! withdraws, so the product stays readable by URI) and drive task states with
//! `POST /api/v1.0/tasks/{id}/state`. Admins only: the service decides, and the body
//! extractor asks first ([`Requires`]), so another role gets `403` whatever it sent. Bodies
//! and errors have the back office's usual shapes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::catalog::{Product, TaskId};

use crate::AppState;
use crate::body::{Body, Requires, authorize};
use crate::caller::Caller;
use crate::catalog::dto::{BackOfficeProductDto, TaskDto};
use crate::catalog::form::TaskStateForm;
use crate::catalog::input::ProductForm;
use crate::dto::{ListDto, SuccessDto};
use crate::error::{ApiError, ErrorBody};
use crate::etag::{self, EntityTag};
use crate::negotiate::Reply;
use crate::openapi::PageParams;
use crate::query::{PAGE_PARAMS, Params, paging};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/products").route(web::get().to(list_all_products)))
        .service(
            web::resource("/products/{code}")
                .app_data(Requires(Function::Operations))
                .route(web::get().to(get_any_product))
                .route(web::post().to(save_product))
                .route(web::put().to(replace_product))
                .route(web::delete().to(withdraw_product)),
        )
        .service(
            web::resource("/tasks/{id}/state")
                .app_data(Requires(Function::Operations))
                .route(web::post().to(set_task_state)),
        );
}

/// Lists every product, withdrawn ones included, ordered by code.
#[utoipa::path(
    get,
    path = "/api/v1.0/products",
    tag = "products",
    params(PageParams),
    responses(
        (status = 200, description = "A page of products", content((ListDto<BackOfficeProductDto> = "application/json"), (ListDto<BackOfficeProductDto> = "application/xml"))),
        (status = 400, description = "An unknown parameter or a bad page", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    )
)]
pub(crate) async fn list_all_products(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::Operations)?;
    let params = Params::parse(req.query_string(), PAGE_PARAMS)?;
    let page = params.page()?;
    let products = state
        .services
        .orders
        .products(&caller.principal, true)
        .await?;
    let total = u64::try_from(products.len()).unwrap_or(u64::MAX);
    let data = products
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.max()).unwrap_or(usize::MAX))
        .map(BackOfficeProductDto::from)
        .collect();
    let dto = ListDto {
        paging: paging("/api/v1.0/products", page, total, ""),
        data,
    };
    Reply::list("products", "product", &dto)
}

/// Shows a product, withdrawn or not, with its price: admins only.
#[utoipa::path(
    get,
    path = "/api/v1.0/products/{code}",
    tag = "products",
    params(("code" = String, Path, description = "The product code")),
    responses(
        (status = 200, description = "The product", content((BackOfficeProductDto = "application/json"), (BackOfficeProductDto = "application/xml"))),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn get_any_product(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<Reply, ApiError> {
    let product = state
        .services
        .orders
        .managed_product(&caller.principal, &code)
        .await?;
    Ok(product_reply(StatusCode::OK, &product)?.unless_current(&req))
}

/// A product as the back office shows it, with its `ETag`.
fn product_reply(status: StatusCode, product: &Product) -> Result<Reply, ApiError> {
    Ok(Reply::new(status, "product", &BackOfficeProductDto::from(product))?.tagged())
}

/// The tag a read of `product` carries, which an `If-Match` names.
fn product_tag(product: &Product) -> Option<EntityTag> {
    product_reply(StatusCode::OK, product)
        .ok()
        .map(|reply| reply.tag())
}

async fn save(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    code: &str,
    body: &Body,
) -> Result<Reply, ApiError> {
    let draft = ProductForm::read(&body.0)?.into_draft();
    let only_if = etag::if_match(req, true, product_tag);
    let (product, created) = state
        .services
        .orders
        .save_product(&caller.principal, code, draft, only_if)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(product_reply(status, &product)?.located(&format!("/api/v1.0/products/{}", code.trim())))
}

/// Creates (`201`) or replaces (`200`) the product the URI names.
#[utoipa::path(
    post,
    path = "/api/v1.0/products/{code}",
    tag = "products",
    params(("code" = String, Path, description = "The product code")),
    request_body(content((ProductForm = "application/json"))),
    responses(
        (status = 201, description = "Created", content((BackOfficeProductDto = "application/json"), (BackOfficeProductDto = "application/xml"))),
        (status = 200, description = "Replaced", body = BackOfficeProductDto),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "An unknown currency", body = ErrorBody),
    )
)]
pub(crate) async fn save_product(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    save(&state, &caller, &req, &code, &body).await
}

/// As `POST`: creates (`201`) or replaces (`200`) the product the URI names.
#[utoipa::path(
    put,
    path = "/api/v1.0/products/{code}",
    tag = "products",
    params(("code" = String, Path, description = "The product code")),
    request_body(content((ProductForm = "application/json"))),
    responses(
        (status = 201, description = "Created", content((BackOfficeProductDto = "application/json"), (BackOfficeProductDto = "application/xml"))),
        (status = 200, description = "Replaced", body = BackOfficeProductDto),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    )
)]
pub(crate) async fn replace_product(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    save(&state, &caller, &req, &code, &body).await
}

/// Withdraws a product: `available=false`; it stays readable by URI for existing orders.
#[utoipa::path(
    delete,
    path = "/api/v1.0/products/{code}",
    tag = "products",
    params(("code" = String, Path, description = "The product code")),
    responses(
        (status = 200, description = "Withdrawn", content((SuccessDto = "application/json"), (SuccessDto = "application/xml"))),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn withdraw_product(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<Reply, ApiError> {
    let only_if = etag::if_match(&req, false, product_tag);
    state
        .services
        .orders
        .withdraw_product(&caller.principal, &code, only_if)
        .await?;
    Reply::ok("response", &SuccessDto::deleted())
}

/// Moves a task: `in_progress`, `finished` (captures its reservation) or `cancelled`
/// (releases it).
#[utoipa::path(
    post,
    path = "/api/v1.0/tasks/{id}/state",
    tag = "products",
    params(("id" = i64, Path, description = "The task id")),
    request_body(content((TaskStateForm = "application/json"), (TaskStateForm = "application/x-www-form-urlencoded"), (TaskStateForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The task in its new state", content((TaskDto = "application/json"), (TaskDto = "application/xml"))),
        (status = 400, description = "missing_param or invalid_param (an unknown state)", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "invalid_transition", body = ErrorBody),
    )
)]
pub(crate) async fn set_task_state(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let id = id
        .trim()
        .parse()
        .map(TaskId)
        .map_err(|_| ApiError::invalid_param_type("id"))?;
    let to = TaskStateForm::read(&body.0)?.state;
    let task = state
        .services
        .orders
        .set_state(&caller.principal, id, to)
        .await?;
    Reply::ok("task", &TaskDto::new(&task, false))
}
