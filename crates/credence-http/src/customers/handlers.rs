//! The customer routes (with `me` and PUT by UUID).
//!
//! A customer's projects (`customerProjects`) also have routes of their own under
//! `/customers/{id}/projects`; each change rewrites the customer in one transaction.
//!
//! `/customers/me` and `/customers/search` are registered before `/customers/{id}` so that
//! `me` and `search` are never read as ids.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::customers::CustomerKey;
use credence_domain::ids::ProjectId;
use credence_domain::ports::StoreError;

use crate::AppState;
use crate::body::{Body, authorize};
use crate::caller::Caller;
use crate::customers::conditions::{CUSTOMERS, customer_reply, expected_revision, read_reply};
use crate::customers::dto::{CustomerDto, ProjectDto, SearchEntryDto};
use crate::customers::form::ProjectForm;
use crate::customers::form::{CustomerForm, customer_changes};
use crate::dto::{ListDto, SuccessDto};
use crate::error::{ApiError, ErrorBody};
use crate::negotiate::Reply;
use crate::openapi::{CustomerListParams, CustomerSearchParams};
use crate::query::{CUSTOMER_PARAMS, PAGE_PARAMS, Params, SEARCH_PARAMS};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers")
            .route(web::get().to(list_customers))
            .route(web::post().to(create_customer)),
    )
    .service(web::resource("/customers/me").route(web::get().to(get_own_customer)))
    .service(web::resource("/customers/search").route(web::get().to(search_customers)))
    .service(
        web::resource("/customers/reference/{reference}")
            .route(web::get().to(get_customer_by_reference))
            .route(web::post().to(upsert_customer_by_reference))
            .route(web::patch().to(update_customer_by_reference))
            .route(web::delete().to(delete_customer_by_reference)),
    )
    .service(
        web::resource("/customers/{id}/projects")
            .route(web::get().to(list_projects))
            .route(web::post().to(create_project)),
    )
    .service(
        web::resource("/customers/{id}/projects/{pid}")
            .route(web::put().to(update_project))
            .route(web::delete().to(delete_project)),
    )
    .service(
        web::resource("/customers/{id}")
            .route(web::get().to(get_customer))
            .route(web::post().to(update_customer))
            .route(web::patch().to(update_customer))
            .route(web::put().to(replace_customer))
            .route(web::delete().to(delete_customer)),
    );
}

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

// A customer is named by id or UUID under `/customers/{id}` and by reference under
// `/customers/reference/{reference}`: each use case below serves both, once the route has
// read its key.

/// Shows the customer `key` names.
async fn show(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    key: CustomerKey,
) -> Result<Reply, ApiError> {
    let customer = state
        .services
        .customers
        .get(&caller.principal, &key)
        .await?;
    read_reply(state, req, &customer)
}

/// Updates the fields `body` sends of the customer `key` names.
async fn update(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    key: CustomerKey,
    body: Body,
) -> Result<Reply, ApiError> {
    authorize(caller, Function::BackOffice)?;
    let input = customer_changes(body.0, None, &caller.principal)?;
    let expected = expected_revision(state, caller, req, &key, false).await?;
    let customer = state
        .services
        .customers
        .update(&caller.principal, &key, input, expected)
        .await?;
    customer_reply(state, StatusCode::OK, &customer)
}

/// Deletes (archives) the customer `key` names.
async fn delete(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    key: CustomerKey,
) -> Result<Reply, ApiError> {
    authorize(caller, Function::BackOffice)?;
    let expected = expected_revision(state, caller, req, &key, false).await?;
    state
        .services
        .customers
        .delete(&caller.principal, &key, expected)
        .await?;
    Reply::ok("response", &SuccessDto::deleted())
}

/// Lists customers, paged, sorted and filtered like every back-office list.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers",
    tag = "customers",
    params(CustomerListParams),
    responses(
        (status = 200, description = "One page of customers", content((ListDto<CustomerDto> = "application/json"), (ListDto<CustomerDto> = "application/xml"))),
        (status = 400, description = "invalid_param, invalid_param_type or invalid_datetime_format", body = ErrorBody),
        (status = 503, description = "The database could not serve the request now", body = ErrorBody),
    )
)]
pub(crate) async fn list_customers(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), CUSTOMER_PARAMS)?;
    let query = params.customer_query()?;
    let page = state
        .services
        .customers
        .list(&caller.principal, &query)
        .await?;
    let organization = &state.services.customers.settings().organization;
    let dto = ListDto {
        paging: params.customer_paging(&query, page.total),
        data: page
            .items
            .iter()
            .map(|c| CustomerDto::new(c, organization))
            .collect(),
    };
    Reply::list("customers", "customer", &dto)
}

