//! The OpenAPI 3.1 document, collected by utoipa from each handler's `#[utoipa::path]`, and
//! the schema-only types that describe what no typed form carries: the customer body's
//! nested members, uploads, a header, names of values, and the query strings (each of those
//! tied to its parser by a test in `query.rs`: the parameters it documents are the ones the
//! parser accepts and reads).

mod answers;
mod requests;

use answers::CommonAnswers;
use requests::Requests;

use credence_domain::credit::EntryKind;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::access::dto::{CreatedKeyDto, KeyDto};
use crate::catalog::dto::{
    AttributeOptionDto, AttributeValueDto, BackOfficeProductDto, CodeRefDto, ProductAttributeDto,
    ProductDto, ProductEnvelopeDto, ProductIndexDto, ProductResponseDto, ProductsEnvelopeDto,
    ProductsResponseDto, TaskDto, TaskEnvelopeDto, TaskInputDto, TaskResponseDto, TaskTemplateDto,
    TaskTemplateEnvelopeDto, TaskTemplateResponseDto, TaskTemplatesEnvelopeDto,
    TaskTemplatesResponseDto, TasksEnvelopeDto, TasksResponseDto, TemplateProductDto,
};
use crate::catalog::marketplace_dto::{
    BalanceDto, CustomerEnvelopeDto, CustomerResponseDto, LinkRelDto, MarketplaceCustomerDto,
    RequestStatusDto, StatusErrorDto,
};
use crate::credit::dto::{AccountDto, LedgerEntryDto, LimitChangeDto, QuoteDto, ReservationDto};
use crate::customers::dto::{
    ContactDto, CreatedByDto, CustomerDto, LinkDto, ProjectDto, RegionLinkDto, SearchEntryDto,
};
use crate::customers::records_dto::{CategoryDto, CurrencyDto, LabelDto, RegionDto, UserDto};
use crate::documents::dto::{DocumentDto, UploadDto};
use crate::dto::{HealthDto, PagingDto, SuccessDto};
use crate::error::ErrorBody;
use crate::{access, catalog, credit, customers, documents, events, health, webhooks};

/// A payment type named in a customer body: `{"id": 7}` (a reference with `useExternalId`).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "schema-only: describes the wire format in the OpenAPI document"
)]
pub(crate) struct PaymentTypeRef {
    #[schema(value_type = String, example = "7")]
    id: String,
}

/// An entry of a customer's `documents`: the `uuid` of an uploaded document to
/// attach, or a link to content kept elsewhere (`contentUrl`, http or https). Attaching is
/// additive; `DELETE /customers/{id}/documents/{uuid}` detaches.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "schema-only: describes the wire format in the OpenAPI document"
)]
pub(crate) struct DocumentLinkForm {
    /// An uploaded document (then the other members are ignored).
    uuid: Option<String>,
    #[schema(example = "http://www.cbu.edu.zm/downloads/pdf-sample.pdf")]
    content_url: Option<String>,
    /// Default `application/octet-stream`.
    #[schema(example = "application/pdf")]
    mime_type: Option<String>,
    /// Default: the last segment of the URL.
    #[schema(example = "pdf-sample.pdf")]
    file_name: Option<String>,
    description: Option<String>,
    thumb_url: Option<String>,
    internal: Option<bool>,
}

/// The bytes of a download, under the type the response names.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(
    dead_code,
    reason = "schema-only: describes the wire format in the OpenAPI document"
)]
pub(crate) struct FileBytes(Vec<u8>);

/// `POST /documents/content`: the file, in the part `file`.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "schema-only: describes the wire format in the OpenAPI document"
)]
pub(crate) struct DocumentUploadForm {
    /// Any file, not empty, up to the configured document limit (10 MiB by default).
    #[schema(value_type = String, format = Binary, min_length = 1)]
    file: Vec<u8>,
}

/// A user's role.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(
    dead_code,
    reason = "schema-only: describes the wire format in the OpenAPI document"
)]
pub(crate) enum RoleName {
    Admin,
    Reseller,
    Customer,
}

/// Parameters of the marketplace's task list. Any other parameter is `400 invalid_param`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct TaskListParams {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    max: Option<u32>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<u64>,
    /// `submitted`, `in_progress`, `finished` or `cancelled`.
    #[param(value_type = Option<TaskStateName>)]
    state: Option<String>,
    /// Created at or after (ISO-8601).
    #[param(format = DateTime)]
    created_from: Option<String>,
    /// Created at or before (ISO-8601).
    #[param(format = DateTime)]
    created_until: Option<String>,
}

