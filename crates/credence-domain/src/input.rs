//! Errors in what a client sent, shared by every write use case. None names a field by its
//! wire name: a rule (one enum per capability, [`crate::customers::CustomerRule`] and its
//! siblings) says what is wrong and, by which rule it is, about which field; the HTTP adapter
//! words it with the API's field names (decision 0031). What the domain can say in its own
//! words (a row that does not exist, a currency) it says here.

use crate::values::NameError;

/// What was wrong with the input. Each variant maps to one of the API's error codes; the
/// rules are worded by the adapter, the other variants' `Display` is the text for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
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
    /// `404 not_found`: a parent that is the row itself or one of its descendants; the noun
    /// of the row (`customer`, `region`), as in [`InputError::NotFound`].
    #[error("The {0} cannot be a subcustomer of itself.")]
    OwnAncestor(&'static str),
    /// `400 exceeded_file_size`: an uploaded image over 2 MB.
    #[error("image size should not exceed 2Mo")]
    FileTooLarge,
    /// `400 unsupported_file_type`: an uploaded image that is not a jpg, gif, png or bmp.
    #[error("image format not supported.")]
    UnsupportedFileType,
    /// The display name of a row of reference data or of an API key that is no name.
    #[error(transparent)]
    Label(NameError),
    /// A rule of the customers capability (the adapter words it with its field names).
    #[error(transparent)]
    Customer(crate::customers::CustomerRule),
    /// A rule of the credit use cases (the adapter words it with its field names).
    #[error(transparent)]
    Credit(crate::credit::CreditRule),
    /// A rule of documents and their links (the adapter words it with its field names).
    #[error(transparent)]
    Document(crate::documents::DocumentRule),
    /// A rule of the catalog: products, task templates, tasks.
    #[error(transparent)]
    Catalog(crate::catalog::CatalogRule),
    /// A rule of list and search queries.
    #[error(transparent)]
    Query(crate::listing::QueryRule),
    /// A rule of a webhook endpoint's input.
    #[error(transparent)]
    Webhook(crate::webhooks::WebhookRule),
}

impl InputError {
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

/// Reads a boolean as forms write it: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any
/// case; `None` for anything else. The one leniency the domain still applies itself, to the
/// `internal` flags of document metadata and links, which it checks only after it has found
/// the document (so a missing one stays `404` whatever the body says); the HTTP adapter reads
/// every other boolean with it too, so the two cannot drift apart.
#[must_use]
pub fn flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_follow_seed_002() {
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
    fn flags_read_as_forms_write_them() {
        assert_eq!(flag("TRUE"), Some(true));
        assert_eq!(flag(" on "), Some(true));
        assert_eq!(flag("0"), Some(false));
        assert_eq!(flag("maybe"), None);
    }
}
