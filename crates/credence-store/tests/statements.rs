//! Statements and the account at an instant, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: random histories of payments, charges, adjustments,
//! limit changes, admissions, captures, releases and expiries, then random periods and
//! instants. Every statement adds up (opening + movements = closing), its figures and entries
//! are the ledger's own, replayed by the test, and the account at an instant is the ledger
//! replayed up to it with the limit set by then.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::sync::{Arc, Mutex};

use credence_domain::credit::{
    EntryKind, LedgerEntry, LedgerFilter, Money, Period, ReservationId, StatementSink,
    StatementSummary,
};
use credence_domain::ids::CustomerId;
use credence_domain::listing::PageRequest;
use credence_domain::ports::{AccountLedger, Posting, Precondition};
use credence_domain::values::CreditLimit;
use credence_store::Store;
use credence_store::test_support::TestDb;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

mod common;
use common::{admission, at, data, eur, insert, store_for};

/// One move of a random history; times are seconds after the tests' epoch.
#[derive(Debug, Clone)]
enum Step {
    Post { kind: EntryKind, delta: i64 },
    Admit { cost: i64, expires_in: i64 },
    Capture { pick: usize, percent: i64 },
    Release { pick: usize },
    Limit(i64),
    Sweep,
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (1_i64..500).prop_map(|delta| Step::Post { kind: EntryKind::Payment, delta }),
        2 => (1_i64..500).prop_map(|delta| Step::Post { kind: EntryKind::Charge, delta: -delta }),
        1 => (-300_i64..300)
            .prop_filter("an adjustment moves money", |d| *d != 0)
            .prop_map(|delta| Step::Post { kind: EntryKind::Adjustment, delta }),
        3 => (1_i64..400, 1_i64..20).prop_map(|(cost, expires_in)| Step::Admit { cost, expires_in }),
        2 => (0_usize..4, 0_i64..=100).prop_map(|(pick, percent)| Step::Capture { pick, percent }),
        1 => (0_usize..4).prop_map(|pick| Step::Release { pick }),
        1 => (0_i64..3000).prop_map(Step::Limit),
        1 => Just(Step::Sweep),
        // Often none, so several entries share a second, as they do under load.
        3 => (0_i64..6).prop_map(Step::Wait),
    ]
}

/// A history, then periods `(start, length)` and instants, in seconds from its start.
type Case = (Vec<Step>, Vec<(i64, i64)>, Vec<i64>);

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(step(), 1..40),
        proptest::collection::vec((-5_i64..120, 1_i64..80), 1..6),
        proptest::collection::vec(-5_i64..130, 1..6),
    )
}

/// Collects what a statement writes.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<(Option<StatementSummary>, Vec<LedgerEntry>)>>);

impl StatementSink for Collected {
    fn summary(&mut self, summary: StatementSummary) -> bool {
        self.0.lock().unwrap().0 = Some(summary);
        true
    }

    fn entries(&mut self, entries: Vec<LedgerEntry>) -> bool {
        self.0.lock().unwrap().1.extend(entries);
        true
    }
}

fn eur_money(minor: i64) -> Money {
    Money::from_minor(minor, eur())
}

fn limit(minor: i64) -> CreditLimit {
    CreditLimit::from_minor_units(minor, eur()).unwrap()
}

