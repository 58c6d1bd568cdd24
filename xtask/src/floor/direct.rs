//! The floor of an admission: the same transaction through bare diesel connections, with no
//! Credence code at all. N threads (as many as the HTTP client has connections), each with
//! its own `PgConnection` or `SqliteConnection`, each running in one transaction:
//!
//! 1. `UPDATE accounts SET reserved = reserved + cost, updated_at = now WHERE customer_id = id
//!    AND balance + credit_limit - reserved >= cost RETURNING balance, reserved`;
//! 2. `INSERT INTO reservations ... RETURNING id`;
//! 3. `INSERT INTO ledger_entries ...` (the entry an admission writes);
//!
//! and, for the floor of an admission with its event ([`Floor::WithOutbox`]), the outbox's
//! own statements, Credence's own (`credence_store::bench_support::outbox_on_postgres`,
//! `outbox_on_sqlite`): on PostgreSQL the customer's turn, then the event in one statement.
//!
//! The statements are diesel's typed DSL over a local copy of the three tables' columns, so
//! each is prepared once per connection and cached, as Credence's are. SQLite gets the
//! settings Credence gives it: WAL, `synchronous = NORMAL`, `busy_timeout = 5000`, foreign
//! keys on, and `BEGIN IMMEDIATE`. It runs on the database Credence's side created, so the
//! accounts, the schema and its indexes are the same.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

use credence_store::bench_support;

use super::window::{Outcome, Window};

/// The columns of Credence's tables an admission writes (the others take their defaults).
mod schema {
    diesel::table! {
        accounts (customer_id) {
            customer_id -> BigInt,
            balance -> BigInt,
            credit_limit -> BigInt,
            reserved -> BigInt,
            updated_at -> Timestamp,
        }
    }

    diesel::table! {
        reservations (id) {
            id -> BigInt,
            account_id -> BigInt,
            customer_id -> BigInt,
            amount -> BigInt,
            status -> Text,
            expires_at -> Timestamp,
            created_at -> Timestamp,
        }
    }

    diesel::table! {
        ledger_entries (id) {
            id -> BigInt,
            account_id -> BigInt,
            kind -> Text,
            balance_delta -> BigInt,
            reserved_delta -> BigInt,
            balance_after -> BigInt,
            reserved_after -> BigInt,
            reservation_id -> Nullable<BigInt>,
            at -> Timestamp,
        }
    }
}

use schema::{accounts, ledger_entries, reservations};

/// Which transaction the floor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Floor {
    /// The admission's three statements.
    Admission,
    /// The same, with the statements of its event.
    WithOutbox,
}

/// What the outbox writes as an event's object in the floor: a reservation's size.
const OBJECT: &str = r#"{"id":1,"accountId":1,"customerId":1,"amount":0.01,"capturedAmount":null,"currency":"EUR","status":"open","description":null,"expiresAt":"2026-12-04T10:00:00Z","createdAt":"2026-12-04T09:00:00Z","closedAt":null,"href":"/api/v1.0/customers/1/account/reservations/1"}"#;

/// What each admission reserves, in minor units: 0.01, as the HTTP side's requests.
const COST: i64 = 1;

/// The admission's three statements, written once for both connection types (which share
/// no trait diesel's typed statements could be written against without a page of bounds).
macro_rules! admit {
    ($conn:expr, $account:expr, $now:expr, $expires:expr, $floor:expr, $record:path) => {{
        let (account, now, expires): (i64, NaiveDateTime, NaiveDateTime) =
            ($account, $now, $expires);
        let outbox = $floor == Floor::WithOutbox;
        let after: Option<(i64, i64)> = diesel::update(
            accounts::table
                .filter(accounts::customer_id.eq(account))
                .filter((accounts::balance + accounts::credit_limit - accounts::reserved).ge(COST)),
        )
        .set((
            accounts::reserved.eq(accounts::reserved + COST),
            accounts::updated_at.eq(now),
        ))
        .returning((accounts::balance, accounts::reserved))
        .get_result($conn)
        .optional()?;
        match after {
            None => Ok(false),
            Some((balance_after, reserved_after)) => {
                let id: i64 = diesel::insert_into(reservations::table)
                    .values((
                        reservations::account_id.eq(account),
                        reservations::customer_id.eq(account),
                        reservations::amount.eq(COST),
                        reservations::status.eq("open"),
                        reservations::expires_at.eq(expires),
                        reservations::created_at.eq(now),
                    ))
                    .returning(reservations::id)
                    .get_result($conn)?;
                diesel::insert_into(ledger_entries::table)
                    .values((
                        ledger_entries::account_id.eq(account),
                        ledger_entries::kind.eq("reservation"),
                        ledger_entries::balance_delta.eq(0_i64),
                        ledger_entries::reserved_delta.eq(COST),
                        ledger_entries::balance_after.eq(balance_after),
                        ledger_entries::reserved_after.eq(reserved_after),
                        ledger_entries::reservation_id.eq(Some(id)),
                        ledger_entries::at.eq(now),
                    ))
                    .execute($conn)?;
                if outbox {
                    $record($conn, account, OBJECT, now)?;
                }
                Ok(true)
            }
        }
    }};
}

/// A connection of either backend, opened without any Credence code.
enum Bare {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl Bare {
    fn open(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(PgConnection::establish(url)?));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let mut conn = SqliteConnection::establish(path)?;
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON;",
        )?;
        Ok(Self::Sqlite(conn))
    }

    /// One admission on `account`: `true` when admitted, `false` when the credit did not
    /// cover it.
    fn admit(&mut self, account: i64, floor: Floor) -> QueryResult<bool> {
        // Whole seconds, as Credence stores its times.
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0)
            .unwrap_or_else(Utc::now)
            .naive_utc();
        let expires = now + TimeDelta::hours(1);
        match self {
            Self::Postgres(conn) => conn.transaction(|c| {
                admit!(
                    c,
                    account,
                    now,
                    expires,
                    floor,
                    bench_support::outbox_on_postgres
                )
            }),
            Self::Sqlite(conn) => conn.immediate_transaction(|c| {
                admit!(
                    c,
                    account,
                    now,
                    expires,
                    floor,
                    bench_support::outbox_on_sqlite
                )
            }),
        }
    }
}

/// Runs `threads` threads admitting on `accounts` (in turn, through the window's tickets)
/// until `window` stops. Connections are opened before this returns, so the warm-up starts
/// with all of them ready. Join the handles once [`Window::drive`] has returned.
pub(crate) fn start(
    url: &str,
    accounts: &Arc<Vec<i64>>,
    threads: usize,
    window: &Arc<Window>,
    floor: Floor,
) -> anyhow::Result<Vec<std::thread::JoinHandle<()>>> {
    if accounts.is_empty() {
        bail!("no account to admit on");
    }
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        let mut conn = Bare::open(url)
            .with_context(|| format!("cannot open connection {index} of the floor"))?;
        let (accounts, window) = (Arc::clone(accounts), Arc::clone(window));
        handles.push(std::thread::spawn(move || {
            while window.running() {
                let account = accounts[window.ticket() % accounts.len()];
                window.record(match conn.admit(account, floor) {
                    Ok(true) => Outcome::Done,
                    Ok(false) => Outcome::Refused,
                    Err(_) => Outcome::Failed,
                });
            }
        }));
    }
    Ok(handles)
}
