//! The deliveries' contract, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: events are queued once for each enabled endpoint that
//! selects them and may see them; each customer's events are offered to an endpoint one at a
//! time, in order, a retry holding back the later ones; a lease keeps an attempt from a second
//! dispatcher until it lapses, and a lapsed claim cannot record; an endpoint whose last events
//! all failed is disabled; redelivery stays in the endpoint's scope; and dispatchers on several
//! replicas queue and claim at once without ever taking an attempt twice.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use credence_domain::credit::{EntryKind, Money};
use credence_domain::events::{EventFeed, EventId, EventQuery};
use credence_domain::ids::CustomerId;
use credence_domain::listing::PageRequest;
use credence_domain::ports::{AccountLedger, Posting, Precondition};
use credence_domain::webhooks::{
    AttemptReport, ClaimedDelivery, DeliveryStatus, DeliveryStore, EndpointChanges, EndpointId,
    EventSelection, NewEndpoint, SendOutcome, WebhookSecret, WebhookStore, WebhookUrl,
};
use credence_store::test_support::TestDb;
use credence_store::{Database, PoolOptions, Store};

mod common;
use common::{at, eur, store_for};

/// Far enough after every event's time that all attempts are due.
fn later(seconds: i64) -> DateTime<Utc> {
    at(1_000 + seconds)
}

async fn add(store: &Store, reference: &str) -> CustomerId {
    common::customer(store, reference).await.id
}

/// Whether a dispatcher claiming (up to 10, leased for 30 s) at `later(now)` finds nothing.
async fn nothing_to_claim(store: &Store, now: i64) -> bool {
    store
        .claim(10, later(now), later(now + 30))
        .await
        .unwrap()
        .is_empty()
}

async fn pay(store: &Store, account: CustomerId, kind: EntryKind, minor: i64) {
    store
        .post(
            &Posting {
                account,
                kind,
                balance_delta: Money::from_minor(minor, eur()),
                description: None,
                user: None,
                now: at(10),
                idempotency: None,
            },
            Precondition::none(),
        )
        .await
        .unwrap();
}

async fn endpoint(
    store: &Store,
    types: &[&str],
    owner: Option<CustomerId>,
    enabled: bool,
) -> EndpointId {
    store
        .create_endpoint(&NewEndpoint {
            url: WebhookUrl::new("https://203.0.113.10/hooks").unwrap(),
            types: EventSelection::parse(types).unwrap(),
            description: None,
            enabled,
            customer: owner,
            secret: WebhookSecret::from_random([7; 32]),
            now: at(-100),
        })
        .await
        .unwrap()
        .id
}

