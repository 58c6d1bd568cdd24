//! The API's words for what a request gets wrong. The domain's errors say what is wrong, with
//! its numbers, and name fields by meaning (a rule, a value's error); the wire names of the
//! fields, and the texts the API has always answered with them, live here and nowhere else.
//! [`WireError`] is a bad request in those words: what the body and query readers find
//! themselves, and every domain [`InputError`] once worded. Each function below words one
//! value's error for the field that holds it; the rules are worded exhaustively, so a new rule
//! fails to compile until it has its text (decision 0031).

use actix_web::http::StatusCode;

use credence_domain::catalog::{CatalogRule, LocalizedError};
use credence_domain::credit::{CreditRule, MoneyError};
use credence_domain::customers::{CustomerRule, OwnControl};
use credence_domain::documents::logo::IMAGE_BOUNDS;
use credence_domain::documents::{DocumentRule, FileName, FileNameError};
use credence_domain::input::InputError;
use credence_domain::listing::QueryRule;
use credence_domain::values::{
    CoordinateError, CreditLimitError, DueDateError, DueDateTerms, ExchangeRateError, NameError,
    ReferenceError, RiskColorError, TextError,
};
use credence_domain::webhooks::{UrlError, WebhookRule};

use crate::error::ApiError;

/// A free text over its limit, in `field`.
pub(crate) fn free_text(field: &str, error: &TextError) -> String {
    format!("{field} cannot be longer than {} characters", error.max)
}

/// A coordinate out of its range, in `field`.
pub(crate) fn coordinate(field: &str, error: &CoordinateError) -> String {
    format!(
        "{field} must be a number between {} and {}",
        error.min, error.max
    )
}

/// An amount that is no money in its currency, in `field`.
pub(crate) fn money(field: &str, error: &MoneyError) -> String {
    match error {
        MoneyError::TooPrecise { currency, digits } => {
            format!("{field} has more decimals than {currency} allows ({digits})")
        }
        MoneyError::TooLarge => format!("{field} is too large"),
    }
}

/// A reseller's change of an operator's control on its own customer, named by its field.
fn own_control(control: OwnControl) -> WireError {
    match control {
        OwnControl::Billing => WireError::invalid(
            "billWithParent",
            "A reseller cannot change how its own customer is billed.",
        ),
        OwnControl::Currency => WireError::invalid(
            "currency",
            "A reseller cannot change its own customer's currency.",
        ),
        OwnControl::CreditLimit => WireError::invalid(
            "creditLimit",
            "A reseller cannot change its own customer's credit limit.",
        ),
        OwnControl::Hold => WireError::invalid(
            "onHold",
            "A reseller cannot put its own customer on hold or lift its hold.",
        ),
        OwnControl::HoldReason => WireError::invalid(
            "onHoldReason",
            "A reseller cannot change why its own customer is on hold.",
        ),
        OwnControl::Activity => WireError::invalid(
            "isActive",
            "A reseller cannot activate or deactivate its own customer.",
        ),
    }
}

/// A credit limit refused (`creditLimit`, in a customer body and in the limit's own body).
pub(crate) fn credit_limit(error: &CreditLimitError) -> String {
    const FIELD: &str = "creditLimit";
    match error {
        CreditLimitError::Negative => format!("{FIELD} cannot be negative"),
        CreditLimitError::TooPrecise { currency, digits } => money(
            FIELD,
            &MoneyError::TooPrecise {
                currency: currency.clone(),
                digits: *digits,
            },
        ),
        CreditLimitError::TooLarge => money(FIELD, &MoneyError::TooLarge),
    }
}

/// Payment terms refused (`dueDateConfigType`, `dueDateConfigNumber`).
pub(crate) fn due_date(error: &DueDateError) -> String {
    match error {
        DueDateError::UnknownType(text) => format!(
            "dueDateConfigType {text} is not valid: use 1 (daysAfterInvoiceDate) or 2 (daysAfterEndOfInvoiceMonth)"
        ),
        DueDateError::NumberOutOfRange => format!(
            "dueDateConfigNumber must be between 0 and {}",
            DueDateTerms::MAX_DAYS
        ),
    }
}