/// `Idempotency-Key` of the requests that move money: a repeat with the same key and body gets
/// the first answer again (`Idempotent-Replayed: true`) and moves nothing more.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "schema-only: describes the header in the OpenAPI document"
)]
pub(crate) struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters, chosen by the client for this one request.
    #[param(rename = "Idempotency-Key", pattern = "^[!-~]{1,255}$")]
    key: Option<String>,
}

/// The customer list's sort keys.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) enum CustomerSort {
    Id,
    Reference,
    Name,
    DateCreated,
    LastUpdated,
}

/// A list's order.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) enum SortOrder {
    Asc,
    Desc,
}

/// A task's state, by name.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string and bodies in the OpenAPI document"
)]
pub(crate) enum TaskStateName {
    Submitted,
    InProgress,
    Finished,
    Cancelled,
}

/// Paging parameters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct PageParams {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    max: Option<u32>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<u64>,
}

/// Parameters of an account's reservations, and the ledger's but for `type`. Any other
/// parameter is `400 invalid_param`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct ReservationListParams {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    max: Option<u32>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<u64>,
    /// Written (an entry) or admitted (a reservation) after (ISO-8601,
    /// `YYYY-MM-DDTHH:MM:SSZ`).
    #[param(rename = "dateCreated_gt", format = DateTime)]
    date_created_gt: Option<String>,
    /// At or after.
    #[param(rename = "dateCreated_gte", format = DateTime)]
    date_created_gte: Option<String>,
    /// Before.
    #[param(rename = "dateCreated_lt", format = DateTime)]
    date_created_lt: Option<String>,
    /// At or before.
    #[param(rename = "dateCreated_lte", format = DateTime)]
    date_created_lte: Option<String>,
}

/// Parameters of `GET .../account`. Any other parameter is `400 invalid_param`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct AccountParams {
    /// The account as it stood at this instant (ISO-8601, `YYYY-MM-DDTHH:MM:SSZ`): the
    /// ledger replayed up to it and the limit set by then; `404` before the account existed.
    #[param(format = DateTime)]
    at: Option<String>,
}

/// Parameters of `/accounts`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct AccountListParams {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    max: Option<u32>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<u64>,
    /// `customerId` (default), `available`, `utilization`, `balance`, `creditLimit` or
    /// `reserved`.
    #[param(pattern = "^(customerId|available|utilization|balance|creditLimit|reserved)$")]
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(pattern = "^([aA][sS][cC]|[dD][eE][sS][cC])$")]
    order: Option<String>,
    /// `true`: only accounts with less than nothing available; `false`: only the others.
    #[param(rename = "overLimit")]
    over_limit: Option<bool>,
    /// Only accounts using more than this share of their limit (`0.8` is 80 %; 0 to 100, at
    /// most 4 decimals); an account without a limit that uses anything is above every share.
    #[param(
        rename = "utilizationAbove",
        pattern = "^(100(\\.0{1,4})?|[0-9]{1,2}(\\.[0-9]{1,4})?)$",
        example = "0.8"
    )]
    utilization_above: Option<String>,
}

/// Parameters of an account's statement.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct StatementParams {
    /// The first instant of the period (ISO-8601, `YYYY-MM-DDTHH:MM:SSZ`). Left out: the
    /// first instant of the calendar month (UTC) `to` ends in, or of the current month.
    #[param(format = DateTime)]
    from: Option<String>,
    /// The first instant after the period; must come after `from`. Left out: the end of
    /// `from`'s calendar month (UTC), or of the current month.
    #[param(format = DateTime)]
    to: Option<String>,
}

/// Parameters of an account's ledger: the reservations' and `type`.
pub(crate) struct LedgerListParams;

impl IntoParams for LedgerListParams {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let kinds: Vec<&str> = EntryKind::ALL.iter().map(|kind| kind.as_str()).collect();
        let mut parameters = ReservationListParams::into_params(parameter_in);
        parameters.push(
            ParameterBuilder::new()
                .name("type")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(format!(
                    "Only entries of this kind: {}.",
                    kinds.join(", ")
                )))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        // Spaces and tabs only around the name: other control characters
                        // are refused in any parameter (`\s` would admit them).
                        .pattern(Some(format!(r"^[ \t]*(?:{})?[ \t]*$", kinds.join("|")))),
                ))
                .build(),
        );
        parameters
    }
}