/// Queues until `events` events were read (the feed shows an event on PostgreSQL once every
/// older transaction in the cluster ended, so this waits for them); returns the deliveries.
async fn queue_all(store: &Store, events: u64) -> u64 {
    let (mut read, mut queued) = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while read < events {
        let round = store.queue(3, later(0)).await.unwrap();
        read += round.events;
        queued += round.deliveries;
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {read} of {events} events queued"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.queue(100, later(0)).await.unwrap().events, 0);
    queued
}

fn failed(at: DateTime<Utc>, retry_at: Option<DateTime<Utc>>, disable_after: u32) -> AttemptReport {
    AttemptReport {
        outcome: SendOutcome::Answered(500),
        attempted_at: at,
        duration_ms: 12,
        retry_at,
        disable_after,
    }
}

fn succeeded(at: DateTime<Utc>) -> AttemptReport {
    AttemptReport {
        outcome: SendOutcome::Answered(204),
        attempted_at: at,
        duration_ms: 3,
        retry_at: None,
        disable_after: 0,
    }
}

/// What was claimed, as (endpoint, customer, sequence) triples.
fn offered(claimed: &[ClaimedDelivery]) -> BTreeSet<(i64, i64, i64)> {
    claimed
        .iter()
        .map(|c| (c.endpoint.0, c.event.customer.get(), c.event.sequence))
        .collect()
}

fn find(
    claimed: &[ClaimedDelivery],
    endpoint: EndpointId,
    customer: CustomerId,
) -> ClaimedDelivery {
    claimed
        .iter()
        .find(|c| c.endpoint == endpoint && c.event.customer == customer)
        .unwrap()
        .clone()
}

async fn deliveries_follow_selection_scope_and_each_customers_order(store: Store) {
    let a = add(&store, "A").await;
    let b = add(&store, "B").await;
    let every = endpoint(&store, &["*"], None, true).await;
    let customers_only = endpoint(&store, &["customer.*"], None, true).await;
    let resellers = endpoint(&store, &["*"], Some(a), true).await;
    let off = endpoint(&store, &["*"], None, false).await;
    pay(&store, a, EntryKind::Payment, 1_000).await;
    pay(&store, a, EntryKind::Charge, -100).await;
    pay(&store, b, EntryKind::Payment, 500).await;
    // A: created, payment, charge; B: created, payment.
    // every: 5, customers_only: 2, the reseller's (A's tree, but not A's own record, which is
    // the operator's): 2, the disabled one: none.
    assert_eq!(queue_all(&store, 5).await, 9);
    assert_eq!(
        store
            .attempts(off, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );

    let lease = later(60);
    let first = store.claim(100, later(0), lease).await.unwrap();
    let (e, c, r) = (every.0, customers_only.0, resellers.0);
    let (a_, b_) = (a.get(), b.get());
    assert_eq!(
        offered(&first),
        BTreeSet::from([(e, a_, 1), (e, b_, 1), (c, a_, 1), (c, b_, 1), (r, a_, 2)]),
        "the first event of each customer at each endpoint"
    );
    for claimed in &first {
        assert_eq!(claimed.attempt, 1);
        assert_eq!(claimed.url.as_str(), "https://203.0.113.10/hooks");
        assert_eq!(claimed.secrets.valid_at(later(0)).len(), 1);
    }
    assert!(
        store.claim(100, later(1), lease).await.unwrap().is_empty(),
        "leased attempts and the events behind them wait"
    );

    // A success lets the customer's next event through.
    let a_first = find(&first, every, a);
    let recorded = store
        .record(a_first.id, a_first.claim, &succeeded(later(2)))
        .await
        .unwrap();
    assert!(recorded.recorded && !recorded.disabled);
    let next = store.claim(100, later(2), lease).await.unwrap();
    assert_eq!(offered(&next), BTreeSet::from([(e, a_, 2)]));

    // A failure to be retried holds the customer's later events back until the retry is due.
    let b_first = find(&first, every, b);
    store
        .record(
            b_first.id,
            b_first.claim,
            &failed(later(3), Some(later(13)), 50),
        )
        .await
        .unwrap();
    assert!(store.claim(100, later(12), lease).await.unwrap().is_empty());
    let retry = store.claim(100, later(13), lease).await.unwrap();
    assert_eq!(offered(&retry), BTreeSet::from([(e, b_, 1)]));
    assert_eq!(retry[0].attempt, 2);
    assert_eq!(retry[0].event.id, b_first.event.id);

    // The log, newest first: the pending retry names when it is due, the failure its retry.
    let log = store.attempts(every, PageRequest::default()).await.unwrap();
    assert_eq!(log.total, 6, "5 first attempts and one retry");
    let of_b: Vec<_> = log
        .items
        .iter()
        .filter(|attempt| attempt.event == b_first.event.id)
        .collect();
    assert_eq!(
        of_b.iter()
            .map(|attempt| (attempt.attempt, attempt.status))
            .collect::<Vec<_>>(),
        [(2, DeliveryStatus::Pending), (1, DeliveryStatus::Failed)]
    );
    assert_eq!(of_b[0].next_attempt_at, Some(later(13)));
    assert_eq!(of_b[0].attempted_at, None);
    assert_eq!(of_b[1].response_status, Some(500));
    assert_eq!(of_b[1].duration_ms, Some(12));
    assert_eq!(of_b[1].attempted_at, Some(later(3)));
    assert_eq!(of_b[1].next_attempt_at, Some(later(13)));
}

/// An attempt queued to a reseller's endpoint for its own customer's record, as the queue did
/// before such events were withheld, is dropped by the migration that withholds them while it
/// is still pending; the same event to an admin's endpoint, a customer below the reseller's,
/// and attempts already made stay.
async fn pending_attempts_of_withheld_events_are_dropped_on_upgrade(store: Store) {
    use credence_store::test_support::{execute, revert_last_migrations};
    let a = common::customer(&store, "A").await;
    let mut below = common::data(&store, "A-1", "A-1").await;
    below.parent = Some(a.data.summary(a.id));
    let below = common::insert(&store, below, at(0)).await.id;
    let a = a.id;
    let resellers = endpoint(&store, &["*"], Some(a), true).await;
    let admins = endpoint(&store, &["customer.created"], None, true).await;
    pay(&store, a, EntryKind::Payment, 100).await;
    // A's payment to the reseller; both creations to the admin; A-1's creation to the reseller.
    assert_eq!(queue_all(&store, 3).await, 4);
    let created = |customer: CustomerId| {
        let store = &store;
        async move {
            store
                .events(&EventQuery {
                    after: None,
                    types: Vec::new(),
                    customer: Some(customer),
                    within: None,
                    max: 1,
                })
                .await
                .unwrap()[0]
                .id
        }
    };
    let (a_created, below_created) = (created(a).await, created(below).await);
    // The newest migration is the one under test: revert it, queue as the old code did, and
    // apply it again.
    let database = store.database();
    revert_last_migrations(database, 1);
    for (status, attempt) in [("failed", 1), ("pending", 2)] {
        execute(
            database,
            &format!(
                "INSERT INTO webhook_deliveries (endpoint_id, event_id, customer_id, sequence, \
                 attempt, status, due_at, created_at) VALUES ({}, {}, {}, 1, {attempt}, \
                 '{status}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                resellers.0,
                a_created.0,
                a.get()
            ),
        );
    }
    let attempts = |endpoint: EndpointId| {
        let store = &store;
        async move {
            let mut log: Vec<(EventId, u32)> = store
                .attempts(endpoint, PageRequest::default())
                .await
                .unwrap()
                .items
                .iter()
                .map(|attempt| (attempt.event, attempt.attempt))
                .collect();
            log.sort();
            log
        }
    };
    let to_admins = attempts(admins).await;
    assert_eq!(to_admins.len(), 2);
    assert_eq!(attempts(resellers).await.len(), 4);
    database.migrate().unwrap();
    let payment = store
        .attempts(resellers, PageRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .find(|attempt| attempt.event != a_created && attempt.event != below_created)
        .unwrap()
        .event;
    let mut kept = vec![(a_created, 1), (below_created, 1), (payment, 1)];
    kept.sort();
    assert_eq!(
        attempts(resellers).await,
        kept,
        "only the pending attempt of A's own record went"
    );
    assert_eq!(attempts(admins).await, to_admins);
}

async fn a_lapsed_lease_passes_the_attempt_on(store: Store) {
    let a = add(&store, "A").await;
    let every = endpoint(&store, &["customer.created"], None, true).await;
    assert_eq!(queue_all(&store, 1).await, 1);
    let held = store.claim(10, later(0), later(30)).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(nothing_to_claim(&store, 29).await);
    // The first dispatcher is gone; once its lease lapses another one takes the attempt.
    let taken = store.claim(10, later(30), later(60)).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].attempt), (held[0].id, 1));
    assert!(taken[0].claim > held[0].claim);
    assert_eq!(taken[0].event.customer, a);
    let stale = store
        .record(held[0].id, held[0].claim, &succeeded(later(31)))
        .await
        .unwrap();
    assert!(!stale.recorded, "a lapsed claim records nothing");
    let current = store
        .record(taken[0].id, taken[0].claim, &succeeded(later(31)))
        .await
        .unwrap();
    assert!(current.recorded);
    let log = store.attempts(every, PageRequest::default()).await.unwrap();
    assert_eq!(log.total, 1);
    assert_eq!(log.items[0].status, DeliveryStatus::Succeeded);
    assert!(nothing_to_claim(&store, 100).await);
}

