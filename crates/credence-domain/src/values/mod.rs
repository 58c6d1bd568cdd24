//! Value objects. Each has private fields and a fallible constructor with its own error, so
//! holding one proves it is valid. Error texts are written for the client: the HTTP adapter
//! sends them as `error_description` unchanged.

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
pub use name::{CustomerName, NameError, Reference, ReferenceError};
pub use risk::{RiskColor, RiskColorError};
pub use text::{FreeText, TextError};
pub use website::{Website, WebsiteError};
