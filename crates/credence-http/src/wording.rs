//! The API's words for what the domain refuses. The domain's errors say what is wrong, with
//! its numbers, and name fields by meaning (a rule, a value's error); the wire names of the
//! fields, and the texts the API has always answered with them, live here and nowhere else.
//! Each function words one value's error for the field that holds it; [`worded`] words the
//! domain's rules, exhaustively, so a new rule fails to compile until it has its text.

use credence_domain::credit::{CreditRule, MoneyError};
use credence_domain::customers::CustomerRule;
use credence_domain::documents::DocumentRule;
use credence_domain::input::InputError;
use credence_domain::values::{
    CoordinateError, CreditLimitError, DueDateError, DueDateTerms, ExchangeRateError, NameError,
    ReferenceError, RiskColorError, TextError,
};

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

/// A domain rule in the API's words: the field it concerns by its wire name, and the error
/// code and text the API has always answered for it. Errors that are not rules pass through.
pub(crate) fn worded(error: InputError) -> InputError {
    match error {
        InputError::Customer(rule) => customer(rule),
        InputError::Credit(rule) => credit(rule),
        InputError::Document(rule) => document(rule),
        other => other,
    }
}

fn customer(rule: CustomerRule) -> InputError {
    match rule {
        CustomerRule::ReferenceRequired => InputError::Missing("reference"),
        CustomerRule::NameRequired => InputError::Missing("name"),
        CustomerRule::ParentRequired => InputError::Missing("parentCustomer"),
        CustomerRule::DueDaysRequired => InputError::Missing("dueDateConfigNumber"),
        CustomerRule::ParentWithoutSubCustomer => InputError::invalid(
            "parentCustomer",
            "parentCustomer cannot be given when isSubCustomer is false",
        ),
        CustomerRule::DueDate(e) => InputError::invalid("dueDateConfigNumber", due_date(&e)),
        CustomerRule::CreditLimit(e) => InputError::invalid("creditLimit", credit_limit(&e)),
        CustomerRule::ResellerMovesOwn => {
            InputError::invalid("parentCustomer", "A reseller cannot move its own customer.")
        }
        CustomerRule::OutsideReseller => InputError::invalid(
            "parentCustomer",
            "A reseller's customers must stay below the reseller.",
        ),
        CustomerRule::Reference(e) => InputError::invalid("reference", reference(&e)),
        CustomerRule::ProjectNameBlank => InputError::invalid(
            "customerProjects",
            "A project name in customerProjects cannot be blank.",
        ),
        CustomerRule::ProjectNameTooLong(e) => {
            InputError::invalid("customerProjects", free_text("customerProjects.name", &e))
        }
    }
}

fn credit(rule: CreditRule) -> InputError {
    match rule {
        CreditRule::Amount(e) => InputError::invalid("amount", money("amount", &e)),
        CreditRule::Limit(e) => InputError::invalid("creditLimit", credit_limit(&e)),
    }
}

fn document(rule: DocumentRule) -> InputError {
    match rule {
        DocumentRule::Description(e) => {
            InputError::invalid("description", free_text("description", &e))
        }
        DocumentRule::LinkDescription(e) => {
            InputError::invalid("documents", free_text("documents.description", &e))
        }
    }
}