async fn an_endpoint_failing_every_event_is_disabled_and_redelivery_stays_in_scope(store: Store) {
    let a = add(&store, "A").await;
    let b = add(&store, "B").await;
    let failing = endpoint(&store, &["account.payment"], None, true).await;
    let resellers = endpoint(&store, &["account.payment"], Some(a), true).await;
    pay(&store, a, EntryKind::Payment, 100).await;
    pay(&store, b, EntryKind::Payment, 100).await;
    queue_all(&store, 4).await;
    let claimed = store.claim(10, later(0), later(30)).await.unwrap();
    let to_failing: Vec<_> = claimed.iter().filter(|c| c.endpoint == failing).collect();
    assert_eq!(to_failing.len(), 2);
    let first = store
        .record(
            to_failing[0].id,
            to_failing[0].claim,
            &failed(later(1), None, 2),
        )
        .await
        .unwrap();
    assert!(first.recorded && !first.disabled, "one failure of two");
    let second = store
        .record(
            to_failing[1].id,
            to_failing[1].claim,
            &failed(later(2), None, 2),
        )
        .await
        .unwrap();
    assert!(second.disabled, "the last two events failed for good");
    let disabled = store.endpoint(failing).await.unwrap().unwrap();
    assert!(!disabled.enabled);
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("the last 2 events could not be delivered")
    );

    // Redelivery: the next attempt number, due now; not sent while the endpoint is disabled.
    let event = to_failing[0].event.id;
    let queued = store
        .redeliver(failing, event, None, later(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (queued.attempt, queued.status),
        (2, DeliveryStatus::Pending)
    );
    assert_eq!(queued.next_attempt_at, Some(later(5)));
    let others: Vec<_> = store
        .claim(10, later(6), later(36))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.endpoint == failing)
        .collect();
    assert!(others.is_empty(), "a disabled endpoint gets nothing");
    let enabled = EndpointChanges {
        enabled: Some(true),
        ..EndpointChanges::default()
    };
    let again = store
        .update_endpoint(failing, &enabled, later(7))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.disabled_reason, None);
    let resent = store.claim(10, later(8), later(38)).await.unwrap();
    assert_eq!(resent.len(), 1);
    assert_eq!((resent[0].event.id, resent[0].attempt), (event, 2));

    // A reseller's endpoint may be given its own tree's events only.
    let b_event = claimed
        .iter()
        .find(|c| c.event.customer == b)
        .unwrap()
        .event
        .id;
    assert_eq!(
        store
            .redeliver(resellers, b_event, Some(a), later(9))
            .await
            .unwrap(),
        None
    );
    // Nor its own customer's record: A's creation is the operator's, though A is its root.
    let created = store
        .events(&EventQuery {
            after: None,
            types: Vec::new(),
            customer: Some(a),
            within: None,
            max: 1,
        })
        .await
        .unwrap();
    assert_eq!(created[0].kind.as_str(), "customer.created");
    assert_eq!(
        store
            .redeliver(resellers, created[0].id, Some(a), later(9))
            .await
            .unwrap(),
        None
    );
    let within_a = store
        .events(&EventQuery {
            after: None,
            types: Vec::new(),
            customer: None,
            within: Some(a),
            max: 100,
        })
        .await
        .unwrap();
    assert_eq!(
        within_a.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["account.payment"],
        "the feed of A's tree leaves out A's own record"
    );
    assert_eq!(
        store
            .redeliver(failing, EventId(999_999), None, later(9))
            .await
            .unwrap(),
        None
    );
    // Deleting the endpoint takes its log with it.
    store.delete_endpoint(failing).await.unwrap();
    assert_eq!(
        store
            .attempts(failing, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
}

/// Without any endpoint, queueing writes nothing and moves past the events at once: an
/// endpoint made later starts from there, not from the events written before it.
async fn with_no_endpoint_the_queue_skips_ahead(store: Store) {
    let a = add(&store, "A").await;
    pay(&store, a, EntryKind::Payment, 100).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // Until both events are settled (PostgreSQL's horizon), and skipped.
        assert_eq!(store.queue(10, later(0)).await.unwrap(), Default::default());
        let every = endpoint(&store, &["*"], None, true).await;
        let queued = store.queue(10, later(0)).await.unwrap();
        store.delete_endpoint(every).await.unwrap();
        if queued.events == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never skipped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(nothing_to_claim(&store, 0).await);
}

/// Four dispatchers on their own connections queue and claim at once: every event is queued
/// once, and no attempt is ever held by two of them.
async fn replicas_never_take_one_attempt_twice(db: TestDb) {
    let first = store_for(&db);
    let customers = 24;
    let mut ids = Vec::new();
    for n in 0..customers {
        ids.push(add(&first, &format!("C{n}")).await);
    }
    let every = endpoint(&first, &["*"], None, true).await;
    for id in &ids {
        pay(&first, *id, EntryKind::Payment, 100).await;
    }
    let replicas: Vec<Store> = (0..4)
        .map(|_| Store::new(Database::connect(db.url(), PoolOptions::default()).unwrap()))
        .collect();
    // Each customer has two events; both are delivered, one after the other.
    let expected = customers * 2;
    let taken = Arc::new(std::sync::Mutex::new(Vec::new()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let workers = replicas.into_iter().map(|store| {
        let taken = Arc::clone(&taken);
        tokio::spawn(async move {
            loop {
                store.queue(5, later(0)).await.unwrap();
                let claimed = store.claim(4, later(0), later(600)).await.unwrap();
                for delivery in &claimed {
                    taken.lock().unwrap().push((
                        delivery.id,
                        delivery.event.id,
                        delivery.event.sequence,
                    ));
                    tokio::task::yield_now().await;
                    let recorded = store
                        .record(delivery.id, delivery.claim, &succeeded(later(1)))
                        .await
                        .unwrap();
                    assert!(recorded.recorded);
                }
                if taken.lock().unwrap().len() >= expected || tokio::time::Instant::now() > deadline
                {
                    return;
                }
                if claimed.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    });
    for worker in workers.collect::<Vec<_>>() {
        worker.await.unwrap();
    }
    let taken = taken.lock().unwrap().clone();
    let attempts: BTreeSet<_> = taken.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(attempts.len(), taken.len(), "an attempt was taken twice");
    assert_eq!(taken.len(), expected, "every event delivered once");
    let log = first.attempts(every, PageRequest::default()).await.unwrap();
    assert_eq!(log.total as usize, expected, "every event queued once");
    // Per customer, the events were taken in sequence order.
    let events = first
        .events(&EventQuery {
            after: None,
            types: Vec::new(),
            customer: None,
            within: None,
            max: 1000,
        })
        .await
        .unwrap();
    let customer_of: BTreeMap<EventId, CustomerId> =
        events.iter().map(|e| (e.id, e.customer)).collect();
    let mut seen: BTreeMap<CustomerId, i64> = BTreeMap::new();
    for (_, event, sequence) in &taken {
        let last = seen.entry(customer_of[event]).or_insert(0);
        assert_eq!(*sequence, *last + 1, "out of order: {taken:?}");
        *last = *sequence;
    }
}

credence_store::on_both_stores!(
    deliveries_follow_selection_scope_and_each_customers_order,
    pending_attempts_of_withheld_events_are_dropped_on_upgrade,
    a_lapsed_lease_passes_the_attempt_on,
    an_endpoint_failing_every_event_is_disabled_and_redelivery_stays_in_scope,
    with_no_endpoint_the_queue_skips_ahead;
    replicas_never_take_one_attempt_twice,
);
