//! `CustomerService` over mocked ports: the orchestration the store cannot see.
#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_domain::customers::reference_data::{
    Category, Currency, PaymentType, Region, Segmentation, User,
};
use credence_domain::customers::{
    AddressChanges, Customer, CustomerChanges, CustomerData, CustomerKey, CustomerRule, RefKey,
};
use credence_domain::documents::DocumentLimits;
use credence_domain::field::Field;
use credence_domain::fixtures::{customer_data, eur, root_category, stored_customer};
use credence_domain::input::InputError;
use credence_domain::ports::{
    MockBlobStore, MockClock, MockCustomerRepository, MockDocumentStore, MockImageRenderer,
    MockRecordRepository, RemoveError, StoreError, WriteError,
};
use credence_domain::services::{
    CreateCustomerError, CustomerService, DeleteCustomerError, Media, ReferencePorts,
    UpdateCustomerError,
};
use credence_domain::values::{CurrencyCode, CustomerName, FreeText, Reference};
use credence_domain::{CustomerId, Principal, Settings};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_450_393_200, 0).unwrap()
}

fn data(reference: &str) -> CustomerData {
    customer_data(reference, "Name", root_category(), eur())
}

fn stored(id: i64, data: CustomerData) -> Customer {
    stored_customer(id, data, now())
}

struct Ports {
    customers: MockCustomerRepository,
    documents: MockDocumentStore,
    blobs: MockBlobStore,
    images: MockImageRenderer,
    categories: MockRecordRepository<Category>,
    payment_types: MockRecordRepository<PaymentType>,
    currencies: MockRecordRepository<Currency>,
}

impl Ports {
    fn new() -> Self {
        let mut categories = MockRecordRepository::<Category>::new();
        categories
            .expect_find_by_reference()
            .returning(|_| Ok(Some(root_category())));
        Self {
            customers: MockCustomerRepository::new(),
            documents: MockDocumentStore::new(),
            blobs: MockBlobStore::new(),
            images: MockImageRenderer::new(),
            categories,
            payment_types: MockRecordRepository::new(),
            currencies: MockRecordRepository::new(),
        }
    }

    fn service(self) -> CustomerService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let refs = ReferencePorts {
            categories: Arc::new(self.categories),
            segmentations: Arc::new(MockRecordRepository::<Segmentation>::new()),
            payment_types: Arc::new(self.payment_types),
            regions: Arc::new(MockRecordRepository::<Region>::new()),
            currencies: Arc::new(self.currencies),
            users: Arc::new(MockRecordRepository::<User>::new()),
        };
        let settings = Settings {
            organization: "entity1".into(),
            currency: eur(),
            credit_limit_approval_above: None,
        };
        let media = Media {
            documents: Arc::new(self.documents),
            blobs: Arc::new(self.blobs),
            images: Arc::new(self.images),
            limits: DocumentLimits::default(),
        };
        CustomerService::new(
            Arc::new(self.customers),
            refs,
            Arc::new(clock),
            settings,
            media,
        )
    }
}

fn input(reference: &str, name: &str) -> CustomerChanges {
    CustomerChanges {
        reference: Field::Value(Reference::new(reference).unwrap()),
        name: Field::Value(CustomerName::new(name).unwrap()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_puts_new_customers_in_the_root_category_with_defaults() {
    let mut ports = Ports::new();
    ports.customers.expect_insert().times(1).returning(|new| {
        assert_eq!(new.data.category.reference.as_str(), "root");
        assert_eq!(new.data.currency, eur());
        assert!(new.data.is_active && new.data.is_same_address);
        assert_eq!(new.now, now());
        Ok(stored(7, new.data.clone()))
    });
    let customer = ports
        .service()
        .create(&Principal::system_admin(), input("NC-3", "Marie"))
        .await
        .unwrap();
    assert_eq!(customer.id, CustomerId(7));
}

#[tokio::test]
async fn create_reports_unknown_payment_types_and_unconfigured_currencies_without_writing() {
    let mut ports = Ports::new();
    ports.payment_types.expect_get().returning(|_| Ok(None));
    ports.currencies.expect_get().returning(|_| Ok(None));
    ports.customers.expect_insert().never();
    let service = ports.service();
    let mut with_type = input("r", "n");
    with_type.payment_types = Field::Value(vec![RefKey::Id(999)]);
    let error = service
        .create(&Principal::system_admin(), with_type)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CreateCustomerError::Input(e) if e.to_string() == "The payment type with the id 999 doesn't exist."),
        "{error:?}"
    );
    let mut with_currency = input("r", "n");
    with_currency.currency = Field::Value(CurrencyCode::parse("GBP").unwrap());
    let error = service
        .create(&Principal::system_admin(), with_currency)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CreateCustomerError::Input(InputError::CurrencyNotConfigured(code)) if code == "GBP")
    );
}

