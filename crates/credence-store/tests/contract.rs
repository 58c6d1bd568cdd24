//! The store's contract, written once and run on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set. Every test gets a fresh database.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::time::Duration;

use chrono::{DateTime, Utc};
use credence_domain::access::principal::Role;
use credence_domain::catalog::{
    AttributeKind, AttributeOption, AttributeValue, Locale, Localized, Product, ProductAttribute,
    ProductCode, ProductDraft, TaskDraft, TaskId, TaskState, TaskTemplate, TemplateDraft,
};
use credence_domain::credit::{
    AccountError, CreditAccount, CreditRefused, EntryKind, LedgerEntry, LedgerFilter, Money,
    Reservation, ReservationFilter, ReservationId, ReservationStatus,
};
use credence_domain::customers::reference_data::{
    Category, CategoryDraft, Currency, CurrencyDraft, Label, LabelDraft, PaymentType, Region,
    RegionDraft, Segmentation, User, UserDraft,
};
use credence_domain::customers::search::{SearchQuery, SearchTerms};
use credence_domain::customers::{
    AccountHolder, Address, Contact, Customer, CustomerData, CustomerFilter, CustomerKey,
    CustomerQuery, CustomerSort, CustomerSummary, Project, Revision,
};
use credence_domain::documents::logo::{LogoName, LogoVariant};
use credence_domain::documents::{
    BlobKey, Document, DocumentContent, ExternalUrl, FileName, MetadataChange, MimeType,
};
use credence_domain::ids::{CategoryId, CustomerId, ProjectId, RegionId, UserId};
use credence_domain::listing::{Order, PageRequest, TextPattern, TimeRange};
use credence_domain::ports::{
    AccountLedger, Admission, AdmitError, AttachError, BlobStore, CustomerRepository,
    DocumentLinks, IdempotencyStart, IdempotencyStore, MoveTaskError, NewCustomer, Posting,
    ProductCatalog, Readiness, RecordRepository, RemoveError, SettleError, StoreError, TaskBoard,
    TaskFilter, WriteError,
};
use credence_domain::ports::{Conditioned, Precondition};
use credence_domain::values::{
    CountryCode, CreditLimit, CurrencyCode, CustomerName, DueDateTerms, DueDateType, Email,
    ExchangeRate, FreeText, Latitude, Longitude, Reference, RiskColor, Website,
};
use credence_store::test_support::TestDb;
use credence_store::{Database, FsBlobStore, PoolOptions, Store};
use uuid::Uuid;

mod common;
use common::{
    admin, admission, at, data, eur, insert, root, store_for, try_insert, update, user_draft,
};

/// The customer port alone (the store implements `list`, `get`... for every record kind too).
/// Writes `data` over a customer at the revision it is at now, as the service does.
async fn save(
    store: &Store,
    id: CustomerId,
    data: &CustomerData,
    now: DateTime<Utc>,
) -> Result<Option<Customer>, WriteError> {
    update(store, id, revision(store, id).await, data, now).await
}

/// The revision a customer's row is at now, as a write would read it first.
async fn revision(store: &Store, id: CustomerId) -> Revision {
    cr(store)
        .get(&CustomerKey::Id(id))
        .await
        .unwrap()
        .map_or(Revision::FIRST, |customer| customer.revision)
}

fn cr(store: &Store) -> &dyn CustomerRepository {
    store
}

async fn add(store: &Store, reference: &str, name: &str, now: DateTime<Utc>) -> Customer {
    let data = data(store, reference, name).await;
    insert(store, data, now).await
}

/// Inserts a sub-customer of `parent` with only a reference and a name.
async fn add_child(
    store: &Store,
    reference: &str,
    name: &str,
    parent: &Customer,
    now: DateTime<Utc>,
) -> Customer {
    let mut child = data(store, reference, name).await;
    child.parent = Some(parent.data.summary(parent.id));
    insert(store, child, now).await
}