/// A risk colour refused (`customerRiskColor`).
pub(crate) fn risk_color(error: &RiskColorError) -> String {
    format!("customerRiskColor {} is not a #RRGGBB colour", error.0)
}

/// An exchange rate refused (`exchangeRate`).
pub(crate) fn exchange_rate(error: &ExchangeRateError) -> String {
    match error {
        ExchangeRateError::NotPositive => "exchangeRate must be greater than 0",
        ExchangeRateError::NotANumber => "exchangeRate must be a decimal number",
    }
    .to_owned()
}

/// A name refused (`name`: a customer's, a record's, an API key's).
pub(crate) fn name(error: &NameError) -> String {
    match error {
        NameError::Empty => "Required field name cannot be empty".to_owned(),
        NameError::LeadingSpace => "Improper Customer Name".to_owned(),
        NameError::TooLong => format!(
            "name cannot be longer than {} characters",
            credence_domain::values::MAX_NAME_LEN
        ),
    }
}

/// A reference refused (`reference`).
pub(crate) fn reference(error: &ReferenceError) -> String {
    match error {
        ReferenceError::Empty => "Required field reference cannot be empty".to_owned(),
        ReferenceError::Padded => "reference cannot start or end with a space".to_owned(),
        ReferenceError::TooLong => format!(
            "reference cannot be longer than {} characters",
            credence_domain::values::MAX_NAME_LEN
        ),
        ReferenceError::Slash => "reference cannot contain '/'".to_owned(),
    }
}

/// Localized texts refused, in `field` (`titles`, `descriptions`, an attribute's `helps`).
pub(crate) fn localized(field: &str, error: &LocalizedError) -> String {
    match error {
        LocalizedError::UnknownLanguage(language) => {
            format!("{field}: unknown language {language}; use en, de or fr")
        }
        LocalizedError::Blank(locale) => format!("{field}.{} cannot be empty", locale.as_str()),
    }
}

/// A file name refused, in `field` (`fileName`, `documents.fileName`).
fn file_name(field: &str, error: FileNameError) -> String {
    match error {
        FileNameError::Blank => format!("{field} cannot be blank."),
        FileNameError::TooLong => {
            format!(
                "{field} cannot be longer than {} characters.",
                FileName::MAX
            )
        }
        FileNameError::Unsafe => {
            format!("{field} cannot contain control characters, quotes or slashes.")
        }
    }
}

