//! The marketplace's catalog and orders: the product index and detail views for any
//! authenticated caller, and the caller's own task templates and tasks. The customer is
//! always the one the credentials are bound to: there is no customer id in the URIs, and
//! the service decides the scope.
//!
//! Every answer is an `<x>_response` envelope ([`Reply::envelope`]); errors become envelopes
//! in the scope's [`envelope_errors`](crate::negotiate::envelope_errors) middleware, with one
//! `invalid_attribute` entry per failing attribute and, for a credit refusal, the available
//! and requested amounts next to `credit_limit_exceeded`. Submitting a task moves money
//! (it reserves credit), so it goes through [`crate::idempotency::once`].

use crate::wording::WireError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::catalog::{Task, TaskId, TaskTemplate};
use credence_domain::ports::Precondition;
use serde_json::Value;

use crate::AppState;
use crate::body::Body;
use crate::caller::Caller;
use crate::catalog::dto::{
    ProductDto, ProductEnvelopeDto, ProductIndexDto, ProductResponseDto, ProductsEnvelopeDto,
    ProductsResponseDto, TaskDto, TaskEnvelopeDto, TaskResponseDto, TaskTemplateDto,
    TaskTemplateEnvelopeDto, TaskTemplateResponseDto, TaskTemplatesEnvelopeDto,
    TaskTemplatesResponseDto, TasksEnvelopeDto, TasksResponseDto,
};
use crate::catalog::input::{TaskForm, TemplateForm};
use crate::catalog::marketplace_dto::{BASE, RequestStatusDto};
use crate::error::ApiError;
use crate::etag::{self, EntityTag};
use crate::idempotency::once;
use crate::negotiate::Reply;
use crate::openapi::{IdempotencyKeyHeader, TaskListParams};
use crate::query::{Params, TASK_PARAMS, paging};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/products").route(web::get().to(list_products)))
        .service(web::resource("/products/").route(web::get().to(list_products)))
        .service(web::resource("/products/{code}").route(web::get().to(get_product)))
        .service(
            web::resource("/customer/task_templates")
                .route(web::get().to(list_task_templates))
                .route(web::post().to(create_task_template)),
        )
        .service(
            web::resource("/customer/task_templates/{code}")
                .route(web::get().to(get_task_template))
                .route(web::put().to(put_task_template))
                .route(web::delete().to(delete_task_template)),
        )
        .service(
            web::resource("/customer/tasks")
                .route(web::get().to(list_tasks))
                .route(web::post().to(submit_task)),
        )
        .service(web::resource("/customer/tasks/{id}").route(web::get().to(get_task)))
        .service(web::resource("/customer/tasks/{id}/cancel").route(web::post().to(cancel_task)));
}

fn status_of(status: StatusCode) -> RequestStatusDto {
    RequestStatusDto::with_code(status.as_u16())
}

fn template_reply(status: StatusCode, template: Option<&TaskTemplate>) -> Result<Reply, ApiError> {
    Reply::envelope(
        status,
        "task_template_response",
        &TaskTemplateEnvelopeDto {
            task_template_response: TaskTemplateResponseDto {
                request_status: status_of(status),
                task_template: template.map(Into::into),
            },
        },
    )
}

/// The tag a read of `template` carries, which an `If-Match` names.
fn template_tag(template: &TaskTemplate) -> Option<EntityTag> {
    template_reply(StatusCode::OK, Some(template))
        .ok()
        .map(|reply| reply.tag())
}

fn task_reply(status: StatusCode, task: &Task) -> Result<Reply, ApiError> {
    Reply::envelope(
        status,
        "task_response",
        &TaskEnvelopeDto {
            task_response: TaskResponseDto {
                request_status: status_of(status),
                task: Some(TaskDto::new(task, true)),
            },
        },
    )
}

/// Where a task lives.
fn task_path(id: i64) -> String {
    format!("/api/marketplace/v2/customer/tasks/{id}")
}

