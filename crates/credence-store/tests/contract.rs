//! The store's contract, written once and run on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set. Every test gets a fresh database.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use credence_domain::customer::{
    Address, Contact, Customer, CustomerData, CustomerFilter, CustomerKey, CustomerQuery,
    CustomerSort,
};
use credence_domain::ids::{CategoryId, CustomerId, RegionId, UserId};
use credence_domain::listing::{Order, PageRequest, TextPattern, TimeRange};
use credence_domain::ports::{
    CustomerRepository, NewCustomer, Readiness, RecordRepository, RemoveError, StoreError,
    WriteError,
};
use credence_domain::principal::Role;
use credence_domain::reference_data::{
    Category, CategoryDraft, Currency, CurrencyDraft, Label, LabelDraft, PaymentType, Region,
    RegionDraft, Segmentation, User, UserDraft,
};
use credence_domain::values::{
    CountryCode, CreditLimit, CurrencyCode, CustomerName, DueDateTerms, DueDateType, Email,
    ExchangeRate, FreeText, Latitude, Longitude, Reference, RiskColor, Website,
};
use credence_store::test_support::TestDb;
use credence_store::{Database, PoolOptions, Store};
use uuid::Uuid;

/// The customer port alone (the store implements `list`, `get`... for every record kind too).
fn cr(store: &Store) -> &dyn CustomerRepository {
    store
}

fn eur() -> CurrencyCode {
    CurrencyCode::parse("EUR").unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_760_000_000 + seconds, 0).unwrap()
}

fn store_for(db: &TestDb) -> Store {
    db.database().ensure_organization_currency(eur()).unwrap();
    Store::new(db.database().clone())
}

async fn root(store: &Store) -> Category {
    RecordRepository::<Category>::find_by_reference(store, "root")
        .await
        .unwrap()
        .unwrap()
}

async fn data(store: &Store, reference: &str, name: &str) -> CustomerData {
    CustomerData {
        reference: Reference::new(reference).unwrap(),
        reference2: None,
        name: CustomerName::new(name).unwrap(),
        category: root(store).await,
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
        credit_limit: CreditLimit::zero(eur()),
        is_active: true,
        on_hold: false,
        on_hold_reason: None,
        created_by: None,
        due_date_terms: None,
        payment_types: Vec::new(),
        website: None,
        tax_number: None,
        company_registration_number: None,
        currency: eur(),
        customer_risk: None,
        customer_risk_color: None,
        region: None,
        contacts: Vec::new(),
    }
}

async fn insert(store: &Store, data: CustomerData, now: DateTime<Utc>) -> Customer {
    cr(store)
        .insert(&NewCustomer {
            uuid: Uuid::new_v4(),
            data,
            now,
        })
        .await
        .unwrap()
}

