//! What the store's test files share: a store on a fresh database, the seeded root category,
//! and customers and users written through their ports.
#![allow(dead_code, reason = "each test file uses a part of it")]

use chrono::{DateTime, TimeZone, Utc};
use credence_domain::access::principal::Role;
use credence_domain::credit::Money;
use credence_domain::customers::reference_data::{Category, Label, User, UserDraft};
use credence_domain::customers::{Customer, CustomerData, Revision};
pub use credence_domain::fixtures::eur;
use credence_domain::ids::CustomerId;
use credence_domain::ports::{
    Admission, CustomerRepository, DocumentLinks, NewCustomer, RecordRepository, WriteError,
};
use credence_domain::values::Reference;
use credence_store::Store;
use credence_store::test_support::TestDb;
use uuid::Uuid;

/// `seconds` after the tests' epoch.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_760_000_000 + seconds, 0).unwrap()
}

/// An admission of `amount` cents against `account` for itself, at `at(now)`, held until
/// `at(expires)`.
pub fn admission(account: CustomerId, amount: i64, now: i64, expires: i64) -> Admission {
    Admission {
        account,
        customer: account,
        amount: Money::from_minor(amount, eur()),
        description: Some(format!("order of {amount}")),
        expires_at: at(expires),
        user: None,
        now: at(now),
        idempotency: None,
    }
}

/// The store over `db`, with EUR as the organization's currency.
pub fn store_for(db: &TestDb) -> Store {
    db.database().ensure_organization_currency(eur()).unwrap();
    Store::new(db.database().clone())
}

/// The root category every database is seeded with.
pub async fn root(store: &Store) -> Category {
    RecordRepository::<Category>::find_by_reference(store, "root")
        .await
        .unwrap()
        .unwrap()
}

/// A new customer's data: `reference`, `name`, the root category, EUR, nothing else.
pub async fn data(store: &Store, reference: &str, name: &str) -> CustomerData {
    credence_domain::fixtures::customer_data(reference, name, root(store).await, eur())
}

/// Inserts `data` (a fresh UUID, no documents) as the service would.
pub async fn try_insert(
    store: &Store,
    data: CustomerData,
    now: DateTime<Utc>,
) -> Result<Customer, WriteError> {
    try_insert_with(store, data, now, DocumentLinks::none()).await
}

/// Writes `data` over customer `id` as read at `revision`, with no document links and no
/// `If-Match`.
pub async fn update(
    store: &Store,
    id: CustomerId,
    revision: Revision,
    data: &CustomerData,
    now: DateTime<Utc>,
) -> Result<Option<Customer>, WriteError> {
    CustomerRepository::update(store, id, revision, data, &DocumentLinks::none(), None, now).await
}

/// Inserts `data` with a fresh UUID and the document links `links`.
pub async fn try_insert_with(
    store: &Store,
    data: CustomerData,
    now: DateTime<Utc>,
    links: DocumentLinks,
) -> Result<Customer, WriteError> {
    CustomerRepository::insert(
        store,
        &NewCustomer {
            uuid: Uuid::new_v4(),
            data,
            now,
            links,
        },
    )
    .await
}

/// Inserts `data`; the insert must succeed.
pub async fn insert(store: &Store, data: CustomerData, now: DateTime<Utc>) -> Customer {
    try_insert(store, data, now).await.unwrap()
}

/// Inserts a customer named after its reference, at `at(0)`.
pub async fn customer(store: &Store, reference: &str) -> Customer {
    let data = data(store, reference, reference).await;
    insert(store, data, at(0)).await
}

/// A user named after its reference, with no email, bound to `customer` (a customer's own
/// user) or to none.
pub fn user_draft(reference: &str, role: Role, customer: Option<CustomerId>) -> UserDraft {
    UserDraft {
        reference: Reference::new(reference).unwrap(),
        name: Label::new(reference).unwrap(),
        email: None,
        role,
        customer_id: customer,
    }
}

/// Creates an admin named after its reference.
pub async fn admin(store: &Store, reference: &str) -> User {
    RecordRepository::<User>::create(store, user_draft(reference, Role::Admin, None))
        .await
        .unwrap()
}

/// Waits (polling, at most 30 s) until a session of this PostgreSQL database waits for a lock
/// (a row lock or an advisory one).
pub fn until_someone_waits(db: &TestDb) {
    use diesel::prelude::*;
    let mut observer = diesel::PgConnection::establish(db.url()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let waiting: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut observer)
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the operation never waited for the lock held"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