/// Where the task of a task answer lives ([`crate::idempotency::Locate`]).
fn task_location(body: &Value) -> Option<String> {
    body["task_response"]["task"]["id"].as_i64().map(task_path)
}

fn task_id(text: &str) -> Result<TaskId, ApiError> {
    text.trim()
        .parse()
        .map(TaskId)
        .map_err(|_| ApiError::invalid_param_type("id"))
}

/// Lists the products that can be ordered now (index view).
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/products/",
    tag = "marketplace",
    responses(
        (status = 200, description = "The available products, index view, in a `products_response` envelope (XML: repeated `<products>` elements)", content((ProductsEnvelopeDto = "application/json"), (ProductsEnvelopeDto = "application/xml"))),
        (status = 401, description = "No usable credentials", body = ProductsEnvelopeDto),
        (status = 403, description = "The credentials match no live key", body = ProductsEnvelopeDto),
    )
)]
pub(crate) async fn list_products(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let products = state
        .services
        .orders
        .products(&caller.principal, false)
        .await?;
    Reply::envelope(
        StatusCode::OK,
        "products_response",
        &ProductsEnvelopeDto {
            products_response: ProductsResponseDto {
                request_status: RequestStatusDto::success(),
                products: products.iter().map(ProductIndexDto::from).collect(),
            },
        },
    )
}

/// Shows one product (detail view), withdrawn ones included.
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/products/{code}",
    tag = "marketplace",
    params(("code" = String, Path, description = "The product code")),
    responses(
        (status = 200, description = "The product, detail view, in a `product_response` envelope", content((ProductEnvelopeDto = "application/json"), (ProductEnvelopeDto = "application/xml"))),
        (status = 404, description = "No such product (`request_status` with `not_found`)", body = ProductEnvelopeDto),
    )
)]
pub(crate) async fn get_product(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<Reply, ApiError> {
    let product = state
        .services
        .orders
        .product(&caller.principal, &code)
        .await?;
    let reply = Reply::envelope(
        StatusCode::OK,
        "product_response",
        &ProductEnvelopeDto {
            product_response: ProductResponseDto {
                request_status: RequestStatusDto::success(),
                product: Some(ProductDto::from(&product)),
            },
        },
    )?;
    Ok(reply.tagged().unless_current(&req))
}

/// Lists the caller's task templates.
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/customer/task_templates",
    tag = "marketplace",
    responses(
        (status = 200, description = "The caller's templates, in a `task_templates_response` envelope", content((TaskTemplatesEnvelopeDto = "application/json"), (TaskTemplatesEnvelopeDto = "application/xml"))),
        (status = 404, description = "The caller is bound to no customer", body = TaskTemplatesEnvelopeDto),
    )
)]
pub(crate) async fn list_task_templates(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let templates = state.services.orders.templates(&caller.principal).await?;
    Reply::envelope(
        StatusCode::OK,
        "task_templates_response",
        &TaskTemplatesEnvelopeDto {
            task_templates_response: TaskTemplatesResponseDto {
                request_status: RequestStatusDto::success(),
                task_templates: templates.iter().map(TaskTemplateDto::from).collect(),
            },
        },
    )
}