async fn add(store: &Store, reference: &str, name: &str, now: DateTime<Utc>) -> Customer {
    let data = data(store, reference, name).await;
    insert(store, data, now).await
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
    full.reference2 = text("R2");
    full.parent = Some(parent.data.summary(parent.id));
    full.bill_with_parent = true;
    full.segmentation = Some(segment);
    full.email = Some(Email::new("marie@example.com").unwrap());
    full.phone = text("+33 1");
    full.mobile = text("+33 6");
    full.fax = text("+33 2");
    full.comment = text("a comment");
    full.barcode = text("123");
    full.is_same_address = false;
    full.billing = Address {
        country: Some(CountryCode::parse("FR").unwrap()),
        city: text("Paris"),
        postal_code: text("75001"),
        address: text("1 rue de Rivoli"),
        latitude: Some(Latitude::new("billingLatitude", 48.86).unwrap()),
        longitude: Some(Longitude::new("billingLongitude", 2.34).unwrap()),
    };
    full.shipping = Address {
        country: Some(CountryCode::parse("DE").unwrap()),
        city: text("Berlin"),
        latitude: Some(Latitude::new("latitude", -12.5).unwrap()),
        longitude: Some(Longitude::new("longitude", 179.25).unwrap()),
        ..Address::default()
    };
    full.credit_limit = CreditLimit::new("20000.10".parse().unwrap(), eur()).unwrap();
    full.is_active = false;
    full.on_hold = true;
    full.on_hold_reason = text("late");
    full.created_by = Some(user);
    full.due_date_terms =
        Some(DueDateTerms::new(30, DueDateType::DaysAfterEndOfInvoiceMonth).unwrap());
    full.payment_types = vec![cheque, cash];
    full.website = Some(Website::new("https://example.com").unwrap());
    full.tax_number = text("FR123");
    full.company_registration_number = text("RCS 1");
    full.customer_risk = text("low");
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

async fn duplicate_live_reference_is_refused(store: Store) {
    add(&store, "DUP", "First", at(0)).await;
    let second = data(&store, "DUP", "Second").await;
    let result = cr(&store)
        .insert(&NewCustomer {
            uuid: Uuid::new_v4(),
            data: second,
            now: at(1),
        })
        .await;
    assert!(
        matches!(result, Err(WriteError::DuplicateReference)),
        "{result:?}"
    );
    let other = add(&store, "OTHER", "Other", at(2)).await;
    let clash = data(&store, "DUP", "Other").await;
    let result = cr(&store).update(other.id, &clash, at(3)).await;
    assert!(
        matches!(result, Err(WriteError::DuplicateReference)),
        "{result:?}"
    );
}

async fn concurrent_inserts_of_one_reference(store: Store) {
    let template = data(&store, "RACE", "Racer").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let data = template.clone();
            tokio::spawn(async move {
                cr(&store)
                    .insert(&NewCustomer {
                        uuid: Uuid::new_v4(),
                        data,
                        now: at(0),
                    })
                    .await
            })
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

async fn archive_frees_the_reference_and_hides_the_row(store: Store) {
    let first = add(&store, "ARC", "Archived", at(0)).await;
    assert!(cr(&store).archive(first.id, at(5)).await.unwrap());
    assert!(
        !cr(&store).archive(first.id, at(6)).await.unwrap(),
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
            .update(first.id, &first.data, at(8))
            .await
            .unwrap()
            .is_none(),
        "archived rows are not updated"
    );
}

async fn archive_waits_for_live_children(store: Store) {
    let parent = add(&store, "PARENT", "Parent", at(0)).await;
    let mut child = data(&store, "CHILD", "Child").await;
    child.parent = Some(parent.data.summary(parent.id));
    let child = insert(&store, child, at(1)).await;
    assert!(matches!(
        cr(&store).archive(parent.id, at(2)).await,
        Err(RemoveError::InUse)
    ));
    assert!(cr(&store).archive(child.id, at(3)).await.unwrap());
    assert!(cr(&store).archive(parent.id, at(4)).await.unwrap());
    assert!(
        !cr(&store)
            .archive(CustomerId(424_242), at(5))
            .await
            .unwrap()
    );
    let mut orphan = data(&store, "ORPHAN", "Orphan").await;
    orphan.parent = Some(parent.data.summary(parent.id));
    let result = cr(&store)
        .insert(&NewCustomer {
            uuid: Uuid::new_v4(),
            data: orphan,
            now: at(6),
        })
        .await;
    assert!(
        matches!(result, Err(WriteError::DanglingReference)),
        "archived parent: {result:?}"
    );
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
    let updated = cr(&store)
        .update(created.id, &second, at(60))
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
    let updated = cr(&store)
        .update(created.id, &cleared, at(61))
        .await
        .unwrap()
        .unwrap();
    assert!(updated.data.payment_types.is_empty() && updated.data.contacts.is_empty());
    assert!(
        cr(&store)
            .update(CustomerId(777_777), &cleared, at(62))
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
        cr(&store).update(created.id, &dangling, at(63)).await,
        Err(WriteError::DanglingReference)
    ));
}

async fn text_filters(store: Store) {
    add(&store, "REF-6", "Acme Corp", at(0)).await;
    add(&store, "ref-66", "acme industries", at(1)).await;
    add(&store, "X-1", "50%_off\\x", at(2)).await;
    add(&store, "X-2", "500 offers", at(3)).await;
    add(&store, "Z-ÉTÉ", "Été Café", at(4)).await;
    let by_name = |pattern: &str| {
        query(CustomerFilter {
            name: Some(TextPattern::parse(pattern)),
            ..CustomerFilter::default()
        })
    };
    let by_ref = |pattern: &str| {
        query(CustomerFilter {
            reference: Some(TextPattern::parse(pattern)),
            ..CustomerFilter::default()
        })
    };
    let names = |refs: &[&str]| refs.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>();

    assert_eq!(
        references(&store, &by_ref("ref-6")).await,
        (names(&["REF-6"]), 1),
        "exact, case-insensitive"
    );
    assert_eq!(
        references(&store, &by_ref("REF-6*")).await,
        (names(&["REF-6", "ref-66"]), 2),
        "prefix"
    );
    assert_eq!(
        references(&store, &by_ref("*f-66")).await,
        (names(&["ref-66"]), 1),
        "suffix"
    );
    assert_eq!(
        references(&store, &by_name("ACME*")).await,
        (names(&["REF-6", "ref-66"]), 2)
    );
    assert_eq!(
        references(&store, &by_name("*CORP*")).await,
        (names(&["REF-6"]), 1),
        "mid-string"
    );
    assert_eq!(
        references(&store, &by_name("acme corp")).await,
        (names(&["REF-6"]), 1)
    );
    assert_eq!(
        references(&store, &by_name("acme")).await,
        (vec![], 0),
        "exact means whole value"
    );
    assert_eq!(
        references(&store, &by_name("50%_off\\x")).await,
        (names(&["X-1"]), 1),
        "literal exact"
    );
    assert_eq!(
        references(&store, &by_name("50%*")).await,
        (names(&["X-1"]), 1),
        "% is literal"
    );
    assert_eq!(
        references(&store, &by_name("*%_o*")).await,
        (names(&["X-1"]), 1),
        "_ is literal"
    );
    assert_eq!(
        references(&store, &by_name("5_*")).await,
        (vec![], 0),
        "_ is not a wildcard"
    );
    assert_eq!(
        references(&store, &by_name("*\\x")).await,
        (names(&["X-1"]), 1),
        "backslash is literal"
    );
    assert_eq!(
        references(&store, &by_name("50*")).await,
        (names(&["X-1", "X-2"]), 2)
    );
    assert_eq!(
        references(&store, &by_name("été*")).await,
        (names(&["Z-ÉTÉ"]), 1),
        "non-ASCII folding"
    );
    assert_eq!(
        references(&store, &by_name("*CAFÉ")).await,
        (names(&["Z-ÉTÉ"]), 1)
    );
    assert_eq!(references(&store, &by_name("*")).await.1, 5);

    let category = RecordRepository::<Category>::create(
        &store,
        CategoryDraft {
            reference: Reference::new("Shops").unwrap(),
            name: Label::new("Shops").unwrap(),
            parent_id: None,
        },
    )
    .await
    .unwrap();
    let mut shop = data(&store, "SHOP-1", "Shop").await;
    shop.category = category;
    shop.is_active = false;
    insert(&store, shop, at(5)).await;
    let by_category = |pattern: &str| {
        query(CustomerFilter {
            category_reference: Some(TextPattern::parse(pattern)),
            ..CustomerFilter::default()
        })
    };
    assert_eq!(
        references(&store, &by_category("shops")).await,
        (names(&["SHOP-1"]), 1)
    );
    assert_eq!(
        references(&store, &by_category("SH*")).await,
        (names(&["SHOP-1"]), 1)
    );
    assert_eq!(
        references(&store, &by_category("nothing")).await,
        (vec![], 0)
    );
    assert_eq!(references(&store, &by_category("root")).await.1, 5);
    let active = |value: bool| {
        query(CustomerFilter {
            is_active: Some(value),
            ..CustomerFilter::default()
        })
    };
    assert_eq!(
        references(&store, &active(false)).await,
        (names(&["SHOP-1"]), 1)
    );
    assert_eq!(references(&store, &active(true)).await.1, 5);
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
                &created.data,
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
    let mut b = data(&store, "B", "B").await;
    b.parent = Some(a.data.summary(a.id));
    let b = insert(&store, b, at(1)).await;
    let mut c = data(&store, "C", "C").await;
    c.parent = Some(b.data.summary(b.id));
    let c = insert(&store, c, at(2)).await;
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
    let renamed =
        RecordRepository::<Category>::update(&store, small.id, draft("tiny", Some(shops.id)))
            .await
            .unwrap();
    assert_eq!(renamed.as_ref().map(|c| c.reference.as_str()), Some("tiny"));
    assert!(
        RecordRepository::<Category>::update(&store, CategoryId(9999), draft("x", None))
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
    let user_draft = |customer_id| UserDraft {
        reference: Reference::new("u-1").unwrap(),
        name: Label::new("User").unwrap(),
        email: None,
        role: Role::Customer,
        customer_id,
    };
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
        RecordRepository::<User>::update(&store, user.id, user_draft(Some(CustomerId(4242)))).await,
        Err(WriteError::DanglingReference)
    ));
    assert!(
        RecordRepository::<User>::update(&store, UserId(4242), user_draft(None))
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
    let unconfigured = cr(&store)
        .insert(&NewCustomer {
            uuid: Uuid::new_v4(),
            data: pounds,
            now: at(0),
        })
        .await;
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
    use credence_domain::credentials::{ApiKeySecret, KeyId, NewApiKey};
    use credence_domain::ports::KeyStore;
    let user = RecordRepository::<User>::create(
        &store,
        UserDraft {
            reference: Reference::new("ops").unwrap(),
            name: Label::new("Ops").unwrap(),
            email: None,
            role: Role::Admin,
            customer_id: None,
        },
    )
    .await
    .unwrap();
    let secret = ApiKeySecret::from_random([9; 32]);
    let new = NewApiKey {
        user_id: user.id,
        prefix: secret.prefix(),
        hash: secret.hash(),
        name: Some("ci".into()),
        now: at(0),
    };
    let key = store.create_key(&new).await.unwrap();
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

async fn ping_answers(store: Store) {
    store.ping().await.unwrap();
}

async fn exhausted_pool_is_unavailable(url: String) {
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: Duration::from_millis(200),
    };
    let database = Database::connect(&url, options).unwrap();
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
    let mut b = data(&store, "B", "B").await;
    b.parent = Some(a.data.summary(a.id));
    let b = insert(&store, b, at(1)).await;
    let mut c = data(&store, "C", "C").await;
    c.parent = Some(b.data.summary(b.id));
    let c = insert(&store, c, at(2)).await;
    let mut gone = data(&store, "GONE", "Gone").await;
    gone.parent = Some(b.data.summary(b.id));
    let gone = insert(&store, gone, at(3)).await;
    cr(&store).archive(gone.id, at(4)).await.unwrap();
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

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = credence_store::test_support::TestDb::sqlite();
                    super::$name(super::store_for(&db)).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn exhausted_pool_is_unavailable() {
                let db = credence_store::test_support::TestDb::sqlite();
                super::exhausted_pool_is_unavailable(db.url().to_owned()).await;
            }
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = credence_store::test_support::TestDb::postgres() else { return };
                    super::$name(super::store_for(&db)).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn exhausted_pool_is_unavailable() {
                let Some(db) = credence_store::test_support::TestDb::postgres() else { return };
                super::exhausted_pool_is_unavailable(db.url().to_owned()).await;
            }
        }
    };
}

contract!(
    insert_and_get_by_every_key,
    duplicate_live_reference_is_refused,
    concurrent_inserts_of_one_reference,
    archive_frees_the_reference_and_hides_the_row,
    archive_waits_for_live_children,
    update_replaces_payment_types_and_contacts,
    text_filters,
    date_ranges_sorting_and_paging,
    ties_break_by_id_in_the_sort_direction,
    ancestors_nearest_first,
    within_lists_a_subtree_and_nothing_else,
    categories_crud,
    labels_regions_and_users_crud,
    currencies_keep_exact_rates,
    ping_answers,
    many_prefix_matches_page_like_few,
    api_keys_round_trip,
);
