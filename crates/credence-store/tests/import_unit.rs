//! The import's unit of work, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: calls through its ports see each other's writes
//! before the commit and nobody else does; an undone mark drops only what followed it; a
//! rollback, or a unit dropped without an end, writes nothing; a failed call inside it
//! leaves the rest usable; an optimistic unit is spoiled exactly when a line must be undone
//! after it wrote.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use credence_domain::customers::CustomerKey;
use credence_domain::ports::{
    CustomerRepository, ImportUnits, Marks, NewCustomer, Precondition, WriteError,
};
use credence_store::Store;
use uuid::Uuid;

mod common;
use common::{at, data, eur, store_for};

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

/// What a script of writes left behind, as the ports show it: every event (the feed's
/// order, with sequence numbers and references), what searches find, each account's
/// credit-limit history.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<(String, String, i64, String)>,
    /// Per query, the references found and their scores.
    found: Vec<(String, Vec<(String, u32)>)>,
    limits: Vec<Vec<(Option<i64>, i64)>>,
    /// Mid-string name filters (SQLite's substring index): the references and the total.
    within: Vec<(String, Vec<String>, u64)>,
}

/// Customers `A` (written before the unit), `B` and `C` (created in it); `A` updated twice in
/// it, its limit and name changed, and paid; each write between a mark and its keep, as an
/// import's lines are. UUIDs and times are fixed, so two fresh stores given the same script
/// end in the same rows.
async fn script(store: &Store, marks: Marks) -> Outcome {
    use credence_domain::credit::{EntryKind, Money};
    use credence_domain::customers::search::{SearchQuery, SearchTerms};
    use credence_domain::customers::{CustomerFilter, CustomerQuery};
    use credence_domain::events::{EventFeed, EventId};
    use credence_domain::listing::{PageRequest, TextPattern};
    use credence_domain::ports::{DocumentLinks, Posting};
    use credence_domain::values::{CreditLimit, CustomerName};
    use rust_decimal::Decimal;

    let mut a = new_customer(store, "A").await;
    a.uuid = Uuid::from_u128(1);
    a.data.name = CustomerName::new("A one").unwrap();
    let a = store.insert(&a).await.unwrap();

    let unit = store.begin(marks).await.unwrap();
    let customers = unit.customers();
    let mut b = new_customer(store, "B").await;
    b.uuid = Uuid::from_u128(2);
    b.data.name = CustomerName::new("Bravo").unwrap();
    unit.mark().await.unwrap();
    customers.insert(&b).await.unwrap();
    unit.keep().await.unwrap();

    let mut changed = a.data.clone();
    changed.name = CustomerName::new("A two").unwrap();
    changed.credit_limit = CreditLimit::new(Decimal::new(50_000, 2), eur()).unwrap();
    unit.mark().await.unwrap();
    let once = customers
        .update(
            a.id,
            a.revision,
            &changed,
            &DocumentLinks::none(),
            None,
            at(1),
        )
        .await
        .unwrap()
        .unwrap();
    unit.keep().await.unwrap();
    changed.name = CustomerName::new("A three").unwrap();
    unit.mark().await.unwrap();
    customers
        .update(
            a.id,
            once.revision,
            &changed,
            &DocumentLinks::none(),
            None,
            at(2),
        )
        .await
        .unwrap()
        .unwrap();
    unit.keep().await.unwrap();

    unit.mark().await.unwrap();
    unit.ledger()
        .post(
            &Posting {
                account: a.id,
                kind: EntryKind::Payment,
                balance_delta: Money::from_minor(1_234, eur()),
                description: None,
                user: None,
                now: at(3),
                idempotency: None,
            },
            Precondition::none(),
        )
        .await
        .unwrap();
    unit.keep().await.unwrap();

    let mut c = new_customer(store, "C").await;
    c.uuid = Uuid::from_u128(3);
    c.data.name = CustomerName::new("Charlie").unwrap();
    unit.mark().await.unwrap();
    customers.insert(&c).await.unwrap();
    unit.keep().await.unwrap();
    assert!(!unit.spoiled().await.unwrap());
    unit.commit().await.unwrap();

    // By id: PostgreSQL's feed holds back events while any transaction older than them
    // runs, and other tests' run on the same server.
    let mut events = Vec::new();
    for id in 1.. {
        let Some(e) = store.event(EventId(id)).await.unwrap() else {
            break;
        };
        events.push((
            e.kind.to_string(),
            e.customer_reference,
            e.sequence,
            e.object,
        ));
    }
    let mut found = Vec::new();
    for q in ["two", "three", "A", "B", "C", "one"] {
        let page = store
            .search(&SearchQuery {
                terms: SearchTerms::parse(q).unwrap(),
                include_inactive: false,
                within: None,
                page: PageRequest::default(),
            })
            .await
            .unwrap();
        let hits = page
            .items
            .iter()
            .map(|hit| (hit.customer.data.reference.as_str().to_owned(), hit.score))
            .collect();
        found.push((q.to_owned(), hits));
    }
    let limits = (1..=3)
        .map(|id| credence_store::test_support::credit_limit_history(store.database(), id))
        .collect();
    let mut within = Vec::new();
    for pattern in ["*one*", "*two*", "*three*", "*ravo*", "*harli*"] {
        let page = store
            .list(&CustomerQuery {
                filter: CustomerFilter {
                    name: Some(TextPattern::parse(pattern)),
                    ..CustomerFilter::default()
                },
                ..CustomerQuery::default()
            })
            .await
            .unwrap();
        let references = page
            .items
            .iter()
            .map(|c| c.data.reference.as_str().to_owned())
            .collect();
        within.push((pattern.to_owned(), references, page.total));
    }
    Outcome {
        events,
        found,
        limits,
        within,
    }
}