/// Creates a task template (its `code` in the body); an existing one is replaced (`200`).
#[utoipa::path(
    post,
    path = "/api/marketplace/v2/customer/task_templates",
    tag = "marketplace",
    request_body(content((TemplateForm = "application/json"))),
    responses(
        (status = 201, description = "Created, in a `task_template_response` envelope", content((TaskTemplateEnvelopeDto = "application/json"), (TaskTemplateEnvelopeDto = "application/xml"))),
        (status = 200, description = "Replaced an existing template of that code", body = TaskTemplateEnvelopeDto),
        (status = 400, description = "One `invalid_attribute` error per failing attribute, or a missing or invalid field", body = TaskTemplateEnvelopeDto),
    )
)]
pub(crate) async fn create_task_template(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Reply, ApiError> {
    let mut form = TemplateForm::read(&body.0)?;
    let code = form.code.take().ok_or(WireError::Missing("code"))?;
    let only_if = Precondition::none();
    save_template(&state, &caller, &code, form.into_draft(), only_if).await
}

async fn save_template(
    state: &AppState,
    caller: &Caller,
    code: &str,
    draft: credence_domain::catalog::TemplateDraft,
    only_if: Precondition<TaskTemplate>,
) -> Result<Reply, ApiError> {
    let (template, created) = state
        .services
        .orders
        .save_template(&caller.principal, code, draft, only_if)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(template_reply(status, Some(&template))?
        .tagged_with(template_tag(&template))
        .located(&format!(
            "/api/marketplace/v2/customer/task_templates/{}",
            code.trim()
        )))
}

/// Shows one of the caller's task templates.
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/customer/task_templates/{code}",
    tag = "marketplace",
    params(("code" = String, Path, description = "The template code")),
    responses(
        (status = 200, description = "The template, in a `task_template_response` envelope", content((TaskTemplateEnvelopeDto = "application/json"), (TaskTemplateEnvelopeDto = "application/xml"))),
        (status = 404, description = "No such template of the caller's", body = TaskTemplateEnvelopeDto),
    )
)]
pub(crate) async fn get_task_template(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<Reply, ApiError> {
    let template = state
        .services
        .orders
        .template(&caller.principal, &code)
        .await?;
    Ok(template_reply(StatusCode::OK, Some(&template))?
        .tagged()
        .unless_current(&req))
}

/// Creates (`201`) or replaces (`200`) the task template the URI names.
#[utoipa::path(
    put,
    path = "/api/marketplace/v2/customer/task_templates/{code}",
    tag = "marketplace",
    params(("code" = String, Path, description = "The template code")),
    request_body(content((TemplateForm = "application/json"))),
    responses(
        (status = 201, description = "Created", content((TaskTemplateEnvelopeDto = "application/json"), (TaskTemplateEnvelopeDto = "application/xml"))),
        (status = 200, description = "Replaced", body = TaskTemplateEnvelopeDto),
        (status = 400, description = "One `invalid_attribute` error per failing attribute, or a missing or invalid field", body = TaskTemplateEnvelopeDto),
    )
)]
pub(crate) async fn put_task_template(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let draft = TemplateForm::read(&body.0)?.into_draft();
    let only_if = etag::if_match(&req, true, template_tag);
    save_template(&state, &caller, &code, draft, only_if).await
}

/// Deletes one of the caller's task templates.
#[utoipa::path(
    delete,
    path = "/api/marketplace/v2/customer/task_templates/{code}",
    tag = "marketplace",
    params(("code" = String, Path, description = "The template code")),
    responses(
        (status = 200, description = "Deleted: a `task_template_response` with its `request_status` only", content((TaskTemplateEnvelopeDto = "application/json"), (TaskTemplateEnvelopeDto = "application/xml"))),
        (status = 404, description = "No such template of the caller's", body = TaskTemplateEnvelopeDto),
    )
)]
pub(crate) async fn delete_task_template(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<Reply, ApiError> {
    let only_if = etag::if_match(&req, false, template_tag);
    state
        .services
        .orders
        .delete_template(&caller.principal, &code, only_if)
        .await?;
    template_reply(StatusCode::OK, None)
}

/// Submits a task from one of the caller's templates: priced (unit price × quantity) and
/// admitted against the caller's credit in the transaction that creates it.
#[utoipa::path(
    post,
    path = "/api/marketplace/v2/customer/tasks",
    tag = "marketplace",
    params(IdempotencyKeyHeader),
    request_body(content((TaskForm = "application/json"))),
    responses(
        (status = 201, description = "The task, in a `task_response` envelope", content((TaskEnvelopeDto = "application/json"), (TaskEnvelopeDto = "application/xml"))),
        (status = 400, description = "A missing or invalid field, or an unknown template", body = TaskEnvelopeDto),
        (status = 409, description = "idempotency_key_in_use", body = TaskEnvelopeDto),
        (status = 422, description = "`credit_limit_exceeded` (its error entry carries `available` and `requested`, exact), `product_unavailable`, `customer_on_hold`, `customer_inactive` or `idempotency_key_reused`", body = TaskEnvelopeDto),
    )
)]
pub(crate) async fn submit_task(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body,
) -> Result<Reply, ApiError> {
    let order = TaskForm::read(&body.0)?.into_order();
    let (state, caller) = (&state, &caller);
    once(
        state,
        &req,
        caller,
        &body,
        ("task_response", task_location),
        |tag| async move {
            let order = credence_domain::services::SubmitTask {
                idempotency: tag,
                ..order
            };
            let answer = state
                .services
                .orders
                .submit(&caller.principal, order)
                .await
                .map_err(ApiError::from);
            let task = state.config.metrics.admitting(answer)?;
            Ok(task_reply(StatusCode::CREATED, &task)?.located(&task_path(task.id.0)))
        },
    )
    .await
}