/// Awaits racing admissions (each of 100 cents) and counts those admitted and those
/// refused; every refusal must find nothing available.
async fn tally<T: std::fmt::Debug>(
    racers: Vec<tokio::task::JoinHandle<Result<T, AdmitError>>>,
) -> (usize, usize) {
    let (mut admitted, mut refused) = (0, 0);
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(AdmitError::Refused(r)) => {
                assert_eq!((r.available.minor(), r.requested.minor()), (0, 100));
                refused += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    (admitted, refused)
}

fn text(value: &str) -> Option<FreeText> {
    Some(FreeText::from_trusted(value.to_owned()))
}

async fn payment_type(store: &Store, reference: &str) -> PaymentType {
    let draft = LabelDraft {
        reference: Reference::new(reference).unwrap(),
        name: Label::new(reference).unwrap(),
    };
    RecordRepository::<PaymentType>::create(store, draft)
        .await
        .unwrap()
}

fn query(filter: CustomerFilter) -> CustomerQuery {
    CustomerQuery {
        filter,
        ..CustomerQuery::default()
    }
}

/// A second top-level category beside the root one.
async fn shops(store: &Store) -> Category {
    RecordRepository::<Category>::create(
        store,
        CategoryDraft {
            reference: Reference::new("Shops").unwrap(),
            name: Label::new("Shops").unwrap(),
            parent_id: None,
        },
    )
    .await
    .unwrap()
}

/// Customers whose name matches `pattern`.
fn by_name(pattern: &str) -> CustomerQuery {
    query(CustomerFilter {
        name: Some(TextPattern::parse(pattern)),
        ..CustomerFilter::default()
    })
}

/// Customers whose reference matches `pattern`.
fn by_ref(pattern: &str) -> CustomerQuery {
    query(CustomerFilter {
        reference: Some(TextPattern::parse(pattern)),
        ..CustomerFilter::default()
    })
}

/// Customers whose category's reference matches `pattern`.
fn by_category(pattern: &str) -> CustomerQuery {
    query(CustomerFilter {
        category_reference: Some(TextPattern::parse(pattern)),
        ..CustomerFilter::default()
    })
}

/// Customers active or not.
fn active(value: bool) -> CustomerQuery {
    query(CustomerFilter {
        is_active: Some(value),
        ..CustomerFilter::default()
    })
}

async fn references(store: &Store, query: &CustomerQuery) -> (Vec<String>, u64) {
    let page = cr(store).list(query).await.unwrap();
    (
        page.items
            .iter()
            .map(|c| c.data.reference.as_str().to_owned())
            .collect(),
        page.total,
    )
}

// ---------------------------------------------------------------------------------------

async fn insert_and_get_by_every_key(store: Store) {
    let cash = payment_type(&store, "cash").await;
    let cheque = payment_type(&store, "cheque").await;
    let segment = RecordRepository::<Segmentation>::create(
        &store,
        LabelDraft {
            reference: Reference::new("seg").unwrap(),
            name: Label::new("Segment").unwrap(),
        },
    )
    .await
    .unwrap();
    let region = RecordRepository::<Region>::create(
        &store,
        RegionDraft {
            name: Label::new("North").unwrap(),
            parent_id: None,
        },
    )
    .await
    .unwrap();
    let user = RecordRepository::<User>::create(
        &store,
        UserDraft {
            reference: Reference::new("emp-002").unwrap(),
            name: Label::new("Emp").unwrap(),
            email: Some(Email::new("emp@example.com").unwrap()),
            role: Role::Admin,
            customer_id: None,
        },
    )
    .await
    .unwrap();
    let parent = add(&store, "P-1", "Parent", at(0)).await;
    let mut full = data(&store, "NC-3", "Marie's Jewelry").await;
    full.texts.reference2 = text("R2");
    full.parent = Some(parent.data.summary(parent.id));
    full.bill_with_parent = true;
    full.segmentation = Some(segment);
    full.email = Some(Email::new("marie@example.com").unwrap());
    full.texts.phone = text("+33 1");
    full.texts.mobile = text("+33 6");
    full.texts.fax = text("+33 2");
    full.texts.comment = text("a comment");
    full.texts.barcode = text("123");
    full.is_same_address = false;
    full.billing = Address {
        country: Some(CountryCode::parse("FR").unwrap()),
        city: text("Paris"),
        postal_code: text("75001"),
        address: text("1 rue de Rivoli"),
        latitude: Some(Latitude::new(48.86).unwrap()),
        longitude: Some(Longitude::new(2.34).unwrap()),
    };
    full.shipping = Address {
        country: Some(CountryCode::parse("DE").unwrap()),
        city: text("Berlin"),
        latitude: Some(Latitude::new(-12.5).unwrap()),
        longitude: Some(Longitude::new(179.25).unwrap()),
        ..Address::default()
    };
    full.credit_limit = CreditLimit::new("20000.10".parse().unwrap(), eur()).unwrap();
    full.is_active = false;
    full.on_hold = true;
    full.texts.on_hold_reason = text("late");
    full.created_by = Some(user);
    full.due_date_terms =
        Some(DueDateTerms::new(30, DueDateType::DaysAfterEndOfInvoiceMonth).unwrap());
    full.payment_types = vec![cheque, cash];
    full.website = Some(Website::new("https://example.com").unwrap());
    full.texts.tax_number = text("FR123");
    full.texts.company_registration_number = text("RCS 1");
    full.texts.customer_risk = text("low");
    full.customer_risk_color = Some(RiskColor::new("#00FF00").unwrap());
    full.region = Some(region);
    full.contacts = vec![
        Contact {
            name: text("Ann"),
            email: Some(Email::new("ann@example.com").unwrap()),
            phone: None,
        },
        Contact {
            name: text("Bob"),
            email: None,
            phone: text("555"),
        },
    ];
    let uuid = Uuid::new_v4();
    let inserted = cr(&store)
        .insert(&NewCustomer {
            uuid,
            data: full.clone(),
            now: at(10),
            links: DocumentLinks::none(),
        })
        .await
        .unwrap();
    assert_eq!(inserted.data, full);
    assert_eq!(inserted.uuid, uuid);
    assert_eq!(inserted.date_created, at(10));
    assert_eq!(inserted.last_updated, at(10));
    for key in [
        CustomerKey::Id(inserted.id),
        CustomerKey::Uuid(uuid),
        CustomerKey::Reference("NC-3".into()),
    ] {
        assert_eq!(
            cr(&store).get(&key).await.unwrap().as_ref(),
            Some(&inserted),
            "{key}"
        );
    }
    assert_eq!(
        cr(&store)
            .get(&CustomerKey::Reference("nc-3".into()))
            .await
            .unwrap(),
        None,
        "exact reference"
    );
    assert_eq!(
        cr(&store)
            .get(&CustomerKey::Id(CustomerId(999_999)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        cr(&store)
            .get(&CustomerKey::Uuid(Uuid::new_v4()))
            .await
            .unwrap(),
        None
    );
}

/// The account's view of a customer is found by every key, agrees with the whole customer,
/// and is gone once the customer is archived.
async fn holders_agree_with_their_customers(store: Store) {
    let parent = add(&store, "HOLD-P", "Parent", at(0)).await;
    let mut data = data(&store, "HOLD-C", "Child").await;
    data.parent = Some(CustomerSummary {
        id: parent.id,
        reference: parent.data.reference.clone(),
        name: parent.data.name.clone(),
    });
    data.bill_with_parent = true;
    data.on_hold = true;
    data.texts.on_hold_reason = text("unpaid");
    let child = insert(&store, data, at(1)).await;
    for key in [
        CustomerKey::Id(child.id),
        CustomerKey::Uuid(child.uuid),
        CustomerKey::Reference("HOLD-C".into()),
    ] {
        let holder = cr(&store).holder(&key).await.unwrap().unwrap();
        assert_eq!(holder, AccountHolder::from(&child), "{key:?}");
        assert_eq!(holder.parent, Some(parent.id));
    }
    cr(&store).archive(child.id, None, at(2)).await.unwrap();
    assert_eq!(
        cr(&store).holder(&CustomerKey::Id(child.id)).await.unwrap(),
        None
    );
}

async fn duplicate_live_reference_is_refused(store: Store) {
    add(&store, "DUP", "First", at(0)).await;
    let second = data(&store, "DUP", "Second").await;
    let result = try_insert(&store, second, at(1)).await;
    assert!(
        matches!(result, Err(WriteError::DuplicateReference)),
        "{result:?}"
    );
    let other = add(&store, "OTHER", "Other", at(2)).await;
    let clash = data(&store, "DUP", "Other").await;
    let result = save(&store, other.id, &clash, at(3)).await;
    assert!(
        matches!(result, Err(WriteError::DuplicateReference)),
        "{result:?}"
    );
}

/// A UUID already taken is not a duplicate reference: on both backends it reads as a write to
/// try again (the retry finds the customer), whatever the driver's wording.
async fn a_taken_uuid_is_not_a_duplicate_reference(store: Store) {
    let first = add(&store, "UUID-1", "First", at(0)).await;
    let twin = cr(&store)
        .insert(&NewCustomer {
            uuid: first.uuid,
            data: data(&store, "UUID-2", "Second").await,
            now: at(1),
            links: DocumentLinks::none(),
        })
        .await;
    assert!(
        matches!(twin, Err(WriteError::Store(StoreError::Unavailable(_)))),
        "{twin:?}"
    );
    let same_reference = cr(&store)
        .insert(&NewCustomer {
            uuid: Uuid::new_v4(),
            data: data(&store, "UUID-1", "Third").await,
            now: at(2),
            links: DocumentLinks::none(),
        })
        .await;
    assert!(
        matches!(same_reference, Err(WriteError::DuplicateReference)),
        "{same_reference:?}"
    );
}

async fn concurrent_inserts_of_one_reference(store: Store) {
    let template = data(&store, "RACE", "Racer").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let data = template.clone();
            tokio::spawn(async move { try_insert(&store, data, at(0)).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(WriteError::DuplicateReference) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn writes_name_the_revision_they_read(store: Store) {
    let first = add(&store, "REV-1", "Revised", at(1)).await;
    assert_eq!(first.revision, Revision::FIRST);
    let mut renamed = first.data.clone();
    renamed.name = CustomerName::new("Renamed").unwrap();
    let written = update(&store, first.id, first.revision, &renamed, at(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written.revision, Revision::new(2));
    // A second write made against the revision the first one read changes nothing.
    let mut other = first.data.clone();
    other.name = CustomerName::new("Overwritten").unwrap();
    assert!(matches!(
        update(&store, first.id, first.revision, &other, at(3)).await,
        Err(WriteError::Stale)
    ));
    assert!(matches!(
        cr(&store)
            .archive(first.id, Some(first.revision), at(3))
            .await,
        Err(RemoveError::Stale)
    ));
    let now = cr(&store)
        .get(&CustomerKey::Id(first.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (now.data.name.as_str(), now.revision),
        ("Renamed", Revision::new(2))
    );
    assert!(
        cr(&store)
            .archive(first.id, Some(now.revision), at(4))
            .await
            .unwrap()
    );
}

/// The limit shows in the customer, so setting it through the account (its route, an
/// approval) moves the customer's revision on: a customer write that read it before is stale
/// and cannot write the old limit back. Setting the limit it already has moves nothing.
async fn a_limit_set_apart_makes_an_earlier_read_stale(store: Store) {
    let first = add(&store, "REV-LIMIT", "Limited", at(1)).await;
    let set = |minor: i64, when: i64| {
        let ledger = al(&store);
        async move {
            ledger
                .set_credit_limit(
                    first.id,
                    eur_limit(minor),
                    None,
                    None,
                    at(when),
                    Precondition::none(),
                )
                .await
                .unwrap();
        }
    };
    set(5_000, 2).await;
    let mut renamed = first.data.clone();
    renamed.name = CustomerName::new("Renamed").unwrap();
    assert!(matches!(
        update(&store, first.id, first.revision, &renamed, at(3)).await,
        Err(WriteError::Stale)
    ));
    let now = cr(&store)
        .get(&CustomerKey::Id(first.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.revision, Revision::new(2));
    assert_eq!(now.data.credit_limit, eur_limit(5_000));
    set(5_000, 4).await;
    let mut renamed = now.data.clone();
    renamed.name = CustomerName::new("Renamed").unwrap();
    let written = update(&store, first.id, now.revision, &renamed, at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written.data.credit_limit, eur_limit(5_000));
    let account = al(&store).account(first.id, at(6)).await.unwrap().unwrap();
    assert_eq!(account.credit_limit().minor(), 5_000);
}

/// Two moves that each read the tree before the other wrote (A under B, B under A) would
/// both pass the service's check; the store checks the move again where it writes, so the
/// second one is refused and the tree keeps no cycle. Moving under itself is refused too.
async fn a_move_that_would_close_a_cycle_is_refused(store: Store) {
    let a = add(&store, "CYC-A", "A", at(1)).await;
    let b = add(&store, "CYC-B", "B", at(2)).await;
    let mut a_under_b = a.data.clone();
    a_under_b.parent = Some(b.data.summary(b.id));
    update(&store, a.id, a.revision, &a_under_b, at(3))
        .await
        .unwrap()
        .unwrap();
    let mut b_under_a = b.data.clone();
    b_under_a.parent = Some(a.data.summary(a.id));
    let refused = update(&store, b.id, b.revision, &b_under_a, at(4)).await;
    assert!(
        matches!(refused, Err(WriteError::OwnAncestor)),
        "{refused:?}"
    );
    let mut b_under_b = b.data.clone();
    b_under_b.parent = Some(b.data.summary(b.id));
    let refused = update(&store, b.id, b.revision, &b_under_b, at(5)).await;
    assert!(
        matches!(refused, Err(WriteError::OwnAncestor)),
        "{refused:?}"
    );
    let b_now = cr(&store)
        .get(&CustomerKey::Id(b.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_now.data.parent, None);
    assert_eq!(cr(&store).ancestors(a.id).await.unwrap(), vec![b.id]);
    // A write that keeps its parent is not a move: it goes ahead.
    let mut renamed = a_under_b.clone();
    renamed.name = CustomerName::new("A again").unwrap();
    let a_now = cr(&store)
        .get(&CustomerKey::Id(a.id))
        .await
        .unwrap()
        .unwrap();
    update(&store, a.id, a_now.revision, &renamed, at(6))
        .await
        .unwrap()
        .unwrap();
    // A write made on a read the row has moved on from is stale, whatever its parent says:
    // the writer reads again rather than being told of a cycle its read never showed.
    let mut b_renamed = b.data.clone();
    b_renamed.name = CustomerName::new("B again").unwrap();
    update(&store, b.id, b.revision, &b_renamed, at(7))
        .await
        .unwrap()
        .unwrap();
    let stale = update(&store, b.id, b.revision, &b_under_a, at(8)).await;
    assert!(matches!(stale, Err(WriteError::Stale)), "{stale:?}");
}

async fn archive_frees_the_reference_and_hides_the_row(store: Store) {
    let first = add(&store, "ARC", "Archived", at(0)).await;
    assert!(cr(&store).archive(first.id, None, at(5)).await.unwrap());
    assert!(
        !cr(&store).archive(first.id, None, at(6)).await.unwrap(),
        "already archived"
    );
    assert_eq!(
        cr(&store).get(&CustomerKey::Id(first.id)).await.unwrap(),
        None
    );
    assert_eq!(
        cr(&store)
            .get(&CustomerKey::Uuid(first.uuid))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        cr(&store)
            .get(&CustomerKey::Reference("ARC".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        references(&store, &CustomerQuery::default()).await,
        (vec![], 0)
    );
    let again = add(&store, "ARC", "Again", at(7)).await;
    assert_eq!(
        references(&store, &CustomerQuery::default()).await,
        (vec!["ARC".to_owned()], 1)
    );
    assert_ne!(again.id, first.id);
    assert!(
        cr(&store)
            .update(
                first.id,
                revision(&store, first.id).await,
                &first.data,
                &DocumentLinks::none(),
                None,
                at(8)
            )
            .await
            .unwrap()
            .is_none(),
        "archived rows are not updated"
    );
}

async fn archive_waits_for_live_children(store: Store) {
    let parent = add(&store, "PARENT", "Parent", at(0)).await;
    let child = add_child(&store, "CHILD", "Child", &parent, at(1)).await;
    assert!(matches!(
        cr(&store).archive(parent.id, None, at(2)).await,
        Err(RemoveError::InUse)
    ));
    assert!(cr(&store).archive(child.id, None, at(3)).await.unwrap());
    assert!(cr(&store).archive(parent.id, None, at(4)).await.unwrap());
    assert!(
        !cr(&store)
            .archive(CustomerId(424_242), None, at(5))
            .await
            .unwrap()
    );
    let mut orphan = data(&store, "ORPHAN", "Orphan").await;
    orphan.parent = Some(parent.data.summary(parent.id));
    let result = try_insert(&store, orphan, at(6)).await;
    assert!(
        matches!(result, Err(WriteError::DanglingReference)),
        "archived parent: {result:?}"
    );
}

fn projects(names: &[(Option<ProjectId>, &str)]) -> Vec<Project> {
    names
        .iter()
        .map(|(id, name)| Project {
            id: *id,
            name: FreeText::from_trusted((*name).to_owned()),
        })
        .collect()
}

fn project_names(customer: &Customer) -> Vec<&str> {
    customer
        .data
        .projects
        .iter()
        .map(|p| p.name.as_str())
        .collect()
}

async fn projects_are_written_kept_replaced_and_cleared(store: Store) {
    let mut first = data(&store, "PRJ", "Projects").await;
    first.projects = projects(&[(None, "Floor installation"), (None, "General maintenance")]);
    let created = insert(&store, first, at(0)).await;
    assert_eq!(
        project_names(&created),
        ["Floor installation", "General maintenance"]
    );
    let ids: Vec<ProjectId> = created.data.projects.iter().filter_map(|p| p.id).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    // Loaded with the customer, in a list as in a get.
    let other = insert(&store, data(&store, "PRJ-0", "None").await, at(1)).await;
    let page = cr(&store).list(&CustomerQuery::default()).await.unwrap();
    let listed: Vec<(CustomerId, usize)> = page
        .items
        .iter()
        .map(|c| (c.id, c.data.projects.len()))
        .collect();
    assert!(listed.contains(&(created.id, 2)) && listed.contains(&(other.id, 0)));

    // A rewrite keeps the ids it is given and assigns new ones to the rest.
    let mut second = created.data.clone();
    second.projects = projects(&[(Some(ids[1]), "Renamed"), (None, "Third")]);
    let updated = save(&store, created.id, &second, at(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project_names(&updated), ["Renamed", "Third"]);
    assert_eq!(updated.data.projects[0].id, Some(ids[1]));
    let third = updated.data.projects[1].id.unwrap();
    assert!(!ids.contains(&third));
    assert_eq!(
        cr(&store).get(&CustomerKey::Id(created.id)).await.unwrap(),
        Some(updated.clone())
    );

    let mut cleared = updated.data.clone();
    cleared.projects.clear();
    let updated = save(&store, created.id, &cleared, at(61))
        .await
        .unwrap()
        .unwrap();
    assert!(updated.data.projects.is_empty());
    let reloaded = cr(&store)
        .get(&CustomerKey::Id(created.id))
        .await
        .unwrap()
        .unwrap();
    assert!(reloaded.data.projects.is_empty());
}

async fn update_replaces_payment_types_and_contacts(store: Store) {
    let a = payment_type(&store, "a").await;
    let b = payment_type(&store, "b").await;
    let c = payment_type(&store, "c").await;
    let mut first = data(&store, "UPD", "Before").await;
    first.payment_types = vec![a.clone(), b.clone()];
    first.contacts = vec![
        Contact {
            name: text("One"),
            email: None,
            phone: None,
        },
        Contact {
            name: text("Two"),
            email: None,
            phone: None,
        },
    ];
    let created = insert(&store, first, at(0)).await;
    let mut second = data(&store, "UPD-2", "After").await;
    second.payment_types = vec![c, a];
    second.contacts = vec![Contact {
        name: text("Three"),
        email: None,
        phone: text("1"),
    }];
    let updated = save(&store, created.id, &second, at(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.data, second);
    assert_eq!(updated.date_created, at(0));
    assert_eq!(updated.last_updated, at(60));
    assert_eq!(
        cr(&store).get(&CustomerKey::Id(created.id)).await.unwrap(),
        Some(updated)
    );
    let cleared = data(&store, "UPD-2", "After").await;
    let updated = save(&store, created.id, &cleared, at(61))
        .await
        .unwrap()
        .unwrap();
    assert!(updated.data.payment_types.is_empty() && updated.data.contacts.is_empty());
    assert!(
        update(
            &store,
            CustomerId(777_777),
            Revision::FIRST,
            &cleared,
            at(62)
        )
        .await
        .unwrap()
        .is_none()
    );
    let mut dangling = cleared.clone();
    dangling.payment_types = vec![PaymentType {
        id: credence_domain::PaymentTypeId(999),
        ..b
    }];
    assert!(matches!(
        save(&store, created.id, &dangling, at(63)).await,
        Err(WriteError::DanglingReference)
    ));
}

/// An update sets on SQLite only the indexed columns that changed (the folded name, and the
/// other keys as a group): each kind of change, alone, must still reach the row and every
/// index the lists read, and an update that changes no key must keep them.
async fn an_update_writes_each_kind_of_key_it_changes(store: Store) {
    let shops = shops(&store).await;
    let created = add(&store, "KEY-1", "First name", at(0)).await;
    let mut changed = created.data.clone();
    let mut step = 0;
    let mut write = async |data: &CustomerData| {
        step += 1;
        let written = save(&store, created.id, data, at(step))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&written.data, data, "step {step}");
        let read = cr(&store).get(&CustomerKey::Id(created.id)).await.unwrap();
        assert_eq!(read, Some(written), "step {step}");
    };

    // Nothing indexed changes, only a plain column.
    changed.email = Some(Email::new("key@example.com").unwrap());
    write(&changed).await;
    assert_found(&store, &by_name("first*"), &["KEY-1"], "unchanged name").await;
    assert_found(&store, &by_ref("key-1"), &["KEY-1"], "unchanged reference").await;

    // The name alone.
    changed.name = CustomerName::new("Second name").unwrap();
    write(&changed).await;
    assert_found(&store, &by_name("first*"), &[], "old name").await;
    assert_found(&store, &by_name("second*"), &["KEY-1"], "new name").await;

    // The other keys alone: the category, then the activity, then the reference.
    changed.category = shops;
    write(&changed).await;
    assert_found(&store, &by_category("shops"), &["KEY-1"], "new category").await;
    assert_found(&store, &by_category("root"), &[], "old category").await;
    changed.is_active = false;
    write(&changed).await;
    assert_found(&store, &active(false), &["KEY-1"], "inactive").await;
    assert_found(&store, &active(true), &[], "no longer active").await;
    changed.reference = Reference::new("KEY-2").unwrap();
    write(&changed).await;
    assert_found(&store, &by_ref("key-2"), &["KEY-2"], "new reference").await;
    assert_found(&store, &by_ref("key-1"), &[], "old reference").await;
    // The old reference is free again, the new one taken.
    add(&store, "KEY-1", "Another", at(10)).await;
    assert!(matches!(
        try_insert(&store, data(&store, "KEY-2", "Third").await, at(11)).await,
        Err(WriteError::DuplicateReference)
    ));

    // Both at once.
    changed.name = CustomerName::new("Fourth name").unwrap();
    changed.is_active = true;
    write(&changed).await;
    assert_found(&store, &by_name("fourth*"), &["KEY-2"], "both: name").await;
    assert_found(&store, &active(false), &[], "both: activity").await;
}

async fn text_filters(store: Store) {
    add(&store, "REF-6", "Acme Corp", at(0)).await;
    add(&store, "ref-66", "acme industries", at(1)).await;
    add(&store, "X-1", "50%_off\\x", at(2)).await;
    add(&store, "X-2", "500 offers", at(3)).await;
    add(&store, "Z-ÉTÉ", "Été Café", at(4)).await;
    for (filter, found, why) in [
        (by_ref("ref-6"), &["REF-6"][..], "exact, case-insensitive"),
        (by_ref("REF-6*"), &["REF-6", "ref-66"], "prefix"),
        (by_ref("*f-66"), &["ref-66"], "suffix"),
        (by_name("ACME*"), &["REF-6", "ref-66"], ""),
        (by_name("*CORP*"), &["REF-6"], "mid-string"),
        (by_name("acme corp"), &["REF-6"], ""),
        (by_name("acme"), &[], "exact means whole value"),
        (by_name("50%_off\\x"), &["X-1"], "literal exact"),
        (by_name("50%*"), &["X-1"], "% is literal"),
        (by_name("*%_o*"), &["X-1"], "_ is literal"),
        (by_name("5_*"), &[], "_ is not a wildcard"),
        (by_name("*\\x"), &["X-1"], "backslash is literal"),
        (by_name("50*"), &["X-1", "X-2"], ""),
        (by_name("été*"), &["Z-ÉTÉ"], "non-ASCII folding"),
        (by_name("*CAFÉ"), &["Z-ÉTÉ"], ""),
    ] {
        assert_found(&store, &filter, found, why).await;
    }
    assert_eq!(references(&store, &by_name("*")).await.1, 5);

    let category = shops(&store).await;
    let mut shop = data(&store, "SHOP-1", "Shop").await;
    shop.category = category;
    shop.is_active = false;
    insert(&store, shop, at(5)).await;
    for (filter, found) in [
        (by_category("shops"), &["SHOP-1"][..]),
        (by_category("SH*"), &["SHOP-1"]),
        (by_category("nothing"), &[]),
        (active(false), &["SHOP-1"]),
    ] {
        assert_found(&store, &filter, found, "").await;
    }
    assert_eq!(references(&store, &by_category("root")).await.1, 5);
    assert_eq!(references(&store, &active(true)).await.1, 5);
}

/// Asserts that `query` finds exactly the customers `found`, in that order, and counts as
/// many; `why` names the case.
async fn assert_found(store: &Store, query: &CustomerQuery, found: &[&str], why: &str) {
    let found: Vec<String> = found.iter().map(|r| (*r).to_owned()).collect();
    let total = u64::try_from(found.len()).unwrap();
    assert_eq!(references(store, query).await, (found, total), "{why}");
}

async fn date_ranges_sorting_and_paging(store: Store) {
    // Created 0, 10, 20, 30, 40 seconds in; names in another order.
    for (i, (reference, name)) in [
        ("C", "delta"),
        ("A", "Bravo"),
        ("E", "alpha"),
        ("B", "Echo"),
        ("D", "charlie"),
    ]
    .into_iter()
    .enumerate()
    {
        let created = add(&store, reference, name, at(i64::try_from(i).unwrap() * 10)).await;
        // Last updated runs backwards.
        cr(&store)
            .update(
                created.id,
                revision(&store, created.id).await,
                &created.data,
                &DocumentLinks::none(),
                None,
                at(1000 - i64::try_from(i).unwrap()),
            )
            .await
            .unwrap();
    }
    let dated = |range: TimeRange| {
        query(CustomerFilter {
            date_created: range,
            ..CustomerFilter::default()
        })
    };
    let list = |refs: &[&str]| refs.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        references(
            &store,
            &dated(TimeRange {
                gt: Some(at(10)),
                ..TimeRange::default()
            })
        )
        .await,
        (list(&["E", "B", "D"]), 3)
    );
    assert_eq!(
        references(
            &store,
            &dated(TimeRange {
                gte: Some(at(10)),
                ..TimeRange::default()
            })
        )
        .await
        .1,
        4
    );
    assert_eq!(
        references(
            &store,
            &dated(TimeRange {
                lt: Some(at(10)),
                ..TimeRange::default()
            })
        )
        .await,
        (list(&["C"]), 1)
    );
    assert_eq!(
        references(
            &store,
            &dated(TimeRange {
                gte: Some(at(10)),
                lte: Some(at(30)),
                ..TimeRange::default()
            })
        )
        .await,
        (list(&["A", "E", "B"]), 3)
    );
    let updated = query(CustomerFilter {
        last_updated: TimeRange {
            gte: Some(at(998)),
            ..TimeRange::default()
        },
        ..CustomerFilter::default()
    });
    assert_eq!(
        references(&store, &updated).await,
        (list(&["C", "A", "E"]), 3)
    );

    let sorted = |sort, order, max, offset| CustomerQuery {
        sort,
        order,
        page: PageRequest::new(Some(max), Some(offset)).unwrap(),
        ..CustomerQuery::default()
    };
    assert_eq!(
        references(&store, &sorted(CustomerSort::DateCreated, Order::Asc, 2, 0)).await,
        (list(&["C", "A"]), 5)
    );
    assert_eq!(
        references(&store, &sorted(CustomerSort::DateCreated, Order::Asc, 2, 2)).await,
        (list(&["E", "B"]), 5)
    );
    assert_eq!(
        references(
            &store,
            &sorted(CustomerSort::DateCreated, Order::Desc, 2, 0)
        )
        .await,
        (list(&["D", "B"]), 5)
    );
    assert_eq!(
        references(&store, &sorted(CustomerSort::DateCreated, Order::Asc, 2, 4)).await,
        (list(&["D"]), 5)
    );
    assert_eq!(
        references(
            &store,
            &sorted(CustomerSort::DateCreated, Order::Asc, 2, 10)
        )
        .await,
        (list(&[]), 5)
    );
    assert_eq!(
        references(&store, &sorted(CustomerSort::Reference, Order::Asc, 10, 0)).await,
        (list(&["A", "B", "C", "D", "E"]), 5)
    );
    assert_eq!(
        references(&store, &sorted(CustomerSort::Name, Order::Asc, 10, 0)).await,
        (list(&["E", "A", "D", "C", "B"]), 5),
        "names sort case-insensitively"
    );
    assert_eq!(
        references(&store, &sorted(CustomerSort::Name, Order::Desc, 10, 0)).await,
        (list(&["B", "C", "D", "A", "E"]), 5)
    );
    assert_eq!(
        references(
            &store,
            &sorted(CustomerSort::LastUpdated, Order::Asc, 10, 0)
        )
        .await,
        (list(&["D", "B", "E", "A", "C"]), 5)
    );
    assert_eq!(
        references(&store, &sorted(CustomerSort::Id, Order::Desc, 10, 0)).await,
        (list(&["D", "B", "E", "A", "C"]), 5)
    );
}

async fn ties_break_by_id_in_the_sort_direction(store: Store) {
    let ids: Vec<CustomerId> = {
        let mut ids = Vec::new();
        for reference in ["T1", "T2", "T3"] {
            ids.push(add(&store, reference, "Same", at(0)).await.id);
        }
        ids
    };
    let page = |order| CustomerQuery {
        sort: CustomerSort::Name,
        order,
        ..CustomerQuery::default()
    };
    let asc: Vec<_> = cr(&store)
        .list(&page(Order::Asc))
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    let desc: Vec<_> = cr(&store)
        .list(&page(Order::Desc))
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(asc, ids);
    assert_eq!(desc, ids.into_iter().rev().collect::<Vec<_>>());
}

async fn ancestors_nearest_first(store: Store) {
    let a = add(&store, "A", "A", at(0)).await;
    let b = add_child(&store, "B", "B", &a, at(1)).await;
    let c = add_child(&store, "C", "C", &b, at(2)).await;
    assert_eq!(cr(&store).ancestors(c.id).await.unwrap(), vec![b.id, a.id]);
    assert_eq!(cr(&store).ancestors(b.id).await.unwrap(), vec![a.id]);
    assert_eq!(
        cr(&store).ancestors(a.id).await.unwrap(),
        Vec::<CustomerId>::new()
    );
    assert_eq!(
        cr(&store).ancestors(CustomerId(31_337)).await.unwrap(),
        Vec::<CustomerId>::new()
    );
    let listed = cr(&store).list(&CustomerQuery::default()).await.unwrap();
    let listed_c = listed.items.iter().find(|x| x.id == c.id).unwrap();
    assert_eq!(
        listed_c.data.parent.as_ref().map(|p| p.id),
        Some(b.id),
        "parent summary is loaded"
    );
}

async fn categories_crud(store: Store) {
    let root = root(&store).await;
    assert_eq!(root.parent_id, None);
    let draft = |reference: &str, parent: Option<CategoryId>| CategoryDraft {
        reference: Reference::new(reference).unwrap(),
        name: Label::new(reference).unwrap(),
        parent_id: parent,
    };
    let shops = RecordRepository::<Category>::create(&store, draft("shops", None))
        .await
        .unwrap();
    assert_eq!(
        shops.parent_id,
        Some(root.id),
        "parentless categories go under the root"
    );
    let small = RecordRepository::<Category>::create(&store, draft("small", Some(shops.id)))
        .await
        .unwrap();
    assert_eq!(small.parent_id, Some(shops.id));
    let duplicate = RecordRepository::<Category>::create(&store, draft("shops", None)).await;
    assert!(
        matches!(duplicate, Err(WriteError::DuplicateReference)),
        "{duplicate:?}"
    );
    let dangling =
        RecordRepository::<Category>::create(&store, draft("lost", Some(CategoryId(9999)))).await;
    assert!(
        matches!(dangling, Err(WriteError::DanglingReference)),
        "{dangling:?}"
    );
    let renamed = RecordRepository::<Category>::update(
        &store,
        small.id,
        draft("tiny", Some(shops.id)),
        Precondition::none(),
    )
    .await
    .unwrap();
    assert_eq!(renamed.as_ref().map(|c| c.reference.as_str()), Some("tiny"));
    assert!(
        RecordRepository::<Category>::update(
            &store,
            CategoryId(9999),
            draft("x", None),
            Precondition::none(),
        )
        .await
        .unwrap()
        .is_none()
    );
    assert_eq!(
        RecordRepository::<Category>::get(&store, small.id)
            .await
            .unwrap(),
        renamed
    );
    assert_eq!(
        RecordRepository::<Category>::find_by_reference(&store, "tiny")
            .await
            .unwrap(),
        renamed
    );
    assert_eq!(
        RecordRepository::<Category>::find_by_reference(&store, "TINY")
            .await
            .unwrap(),
        None
    );
    let page =
        RecordRepository::<Category>::list(&store, PageRequest::new(Some(2), Some(1)).unwrap())
            .await
            .unwrap();
    assert_eq!(
        (
            page.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            page.total
        ),
        (vec![shops.id, small.id], 3)
    );
    assert!(
        matches!(
            RecordRepository::<Category>::delete(&store, shops.id).await,
            Err(RemoveError::InUse)
        ),
        "has a child"
    );
    let mut customer = data(&store, "IN-TINY", "Customer").await;
    customer.category = renamed.clone().unwrap();
    insert(&store, customer, at(0)).await;
    assert!(
        matches!(
            RecordRepository::<Category>::delete(&store, small.id).await,
            Err(RemoveError::InUse)
        ),
        "used"
    );
    let unused = RecordRepository::<Category>::create(&store, draft("unused", None))
        .await
        .unwrap();
    assert!(
        RecordRepository::<Category>::delete(&store, unused.id)
            .await
            .unwrap()
    );
    assert!(
        !RecordRepository::<Category>::delete(&store, unused.id)
            .await
            .unwrap()
    );
}

/// A change merged over a row as read holds only while the row is still that one: an admin's
/// rename made on a read from before another admin's demotion does not put the role back.
async fn a_record_update_holds_only_while_the_row_is_as_read(store: Store) {
    let as_read = admin(&store, "u-demoted").await;
    let customer = insert(&store, data(&store, "DEMOTED", "Demoted").await, at(0)).await;
    let demoted = user_draft("u-demoted", Role::Reseller, Some(customer.id));
    RecordRepository::<User>::update(&store, as_read.id, demoted, Precondition::none())
        .await
        .unwrap()
        .unwrap();
    let mut renamed = user_draft("u-renamed", Role::Admin, None);
    renamed.name = Label::new("Renamed").unwrap();
    let read = as_read.clone();
    let stale = RecordRepository::<User>::update(
        &store,
        as_read.id,
        renamed.clone(),
        Precondition::new(move |stored: Option<&User>| stored == Some(&read)),
    )
    .await;
    assert!(matches!(stale, Err(WriteError::Stale)), "{stale:?}");
    let now = RecordRepository::<User>::get(&store, as_read.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (now.role, now.reference.as_str()),
        (Role::Reseller, "u-demoted")
    );
    let current = now.clone();
    let written = RecordRepository::<User>::update(
        &store,
        as_read.id,
        renamed,
        Precondition::new(move |stored: Option<&User>| stored == Some(&current)),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(written.reference.as_str(), "u-renamed");
}

/// Two categories each moved under the other: the store checks the tree again where it
/// writes, so the second move is refused and no cycle is stored.
async fn a_category_moved_under_its_descendant_is_refused(store: Store) {
    let root = root(&store).await;
    let draft = |reference: &str, parent: CategoryId| CategoryDraft {
        reference: Reference::new(reference).unwrap(),
        name: Label::new(reference).unwrap(),
        parent_id: Some(parent),
    };
    let create = |reference: &'static str| {
        let store = store.clone();
        async move {
            RecordRepository::<Category>::create(&store, draft(reference, root.id))
                .await
                .unwrap()
        }
    };
    let (a, b) = (create("cyc-a").await, create("cyc-b").await);
    RecordRepository::<Category>::update(&store, a.id, draft("cyc-a", b.id), Precondition::none())
        .await
        .unwrap()
        .unwrap();
    let refused = RecordRepository::<Category>::update(
        &store,
        b.id,
        draft("cyc-b", a.id),
        Precondition::none(),
    )
    .await;
    assert!(
        matches!(refused, Err(WriteError::OwnAncestor)),
        "{refused:?}"
    );
    let b_now = RecordRepository::<Category>::get(&store, b.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_now.parent_id, Some(root.id));
}

async fn labels_regions_and_users_crud(store: Store) {
    let cash = payment_type(&store, "cash").await;
    let dup = RecordRepository::<PaymentType>::create(
        &store,
        LabelDraft {
            reference: Reference::new("cash").unwrap(),
            name: Label::new("Cash").unwrap(),
        },
    )
    .await;
    assert!(matches!(dup, Err(WriteError::DuplicateReference)));
    let mut customer = data(&store, "PAYER", "Payer").await;
    customer.payment_types = vec![cash.clone()];
    insert(&store, customer, at(0)).await;
    assert!(matches!(
        RecordRepository::<PaymentType>::delete(&store, cash.id).await,
        Err(RemoveError::InUse)
    ));
    let updated = RecordRepository::<PaymentType>::update(
        &store,
        cash.id,
        LabelDraft {
            reference: Reference::new("cash-2").unwrap(),
            name: Label::new("Cash 2").unwrap(),
        },
        Precondition::none(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(updated.reference.as_str(), "cash-2");
    assert_eq!(
        RecordRepository::<PaymentType>::find_by_reference(&store, "cash-2")
            .await
            .unwrap(),
        Some(updated)
    );

    let seg_draft = LabelDraft {
        reference: Reference::new("vip").unwrap(),
        name: Label::new("VIP").unwrap(),
    };
    let vip = RecordRepository::<Segmentation>::create(&store, seg_draft)
        .await
        .unwrap();
    assert_eq!(
        RecordRepository::<Segmentation>::list(&store, PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
    assert!(
        RecordRepository::<Segmentation>::delete(&store, vip.id)
            .await
            .unwrap()
    );
    assert_eq!(
        RecordRepository::<Segmentation>::get(&store, vip.id)
            .await
            .unwrap(),
        None
    );

    let europe = RecordRepository::<Region>::create(
        &store,
        RegionDraft {
            name: Label::new("Europe").unwrap(),
            parent_id: None,
        },
    )
    .await
    .unwrap();
    let france = RecordRepository::<Region>::create(
        &store,
        RegionDraft {
            name: Label::new("France").unwrap(),
            parent_id: Some(europe.id),
        },
    )
    .await
    .unwrap();
    assert_eq!(france.parent_id, Some(europe.id));
    assert_eq!(
        RecordRepository::<Region>::find_by_reference(&store, &france.id.to_string())
            .await
            .unwrap(),
        Some(france.clone())
    );
    assert_eq!(
        RecordRepository::<Region>::find_by_reference(&store, "France")
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        RecordRepository::<Region>::delete(&store, europe.id).await,
        Err(RemoveError::InUse)
    ));
    let dangling = RecordRepository::<Region>::create(
        &store,
        RegionDraft {
            name: Label::new("X").unwrap(),
            parent_id: Some(RegionId(999)),
        },
    )
    .await;
    assert!(matches!(dangling, Err(WriteError::DanglingReference)));

    let customer = add(&store, "BOUND", "Bound", at(1)).await;
    let user_draft = |customer| user_draft("u-1", Role::Customer, customer);
    let user = RecordRepository::<User>::create(&store, user_draft(Some(customer.id)))
        .await
        .unwrap();
    assert_eq!(
        (user.role, user.customer_id),
        (Role::Customer, Some(customer.id))
    );
    assert!(matches!(
        RecordRepository::<User>::create(&store, user_draft(None)).await,
        Err(WriteError::DuplicateReference)
    ));
    assert!(matches!(
        RecordRepository::<User>::update(
            &store,
            user.id,
            user_draft(Some(CustomerId(4242))),
            Precondition::none(),
        )
        .await,
        Err(WriteError::DanglingReference)
    ));
    assert!(
        RecordRepository::<User>::update(
            &store,
            UserId(4242),
            user_draft(None),
            Precondition::none(),
        )
        .await
        .unwrap()
        .is_none()
    );
    assert_eq!(
        RecordRepository::<User>::find_by_reference(&store, "u-1")
            .await
            .unwrap(),
        Some(user.clone())
    );
    assert!(
        RecordRepository::<User>::delete(&store, user.id)
            .await
            .unwrap()
    );
}

async fn currencies_keep_exact_rates(store: Store) {
    let eur_row = RecordRepository::<Currency>::get(&store, eur())
        .await
        .unwrap()
        .unwrap();
    assert!(eur_row.is_organization_currency);
    assert_eq!(eur_row.exchange_rate, ExchangeRate::ONE);
    let usd = CurrencyCode::parse("USD").unwrap();
    let rate = ExchangeRate::parse("1.0825").unwrap();
    let created = RecordRepository::<Currency>::create(
        &store,
        CurrencyDraft {
            code: usd,
            exchange_rate: rate,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        created,
        Currency {
            code: usd,
            exchange_rate: rate,
            is_organization_currency: false
        }
    );
    let dup = RecordRepository::<Currency>::create(
        &store,
        CurrencyDraft {
            code: usd,
            exchange_rate: rate,
        },
    )
    .await;
    assert!(
        matches!(dup, Err(WriteError::DuplicateReference)),
        "{dup:?}"
    );
    let tiny = ExchangeRate::parse("0.000000123456789012345678").unwrap();
    let updated = RecordRepository::<Currency>::update(
        &store,
        usd,
        CurrencyDraft {
            code: usd,
            exchange_rate: tiny,
        },
        Precondition::none(),
    )
    .await
    .unwrap();
    assert_eq!(
        updated.map(|c| c.exchange_rate.value().to_string()),
        Some("0.000000123456789012345678".to_owned())
    );
    assert_eq!(
        RecordRepository::<Currency>::find_by_reference(&store, "usd")
            .await
            .unwrap()
            .map(|c| c.exchange_rate),
        Some(tiny)
    );
    let page = RecordRepository::<Currency>::list(&store, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.code.code()).collect::<Vec<_>>(),
        vec!["EUR", "USD"]
    );
    let mut customer = data(&store, "USD-1", "Dollar").await;
    customer.currency = usd;
    customer.credit_limit = CreditLimit::new("12.34".parse().unwrap(), usd).unwrap();
    let customer = insert(&store, customer, at(0)).await;
    assert_eq!(customer.data.credit_limit.minor_units(), 1234);
    assert!(matches!(
        RecordRepository::<Currency>::delete(&store, usd).await,
        Err(RemoveError::InUse)
    ));
    let gbp = CurrencyCode::parse("GBP").unwrap();
    let mut pounds = data(&store, "GBP-1", "Pound").await;
    pounds.currency = gbp;
    pounds.credit_limit = CreditLimit::zero(gbp);
    let unconfigured = try_insert(&store, pounds, at(0)).await;
    assert!(
        matches!(unconfigured, Err(WriteError::DanglingReference)),
        "{unconfigured:?}"
    );

    // Idempotent, and switching the organization currency moves the flag.
    store
        .database()
        .ensure_organization_currency(eur())
        .unwrap();
    store.database().ensure_organization_currency(usd).unwrap();
    let usd_row = RecordRepository::<Currency>::get(&store, usd)
        .await
        .unwrap()
        .unwrap();
    let eur_row = RecordRepository::<Currency>::get(&store, eur())
        .await
        .unwrap()
        .unwrap();
    assert!(usd_row.is_organization_currency && !eur_row.is_organization_currency);
    assert_eq!(usd_row.exchange_rate, ExchangeRate::ONE);
}

async fn many_prefix_matches_page_like_few(store: Store) {
    // Past MANY_MATCHES the adapter drops the prefix range from the page query; the page
    // must be the same rows in the same order.
    credence_store::bench_support::generate_customers(store.database(), 30_000).unwrap();
    let by_ref = |pattern: &str, order| CustomerQuery {
        filter: CustomerFilter {
            reference: Some(TextPattern::parse(pattern)),
            ..CustomerFilter::default()
        },
        order,
        page: PageRequest::new(Some(50), Some(20)).unwrap(),
        ..CustomerQuery::default()
    };
    for order in [Order::Asc, Order::Desc] {
        let all = cr(&store).list(&by_ref("*", order)).await.unwrap();
        let many = cr(&store).list(&by_ref("c*", order)).await.unwrap();
        assert!(many.total >= 10_000, "{}", many.total);
        assert_eq!(all.total, 30_000);
        assert_eq!(many.items.len(), 50);
        assert!(
            many.items
                .iter()
                .all(|c| c.data.reference.as_str().starts_with('C'))
        );
        let keys: Vec<_> = many.items.iter().map(|c| (c.date_created, c.id)).collect();
        let mut expected = keys.clone();
        expected.sort();
        if order == Order::Desc {
            expected.reverse();
        }
        assert_eq!(keys, expected);
    }
}

async fn api_keys_round_trip(store: Store) {
    use credence_domain::access::credentials::{ApiKeySecret, KeyDraft, KeyId};
    use credence_domain::ports::KeyStore;
    let user = admin(&store, "ops").await;
    let secret = ApiKeySecret::from_random([9; 32]);
    let new = KeyDraft {
        prefix: secret.prefix(),
        hash: secret.hash(),
        name: Some("ci".into()),
        now: at(0),
    };
    let key = store.create_key(user.id, &new).await.unwrap();
    assert_eq!(
        (key.user_id, key.name.as_deref(), key.created_at),
        (user.id, Some("ci"), at(0))
    );
    assert_eq!((key.last_used_at, key.revoked_at), (None, None));
    let (found, owner) = store
        .find_by_hash(&secret.hash(), at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.last_used_at), (key.id, Some(at(5))));
    assert_eq!(owner, user);
    // Kept to the minute: a use 30 s later changes nothing, one 60 s later does.
    let (again, _) = store
        .find_by_hash(&secret.hash(), at(35))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.last_used_at, Some(at(5)));
    let (later, _) = store
        .find_by_hash(&secret.hash(), at(65))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.last_used_at, Some(at(65)));
    let stored = store.list_keys(user.id).await.unwrap();
    assert_eq!(
        stored[0].last_used_at,
        Some(at(65)),
        "the refresh was written"
    );
    let other = ApiKeySecret::from_random([1; 32]);
    assert!(
        store
            .find_by_hash(&other.hash(), at(6))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.list_keys(user.id).await.unwrap().len(), 1);
    assert!(!store.revoke_key(UserId(4242), key.id, at(7)).await.unwrap());
    assert!(store.revoke_key(user.id, key.id, at(7)).await.unwrap());
    assert!(!store.revoke_key(user.id, key.id, at(8)).await.unwrap());
    assert!(!store.revoke_key(user.id, KeyId(999), at(8)).await.unwrap());
    let (revoked, _) = store
        .find_by_hash(&secret.hash(), at(9))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (revoked.revoked_at, revoked.last_used_at),
        (Some(at(7)), Some(at(65)))
    );
}

/// A key's owner is created with its key: whichever of the two cannot be stored, neither is.
async fn a_user_and_its_first_key_are_stored_together(store: Store) {
    use credence_domain::access::credentials::{ApiKeySecret, KeyDraft};
    use credence_domain::ports::KeyStore;
    let secret = ApiKeySecret::from_random([3; 32]);
    let key = KeyDraft {
        prefix: secret.prefix(),
        hash: secret.hash(),
        name: Some("first".into()),
        now: at(0),
    };
    let (user, stored) = store
        .create_user_with_key(&user_draft("key-owner", Role::Admin, None), &key)
        .await
        .unwrap();
    assert_eq!(
        (stored.user_id, stored.name.as_deref()),
        (user.id, Some("first"))
    );
    let (found, owner) = store
        .find_by_hash(&secret.hash(), at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, &owner), (stored.id, &user));

    // The key's hash is stored already: the second owner is not kept either.
    let taken = store
        .create_user_with_key(&user_draft("second-owner", Role::Admin, None), &key)
        .await;
    assert!(matches!(taken, Err(WriteError::Store(_))), "{taken:?}");
    let second = RecordRepository::<User>::find_by_reference(&store, "second-owner")
        .await
        .unwrap();
    assert!(
        second.is_none(),
        "a user without its key was left: {second:?}"
    );

    // The user cannot be stored (its reference is taken): its key is not kept.
    let other = ApiKeySecret::from_random([4; 32]);
    let orphan = KeyDraft {
        hash: other.hash(),
        prefix: other.prefix(),
        ..key
    };
    let refused = store
        .create_user_with_key(&user_draft("key-owner", Role::Admin, None), &orphan)
        .await;
    assert!(
        matches!(refused, Err(WriteError::DuplicateReference)),
        "{refused:?}"
    );
    assert!(
        store
            .find_by_hash(&other.hash(), at(2))
            .await
            .unwrap()
            .is_none()
    );
    let kept: Vec<_> = store
        .list_keys(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(kept, vec![stored.id]);
}

async fn ping_answers(store: Store) {
    store.ping().await.unwrap();
}

async fn exhausted_pool_is_unavailable(db: TestDb) {
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: Duration::from_millis(200),
    };
    let database = Database::connect(db.url(), options).unwrap();
    let store = Store::new(database.clone());
    let held = database.hold_all_connections().unwrap();
    let started = std::time::Instant::now();
    let listed = cr(&store).list(&CustomerQuery::default()).await;
    assert!(
        matches!(listed, Err(StoreError::Unavailable(_))),
        "{listed:?}"
    );
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    let written = RecordRepository::<Region>::create(
        &store,
        RegionDraft {
            name: Label::new("R").unwrap(),
            parent_id: None,
        },
    )
    .await;
    assert!(
        matches!(written, Err(WriteError::Store(StoreError::Unavailable(_)))),
        "{written:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(held);
    store.ping().await.unwrap();
}

#[test]
fn a_wrong_postgres_password_is_reported_as_such() {
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: Duration::from_millis(500),
    };
    let error = Database::connect("postgres://nobody:wrong@127.0.0.1:1/none", options).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("PostgreSQL") && !message.contains("multiconnection"),
        "{message}"
    );
    let error = Database::connect("sqlite:///nonexistent-dir/x/y.db", options).unwrap_err();
    assert!(error.to_string().contains("SQLite"), "{error}");
}

async fn within_lists_a_subtree_and_nothing_else(store: Store) {
    let a = add(&store, "A", "A", at(0)).await;
    let b = add_child(&store, "B", "B", &a, at(1)).await;
    let c = add_child(&store, "C", "C", &b, at(2)).await;
    let gone = add_child(&store, "GONE", "Gone", &b, at(3)).await;
    cr(&store).archive(gone.id, None, at(4)).await.unwrap();
    add(&store, "OTHER", "Other", at(5)).await;
    let within = |id: CustomerId| {
        query(CustomerFilter {
            within: Some(id),
            ..CustomerFilter::default()
        })
    };
    assert_eq!(
        references(&store, &within(a.id)).await,
        (vec!["A".to_owned(), "B".to_owned(), "C".to_owned()], 3)
    );
    assert_eq!(
        references(&store, &within(b.id)).await,
        (vec!["B".to_owned(), "C".to_owned()], 2)
    );
    let mut narrowed = within(a.id);
    narrowed.filter.name = Some(credence_domain::listing::TextPattern::parse("c"));
    assert_eq!(
        references(&store, &narrowed).await,
        (vec!["C".to_owned()], 1)
    );
    assert_eq!(references(&store, &within(c.id)).await.1, 1);
    assert_eq!(
        references(&store, &within(gone.id)).await.1,
        0,
        "archived roots hold nothing"
    );
}

// ---------------------------------------------------------------------------------------
// Full-text search (seed 004).

fn search(q: &str) -> SearchQuery {
    SearchQuery {
        terms: SearchTerms::parse(q).unwrap(),
        include_inactive: false,
        within: None,
        page: PageRequest::default(),
    }
}

/// `(reference, score)` of each hit, and the total.
async fn found(store: &Store, query: &SearchQuery) -> (Vec<(String, u32)>, u64) {
    let page = cr(store).search(query).await.unwrap();
    (
        page.items
            .iter()
            .map(|s| (s.customer.data.reference.as_str().to_owned(), s.score))
            .collect(),
        page.total,
    )
}

async fn search_ors_terms_and_ranks_name_over_reference_over_the_rest(store: Store) {
    let mut by_city = data(&store, "C-1", "Stable Supplies").await;
    by_city.shipping.city = text("Horseshoe Bay");
    by_city.billing.city = text("Horse");
    insert(&store, by_city, at(0)).await;
    add(&store, "HORSE-7", "Acme", at(1)).await;
    add(&store, "N-1", "The Horse Shop", at(2)).await;
    let mut by_mail = data(&store, "M-1", "Mail Only").await;
    by_mail.email = Some(Email::new("horse@example.com").unwrap());
    insert(&store, by_mail, at(3)).await;
    let mut by_tax = data(&store, "T-1", "Pony Club").await;
    by_tax.texts.tax_number = text("SE-5566");
    by_tax.texts.company_registration_number = text("556677");
    insert(&store, by_tax, at(4)).await;
    add(&store, "Z-1", "Unrelated", at(5)).await;

    assert_eq!(
        found(&store, &search("horse")).await,
        (
            vec![
                ("N-1".to_owned(), 100),
                ("HORSE-7".to_owned(), 10),
                ("C-1".to_owned(), 1),
                ("M-1".to_owned(), 1),
            ],
            4
        )
    );
    // ORed: either token finds; both in the name add up.
    assert_eq!(
        found(&store, &search("pony HORSE")).await,
        (
            vec![
                ("N-1".to_owned(), 100),
                ("T-1".to_owned(), 100),
                ("HORSE-7".to_owned(), 10),
                ("C-1".to_owned(), 1),
                ("M-1".to_owned(), 1),
            ],
            5
        )
    );
    assert_eq!(
        found(&store, &search("556677 se")).await,
        (vec![("T-1".to_owned(), 2)], 1)
    );
    assert_eq!(found(&store, &search("nothing")).await, (vec![], 0));
}

async fn search_follows_updates_inactive_and_archive(store: Store) {
    let a = add(&store, "A-1", "Zebra Works", at(0)).await;
    let mut sleeping = data(&store, "S-1", "Zebra Sleeping").await;
    sleeping.is_active = false;
    insert(&store, sleeping, at(1)).await;
    let gone = add(&store, "G-1", "Zebra Gone", at(2)).await;
    cr(&store).archive(gone.id, None, at(3)).await.unwrap();

    assert_eq!(found(&store, &search("zebra")).await.1, 1);
    let mut all = search("zebra");
    all.include_inactive = true;
    assert_eq!(
        found(&store, &all).await,
        (vec![("A-1".to_owned(), 100), ("S-1".to_owned(), 100)], 2),
        "inactive only with the flag, archived never"
    );

    let mut renamed = a.data.clone();
    renamed.name = CustomerName::new("Okapi Works").unwrap();
    save(&store, a.id, &renamed, at(4)).await.unwrap();
    assert_eq!(found(&store, &search("zebra")).await.1, 0);
    assert_eq!(
        found(&store, &search("okapi")).await,
        (vec![("A-1".to_owned(), 100)], 1)
    );
    assert_eq!(
        found(&store, &search("works")).await,
        (vec![("A-1".to_owned(), 100)], 1),
        "a word the update kept"
    );

    // A word that moves from the name to the city keeps its place with its new weight.
    renamed.name = CustomerName::new("Okapi").unwrap();
    renamed.shipping.city = text("Works Town");
    save(&store, a.id, &renamed, at(5)).await.unwrap();
    assert_eq!(
        found(&store, &search("works town okapi")).await,
        (vec![("A-1".to_owned(), 102)], 1)
    );

    // Inactive and back: every term moves, and none is lost.
    renamed.is_active = false;
    save(&store, a.id, &renamed, at(6)).await.unwrap();
    assert_eq!(found(&store, &search("okapi")).await.1, 0);
    renamed.is_active = true;
    save(&store, a.id, &renamed, at(7)).await.unwrap();
    assert_eq!(
        found(&store, &search("works town okapi")).await,
        (vec![("A-1".to_owned(), 102)], 1)
    );
}

async fn search_stays_within_a_subtree(store: Store) {
    let a = add(&store, "A", "Lynx A", at(0)).await;
    let b = add_child(&store, "B", "Lynx B", &a, at(1)).await;
    add(&store, "OTHER", "Lynx Other", at(2)).await;
    let mut q = search("lynx");
    q.within = Some(a.id);
    assert_eq!(
        found(&store, &q).await,
        (vec![("A".to_owned(), 100), ("B".to_owned(), 100)], 2)
    );
    q.within = Some(b.id);
    assert_eq!(found(&store, &q).await, (vec![("B".to_owned(), 100)], 1));
}

async fn search_survives_hostile_input_and_pages(store: Store) {
    for i in 0..7 {
        add(&store, &format!("P-{i}"), &format!("Heron {i}"), at(i)).await;
    }
    let mut ref_only = data(&store, "heron", "Other").await;
    ref_only.texts.reference2 = text("x");
    insert(&store, ref_only, at(10)).await;
    for q in [
        "\"heron",
        "heron*",
        "NEAR(heron",
        "a:b heron",
        "'heron'",
        "heron &|! x",
        "\\heron\\",
        "heron) OR (",
        "-heron",
        "^heron",
        "heron AND NOT",
        "{heron}",
    ] {
        let (hits, total) = found(&store, &search(q)).await;
        assert!(total >= 8, "{q:?} found {total}");
        assert_eq!(hits.len(), usize::try_from(total).unwrap());
    }
    let mut q = search("heron");
    q.page = PageRequest::new(Some(3), Some(0)).unwrap();
    let first = found(&store, &q).await;
    assert_eq!(
        first,
        (
            vec![
                ("P-0".to_owned(), 100),
                ("P-1".to_owned(), 100),
                ("P-2".to_owned(), 100)
            ],
            8
        )
    );
    q.page = PageRequest::new(Some(3), Some(6)).unwrap();
    assert_eq!(
        found(&store, &q).await,
        (vec![("P-6".to_owned(), 100), ("heron".to_owned(), 10)], 8)
    );
    q.page = PageRequest::new(Some(3), Some(9)).unwrap();
    assert_eq!(found(&store, &q).await, (vec![], 8));
}

/// Every match is scored, whatever its id and however common the words: the customer holding
/// both words, created last, comes first, and the total counts all matches.
async fn search_ranks_every_match(store: Store) {
    // Lower id than every gannet, and inactive: found only when asked for.
    let mut asleep = data(&store, "S-1", "Albatross Asleep").await;
    asleep.is_active = false;
    insert(&store, asleep, at(0)).await;
    for i in 0..7 {
        add(&store, &format!("G-{i}"), &format!("Gannet {i}"), at(i + 1)).await;
    }
    add(&store, "G-7", "Gannet Albatross", at(8)).await;

    let mut q = search("gannet albatross");
    q.page = PageRequest::new(Some(3), Some(0)).unwrap();
    let expected = (
        vec![
            ("G-7".to_owned(), 200),
            ("G-0".to_owned(), 100),
            ("G-1".to_owned(), 100),
        ],
        8,
    );
    assert_eq!(found(&store, &q).await, expected);
    q.terms = SearchTerms::parse("Albatross, Gannet").unwrap();
    assert_eq!(
        found(&store, &q).await,
        expected,
        "word order does not matter"
    );
    q.include_inactive = true;
    assert_eq!(
        found(&store, &q).await,
        (
            vec![
                ("G-7".to_owned(), 200),
                ("S-1".to_owned(), 100),
                ("G-0".to_owned(), 100),
            ],
            9
        )
    );
    // Deactivating a customer takes it out of the default search at once.
    let g0 = cr(&store)
        .get(&CustomerKey::Reference("G-0".to_owned()))
        .await
        .unwrap()
        .unwrap();
    let mut sleeping = g0.data.clone();
    sleeping.is_active = false;
    save(&store, g0.id, &sleeping, at(9)).await.unwrap();
    assert_eq!(found(&store, &search("gannet")).await.1, 7);
}

// ---------------------------------------------------------------------------------------
// Credit accounts, reservations, the ledger and idempotency keys (SPEC §3).

fn al(store: &Store) -> &dyn AccountLedger {
    store
}

fn keys(store: &Store) -> &dyn IdempotencyStore {
    store
}

fn eur_money(minor: i64) -> Money {
    Money::from_minor(minor, eur())
}

/// A refusal of `requested` cents with `available` cents available.
fn refusal(available: i64, requested: i64) -> CreditRefused {
    CreditRefused {
        available: eur_money(available),
        requested: eur_money(requested),
    }
}

fn eur_limit(minor: i64) -> CreditLimit {
    CreditLimit::from_minor_units(minor, eur()).unwrap()
}

/// A customer whose account has `limit` cents of credit.
async fn funded(store: &Store, reference: &str, limit: i64) -> Customer {
    let mut data = data(store, reference, reference).await;
    data.credit_limit = CreditLimit::from_minor_units(limit, eur()).unwrap();
    insert(store, data, at(0)).await
}

fn posting(account: CustomerId, kind: EntryKind, delta: i64, now: i64) -> Posting {
    Posting {
        account,
        kind,
        balance_delta: Money::from_minor(delta, eur()),
        description: Some(kind.as_str().to_owned()),
        user: None,
        now: at(now),
        idempotency: None,
    }
}

/// The account as stored (expired reservations not yet swept still count).
async fn stored(store: &Store, id: CustomerId) -> CreditAccount {
    cr(store)
        .get(&CustomerKey::Id(id))
        .await
        .unwrap()
        .unwrap()
        .account
        .unwrap()
}

/// The account at an instant is the ledger replayed up to it and the limit set by then: at
/// each entry's time it equals that entry's balance and reserved amount after it, and before
/// the account's first limit there is none.
async fn the_account_at_an_instant_replays_the_ledger(store: Store) {
    let c = funded(&store, "AS-OF", 1_000).await;
    al(&store)
        .post(
            &posting(c.id, EntryKind::Payment, 500, 10),
            Precondition::none(),
        )
        .await
        .unwrap();
    al(&store)
        .admit(&admission(c.id, 300, 20, 3600), Precondition::none())
        .await
        .unwrap();
    al(&store)
        .set_credit_limit(
            c.id,
            eur_limit(2_000),
            None,
            None,
            at(25),
            Precondition::none(),
        )
        .await
        .unwrap();
    al(&store)
        .post(
            &posting(c.id, EntryKind::Charge, -200, 30),
            Precondition::none(),
        )
        .await
        .unwrap();
    let as_of = |now: i64| {
        let store = store.clone();
        async move {
            al(&store)
                .account_as_of(c.id, at(now))
                .await
                .unwrap()
                .map(|a| {
                    (
                        a.balance().minor(),
                        a.reserved().minor(),
                        a.credit_limit().minor(),
                    )
                })
        }
    };
    assert_eq!(as_of(-1).await, None, "before the account existed");
    assert_eq!(as_of(0).await, Some((0, 0, 1_000)));
    assert_eq!(as_of(10).await, Some((500, 0, 1_000)));
    assert_eq!(as_of(24).await, Some((500, 300, 1_000)));
    assert_eq!(as_of(25).await, Some((500, 300, 2_000)));
    assert_eq!(as_of(99).await, Some((300, 300, 2_000)));
    let now = stored(&store, c.id).await;
    assert_eq!(
        as_of(99).await,
        Some((
            now.balance().minor(),
            now.reserved().minor(),
            now.credit_limit().minor()
        ))
    );
    assert_eq!(
        al(&store)
            .account_as_of(CustomerId(424_242), at(99))
            .await
            .unwrap(),
        None
    );
}

/// The credit-limit history answers every limit an account had, newest first, with the limit
/// before, who set it (a user deleted or unknown reads as no one) and why; an unchanged limit
/// writes no row.
async fn the_limit_history_names_each_change_newest_first(store: Store) {
    let user = admin(&store, "ctl-1").await;
    let c = funded(&store, "HISTORY", 1_000).await;
    let raised = Some("paid on time".to_owned());
    for (limit, by, reason, now) in [
        (5_000, Some(user.id), raised, 10),
        (5_000, Some(user.id), None, 20),
        (2_500, Some(UserId(999_999)), None, 30),
    ] {
        al(&store)
            .set_credit_limit(
                c.id,
                eur_limit(limit),
                by,
                reason,
                at(now),
                Precondition::none(),
            )
            .await
            .unwrap();
    }
    let page = al(&store)
        .limit_history(c.id, PageRequest::new(Some(2), None).unwrap())
        .await
        .unwrap();
    assert_eq!(page.total, 3, "the unchanged limit wrote no row");
    let seen: Vec<_> = page
        .items
        .iter()
        .map(|change| {
            (
                change.previous.map(|m| m.minor()),
                change.limit.minor(),
                change.changed_by.as_ref().map(|u| u.reference.to_string()),
                change.reason.clone(),
                change.at,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Some(5_000), 2_500, None, None, at(30)),
            (
                Some(1_000),
                5_000,
                Some("ctl-1".to_owned()),
                Some("paid on time".to_owned()),
                at(10)
            ),
        ]
    );
    let first = al(&store)
        .limit_history(c.id, PageRequest::new(Some(2), Some(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|change| (
                change.previous,
                change.limit.minor(),
                change.approved_by.clone()
            ))
            .collect::<Vec<_>>(),
        [(None, 1_000, None)]
    );
    assert_eq!(first.items[0].limit.currency(), eur());
}

/// The kinds and times (seconds after `at(0)`) of the account's entries that pass `filter`,
/// and the total the page reports.
async fn filtered_ledger(
    store: &Store,
    id: CustomerId,
    filter: LedgerFilter,
) -> (Vec<(EntryKind, i64)>, u64) {
    let page = al(store)
        .ledger(id, filter, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    let seen = page
        .items
        .iter()
        .map(|e| (e.kind, e.at.timestamp() - at(0).timestamp()))
        .collect();
    (seen, page.total)
}

/// The ledger keeps the entries written in a span of time (each bound strict or not, as the
/// customer list's) and of one kind; the reservations those admitted in a span; `total`
/// counts only what passes, so the paging links stay right.
async fn ledger_and_reservations_filter_by_time_and_kind(store: Store) {
    use EntryKind::{Charge, Payment, Reservation as Reserved};
    let c = funded(&store, "FILTERED", 100_000).await;
    for (kind, delta, now) in [(Payment, 500, 10), (Charge, -200, 20), (Payment, 300, 30)] {
        al(&store)
            .post(&posting(c.id, kind, delta, now), Precondition::none())
            .await
            .unwrap();
    }
    for now in [40, 50] {
        al(&store)
            .admit(&admission(c.id, 100, now, 3600), Precondition::none())
            .await
            .unwrap();
    }
    let span = |gt: Option<i64>, gte: Option<i64>, lt: Option<i64>, lte: Option<i64>| TimeRange {
        gt: gt.map(at),
        gte: gte.map(at),
        lt: lt.map(at),
        lte: lte.map(at),
    };
    let everything = filtered_ledger(&store, c.id, LedgerFilter::default()).await;
    assert_eq!(
        everything,
        (
            vec![
                (Payment, 10),
                (Charge, 20),
                (Payment, 30),
                (Reserved, 40),
                (Reserved, 50)
            ],
            5
        )
    );
    let payments = LedgerFilter {
        kind: Some(Payment),
        ..LedgerFilter::default()
    };
    assert_eq!(
        filtered_ledger(&store, c.id, payments).await,
        (vec![(Payment, 10), (Payment, 30)], 2)
    );
    let inclusive = LedgerFilter {
        date_created: span(None, Some(20), None, Some(40)),
        kind: None,
    };
    assert_eq!(
        filtered_ledger(&store, c.id, inclusive).await,
        (vec![(Charge, 20), (Payment, 30), (Reserved, 40)], 3)
    );
    let strict_payments = LedgerFilter {
        date_created: span(Some(10), None, Some(40), None),
        kind: Some(Payment),
    };
    assert_eq!(
        filtered_ledger(&store, c.id, strict_payments).await,
        (vec![(Payment, 30)], 1)
    );
    let later = ReservationFilter {
        date_created: span(Some(40), None, None, None),
    };
    let held = al(&store)
        .reservations(c.id, later, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    let times: Vec<i64> = held
        .items
        .iter()
        .map(|r| r.created_at.timestamp() - at(0).timestamp())
        .collect();
    assert_eq!((times, held.total), (vec![50], 1));
}

/// Balance and reserved equal the sums of the ledger, and every entry's amounts after it
/// follow from the one before. Returns the entries.
async fn assert_ledger_adds_up(store: &Store, id: CustomerId) -> Vec<LedgerEntry> {
    let mut entries = Vec::new();
    loop {
        let offset = i64::try_from(entries.len()).unwrap();
        let page = al(store)
            .ledger(
                id,
                LedgerFilter::default(),
                PageRequest::new(Some(7), Some(offset)).unwrap(),
            )
            .await
            .unwrap();
        let done = page.items.is_empty();
        entries.extend(page.items);
        assert!(page.total >= u64::try_from(entries.len()).unwrap());
        if done {
            assert_eq!(page.total, u64::try_from(entries.len()).unwrap());
            break;
        }
    }
    let (mut balance, mut reserved) = (0_i64, 0_i64);
    let mut last_id = 0;
    for entry in &entries {
        assert!(entry.id > last_id, "oldest first");
        last_id = entry.id;
        balance += entry.balance_delta.minor();
        reserved += entry.reserved_delta.minor();
        assert_eq!(
            (entry.balance_after.minor(), entry.reserved_after.minor()),
            (balance, reserved),
            "{entry:?}"
        );
    }
    let account = stored(store, id).await;
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (balance, reserved)
    );
    assert!(account.reserved().minor() >= 0);
    entries
}

fn kinds(entries: &[LedgerEntry]) -> Vec<&'static str> {
    entries.iter().map(|e| e.kind.as_str()).collect()
}

/// A customer put on hold or deactivated after the service read it is refused by the
/// admission's own check, under the customer's lock: nothing is reserved.
async fn an_admission_refuses_a_customer_on_hold_or_inactive(store: Store) {
    let c = funded(&store, "HELD", 1000).await;
    let mut held = c.data.clone();
    held.on_hold = true;
    held.texts.on_hold_reason = text("unpaid");
    let held = update(&store, c.id, c.revision, &held, at(1))
        .await
        .unwrap()
        .unwrap();
    let refused = al(&store)
        .admit(&admission(c.id, 100, 2, 3600), Precondition::none())
        .await;
    assert!(
        matches!(&refused, Err(AdmitError::OnHold(Some(reason))) if reason == "unpaid"),
        "{refused:?}"
    );
    let mut inactive = held.data.clone();
    inactive.on_hold = false;
    inactive.is_active = false;
    update(&store, c.id, held.revision, &inactive, at(3))
        .await
        .unwrap()
        .unwrap();
    let refused = al(&store)
        .admit(&admission(c.id, 100, 4, 3600), Precondition::none())
        .await;
    assert!(matches!(refused, Err(AdmitError::Inactive)), "{refused:?}");
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 0);
}

/// A payment for a customer archived after the service read it finds no account: an
/// archived customer never holds money.
async fn a_posting_finds_no_account_once_its_customer_is_archived(store: Store) {
    let c = funded(&store, "GONE", 1000).await;
    assert!(cr(&store).archive(c.id, None, at(1)).await.unwrap());
    let posted = al(&store)
        .post(
            &posting(c.id, EntryKind::Payment, 500, 2),
            Precondition::none(),
        )
        .await;
    assert!(matches!(posted, Err(AdmitError::NoAccount)), "{posted:?}");
}

async fn admission_up_to_the_available_credit(store: Store) {
    let c = funded(&store, "ADMIT", 1000).await;
    let first = al(&store)
        .admit(&admission(c.id, 600, 1, 3600), Precondition::none())
        .await
        .unwrap();
    assert_eq!(
        (
            first.amount.minor(),
            first.status,
            first.account,
            first.captured.map(|m| m.minor())
        ),
        (600, ReservationStatus::Open, c.id, None)
    );
    assert_eq!(first.expires_at, at(3600));
    let refused = al(&store)
        .admit(&admission(c.id, 401, 2, 3600), Precondition::none())
        .await;
    assert!(
        matches!(
            refused,
            Err(AdmitError::Refused(r)) if r == refusal(400, 401)
        ),
        "{refused:?}"
    );
    al(&store)
        .admit(&admission(c.id, 400, 3, 3600), Precondition::none())
        .await
        .unwrap();
    let account = al(&store).account(c.id, at(4)).await.unwrap().unwrap();
    assert_eq!(
        (account.reserved().minor(), account.available().minor()),
        (1000, 0)
    );
    assert!(matches!(
        al(&store).admit(&admission(c.id, 1, 5, 3600), Precondition::none()).await,
        Err(AdmitError::Refused(r)) if r == refusal(0, 1)
    ));
    // A payment makes room; a lowered limit blocks again (and may go below usage).
    al(&store)
        .post(
            &posting(c.id, EntryKind::Payment, 250, 6),
            Precondition::none(),
        )
        .await
        .unwrap();
    al(&store)
        .admit(&admission(c.id, 250, 7, 3600), Precondition::none())
        .await
        .unwrap();
    let lowered = al(&store)
        .set_credit_limit(
            c.id,
            eur_limit(500),
            None,
            None,
            at(8),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(lowered.available().minor(), 250 + 500 - 1250);
    assert!(matches!(
        al(&store).admit(&admission(c.id, 1, 9, 3600), Precondition::none()).await,
        Err(AdmitError::Refused(r)) if r == refusal(-500, 1)
    ));
    assert!(matches!(
        al(&store)
            .admit(
                &admission(CustomerId(424_242), 1, 9, 3600),
                Precondition::none()
            )
            .await,
        Err(AdmitError::NoAccount)
    ));
    let entries = assert_ledger_adds_up(&store, c.id).await;
    assert_eq!(
        kinds(&entries),
        vec!["reservation", "reservation", "payment", "reservation"]
    );
    assert_eq!(entries[0].reservation, Some(first.id));
}

async fn tagged_settlements_answer_their_repeats(store: Store) {
    let c = funded(&store, "TAGGED", 1000).await;
    let tag = |k: &str| {
        Some(format!(
            "7:/api/v1.0/customers/{{id}}/account/reservations/{{rid}}/capture:{k}"
        ))
    };
    let r1 = al(&store)
        .admit(&admission(c.id, 300, 1, 3600), Precondition::none())
        .await
        .unwrap();
    let first = al(&store)
        .capture(
            c.id,
            r1.id,
            Some(eur_money(200)),
            None,
            at(2),
            tag("k1"),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(first.captured.map(|m| m.minor()), Some(200));
    // The same tag again (the answer was lost): the first capture, nothing moved.
    let again = al(&store)
        .capture(
            c.id,
            r1.id,
            Some(eur_money(100)),
            None,
            at(3),
            tag("k1"),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.captured.map(|m| m.minor())),
        (first.status, Some(200))
    );
    assert!(matches!(
        al(&store)
            .capture(
                c.id,
                r1.id,
                None,
                None,
                at(3),
                tag("k2"),
                Precondition::none()
            )
            .await,
        Err(SettleError::NotOpen)
    ));
    let r2 = al(&store)
        .admit(&admission(c.id, 100, 4, 3600), Precondition::none())
        .await
        .unwrap();
    let released = al(&store)
        .release(c.id, r2.id, None, at(5), tag("r1"), Precondition::none())
        .await
        .unwrap();
    let repeat = al(&store)
        .release(c.id, r2.id, None, at(6), tag("r1"), Precondition::none())
        .await
        .unwrap();
    assert_eq!(repeat.status, released.status);
    assert!(matches!(
        al(&store)
            .release(c.id, r2.id, None, at(6), None, Precondition::none())
            .await,
        Err(SettleError::NotOpen)
    ));
    // A tag that settled another reservation long ago tags nothing now.
    let r3 = al(&store)
        .admit(&admission(c.id, 50, 7, 3600), Precondition::none())
        .await
        .unwrap();
    let other = al(&store)
        .capture(
            c.id,
            r3.id,
            None,
            None,
            at(8),
            tag("k1"),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(other.captured.map(|m| m.minor()), Some(50));
    let account = al(&store).account(c.id, at(8)).await.unwrap().unwrap();
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (-250, 0)
    );
    assert_ledger_adds_up(&store, c.id).await;
}

async fn capture_release_and_their_refusals(store: Store) {
    let c = funded(&store, "SETTLE", 1000).await;
    let other = funded(&store, "OTHER", 1000).await;
    let r1 = al(&store)
        .admit(&admission(c.id, 600, 1, 3600), Precondition::none())
        .await
        .unwrap();
    let captured = al(&store)
        .capture(
            c.id,
            r1.id,
            Some(eur_money(450)),
            Some(UserId(1)),
            at(2),
            None,
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            captured.status,
            captured.captured.map(|m| m.minor()),
            captured.closed_at
        ),
        (ReservationStatus::Captured, Some(450), Some(at(2)))
    );
    let account = al(&store).account(c.id, at(2)).await.unwrap().unwrap();
    assert_eq!(
        (
            account.balance().minor(),
            account.reserved().minor(),
            account.available().minor()
        ),
        (-450, 0, 550)
    );
    assert!(matches!(
        al(&store)
            .capture(c.id, r1.id, None, None, at(3), None, Precondition::none())
            .await,
        Err(SettleError::NotOpen)
    ));
    let r2 = al(&store)
        .admit(&admission(c.id, 300, 4, 3600), Precondition::none())
        .await
        .unwrap();
    assert!(matches!(
        al(&store)
            .capture(
                c.id,
                r2.id,
                Some(eur_money(301)),
                None,
                at(5),
                None,
                Precondition::none()
            )
            .await,
        Err(SettleError::Exceeds)
    ));
    assert!(matches!(
        al(&store)
            .capture(
                other.id,
                r2.id,
                None,
                None,
                at(5),
                None,
                Precondition::none()
            )
            .await,
        Err(SettleError::NotFound)
    ));
    assert!(matches!(
        al(&store)
            .release(other.id, r2.id, None, at(5), None, Precondition::none())
            .await,
        Err(SettleError::NotFound)
    ));
    assert!(matches!(
        al(&store)
            .capture(
                c.id,
                ReservationId(999_999),
                None,
                None,
                at(5),
                None,
                Precondition::none()
            )
            .await,
        Err(SettleError::NotFound)
    ));
    let released = al(&store)
        .release(c.id, r2.id, None, at(6), None, Precondition::none())
        .await
        .unwrap();
    assert_eq!(
        (released.status, released.captured.map(|m| m.minor())),
        (ReservationStatus::Released, None)
    );
    assert!(matches!(
        al(&store)
            .release(c.id, r2.id, None, at(7), None, Precondition::none())
            .await,
        Err(SettleError::NotOpen)
    ));
    assert!(matches!(
        al(&store)
            .capture(c.id, r2.id, None, None, at(7), None, Precondition::none())
            .await,
        Err(SettleError::NotOpen)
    ));
    let r3 = al(&store)
        .admit(&admission(c.id, 100, 8, 3600), Precondition::none())
        .await
        .unwrap();
    let all = al(&store)
        .capture(c.id, r3.id, None, None, at(9), None, Precondition::none())
        .await
        .unwrap();
    assert_eq!(all.captured.map(|m| m.minor()), Some(100));
    let page = al(&store)
        .reservations(
            c.id,
            ReservationFilter::default(),
            PageRequest::new(Some(2), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(
        page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r3.id, r2.id],
        "newest first"
    );
    let entries = assert_ledger_adds_up(&store, c.id).await;
    assert_eq!(
        kinds(&entries),
        vec![
            "reservation",
            "capture",
            "reservation",
            "release",
            "reservation",
            "capture"
        ]
    );
    let capture = &entries[1];
    assert_eq!(
        (
            capture.balance_delta.minor(),
            capture.reserved_delta.minor(),
            capture.user
        ),
        (-450, -600, Some(UserId(1)))
    );
    let account = stored(&store, c.id).await;
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (-550, 0)
    );
    assert_ledger_adds_up(&store, other.id).await;
}

async fn payments_charges_and_adjustments(store: Store) {
    let c = funded(&store, "POST", 0).await;
    let paid = al(&store)
        .post(
            &posting(c.id, EntryKind::Payment, 10_000, 1),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            paid.kind,
            paid.balance_delta.minor(),
            paid.balance_after.minor(),
            paid.at
        ),
        (EntryKind::Payment, 10_000, 10_000, at(1))
    );
    // A charge posts a real cost: never refused for credit.
    let charged = al(&store)
        .post(
            &posting(c.id, EntryKind::Charge, -15_000, 2),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(charged.balance_after.minor(), -5_000);
    let adjusted = al(&store)
        .post(
            &posting(c.id, EntryKind::Adjustment, -5, 3),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            adjusted.balance_after.minor(),
            adjusted.description.as_deref()
        ),
        (-5_005, Some("adjustment"))
    );
    let limited = al(&store)
        .set_credit_limit(
            c.id,
            eur_limit(20_000),
            Some(UserId(7)),
            None,
            at(4),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(
        (limited.credit_limit().minor(), limited.available().minor()),
        (20_000, 14_995)
    );
    let customer = cr(&store)
        .get(&CustomerKey::Id(c.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.data.credit_limit.minor_units(), 20_000);
    assert!(matches!(
        al(&store)
            .post(
                &posting(CustomerId(424_242), EntryKind::Payment, 1, 5),
                Precondition::none()
            )
            .await,
        Err(AdmitError::NoAccount)
    ));
    assert!(matches!(
        al(&store)
            .set_credit_limit(
                CustomerId(424_242),
                eur_limit(1),
                None,
                None,
                at(5),
                Precondition::none()
            )
            .await,
        Err(AdmitError::NoAccount)
    ));
    assert!(
        al(&store)
            .account(CustomerId(424_242), at(5))
            .await
            .unwrap()
            .is_none()
    );
    let entries = assert_ledger_adds_up(&store, c.id).await;
    assert_eq!(kinds(&entries), vec!["payment", "charge", "adjustment"]);
    assert_eq!(
        credence_store::test_support::credit_limit_history(store.database(), c.id.get()),
        vec![(None, 0), (Some(0), 20_000)]
    );
}

async fn expired_reservations_stop_counting_and_expire_once(store: Store) {
    let c = funded(&store, "EXPIRE", 1000).await;
    let short = al(&store)
        .admit(&admission(c.id, 700, 0, 10), Precondition::none())
        .await
        .unwrap();
    let at_9 = al(&store).account(c.id, at(9)).await.unwrap().unwrap();
    assert_eq!(at_9.reserved().minor(), 700);
    let at_10 = al(&store).account(c.id, at(10)).await.unwrap().unwrap();
    assert_eq!(
        (at_10.reserved().minor(), at_10.available().minor()),
        (0, 1000),
        "no longer counts"
    );
    // The next admission releases it in its own transaction, then fits.
    al(&store)
        .admit(&admission(c.id, 1000, 11, 3600), Precondition::none())
        .await
        .unwrap();
    let entries = assert_ledger_adds_up(&store, c.id).await;
    assert_eq!(
        kinds(&entries),
        vec!["reservation", "expiry", "reservation"]
    );
    assert_eq!(
        (
            entries[1].reservation,
            entries[1].reserved_delta.minor(),
            entries[1].user
        ),
        (Some(short.id), -700, None)
    );
    let page = al(&store)
        .reservations(
            c.id,
            ReservationFilter::default(),
            PageRequest::new(None, None).unwrap(),
        )
        .await
        .unwrap();
    let expired = page.items.iter().find(|r| r.id == short.id).unwrap();
    assert_eq!(
        (expired.status, expired.closed_at),
        (ReservationStatus::Expired, Some(at(11)))
    );
    // A capture that comes too late finds it closed, and expires it on the way.
    let d = funded(&store, "LATE", 1000).await;
    let late = al(&store)
        .admit(&admission(d.id, 300, 0, 10), Precondition::none())
        .await
        .unwrap();
    assert!(matches!(
        al(&store)
            .capture(
                d.id,
                late.id,
                None,
                None,
                at(10),
                None,
                Precondition::none()
            )
            .await,
        Err(SettleError::NotOpen)
    ));
    assert_eq!(stored(&store, d.id).await.reserved().minor(), 0);
    assert_ledger_adds_up(&store, d.id).await;
    // The sweeper: two running at once expire each due reservation exactly once.
    let mut due = Vec::new();
    for n in 0..6 {
        let e = funded(&store, &format!("SWEEP-{n}"), 1000).await;
        al(&store)
            .admit(&admission(e.id, 100, 0, 20), Precondition::none())
            .await
            .unwrap();
        al(&store)
            .admit(&admission(e.id, 50, 0, 20 + n), Precondition::none())
            .await
            .unwrap();
        al(&store)
            .admit(&admission(e.id, 25, 0, 9_999), Precondition::none())
            .await
            .unwrap();
        due.push(e.id);
    }
    assert_eq!(store.sweep_expired(at(19), 100).await.unwrap(), 0);
    let (a, b) = tokio::join!(
        {
            let store = store.clone();
            tokio::spawn(async move { store.sweep_expired(at(30), 100).await.unwrap() })
        },
        {
            let store = store.clone();
            tokio::spawn(async move { store.sweep_expired(at(30), 100).await.unwrap() })
        }
    );
    assert_eq!(a.unwrap() + b.unwrap(), 12);
    assert_eq!(store.sweep_expired(at(31), 100).await.unwrap(), 0);
    for id in due {
        let entries = assert_ledger_adds_up(&store, id).await;
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.kind == EntryKind::Expiry)
                .count(),
            2
        );
        assert_eq!(stored(&store, id).await.reserved().minor(), 25);
    }
    // `limit` bounds one sweep.
    let f = funded(&store, "LIMIT", 1000).await;
    for _ in 0..3 {
        al(&store)
            .admit(&admission(f.id, 10, 0, 5), Precondition::none())
            .await
            .unwrap();
    }
    assert_eq!(store.sweep_expired(at(40), 2).await.unwrap(), 2);
    assert_eq!(store.sweep_expired(at(40), 2).await.unwrap(), 1);
    assert_ledger_adds_up(&store, f.id).await;
}

async fn racing_admissions_never_overdraw(store: Store) {
    let c = funded(&store, "RACE", 1000).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let id = c.id;
            tokio::spawn(async move {
                al(&store)
                    .admit(&admission(id, 100, 1, 3600), Precondition::none())
                    .await
            })
        })
        .collect();
    assert_eq!(tally(tasks).await, (10, 10));
    let account = al(&store).account(c.id, at(2)).await.unwrap().unwrap();
    assert_eq!(
        (account.reserved().minor(), account.available().minor()),
        (1000, 0)
    );
    assert_eq!(assert_ledger_adds_up(&store, c.id).await.len(), 10);
}

/// Admissions that arrive together are written in one transaction (group commit), and
/// each is still answered as if it had run alone: exactly as many fit as the credit allows,
/// twins with one tag share one effect, and a bad admission fails only itself.
async fn batched_admissions_answer_each_as_if_alone(store: Store) {
    let c = funded(&store, "BATCH", 1000).await;
    let mut twin = admission(c.id, 50, 1, 3600);
    twin.idempotency = Some("user:1/batch-twin".to_owned());
    let answers = admit_together(
        &store,
        (0..40)
            .map(|i| {
                if i % 10 == 3 || i % 10 == 7 {
                    ("twin", twin.clone())
                } else {
                    ("plain", admission(c.id, 50, 1, 3600))
                }
            })
            .collect(),
    )
    .await;
    let mut admitted = std::collections::HashSet::new();
    let mut twins = Vec::new();
    for (kind, answer) in answers {
        match (kind, answer) {
            ("twin", answer) => twins.push(answer.map(|r| r.id).map_err(|e| format!("{e:?}"))),
            (_, Ok(reservation)) => assert!(admitted.insert(reservation.id)),
            (_, Err(AdmitError::Refused(r))) => {
                assert_eq!(r.requested.minor(), 50);
                assert!(r.available.minor() < 50, "refused while it fitted: {r:?}");
            }
            (_, Err(e)) => panic!("unexpected {e:?}"),
        }
    }
    assert!(
        twins.windows(2).all(|w| w[0] == w[1]),
        "twins answer one result: {twins:?}"
    );
    if let Some(Ok(id)) = twins.first() {
        admitted.insert(*id);
    }
    assert_eq!(admitted.len(), 20, "exactly what the credit allows");
    let account = al(&store).account(c.id, at(2)).await.unwrap().unwrap();
    assert_eq!(
        (account.reserved().minor(), account.available().minor()),
        (1000, 0)
    );
    assert_eq!(assert_ledger_adds_up(&store, c.id).await.len(), 20);
    assert!(
        store.admissions_batched() > 0,
        "admissions that arrived together were written together"
    );

    // A bad admission (a cost of zero, which the store refuses as corrupt) among good ones.
    let d = funded(&store, "BATCH-BAD", 1000).await;
    let answers = admit_together(
        &store,
        (0..12)
            .map(|i| {
                if i % 4 == 1 {
                    ("bad", admission(d.id, 0, 1, 3600))
                } else {
                    ("plain", admission(d.id, 10, 1, 3600))
                }
            })
            .collect(),
    )
    .await;
    for (kind, answer) in answers {
        match kind {
            "bad" => assert!(matches!(answer, Err(AdmitError::Store(_))), "{answer:?}"),
            _ => assert!(
                answer.is_ok(),
                "a good admission beside a bad one: {answer:?}"
            ),
        }
    }
    assert_eq!(assert_ledger_adds_up(&store, d.id).await.len(), 9);
}

/// Reads of many accounts at once (which PostgreSQL answers in batches) each get their own
/// customer's account as a lone read would, lapsed reservations left out; archived and
/// unknown customers have none.
async fn concurrent_account_reads_answer_each_its_own(store: Store) {
    let mut ids = Vec::new();
    for i in 0..6 {
        let c = funded(&store, &format!("READ-{i}"), 1000 + i).await;
        al(&store)
            .admit(
                &admission(c.id, 10 * (i + 1), 1, 3600),
                Precondition::none(),
            )
            .await
            .unwrap();
        ids.push(c.id);
    }
    // A reservation that lapses at 100 stops counting in reads after it.
    al(&store)
        .admit(&admission(ids[0], 7, 1, 100), Precondition::none())
        .await
        .unwrap();
    let gone = funded(&store, "READ-GONE", 500).await;
    assert!(cr(&store).archive(gone.id, None, at(2)).await.unwrap());
    let unknown = CustomerId(i64::MAX - 1);
    let mut alone = std::collections::HashMap::new();
    for &id in &ids {
        alone.insert(id, al(&store).account(id, at(200)).await.unwrap().unwrap());
    }
    assert_eq!(
        alone[&ids[0]].reserved().minor(),
        10,
        "the lapsed reservation is left out"
    );
    assert_eq!(alone[&ids[3]].credit_limit().minor(), 1003);
    for round in 0..5 {
        let tasks: Vec<_> = (0..96_usize)
            .map(|i| {
                let store = store.clone();
                let id = match i % 8 {
                    6 => gone.id,
                    7 => unknown,
                    k => ids[k],
                };
                tokio::spawn(async move { (id, al(&store).account(id, at(200)).await) })
            })
            .collect();
        for task in tasks {
            let (id, answer) = task.await.unwrap();
            let answer = answer.unwrap();
            if id == gone.id || id == unknown {
                assert_eq!(answer, None, "round {round}: {id:?} has no account");
            } else {
                assert_eq!(answer, Some(alone[&id]), "round {round}: {id:?}");
            }
        }
    }
    if store.database().backend() == credence_store::Backend::Postgres {
        assert!(
            store.account_reads_batched() > 0,
            "reads that arrived together were read together"
        );
    }
}

/// Runs the admissions at once, each in a task of its own; answers in the given order.
async fn admit_together(
    store: &Store,
    work: Vec<(&'static str, Admission)>,
) -> Vec<(&'static str, Result<Reservation, AdmitError>)> {
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(kind, admission)| {
            let store = store.clone();
            tokio::spawn(async move {
                (
                    kind,
                    al(&store).admit(&admission, Precondition::none()).await,
                )
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

async fn idempotent_admissions_and_postings_apply_once(store: Store) {
    let c = funded(&store, "ONCE", 1000).await;
    let mut tagged = admission(c.id, 100, 1, 3600);
    tagged.idempotency = Some("user:1/key-1".to_owned());
    let first = al(&store)
        .admit(&tagged, Precondition::none())
        .await
        .unwrap();
    let again = al(&store)
        .admit(&tagged, Precondition::none())
        .await
        .unwrap();
    assert_eq!(first, again);
    // Racing twins with one tag: one effect, every caller gets it.
    let mut twin = admission(c.id, 200, 2, 3600);
    twin.idempotency = Some("user:1/key-2".to_owned());
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let twin = twin.clone();
            tokio::spawn(
                async move { al(&store).admit(&twin, Precondition::none()).await.unwrap() },
            )
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
    let mut pay = posting(c.id, EntryKind::Payment, 500, 3);
    pay.idempotency = Some("user:1/key-3".to_owned());
    let paid = al(&store).post(&pay, Precondition::none()).await.unwrap();
    assert_eq!(
        al(&store).post(&pay, Precondition::none()).await.unwrap(),
        paid
    );
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let mut pay = pay.clone();
            pay.idempotency = Some("user:1/key-4".to_owned());
            tokio::spawn(async move { al(&store).post(&pay, Precondition::none()).await.unwrap() })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
    let account = stored(&store, c.id).await;
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (1000, 300)
    );
    assert_eq!(assert_ledger_adds_up(&store, c.id).await.len(), 4);
}

async fn customers_and_accounts_go_together(store: Store) {
    let usd = CurrencyCode::parse("USD").unwrap();
    RecordRepository::<Currency>::create(
        &store,
        CurrencyDraft {
            code: usd,
            exchange_rate: ExchangeRate::parse("1.0825").unwrap(),
        },
    )
    .await
    .unwrap();
    let mut d = data(&store, "ACC-1", "Account").await;
    d.credit_limit = CreditLimit::new("12.34".parse().unwrap(), eur()).unwrap();
    let c = insert(&store, d.clone(), at(0)).await;
    assert_eq!(
        c.account,
        Some(CreditAccount::from_minor(c.id, eur(), 0, 1234, 0))
    );
    // The limit moves with the customer, with a history row signed by who changed it.
    d.credit_limit = CreditLimit::new("50".parse().unwrap(), eur()).unwrap();
    let updated = cr(&store)
        .update(
            c.id,
            revision(&store, c.id).await,
            &d,
            &DocumentLinks::none(),
            Some(UserId(42)),
            at(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.data.credit_limit.minor_units(), 5000);
    assert_eq!(
        al(&store)
            .account(c.id, at(1))
            .await
            .unwrap()
            .unwrap()
            .credit_limit()
            .minor(),
        5000
    );
    assert_eq!(
        credence_store::test_support::credit_limit_history(store.database(), c.id.get()),
        vec![(None, 1234), (Some(1234), 5000)]
    );
    assert_eq!(
        credence_store::test_support::credit_limit_signers(store.database(), c.id.get())[1],
        Some(42)
    );
    // With no money on it, the account follows a currency change.
    d.currency = usd;
    d.credit_limit = CreditLimit::new("50".parse().unwrap(), usd).unwrap();
    let dollars = save(&store, c.id, &d, at(2)).await.unwrap().unwrap();
    assert_eq!(dollars.account.unwrap().currency(), usd);
    // Money moves in the account's currency only; with money on it, the currency stays.
    let euros = al(&store)
        .post(
            &posting(c.id, EntryKind::Payment, 100, 3),
            Precondition::none(),
        )
        .await;
    assert!(euros.is_err(), "a payment in another currency: {euros:?}");
    al(&store)
        .post(
            &Posting {
                balance_delta: Money::from_minor(100, usd),
                ..posting(c.id, EntryKind::Payment, 100, 3)
            },
            Precondition::none(),
        )
        .await
        .unwrap();
    d.currency = eur();
    d.credit_limit = CreditLimit::new("50".parse().unwrap(), eur()).unwrap();
    let refused = save(&store, c.id, &d, at(4)).await;
    assert!(
        matches!(refused, Err(WriteError::AccountInUse)),
        "{refused:?}"
    );
    let kept = cr(&store)
        .get(&CustomerKey::Id(c.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.data.currency, kept.account.unwrap().currency()),
        (usd, usd)
    );
    // Archiving waits for a zero balance and no open reservation.
    assert!(matches!(
        cr(&store).archive(c.id, None, at(5)).await,
        Err(RemoveError::InUse)
    ));
    al(&store)
        .post(
            &Posting {
                balance_delta: Money::from_minor(-100, usd),
                ..posting(c.id, EntryKind::Charge, -100, 6)
            },
            Precondition::none(),
        )
        .await
        .unwrap();
    let held = al(&store)
        .admit(
            &Admission {
                amount: Money::from_minor(10, usd),
                ..admission(c.id, 10, 7, 3600)
            },
            Precondition::none(),
        )
        .await
        .unwrap();
    assert!(matches!(
        cr(&store).archive(c.id, None, at(8)).await,
        Err(RemoveError::InUse)
    ));
    al(&store)
        .release(c.id, held.id, None, at(9), None, Precondition::none())
        .await
        .unwrap();
    assert!(cr(&store).archive(c.id, None, at(10)).await.unwrap());
    // An open reservation already past its time holds nothing: it is expired on the way.
    let e = funded(&store, "ACC-2", 1000).await;
    al(&store)
        .admit(&admission(e.id, 10, 0, 5), Precondition::none())
        .await
        .unwrap();
    assert!(cr(&store).archive(e.id, None, at(6)).await.unwrap());
    // Lists carry the accounts too.
    let listed = cr(&store).list(&CustomerQuery::default()).await.unwrap();
    assert!(listed.items.iter().all(|c| c.account.is_some()));
}

async fn idempotency_keys_start_replay_and_expire(store: Store) {
    let k = keys(&store);
    let lease = at(60);
    assert_eq!(
        k.start("u1", "a", "fp1", at(0), lease).await.unwrap(),
        IdempotencyStart::Started
    );
    assert_eq!(
        k.start("u1", "a", "fp1", at(1), lease).await.unwrap(),
        IdempotencyStart::InFlight
    );
    assert_eq!(
        k.start("u1", "a", "fp2", at(1), lease).await.unwrap(),
        IdempotencyStart::Mismatch
    );
    assert_eq!(
        k.start("u2", "a", "fp2", at(1), lease).await.unwrap(),
        IdempotencyStart::Started,
        "keys are scoped"
    );
    k.complete("u1", "a", 201, "{\"id\":1}", at(2))
        .await
        .unwrap();
    assert_eq!(
        k.start("u1", "a", "fp1", at(3), lease).await.unwrap(),
        IdempotencyStart::Replay {
            status: 201,
            body: "{\"id\":1}".to_owned()
        }
    );
    assert_eq!(
        k.start("u1", "a", "fp2", at(3), lease).await.unwrap(),
        IdempotencyStart::Mismatch
    );
    // A lapsed lease is taken over once; the taker holds a new lease.
    assert_eq!(
        k.start("u1", "b", "fp", at(10), at(20)).await.unwrap(),
        IdempotencyStart::Started
    );
    assert_eq!(
        k.start("u1", "b", "fp", at(19), at(80)).await.unwrap(),
        IdempotencyStart::InFlight
    );
    let (x, y) = tokio::join!(
        k.start("u1", "b", "fp", at(20), at(80)),
        k.start("u1", "b", "fp", at(20), at(80))
    );
    let mut outcomes = vec![x.unwrap(), y.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        vec![IdempotencyStart::InFlight, IdempotencyStart::Started]
    );
    // Abandoning frees the key for a retry; a done key is not abandoned.
    k.abandon("u1", "b").await.unwrap();
    assert_eq!(
        k.start("u1", "b", "fp", at(21), at(80)).await.unwrap(),
        IdempotencyStart::Started
    );
    k.abandon("u1", "a").await.unwrap();
    assert!(matches!(
        k.start("u1", "a", "fp1", at(22), lease).await.unwrap(),
        IdempotencyStart::Replay { status: 201, .. }
    ));
    // Racing first requests: one starts, the other sees it in flight.
    let (x, y) = tokio::join!(
        k.start("u1", "c", "fp", at(30), at(90)),
        k.start("u1", "c", "fp", at(30), at(90))
    );
    let mut outcomes = vec![x.unwrap(), y.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        vec![IdempotencyStart::InFlight, IdempotencyStart::Started]
    );
    // Purging removes keys created before the cut: "u1/a", "u2/a" (at 0 and 1).
    assert_eq!(k.purge(at(5)).await.unwrap(), 2);
    assert_eq!(
        k.start("u1", "a", "fp2", at(40), at(99)).await.unwrap(),
        IdempotencyStart::Started
    );
    assert_eq!(k.purge(at(5)).await.unwrap(), 0);
}

/// Applies the migrations before `credit` by hand (with diesel's bookkeeping), inserts a
/// customer with a limit in the old `customers.credit_limit_minor`, then lets the store
/// migrate: the account must carry the old limit.
fn migration_keeps_existing_limits(
    url: &str,
    conn: &mut impl diesel::connection::SimpleConnection,
    old: &[&str],
) {
    for sql in old {
        conn.batch_execute(sql).unwrap();
    }
    conn.batch_execute(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); \
         INSERT INTO __diesel_schema_migrations (version) VALUES ('20261124000000'), ('20261124000001'); \
         INSERT INTO currencies (code, exchange_rate, is_organization) VALUES ('EUR', '1', TRUE); \
         INSERT INTO customers (uuid, reference, reference_folded, name, name_folded, category_id, \
         bill_with_parent, is_same_address, credit_limit_minor, is_active, on_hold, currency, \
         date_created, last_updated) VALUES ('00000000-0000-0000-0000-000000000001', 'OLD', 'old', \
         'Old', 'old', 1, FALSE, TRUE, 2000010, TRUE, FALSE, 'EUR', '2026-01-01 00:00:00', \
         '2026-01-01 00:00:00');",
    )
    .unwrap();
    let database = Database::connect(url, PoolOptions::default()).unwrap();
    database.migrate().unwrap();
    let store = Store::new(database);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let old = cr(&store)
            .get(&CustomerKey::Reference("OLD".to_owned()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.data.credit_limit.minor_units(), 2_000_010);
        let account = al(&store).account(old.id, at(0)).await.unwrap().unwrap();
        assert_eq!(
            (
                account.credit_limit().minor(),
                account.balance().minor(),
                account.reserved().minor()
            ),
            (2_000_010, 0, 0)
        );
        assert_eq!(account.currency(), eur());
        // The search migration indexed the customer that existed before it.
        // Its search terms were stored by the store's migration, weighted: "old" is in the
        // name and the reference.
        let hits = cr(&store).search(&search("old")).await.unwrap();
        assert_eq!(hits.total, 1);
        assert_eq!(hits.items[0].score, 110);
        al(&store)
            .admit(&admission(old.id, 2_000_010, 1, 60), Precondition::none())
            .await
            .unwrap();
    });
}

#[test]
fn migration_keeps_existing_limits_on_sqlite() {
    use diesel::Connection;
    let dir = tempfile_dir();
    let path = dir.join("old.db");
    let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    migration_keeps_existing_limits(
        &format!("sqlite://{}", path.display()),
        &mut conn,
        &[
            include_str!("../migrations/sqlite/2026-11-24-000000_init/up.sql"),
            include_str!("../migrations/sqlite/2026-11-24-000001_api_keys/up.sql"),
        ],
    );
    drop(conn);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn migration_keeps_existing_limits_on_postgres() {
    use diesel::Connection;
    let Ok(admin) = std::env::var(credence_store::test_support::POSTGRES_URL_VAR) else {
        return;
    };
    let name = format!("credence_old_{}", Uuid::new_v4().simple());
    let url = credence_store::bench_support::postgres_database(&admin, &name, true).unwrap();
    let mut conn = diesel::PgConnection::establish(&url).unwrap();
    migration_keeps_existing_limits(
        &url,
        &mut conn,
        &[
            include_str!("../migrations/postgres/2026-11-24-000000_init/up.sql"),
            include_str!("../migrations/postgres/2026-11-24-000001_api_keys/up.sql"),
        ],
    );
    drop(conn);
    let mut admin = diesel::PgConnection::establish(&admin).unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------
// Archiving and admissions (credit correctness).

async fn archived_customers_cannot_be_admitted(store: Store) {
    let live = funded(&store, "LIVE", 1000).await;
    al(&store)
        .admit(&admission(live.id, 100, 1, 3600), Precondition::none())
        .await
        .unwrap();
    let gone = funded(&store, "GONE", 1000).await;
    assert!(cr(&store).archive(gone.id, None, at(2)).await.unwrap());
    assert!(matches!(
        al(&store)
            .admit(&admission(gone.id, 100, 3, 3600), Precondition::none())
            .await,
        Err(AdmitError::NoAccount)
    ));
    // An order for an archived child on its (live) parent's account is refused too.
    let parent = funded(&store, "PARENT", 1000).await;
    let mut child = data(&store, "CHILD", "Child").await;
    child.parent = Some(parent.data.summary(parent.id));
    child.bill_with_parent = true;
    let child = insert(&store, child, at(0)).await;
    let mut for_child = admission(parent.id, 100, 4, 3600);
    for_child.customer = child.id;
    al(&store)
        .admit(&for_child, Precondition::none())
        .await
        .unwrap();
    assert!(matches!(
        cr(&store).archive(child.id, None, at(5)).await,
        Err(RemoveError::InUse)
    ));
    let child2 = {
        let mut d = data(&store, "CHILD2", "Child 2").await;
        d.parent = Some(parent.data.summary(parent.id));
        d.bill_with_parent = true;
        insert(&store, d, at(0)).await
    };
    assert!(cr(&store).archive(child2.id, None, at(6)).await.unwrap());
    for_child.customer = child2.id;
    assert!(matches!(
        al(&store).admit(&for_child, Precondition::none()).await,
        Err(AdmitError::NoAccount)
    ));
    assert_eq!(stored(&store, parent.id).await.reserved().minor(), 100);
    assert_ledger_adds_up(&store, live.id).await;
    assert_ledger_adds_up(&store, parent.id).await;
    assert_eq!(stored_any(&store, gone.id).await, 0);
}

/// Archives racing admissions: whatever the order, an archived customer holds no open
/// reservation, and every admission either failed or kept the customer live.
async fn archives_racing_admissions_leave_no_reservation(store: Store) {
    for round in 0..6 {
        let c = funded(&store, &format!("ARACE-{round}"), 1000).await;
        let admits: Vec<_> = (0..3)
            .map(|_| {
                let store = store.clone();
                let id = c.id;
                tokio::spawn(async move {
                    al(&store)
                        .admit(&admission(id, 10, 1, 3600), Precondition::none())
                        .await
                })
            })
            .collect();
        let archiver = {
            let store = store.clone();
            let id = c.id;
            tokio::spawn(async move { cr(&store).archive(id, None, at(1)).await })
        };
        let admitted = {
            let mut n = 0;
            for admit in admits {
                match admit.await.unwrap() {
                    Ok(_) => n += 1,
                    Err(AdmitError::NoAccount) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            n
        };
        let archived = match archiver.await.unwrap() {
            Ok(archived) => archived,
            Err(RemoveError::InUse) => false,
            Err(e) => panic!("unexpected {e:?}"),
        };
        let reserved = stored_any(&store, c.id).await;
        assert!(
            !(archived && reserved > 0),
            "round {round}: {admitted} admitted on an archived customer"
        );
        assert_eq!(reserved, 10 * admitted);
    }
}

/// The reserved amount of an account, archived customer or not.
async fn stored_any(store: &Store, id: CustomerId) -> i64 {
    let page = al(store)
        .reservations(
            id,
            ReservationFilter::default(),
            PageRequest::new(Some(100), None).unwrap(),
        )
        .await
        .unwrap();
    page.items
        .iter()
        .filter(|r| r.status == ReservationStatus::Open)
        .map(|r| r.amount.minor())
        .sum()
}

// ---------------------------------------------------------------------------------------
// Products, templates and tasks (SPEC §4).

fn pc(store: &Store) -> &dyn ProductCatalog {
    store
}

fn tb(store: &Store) -> &dyn TaskBoard {
    store
}

fn texts(pairs: &[(Locale, &str)]) -> Localized {
    pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect()
}

fn code(value: &str) -> ProductCode {
    ProductCode::new(value).unwrap()
}

fn product_draft(price: i64, available: bool) -> ProductDraft {
    ProductDraft {
        titles: texts(&[(Locale::En, "Text"), (Locale::De, "Text (de)")]),
        descriptions: texts(&[(Locale::Fr, "Un texte")]),
        available,
        price: Money::from_minor(price, eur()),
        attributes: vec![
            ProductAttribute {
                code: "language".to_owned(),
                kind: AttributeKind::Option(vec![
                    AttributeOption {
                        titles: texts(&[(Locale::En, "German")]),
                        value: "de".to_owned(),
                    },
                    AttributeOption {
                        titles: texts(&[(Locale::En, "English"), (Locale::De, "Englisch")]),
                        value: "en".to_owned(),
                    },
                ]),
                is_mandatory: true,
                titles: texts(&[(Locale::En, "Language")]),
                helps: Localized::new(),
            },
            ProductAttribute {
                code: "keywords".to_owned(),
                kind: AttributeKind::String {
                    min_length: Some(3),
                    max_length: None,
                },
                is_mandatory: false,
                titles: texts(&[(Locale::En, "Keywords")]),
                helps: texts(&[(Locale::En, "comma separated \"words\"")]),
            },
            ProductAttribute {
                code: "words".to_owned(),
                kind: AttributeKind::Integer,
                is_mandatory: false,
                titles: texts(&[(Locale::En, "Words")]),
                helps: Localized::new(),
            },
            ProductAttribute {
                code: "deadline".to_owned(),
                kind: AttributeKind::Date,
                is_mandatory: false,
                titles: texts(&[(Locale::En, "Deadline")]),
                helps: Localized::new(),
            },
        ],
    }
}

fn codes(products: &[Product]) -> Vec<&str> {
    products.iter().map(|p| p.code.as_str()).collect()
}

async fn products_upsert_replace_attributes_and_withdraw(store: Store) {
    let draft = product_draft(250, true);
    let (created, is_new) = save_product(&store, &code("text"), &draft).await;
    assert!(is_new);
    assert_eq!(
        (
            created.titles.clone(),
            created.descriptions.clone(),
            created.available,
            created.price,
            created.attributes.clone()
        ),
        (
            draft.titles.clone(),
            draft.descriptions.clone(),
            true,
            Money::from_minor(250, eur()),
            draft.attributes.clone()
        )
    );
    assert_eq!(
        pc(&store).product(&code("text")).await.unwrap(),
        Some(created)
    );
    // Replacing keeps the row and replaces the attributes, in the new order.
    let mut changed = product_draft(300, true);
    changed.attributes.remove(0);
    changed.attributes.reverse();
    let (replaced, is_new) = save_product(&store, &code("text"), &changed).await;
    assert!(!is_new);
    assert_eq!(replaced.price.minor(), 300);
    assert_eq!(
        replaced
            .attributes
            .iter()
            .map(|a| a.code.as_str())
            .collect::<Vec<_>>(),
        vec!["deadline", "words", "keywords"]
    );
    save_product(&store, &code("alpha"), &product_draft(1, true)).await;
    save_product(&store, &code("zeta"), &product_draft(1, false)).await;
    assert_eq!(
        codes(&pc(&store).products(false).await.unwrap()),
        vec!["alpha", "text", "zeta"]
    );
    assert_eq!(
        codes(&pc(&store).products(true).await.unwrap()),
        vec!["alpha", "text"]
    );
    assert!(withdraw_product(&store, &code("alpha")).await);
    assert!(!withdraw_product(&store, &code("nope")).await);
    assert_eq!(
        codes(&pc(&store).products(true).await.unwrap()),
        vec!["text"]
    );
    let withdrawn = pc(&store).product(&code("alpha")).await.unwrap().unwrap();
    assert!(!withdrawn.available, "withdrawn products stay readable");
    assert_eq!(withdrawn.attributes.len(), 4);
    assert_eq!(pc(&store).product(&code("nope")).await.unwrap(), None);
}

/// A product or template write under a precondition goes ahead only while the stored row
/// meets it (a missing row is `None`), and writes nothing otherwise; of several writers
/// racing with the same precondition on one row, exactly one gets through, as the check is
/// made under the write's lock.
async fn products_and_templates_are_written_only_while_their_precondition_holds(store: Store) {
    let priced = |minor: i64| {
        Precondition::new(move |current: Option<&Product>| {
            current.is_some_and(|p| p.price.minor() == minor)
        })
    };
    let text = code("text");
    // Nothing stored: a condition on the stored price fails; one that asks for nothing holds.
    let (hundred, three_hundred) = (product_draft(100, true), product_draft(300, true));
    let unmet = pc(&store).save_product(&text, &hundred, priced(100));
    assert_eq!(unmet.await.unwrap(), Conditioned::Unmet);
    assert_eq!(pc(&store).product(&text).await.unwrap(), None);
    let absent = Precondition::new(|current: Option<&Product>| current.is_none());
    let created = pc(&store).save_product(&text, &hundred, absent);
    assert!(created.await.unwrap().done().unwrap().1);
    // A stale condition writes nothing.
    let stale = pc(&store).save_product(&text, &three_hundred, priced(999));
    assert_eq!(stale.await.unwrap(), Conditioned::Unmet);
    let stored = pc(&store).product(&text).await.unwrap().unwrap();
    assert_eq!((stored.price.minor(), stored.available), (100, true));
    let kept = pc(&store).withdraw_product(&text, priced(999));
    assert_eq!(kept.await.unwrap(), Conditioned::Unmet);
    assert!(pc(&store).product(&text).await.unwrap().unwrap().available);
    // Writers racing with the same condition: exactly one gets through.
    let racers: Vec<_> = (0..4)
        .map(|n| {
            let (store, text) = (store.clone(), text.clone());
            tokio::spawn(async move {
                let draft = product_draft(200 + n, true);
                pc(&store)
                    .save_product(&text, &draft, priced(100))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut through = 0;
    for racer in racers {
        if let Conditioned::Done(_) = racer.await.unwrap() {
            through += 1;
        }
    }
    assert_eq!(through, 1);

    // A template likewise, per customer.
    let a = add(&store, "PRE", "Pre", at(0)).await;
    let named = |name: &'static str| {
        Precondition::new(move |current: Option<&TaskTemplate>| {
            current.is_some_and(|t| t.name == name)
        })
    };
    save_template(&store, a.id, "t1", &template_draft("text", "One")).await;
    let two = template_draft("text", "Two");
    let unmet = tb(&store).save_template(a.id, "t1", &two, named("Zero"));
    assert_eq!(unmet.await.unwrap(), Conditioned::Unmet);
    let kept = tb(&store).delete_template(a.id, "t1", named("Zero"));
    assert_eq!(kept.await.unwrap(), Conditioned::Unmet);
    let stored = tb(&store).template(a.id, "t1").await.unwrap().unwrap();
    assert_eq!(stored.name, "One");
    let saved = tb(&store).save_template(a.id, "t1", &two, named("One"));
    let (saved, created) = saved.await.unwrap().done().unwrap();
    assert_eq!((saved.name.as_str(), created), ("Two", false));
    let deleted = tb(&store).delete_template(a.id, "t1", named("Two"));
    assert_eq!(deleted.await.unwrap(), Conditioned::Done(true));
}

/// A client's write to an account under a precondition (`If-Match`) is tested under the
/// account's lock, on the account as a read at the write's instant shows it: a stale
/// condition moves nothing, whatever the kind of write; writers racing with one condition let
/// exactly one through; the repeat of a tagged settlement answers it whatever the condition.
async fn account_writes_go_through_only_while_their_precondition_holds(store: Store) {
    let c = funded(&store, "ACCPRE", 1000).await;
    let showing = |available: i64| {
        Precondition::new(move |current: Option<&CreditAccount>| {
            current.is_some_and(|a| a.available().minor() == available)
        })
    };
    let payment = |minor: i64, now: i64| posting(c.id, EntryKind::Payment, minor, now);
    let stale = al(&store).post(&payment(100, 1), showing(5)).await;
    assert!(matches!(stale, Err(AdmitError::Unmet)), "{stale:?}");
    let asked = admission(c.id, 100, 1, 3600);
    let stale = al(&store).admit(&asked, showing(5)).await;
    assert!(matches!(stale, Err(AdmitError::Unmet)));
    let stale = al(&store).set_credit_limit(c.id, eur_limit(2_000), None, None, at(1), showing(5));
    assert!(matches!(stale.await, Err(AdmitError::Unmet)));
    let asked = admission(c.id, 300, 2, 3600);
    let held = al(&store).admit(&asked, showing(1000)).await.unwrap();
    let stale = al(&store).capture(c.id, held.id, None, None, at(3), None, showing(1000));
    assert!(matches!(stale.await, Err(SettleError::Unmet)));
    let stale = al(&store).release(c.id, held.id, None, at(3), None, showing(1000));
    assert!(matches!(stale.await, Err(SettleError::Unmet)));
    let account = al(&store).account(c.id, at(3)).await.unwrap().unwrap();
    let amounts = |a: &CreditAccount| {
        (
            a.balance().minor(),
            a.reserved().minor(),
            a.credit_limit().minor(),
        )
    };
    assert_eq!(amounts(&account), (0, 300, 1000));
    assert_eq!(assert_ledger_adds_up(&store, c.id).await.len(), 1);
    // The account as a read shows it: a reservation past its time no longer counts, though
    // no sweeper expired it yet.
    let lapsing = admission(c.id, 100, 3, 10);
    al(&store).admit(&lapsing, showing(700)).await.unwrap();
    let paid = al(&store).post(&payment(50, 20), showing(700)).await;
    assert_eq!(paid.unwrap().balance_after.minor(), 50);

    // Writers of every kind racing with one condition: exactly one gets through.
    let racers: Vec<_> = (0..9_i64)
        .map(|n| {
            let (store, id) = (store.clone(), c.id);
            let only_if = showing(750);
            tokio::spawn(async move {
                match n % 3 {
                    0 => {
                        let paid = posting(id, EntryKind::Payment, 10 + n, 30);
                        al(&store).post(&paid, only_if).await.map(|_| ())
                    }
                    1 => {
                        let asked = admission(id, 10 + n, 30, 3600);
                        al(&store).admit(&asked, only_if).await.map(|_| ())
                    }
                    _ => al(&store)
                        .set_credit_limit(id, eur_limit(1_000 + n), None, None, at(30), only_if)
                        .await
                        .map(|_| ()),
                }
            })
        })
        .collect();
    assert_eq!(through(racers).await, 1);
    // Payments alone, which take the account's lock early only for their condition.
    let shown = al(&store).account(c.id, at(31)).await.unwrap().unwrap();
    let racers: Vec<_> = (0..8_i64)
        .map(|n| {
            let (store, id) = (store.clone(), c.id);
            let only_if = showing(shown.available().minor());
            tokio::spawn(async move {
                let paid = posting(id, EntryKind::Payment, 1 + n, 31);
                al(&store).post(&paid, only_if).await
            })
        })
        .collect();
    assert_eq!(through(racers).await, 1);
    assert_ledger_adds_up(&store, c.id).await;

    let exact = move |shown: CreditAccount| {
        Precondition::new(move |current: Option<&CreditAccount>| current == Some(&shown))
    };
    // Conditioned admissions that arrive together are written in one batch, each tested in
    // its turn after the ones before it: one gets in.
    let batched = store.admissions_batched();
    let shown = al(&store).account(c.id, at(32)).await.unwrap().unwrap();
    let racers: Vec<_> = (0..40)
        .map(|_| {
            let (store, id) = (store.clone(), c.id);
            tokio::spawn(async move {
                let asked = admission(id, 1, 32, 3600);
                al(&store).admit(&asked, exact(shown)).await
            })
        })
        .collect();
    assert_eq!(through(racers).await, 1);
    assert!(store.admissions_batched() > batched, "the batch was used");

    // Tagged writes repeated under a condition that no longer holds answer what they did.
    let shown = al(&store).account(c.id, at(33)).await.unwrap().unwrap();
    let mut tagged = payment(5, 33);
    tagged.idempotency = Some("7:/payments:pre".to_owned());
    let paid = al(&store).post(&tagged, exact(shown)).await.unwrap();
    assert_eq!(al(&store).post(&tagged, exact(shown)).await.unwrap(), paid);
    let shown = al(&store).account(c.id, at(34)).await.unwrap().unwrap();
    let mut asked = admission(c.id, 5, 34, 3600);
    asked.idempotency = Some("7:/reservations:pre".to_owned());
    let admitted = al(&store).admit(&asked, exact(shown)).await.unwrap();
    assert_eq!(
        al(&store).admit(&asked, exact(shown)).await.unwrap(),
        admitted
    );
    let tag = Some("7:/capture:pre".to_owned());
    let now = al(&store).account(c.id, at(40)).await.unwrap().unwrap();
    let captured = al(&store).capture(c.id, held.id, None, None, at(40), tag.clone(), exact(now));
    let captured = captured.await.unwrap();
    let again = al(&store).capture(c.id, held.id, None, None, at(41), tag, exact(now));
    assert_eq!(again.await.unwrap(), captured);
}

/// One entry and one reservation are read by id, and only within the account they belong to.
async fn entries_and_reservations_are_read_within_their_account(store: Store) {
    let a = funded(&store, "ONE-A", 1000).await;
    let b = funded(&store, "ONE-B", 1000).await;
    let paid = posting(a.id, EntryKind::Payment, 100, 1);
    let entry = al(&store).post(&paid, Precondition::none()).await.unwrap();
    let asked = admission(a.id, 50, 2, 3600);
    let held = al(&store)
        .admit(&asked, Precondition::none())
        .await
        .unwrap();
    assert_eq!(
        al(&store).entry(a.id, entry.id).await.unwrap().as_ref(),
        Some(&entry)
    );
    assert_eq!(al(&store).entry(b.id, entry.id).await.unwrap(), None);
    assert_eq!(
        al(&store).entry(a.id, entry.id + 1_000).await.unwrap(),
        None
    );
    let found = al(&store).reservation(a.id, held.id).await.unwrap();
    assert_eq!(found.as_ref(), Some(&held));
    assert_eq!(al(&store).reservation(b.id, held.id).await.unwrap(), None);
}

/// How many of `racers` got through; the others must have found their condition unmet.
async fn through<T: std::fmt::Debug>(
    racers: Vec<tokio::task::JoinHandle<Result<T, AdmitError>>>,
) -> usize {
    let mut through = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => through += 1,
            Err(AdmitError::Unmet) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    through
}

/// Saves a product with no precondition; `true` when it created it.
async fn save_product(store: &Store, code: &ProductCode, draft: &ProductDraft) -> (Product, bool) {
    let saved = pc(store).save_product(code, draft, Precondition::none());
    saved.await.unwrap().done().unwrap()
}

/// Withdraws a product with no precondition; `false` when there is none.
async fn withdraw_product(store: &Store, code: &ProductCode) -> bool {
    let withdrawn = pc(store).withdraw_product(code, Precondition::none());
    withdrawn.await.unwrap().done().unwrap()
}

/// Saves a template with no precondition; `true` when it created it.
async fn save_template(
    store: &Store,
    customer: CustomerId,
    code: &str,
    draft: &TemplateDraft,
) -> (TaskTemplate, bool) {
    let saved = tb(store).save_template(customer, code, draft, Precondition::none());
    saved.await.unwrap().done().unwrap()
}

/// Deletes a template with no precondition; `false` when there is none.
async fn delete_template(store: &Store, customer: CustomerId, code: &str) -> bool {
    let deleted = tb(store).delete_template(customer, code, Precondition::none());
    deleted.await.unwrap().done().unwrap()
}

fn template_draft(product: &str, name: &str) -> TemplateDraft {
    TemplateDraft {
        name: name.to_owned(),
        titles: texts(&[(Locale::En, name)]),
        descriptions: Localized::new(),
        product: code(product),
        attributes: vec![
            AttributeValue {
                code: "language".to_owned(),
                value: "de".to_owned(),
            },
            AttributeValue {
                code: "keywords".to_owned(),
                value: "a, \"b\"".to_owned(),
            },
        ],
    }
}

async fn templates_crud_per_customer(store: Store) {
    save_product(&store, &code("text"), &product_draft(100, true)).await;
    let a = add(&store, "TA", "A", at(0)).await;
    let b = add(&store, "TB", "B", at(0)).await;
    let (t1, created) = save_template(&store, a.id, "t1", &template_draft("text", "One")).await;
    assert!(created);
    assert_eq!(
        (t1.customer, t1.code.as_str(), t1.name.as_str()),
        (a.id, "t1", "One")
    );
    assert_eq!(t1.attributes, template_draft("text", "One").attributes);
    let (t1, created) = save_template(&store, a.id, "t1", &template_draft("text", "Uno")).await;
    assert!(!created);
    assert_eq!(t1.name, "Uno");
    save_template(&store, a.id, "t0", &template_draft("text", "Zero")).await;
    let (other, created) = save_template(&store, b.id, "t1", &template_draft("text", "B's")).await;
    assert!(created, "codes are per customer");
    let listed = tb(&store).templates(a.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(),
        vec!["t0", "t1"]
    );
    assert_eq!(tb(&store).template(a.id, "t1").await.unwrap(), Some(t1));
    assert_eq!(tb(&store).template(b.id, "t1").await.unwrap(), Some(other));
    assert_eq!(tb(&store).template(b.id, "t0").await.unwrap(), None);
    assert!(delete_template(&store, a.id, "t1").await);
    assert!(!delete_template(&store, a.id, "t1").await);
    assert_eq!(tb(&store).templates(a.id).await.unwrap().len(), 1);
    assert_eq!(tb(&store).templates(b.id).await.unwrap().len(), 1);
}

/// The product `text` as [`shop`] saves it.
fn text_product() -> Product {
    let draft = product_draft(100, true);
    Product {
        code: code("text"),
        titles: draft.titles,
        descriptions: draft.descriptions,
        available: draft.available,
        price: draft.price,
        attributes: draft.attributes,
    }
}

fn task_draft(customer: CustomerId, quantity: u32) -> TaskDraft {
    TaskDraft {
        customer,
        customer_ref: Some(format!("ref-{quantity}")),
        template: "t1".to_owned(),
        product: text_product(),
        input: vec![AttributeValue {
            code: "title".to_owned(),
            value: "Hello".to_owned(),
        }],
        quantity,
    }
}

/// A customer with `limit` of credit, the product `text` and its template `t1`.
async fn shop(store: &Store, reference: &str, limit: i64) -> Customer {
    if pc(store).product(&code("text")).await.unwrap().is_none() {
        save_product(store, &code("text"), &product_draft(100, true)).await;
    }
    let c = funded(store, reference, limit).await;
    save_template(store, c.id, "t1", &template_draft("text", "One")).await;
    c
}

async fn all_tasks(store: &Store, filter: TaskFilter) -> (Vec<TaskId>, u64) {
    let page = tb(store)
        .tasks(&filter, PageRequest::new(Some(100), None).unwrap())
        .await
        .unwrap();
    (page.items.iter().map(|t| t.id).collect(), page.total)
}

/// A task priced on a product that was repriced or withdrawn before its transaction is not
/// created (nothing is reserved); priced on the product as it is, it is.
async fn a_task_is_created_only_while_its_product_is_as_priced(store: Store) {
    let c = shop(&store, "PRICED", 1000).await;
    let as_priced = task_draft(c.id, 1);
    let (repriced, _) = save_product(&store, &code("text"), &product_draft(150, true)).await;
    let stale = tb(&store)
        .submit(&as_priced, &admission(c.id, 100, 1, 3600))
        .await;
    assert!(matches!(stale, Err(AdmitError::Unmet)), "{stale:?}");
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 0);
    assert_eq!(all_tasks(&store, TaskFilter::default()).await.1, 0);
    let current = TaskDraft {
        product: repriced,
        ..as_priced.clone()
    };
    let task = tb(&store)
        .submit(&current, &admission(c.id, 150, 2, 3600))
        .await
        .unwrap();
    assert_eq!(task.amount, Money::from_minor(150, eur()));
    assert!(withdraw_product(&store, &code("text")).await);
    let withdrawn = tb(&store)
        .submit(&current, &admission(c.id, 150, 3, 3600))
        .await;
    assert!(matches!(withdrawn, Err(AdmitError::Unmet)), "{withdrawn:?}");
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 150);
}

async fn submit_admits_and_creates_the_task(store: Store) {
    let c = shop(&store, "SUBMIT", 1000).await;
    let task = tb(&store)
        .submit(&task_draft(c.id, 3), &admission(c.id, 300, 1, 3600))
        .await
        .unwrap();
    assert_eq!(
        (
            task.customer,
            task.customer_ref.as_deref(),
            task.template.as_str(),
            task.product.as_str(),
            task.quantity,
            task.amount,
            task.state,
            task.created_at,
            task.updated_at
        ),
        (
            c.id,
            Some("ref-3"),
            "t1",
            "text",
            3,
            Money::from_minor(300, eur()),
            TaskState::Submitted,
            at(1),
            at(1)
        )
    );
    assert_eq!(task.input, task_draft(c.id, 3).input);
    assert_eq!(tb(&store).task(task.id).await.unwrap(), Some(task.clone()));
    assert_eq!(tb(&store).task(TaskId(999_999)).await.unwrap(), None);
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 300);
    let entries = assert_ledger_adds_up(&store, c.id).await;
    assert_eq!(kinds(&entries), vec!["reservation"]);
    assert_eq!(entries[0].reservation, Some(task.reservation));
    // Too much: refused with both amounts, and no task.
    let refused = tb(&store)
        .submit(&task_draft(c.id, 8), &admission(c.id, 800, 2, 3600))
        .await;
    assert!(
        matches!(
            refused,
            Err(AdmitError::Refused(r)) if r == refusal(700, 800)
        ),
        "{refused:?}"
    );
    assert_eq!(all_tasks(&store, TaskFilter::default()).await.1, 1);
    // The same idempotency tag answers the first task and reserves once.
    let mut tagged = admission(c.id, 200, 3, 3600);
    tagged.idempotency = Some("user:1/task-1".to_owned());
    let first = tb(&store)
        .submit(&task_draft(c.id, 2), &tagged)
        .await
        .unwrap();
    let again = tb(&store)
        .submit(&task_draft(c.id, 2), &tagged)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 500);
    // Filters, newest first.
    let other = shop(&store, "SUBMIT-2", 1000).await;
    let theirs = tb(&store)
        .submit(
            &task_draft(other.id, 1),
            &admission(other.id, 100, 10, 3600),
        )
        .await
        .unwrap();
    assert_eq!(
        all_tasks(&store, TaskFilter::default()).await,
        (vec![theirs.id, first.id, task.id], 3)
    );
    let mine = TaskFilter {
        customer: Some(c.id),
        ..TaskFilter::default()
    };
    assert_eq!(
        all_tasks(&store, mine.clone()).await,
        (vec![first.id, task.id], 2)
    );
    assert_eq!(
        all_tasks(
            &store,
            TaskFilter {
                created_from: Some(at(2)),
                ..mine.clone()
            }
        )
        .await,
        (vec![first.id], 1)
    );
    assert_eq!(
        all_tasks(
            &store,
            TaskFilter {
                created_until: Some(at(1)),
                ..mine.clone()
            }
        )
        .await,
        (vec![task.id], 1)
    );
    assert_eq!(
        all_tasks(
            &store,
            TaskFilter {
                state: Some(TaskState::Finished),
                ..mine.clone()
            }
        )
        .await,
        (vec![], 0)
    );
    let paged = tb(&store)
        .tasks(&mine, PageRequest::new(Some(1), Some(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (
            paged.items.iter().map(|t| t.id).collect::<Vec<_>>(),
            paged.total
        ),
        (vec![task.id], 2)
    );
    assert_ledger_adds_up(&store, c.id).await;
    assert_ledger_adds_up(&store, other.id).await;
}

async fn racing_submits_never_overdraw(store: Store) {
    let c = shop(&store, "TRACE", 1000).await;
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let id = c.id;
            tokio::spawn(async move {
                tb(&store)
                    .submit(&task_draft(id, 1), &admission(id, 100, 1, 3600))
                    .await
            })
        })
        .collect();
    assert_eq!(tally(racers).await, (10, 10));
    assert_eq!(all_tasks(&store, TaskFilter::default()).await.1, 10);
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 1000);
    assert_eq!(assert_ledger_adds_up(&store, c.id).await.len(), 10);
}

async fn finish_captures_and_cancel_releases(store: Store) {
    let c = shop(&store, "MOVE", 1000).await;
    let submit = |quantity: u32, now: i64, expires: i64| {
        let store = store.clone();
        let id = c.id;
        async move {
            tb(&store)
                .submit(
                    &task_draft(id, quantity),
                    &admission(id, i64::from(quantity) * 100, now, expires),
                )
                .await
                .unwrap()
        }
    };
    let done = submit(3, 1, 3600).await;
    let started = tb(&store)
        .move_task(
            done.id,
            TaskState::Submitted,
            TaskState::InProgress,
            None,
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(
        (started.state, started.updated_at),
        (TaskState::InProgress, at(2))
    );
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 300);
    let finished = tb(&store)
        .move_task(
            done.id,
            TaskState::InProgress,
            TaskState::Finished,
            Some(UserId(1)),
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(finished.state, TaskState::Finished);
    let account = stored(&store, c.id).await;
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (-300, 0)
    );
    let dropped = submit(2, 4, 3600).await;
    assert_eq!(stored(&store, c.id).await.reserved().minor(), 200);
    let cancelled = tb(&store)
        .move_task(
            dropped.id,
            TaskState::Submitted,
            TaskState::Cancelled,
            None,
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.state, TaskState::Cancelled);
    let account = stored(&store, c.id).await;
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (-300, 0)
    );
    assert!(matches!(
        tb(&store)
            .move_task(
                dropped.id,
                TaskState::Submitted,
                TaskState::Cancelled,
                None,
                at(6)
            )
            .await,
        Err(MoveTaskError::Conflict)
    ));
    assert!(matches!(
        tb(&store)
            .move_task(
                TaskId(999_999),
                TaskState::Submitted,
                TaskState::Cancelled,
                None,
                at(6)
            )
            .await,
        Err(MoveTaskError::NotFound)
    ));
    // A reservation that lapsed: cancelling (or finishing) moves the state, settles nothing.
    let lapsed = submit(1, 7, 10).await;
    let late = submit(1, 7, 10).await;
    tb(&store)
        .move_task(
            lapsed.id,
            TaskState::Submitted,
            TaskState::Cancelled,
            None,
            at(20),
        )
        .await
        .unwrap();
    tb(&store)
        .move_task(
            late.id,
            TaskState::Submitted,
            TaskState::InProgress,
            None,
            at(20),
        )
        .await
        .unwrap();
    let finished_late = tb(&store)
        .move_task(
            late.id,
            TaskState::InProgress,
            TaskState::Finished,
            None,
            at(21),
        )
        .await
        .unwrap();
    assert_eq!(finished_late.state, TaskState::Finished);
    let account = stored(&store, c.id).await;
    assert_eq!(
        (account.balance().minor(), account.reserved().minor()),
        (-300, 0)
    );
    let page = al(&store)
        .reservations(
            c.id,
            ReservationFilter::default(),
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap();
    let status = |id: ReservationId| page.items.iter().find(|r| r.id == id).unwrap().status;
    assert_eq!(status(done.reservation), ReservationStatus::Captured);
    assert_eq!(status(dropped.reservation), ReservationStatus::Released);
    assert_eq!(status(lapsed.reservation), ReservationStatus::Expired);
    assert_eq!(status(late.reservation), ReservationStatus::Expired);
    let entries = assert_ledger_adds_up(&store, c.id).await;
    assert_eq!(
        kinds(&entries),
        vec![
            "reservation",
            "capture",
            "reservation",
            "release",
            "reservation",
            "reservation",
            "expiry",
            "expiry"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Documents, blobs and logos (seeds 002 and 004).

/// About a megabyte of every byte value, zeros included.
fn binary_bytes() -> Vec<u8> {
    (0..1_048_583_u32)
        .map(|i| u8::try_from((i * 7) % 256).unwrap())
        .collect()
}

async fn blobs_put_get_overwrite_and_delete(store: Store) {
    let blobs = store.blobs();
    let key = BlobKey::document(Uuid::new_v4());
    let other = BlobKey::thumbnail(Uuid::new_v4());
    assert_eq!(blobs.get(&key).await.unwrap(), None);

    let big = binary_bytes();
    blobs.put(&key, &big).await.unwrap();
    blobs.put(&other, b"thumb").await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap().as_deref(), Some(&big[..]));

    let small = [0_u8, 1, 0, 255, 0];
    blobs.put(&key, &small).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), Some(small.to_vec()));
    blobs.put(&key, &[]).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), Some(Vec::new()));

    blobs.delete(&key).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();
    assert_eq!(
        blobs.get(&other).await.unwrap().as_deref(),
        Some(&b"thumb"[..])
    );
}

fn stored_document(uuid: Uuid, now: DateTime<Utc>) -> Document {
    Document {
        uuid,
        file_name: FileName::from_trusted("map.png".to_owned()),
        mime_type: MimeType::from_trusted("image/png".to_owned()),
        description: text("Site map"),
        internal: false,
        content: DocumentContent::Stored {
            blob: BlobKey::document(uuid),
            size: 1234,
            thumbnail: Some(BlobKey::thumbnail(uuid)),
        },
        creator: Some(UserId(42)),
        created_at: now,
        updated_at: now,
    }
}

fn external_document(url: &str, now: DateTime<Utc>) -> Document {
    Document {
        uuid: Uuid::new_v4(),
        file_name: FileName::from_trusted("pdf-sample.pdf".to_owned()),
        mime_type: MimeType::from_trusted("application/pdf".to_owned()),
        description: None,
        internal: true,
        content: DocumentContent::External {
            url: ExternalUrl::from_trusted(url.to_owned()),
            thumb_url: Some(ExternalUrl::from_trusted(format!("{url}.thumb"))),
        },
        creator: None,
        created_at: now,
        updated_at: now,
    }
}

async fn documents_insert_get_and_update_metadata(store: Store) {
    let docs = store.documents();
    let stored = stored_document(Uuid::new_v4(), at(1));
    let external = external_document("https://example.com/a.pdf", at(2));
    docs.insert(&stored).await.unwrap();
    docs.insert(&external).await.unwrap();
    assert_eq!(docs.get(stored.uuid).await.unwrap(), Some(stored.clone()));
    assert_eq!(
        docs.get(external.uuid).await.unwrap(),
        Some(external.clone())
    );
    assert_eq!(docs.get(Uuid::new_v4()).await.unwrap(), None);
    assert!(
        docs.insert(&stored).await.is_err(),
        "a UUID is inserted once"
    );

    // Only the fields a change names are written, and `updated_at`: content, type,
    // creator, creation time and the fields it leaves out stay.
    let renamed = MetadataChange {
        file_name: Some(FileName::from_trusted("renamed.png".to_owned())),
        ..MetadataChange::default()
    };
    let written = docs.update(stored.uuid, &renamed, at(50)).await.unwrap();
    let mut expected = stored.clone();
    expected.file_name = FileName::from_trusted("renamed.png".to_owned());
    expected.updated_at = at(50);
    assert_eq!(written.as_ref(), Some(&expected));
    // A change of the other fields, made on a read from before the rename, keeps it.
    let hidden = MetadataChange {
        description: Some(None),
        internal: Some(true),
        ..MetadataChange::default()
    };
    docs.update(stored.uuid, &hidden, at(51)).await.unwrap();
    expected.description = None;
    expected.internal = true;
    expected.updated_at = at(51);
    assert_eq!(docs.get(stored.uuid).await.unwrap(), Some(expected));
    assert_eq!(docs.get(external.uuid).await.unwrap(), Some(external));

    let unknown = Uuid::new_v4();
    assert_eq!(docs.update(unknown, &hidden, at(52)).await.unwrap(), None);
    assert_eq!(docs.get(unknown).await.unwrap(), None);
}

async fn attached_uuids(store: &Store, id: CustomerId) -> Vec<Uuid> {
    cr(store)
        .get(&CustomerKey::Id(id))
        .await
        .unwrap()
        .unwrap()
        .documents
        .iter()
        .map(|d| d.uuid)
        .collect()
}

async fn documents_attach_detach_and_holders(store: Store) {
    let docs = store.documents();
    let a = add(&store, "A", "Alpha", at(0)).await;
    let b = add(&store, "B", "Beta", at(0)).await;
    let gone = add(&store, "G", "Gone", at(0)).await;
    assert!(cr(&store).archive(gone.id, None, at(1)).await.unwrap());
    let d1 = stored_document(Uuid::new_v4(), at(1));
    let d2 = external_document("https://example.com/2", at(1));
    let d3 = external_document("https://example.com/3", at(1));
    for d in [&d1, &d2, &d3] {
        docs.insert(d).await.unwrap();
    }

    docs.attach(a.id, d1.uuid, 2, at(10)).await.unwrap();
    // Attaching again changes nothing, not even the attachment time (d1 stays first).
    docs.attach(a.id, d1.uuid, 2, at(30)).await.unwrap();
    docs.attach(a.id, d2.uuid, 2, at(20)).await.unwrap();
    assert_eq!(attached_uuids(&store, a.id).await, [d1.uuid, d2.uuid]);
    let refused = docs.attach(a.id, d3.uuid, 2, at(21)).await;
    assert!(matches!(refused, Err(AttachError::TooMany)), "{refused:?}");
    // At the limit, what is attached already still attaches (as a no-op).
    docs.attach(a.id, d2.uuid, 2, at(22)).await.unwrap();
    assert_eq!(attached_uuids(&store, a.id).await, [d1.uuid, d2.uuid]);

    for (customer, uuid) in [
        (CustomerId(777_777), d1.uuid),
        (gone.id, d1.uuid),
        (b.id, Uuid::new_v4()),
    ] {
        let refused = docs.attach(customer, uuid, 10, at(23)).await;
        assert!(matches!(refused, Err(AttachError::Missing)), "{refused:?}");
    }

    docs.attach(b.id, d1.uuid, 10, at(24)).await.unwrap();
    assert_eq!(docs.holders(d1.uuid).await.unwrap(), [a.id, b.id]);
    assert_eq!(docs.holders(d3.uuid).await.unwrap(), []);
    assert!(cr(&store).archive(b.id, None, at(25)).await.unwrap());
    assert_eq!(docs.holders(d1.uuid).await.unwrap(), [a.id]);

    assert!(docs.detach(a.id, d2.uuid, Utc::now()).await.unwrap());
    assert!(!docs.detach(a.id, d2.uuid, Utc::now()).await.unwrap());
    assert!(!docs.detach(a.id, d3.uuid, Utc::now()).await.unwrap());
    assert_eq!(attached_uuids(&store, a.id).await, [d1.uuid]);
    assert_eq!(docs.holders(d2.uuid).await.unwrap(), []);
    // Detached, the document itself stays.
    assert_eq!(docs.get(d2.uuid).await.unwrap(), Some(d2));
    // Room again: the third one fits.
    docs.attach(a.id, d3.uuid, 2, at(26)).await.unwrap();
    assert_eq!(attached_uuids(&store, a.id).await, [d1.uuid, d3.uuid]);
}

fn links(existing: &[Uuid], external: &[Document], max: u32) -> DocumentLinks {
    DocumentLinks {
        existing: existing.to_vec(),
        external: external.to_vec(),
        max_per_customer: max,
    }
}

async fn customer_writes_attach_their_links(store: Store) {
    let docs = store.documents();
    let upload = stored_document(Uuid::new_v4(), at(1));
    docs.insert(&upload).await.unwrap();
    let link = external_document("https://example.com/sample.pdf", at(10));
    let created = cr(&store)
        .insert(&NewCustomer {
            uuid: Uuid::new_v4(),
            data: data(&store, "L-1", "Linked").await,
            now: at(10),
            links: links(&[upload.uuid], std::slice::from_ref(&link), 10),
        })
        .await
        .unwrap();
    // Both attached at the same time: by UUID.
    let mut first = vec![upload.clone(), link.clone()];
    first.sort_by_key(|d| d.uuid);
    assert_eq!(created.documents, first);
    let got = cr(&store)
        .get(&CustomerKey::Id(created.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, created);
    assert_eq!(docs.get(link.uuid).await.unwrap(), Some(link.clone()));
    assert_eq!(docs.holders(upload.uuid).await.unwrap(), [created.id]);
    add(&store, "L-2", "Unlinked", at(11)).await;
    let page = cr(&store)
        .list(&query(CustomerFilter::default()))
        .await
        .unwrap();
    let listed: Vec<(&str, usize)> = page
        .items
        .iter()
        .map(|c| (c.data.reference.as_str(), c.documents.len()))
        .collect();
    assert_eq!(listed, [("L-1", 2), ("L-2", 0)]);
    assert_eq!(page.items[0].documents, first);

    // A retried update: the same upload and the same URL (under a new UUID, as the service
    // makes one per request) attach nothing new; a new URL does.
    let again = external_document("https://example.com/sample.pdf", at(20));
    let other = external_document("https://example.com/other.pdf", at(20));
    let mut renamed = created.data.clone();
    renamed.name = CustomerName::new("Linked Again").unwrap();
    let updated = cr(&store)
        .update(
            created.id,
            revision(&store, created.id).await,
            &renamed,
            &links(&[upload.uuid], &[again.clone(), other.clone()], 3),
            None,
            at(20),
        )
        .await
        .unwrap()
        .unwrap();
    let mut expected = first.clone();
    expected.push(other.clone());
    assert_eq!(updated.documents, expected);
    assert_eq!(updated.data.name.as_str(), "Linked Again");
    assert_eq!(docs.get(again.uuid).await.unwrap(), None);
    // Repeated within one write, a URL is created once.
    let twice = [
        external_document("https://example.com/twice", at(30)),
        external_document("https://example.com/twice", at(30)),
    ];
    let updated = cr(&store)
        .update(
            created.id,
            revision(&store, created.id).await,
            &renamed,
            &links(&[], &twice, 10),
            None,
            at(30),
        )
        .await
        .unwrap()
        .unwrap();
    expected.push(twice[0].clone());
    assert_eq!(updated.documents, expected);
    assert_eq!(docs.get(twice[1].uuid).await.unwrap(), None);
    // No links: the documents stay as they are.
    let updated = save(&store, created.id, &renamed, at(31))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.documents, expected);
}

async fn refused_links_leave_the_customer_unchanged(store: Store) {
    let docs = store.documents();
    let held = stored_document(Uuid::new_v4(), at(1));
    docs.insert(&held).await.unwrap();
    let customer = add(&store, "U-1", "Unchanged", at(2)).await;
    docs.attach(customer.id, held.uuid, 10, at(3))
        .await
        .unwrap();
    let before = cr(&store)
        .get(&CustomerKey::Id(customer.id))
        .await
        .unwrap()
        .unwrap();
    let mut changed = before.data.clone();
    changed.name = CustomerName::new("Half Written").unwrap();
    changed.texts.comment = text("should not stay");
    changed.contacts = vec![Contact {
        name: text("Nobody"),
        email: None,
        phone: None,
    }];

    let unknown = Uuid::new_v4();
    let fresh = external_document("https://example.com/fresh", at(5));
    let result = cr(&store)
        .update(
            customer.id,
            revision(&store, customer.id).await,
            &changed,
            &links(&[unknown], std::slice::from_ref(&fresh), 10),
            None,
            at(5),
        )
        .await;
    assert!(
        matches!(result, Err(WriteError::UnknownDocument(u)) if u == unknown),
        "{result:?}"
    );
    let after = cr(&store).get(&CustomerKey::Id(customer.id)).await.unwrap();
    assert_eq!(after.as_ref(), Some(&before));

    // Holding one, two more would make three: over a limit of two.
    let two = [
        external_document("https://example.com/one", at(6)),
        external_document("https://example.com/two", at(6)),
    ];
    let result = cr(&store)
        .update(
            customer.id,
            revision(&store, customer.id).await,
            &changed,
            &links(&[], &two, 2),
            None,
            at(6),
        )
        .await;
    assert!(
        matches!(result, Err(WriteError::TooManyDocuments)),
        "{result:?}"
    );
    let after = cr(&store).get(&CustomerKey::Id(customer.id)).await.unwrap();
    assert_eq!(after.as_ref(), Some(&before));
    assert_eq!(docs.get(two[0].uuid).await.unwrap(), None);
    assert_eq!(docs.holders(held.uuid).await.unwrap(), [customer.id]);
    // Exactly at the limit is fine.
    let updated = cr(&store)
        .update(
            customer.id,
            revision(&store, customer.id).await,
            &changed,
            &links(&[], &two[..1], 2),
            None,
            at(7),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.documents.len(), 2);
    assert_eq!(updated.data.name.as_str(), "Half Written");

    // An insert with links that cannot be made leaves no customer behind.
    for (links, reference) in [
        (links(&[Uuid::new_v4()], &[], 10), "U-2"),
        (links(&[held.uuid], std::slice::from_ref(&fresh), 1), "U-3"),
    ] {
        let result = cr(&store)
            .insert(&NewCustomer {
                uuid: Uuid::new_v4(),
                data: data(&store, reference, "Never").await,
                now: at(8),
                links,
            })
            .await;
        assert!(
            matches!(
                result,
                Err(WriteError::UnknownDocument(_) | WriteError::TooManyDocuments)
            ),
            "{result:?}"
        );
        let found = cr(&store)
            .get(&CustomerKey::Reference(reference.to_owned()))
            .await
            .unwrap();
        assert_eq!(found, None);
    }
    assert_eq!(docs.get(fresh.uuid).await.unwrap(), None);
    assert_eq!(docs.holders(held.uuid).await.unwrap(), [customer.id]);
}

async fn logo_round_trip(store: Store) {
    let customer = add(&store, "LOGO-1", "Logo", at(0)).await;
    assert_eq!(customer.data.logo, None);
    let logo = LogoName::from_trusted("1760000000000_acme.png".to_owned());
    let mut with_logo = customer.data.clone();
    with_logo.logo = Some(logo.clone());
    let updated = save(&store, customer.id, &with_logo, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.data.logo.as_ref(), Some(&logo));
    let got = cr(&store)
        .get(&CustomerKey::Id(customer.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data.logo, Some(logo.clone()));
    let page = cr(&store)
        .list(&query(CustomerFilter::default()))
        .await
        .unwrap();
    assert_eq!(page.items[0].data.logo, Some(logo.clone()));

    let cleared = cr(&store)
        .update(
            customer.id,
            revision(&store, customer.id).await,
            &customer.data,
            &DocumentLinks::none(),
            None,
            at(2),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.data.logo, None);

    let mut born_with = data(&store, "LOGO-2", "Born With").await;
    born_with.logo = Some(logo.clone());
    let inserted = insert(&store, born_with, at(3)).await;
    assert_eq!(inserted.data.logo, Some(logo));
}

async fn blobs_list_and_references_for_the_orphan_sweep(store: Store) {
    let blobs = store.blobs();
    let document = stored_document(Uuid::new_v4(), at(1));
    store.documents().insert(&document).await.unwrap();
    let customer = add(&store, "SWEEP-1", "Sweep", at(0)).await;
    let logo = LogoName::from_trusted("1760000000000-0000beef_acme.png".to_owned());
    let old_logo = LogoName::from_trusted("1750000000000-0000cafe_acme.png".to_owned());
    let mut with_logo = customer.data.clone();
    with_logo.logo = Some(logo.clone());
    save(&store, customer.id, &with_logo, at(2))
        .await
        .unwrap()
        .unwrap();

    let mut referenced = vec![
        BlobKey::document(document.uuid),
        BlobKey::thumbnail(document.uuid),
    ];
    referenced.extend(
        LogoVariant::ALL
            .into_iter()
            .map(|v| BlobKey::logo(customer.uuid, &logo.file(v))),
    );
    let orphans = vec![
        BlobKey::document(Uuid::new_v4()),
        BlobKey::logo(customer.uuid, &old_logo.file(LogoVariant::Small)),
    ];
    for key in referenced.iter().chain(&orphans) {
        blobs.put(key, b"bytes").await.unwrap();
    }
    let mut all: Vec<BlobKey> = referenced.iter().chain(&orphans).cloned().collect();
    all.sort_by(|a, b| a.as_str().cmp(b.as_str()));

    // Everything is older than a time to come, in key order, paged with `after`.
    let future = Utc::now() + chrono::TimeDelta::days(365);
    assert_eq!(blobs.list(None, future, 100).await.unwrap(), all);
    let first = blobs.list(None, future, 3).await.unwrap();
    assert_eq!(first, all[..3]);
    let rest = blobs.list(first.last(), future, 100).await.unwrap();
    assert_eq!(rest, all[3..]);
    assert_eq!(
        blobs.list(all.last(), future, 100).await.unwrap(),
        Vec::<BlobKey>::new()
    );
    // Nothing was written before a time gone by.
    let past = Utc::now() - chrono::TimeDelta::days(1);
    assert_eq!(
        blobs.list(None, past, 100).await.unwrap(),
        Vec::<BlobKey>::new()
    );

    // Only the keys a row names are referenced, whatever else is asked about.
    let mut asked = all.clone();
    asked.push(BlobKey::from_trusted("elsewhere/thing".to_owned()));
    asked.push(BlobKey::logo(
        Uuid::new_v4(),
        &logo.file(LogoVariant::Original),
    ));
    let sorted = |mut keys: Vec<BlobKey>| {
        keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        keys
    };
    let expected = sorted(referenced.clone());
    assert_eq!(
        sorted(store.documents().referenced(&asked).await.unwrap()),
        expected
    );
    assert_eq!(
        store.documents().referenced(&[]).await.unwrap(),
        Vec::<BlobKey>::new()
    );

    // An archived customer's logo is still referenced.
    assert!(cr(&store).archive(customer.id, None, at(3)).await.unwrap());
    assert_eq!(
        sorted(store.documents().referenced(&asked).await.unwrap()),
        expected
    );
}

async fn racing_attaches_stop_at_the_limit(store: Store) {
    let c = add(&store, "RACE-DOCS", "Racing Documents", at(0)).await;
    let mut uploads = Vec::new();
    for i in 0..8 {
        let d = stored_document(Uuid::new_v4(), at(i));
        store.documents().insert(&d).await.unwrap();
        uploads.push(d.uuid);
    }
    let data = c.data.clone();
    let mut tasks = Vec::new();
    for (i, uuid) in uploads.into_iter().enumerate() {
        let id = c.id;
        let documents = store.documents();
        tasks.push(tokio::spawn(async move {
            documents
                .attach(id, uuid, 5, at(10))
                .await
                .map_err(|e| format!("{e:?}"))
        }));
        // Customer updates attaching links race with them, under the same limit.
        let store = store.clone();
        let data = data.clone();
        tasks.push(tokio::spawn(async move {
            let link = external_document(&format!("https://example.com/race/{i}"), at(10));
            let links = links(&[], &[link], 5);
            // As the service does: a write that lost the race to another reads again.
            loop {
                let read = revision(&store, id).await;
                match cr(&store)
                    .update(id, read, &data, &links, None, at(10))
                    .await
                {
                    Err(WriteError::Stale) => {}
                    written => break written.map(|_| ()).map_err(|e| format!("{e:?}")),
                }
            }
        }));
    }
    let (mut attached, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => attached += 1,
            Err(e) if e == "TooMany" || e == "TooManyDocuments" => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((attached, refused), (5, 11));
    assert_eq!(attached_uuids(&store, c.id).await.len(), 5);
}

#[tokio::test]
async fn fs_blobs_put_get_overwrite_and_delete() {
    let root = tempfile_dir();
    let blobs = FsBlobStore::new(root.join("blobs"));
    let uuid = Uuid::new_v4();
    let key = BlobKey::document(uuid);
    assert_eq!(blobs.get(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();

    let big = binary_bytes();
    blobs.put(&key, &big).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap().as_deref(), Some(&big[..]));
    blobs.put(&key, &[0, 0, 7]).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), Some(vec![0, 0, 7]));
    // Nothing but the blob itself is left in its directory (no temporary files).
    let names: Vec<String> = std::fs::read_dir(root.join("blobs/documents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [uuid.to_string()]);

    blobs.delete(&key).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();

    // Listing: keys from the paths under the root, in key order, without temporary files.
    let future = Utc::now() + chrono::TimeDelta::days(365);
    let past = Utc::now() - chrono::TimeDelta::days(1);
    let empty = FsBlobStore::new(root.join("not-yet"));
    assert_eq!(
        empty.list(None, future, 10).await.unwrap(),
        Vec::<BlobKey>::new()
    );
    let logo = LogoName::from_trusted("1760000000000-0000beef_acme.png".to_owned());
    let mut all = vec![
        BlobKey::document(uuid),
        BlobKey::thumbnail(uuid),
        BlobKey::document(Uuid::new_v4()),
        BlobKey::logo(uuid, &logo.file(LogoVariant::Original)),
        BlobKey::logo(uuid, &logo.file(LogoVariant::Small)),
    ];
    for key in &all {
        blobs.put(key, b"bytes").await.unwrap();
    }
    std::fs::write(root.join("blobs/documents/.left.0123.tmp"), b"half").unwrap();
    all.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(blobs.list(None, future, 100).await.unwrap(), all);
    let first = blobs.list(None, future, 2).await.unwrap();
    assert_eq!(first, all[..2]);
    assert_eq!(
        blobs.list(first.last(), future, 100).await.unwrap(),
        all[2..]
    );
    assert_eq!(
        blobs.list(None, past, 100).await.unwrap(),
        Vec::<BlobKey>::new()
    );

    for bad in ["../escape", "/etc/passwd", "", "a/../../b", "a\\b"] {
        let key = BlobKey::from_trusted(bad.to_owned());
        assert!(blobs.put(&key, b"x").await.is_err(), "{bad} was accepted");
    }
    assert!(!root.join("escape").exists());
    let _ = std::fs::remove_dir_all(root);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("credence-migration-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

credence_store::on_both_stores!(
    insert_and_get_by_every_key,
    ledger_and_reservations_filter_by_time_and_kind,
    the_limit_history_names_each_change_newest_first,
    the_account_at_an_instant_replays_the_ledger,
    duplicate_live_reference_is_refused,
    holders_agree_with_their_customers,
    concurrent_inserts_of_one_reference,
    a_taken_uuid_is_not_a_duplicate_reference,
    writes_name_the_revision_they_read,
    a_limit_set_apart_makes_an_earlier_read_stale,
    a_move_that_would_close_a_cycle_is_refused,
    archive_frees_the_reference_and_hides_the_row,
    archive_waits_for_live_children,
    update_replaces_payment_types_and_contacts,
    an_update_writes_each_kind_of_key_it_changes,
    projects_are_written_kept_replaced_and_cleared,
    text_filters,
    date_ranges_sorting_and_paging,
    ties_break_by_id_in_the_sort_direction,
    ancestors_nearest_first,
    within_lists_a_subtree_and_nothing_else,
    search_ors_terms_and_ranks_name_over_reference_over_the_rest,
    search_follows_updates_inactive_and_archive,
    search_stays_within_a_subtree,
    search_survives_hostile_input_and_pages,
    search_ranks_every_match,
    categories_crud,
    a_record_update_holds_only_while_the_row_is_as_read,
    a_category_moved_under_its_descendant_is_refused,
    labels_regions_and_users_crud,
    currencies_keep_exact_rates,
    ping_answers,
    many_prefix_matches_page_like_few,
    api_keys_round_trip,
    a_user_and_its_first_key_are_stored_together,
    an_admission_refuses_a_customer_on_hold_or_inactive,
    a_posting_finds_no_account_once_its_customer_is_archived,
    admission_up_to_the_available_credit,
    capture_release_and_their_refusals,
    payments_charges_and_adjustments,
    expired_reservations_stop_counting_and_expire_once,
    racing_admissions_never_overdraw,
    batched_admissions_answer_each_as_if_alone,
    concurrent_account_reads_answer_each_its_own,
    idempotent_admissions_and_postings_apply_once,
    customers_and_accounts_go_together,
    idempotency_keys_start_replay_and_expire,
    archived_customers_cannot_be_admitted,
    archives_racing_admissions_leave_no_reservation,
    products_upsert_replace_attributes_and_withdraw,
    products_and_templates_are_written_only_while_their_precondition_holds,
    account_writes_go_through_only_while_their_precondition_holds,
    entries_and_reservations_are_read_within_their_account,
    templates_crud_per_customer,
    a_task_is_created_only_while_its_product_is_as_priced,
    submit_admits_and_creates_the_task,
    racing_submits_never_overdraw,
    finish_captures_and_cancel_releases,
    blobs_put_get_overwrite_and_delete,
    documents_insert_get_and_update_metadata,
    documents_attach_detach_and_holders,
    customer_writes_attach_their_links,
    refused_links_leave_the_customer_unchanged,
    logo_round_trip,
    racing_attaches_stop_at_the_limit,
    blobs_list_and_references_for_the_orphan_sweep,
    tagged_settlements_answer_their_repeats;
    exhausted_pool_is_unavailable,
);

/// Every migration's `down` undoes its `up`: for each k, the k newest migrations are
/// reverted one by one and applied again, and the schema is what the first run made; at the
/// end every migration is reverted and nothing is left. On both backends.
fn migrations_revert_and_apply_again(db: &credence_store::test_support::TestDb) {
    use credence_store::test_support::{revert_last_migrations, schema_dump};
    let database = db.database();
    let first = schema_dump(database);
    assert!(first.len() > 20, "the schema was read: {first:?}");
    for k in 1.. {
        revert_last_migrations(database, k);
        if schema_dump(database).is_empty() {
            assert!(
                k > 5,
                "only after every migration is reverted is nothing left"
            );
            break;
        }
        assert!(k < 100, "the downs never emptied the schema");
        database.migrate().unwrap();
        let again = schema_dump(database);
        let differences: Vec<_> = first
            .iter()
            .filter(|line| !again.contains(line))
            .map(|line| format!("lost: {line}"))
            .chain(
                again
                    .iter()
                    .filter(|line| !first.contains(line))
                    .map(|line| format!("new: {line}")),
            )
            .collect();
        assert!(
            differences.is_empty(),
            "after reverting the {k} newest migrations and applying them again: {differences:#?}"
        );
    }
}

#[test]
fn migrations_revert_and_apply_again_on_sqlite() {
    migrations_revert_and_apply_again(&credence_store::test_support::TestDb::sqlite());
}

#[test]
fn migrations_revert_and_apply_again_on_postgres() {
    let Some(db) = credence_store::test_support::TestDb::postgres() else {
        return;
    };
    migrations_revert_and_apply_again(&db);
}

// ---------------------------------------------------------------------------------------
// The credit rule, held to its model: the store's SQL against `CreditAccount`.

/// One step of a random history of an account.
#[derive(Debug, Clone)]
enum Step {
    /// An admission of `cost`, expiring `expires_in` seconds later.
    Admit { cost: i64, expires_in: i64 },
    /// An admission of exactly the credit left, plus `extra` (0 fits, 1 does not).
    AdmitAll { extra: i64 },
    /// A capture of the `pick`-th reservation still open (of `percent` of it).
    Capture { pick: usize, percent: i64 },
    /// A release of the `pick`-th reservation still open.
    Release { pick: usize },
    /// A payment, a charge or an adjustment.
    Post { kind: EntryKind, delta: i64 },
    /// A new credit limit.
    Limit(i64),
    /// Time passes (reservations lapse).
    Wait(i64),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (1_i64..700, 1_i64..40).prop_map(|(cost, expires_in)| Step::Admit { cost, expires_in }),
        1 => (0_i64..=1).prop_map(|extra| Step::AdmitAll { extra }),
        2 => (0_usize..4, 0_i64..=100).prop_map(|(pick, percent)| Step::Capture { pick, percent }),
        1 => (0_usize..4).prop_map(|pick| Step::Release { pick }),
        1 => (1_i64..500).prop_map(|delta| Step::Post { kind: EntryKind::Payment, delta }),
        1 => (1_i64..500).prop_map(|delta| Step::Post { kind: EntryKind::Charge, delta: -delta }),
        1 => (-300_i64..300)
            .prop_filter("an adjustment moves money", |d| *d != 0)
            .prop_map(|delta| Step::Post { kind: EntryKind::Adjustment, delta }),
        1 => (0_i64..2000).prop_map(Step::Limit),
        1 => (1_i64..30).prop_map(Step::Wait),
    ]
}

/// The model: the pure account, and the open reservations `(id, amount, expires at)`.
struct Model {
    account: CreditAccount,
    open: Vec<(ReservationId, i64, i64)>,
}

impl Model {
    /// Lets the reservations lapsed at `now` go, as the store does before an admission and
    /// leaves out of every read.
    fn lapse(&mut self, now: i64) {
        let (gone, kept): (Vec<_>, Vec<_>) = self
            .open
            .iter()
            .partition(|(_, _, expires)| *expires <= now);
        for (_, amount, _) in gone {
            self.account.release(eur_money(amount));
        }
        self.open = kept;
    }
}

/// Applies `steps` to a fresh account in the store and to the model, comparing every answer
/// and the account after every step.
async fn store_follows_the_model(store: &Store, case: usize, steps: &[Step]) {
    let c = funded(store, &format!("MODEL-{case}"), 1000).await;
    let mut model = Model {
        account: stored(store, c.id).await,
        open: Vec::new(),
    };
    let mut now = 1_i64;
    for (n, step) in steps.iter().enumerate() {
        now += 1;
        let context = format!("case {case}, step {n} ({step:?})");
        let step = match step.clone() {
            Step::AdmitAll { extra } => {
                model.lapse(now);
                let left = model.account.available().minor();
                Step::Admit {
                    cost: (left + extra).max(1),
                    expires_in: 60,
                }
            }
            other => other,
        };
        match step {
            Step::AdmitAll { .. } => unreachable!("turned into an admission above"),
            Step::Admit { cost, expires_in } => {
                model.lapse(now);
                let expected = model.account.admit(eur_money(cost));
                let answer = al(store)
                    .admit(
                        &admission(c.id, cost, now, now + expires_in),
                        Precondition::none(),
                    )
                    .await;
                match (expected, answer) {
                    (Ok(()), Ok(reservation)) => {
                        model.open.push((reservation.id, cost, now + expires_in));
                    }
                    (Err(AccountError::Refused(want)), Err(AdmitError::Refused(got))) => {
                        assert_eq!(got, want, "{context}");
                    }
                    (want, got) => panic!("{context}: model {want:?}, store {got:?}"),
                }
            }
            Step::Capture { .. } | Step::Release { .. } if model.open.is_empty() => {}
            Step::Capture { pick, percent } => {
                let (id, amount, expires) = model.open[pick % model.open.len()];
                let captured = amount * percent / 100;
                let answer = al(store)
                    .capture(
                        c.id,
                        id,
                        Some(eur_money(captured)),
                        None,
                        at(now),
                        None,
                        Precondition::none(),
                    )
                    .await;
                model.open.retain(|(open, _, _)| *open != id);
                if expires <= now {
                    model.account.release(eur_money(amount));
                    assert!(
                        matches!(answer, Err(SettleError::NotOpen)),
                        "{context}: {answer:?}"
                    );
                } else {
                    model
                        .account
                        .capture(eur_money(amount), eur_money(captured))
                        .unwrap();
                    assert_eq!(
                        answer.unwrap().captured.map(|m| m.minor()),
                        Some(captured),
                        "{context}"
                    );
                }
            }
            Step::Release { pick } => {
                let (id, amount, expires) = model.open[pick % model.open.len()];
                let answer = al(store)
                    .release(c.id, id, None, at(now), None, Precondition::none())
                    .await;
                model.open.retain(|(open, _, _)| *open != id);
                model.account.release(eur_money(amount));
                if expires <= now {
                    assert!(
                        matches!(answer, Err(SettleError::NotOpen)),
                        "{context}: {answer:?}"
                    );
                } else {
                    assert!(answer.is_ok(), "{context}: {answer:?}");
                }
            }
            Step::Post { kind, delta } => {
                match kind {
                    EntryKind::Payment => model.account.pay(eur_money(delta)),
                    EntryKind::Charge => model.account.charge(eur_money(-delta)),
                    _ => model.account.adjust(eur_money(delta)),
                }
                .unwrap();
                al(store)
                    .post(&posting(c.id, kind, delta, now), Precondition::none())
                    .await
                    .unwrap_or_else(|e| panic!("{context}: {e:?}"));
            }
            Step::Limit(limit) => {
                model.account.set_credit_limit(eur_limit(limit)).unwrap();
                al(store)
                    .set_credit_limit(
                        c.id,
                        eur_limit(limit),
                        None,
                        None,
                        at(now),
                        Precondition::none(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{context}: {e:?}"));
            }
            Step::Wait(seconds) => now += seconds,
        }
        // The read leaves out what lapsed by now, as the model does.
        let mut seen = Model {
            account: model.account,
            open: model.open.clone(),
        };
        seen.lapse(now);
        let read = al(store).account(c.id, at(now)).await.unwrap().unwrap();
        assert_eq!(
            (
                read.balance().minor(),
                read.credit_limit().minor(),
                read.reserved().minor(),
                read.available().minor()
            ),
            (
                seen.account.balance().minor(),
                seen.account.credit_limit().minor(),
                seen.account.reserved().minor(),
                seen.account.available().minor()
            ),
            "{context}"
        );
    }
    assert_ledger_adds_up(store, c.id).await;
}

/// Random histories of payments, charges, adjustments, limit changes, admissions, captures,
/// releases and lapses: the store answers and ends exactly as the pure model does.
fn credit_rule_matches_the_model(db: &TestDb) {
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = store_for(db);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&proptest::collection::vec(step(), 1..40), |steps| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            runtime.block_on(store_follows_the_model(&store, n, &steps));
            Ok(())
        })
        .unwrap();
}

#[test]
fn credit_rule_matches_the_model_on_sqlite() {
    credit_rule_matches_the_model(&TestDb::sqlite());
}

#[test]
fn credit_rule_matches_the_model_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        credit_rule_matches_the_model(&db);
    }
}
