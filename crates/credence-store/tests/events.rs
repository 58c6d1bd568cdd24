//! The outbox's contract, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: every committed change has exactly one event, in its
//! customer's order with no gaps; a rolled-back change and an idempotent replay have none;
//! and a reader paging the feed sees every event once while writers on several replicas
//! commit out of id order.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use credence_domain::credit::{EntryKind, Money};
use credence_domain::customers::Customer;
use credence_domain::documents::{Document, DocumentContent, ExternalUrl, FileName, MimeType};
use credence_domain::events::{Event, EventFeed, EventId, EventQuery, EventType, TypePattern};
use credence_domain::ids::CustomerId;
use credence_domain::ports::{
    AccountLedger, AdmitError, CustomerRepository, DocumentLinks, Posting, Precondition, WriteError,
};
use credence_domain::values::CreditLimit;
use credence_store::test_support::TestDb;
use credence_store::{Database, PoolOptions, Store};
use uuid::Uuid;

mod common;
use common::{admission, at, customer, data, eur, store_for, try_insert_with, update};

async fn add_with(
    store: &Store,
    reference: &str,
    links: DocumentLinks,
) -> Result<Customer, WriteError> {
    let data = data(store, reference, reference).await;
    try_insert_with(store, data, at(0), links).await
}

fn posting(account: CustomerId, kind: EntryKind, minor: i64, tag: Option<&str>) -> Posting {
    Posting {
        account,
        kind,
        balance_delta: Money::from_minor(minor, eur()),
        description: Some(kind.as_str().to_owned()),
        user: None,
        now: at(10),
        idempotency: tag.map(str::to_owned),
    }
}

