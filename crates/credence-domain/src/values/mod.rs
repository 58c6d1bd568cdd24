//! Value objects. Each has private fields and a fallible constructor with its own error, so
//! holding one proves it is valid. An error says what is wrong, with its numbers, and names no
//! field: one value serves several fields, and the field's wire name is the HTTP adapter's,
//! which words the error for the client (`credence-http`'s `wording.rs`).

mod country;
mod credit_limit;
mod currency;
mod due_date;
mod email;
mod geo;
mod name;
mod risk;
mod text;
mod website;

pub use country::{CountryCode, CountryError};
pub use credit_limit::{CreditLimit, CreditLimitError};
pub use currency::{CurrencyCode, CurrencyError, ExchangeRate, ExchangeRateError};
pub use due_date::{DueDateError, DueDateTerms, DueDateType};
pub use email::{Email, EmailError};
pub use geo::{CoordinateError, Latitude, Longitude};
pub use name::{CustomerName, MAX_LEN as MAX_NAME_LEN, NameError, Reference, ReferenceError};
pub use risk::{RiskColor, RiskColorError};
pub use text::{FreeText, TextError};
pub use website::{Website, WebsiteError};

/// What every text value object shares once it is valid: its text (`as_str`) and `Display`
/// as that text. The constructor, the only place a value object differs, stays hand-written.
macro_rules! text_value {
    ($name:ident) => {
        impl $name {
            /// The text, as validated.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use text_value;
