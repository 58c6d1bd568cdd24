//! `GET /accounts`: accounts across customers for credit controllers, scoped like the
//! customer list (everyone's for an admin, a reseller's own tree).

use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::credit::AccountLine;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::body::authorize;
use crate::caller::Caller;
use crate::credit::dto::{account_href, money};
use crate::dto::{ListDto, exact};
use crate::error::{ApiError, ErrorBody};
use crate::negotiate::Reply;
use crate::openapi::AccountListParams;
use crate::query::{ACCOUNT_LIST_PARAMS, Params};

/// One account of `/accounts`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountLineDto {
    /// The customer whose account it is.
    pub customer_id: i64,
    /// Its reference.
    #[schema(example = "CUST-0042")]
    pub customer_reference: String,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// The balance.
    #[schema(value_type = f64, example = -1200.00)]
    pub balance: Value,
    /// The credit limit.
    #[schema(value_type = f64, example = 1000.00)]
    pub credit_limit: Value,
    /// Held by open reservations.
    #[schema(value_type = f64, example = 50.00)]
    pub reserved: Value,
    /// `balance + creditLimit − reserved` (below zero: over the limit).
    #[schema(value_type = f64, example = -250.00)]
    pub available: Value,
    /// The share of the limit in use, `(reserved − balance) ÷ creditLimit`, to at most 4
    /// decimals;
    /// `null` without a limit.
    #[schema(value_type = Option<f64>, example = 1.25)]
    pub utilization: Option<Value>,
    /// Where the account lives.
    pub href: String,
}

impl From<&AccountLine> for AccountLineDto {
    fn from(line: &AccountLine) -> Self {
        let account = &line.account;
        Self {
            customer_id: account.customer_id().get(),
            customer_reference: line.reference.clone(),
            currency: account.currency().code().to_owned(),
            balance: money(account.balance()),
            credit_limit: money(account.credit_limit()),
            reserved: money(account.reserved()),
            available: money(account.available()),
            utilization: account.utilization().map(exact),
            href: account_href(account.customer_id()),
        }
    }
}

/// Accounts across customers: who is over the limit (`overLimit`), who uses more than a
/// share of it (`utilizationAbove`, `0.8` is 80 %), sorted by `customerId` (the default),
/// `available`, `utilization` (without a limit, any use sorts above every share and a
/// prepaid balance below every share), `balance`, `creditLimit` or `reserved`, ties by
/// customer. Admins see every live customer's account, a reseller its own tree's.
#[utoipa::path(
    get,
    path = "/api/v1.0/accounts",
    tag = "accounts",
    params(AccountListParams),
    responses(
        (status = 200, description = "One page of accounts", content((ListDto<AccountLineDto> = "application/json"), (ListDto<AccountLineDto> = "application/xml"))),
        (status = 400, description = "invalid_param or invalid_param_type", body = ErrorBody),
        (status = 403, description = "The caller's role may not use the back office", body = ErrorBody),
    )
)]
pub(crate) async fn list_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), ACCOUNT_LIST_PARAMS)?;
    let query = params.account_query()?;
    let page = state
        .services
        .accounts
        .overview(&caller.principal, query)
        .await?;
    let dto = ListDto {
        paging: params.account_paging(&query, page.total),
        data: page.items.iter().map(AccountLineDto::from).collect(),
    };
    Reply::list("accounts", "account", &dto)
}

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/accounts").route(web::get().to(list_accounts)));
}
