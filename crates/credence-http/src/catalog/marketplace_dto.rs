//! The marketplace face: snake_case, every answer wrapped in an `<x>_response`
//! envelope with a `request_status`, links written as a `link` array in JSON and as an
//! attribute-only `<link href=".." rel=".." type=".."/>` element in XML. Because the two
//! formats differ in shape, each DTO here builds a JSON view and an XML view of one answer.

use credence_domain::credit::CreditAccount;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::credit::dto::money;
use crate::negotiate::Format;

/// The base path of the marketplace API.
pub(crate) const BASE: &str = "/api/marketplace/v2";

/// `request_status` of every marketplace answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestStatusDto {
    /// `success` or `error`.
    #[schema(example = "success")]
    pub status: &'static str,
    /// The HTTP status.
    #[schema(example = 200)]
    pub code: u16,
    /// Empty on success.
    pub errors: Vec<StatusErrorDto>,
}

impl RequestStatusDto {
    /// `{"status": "success", "code": 200, "errors": []}`.
    pub(crate) fn success() -> Self {
        Self::with_code(200)
    }

    /// A success with another status (`201` for what a request created).
    pub(crate) fn with_code(code: u16) -> Self {
        Self {
            status: "success",
            code,
            errors: Vec::new(),
        }
    }
}

/// One error of a `request_status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusErrorDto {
    /// Machine-readable (`unauthorized`, `forbidden`, `not_found`, ...).
    #[schema(example = "unauthorized")]
    pub code: String,
    /// Human-readable.
    pub message: String,
}

/// A link (`rel=self`), whose `type` is the negotiated format.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkRelDto {
    /// Where.
    #[schema(example = "/api/marketplace/v2/customer")]
    pub href: String,
    /// `self`.
    #[schema(example = "self")]
    pub rel: &'static str,
    /// `application/json` or `application/xml`.
    #[serde(rename = "type")]
    #[schema(example = "application/json")]
    pub media_type: &'static str,
}

/// A customer's own account, as the marketplace shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalanceDto {
    /// The money on the account.
    #[schema(value_type = f64, example = 20000.00)]
    pub balance_amount: Value,
    /// Reserved for running tasks.
    #[schema(value_type = f64, example = 5000.00)]
    pub reserved_amount: Value,
    /// The credit granted (>= 0).
    #[schema(value_type = f64, example = 3000.00)]
    pub credit_limit: Value,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency_code: String,
}

/// The calling customer, as the marketplace shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MarketplaceCustomerDto {
    /// `rel=self`.
    pub link: Vec<LinkRelDto>,
    /// The account.
    pub balance: BalanceDto,
}

/// The inside of `customer_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerResponseDto {
    /// Outcome.
    pub request_status: RequestStatusDto,
    /// The customer (absent on errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<MarketplaceCustomerDto>,
}

/// `GET /api/marketplace/v2/customer` (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerEnvelopeDto {
    /// The envelope.
    pub customer_response: CustomerResponseDto,
}

/// The marketplace's customer answer in `format`: the JSON document, or the inside of the XML
/// root `customer_response`. Only the view asked for is built: this is the route a customer
/// polls for its balance.
///
/// # Errors
/// A serialization failure (a bug).
pub(crate) fn customer_view(
    account: &CreditAccount,
    format: Format,
) -> Result<Value, serde_json::Error> {
    let href = format!("{BASE}/customer");
    let balance = BalanceDto {
        balance_amount: money(account.balance()),
        reserved_amount: money(account.reserved()),
        credit_limit: money(account.credit_limit()),
        currency_code: account.currency().code().to_owned(),
    };
    if format == Format::Xml {
        return Ok(serde_json::json!({
            "request_status": serde_json::to_value(RequestStatusDto::success())?,
            "customer": {
                "link": {"@href": href, "@rel": "self", "@type": "application/xml"},
                "balance": serde_json::to_value(&balance)?,
            },
        }));
    }
    serde_json::to_value(CustomerEnvelopeDto {
        customer_response: CustomerResponseDto {
            request_status: RequestStatusDto::success(),
            customer: Some(MarketplaceCustomerDto {
                link: vec![LinkRelDto {
                    href,
                    rel: "self",
                    media_type: "application/json",
                }],
                balance,
            }),
        },
    })
}
