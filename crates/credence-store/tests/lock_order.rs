//! Every write of an account locks the account row before the account's reservations and
//! tasks (PostgreSQL; SQLite runs writers one at a time). Each test holds the account's lock
//! from a connection of its own, starts one store operation, waits until that operation
//! waits for a lock, and then checks that the reservation (and the task) are still free: an
//! operation that locked them first and the account second could deadlock with an admission
//! or a sweeper, which take the account first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::time::Duration;

use credence_domain::catalog::{ProductCode, ProductDraft, TaskDraft, TaskState, TemplateDraft};
use credence_domain::credit::Money;
use credence_domain::ids::CustomerId;
use credence_domain::ports::{AccountLedger, Precondition, ProductCatalog, TaskBoard};
use credence_domain::values::CreditLimit;
use credence_store::Store;
use credence_store::test_support::TestDb;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

mod common;
use common::{admission, at, data, eur, insert, store_for, until_someone_waits};

/// A PostgreSQL store with one funded customer; `None` when PostgreSQL is not configured.
async fn funded() -> Option<(TestDb, Store, CustomerId)> {
    let db = TestDb::postgres()?;
    let store = store_for(&db);
    let mut data = data(&store, "LOCKS", "Locks").await;
    data.credit_limit = CreditLimit::from_minor_units(100_000, eur()).unwrap();
    let customer = insert(&store, data, at(0)).await;
    Some((db, store, customer.id))
}

/// A connection holding the account's row lock in an open transaction.
fn hold_account(db: &TestDb, account: CustomerId) -> PgConnection {
    let mut holder = PgConnection::establish(db.url()).unwrap();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT customer_id FROM accounts WHERE customer_id = {} FOR NO KEY UPDATE",
            account.get()
        ))
        .unwrap();
    holder
}

/// Whether `table`'s row `id` can be locked at once by the holder (nobody else holds it).
fn is_free(holder: &mut PgConnection, table: &str, id: i64) -> bool {
    holder
        .batch_execute(&format!(
            "SAVEPOINT probe; SELECT id FROM {table} WHERE id = {id} FOR UPDATE NOWAIT"
        ))
        .map(|()| holder.batch_execute("RELEASE SAVEPOINT probe").unwrap())
        .map_err(|_| holder.batch_execute("ROLLBACK TO SAVEPOINT probe").unwrap())
        .is_ok()
}

/// Runs `operation` while the account is held and checks it took nothing else first.
async fn account_first<F, T>(db: &TestDb, account: CustomerId, rows: &[(&str, i64)], operation: F)
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut holder = hold_account(db, account);
    let running = tokio::spawn(operation);
    until_someone_waits(db);
    for (table, id) in rows {
        assert!(
            is_free(&mut holder, table, *id),
            "{table} {id} was locked before its account"
        );
    }
    holder.batch_execute("ROLLBACK").unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the operation finishes once the account is free")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_and_release_lock_the_account_first() {
    let Some((db, store, id)) = funded().await else {
        return;
    };
    for capture in [true, false] {
        let reservation = store
            .admit(&admission(id, 100, 1, 3600), Precondition::none())
            .await
            .unwrap();
        let rid = reservation.id;
        let op_store = store.clone();
        account_first(&db, id, &[("reservations", rid.0)], async move {
            if capture {
                op_store
                    .capture(id, rid, None, None, at(2), None, Precondition::none())
                    .await
            } else {
                op_store
                    .release(id, rid, None, at(2), None, Precondition::none())
                    .await
            }
            .unwrap()
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_locks_the_account_first() {
    let Some((db, store, id)) = funded().await else {
        return;
    };
    let reservation = store
        .admit(&admission(id, 100, 1, 5), Precondition::none())
        .await
        .unwrap();
    let op_store = store.clone();
    account_first(&db, id, &[("reservations", reservation.id.0)], async move {
        assert_eq!(op_store.sweep_expired(at(10), 10).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_locks_the_account_before_it_expires_reservations() {
    let Some((db, store, id)) = funded().await else {
        return;
    };
    let due = store
        .admit(&admission(id, 100, 1, 5), Precondition::none())
        .await
        .unwrap();
    let op_store = store.clone();
    account_first(&db, id, &[("reservations", due.id.0)], async move {
        op_store
            .admit(&admission(id, 100, 10, 3600), Precondition::none())
            .await
            .unwrap();
    })
    .await;
    let closed = store
        .reservations(
            id,
            credence_domain::credit::ReservationFilter::default(),
            credence_domain::listing::PageRequest::new(None, None).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        closed
            .items
            .iter()
            .any(|r| r.id == due.id && r.status.as_str() == "expired"),
        "the admission expired the due reservation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_moves_lock_the_account_first() {
    let Some((db, store, id)) = funded().await else {
        return;
    };
    let product = ProductCode::new("text").unwrap();
    let (priced, _) = store
        .save_product(
            &product,
            &ProductDraft {
                titles: Default::default(),
                descriptions: Default::default(),
                available: true,
                price: Money::from_minor(100, eur()),
                attributes: Vec::new(),
            },
            Precondition::none(),
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    store
        .save_template(
            id,
            "t1",
            &TemplateDraft {
                name: "One".to_owned(),
                titles: Default::default(),
                descriptions: Default::default(),
                product: product.clone(),
                attributes: Vec::new(),
            },
            Precondition::none(),
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    for to in [TaskState::Finished, TaskState::Cancelled] {
        let task = store
            .submit(
                &TaskDraft {
                    customer: id,
                    customer_ref: None,
                    template: "t1".to_owned(),
                    product: priced.clone(),
                    input: Vec::new(),
                    quantity: 1,
                },
                &admission(id, 100, 1, 3600),
            )
            .await
            .unwrap();
        let op_store = store.clone();
        let rows = [("tasks", task.id.0), ("reservations", task.reservation.0)];
        account_first(&db, id, &rows, async move {
            op_store
                .move_task(task.id, TaskState::Submitted, to, None, at(2))
                .await
                .unwrap()
        })
        .await;
    }
}
