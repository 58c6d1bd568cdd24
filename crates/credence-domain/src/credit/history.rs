//! The credit-limit history: every limit an account has had, who set it, who approved it
//! where an approval was needed, and why. Written by the store in the transaction that changes
//! the limit; read newest first.

use chrono::{DateTime, Utc};

use super::Money;
use crate::customers::reference_data::User;

/// One change of an account's credit limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitChange {
    /// The limit before; `None` for the account's first one.
    pub previous: Option<Money>,
    /// The limit set.
    pub limit: Money,
    /// Who set it (`None` for a key without a user, and for the limit a customer was created
    /// with by the system).
    pub changed_by: Option<User>,
    /// Who approved it, where the change needed an approval.
    pub approved_by: Option<User>,
    /// Why, as the changer said.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}
