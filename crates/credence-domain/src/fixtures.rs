//! Values for tests (feature `fixtures`, which `mocks` includes): one place that builds a
//! customer, so a field added to [`CustomerData`] is added to the tests' customers here, once.

use crate::customer::{Address, CustomerData};
use crate::reference_data::Category;
use crate::values::{CreditLimit, CurrencyCode, CustomerName, Reference};

/// A live, active customer with only what every customer has: `reference`, `name`,
/// `category`, and `currency` as its currency with a zero credit limit; everything else empty
/// (no parent, addresses, contacts, payment types, projects or logo). Change fields on the
/// result for what a test needs.
///
/// # Panics
/// When `reference` or `name` is not a valid value: fixtures are for tests.
#[must_use]
pub fn customer_data(
    reference: &str,
    name: &str,
    category: Category,
    currency: CurrencyCode,
) -> CustomerData {
    CustomerData {
        reference: Reference::new(reference)
            .unwrap_or_else(|e| panic!("fixture reference {reference:?}: {e}")),
        reference2: None,
        name: CustomerName::new(name).unwrap_or_else(|e| panic!("fixture name {name:?}: {e}")),
        category,
        parent: None,
        bill_with_parent: false,
        segmentation: None,
        email: None,
        phone: None,
        mobile: None,
        fax: None,
        comment: None,
        barcode: None,
        is_same_address: true,
        billing: Address::default(),
        shipping: Address::default(),
        credit_limit: CreditLimit::zero(currency),
        is_active: true,
        on_hold: false,
        on_hold_reason: None,
        created_by: None,
        due_date_terms: None,
        payment_types: Vec::new(),
        website: None,
        tax_number: None,
        company_registration_number: None,
        currency,
        customer_risk: None,
        customer_risk_color: None,
        region: None,
        contacts: Vec::new(),
        projects: Vec::new(),
        logo: None,
    }
}
