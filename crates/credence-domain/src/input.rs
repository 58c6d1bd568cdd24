//! Errors in what a client sent, shared by every write use case, and the small parsers that
//! turn wire text into typed values. The HTTP adapter hands every scalar over as text, so
//! "is this a boolean?" is answered here, once, the same way for JSON, forms and multipart.

use std::str::FromStr;

use rust_decimal::Decimal;

/// What was wrong with the input. Each variant maps to one of the API's error codes; the
/// `Display` text is the `error_description` sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// `400 missing_param`.
    #[error("{0} parameter is missing")]
    Missing(&'static str),
    /// `400 invalid_param`.
    #[error("{message}")]
    Invalid {
        /// The wire name of the field.
        field: &'static str,
        /// What is wrong, for the client.
        message: String,
    },
    /// `400 invalid_param_type`: a value of the wrong type (text where a number belongs).
    #[error("The type of parameter {0} you provided is not valid for this request.")]
    InvalidType(&'static str),
    /// `404 not_found`: an id-valued field names nothing.
    #[error("The {noun} with the id {key} doesn't exist.")]
    NotFound {
        /// What was looked for (`payment type`, `parent customer`).
        noun: &'static str,
        /// The id or reference as the client wrote it.
        key: String,
    },
    /// `404 not_found`: not an ISO 4217 code.
    #[error("The currency with name {0} doesn't exist.")]
    UnknownCurrency(String),
    /// `404 not_found`: an ISO code that the organization has not configured.
    #[error("The currency with name {0} is not configured.")]
    CurrencyNotConfigured(String),
    /// `404 not_found`: a parent that is the row itself or one of its descendants.
    #[error("The {0} cannot be a subcustomer of itself.")]
    OwnAncestor(&'static str),
    /// `400 exceeded_file_size`: an uploaded image over 2 MB.
    #[error("image size should not exceed 2Mo")]
    FileTooLarge,
    /// `400 unsupported_file_type`: an uploaded image that is not a jpg, gif, png or bmp.
    #[error("image format not supported.")]
    UnsupportedFileType,
    /// A rule of the customers capability (the adapter words it with its field names).
    #[error(transparent)]
    Customer(crate::customers::CustomerRule),
    /// A rule of the credit use cases (the adapter words it with its field names).
    #[error(transparent)]
    Credit(crate::credit::CreditRule),
    /// A rule of documents and their links (the adapter words it with its field names).
    #[error(transparent)]
    Document(crate::documents::DocumentRule),
}

impl InputError {
    /// An `invalid_param` error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Whether the client should get `404` rather than `400`.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. }
                | Self::UnknownCurrency(_)
                | Self::CurrencyNotConfigured(_)
                | Self::OwnAncestor(_)
        )
    }
}

/// Parses a boolean as forms write them: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
///
/// # Errors
/// [`InputError::InvalidType`] naming `field` otherwise.
pub fn parse_bool(field: &'static str, text: &str) -> Result<bool, InputError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(InputError::InvalidType(field)),
    }
}

/// Parses an integer.
///
/// # Errors
/// [`InputError::InvalidType`] naming `field` when the text is no integer.
pub fn parse_int(field: &'static str, text: &str) -> Result<i64, InputError> {
    i64::from_str(text.trim()).map_err(|_| InputError::InvalidType(field))
}

/// Parses a finite floating-point number (coordinates only; money is never a float).
///
/// # Errors
/// [`InputError::InvalidType`] naming `field` when the text is no number.
pub fn parse_float(field: &'static str, text: &str) -> Result<f64, InputError> {
    f64::from_str(text.trim())
        .ok()
        .filter(|f| f.is_finite())
        .ok_or(InputError::InvalidType(field))
}

/// Parses an exact decimal, accepting exponents (`1e3`) as JSON numbers may carry them.
///
/// # Errors
/// [`InputError::InvalidType`] naming `field` when the text is no decimal number.
pub fn parse_decimal(field: &'static str, text: &str) -> Result<Decimal, InputError> {
    let text = text.trim();
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| InputError::InvalidType(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_follow_seed_002() {
        assert_eq!(
            InputError::Missing("reference").to_string(),
            "reference parameter is missing"
        );
        assert_eq!(
            InputError::InvalidType("id").to_string(),
            "The type of parameter id you provided is not valid for this request."
        );
        assert_eq!(
            InputError::NotFound {
                noun: "payment type",
                key: "999".into()
            }
            .to_string(),
            "The payment type with the id 999 doesn't exist."
        );
        assert_eq!(
            InputError::CurrencyNotConfigured("GBP".into()).to_string(),
            "The currency with name GBP is not configured."
        );
        assert_eq!(
            InputError::OwnAncestor("customer").to_string(),
            "The customer cannot be a subcustomer of itself."
        );
    }

    #[test]
    fn scalars_parse_strictly() {
        assert_eq!(parse_bool("isActive", "TRUE"), Ok(true));
        assert_eq!(parse_bool("isActive", "0"), Ok(false));
        assert_eq!(
            parse_bool("isActive", "maybe"),
            Err(InputError::InvalidType("isActive"))
        );
        assert_eq!(parse_int("regionId", " 42 "), Ok(42));
        assert!(parse_int("regionId", "4.2").is_err());
        assert!(parse_float("latitude", "NaN").is_err());
        assert_eq!(
            parse_decimal("creditLimit", "5000.10").map(|d| d.to_string()),
            Ok("5000.10".into())
        );
        assert_eq!(
            parse_decimal("creditLimit", "1e3").map(|d| d.normalize().to_string()),
            Ok("1000".into())
        );
        assert!(parse_decimal("creditLimit", "lots").is_err());
    }
}
