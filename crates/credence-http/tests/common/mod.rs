//! What the in-process test files share: the domain's mocks wired into [`Services`] the way
//! the composition root wires the real ports, and the rows behind the tests' API keys.
#![allow(dead_code, reason = "each test file uses a part of it")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_domain::Settings;
use credence_domain::access::credentials::{ApiKey, KeyId};
use credence_domain::customers::reference_data::{
    Category, Currency, Label, PaymentType, Region, Segmentation, User,
};
use credence_domain::documents::DocumentLimits;
use credence_domain::fixtures::eur;
use credence_domain::ports::{
    Clock, CustomerRepository, MockAccountLedger, MockBlobStore, MockClock, MockCustomerRepository,
    MockDocumentStore, MockEventFeed, MockIdempotencyStore, MockImageRenderer, MockKeyStore,
    MockProductCatalog, MockReadiness, MockRecordRepository, MockSecretSource, MockTaskBoard,
    SystemClock,
};
use credence_domain::services::{
    AccountService, AuthService, EventService, Media, OrderService, ReferencePorts,
};
use credence_domain::values::Reference;
use credence_domain::{CustomerId, Role, UserId};
use credence_http::{HttpConfig, ServiceParts, Services};

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The ports behind [`Services`]. A test file sets the ones it needs; every other one is a
/// mock that expects nothing, so a call to it panics.
pub struct Ports {
    /// The time the domain's services read.
    pub clock: Arc<dyn Clock>,
    /// The time the HTTP adapter itself reads (`Services::clock`).
    pub adapter_clock: Arc<dyn Clock>,
    pub keys: MockKeyStore,
    pub secrets: MockSecretSource,
    pub customers: Arc<dyn CustomerRepository>,
    /// Reference data; [`RecordService`]s over the same ports serve its routes.
    pub refs: ReferencePorts,
    pub ledger: MockAccountLedger,
    pub idempotency: MockIdempotencyStore,
    pub catalog: MockProductCatalog,
    pub board: MockTaskBoard,
    pub documents: MockDocumentStore,
    pub blobs: MockBlobStore,
    pub images: MockImageRenderer,
    pub readiness: MockReadiness,
}

impl Ports {
    /// Mocks that expect nothing, the domain's clock stopped at `now` and the adapter's the
    /// system clock.
    pub fn new(now: &str) -> Self {
        let now = at(now);
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || now);
        Self {
            clock: Arc::new(clock),
            adapter_clock: Arc::new(SystemClock),
            keys: MockKeyStore::new(),
            secrets: MockSecretSource::new(),
            customers: Arc::new(MockCustomerRepository::new()),
            refs: ReferencePorts {
                categories: Arc::new(MockRecordRepository::<Category>::new()),
                segmentations: Arc::new(MockRecordRepository::<Segmentation>::new()),
                payment_types: Arc::new(MockRecordRepository::<PaymentType>::new()),
                regions: Arc::new(MockRecordRepository::<Region>::new()),
                currencies: Arc::new(MockRecordRepository::<Currency>::new()),
                users: Arc::new(MockRecordRepository::<User>::new()),
            },
            ledger: MockAccountLedger::new(),
            idempotency: MockIdempotencyStore::new(),
            catalog: MockProductCatalog::new(),
            board: MockTaskBoard::new(),
            documents: MockDocumentStore::new(),
            blobs: MockBlobStore::new(),
            images: MockImageRenderer::new(),
            readiness: MockReadiness::new(),
        }
    }

    /// Every service over these ports; the organization is `entity1` in EUR.
    pub fn services(self) -> Services {
        let Self {
            clock,
            adapter_clock,
            keys,
            secrets,
            customers,
            refs,
            ledger,
            idempotency,
            catalog,
            board,
            documents,
            blobs,
            images,
            readiness,
        } = self;
        let auth = AuthService::new(
            Arc::new(keys),
            Arc::clone(&refs.users),
            Arc::clone(&customers),
            Arc::clone(&clock),
            Arc::new(secrets),
        );
        let accounts = AccountService::new(
            Arc::new(ledger),
            Arc::clone(&customers),
            Arc::clone(&refs.currencies),
            Arc::clone(&clock),
            chrono::TimeDelta::minutes(15),
        );
        let orders = OrderService::new(
            Arc::new(catalog),
            Arc::new(board),
            Arc::clone(&customers),
            accounts.clone(),
            Arc::clone(&clock),
        );
        let media = Media {
            documents: Arc::new(documents),
            blobs: Arc::new(blobs),
            images: Arc::new(images),
            limits: DocumentLimits::default(),
        };
        Services::new(ServiceParts {
            auth,
            accounts,
            orders,
            events: EventService::new(Arc::new(MockEventFeed::new()), Arc::clone(&customers)),
            webhooks: credence_domain::fixtures::idle_webhooks(),
            idempotency: Arc::new(idempotency),
            limit_requests: Arc::new(credence_domain::ports::MockLimitRequests::new()),
            customers,
            // No test here imports; the end-to-end tests do, on real databases.
            imports: Arc::new(credence_domain::ports::MockImportUnits::new()),
            refs,
            media,
            settings: Settings {
                organization: "entity1".into(),
                currency: eur(),
                credit_limit_approval_above: None,
            },
            clock,
            readiness: Arc::new(readiness),
            adapter_clock,
        })
    }
}

/// The row of an API key, `id`, of `user`: created at 2020-01-01, never used, not revoked.
pub fn key_of(id: i64, prefix: &str, user: User) -> (ApiKey, User) {
    let key = ApiKey {
        id: KeyId(id),
        user_id: user.id,
        prefix: prefix.into(),
        name: None,
        created_at: at("2020-01-01T00:00:00Z"),
        last_used_at: None,
        revoked_at: None,
    };
    (key, user)
}

/// A user row with no e-mail address.
pub fn user(
    id: i64,
    reference: &str,
    name: &str,
    role: Role,
    customer_id: Option<CustomerId>,
) -> User {
    User {
        id: UserId(id),
        reference: Reference::new(reference).unwrap(),
        name: Label::new(name).unwrap(),
        email: None,
        role,
        customer_id,
    }
}

/// An admin's key `key` (prefix `admin-key-f`), of user `user` with reference `reference`.
pub fn admin_key(key: i64, user_id: i64, reference: &str) -> (ApiKey, User) {
    key_of(
        key,
        "admin-key-f",
        user(user_id, reference, "Admin", Role::Admin, None),
    )
}

/// The default configuration with a request deadline of 50 ms.
pub fn deadline_of_50_ms() -> HttpConfig {
    HttpConfig {
        request_timeout: std::time::Duration::from_millis(50),
        ..HttpConfig::default()
    }
}