fn link(url: &str) -> Document {
    Document {
        uuid: Uuid::new_v4(),
        file_name: FileName::from_trusted("contract.pdf".to_owned()),
        mime_type: MimeType::from_trusted("application/pdf".to_owned()),
        description: None,
        internal: false,
        content: DocumentContent::External {
            url: ExternalUrl::from_trusted(url.to_owned()),
            thumb_url: None,
        },
        creator: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

/// The `expected` events of the query, in the feed's order, read in pages of `max`; then
/// checks that no further one follows. The feed shows an event once every transaction older
/// than its own has ended, on PostgreSQL anywhere in the cluster (other tests' databases
/// too), so this waits for them, up to a generous bound.
async fn settled(store: &Store, query: EventQuery, expected: usize) -> Vec<Event> {
    let mut all = Vec::new();
    let mut query = query;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while all.len() < expected {
        let page = store.events(&query).await.unwrap();
        match page.last() {
            Some(last) => query.after = Some(last.id),
            None => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {} of {expected} events: {:?}",
                    all.len(),
                    kinds(&all)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        all.extend(page);
    }
    let more = store.events(&query).await.unwrap();
    assert!(more.is_empty(), "more events than expected: {more:?}");
    all
}

fn everything() -> EventQuery {
    EventQuery {
        after: None,
        types: Vec::new(),
        customer: None,
        within: None,
        max: 100,
    }
}

fn of(customer: CustomerId) -> EventQuery {
    EventQuery {
        customer: Some(customer),
        ..everything()
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn assert_sequences_from_one(events: &[Event]) {
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<i64> = (1..=i64::try_from(events.len()).unwrap()).collect();
    assert_eq!(sequences, expected, "{:?}", kinds(events));
}

// ---------------------------------------------------------------------------------------

/// Each change of the list writes one event, in the order of the changes, numbered 1, 2, 3...
/// for its customer; an idempotent replay writes none.
async fn every_change_writes_one_event_in_order(store: Store) {
    let acme = customer(&store, "acme").await;
    let other = customer(&store, "other").await;
    let id = acme.id;
    store
        .post(
            &posting(id, EntryKind::Payment, 10_000, Some("pay-1")),
            Precondition::none(),
        )
        .await
        .unwrap();
    // The replay answers the first entry and writes nothing.
    store
        .post(
            &posting(id, EntryKind::Payment, 10_000, Some("pay-1")),
            Precondition::none(),
        )
        .await
        .unwrap();
    store
        .post(
            &posting(id, EntryKind::Charge, -2_000, None),
            Precondition::none(),
        )
        .await
        .unwrap();
    store
        .post(
            &posting(id, EntryKind::Adjustment, 500, None),
            Precondition::none(),
        )
        .await
        .unwrap();
    let limit = CreditLimit::from_minor_units(5_000, eur()).unwrap();
    store
        .set_credit_limit(id, limit, None, None, at(15), Precondition::none())
        .await
        .unwrap();
    // The same limit again changes nothing and writes nothing.
    store
        .set_credit_limit(id, limit, None, None, at(16), Precondition::none())
        .await
        .unwrap();
    let captured = store
        .admit(&admission(id, 1_000, 20, 3_600), Precondition::none())
        .await
        .unwrap();
    store
        .capture(
            id,
            captured.id,
            None,
            None,
            at(30),
            None,
            Precondition::none(),
        )
        .await
        .unwrap();
    let released = store
        .admit(&admission(id, 1_000, 20, 3_600), Precondition::none())
        .await
        .unwrap();
    store
        .release(id, released.id, None, at(31), None, Precondition::none())
        .await
        .unwrap();
    store
        .admit(&admission(id, 1_000, 20, 25), Precondition::none())
        .await
        .unwrap();
    assert_eq!(store.sweep_expired(at(40), 10).await.unwrap(), 1);
    let refused = store
        .admit(&admission(id, 1_000_000, 20, 3_600), Precondition::none())
        .await;
    assert!(
        matches!(refused, Err(AdmitError::Refused(_))),
        "{refused:?}"
    );
    // The limit set above moved the customer's revision on: a write reads it again.
    let acme = CustomerRepository::get(&store, &credence_domain::customers::CustomerKey::Id(id))
        .await
        .unwrap()
        .unwrap();
    let mut changed = acme.data.clone();
    changed.name = credence_domain::values::CustomerName::new("Acme Renamed").unwrap();
    update(&store, id, acme.revision, &changed, at(50))
        .await
        .unwrap()
        .unwrap();
    let docs = store.documents();
    let contract = link("https://example.com/contract.pdf");
    docs.insert(&contract).await.unwrap();
    docs.attach(id, contract.uuid, 10, at(60)).await.unwrap();
    assert!(docs.detach(id, contract.uuid, at(61)).await.unwrap());
    assert!(!docs.detach(id, contract.uuid, at(62)).await.unwrap());
    assert!(
        CustomerRepository::archive(&store, other.id, None, at(70))
            .await
            .unwrap()
    );

    let events = settled(&store, of(id), 15).await;
    assert_eq!(
        kinds(&events),
        [
            "customer.created",
            "account.payment",
            "account.charge",
            "account.adjustment",
            "account.credit_limit_changed",
            "reservation.admitted",
            "reservation.captured",
            "reservation.admitted",
            "reservation.released",
            "reservation.admitted",
            "reservation.expired",
            "reservation.refused",
            // Read after the limit was set, the update leaves the limit as it is.
            "customer.updated",
            "document.attached",
            "document.detached",
        ]
    );
    assert_sequences_from_one(&events);
    assert!(
        events
            .iter()
            .all(|e| e.customer == id && e.customer_reference == "acme")
    );
    let (created, admitted) = (&events[0], &events[5]);
    assert_eq!(
        created.object,
        format!("{{\"object\":\"customer\",\"id\":{}}}", id.get())
    );
    assert_eq!(
        admitted.object,
        format!("{{\"object\":\"reservation\",\"id\":{}}}", captured.id.0)
    );
    assert_eq!(
        store.event(admitted.id).await.unwrap().as_ref(),
        Some(admitted)
    );
    assert_eq!(store.event(EventId(i64::MAX)).await.unwrap(), None);

    let deleted = settled(&store, of(other.id), 2).await;
    assert_eq!(kinds(&deleted), ["customer.created", "customer.deleted"]);
    assert_sequences_from_one(&deleted);

    // Filters: types (exact and by family), and a page that starts after an event.
    let reservations = EventQuery {
        types: vec![TypePattern::parse("reservation.*").unwrap()],
        ..everything()
    };
    let reservations = settled(&store, reservations, 7).await;
    assert!(
        reservations
            .iter()
            .all(|e| e.kind.as_str().starts_with("reservation."))
    );
    let created = EventQuery {
        types: vec![TypePattern::Exact(EventType::CustomerCreated)],
        ..everything()
    };
    assert_eq!(
        kinds(&settled(&store, created, 2).await),
        ["customer.created"; 2]
    );
    let all = settled(&store, everything(), 17).await;
    let after_fifth = EventQuery {
        after: Some(all[4].id),
        max: 3,
        ..everything()
    };
    assert_eq!(settled(&store, after_fifth, 12).await, all[5..]);
}

/// A change whose transaction rolls back after its events were written leaves none of them;
/// the next committed change of that customer takes the next number.
async fn a_rolled_back_change_leaves_no_event(store: Store) {
    let acme = customer(&store, "acme").await;
    let docs = store.documents();
    let first = link("https://example.com/a.pdf");
    let second = link("https://example.com/b.pdf");
    docs.insert(&first).await.unwrap();
    docs.insert(&second).await.unwrap();
    // Both links are attached (with their events) before the limit of one refuses the write.
    let mut links = DocumentLinks::none();
    links.existing = vec![first.uuid, second.uuid];
    links.max_per_customer = 1;
    let refused = CustomerRepository::update(
        &store,
        acme.id,
        acme.revision,
        &acme.data,
        &links,
        None,
        at(5),
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
    let refused_insert = add_with(&store, "acme", DocumentLinks::none()).await;
    assert!(matches!(
        refused_insert,
        Err(WriteError::DuplicateReference)
    ));
    store
        .post(
            &posting(acme.id, EntryKind::Payment, 100, None),
            Precondition::none(),
        )
        .await
        .unwrap();
    let events = settled(&store, everything(), 2).await;
    assert_eq!(kinds(&events), ["customer.created", "account.payment"]);
    assert_sequences_from_one(&events);
}

/// A movement that takes `available` below a threshold writes one
/// `account.threshold_crossed` in its own transaction, after the movement's event; further
/// movements below it write none until `available` is back at or above it.
async fn an_alert_fires_once_per_crossing_and_rearms(store: Store) {
    let id = customer(&store, "alerted").await.id;
    let eur_minor = |minor| Money::from_minor(minor, eur());
    store
        .post(
            &posting(id, EntryKind::Payment, 200_000, None),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert!(
        store
            .set_alerts(id, &[eur_minor(100_000), eur_minor(10_000)])
            .await
            .unwrap()
    );
    assert_eq!(
        store.alerts(id).await.unwrap(),
        Some(vec![eur_minor(100_000), eur_minor(10_000)])
    );
    for (kind, minor) in [
        (EntryKind::Charge, -150_000), // 2000 -> 500: crosses 1000
        (EntryKind::Charge, -10_000),  // 500 -> 400: nothing
        (EntryKind::Charge, -35_000),  // 400 -> 50: crosses 100
        (EntryKind::Payment, 200_000), // 50 -> 2050: both armed again
        (EntryKind::Charge, -110_000), // 2050 -> 950: crosses 1000 again
    ] {
        store
            .post(&posting(id, kind, minor, None), Precondition::none())
            .await
            .unwrap();
    }
    let events = settled(&store, of(id), 10).await;
    let crossed: Vec<(usize, &str)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EventType::AccountThresholdCrossed)
        .map(|(n, e)| (n, e.object.as_str()))
        .collect();
    assert_eq!(
        crossed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [3, 6, 9],
        "{:?}",
        kinds(&events)
    );
    // Each crossing follows its movement, and carries it.
    for (n, object) in &crossed {
        assert_eq!(events[n - 1].kind.as_str(), "account.charge");
        let movement = events[n - 1].object.replace("ledger_entry", "threshold");
        assert_eq!(*object, movement);
    }
    assert_sequences_from_one(&events);
    assert!(store.set_alerts(id, &[]).await.unwrap());
    assert_eq!(store.alerts(id).await.unwrap(), Some(vec![]));
    assert_eq!(store.alerts(CustomerId(i64::MAX)).await.unwrap(), None);
}

/// Events past their retention are removed, oldest first, in bounded batches; a customer's
/// numbering goes on where it was (a reader never sees a number twice).
async fn old_events_are_purged_and_numbering_goes_on(store: Store) {
    let id = customer(&store, "kept").await.id; // its customer.created is written at(0)
    store
        .post(
            &posting(id, EntryKind::Payment, 1, None),
            Precondition::none(),
        ) // at(10)
        .await
        .unwrap();
    settled(&store, everything(), 2).await;
    assert_eq!(
        store.purge(at(5), 10).await.unwrap(),
        1,
        "only the older one"
    );
    assert_eq!(store.purge(at(5), 10).await.unwrap(), 0);
    assert_eq!(store.purge(at(11), 10).await.unwrap(), 1);
    let mut late = posting(id, EntryKind::Payment, 1, None);
    late.now = at(20);
    store.post(&late, Precondition::none()).await.unwrap();
    let events = settled(&store, everything(), 1).await;
    assert_eq!(events[0].sequence, 3, "{events:?}");
}

/// Writers on three replicas (stores with pools of their own over one database) post
/// concurrently while a reader pages the feed with `after`: the reader sees every event
/// exactly once, and each customer's in its order.
async fn a_paging_reader_sees_every_event_once_while_replicas_write(db: TestDb) {
    db.database().ensure_organization_currency(eur()).unwrap();
    let replicas: Vec<Store> = (0..3)
        .map(|_| Store::new(Database::connect(db.url(), PoolOptions::default()).unwrap()))
        .collect();
    let mut customers = Vec::new();
    for n in 0..6 {
        customers.push(customer(&replicas[0], &format!("c{n}")).await.id);
    }
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let store = replicas[w % 3].clone();
            let customers = customers.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let customer = customers[(w + i) % customers.len()];
                    store
                        .post(
                            &posting(customer, EntryKind::Payment, 1, None),
                            Precondition::none(),
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let reader = replicas[1].clone();
    let mut seen = Vec::new();
    let mut query = EventQuery {
        max: 7,
        ..everything()
    };
    let expected = 6 + 150;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < expected && tokio::time::Instant::now() < deadline {
        let page = reader.events(&query).await.unwrap();
        if let Some(last) = page.last() {
            query.after = Some(last.id);
        }
        seen.extend(page);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let all = settled(&reader, everything(), expected).await;
    assert_reads_each_event_once(&seen, &all);
}

fn assert_reads_each_event_once(seen: &[Event], all: &[Event]) {
    let ids: Vec<EventId> = seen.iter().map(|e| e.id).collect();
    let unique: BTreeSet<EventId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event was read twice");
    let every: BTreeSet<EventId> = all.iter().map(|e| e.id).collect();
    assert_eq!(unique, every, "the reader missed an event");
    let mut last: BTreeMap<CustomerId, i64> = BTreeMap::new();
    for event in seen {
        let previous = last.insert(event.customer, event.sequence).unwrap_or(0);
        assert_eq!(event.sequence, previous + 1, "{event:?}");
    }
}

/// PostgreSQL commits out of id order: a transaction that took its id first can commit last.
/// Here writer A moves money (so its transaction exists) and then waits for the lock of its
/// customer's event counter, held by the test; writer B commits an event meanwhile. The feed
/// must not show B's event ahead of A's: a reader that did would move its cursor past A's,
/// and never see it.
async fn a_late_commit_is_not_skipped(db: TestDb) {
    use diesel::prelude::*;
    let store = store_for(&db);
    let a = customer(&store, "a").await.id;
    let b = customer(&store, "b").await.id;
    let mut cursor = settled(&store, everything(), 2).await;
    let mut lock = diesel::PgConnection::establish(db.url()).unwrap();
    diesel::sql_query("BEGIN").execute(&mut lock).unwrap();
    diesel::sql_query(format!(
        "SELECT last FROM event_sequences WHERE customer_id = {} FOR UPDATE",
        a.get()
    ))
    .execute(&mut lock)
    .unwrap();
    let writer_a = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .post(
                    &posting(a, EntryKind::Payment, 1, None),
                    Precondition::none(),
                )
                .await
        })
    };
    // A has updated its account (its transaction has an id) and waits on the counter.
    tokio::time::sleep(Duration::from_millis(300)).await;
    store
        .post(
            &posting(b, EntryKind::Payment, 1, None),
            Precondition::none(),
        )
        .await
        .unwrap();
    let early = store
        .events(&EventQuery {
            after: cursor.last().map(|e| e.id),
            ..everything()
        })
        .await
        .unwrap();
    assert!(
        early.is_empty(),
        "shown before an older transaction ended: {early:?}"
    );
    diesel::sql_query("COMMIT").execute(&mut lock).unwrap();
    writer_a.await.unwrap().unwrap();
    let after = EventQuery {
        after: cursor.last().map(|e| e.id),
        ..everything()
    };
    cursor.extend(settled(&store, after, 2).await);
    assert_eq!(
        cursor.iter().map(|e| e.customer).collect::<Vec<_>>(),
        [a, b, a, b],
        "{cursor:?}"
    );
}

credence_store::on_both_stores!(
    every_change_writes_one_event_in_order,
    a_rolled_back_change_leaves_no_event,
    an_alert_fires_once_per_crossing_and_rearms,
    old_events_are_purged_and_numbering_goes_on;
    a_paging_reader_sees_every_event_once_while_replicas_write,
);

/// Only PostgreSQL commits out of id order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_not_skipped_on_postgres() {
    let Some(db) = TestDb::postgres() else { return };
    a_late_commit_is_not_skipped(db).await;
}