#[tokio::test]
async fn a_duplicate_reference_from_the_store_is_not_unique() {
    let mut ports = Ports::new();
    ports
        .customers
        .expect_insert()
        .returning(|_| Err(WriteError::DuplicateReference));
    let error = ports
        .service()
        .create(&Principal::system_admin(), input("r", "n"))
        .await
        .unwrap_err();
    assert!(matches!(error, CreateCustomerError::DuplicateReference));
}

#[tokio::test]
async fn an_upsert_that_loses_the_creation_race_updates_the_winner() {
    let mut ports = Ports::new();
    let mut seq = mockall::Sequence::new();
    ports
        .customers
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(None));
    ports
        .customers
        .expect_insert()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(WriteError::DuplicateReference));
    ports
        .customers
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(stored(3, data("RACE")))));
    ports
        .customers
        .expect_update()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id, _, data, _, _, _| Ok(Some(stored(id.get(), data.clone()))));
    let body = CustomerChanges {
        name: Field::Value(CustomerName::new("Racer").unwrap()),
        shipping: AddressChanges {
            city: Field::Value(FreeText::from_trusted("Nice".into())),
            ..Default::default()
        },
        ..Default::default()
    };
    let saved = ports
        .service()
        .upsert(&Principal::system_admin(), "RACE", body, None)
        .await
        .unwrap();
    assert!(!saved.created, "the loser reports an update");
    assert_eq!(saved.customer.id, CustomerId(3));
    assert_eq!(
        saved
            .customer
            .data
            .shipping
            .city
            .as_ref()
            .map(|c| c.as_str()),
        Some("Nice")
    );
}

#[tokio::test]
async fn a_customer_cannot_become_the_child_of_its_descendant() {
    let mut ports = Ports::new();
    ports.customers.expect_get().returning(|key| match key {
        CustomerKey::Id(id) => Ok(Some(stored(id.get(), data(&format!("c{id}"))))),
        _ => Ok(None),
    });
    // 3's ancestors are 2 and 1: making 3 the parent of 1 would close a loop.
    ports
        .customers
        .expect_ancestors()
        .returning(|_| Ok(vec![CustomerId(2), CustomerId(1)]));
    ports.customers.expect_update().never();
    let body = CustomerChanges {
        parent: Field::Value(RefKey::Id(3)),
        ..Default::default()
    };
    let error = ports
        .service()
        .update(
            &Principal::system_admin(),
            &CustomerKey::Id(CustomerId(1)),
            body,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UpdateCustomerError::Input(e) if e.to_string() == "The customer cannot be a subcustomer of itself."),
        "{error:?}"
    );
}

#[tokio::test]
async fn delete_maps_live_children_and_store_outages() {
    let mut ports = Ports::new();
    ports
        .customers
        .expect_get()
        .returning(|_| Ok(Some(stored(1, data("p")))));
    let mut seq = mockall::Sequence::new();
    ports
        .customers
        .expect_archive()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Err(RemoveError::InUse));
    ports
        .customers
        .expect_archive()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| {
            Err(RemoveError::Store(StoreError::Unavailable(
                "pool exhausted".into(),
            )))
        });
    let service = ports.service();
    let key = CustomerKey::Id(CustomerId(1));
    assert!(matches!(
        service.delete(&Principal::system_admin(), &key, None).await,
        Err(DeleteCustomerError::HasSubCustomers)
    ));
    assert!(matches!(
        service.delete(&Principal::system_admin(), &key, None).await,
        Err(DeleteCustomerError::Store(StoreError::Unavailable(_)))
    ));
}

