//! The import's unit of work, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: calls through its ports see each other's writes
//! before the commit and nobody else does; an undone mark drops only what followed it; a
//! rollback, or a unit dropped without an end, writes nothing; a failed call inside it
//! leaves the rest usable; an optimistic unit is spoiled exactly when a line must be undone
//! after it wrote.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use credence_domain::customers::CustomerKey;
use credence_domain::ports::{CustomerRepository, ImportUnits, Marks, NewCustomer, WriteError};
use credence_store::Store;
use uuid::Uuid;

mod common;
use common::{at, data, store_for};

async fn new_customer(store: &Store, reference: &str) -> NewCustomer {
    NewCustomer {
        uuid: Uuid::new_v4(),
        data: data(store, reference, reference).await,
        now: at(0),
        links: credence_domain::ports::DocumentLinks::none(),
    }
}

async fn exists(repo: &dyn CustomerRepository, reference: &str) -> bool {
    repo.get(&CustomerKey::Reference(reference.to_owned()))
        .await
        .unwrap()
        .is_some()
}

async fn a_unit_commits_what_it_kept_and_nothing_it_undid(store: Store) {
    let unit = store.begin(Marks::Savepoints).await.unwrap();
    let customers = unit.customers();
    unit.mark().await.unwrap();
    customers
        .insert(&new_customer(&store, "KEPT").await)
        .await
        .unwrap();
    unit.keep().await.unwrap();
    unit.mark().await.unwrap();
    customers
        .insert(&new_customer(&store, "UNDONE").await)
        .await
        .unwrap();
    assert!(
        exists(customers.as_ref(), "UNDONE").await,
        "the unit reads its own writes"
    );
    unit.undo().await.unwrap();
    // A call that fails inside the unit (a taken reference) undoes itself alone.
    let duplicate = customers.insert(&new_customer(&store, "KEPT").await).await;
    assert!(matches!(duplicate, Err(WriteError::DuplicateReference)));
    assert!(exists(customers.as_ref(), "KEPT").await);
    assert!(!exists(customers.as_ref(), "UNDONE").await);
    assert!(
        !exists(&store, "KEPT").await,
        "nobody else sees it before the commit"
    );
    unit.commit().await.unwrap();
    assert!(exists(&store, "KEPT").await);
    assert!(!exists(&store, "UNDONE").await);
    assert!(
        unit.mark().await.is_err() || unit.commit().await.is_err(),
        "an ended unit is closed"
    );
}

async fn a_rolled_back_or_dropped_unit_writes_nothing(store: Store) {
    let unit = store.begin(Marks::Savepoints).await.unwrap();
    unit.customers()
        .insert(&new_customer(&store, "ROLLED").await)
        .await
        .unwrap();
    unit.rollback().await.unwrap();
    assert!(!exists(&store, "ROLLED").await);

    let unit = store.begin(Marks::Savepoints).await.unwrap();
    unit.customers()
        .insert(&new_customer(&store, "DROPPED").await)
        .await
        .unwrap();
    drop(unit);
    // The unit's thread rolls back once every handle is gone; the write lock comes free,
    // so the next unit can begin and commit.
    let next = store.begin(Marks::Savepoints).await.unwrap();
    next.customers()
        .insert(&new_customer(&store, "AFTER").await)
        .await
        .unwrap();
    next.commit().await.unwrap();
    assert!(!exists(&store, "DROPPED").await);
    assert!(exists(&store, "AFTER").await);
}

/// A mark becomes a savepoint only when a write follows it, and the first write after it
/// uses it: when that write fails, the unit returns to the mark, which still holds for the
/// line's next writes (on PostgreSQL the failed statement does not spoil the transaction).
async fn a_failed_first_write_after_a_mark_leaves_the_mark_usable(store: Store) {
    let setup = store.begin(Marks::Savepoints).await.unwrap();
    setup
        .customers()
        .insert(&new_customer(&store, "TAKEN").await)
        .await
        .unwrap();
    setup.commit().await.unwrap();

    let unit = store.begin(Marks::Savepoints).await.unwrap();
    let customers = unit.customers();
    // Marks with nothing written after them cost nothing and end cleanly.
    unit.mark().await.unwrap();
    assert!(!exists(customers.as_ref(), "NOTHING").await);
    unit.keep().await.unwrap();
    unit.mark().await.unwrap();
    unit.undo().await.unwrap();

    unit.mark().await.unwrap();
    let duplicate = customers.insert(&new_customer(&store, "TAKEN").await).await;
    assert!(matches!(duplicate, Err(WriteError::DuplicateReference)));
    customers
        .insert(&new_customer(&store, "SECOND").await)
        .await
        .unwrap();
    customers
        .insert(&new_customer(&store, "THIRD").await)
        .await
        .unwrap();
    unit.keep().await.unwrap();
    unit.mark().await.unwrap();
    customers
        .insert(&new_customer(&store, "DROPPED").await)
        .await
        .unwrap();
    let again = customers
        .insert(&new_customer(&store, "SECOND").await)
        .await;
    assert!(matches!(again, Err(WriteError::DuplicateReference)));
    assert!(
        exists(customers.as_ref(), "DROPPED").await,
        "a failed second write undoes itself alone"
    );
    unit.undo().await.unwrap();
    unit.commit().await.unwrap();
    assert!(exists(&store, "SECOND").await);
    assert!(exists(&store, "THIRD").await);
    assert!(!exists(&store, "DROPPED").await);
}