/// Searches customers: the terms are ORed; a term in the name weighs 100, in the
/// reference 10, in any other searched field 1; best score first, then id.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/search",
    tag = "customers",
    params(CustomerSearchParams),
    responses(
        (status = 200, description = "One page of matching customers, best first", content((ListDto<SearchEntryDto> = "application/json"), (ListDto<SearchEntryDto> = "application/xml"))),
        (status = 400, description = "missing_param without q; invalid_param for an unusable q or an unknown parameter; invalid_param_type", body = ErrorBody),
        (status = 403, description = "Customer keys may not search", body = ErrorBody),
        (status = 503, description = "The database could not serve the request now", body = ErrorBody),
    )
)]
pub(crate) async fn search_customers(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), SEARCH_PARAMS)?;
    let query = params.search_query()?;
    let page = state
        .services
        .customers
        .search(&caller.principal, &query)
        .await?;
    let organization = &state.services.customers.settings().organization;
    let dto = ListDto {
        paging: params.search_paging(&query, page.total),
        data: page
            .items
            .iter()
            .map(|s| SearchEntryDto {
                customer: CustomerDto::new(&s.customer, organization),
                score: s.score,
            })
            .collect(),
    };
    Reply::list("customers", "customer", &dto)
}

/// Shows the caller's own customer (`me`).
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/me",
    tag = "customers",
    responses(
        (status = 200, description = "The caller's customer", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 404, description = "The caller is bound to no customer", body = ErrorBody),
    )
)]
pub(crate) async fn get_own_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    let customer = state.services.customers.me(&caller.principal).await?;
    read_reply(&state, &req, &customer)
}

/// Shows a customer by id or UUID.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    responses(
        (status = 200, description = "The customer", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 400, description = "invalid_param_type: neither a number nor a UUID", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn get_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    show(&state, &caller, &req, key).await
}

/// Shows a customer by reference (exact).
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/reference/{reference}",
    tag = "customers",
    params(("reference" = String, Path, description = "The customer's reference")),
    responses(
        (status = 200, description = "The customer", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn get_customer_by_reference(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    reference: web::Path<String>,
) -> Result<Reply, ApiError> {
    let key = CustomerKey::Reference(reference.into_inner());
    show(&state, &caller, &req, key).await
}

/// Creates a customer from JSON, a form or multipart. Unknown fields are ignored.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers",
    tag = "customers",
    request_body(content((CustomerForm = "application/json"), (CustomerForm = "application/x-www-form-urlencoded"), (CustomerForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "Created", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param, invalid_param_type or not_unique; exceeded_file_size or unsupported_file_type for imageFile", body = ErrorBody),
        (status = 404, description = "A referenced row or currency does not exist", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    )
)]
pub(crate) async fn create_customer(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let input = customer_changes(body.0, None, &caller.principal)?;
    let customer = state
        .services
        .customers
        .create(&caller.principal, input)
        .await?;
    customer_reply(&state, StatusCode::CREATED, &customer)
}

/// Updates the fields sent (`POST` or `PATCH`).
#[utoipa::path(
    method(post, patch),
    path = "/api/v1.0/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    request_body(content((CustomerForm = "application/json"), (CustomerForm = "application/x-www-form-urlencoded"), (CustomerForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Updated", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 400, description = "Bad input (imageFile: exceeded_file_size, unsupported_file_type) or taken reference", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn update_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    update(&state, &caller, &req, key, body).await
}

/// Updates the fields sent, by reference.
#[utoipa::path(
    patch,
    path = "/api/v1.0/customers/reference/{reference}",
    tag = "customers",
    params(("reference" = String, Path, description = "The customer's reference")),
    request_body(content((CustomerForm = "application/json"), (CustomerForm = "application/x-www-form-urlencoded"), (CustomerForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Updated", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 400, description = "Bad input (imageFile: exceeded_file_size, unsupported_file_type) or taken reference", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn update_customer_by_reference(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    reference: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = CustomerKey::Reference(reference.into_inner());
    update(&state, &caller, &req, key, body).await
}

/// Creates the customer with this reference (201), or updates it (200).
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/reference/{reference}",
    tag = "customers",
    params(("reference" = String, Path, description = "The customer's reference")),
    request_body(content((CustomerForm = "application/json"), (CustomerForm = "application/x-www-form-urlencoded"), (CustomerForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Updated", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 201, description = "Created", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 400, description = "Bad input (imageFile: exceeded_file_size, unsupported_file_type)", body = ErrorBody),
    )
)]
pub(crate) async fn upsert_customer_by_reference(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    reference: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let input = customer_changes(body.0, Some(&reference), &caller.principal)?;
    let key = CustomerKey::Reference(reference.clone());
    let expected = expected_revision(&state, &caller, &req, &key, true).await?;
    let saved = state
        .services
        .customers
        .upsert(&caller.principal, &reference, input, expected)
        .await?;
    customer_reply(&state, created_or_ok(saved.created), &saved.customer)
}

/// Replaces the whole customer (omitted optional fields are reset); an unknown UUID creates it.
#[utoipa::path(
    put,
    path = "/api/v1.0/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    request_body(content((CustomerForm = "application/json"), (CustomerForm = "application/x-www-form-urlencoded"), (CustomerForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Replaced", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 201, description = "Created with this UUID", content((CustomerDto = "application/json"), (CustomerDto = "application/xml"))),
        (status = 400, description = "Bad input (imageFile: exceeded_file_size, unsupported_file_type)", body = ErrorBody),
        (status = 404, description = "Unknown numeric id", body = ErrorBody),
    )
)]
pub(crate) async fn replace_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    authorize(&caller, Function::BackOffice)?;
    let input = customer_changes(body.0, None, &caller.principal)?;
    let expected = expected_revision(&state, &caller, &req, &key, true).await?;
    let saved = state
        .services
        .customers
        .replace(&caller.principal, &key, input, expected)
        .await?;
    customer_reply(&state, created_or_ok(saved.created), &saved.customer)
}

