//! The credit bodies as the API reads them: one type per request, read from any body (JSON,
//! form or multipart) by the fields' wire names, and the source of that request's OpenAPI
//! schema, as `customers/form.rs` is for a customer. A field the schema documents is a field
//! the reader reads: the test below fails for any it does not. Each reader reads its fields
//! in one fixed order, so a body with two faults is always answered with the same one.

use credence_domain::input::InputError;
use credence_domain::values::{CurrencyCode, FreeText};
use rust_decimal::Decimal;
use utoipa::ToSchema;

use serde_json::Value;

use crate::body::{BodyFields, RawField};
use crate::input::{amount, given, parse_decimal, parse_int, required_amount};
use crate::wording::{self, WireError};

/// `currency`: a configured ISO 4217 code; `None` for the account currency.
fn currency(fields: &BodyFields) -> Result<Option<CurrencyCode>, WireError> {
    given(fields, "currency")?
        .map(|code| CurrencyCode::parse(&code).map_err(|e| InputError::UnknownCurrency(e.0).into()))
        .transpose()
}

/// `PUT .../account/creditLimit`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreditLimitForm {
    /// Exact decimal (number or string), >= 0, at most the currency's minor-unit digits.
    #[schema(value_type = f64, minimum = 0, example = 3000.00)]
    pub(crate) credit_limit: Decimal,
    /// Why, for the credit-limit history; at most 255 characters.
    #[schema(value_type = Option<String>, max_length = 255, example = "Paid on time for a year")]
    pub(crate) reason: Option<FreeText>,
}

impl CreditLimitForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` or `invalid_param_type` naming `creditLimit`; `invalid_param` for a
    /// `reason` over 255 characters.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let credit_limit = required_amount(fields, "creditLimit")?;
        let reason = given(fields, "reason")?
            .map(|text| FreeText::new(&text, FreeText::SHORT))
            .transpose()
            .map_err(|e| WireError::invalid("reason", wording::free_text("reason", &e)))?
            .flatten();
        Ok(Self {
            credit_limit,
            reason,
        })
    }
}

/// `PUT .../account/alerts`: the thresholds of available credit to be told about.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertsForm {
    /// Exact decimals (numbers or strings); an empty list removes every alert. In a form,
    /// the key repeated or the values comma-separated.
    #[schema(value_type = Vec<f64>, example = json!([1000.00, 100.00]))]
    pub(crate) available_below: Vec<Decimal>,
}

impl AlertsForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` naming `availableBelow` when absent or null; `invalid_param_type`
    /// naming it for anything but amounts.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        const NAME: &str = "availableBelow";
        let mut thresholds = Vec::new();
        let mut seen = false;
        for raw in fields.all(NAME) {
            seen = true;
            match raw {
                RawField::Null => return Err(WireError::Missing(NAME)),
                RawField::Text(text) => {
                    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
                        thresholds.push(parse_decimal(NAME, part)?);
                    }
                }
                RawField::Json(Value::Array(items)) => {
                    for item in items {
                        let text = match item {
                            Value::Number(n) => n.to_string(),
                            Value::String(s) => s.clone(),
                            _ => return Err(WireError::InvalidType(NAME)),
                        };
                        thresholds.push(parse_decimal(NAME, &text)?);
                    }
                }
                RawField::Json(_) => return Err(WireError::InvalidType(NAME)),
            }
        }
        if !seen {
            return Err(WireError::Missing(NAME));
        }
        Ok(Self {
            available_below: thresholds,
        })
    }
}

/// A payment or a charge.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct PostingForm {
    /// Exact decimal (number or string), > 0.
    #[schema(value_type = f64, exclusive_minimum = 0, example = 100.00)]
    pub(crate) amount: Decimal,
    pub(crate) description: Option<String>,
}