/// Parameters of the customer list. Any other parameter is `400 invalid_param`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct CustomerListParams {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    max: Option<u32>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<u64>,
    /// `id`, `reference`, `name`, `dateCreated` (default) or `lastUpdated`.
    #[param(value_type = Option<CustomerSort>)]
    sort: Option<String>,
    /// `asc` (default) or `desc`, in any case.
    #[param(value_type = Option<SortOrder>)]
    order: Option<String>,
    /// ISO-8601 (`YYYY-MM-DDTHH:MM:SSZ`).
    #[param(rename = "dateCreated_gt", format = DateTime)]
    date_created_gt: Option<String>,
    #[param(rename = "dateCreated_gte", format = DateTime)]
    date_created_gte: Option<String>,
    #[param(rename = "dateCreated_lt", format = DateTime)]
    date_created_lt: Option<String>,
    #[param(rename = "dateCreated_lte", format = DateTime)]
    date_created_lte: Option<String>,
    #[param(rename = "lastUpdated_gt", format = DateTime)]
    last_updated_gt: Option<String>,
    #[param(rename = "lastUpdated_gte", format = DateTime)]
    last_updated_gte: Option<String>,
    #[param(rename = "lastUpdated_lt", format = DateTime)]
    last_updated_lt: Option<String>,
    #[param(rename = "lastUpdated_lte", format = DateTime)]
    last_updated_lte: Option<String>,
    /// `*` is the wildcard; without one the match is exact; case-insensitive.
    reference: Option<String>,
    /// As `reference`.
    name: Option<String>,
    /// As `reference`.
    #[param(rename = "categoryReference")]
    category_reference: Option<String>,
    /// `true` or `false`.
    #[param(rename = "isActive")]
    is_active: Option<bool>,
}

