//! Values for tests (feature `fixtures`, which `mocks` includes): one place that builds a
//! customer, so a field added to [`CustomerData`] is added to the tests' customers here, once.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::customers::reference_data::{Category, Label};
use crate::customers::{CustomerChanges, CustomerData, Defaults, Resolved, Revision};
use crate::field::Field;
use crate::ids::{CategoryId, CustomerId};
use crate::values::{CurrencyCode, CustomerName, Reference};

/// The tests' currency, `EUR`.
///
/// # Panics
/// Never: `EUR` is a valid code.
#[must_use]
pub fn eur() -> CurrencyCode {
    CurrencyCode::parse("EUR").unwrap_or_else(|e| panic!("fixture currency EUR: {e}"))
}

/// The root category the tests' customers are in: id 1, reference `root`, name `Root`, no
/// parent.
///
/// # Panics
/// Never: its reference and name are valid.
#[must_use]
pub fn root_category() -> Category {
    Category {
        id: CategoryId(1),
        reference: Reference::new("root").unwrap_or_else(|e| panic!("fixture reference: {e}")),
        name: Label::new("Root").unwrap_or_else(|e| panic!("fixture label: {e}")),
        parent_id: None,
    }
}

/// `data` as the store gives it back: id `id` (and a UUID made from it, so it is the same on
/// every run), created and last updated `at`, first revision, no account and no documents.
///
/// # Panics
/// When `id` is negative.
#[must_use]
pub fn stored_customer(
    id: i64,
    data: CustomerData,
    at: DateTime<Utc>,
) -> crate::customers::Customer {
    crate::customers::Customer {
        id: CustomerId(id),
        uuid: uuid::Uuid::from_u128(
            u128::try_from(id).unwrap_or_else(|e| panic!("fixture id {id}: {e}")),
        ),
        data,
        date_created: at,
        last_updated: at,
        revision: Revision::FIRST,
        account: None,
        documents: Vec::new(),
    }
}

/// A live, active customer with only what every customer has: `reference`, `name`,
/// `category`, and `currency` as its currency with a zero credit limit; everything else as a
/// creation that names nothing else leaves it (no parent, addresses, contacts, payment types,
/// projects or logo). Change fields on the result for what a test needs.
///
/// Built by the creation rule itself ([`CustomerChanges::into_data`]), so a new field gets its
/// default here without a line of its own.
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
    let changes = CustomerChanges {
        reference: Field::Value(
            Reference::new(reference)
                .unwrap_or_else(|e| panic!("fixture reference {reference:?}: {e}")),
        ),
        name: Field::Value(
            CustomerName::new(name).unwrap_or_else(|e| panic!("fixture name {name:?}: {e}")),
        ),
        ..CustomerChanges::default()
    };
    let defaults = Defaults {
        category,
        currency,
        created_by: None,
        credit_limit: Decimal::ZERO,
    };
    changes
        .into_data(Resolved::default(), None, &defaults)
        .unwrap_or_else(|e| panic!("fixture customer {reference:?}: {e}"))
}

/// A webhook service whose ports expect no call, for tests of other routes that must build
/// every service.
#[cfg(feature = "mocks")]
#[must_use]
pub fn idle_webhooks() -> crate::webhooks::WebhookService {
    use std::sync::Arc;
    crate::webhooks::WebhookService::new(
        Arc::new(crate::ports::MockWebhookStore::new()),
        Arc::new(crate::ports::MockDeliveryStore::new()),
        Arc::new(crate::ports::MockHostResolver::new()),
        Arc::new(crate::ports::MockSecretSource::new()),
        Arc::new(crate::ports::SystemClock),
        crate::webhooks::WebhookPolicy::default(),
    )
}