impl PostingForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` or `invalid_param_type` naming `amount`; `invalid_param_type` for a
    /// structured `description`.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            amount: required_amount(fields, "amount")?,
            description: given(fields, "description")?,
        })
    }
}

/// An adjustment: signed, with a reason.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct AdjustmentForm {
    /// Exact decimal (number or string), not 0.
    #[schema(value_type = f64, example = -5.00)]
    pub(crate) amount: Decimal,
    /// Required, not blank.
    #[schema(pattern = "{non_blank}")]
    pub(crate) reason: String,
}

impl AdjustmentForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` or `invalid_param_type` naming `amount` or `reason`.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            amount: required_amount(fields, "amount")?,
            reason: given(fields, "reason")?.ok_or(WireError::Missing("reason"))?,
        })
    }
}

/// An admission request.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReservationForm {
    /// Exact decimal (number or string), > 0.
    #[schema(value_type = f64, exclusive_minimum = 0, example = 50.00)]
    pub(crate) amount: Decimal,
    pub(crate) description: Option<String>,
    /// Seconds until it expires (1 to 30 days); the configured default when absent.
    #[schema(minimum = 1, maximum = 2592000)]
    pub(crate) expires_in: Option<i64>,
    /// A configured ISO 4217 code; the account currency when absent.
    #[schema(value_type = Option<String>)]
    pub(crate) currency: Option<CurrencyCode>,
}

impl ReservationForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` or `invalid_param_type` naming `amount`, `invalid_param_type` naming
    /// `expiresIn`, `not_found` for a currency that is not ISO 4217.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let amount = required_amount(fields, "amount")?;
        let currency = currency(fields)?;
        let description = given(fields, "description")?;
        let expires_in = given(fields, "expiresIn")?
            .map(|t| parse_int("expiresIn", &t))
            .transpose()?;
        Ok(Self {
            amount,
            description,
            expires_in,
            currency,
        })
    }
}

/// A capture: all of the reservation unless `amount` says less.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct CaptureForm {
    #[schema(value_type = Option<f64>, example = 45.00)]
    pub(crate) amount: Option<Decimal>,
}

impl CaptureForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `invalid_param_type` naming `amount`.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            amount: amount(fields, "amount")?,
        })
    }
}

/// A quote request.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct QuoteForm {
    #[schema(value_type = f64, example = 50.00)]
    pub(crate) amount: Decimal,
    /// A configured ISO 4217 code; the account currency when absent.
    #[schema(value_type = Option<String>)]
    pub(crate) currency: Option<CurrencyCode>,
}

impl QuoteForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` or `invalid_param_type` naming `amount`, `not_found` for a currency
    /// that is not ISO 4217.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            amount: required_amount(fields, "amount")?,
            currency: currency(fields)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value each property's reader accepts.
    fn sample(name: &str) -> &'static str {
        match name {
            "currency" => "EUR",
            "reason" | "description" => "why",
            _ => "60",
        }
    }

    #[test]
    fn the_readers_read_every_property_of_their_schemas() {
        crate::schema_check::readers_read_every_property(
            &[
                ("CreditLimitForm", |f| CreditLimitForm::read(f).map(drop)),
                ("PostingForm", |f| PostingForm::read(f).map(drop)),
                ("AdjustmentForm", |f| AdjustmentForm::read(f).map(drop)),
                ("ReservationForm", |f| ReservationForm::read(f).map(drop)),
                ("CaptureForm", |f| CaptureForm::read(f).map(drop)),
                ("QuoteForm", |f| QuoteForm::read(f).map(drop)),
            ],
            sample,
        );
    }

    /// The published bounds of a reservation's expiry are the ones the service applies.
    #[test]
    fn the_expiry_bounds_are_the_services() {
        use utoipa::PartialSchema as _;
        let schema = serde_json::to_value(ReservationForm::schema()).unwrap();
        let expires_in = &schema["properties"]["expiresIn"];
        assert_eq!(expires_in["minimum"], 1, "{expires_in}");
        assert_eq!(
            expires_in["maximum"],
            credence_domain::credit::service::MAX_EXPIRY_SECS,
            "{expires_in}"
        );
    }
}