/// Parameters of the customer search. Any other parameter is `400 invalid_param`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "schema-only: describes the query string in the OpenAPI document"
)]
pub(crate) struct CustomerSearchParams {
    /// Required. Split into words (letters and digits); each word is a term and the terms
    /// are ORed. At most 32 terms and 500 characters. Every match is ranked.
    #[param(
        max_length = 500,
        pattern = r"^(?:_|[^\w\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF])*(?:[^\W_]+(?:_|[^\w\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF])+){0,31}[^\W_]+(?:_|[^\w\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF])*$"
    )]
    q: String,
    /// `true` includes inactive customers (a bare `inactive` too); archived ones never.
    inactive: Option<bool>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    max: Option<u32>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<u64>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Credence API",
        version = "1.0",
        description = "Customers (with their logos, documents and reference data) and their credit \
                       accounts, the events every change writes and the webhooks they are delivered to, \
                       the product catalog, and the clickworker-compatible marketplace (own account, \
                       products, task templates, tasks). \
                       Every answer is JSON, or XML when `Accept` prefers `application/xml` or `text/xml`."
    ),
    tags(
        (name = "customers", description = "Customers: master data, hierarchy, search, projects, logos"),
        (name = "accounts", description = "Credit accounts: balance, credit limit, ledger, reservations, alerts"),
        (name = "documents", description = "Documents attached to customers"),
        (name = "events", description = "What happened, in order: the feed, and redelivery to a webhook"),
        (name = "webhooks", description = "Webhook endpoints and their delivery log"),
        (name = "products", description = "The product catalog and task state changes (back office)"),
        (name = "marketplace", description = "The clickworker-compatible marketplace: own account, products, task templates, tasks"),
        (name = "customerCategories", description = "Reference data"),
        (name = "customerSegmentations", description = "Reference data"),
        (name = "paymentTypes", description = "Reference data"),
        (name = "regions", description = "Reference data"),
        (name = "currencies", description = "Reference data: currencies and exchange rates"),
        (name = "users", description = "Users of the back office"),
        (name = "keys", description = "API keys of users"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
    paths(
        customers::handlers::list_customers,
        customers::handlers::search_customers,
        customers::handlers::create_customer,
        customers::handlers::get_own_customer,
        customers::handlers::get_customer,
        customers::handlers::update_customer,
        customers::handlers::replace_customer,
        customers::handlers::delete_customer,
        customers::handlers::get_customer_by_reference,
        customers::handlers::upsert_customer_by_reference,
        customers::import::import_customers,
        customers::handlers::update_customer_by_reference,
        customers::handlers::delete_customer_by_reference,
        customers::handlers::list_projects,
        customers::handlers::create_project,
        customers::handlers::update_project,
        customers::handlers::delete_project,
        documents::handlers::get_customer_logo,
        documents::handlers::upload_document,
        documents::handlers::get_document,
        documents::handlers::update_document,
        documents::handlers::get_document_content,
        documents::handlers::get_document_thumbnail,
        documents::handlers::attach_document,
        documents::handlers::detach_document,
        credit::handlers::get_account,
        credit::handlers::update_credit_limit,
        credit::handlers::list_limit_changes,
        credit::statement::get_statement,
        credit::overview::list_accounts,
        credit::handlers::get_alerts,
        credit::handlers::update_alerts,
        credit::handlers::create_payment,
        credit::handlers::create_charge,
        credit::handlers::create_adjustment,
        credit::handlers::create_reservation,
        credit::handlers::show_reservation,
        credit::handlers::capture_reservation,
        credit::handlers::release_reservation,
        credit::handlers::quote_account,
        credit::handlers::list_ledger_entries,
        credit::handlers::show_ledger_entry,
        credit::handlers::list_reservations,
        credit::requests::list_limit_requests,
        credit::requests::show_limit_request,
        credit::requests::approve_limit_request,
        credit::requests::reject_limit_request,
        catalog::marketplace::get_marketplace_customer,
        catalog::orders::list_products,
        catalog::orders::get_product,
        catalog::orders::list_task_templates,
        catalog::orders::create_task_template,
        catalog::orders::get_task_template,
        catalog::orders::put_task_template,
        catalog::orders::delete_task_template,
        catalog::orders::submit_task,
        catalog::orders::list_tasks,
        catalog::orders::get_task,
        catalog::orders::cancel_task,
        catalog::products::list_all_products,
        catalog::products::get_any_product,
        catalog::products::save_product,
        catalog::products::replace_product,
        catalog::products::withdraw_product,
        catalog::products::set_task_state,
        customers::records::categories::list_customer_categories,
        customers::records::categories::get_customer_category,
        customers::records::categories::create_customer_category,
        customers::records::categories::update_customer_category,
        customers::records::categories::delete_customer_category,
        customers::records::segmentations::list_customer_segmentations,
        customers::records::segmentations::get_customer_segmentation,
        customers::records::segmentations::create_customer_segmentation,
        customers::records::segmentations::update_customer_segmentation,
        customers::records::segmentations::delete_customer_segmentation,
        customers::records::payment_types::list_payment_types,
        customers::records::payment_types::get_payment_type,
        customers::records::payment_types::create_payment_type,
        customers::records::payment_types::update_payment_type,
        customers::records::payment_types::delete_payment_type,
        customers::records::regions::list_regions,
        customers::records::regions::get_region,
        customers::records::regions::create_region,
        customers::records::regions::update_region,
        customers::records::regions::delete_region,
        customers::records::currencies::list_currencies,
        customers::records::currencies::get_currency,
        customers::records::currencies::create_currency,
        customers::records::currencies::update_currency,
        customers::records::currencies::delete_currency,
        customers::records::users::list_users,
        customers::records::users::get_user,
        customers::records::users::create_user,
        customers::records::users::update_user,
        customers::records::users::delete_user,
        access::handlers::list_keys,
        access::handlers::create_key,
        access::handlers::revoke_key,
        events::handlers::list_events,
        events::handlers::show_event,
        webhooks::handlers::create_endpoint,
        webhooks::handlers::list_endpoints,
        webhooks::handlers::show_endpoint,
        webhooks::handlers::update_endpoint,
        webhooks::handlers::delete_endpoint,
        webhooks::handlers::rotate_secret,
        webhooks::handlers::list_deliveries,
        webhooks::handlers::redeliver,
        health::get_liveness,
        health::get_readiness,
    ),
    components(schemas(
        CustomerDto,
        SearchEntryDto,
        LinkDto,
        CreatedByDto,
        RegionLinkDto,
        ContactDto,
        ProjectDto,
        DocumentDto,
        UploadDto,
        PagingDto,
        SuccessDto,
        HealthDto,
        ErrorBody,
        CategoryDto,
        LabelDto,
        RegionDto,
        CurrencyDto,
        UserDto,
        customers::form::CustomerForm,
        customers::import::ImportReportDto,
        customers::import::ImportLineDto,
        customers::import::ImportResult,
        customers::records_form::CategoryForm,
        customers::records_form::CategoryChanges,
        customers::records_form::LabelForm,
        customers::records_form::LabelChanges,
        customers::records_form::RegionForm,
        customers::records_form::RegionChanges,
        customers::records_form::CurrencyForm,
        customers::records_form::CurrencyChanges,
        customers::records_form::UserForm,
        customers::records_form::UserChanges,
        RoleName,
        CustomerSort,
        SortOrder,
        TaskStateName,
        PaymentTypeRef,
        customers::form::ContactForm,
        customers::form::ProjectForm,
        DocumentLinkForm,
        DocumentUploadForm,
        documents::form::DocumentMetadataForm,
        FileBytes,
        KeyDto,
        CreatedKeyDto,
        access::form::KeyForm,
        AccountDto,
        credit::dto::AlertsDto,
        credit::form::AlertsForm,
        LedgerEntryDto,
        LimitChangeDto,
        crate::credit::statement::dto::StatementDto,
        crate::credit::statement::dto::StatementHeadDto,
        crate::credit::statement::dto::TotalsDto,
        crate::credit::overview::AccountLineDto,
        ReservationDto,
        QuoteDto,
        credit::form::CreditLimitForm,
        credit::form::PostingForm,
        credit::form::AdjustmentForm,
        credit::form::ReservationForm,
        credit::form::CaptureForm,
        credit::form::QuoteForm,
        credit::requests::LimitRequestDto,
        credit::requests::PendingLimitDto,
        credit::requests::RejectionForm,
        CustomerEnvelopeDto,
        CustomerResponseDto,
        RequestStatusDto,
        StatusErrorDto,
        MarketplaceCustomerDto,
        LinkRelDto,
        BalanceDto,
        ProductIndexDto,
        ProductDto,
        ProductAttributeDto,
        AttributeOptionDto,
        BackOfficeProductDto,
        AttributeValueDto,
        TemplateProductDto,
        TaskTemplateDto,
        CodeRefDto,
        TaskInputDto,
        TaskDto,
        ProductsEnvelopeDto,
        ProductsResponseDto,
        ProductEnvelopeDto,
        ProductResponseDto,
        TaskTemplateEnvelopeDto,
        TaskTemplateResponseDto,
        TaskTemplatesEnvelopeDto,
        TaskTemplatesResponseDto,
        TaskEnvelopeDto,
        TaskResponseDto,
        TasksEnvelopeDto,
        TasksResponseDto,
        catalog::input::ProductForm,
        catalog::input::TemplateForm,
        catalog::input::TemplateProductForm,
        catalog::input::CodeForm,
        catalog::input::TaskForm,
        catalog::form::TaskStateForm,
        events::dto::EventDto,
        events::dto::EventDataDto,
        events::dto::EventListDto,
        events::dto::FeedPagingDto,
        events::dto::RefusalDto,
        events::dto::ThresholdDto,
        webhooks::dto::WebhookEndpointDto,
        webhooks::dto::CreatedWebhookEndpointDto,
        webhooks::form::WebhookEndpointForm,
        webhooks::form::RedeliveryForm,
        webhooks::dto::DeliveryAttemptDto,
    )),
    modifiers(&Credentials, &Requests, &CommonAnswers),
    security(("bearer" = []), ("apiKey" = []), ("basic" = []))
)]
struct ApiDoc;

