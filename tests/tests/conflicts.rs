//! Transient database conflicts never reach the client as a `5xx`: captures, releases,
//! admissions that expire reservations, sweepers, payments and limit changes race on one
//! account across three replicas sharing one database, and afterwards the account still
//! equals what its ledger adds up to.
//!
//! Reservations are made with `expiresIn: 1`, so a batch of them falls due at every
//! second boundary, while admissions (which expire the account's due reservations first),
//! the replicas' sweepers (every second) and captures or releases of recent reservations all
//! reach for the same rows. Before the store took its row locks in one order (the account
//! first) and retried deadlocked transactions, this workload answered `500` on PostgreSQL.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use credence_e2e::{TestApp, expect_json};
use credence_store::test_support::TestDb;
use reqwest::Method;
use serde_json::{Value, json};

/// Clients per replica.
const CLIENTS_PER_REPLICA: usize = 4;
/// Requests each client sends.
const ROUNDS: usize = 80;
/// Captures and releases aim at one of the most recent reservations, so they meet the
/// ones falling due.
const RECENT: usize = 48;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_replicas_answer_no_5xx_when_settlements_race_expiries() {
    race_on(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_answer_no_5xx_when_settlements_race_expiries() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    race_on(db).await;
}

/// Three replicas on `db`, sweeping every second, with rate limits out of the way (one
/// admin key drives the whole load).
async fn replicas(db: TestDb) -> Vec<TestApp> {
    let db = Arc::new(db);
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(
            TestApp::spawn_configured(Arc::clone(&db), |config| {
                config.sweep_interval_secs = 1;
                config.rate_limit_per_second = 1_000_000;
                config.rate_limit_burst = 1_000_000;
            })
            .await,
        );
    }
    apps
}

/// A small deterministic generator: each client picks its targets reproducibly.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

/// What one request answered: its action and status, and the body when it is an error.
#[derive(Debug)]
struct Answer {
    action: &'static str,
    status: u16,
    #[expect(dead_code, reason = "shown through Debug when an answer is wrong")]
    body: String,
}