/// A request that is wrong, in the API's words: a field missing, of the wrong type or not
/// valid, named by its wire name; or what the domain words itself (a row that does not
/// exist, a currency, a file). `Display` is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    /// `400 missing_param`.
    #[error("{0} parameter is missing")]
    Missing(&'static str),
    /// `400 invalid_param`: the message, which names the field (prefixed with it when the
    /// words alone do not).
    #[error("{}", named(field, message))]
    Invalid {
        /// The wire name of the field.
        field: &'static str,
        /// What is wrong, for the client.
        message: String,
    },
    /// `400 invalid_param_type`: a value of the wrong type (text where a number belongs).
    #[error("The type of parameter {0} you provided is not valid for this request.")]
    InvalidType(&'static str),
    /// A domain error that names no field: its own text and status.
    #[error(transparent)]
    Domain(InputError),
}

/// Texts the customer API documents word for word, which clients may match: kept as they are.
const DOCUMENTED: &[&str] = &["Improper Customer Name"];

/// `message`, prefixed with `field` unless it names it already: every `invalid_param` says
/// which field it is about (an unknown country in `billingCountry` or in `country`).
fn named(field: &str, message: &str) -> String {
    if field.is_empty() || message.contains(field) || DOCUMENTED.contains(&message) {
        message.to_owned()
    } else {
        format!("{field}: {message}")
    }
}

impl WireError {
    /// An `invalid_param` error for `field`.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<InputError> for WireError {
    /// Words a rule with the field it concerns by its wire name, and the error code and text
    /// the API has always answered for it; other errors keep the domain's words.
    fn from(error: InputError) -> Self {
        match error {
            InputError::Label(e) => Self::invalid("name", name(&e)),
            InputError::Customer(rule) => customer(rule),
            InputError::Credit(rule) => credit(rule),
            InputError::Document(rule) => document(rule),
            InputError::Catalog(rule) => catalog(rule),
            InputError::Query(rule) => query(rule),
            InputError::Webhook(rule) => webhook(rule),
            other @ (InputError::NotFound { .. }
            | InputError::UnknownCurrency(_)
            | InputError::CurrencyNotConfigured(_)
            | InputError::OwnAncestor(_)
            | InputError::FileTooLarge
            | InputError::UnsupportedFileType) => Self::Domain(other),
        }
    }
}

impl From<WireError> for ApiError {
    fn from(error: WireError) -> Self {
        let (status, code) = match &error {
            WireError::Missing(_) => (StatusCode::BAD_REQUEST, "missing_param"),
            WireError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_param"),
            WireError::InvalidType(_) => (StatusCode::BAD_REQUEST, "invalid_param_type"),
            WireError::Domain(e) if e.is_not_found() => (StatusCode::NOT_FOUND, "not_found"),
            WireError::Domain(InputError::FileTooLarge) => {
                (StatusCode::BAD_REQUEST, "exceeded_file_size")
            }
            WireError::Domain(InputError::UnsupportedFileType) => {
                (StatusCode::BAD_REQUEST, "unsupported_file_type")
            }
            // Every rule was worded into one of the field variants above.
            WireError::Domain(_) => (StatusCode::BAD_REQUEST, "invalid_param"),
        };
        Self::new(status, code, error.to_string())
    }
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> Self {
        WireError::from(error).into()
    }
}

fn customer(rule: CustomerRule) -> WireError {
    match rule {
        CustomerRule::ReferenceRequired => WireError::Missing("reference"),
        CustomerRule::NameRequired => WireError::Missing("name"),
        CustomerRule::ParentRequired => WireError::Missing("parentCustomer"),
        CustomerRule::DueDaysRequired => WireError::Missing("dueDateConfigNumber"),
        CustomerRule::ParentWithoutSubCustomer => WireError::invalid(
            "parentCustomer",
            "parentCustomer cannot be given when isSubCustomer is false",
        ),
        CustomerRule::DueDate(e) => WireError::invalid("dueDateConfigNumber", due_date(&e)),
        CustomerRule::CreditLimit(e) => WireError::invalid("creditLimit", credit_limit(&e)),
        CustomerRule::ResellerMovesOwn => {
            WireError::invalid("parentCustomer", "A reseller cannot move its own customer.")
        }
        CustomerRule::ResellerControlsOwn(control) => own_control(control),
        CustomerRule::OutsideReseller => WireError::invalid(
            "parentCustomer",
            "A reseller's customers must stay below the reseller.",
        ),
        CustomerRule::Reference(e) => WireError::invalid("reference", reference(&e)),
        CustomerRule::ProjectNameBlank => WireError::invalid(
            "customerProjects",
            "A project name in customerProjects cannot be blank.",
        ),
        CustomerRule::ProjectNameTooLong(e) => {
            WireError::invalid("customerProjects", free_text("customerProjects.name", &e))
        }
        CustomerRule::TooManyProjects { max } => WireError::invalid(
            "customerProjects",
            format!("customerProjects cannot hold more than {max} projects."),
        ),
        CustomerRule::CurrencyLocked => WireError::invalid(
            "currency",
            "The currency cannot change while the account holds a balance or reservations.",
        ),
        CustomerRule::TooManyDocuments => WireError::invalid(
            "documents",
            "The customer cannot hold more documents than the configured limit.",
        ),
        CustomerRule::CustomerRowGone => WireError::invalid(
            "customer",
            "A row this customer refers to was deleted meanwhile; please retry.",
        ),
        CustomerRule::RecordRowGone => WireError::invalid(
            "parentId",
            "A row this one refers to was deleted meanwhile.",
        ),
        CustomerRule::LimitNeedsApproval => WireError::invalid(
            "creditLimit",
            "A creditLimit above the approval threshold needs another admin's approval: \
             request it with PUT .../account/creditLimit.",
        ),
    }
}

fn credit(rule: CreditRule) -> WireError {
    let amount = |message: &str| WireError::invalid("amount", message);
    match rule {
        CreditRule::Amount(e) => amount(&money("amount", &e)),
        CreditRule::Limit(e) => WireError::invalid("creditLimit", credit_limit(&e)),
        CreditRule::AmountNotPositive => amount("amount must be greater than 0"),
        CreditRule::AdjustmentZero => amount("amount of an adjustment cannot be 0"),
        CreditRule::ReasonRequired => WireError::Missing("reason"),
        CreditRule::NotPosted => {
            WireError::invalid("kind", "only payments, charges and adjustments are posted")
        }
        CreditRule::ExpiryOutOfRange { max } => WireError::invalid(
            "expiresIn",
            format!("expiresIn must be between 1 and {max} seconds"),
        ),
        CreditRule::AmountNegative => amount("amount cannot be negative"),
        CreditRule::CaptureExceeds => {
            amount("The captured amount cannot exceed the reserved amount.")
        }
        CreditRule::Threshold(e) => {
            WireError::invalid("availableBelow", money("availableBelow", &e))
        }
        CreditRule::TooManyAlerts { max } => WireError::invalid(
            "availableBelow",
            format!("availableBelow cannot hold more than {max} thresholds"),
        ),
        CreditRule::Period(_) => WireError::invalid("to", "to must come after from"),
    }
}

fn webhook(rule: WebhookRule) -> WireError {
    match rule {
        WebhookRule::UrlRequired => WireError::Missing("url"),
        WebhookRule::Url(UrlError::Malformed(text)) => WireError::invalid(
            "url",
            format!("url must be an absolute http or https URL with a host, not {text}"),
        ),
        WebhookRule::Url(UrlError::Credentials) => {
            WireError::invalid("url", "url must not contain credentials (user:password@)")
        }
        WebhookRule::PrivateAddress(what) => WireError::invalid(
            "url",
            format!(
                "url must not point to a loopback, private, link-local or unspecified address: \
                 {what}"
            ),
        ),
        WebhookRule::NoTypes => WireError::invalid(
            "types",
            "types must name at least one event type, or * for all",
        ),
        WebhookRule::Types(e) => WireError::invalid("types", e.to_string()),
        WebhookRule::Description(e) => {
            WireError::invalid("description", free_text("description", &e))
        }
        WebhookRule::Enabled => WireError::InvalidType("enabled"),
    }
}

fn document(rule: DocumentRule) -> WireError {
    const LINKS: &str = "documents";
    let url = |field: &str| format!("{field} must be an absolute http or https URL.");
    match rule {
        DocumentRule::Description(e) => {
            WireError::invalid("description", free_text("description", &e))
        }
        DocumentRule::FileName(e) => WireError::invalid("fileName", file_name("fileName", e)),
        DocumentRule::Internal => WireError::InvalidType("internal"),
        DocumentRule::LinkUuid(uuid) => {
            WireError::invalid(LINKS, format!("documents.uuid {uuid} is not a UUID."))
        }
        DocumentRule::LinkWithoutTarget => WireError::invalid(
            LINKS,
            "Each entry of documents needs a uuid or a contentUrl.",
        ),
        DocumentRule::LinkContentUrl => {
            WireError::invalid("documents.contentUrl", url("documents.contentUrl"))
        }
        DocumentRule::LinkThumbUrl => {
            WireError::invalid("documents.thumbUrl", url("documents.thumbUrl"))
        }
        DocumentRule::LinkMimeType => WireError::invalid(
            "documents.mimeType",
            "documents.mimeType must be a media type such as application/pdf.",
        ),
        DocumentRule::LinkFileName(e) => {
            WireError::invalid("documents.fileName", file_name("documents.fileName", e))
        }
        DocumentRule::LinkDescription(e) => {
            WireError::invalid(LINKS, free_text("documents.description", &e))
        }
        DocumentRule::LinkInternal => WireError::InvalidType("documents.internal"),
        DocumentRule::EmptyFile => WireError::invalid("file", "The file is empty."),
        DocumentRule::ImagePixels { width, height } => WireError::invalid(
            "imageFile",
            format!(
                "The image is {width}x{height} pixels; at most {} pixels a side and {} in all are accepted.",
                IMAGE_BOUNDS.max_side, IMAGE_BOUNDS.max_pixels
            ),
        ),
    }
}

fn catalog(rule: CatalogRule) -> WireError {
    match rule {
        CatalogRule::ProductCode(code) => WireError::invalid(
            "code",
            format!("The code {code} is not valid: use 1 to 64 letters, digits, _ or -."),
        ),
        CatalogRule::AttributeTwice(code) => WireError::invalid(
            "attributes",
            format!("The attribute {code} is defined twice."),
        ),
        CatalogRule::TitlesRequired => WireError::Missing("titles"),
        CatalogRule::NegativePrice => WireError::invalid("price", "price cannot be negative"),
        CatalogRule::TemplateCode => {
            WireError::invalid("code", "code must be 1 to 64 letters, digits, _ or -")
        }
        CatalogRule::TemplateNameRequired => WireError::Missing("name"),
        CatalogRule::QuantityBelowOne => {
            WireError::invalid("quantity", "quantity must be at least 1")
        }
        CatalogRule::QuantityTooLarge => WireError::invalid("quantity", "quantity is too large"),
    }
}

fn query(rule: QueryRule) -> WireError {
    match rule {
        QueryRule::PageSize { max } => WireError::invalid(
            "max",
            format!("The parameter max must be between 1 and {max}."),
        ),
        QueryRule::NegativeOffset => {
            WireError::invalid("offset", "The parameter offset cannot be negative.")
        }
        QueryRule::SearchBlank => WireError::invalid("q", "The parameter q cannot be empty."),
        QueryRule::SearchTooLong { max } => WireError::invalid(
            "q",
            format!("The parameter q cannot be longer than {max} characters."),
        ),
        QueryRule::SearchWithoutWord => WireError::invalid(
            "q",
            "The parameter q must contain at least one letter or digit.",
        ),
        QueryRule::SearchTooManyTerms { max } => WireError::invalid(
            "q",
            format!("The parameter q cannot have more than {max} search terms."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_param_names_its_field() {
        assert_eq!(
            WireError::invalid("billingCountry", "The country X is unknown.").to_string(),
            "billingCountry: The country X is unknown."
        );
        assert_eq!(
            WireError::invalid("url", "url must not contain credentials").to_string(),
            "url must not contain credentials"
        );
        assert_eq!(
            WireError::invalid("name", "Improper Customer Name").to_string(),
            "Improper Customer Name",
            "a documented text stays word for word"
        );
    }
    use credence_domain::credit::Money;
    use credence_domain::values::CurrencyCode;

    fn said(error: impl Into<InputError>) -> (String, String) {
        let api = ApiError::from(error.into());
        (
            api.body().error.clone(),
            api.body().error_description.clone(),
        )
    }

    fn invalid(text: &str) -> (String, String) {
        ("invalid_param".to_owned(), text.to_owned())
    }

    /// The rules keep the codes and texts the API answered when the domain wrote them itself.
    #[test]
    fn rules_keep_the_apis_words() {
        let eur = CurrencyCode::parse("EUR").unwrap();
        let precise = Money::from_decimal(rust_decimal::Decimal::new(1001, 3), eur).unwrap_err();
        let cases: Vec<(InputError, (String, String))> = vec![
            (
                CreditRule::Amount(precise).into(),
                invalid("amount has more decimals than EUR allows (2)"),
            ),
            (
                CreditRule::Amount(MoneyError::TooLarge).into(),
                invalid("amount is too large"),
            ),
            (
                CreditRule::Limit(CreditLimitError::Negative).into(),
                invalid("creditLimit cannot be negative"),
            ),
            (
                CreditRule::ReasonRequired.into(),
                ("missing_param".into(), "reason parameter is missing".into()),
            ),
            (
                CreditRule::ExpiryOutOfRange { max: 2_592_000 }.into(),
                invalid("expiresIn must be between 1 and 2592000 seconds"),
            ),
            (
                CustomerRule::TooManyProjects { max: 100 }.into(),
                invalid("customerProjects cannot hold more than 100 projects."),
            ),
            (
                CustomerRule::ProjectNameTooLong(TextError { max: 255 }).into(),
                invalid("customerProjects.name cannot be longer than 255 characters"),
            ),
            (
                CustomerRule::DueDate(DueDateError::NumberOutOfRange).into(),
                invalid("dueDateConfigNumber must be between 0 and 3650"),
            ),
            (
                InputError::Label(NameError::TooLong),
                invalid("name cannot be longer than 255 characters"),
            ),
            (
                DocumentRule::FileName(FileNameError::TooLong).into(),
                invalid("fileName cannot be longer than 255 characters."),
            ),
            (
                DocumentRule::LinkInternal.into(),
                (
                    "invalid_param_type".into(),
                    "The type of parameter documents.internal you provided is not valid for this request."
                        .into(),
                ),
            ),
            (
                DocumentRule::LinkDescription(TextError { max: 4000 }).into(),
                invalid("documents.description cannot be longer than 4000 characters"),
            ),
            (
                CatalogRule::ProductCode("a b".into()).into(),
                invalid("The code a b is not valid: use 1 to 64 letters, digits, _ or -."),
            ),
            (
                CatalogRule::TitlesRequired.into(),
                ("missing_param".into(), "titles parameter is missing".into()),
            ),
            (
                QueryRule::PageSize { max: 1000 }.into(),
                invalid("The parameter max must be between 1 and 1000."),
            ),
            (
                QueryRule::SearchTooManyTerms { max: 32 }.into(),
                invalid("The parameter q cannot have more than 32 search terms."),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(said(error), expected);
        }
    }

    #[test]
    fn values_are_worded_with_the_field_that_holds_them() {
        assert_eq!(
            coordinate(
                "billingLng",
                &CoordinateError {
                    min: -180,
                    max: 180
                }
            ),
            "billingLng must be a number between -180 and 180"
        );
        assert_eq!(
            risk_color(&RiskColorError("red".into())),
            "customerRiskColor red is not a #RRGGBB colour"
        );
        assert_eq!(
            due_date(&DueDateError::UnknownType("3".into())),
            "dueDateConfigType 3 is not valid: use 1 (daysAfterInvoiceDate) or 2 (daysAfterEndOfInvoiceMonth)"
        );
        assert_eq!(
            exchange_rate(&ExchangeRateError::NotPositive),
            "exchangeRate must be greater than 0"
        );
        assert_eq!(
            reference(&ReferenceError::Slash),
            "reference cannot contain '/'"
        );
        assert_eq!(name(&NameError::LeadingSpace), "Improper Customer Name");
        assert_eq!(
            localized("titles", &LocalizedError::UnknownLanguage("it".into())),
            "titles: unknown language it; use en, de or fr"
        );
    }
}