/// The three ways to present an API key (see `docs/API.md`).
struct Credentials;

impl utoipa::Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("API-Key"))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// The OpenAPI 3.1 document generated with utoipa from the handlers' `#[utoipa::path]`
/// attributes.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The methods the route of `pattern` (a path of the document, `/api/v1.0/customers/{id}`)
/// answers, as an `Allow` header writes them (`GET, HEAD, PUT`): for the `405` of another
/// method. `HEAD` goes wherever `GET` does. `None` for a route the document does not name.
#[must_use]
pub(crate) fn allowed_methods(pattern: &str) -> Option<&'static str> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    ALLOWED
        .get_or_init(|| {
            openapi()
                .paths
                .paths
                .iter()
                .map(|(path, item)| {
                    let methods = [
                        ("GET", item.get.is_some()),
                        ("HEAD", item.get.is_some() || item.head.is_some()),
                        ("POST", item.post.is_some()),
                        ("PUT", item.put.is_some()),
                        ("PATCH", item.patch.is_some()),
                        ("DELETE", item.delete.is_some()),
                    ];
                    let allowed: Vec<&str> = methods
                        .into_iter()
                        .filter_map(|(method, answered)| answered.then_some(method))
                        .collect();
                    (path.clone(), allowed.join(", "))
                })
                .collect()
        })
        .get(pattern)
        .map(String::as_str)
}