fn reseller() -> Principal {
    Principal::new(None, credence_domain::Role::Reseller, Some(CustomerId(10)))
}

fn customer_principal() -> Principal {
    Principal::new(None, credence_domain::Role::Customer, Some(CustomerId(11)))
}

/// Customer 10 is the reseller's; 11 hangs below it; 20 is another tenant's.
fn tree(ports: &mut Ports) {
    ports.customers.expect_get().returning(|key| match key {
        CustomerKey::Id(id) => Ok(Some(stored(id.get(), data(&format!("c{id}"))))),
        _ => Ok(None),
    });
    ports.customers.expect_ancestors().returning(|id| {
        Ok(if id.get() == 11 {
            vec![CustomerId(10)]
        } else {
            vec![]
        })
    });
}

#[tokio::test]
async fn customer_principals_reach_only_me() {
    let mut ports = Ports::new();
    tree(&mut ports);
    ports.customers.expect_list().never();
    ports.customers.expect_insert().never();
    let service = ports.service();
    let principal = customer_principal();
    let query = credence_domain::customers::CustomerQuery::default();
    assert!(matches!(
        service.list(&principal, &query).await,
        Err(credence_domain::services::ListCustomersError::Forbidden)
    ));
    assert!(matches!(
        service
            .get(&principal, &CustomerKey::Id(CustomerId(11)))
            .await,
        Err(credence_domain::services::GetCustomerError::Forbidden)
    ));
    assert!(matches!(
        service.create(&principal, input("x", "y")).await,
        Err(CreateCustomerError::Forbidden)
    ));
    assert_eq!(service.me(&principal).await.unwrap().id, CustomerId(11));
}

#[tokio::test]
async fn resellers_see_their_tree_and_nothing_else() {
    let mut ports = Ports::new();
    tree(&mut ports);
    ports
        .customers
        .expect_list()
        .withf(|query| query.filter.within == Some(CustomerId(10)))
        .times(1)
        .returning(|_| {
            Ok(credence_domain::listing::Page {
                items: Vec::new(),
                total: 0,
            })
        });
    let service = ports.service();
    let reseller = reseller();
    service.list(&reseller, &Default::default()).await.unwrap();
    assert_eq!(
        service
            .get(&reseller, &CustomerKey::Id(CustomerId(11)))
            .await
            .unwrap()
            .id,
        CustomerId(11)
    );
    let outside = service
        .get(&reseller, &CustomerKey::Id(CustomerId(20)))
        .await
        .unwrap_err();
    assert_eq!(
        outside.to_string(),
        "The customer with the id 20 doesn't exist.",
        "as if it did not exist"
    );
    assert!(matches!(
        service
            .delete(&reseller, &CustomerKey::Id(CustomerId(10)), None)
            .await,
        Err(DeleteCustomerError::Forbidden)
    ));
}

#[tokio::test]
async fn a_resellers_new_customers_hang_below_it_and_stay_there() {
    let mut ports = Ports::new();
    tree(&mut ports);
    ports.customers.expect_insert().times(1).returning(|new| {
        assert_eq!(
            new.data.parent.as_ref().map(|p| p.id),
            Some(CustomerId(10)),
            "below the reseller"
        );
        Ok(stored(12, new.data.clone()))
    });
    ports.customers.expect_update().never();
    let service = ports.service();
    service
        .create(&reseller(), input("new", "New"))
        .await
        .unwrap();
    let outside_parent = CustomerChanges {
        parent: Field::Value(RefKey::Id(20)),
        ..input("x", "X")
    };
    let error = service
        .create(&reseller(), outside_parent)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CreateCustomerError::Input(e) if e.is_not_found()),
        "{error:?}"
    );
    let detach = CustomerChanges {
        is_sub_customer: Field::Value(false),
        ..Default::default()
    };
    let error = service
        .update(&reseller(), &CustomerKey::Id(CustomerId(11)), detach, None)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        UpdateCustomerError::Input(InputError::Customer(CustomerRule::OutsideReseller))
    ));
}