/// Lists the caller's tasks, newest first.
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/customer/tasks",
    tag = "marketplace",
    params(TaskListParams),
    responses(
        (status = 200, description = "One page of the caller's tasks, in a `tasks_response` envelope", content((TasksEnvelopeDto = "application/json"), (TasksEnvelopeDto = "application/xml"))),
        (status = 400, description = "An unknown parameter, a bad state, page or ISO-8601 date", body = TasksEnvelopeDto),
    )
)]
pub(crate) async fn list_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let params = Params::parse(req.query_string(), TASK_PARAMS)?;
    let page = params.page()?;
    let filter = params.task_filter()?;
    let tasks = state
        .services
        .orders
        .tasks(&caller.principal, filter, page)
        .await?;
    Reply::envelope(
        StatusCode::OK,
        "tasks_response",
        &TasksEnvelopeDto {
            tasks_response: TasksResponseDto {
                request_status: RequestStatusDto::success(),
                paging: paging(
                    &format!("{BASE}/customer/tasks"),
                    page,
                    tasks.total,
                    &params.filter_tail(),
                ),
                tasks: tasks.items.iter().map(|t| TaskDto::new(t, true)).collect(),
            },
        },
    )
}

/// Shows one of the caller's tasks.
#[utoipa::path(
    get,
    path = "/api/marketplace/v2/customer/tasks/{id}",
    tag = "marketplace",
    params(("id" = i64, Path, description = "The task id")),
    responses(
        (status = 200, description = "The task, in a `task_response` envelope", content((TaskEnvelopeDto = "application/json"), (TaskEnvelopeDto = "application/xml"))),
        (status = 404, description = "No such task of the caller's", body = TaskEnvelopeDto),
    )
)]
pub(crate) async fn get_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let task = state
        .services
        .orders
        .task(&caller.principal, task_id(&id)?)
        .await?;
    task_reply(StatusCode::OK, &task)
}

/// Cancels one of the caller's tasks that is not finished; its credit is released.
#[utoipa::path(
    post,
    path = "/api/marketplace/v2/customer/tasks/{id}/cancel",
    tag = "marketplace",
    params(("id" = i64, Path, description = "The task id")),
    responses(
        (status = 200, description = "The cancelled task, in a `task_response` envelope", content((TaskEnvelopeDto = "application/json"), (TaskEnvelopeDto = "application/xml"))),
        (status = 404, description = "No such task of the caller's", body = TaskEnvelopeDto),
        (status = 409, description = "`invalid_transition`: the task is finished or cancelled", body = TaskEnvelopeDto),
    )
)]
pub(crate) async fn cancel_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let task = state
        .services
        .orders
        .cancel(&caller.principal, task_id(&id)?)
        .await?;
    task_reply(StatusCode::OK, &task)
}