/// The rows an optimistic unit holds back and writes together at the end (search terms,
/// limit history, events) are the rows a unit with savepoints writes as it goes.
async fn an_optimistic_unit_writes_what_a_unit_with_savepoints_writes(
    db: credence_store::test_support::TestDb,
) {
    let other = if db.url().starts_with("postgres") {
        credence_store::test_support::TestDb::postgres().unwrap()
    } else {
        credence_store::test_support::TestDb::sqlite()
    };
    let saved = script(&store_for(&db), Marks::Savepoints).await;
    let held = script(&store_for(&other), Marks::Optimistic).await;
    assert_eq!(held, saved);
    let sequences: Vec<(&str, i64)> = saved
        .events
        .iter()
        .map(|(_, reference, sequence, _)| (reference.as_str(), *sequence))
        .collect();
    assert!(sequences.contains(&("A", 4)), "{sequences:?}");
    assert_eq!(
        saved.found[0],
        ("two".to_owned(), Vec::new()),
        "old terms are gone"
    );
    assert_eq!(saved.found[1].1.len(), 1, "one customer, its terms once");
    assert_eq!(saved.found[1].1[0].0, "A");
    assert_eq!(
        saved.found[5],
        ("one".to_owned(), Vec::new()),
        "the terms of the name before the unit are gone"
    );
    assert_eq!(saved.limits[0].len(), 2, "{:?}", saved.limits);
    let within = |pattern: &str, references: &[&str]| {
        (
            pattern.to_owned(),
            references.iter().map(|r| (*r).to_owned()).collect(),
            references.len() as u64,
        )
    };
    assert_eq!(
        saved.within,
        [
            within("*one*", &[]),
            within("*two*", &[]),
            within("*three*", &["A"]),
            within("*ravo*", &["B"]),
            within("*harli*", &["C"]),
        ],
        "a name is found by its substrings, former names no longer"
    );
}

/// A unit that read a customer ahead without children, then gave it some, deletes them when
/// a later line takes them away (the unit spares the delete only while it knows there is
/// nothing to delete).
async fn a_unit_clears_the_children_it_gave_a_customer_read_ahead_without(store: Store) {
    use credence_domain::customers::Contact;
    use credence_domain::ports::DocumentLinks;
    use credence_domain::values::Email;

    let bare = store
        .insert(&new_customer(&store, "BARE").await)
        .await
        .unwrap();
    let unit = store.begin(Marks::Optimistic).await.unwrap();
    let read = unit
        .customers_by_reference(&["BARE".to_owned()])
        .await
        .unwrap();
    assert!(read[0].data.contacts.is_empty());
    let customers = unit.customers();
    let mut data = bare.data.clone();
    data.contacts = vec![Contact {
        name: None,
        email: Some(Email::new("bare@example.com").unwrap()),
        phone: None,
    }];
    let update = |revision, data, seconds| {
        let customers = customers.clone();
        async move {
            customers
                .update(
                    bare.id,
                    revision,
                    &data,
                    &DocumentLinks::none(),
                    None,
                    at(seconds),
                )
                .await
                .unwrap()
                .unwrap()
        }
    };
    let given = update(read[0].revision, data.clone(), 1).await;
    assert_eq!(given.data.contacts.len(), 1);
    data.contacts.clear();
    let taken = update(given.revision, data, 2).await;
    assert!(taken.data.contacts.is_empty());
    assert!(!unit.spoiled().await.unwrap());
    unit.commit().await.unwrap();
    let stored = store.get(&CustomerKey::Id(bare.id)).await.unwrap().unwrap();
    assert!(
        stored.data.contacts.is_empty(),
        "{:?}",
        stored.data.contacts
    );
}

/// On PostgreSQL a unit begins by analyzing a table an import grows once its rows changed
/// by more than it held: filled from empty, it has no statistics until autovacuum gets to
/// it, and the planner guesses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_begins_by_analyzing_a_table_that_grew() {
    use credence_store::test_support::{TestDb, analyses, execute};
    let Some(db) = TestDb::postgres() else { return };
    let store = store_for(&db);
    let customer = store
        .insert(&new_customer(&store, "GROWN").await)
        .await
        .unwrap();
    let unit = store.begin(Marks::Optimistic).await.unwrap();
    unit.rollback().await.unwrap();
    let before = analyses(db.database(), "customer_terms");
    assert_eq!(before, 0, "a few terms are no reason to analyze");
    // The statistics reach the server's shared memory before this returns.
    execute(
        db.database(),
        &format!(
            "INSERT INTO customer_terms (token, is_active, customer_id, weight) \
             SELECT 'grown' || g, true, {}, 1 FROM generate_series(1, 1500) g; \
             SELECT pg_stat_force_next_flush()",
            customer.id.get()
        ),
    );
    let unit = store.begin(Marks::Optimistic).await.unwrap();
    unit.rollback().await.unwrap();
    assert_eq!(analyses(db.database(), "customer_terms"), before + 1);
    let unit = store.begin(Marks::Optimistic).await.unwrap();
    unit.rollback().await.unwrap();
    assert_eq!(
        analyses(db.database(), "customer_terms"),
        before + 1,
        "analyzed once"
    );
}

credence_store::on_both_stores!(
    a_unit_commits_what_it_kept_and_nothing_it_undid,
    a_rolled_back_or_dropped_unit_writes_nothing,
    a_failed_first_write_after_a_mark_leaves_the_mark_usable,
    an_optimistic_unit_is_spoiled_only_by_undoing_a_write,
    customers_are_read_by_reference_in_one_call,
    a_unit_clears_the_children_it_gave_a_customer_read_ahead_without;
    an_optimistic_unit_writes_what_a_unit_with_savepoints_writes,
);
