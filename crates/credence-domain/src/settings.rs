//! Organization-wide settings that the rules need: read from configuration, passed down.

use rust_decimal::Decimal;

use crate::values::CurrencyCode;

/// What the service knows about the organization it runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Shown as `organization` on every customer.
    pub organization: String,
    /// The currency of the organization; exchange rates are relative to it.
    pub currency: CurrencyCode,
    /// Four-eyes limit changes: a raise of a credit limit above this amount (in the
    /// organization currency) waits for another admin's approval; `None` turns that off.
    pub credit_limit_approval_above: Option<Decimal>,
}
