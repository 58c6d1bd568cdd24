//! Who may reach which customer. Admins reach every customer; a reseller reaches its own
//! customer and every customer below it; a customer principal reaches only its own.

use crate::access::principal::{Principal, Role};
use crate::ids::CustomerId;
use crate::ports::{CustomerRepository, StoreError};

/// Whether `principal` may see and manage the customer `id`.
///
/// # Errors
/// [`StoreError`] when the ancestors cannot be read.
pub async fn reaches(
    customers: &dyn CustomerRepository,
    principal: &Principal,
    id: CustomerId,
) -> Result<bool, StoreError> {
    match (principal.role(), principal.customer_id()) {
        (Role::Admin, _) => Ok(true),
        (_, None) => Ok(false),
        (Role::Customer, Some(own)) => Ok(own == id),
        (Role::Reseller, Some(own)) => {
            Ok(own == id || customers.ancestors(id).await?.contains(&own))
        }
    }
}

/// The customer tree a back-office list or a new back-office resource is narrowed to:
/// `None` for an admin (every customer), the reseller's own customer for a reseller (it and
/// everything below it). One rule for every capability, so a new role or scope changes it
/// here.
///
/// # Errors
/// [`OutsideBackOffice`] for a customer principal, and for a reseller bound to no customer.
pub fn back_office_tree(principal: &Principal) -> Result<Option<CustomerId>, OutsideBackOffice> {
    match principal.role() {
        Role::Admin => Ok(None),
        Role::Reseller => principal.customer_id().map(Some).ok_or(OutsideBackOffice),
        Role::Customer => Err(OutsideBackOffice),
    }
}

/// Whether `customer` is the one a reseller's key belongs to. Its money and credit controls
/// (payments, charges, adjustments, its limit, its hold) are the operator's: the reseller reads
/// them and orders against them, but does not move them.
#[must_use]
pub fn is_resellers_own(principal: &Principal, customer: CustomerId) -> bool {
    principal.role() == Role::Reseller && principal.customer_id() == Some(customer)
}

/// A principal with no place in the back office; each service answers it as its own
/// `Forbidden`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutsideBackOffice;

/// Whether the principal works in the back office at all (customers use the marketplace).
pub(crate) fn uses_back_office(principal: &Principal) -> bool {
    Function::BackOffice.admits(principal)
}

/// A group of use cases that a role may or may not use at all, whatever the request holds.
/// The services check it first; adapters may ask it before they even read a request's
/// body, so a caller who may not use a function learns that (`403`) rather than what is
/// wrong with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The back office: admins and resellers (a customer principal uses the marketplace).
    BackOffice,
    /// The operators' functions: the catalog, task states, reference data writes.
    Operations,
}

impl Function {
    /// Whether `principal`'s role may use the function at all (scope comes after).
    #[must_use]
    pub fn admits(self, principal: &Principal) -> bool {
        match self {
            Self::BackOffice => principal.role() != Role::Customer,
            Self::Operations => principal.is_admin(),
        }
    }
}
