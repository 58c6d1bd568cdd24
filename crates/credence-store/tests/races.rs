//! A write that depends on a row another transaction is changing waits for it and then
//! decides on what that transaction committed (PostgreSQL; SQLite runs writers one at a
//! time). Each test leaves a change in flight on a connection of its own, starts one store
//! operation, waits until that operation waits for a lock, commits the change, and checks
//! that the operation saw it: without the lock it would have gone ahead on the row as it was.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::time::Duration;

use credence_domain::catalog::{Product, ProductCode, ProductDraft, TaskDraft, TemplateDraft};
use credence_domain::credit::Money;
use credence_domain::customers::CustomerKey;
use credence_domain::ports::{AccountLedger, AdmitError, Precondition, ProductCatalog, TaskBoard};
use credence_domain::ports::{CustomerRepository, WriteError};
use credence_domain::values::CreditLimit;
use credence_store::Store;
use credence_store::test_support::{CATEGORY_TREE_LOCK, HIERARCHY_LOCK, TestDb};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

mod common;
use common::{admission, at, data, eur, insert, root, store_for, until_someone_waits, update};
use credence_domain::customers::reference_data::{Category, CategoryDraft, Label};
use credence_domain::ids::CategoryId;
use credence_domain::ports::RecordRepository;
use credence_domain::values::Reference;

/// A PostgreSQL store and a connection of the test's own; `None` without PostgreSQL.
fn postgres() -> Option<(TestDb, Store, PgConnection)> {
    let db = TestDb::postgres()?;
    let store = store_for(&db);
    let holder = PgConnection::establish(db.url()).unwrap();
    Some((db, store, holder))
}

/// Runs `operation` while `holder` has a change in flight, commits the change once the
/// operation waits for it, and answers what the operation did.
async fn after_the_change<T: Send + 'static>(
    db: &TestDb,
    holder: &mut PgConnection,
    operation: impl Future<Output = T> + Send + 'static,
) -> T {
    let running = tokio::spawn(operation);
    until_someone_waits(db);
    holder.batch_execute("COMMIT").unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the operation finishes once the change committed")
        .unwrap()
}

/// A moves under B while B's move under A is in flight: the second move waits for the
/// first and, seeing it, is refused; no cycle is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_moves_that_close_a_cycle_the_later_is_refused() {
    let Some((db, store, mut holder)) = postgres() else {
        return;
    };
    let a = insert(&store, data(&store, "A", "A").await, at(0)).await;
    let b = insert(&store, data(&store, "B", "B").await, at(0)).await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({HIERARCHY_LOCK}); \
             UPDATE customers SET parent_id = {}, revision = revision + 1 WHERE id = {}",
            a.id.get(),
            b.id.get()
        ))
        .unwrap();
    let mut a_under_b = a.data.clone();
    a_under_b.parent = Some(b.data.summary(b.id));
    let mover = store.clone();
    let moved = after_the_change(&db, &mut holder, async move {
        update(&mover, a.id, a.revision, &a_under_b, at(1)).await
    })
    .await;
    assert!(matches!(moved, Err(WriteError::OwnAncestor)), "{moved:?}");
    let a_now = CustomerRepository::get(&store, &CustomerKey::Id(a.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a_now.data.parent, None);
}

/// The same for categories: A under B while B's move under A is in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_category_moves_that_close_a_cycle_the_later_is_refused() {
    let Some((db, store, mut holder)) = postgres() else {
        return;
    };
    let root = root(&store).await;
    let draft = |reference: &str, parent: CategoryId| CategoryDraft {
        reference: Reference::new(reference).unwrap(),
        name: Label::new(reference).unwrap(),
        parent_id: Some(parent),
    };
    let a = RecordRepository::<Category>::create(&store, draft("a", root.id))
        .await
        .unwrap();
    let b = RecordRepository::<Category>::create(&store, draft("b", root.id))
        .await
        .unwrap();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({CATEGORY_TREE_LOCK}); \
             UPDATE customer_categories SET parent_id = {} WHERE id = {}",
            a.id.get(),
            b.id.get()
        ))
        .unwrap();
    let mover = store.clone();
    let moved = after_the_change(&db, &mut holder, async move {
        RecordRepository::<Category>::update(&mover, a.id, draft("a", b.id), Precondition::none())
            .await
    })
    .await;
    assert!(matches!(moved, Err(WriteError::OwnAncestor)), "{moved:?}");
}

/// A task priced at 1.00 while the product's new price of 1.50 is in flight waits for it
/// and is refused, reserving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_waits_for_its_product_being_repriced_and_is_refused() {
    let Some((db, store, mut holder)) = postgres() else {
        return;
    };
    let mut funded = data(&store, "BUYER", "Buyer").await;
    funded.credit_limit = CreditLimit::from_minor_units(100_000, eur()).unwrap();
    let buyer = insert(&store, funded, at(0)).await;
    let code = ProductCode::new("text").unwrap();
    let draft = ProductDraft {
        titles: Default::default(),
        descriptions: Default::default(),
        available: true,
        price: Money::from_minor(100, eur()),
        attributes: Vec::new(),
    };
    let (priced, _): (Product, bool) = store
        .save_product(&code, &draft, Precondition::none())
        .await
        .unwrap()
        .done()
        .unwrap();
    let template = TemplateDraft {
        name: "One".to_owned(),
        titles: Default::default(),
        descriptions: Default::default(),
        product: code.clone(),
        attributes: Vec::new(),
    };
    store
        .save_template(buyer.id, "t1", &template, Precondition::none())
        .await
        .unwrap();
    holder
        .batch_execute("BEGIN; UPDATE products SET price_minor = 150 WHERE code = 'text'")
        .unwrap();
    let task = TaskDraft {
        customer: buyer.id,
        customer_ref: None,
        template: "t1".to_owned(),
        product: priced,
        input: Vec::new(),
        quantity: 1,
    };
    let submitter = store.clone();
    let submitted = after_the_change(&db, &mut holder, async move {
        submitter
            .submit(&task, &admission(buyer.id, 100, 1, 3600))
            .await
    })
    .await;
    assert!(matches!(submitted, Err(AdmitError::Unmet)), "{submitted:?}");
    let account = store.account(buyer.id, at(2)).await.unwrap().unwrap();
    assert_eq!(account.reserved().minor(), 0);
}

/// An admission while the customer's hold is in flight waits for it and is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_waits_for_a_hold_in_flight_and_is_refused() {
    let Some((db, store, mut holder)) = postgres() else {
        return;
    };
    let mut funded = data(&store, "HELD", "Held").await;
    funded.credit_limit = CreditLimit::from_minor_units(100_000, eur()).unwrap();
    let held = insert(&store, funded, at(0)).await;
    holder
        .batch_execute(&format!(
            "BEGIN; UPDATE customers SET on_hold = TRUE WHERE id = {}",
            held.id.get()
        ))
        .unwrap();
    let admitter = store.clone();
    let admitted = after_the_change(&db, &mut holder, async move {
        admitter
            .admit(&admission(held.id, 100, 1, 3600), Precondition::none())
            .await
    })
    .await;
    assert!(
        matches!(admitted, Err(AdmitError::OnHold(None))),
        "{admitted:?}"
    );
}