/// Plays `steps` on a fresh account; answers the limits set, `(second, limit)`, in order.
async fn play(store: &Store, account: CustomerId, steps: &[Step]) -> Vec<(i64, i64)> {
    let ledger: &dyn AccountLedger = store;
    let mut limits = vec![(0, 1_000)];
    let mut open: Vec<ReservationId> = Vec::new();
    let mut now = 1_i64;
    for step in steps {
        match step.clone() {
            Step::Post { kind, delta } => {
                let posting = Posting {
                    account,
                    kind,
                    balance_delta: eur_money(delta),
                    description: None,
                    user: None,
                    now: at(now),
                    idempotency: None,
                };
                ledger.post(&posting, Precondition::none()).await.unwrap();
            }
            Step::Admit { cost, expires_in } => {
                // A refusal writes nothing, which is as good a step as any.
                let admitted = ledger
                    .admit(
                        &admission(account, cost, now, now + expires_in),
                        Precondition::none(),
                    )
                    .await;
                if let Ok(reservation) = admitted {
                    open.push(reservation.id);
                }
            }
            Step::Capture { .. } | Step::Release { .. } if open.is_empty() => {}
            Step::Capture { pick, percent } => {
                let id = open.remove(pick % open.len());
                if let Ok(held) = ledger
                    .reservations(account, Default::default(), PageRequest::default())
                    .await
                    .map(|page| page.items.into_iter().find(|r| r.id == id))
                {
                    let amount = held.map_or(0, |r| r.amount.minor()) * percent / 100;
                    // Lapsed ones refuse: also a fine step.
                    let _ = ledger
                        .capture(
                            account,
                            id,
                            Some(eur_money(amount)),
                            None,
                            at(now),
                            None,
                            Precondition::none(),
                        )
                        .await;
                }
            }
            Step::Release { pick } => {
                let id = open.remove(pick % open.len());
                let _ = ledger
                    .release(account, id, None, at(now), None, Precondition::none())
                    .await;
            }
            Step::Limit(minor) => {
                ledger
                    .set_credit_limit(
                        account,
                        limit(minor),
                        None,
                        None,
                        at(now),
                        Precondition::none(),
                    )
                    .await
                    .unwrap();
                limits.push((now, minor));
            }
            Step::Sweep => {
                ledger.sweep_expired(at(now), 100).await.unwrap();
            }
            Step::Wait(seconds) => now += seconds,
        }
    }
    limits
}

/// Every entry of the account, oldest first.
async fn all_entries(store: &Store, account: CustomerId) -> Vec<LedgerEntry> {
    let ledger: &dyn AccountLedger = store;
    let mut entries = Vec::new();
    loop {
        let offset = i64::try_from(entries.len()).unwrap();
        let page = ledger
            .ledger(
                account,
                LedgerFilter::default(),
                PageRequest::new(Some(100), Some(offset)).unwrap(),
            )
            .await
            .unwrap();
        if page.items.is_empty() {
            return entries;
        }
        entries.extend(page.items);
    }
}

/// `(balance, reserved)` replayed from the entries that `keep` keeps.
fn replay(entries: &[LedgerEntry], keep: impl Fn(&LedgerEntry) -> bool) -> (i64, i64) {
    entries
        .iter()
        .filter(|entry| keep(entry))
        .fold((0, 0), |(balance, reserved), entry| {
            (
                balance + entry.balance_delta.minor(),
                reserved + entry.reserved_delta.minor(),
            )
        })
}

async fn statements_replay_the_ledger(store: &Store, n: usize, (steps, periods, instants): Case) {
    let c = {
        let mut data = data(store, &format!("ST-{n}"), "Statement").await;
        data.credit_limit = limit(1_000);
        insert(store, data, at(0)).await
    };
    let limits = play(store, c.id, &steps).await;
    let entries = all_entries(store, c.id).await;
    let ledger: &dyn AccountLedger = store;

    for (start, length) in periods {
        let period = Period::new(at(start), at(start + length)).unwrap();
        let collected = Collected::default();
        let found = ledger
            .statement(c.id, period, Box::new(collected.clone()))
            .await
            .unwrap();
        assert!(found);
        let (summary, listed) = collected.0.lock().unwrap().clone();
        let summary = summary.unwrap();
        let context = format!("case {n}, period {start}+{length}");
        assert_eq!(summary.account(), c.id, "{context}");
        assert_eq!(summary.period(), period, "{context}");
        let opening = replay(&entries, |e| e.at < period.from());
        let closing = replay(&entries, |e| e.at < period.to());
        let (o, cl) = (summary.opening(), summary.closing());
        assert_eq!(
            (o.balance.minor(), o.reserved.minor()),
            opening,
            "{context}"
        );
        assert_eq!(
            (cl.balance.minor(), cl.reserved.minor()),
            closing,
            "{context}"
        );
        let within: Vec<&LedgerEntry> = entries
            .iter()
            .filter(|e| period.from() <= e.at && e.at < period.to())
            .collect();
        assert_eq!(listed.iter().collect::<Vec<_>>(), within, "{context}");
        let of = |kind: EntryKind| {
            within
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.balance_delta.minor())
                .sum::<i64>()
        };
        let totals = summary.totals();
        assert_eq!(
            (
                totals.payments.minor(),
                totals.charges.minor(),
                totals.adjustments.minor(),
                totals.captured.minor()
            ),
            (
                of(EntryKind::Payment),
                of(EntryKind::Charge),
                of(EntryKind::Adjustment),
                of(EntryKind::Capture)
            ),
            "{context}"
        );
        // Opening + movements = closing.
        let moved: i64 = [
            totals.payments,
            totals.charges,
            totals.adjustments,
            totals.captured,
        ]
        .iter()
        .map(Money::minor)
        .sum();
        assert_eq!(o.balance.minor() + moved, cl.balance.minor(), "{context}");
    }

    for instant in instants {
        let then = at(instant);
        let read = ledger.account_as_of(c.id, then).await.unwrap();
        let limit_then = limits
            .iter()
            .rev()
            .find(|(second, _)| at(*second) <= then)
            .map(|(_, minor)| *minor);
        let context = format!("case {n}, at {instant}");
        match limit_then {
            None => assert_eq!(read, None, "{context}"),
            Some(minor) => {
                let read = read.unwrap();
                let (balance, reserved) = replay(&entries, |e| e.at <= then);
                assert_eq!(
                    (
                        read.balance().minor(),
                        read.reserved().minor(),
                        read.credit_limit().minor()
                    ),
                    (balance, reserved, minor),
                    "{context}"
                );
            }
        }
    }
}

