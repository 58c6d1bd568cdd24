//! Who may reach which customer. Admins reach every customer; a reseller reaches its own
//! customer and every customer below it; a customer principal reaches only its own.

use crate::ids::CustomerId;
use crate::ports::{CustomerRepository, StoreError};
use crate::principal::{Principal, Role};

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

/// Whether the principal works in the back office at all (customers use the marketplace).
pub(crate) fn uses_back_office(principal: &Principal) -> bool {
    principal.role() != Role::Customer
}