/// Deletes (archives) a customer.
#[utoipa::path(
    delete,
    path = "/api/v1.0/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    responses(
        (status = 200, description = "Deleted", content((SuccessDto = "application/json"), (SuccessDto = "application/xml"))),
        (status = 400, description = "delete_failed or invalid_param_type", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn delete_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    delete(&state, &caller, &req, key).await
}

/// Deletes (archives) a customer by reference.
#[utoipa::path(
    delete,
    path = "/api/v1.0/customers/reference/{reference}",
    tag = "customers",
    params(("reference" = String, Path, description = "The customer's reference")),
    responses(
        (status = 200, description = "Deleted", content((SuccessDto = "application/json"), (SuccessDto = "application/xml"))),
        (status = 400, description = "delete_failed", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn delete_customer_by_reference(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    reference: web::Path<String>,
) -> Result<Reply, ApiError> {
    let key = CustomerKey::Reference(reference.into_inner());
    delete(&state, &caller, &req, key).await
}

fn project_id(text: &str) -> Result<ProjectId, ApiError> {
    text.parse()
        .map(ProjectId)
        .map_err(|_| ApiError::invalid_param_type("pid"))
}

fn project_reply(
    status: StatusCode,
    project: &credence_domain::customers::Project,
) -> Result<Reply, ApiError> {
    let dto = ProjectDto::of(project)
        .ok_or_else(|| StoreError::Unexpected("a stored project has no id".into()))?;
    Reply::new(status, "project", &dto)
}

/// Lists a customer's projects, in order (all of them: one page, `total` = the count).
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/projects",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    responses(
        (status = 200, description = "The customer's projects", content((ListDto<ProjectDto> = "application/json"), (ListDto<ProjectDto> = "application/xml"))),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn list_projects(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    Params::parse(req.query_string(), PAGE_PARAMS)?;
    let key = crate::input::customer_key(&id)?;
    let projects = state
        .services
        .customers
        .projects(&caller.principal, &key)
        .await?;
    let dto = ListDto::whole(projects.iter().filter_map(ProjectDto::of).collect());
    Reply::list("projects", "project", &dto)
}

/// Adds a project at the end of the customer's list.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/{id}/projects",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's numeric id or UUID")),
    request_body(content((ProjectForm = "application/json"), (ProjectForm = "application/x-www-form-urlencoded"), (ProjectForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "Created", content((ProjectDto = "application/json"), (ProjectDto = "application/xml"))),
        (status = 400, description = "missing_param or invalid_param (blank or long name, 100 projects already)", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn create_project(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&id)?;
    let name = ProjectForm::read(&body.0)?.name;
    let project = state
        .services
        .customers
        .add_project(&caller.principal, &key, &name)
        .await?;
    Ok(project_reply(StatusCode::CREATED, &project)?
        .located_in(&format!("{CUSTOMERS}/{}/projects", id.trim())))
}

/// Renames a project; it keeps its id and its place in the list.
#[utoipa::path(
    put,
    path = "/api/v1.0/customers/{id}/projects/{pid}",
    tag = "customers",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("pid" = i64, Path, description = "The project id"),
    ),
    request_body(content((ProjectForm = "application/json"), (ProjectForm = "application/x-www-form-urlencoded"), (ProjectForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Renamed", content((ProjectDto = "application/json"), (ProjectDto = "application/xml"))),
        (status = 400, description = "missing_param, invalid_param or invalid_param_type", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found: no such customer, or no such project on it", body = ErrorBody),
    )
)]
pub(crate) async fn update_project(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&path.0)?;
    let pid = project_id(&path.1)?;
    let name = ProjectForm::read(&body.0)?.name;
    let project = state
        .services
        .customers
        .rename_project(&caller.principal, &key, pid, &name)
        .await?;
    project_reply(StatusCode::OK, &project)
}

/// Removes a project from the customer.
#[utoipa::path(
    delete,
    path = "/api/v1.0/customers/{id}/projects/{pid}",
    tag = "customers",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("pid" = i64, Path, description = "The project id"),
    ),
    responses(
        (status = 200, description = "Deleted", content((SuccessDto = "application/json"), (SuccessDto = "application/xml"))),
        (status = 400, description = "invalid_param_type", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found: no such customer, or no such project on it", body = ErrorBody),
    )
)]
pub(crate) async fn delete_project(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    let key = crate::input::customer_key(&path.0)?;
    let pid = project_id(&path.1)?;
    state
        .services
        .customers
        .remove_project(&caller.principal, &key, pid)
        .await?;
    Reply::ok("response", &SuccessDto::deleted())
}