/// An optimistic unit sets no savepoints: lines kept, and lines undone before they wrote,
/// leave it unspoiled and its commit keeps what it wrote; a line undone after it wrote, or
/// a failed write, spoils it, every later call fails, and a rollback writes nothing.
async fn an_optimistic_unit_is_spoiled_only_by_undoing_a_write(store: Store) {
    let unit = store.begin(Marks::Optimistic).await.unwrap();
    let customers = unit.customers();
    unit.mark().await.unwrap();
    customers
        .insert(&new_customer(&store, "OPT-KEPT").await)
        .await
        .unwrap();
    unit.keep().await.unwrap();
    unit.mark().await.unwrap();
    assert!(!exists(customers.as_ref(), "OPT-NONE").await);
    unit.undo().await.unwrap();
    assert!(!unit.spoiled().await.unwrap(), "nothing written was undone");
    unit.commit().await.unwrap();
    assert!(exists(&store, "OPT-KEPT").await);

    let unit = store.begin(Marks::Optimistic).await.unwrap();
    let customers = unit.customers();
    unit.mark().await.unwrap();
    customers
        .insert(&new_customer(&store, "OPT-UNDONE").await)
        .await
        .unwrap();
    unit.undo().await.unwrap();
    assert!(unit.spoiled().await.unwrap(), "a write was undone");
    assert!(
        customers
            .get(&CustomerKey::Reference("OPT-KEPT".into()))
            .await
            .is_err(),
        "a spoiled unit runs nothing more"
    );
    unit.rollback().await.unwrap();
    assert!(!exists(&store, "OPT-UNDONE").await);

    let unit = store.begin(Marks::Optimistic).await.unwrap();
    let customers = unit.customers();
    unit.mark().await.unwrap();
    let duplicate = customers
        .insert(&new_customer(&store, "OPT-KEPT").await)
        .await;
    assert!(matches!(duplicate, Err(WriteError::DuplicateReference)));
    unit.undo().await.unwrap();
    assert!(unit.spoiled().await.unwrap(), "a write failed");
    unit.rollback().await.unwrap();

    let unit = store.begin(Marks::Savepoints).await.unwrap();
    unit.mark().await.unwrap();
    unit.customers()
        .insert(&new_customer(&store, "SAVED-UNDONE").await)
        .await
        .unwrap();
    unit.undo().await.unwrap();
    assert!(
        !unit.spoiled().await.unwrap(),
        "savepoints undo a line alone"
    );
    unit.rollback().await.unwrap();
}

/// The customers a batch names, read in one query, are those `get` finds one by one.
async fn customers_are_read_by_reference_in_one_call(store: Store) {
    let unit = store.begin(Marks::Savepoints).await.unwrap();
    let customers = unit.customers();
    let first = customers
        .insert(&new_customer(&store, "BY-REF-1").await)
        .await
        .unwrap();
    let second = customers
        .insert(&new_customer(&store, "BY-REF-2").await)
        .await
        .unwrap();
    let mut found = unit
        .customers_by_reference(&[
            "BY-REF-1".to_owned(),
            "BY-REF-2".to_owned(),
            "NONE".to_owned(),
        ])
        .await
        .unwrap();
    found.sort_by_key(|c| c.id);
    assert_eq!(found, vec![first.clone(), second]);
    assert_eq!(
        customers
            .get(&CustomerKey::Reference("BY-REF-1".into()))
            .await
            .unwrap(),
        Some(first)
    );
    assert!(unit.customers_by_reference(&[]).await.unwrap().is_empty());
    unit.rollback().await.unwrap();
}

credence_store::on_both_stores!(
    a_unit_commits_what_it_kept_and_nothing_it_undid,
    a_rolled_back_or_dropped_unit_writes_nothing,
    a_failed_first_write_after_a_mark_leaves_the_mark_usable,
    an_optimistic_unit_is_spoiled_only_by_undoing_a_write,
    customers_are_read_by_reference_in_one_call,
);