async fn race_on(db: TestDb) {
    let apps = Arc::new(replicas(db).await);
    let customer = apps[0]
        .create_customer(
            &json!({"reference": "CONFLICT", "name": "Conflict", "creditLimit": 1_000_000}),
        )
        .await;
    let id = customer["id"].as_i64().unwrap();
    let base = format!("/api/v1.0/customers/{id}/account");
    let created: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));

    let clients = (0..apps.len() * CLIENTS_PER_REPLICA).map(|client| {
        let (apps, base, created) = (Arc::clone(&apps), base.clone(), Arc::clone(&created));
        tokio::spawn(async move {
            let app = &apps[client % apps.len()];
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((client as u64 + 1) * 0x2545_F491));
            let mut answers = Vec::with_capacity(ROUNDS);
            for round in 0..ROUNDS {
                let recent = {
                    let ids = created.lock().unwrap();
                    let window = ids.len().min(RECENT);
                    (window > 0).then(|| ids[ids.len() - 1 - rng.below(window)])
                };
                let (action, method, path, body) = match (client + round) % 8 {
                    0..=2 => (
                        "admit",
                        Method::POST,
                        format!("{base}/reservations"),
                        json!({"amount": "1.00", "expiresIn": 1, "description": "race"}),
                    ),
                    3 | 4 if recent.is_some() => (
                        "capture",
                        Method::POST,
                        format!("{base}/reservations/{}/capture", recent.unwrap_or(0)),
                        json!({"amount": "0.50"}),
                    ),
                    5 if recent.is_some() => (
                        "release",
                        Method::POST,
                        format!("{base}/reservations/{}/release", recent.unwrap_or(0)),
                        json!({}),
                    ),
                    6 => (
                        "payment",
                        Method::POST,
                        format!("{base}/payments"),
                        json!({"amount": "2.00", "description": "race"}),
                    ),
                    7 if round % 16 == 7 => (
                        "limit",
                        Method::PUT,
                        format!("{base}/creditLimit"),
                        json!({"creditLimit": 1_000_000 + round}),
                    ),
                    _ => (
                        "charge",
                        Method::POST,
                        format!("{base}/charges"),
                        json!({"amount": "0.25", "description": "race"}),
                    ),
                };
                let response = app
                    .request(method, &path)
                    .json(&body)
                    .send()
                    .await
                    .expect("the request is sent");
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                if action == "admit" && status == 201 {
                    let reservation: Value = serde_json::from_str(&text).unwrap();
                    created
                        .lock()
                        .unwrap()
                        .push(reservation["id"].as_i64().unwrap());
                }
                answers.push(Answer {
                    action,
                    status,
                    body: if status >= 400 { text } else { String::new() },
                });
            }
            answers
        })
    });
    let mut answers = Vec::new();
    for client in futures_util::future::join_all(clients).await {
        answers.extend(client.expect("a client finished"));
    }

    let failed: Vec<&Answer> = answers.iter().filter(|a| a.status >= 500).collect();
    let mut tally: HashMap<(&str, u16), usize> = HashMap::new();
    for answer in &answers {
        *tally.entry((answer.action, answer.status)).or_default() += 1;
    }
    assert!(
        failed.is_empty(),
        "{} of {} answers were 5xx: {:?}; all: {tally:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(5)]
    );
    for answer in &answers {
        let expected: &[u16] = match answer.action {
            "admit" | "payment" | "charge" => &[201],
            // A reservation already captured, released or expired is 409.
            "capture" | "release" => &[200, 409],
            _ => &[200],
        };
        assert!(
            expected.contains(&answer.status),
            "unexpected answer {answer:?}; all: {tally:?}"
        );
    }
    assert!(
        tally.get(&("capture", 200)).is_some_and(|n| *n > 0)
            && tally.get(&("release", 200)).is_some_and(|n| *n > 0),
        "the race captured and released something: {tally:?}"
    );

    close_every_open_reservation(&apps[0], &base).await;
    let ledger = ledger(&apps[0], &base).await;
    let account = expect_json(apps[0].get(&base).await, 200).await;
    let (balance, reserved) = ledger.iter().fold((0, 0), |(b, r), entry| {
        (
            b + cents(&entry["amount"]),
            r + cents(&entry["reservedDelta"]),
        )
    });
    assert_eq!(
        (balance, reserved),
        (
            cents(&account["balance"]),
            cents(&account["reservedAmount"])
        ),
        "balance and reserved equal what the ledger adds up to: {account}"
    );
    assert_eq!(reserved, 0, "every reservation is closed: {account}");

    // Each reservation was opened once and closed once: no double expiry or settlement.
    let mut per_reservation: HashMap<i64, (usize, usize)> = HashMap::new();
    for entry in &ledger {
        let Some(rid) = entry["reservationId"].as_i64() else {
            continue;
        };
        let counts = per_reservation.entry(rid).or_default();
        match entry["kind"].as_str() {
            Some("reservation") => counts.0 += 1,
            _ => counts.1 += 1,
        }
    }
    let admitted = tally.get(&("admit", 201)).copied().unwrap_or(0);
    assert_eq!(
        per_reservation.len(),
        admitted,
        "one entry set per admission"
    );
    for (rid, counts) in per_reservation {
        assert_eq!(
            counts,
            (1, 1),
            "reservation {rid}: opened once and closed once"
        );
    }
}

/// Releases what is still open; one already expired answers `409` (the release expires it).
async fn close_every_open_reservation(app: &TestApp, base: &str) {
    let mut offset = 0;
    loop {
        let page = app
            .get_json(&format!("{base}/reservations?max=1000&offset={offset}"))
            .await;
        let items = page["data"].as_array().expect("reservations").clone();
        for reservation in items.iter().filter(|r| r["status"] == "open") {
            let status = app
                .post_json(
                    &format!("{base}/reservations/{}/release", reservation["id"]),
                    &json!({}),
                )
                .await
                .status()
                .as_u16();
            assert!(matches!(status, 200 | 409), "release answered {status}");
        }
        offset += items.len();
        if items.is_empty() || page["paging"]["next"].is_null() {
            break;
        }
    }
}

async fn ledger(app: &TestApp, base: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    loop {
        let page = app
            .get_json(&format!("{base}/ledger?max=1000&offset={}", entries.len()))
            .await;
        let items = page["data"].as_array().expect("entries").clone();
        let done = items.is_empty() || page["paging"]["next"].is_null();
        entries.extend(items);
        if done {
            return entries;
        }
    }
}

/// An exact JSON amount of a 2-decimal currency, in cents.
fn cents(value: &Value) -> i64 {
    let text = value.to_string();
    let text = text.trim_matches('"');
    let (units, fraction) = text.split_once('.').unwrap_or((text, "00"));
    let sign = if units.starts_with('-') { -1 } else { 1 };
    let units: i64 = units.trim_start_matches('-').parse().expect("units");
    let fraction: i64 = format!("{fraction:0<2}")[..2].parse().expect("cents");
    sign * (units * 100 + fraction)
}