fn statements_agree_with_the_ledger(db: &TestDb) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = store_for(db);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let count = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&case(), |case| {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            runtime.block_on(statements_replay_the_ledger(&store, n, case));
            Ok(())
        })
        .unwrap();
}

#[test]
fn statements_agree_with_the_ledger_on_sqlite() {
    statements_agree_with_the_ledger(&TestDb::sqlite());
}

#[test]
fn statements_agree_with_the_ledger_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        statements_agree_with_the_ledger(&db);
    }
}

/// A statement of an account that does not exist says so.
#[test]
fn a_statement_needs_an_account() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = TestDb::sqlite();
    let store = store_for(&db);
    runtime.block_on(async {
        let ledger: &dyn AccountLedger = &store;
        let period = Period::new(at(0), at(100)).unwrap();
        let found = ledger
            .statement(CustomerId(424_242), period, Box::new(Collected::default()))
            .await
            .unwrap();
        assert!(!found);
    });
}

/// Counts the pages a statement arrives in, and stops after `stop_after` of them.
struct Pages {
    seen: Arc<Mutex<Vec<usize>>>,
    ids: Arc<Mutex<Vec<i64>>>,
    stop_after: usize,
}

impl StatementSink for Pages {
    fn summary(&mut self, _: StatementSummary) -> bool {
        true
    }

    fn entries(&mut self, entries: Vec<LedgerEntry>) -> bool {
        let mut ids = self.ids.lock().unwrap();
        ids.extend(entries.iter().map(|entry| entry.id));
        let mut seen = self.seen.lock().unwrap();
        seen.push(entries.len());
        seen.len() < self.stop_after
    }
}

/// A long statement arrives a page at a time with every entry once, and a reader that stops
/// early is sent no more.
#[test]
fn a_long_statement_arrives_in_pages() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = TestDb::sqlite();
    let store = store_for(&db);
    runtime.block_on(async {
        let ledger: &dyn AccountLedger = &store;
        let c = insert(&store, data(&store, "LONG", "Long").await, at(0)).await;
        for n in 0..2_345 {
            let posting = Posting {
                account: c.id,
                kind: EntryKind::Payment,
                balance_delta: eur_money(1),
                description: None,
                user: None,
                // Seven entries a second: pages end inside a second.
                now: at(n / 7),
                idempotency: None,
            };
            ledger.post(&posting, Precondition::none()).await.unwrap();
        }
        let period = Period::new(at(0), at(1_000)).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let ids = Arc::new(Mutex::new(Vec::new()));
        let all = Pages {
            seen: Arc::clone(&seen),
            ids: Arc::clone(&ids),
            stop_after: usize::MAX,
        };
        assert!(ledger.statement(c.id, period, Box::new(all)).await.unwrap());
        assert_eq!(*seen.lock().unwrap(), [1_000, 1_000, 345]);
        let ids = ids.lock().unwrap().clone();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "each entry once, in order"
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let one = Pages {
            seen: Arc::clone(&seen),
            ids: Arc::default(),
            stop_after: 1,
        };
        assert!(ledger.statement(c.id, period, Box::new(one)).await.unwrap());
        assert_eq!(*seen.lock().unwrap(), [1_000]);
    });
}
