//! Credit accounts, reservations and the append-only ledger (SPEC §3).
//!
//! Every method that moves money is one write transaction that updates the account, inserts
//! the ledger entry (with the amounts the update returned) and writes the reservation
//! together, so the ledger's sums always equal the account. Races are decided by the database,
//! never by a read followed by a write:
//!
//! - the admission is one conditional `UPDATE accounts ... WHERE balance + credit_limit -
//!   reserved >= :cost`: PostgreSQL re-evaluates the condition on the locked row after a
//!   racing writer commits, and SQLite's `BEGIN IMMEDIATE` runs writers one at a time;
//! - the admission share-locks the rows of its customer and of the paying customer, and only
//!   proceeds while both are live; archiving takes those rows exclusively, so an admission
//!   and an archive of either customer run one after the other, and the loser sees the
//!   winner (an archived customer, or an open reservation that refuses the archive);
//! - captures, releases and expiries flip a reservation with `WHERE status = 'open'`, so two
//!   sweepers (or a sweeper and a capture) never close one reservation twice;
//! - every transaction takes its row locks in one order: the customer rows (shared, by id),
//!   then the account row, then the account's reservations (and a task before its
//!   reservation), then the ledger inserts. Capture, release, the sweeper, the admission's
//!   expiries, payments, limit changes and task moves all lock the account first, so two of
//!   them on one account queue on that row instead of each holding a reservation the other
//!   waits for (a deadlock, which PostgreSQL breaks by failing one of them). What collides
//!   anyway is run again by [`crate::database::Database::write`];
//! - every account update guards its own overflow in the `WHERE` clause (SQLite would turn an
//!   overflowing sum into a float), so arithmetic stays exact and checked.
//!
//! Ledger rows are only ever inserted; the migrations add triggers that refuse updates and
//! deletes.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::credit::{
    CreditAccount, CreditRefused, EntryKind, LedgerEntry, Reservation, ReservationId,
    ReservationStatus,
};
use credence_domain::ids::{CustomerId, UserId};
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::{
    AccountLedger, Admission, AdmitError, Posting, SettleError, StoreError,
};
use credence_domain::values::CurrencyCode;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::Store;
use crate::customers::to_db_time;
use crate::database::{AnyConnection, Backend};
use crate::error::Failure;
use crate::fixed_statements::{LiveAccountAt, LiveAccountsAt, Reserve};
use crate::schema::{accounts, credit_limit_history, customers, ledger_entries, reservations};

const OPEN: &str = "open";

/// An account as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub(crate) struct AccountRow {
    pub(crate) customer_id: i64,
    pub(crate) currency: String,
    pub(crate) balance: i64,
    pub(crate) credit_limit: i64,
    pub(crate) reserved: i64,
}

impl AccountRow {
    pub(crate) fn into_domain(self) -> Result<CreditAccount, Failure> {
        Ok(CreditAccount {
            customer_id: CustomerId(self.customer_id),
            currency: CurrencyCode::parse(&self.currency)
                .map_err(|e| Failure::corrupt("account currency", e))?,
            balance: self.balance,
            credit_limit: self.credit_limit,
            reserved: self.reserved,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = reservations)]
struct ReservationRow {
    id: i64,
    account_id: i64,
    customer_id: i64,
    amount: i64,
    captured: Option<i64>,
    status: String,
    description: Option<String>,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
    closed_at: Option<NaiveDateTime>,
}

impl ReservationRow {
    fn into_domain(self) -> Result<Reservation, Failure> {
        Ok(Reservation {
            id: ReservationId(self.id),
            account: CustomerId(self.account_id),
            customer: CustomerId(self.customer_id),
            amount: self.amount,
            captured: self.captured,
            status: ReservationStatus::parse(&self.status)
                .ok_or_else(|| Failure::corrupt("reservation status", &self.status))?,
            description: self.description,
            expires_at: self.expires_at.and_utc(),
            created_at: self.created_at.and_utc(),
            closed_at: self.closed_at.map(|at| at.and_utc()),
        })
    }

    fn is_open(&self) -> bool {
        self.status == OPEN
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
struct EntryRow {
    id: i64,
    account_id: i64,
    kind: String,
    balance_delta: i64,
    reserved_delta: i64,
    balance_after: i64,
    reserved_after: i64,
    description: Option<String>,
    reservation_id: Option<i64>,
    user_id: Option<i64>,
    at: NaiveDateTime,
}

impl EntryRow {
    fn into_domain(self) -> Result<LedgerEntry, Failure> {
        Ok(LedgerEntry {
            id: self.id,
            account: CustomerId(self.account_id),
            kind: EntryKind::parse(&self.kind)
                .ok_or_else(|| Failure::corrupt("ledger entry kind", &self.kind))?,
            balance_delta: self.balance_delta,
            reserved_delta: self.reserved_delta,
            balance_after: self.balance_after,
            reserved_after: self.reserved_after,
            description: self.description,
            reservation: self.reservation_id.map(ReservationId),
            user: self.user_id.map(UserId),
            at: self.at.and_utc(),
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries, treat_none_as_default_value = false)]
struct NewEntry<'a> {
    account_id: i64,
    kind: &'static str,
    balance_delta: i64,
    reserved_delta: i64,
    balance_after: i64,
    reserved_after: i64,
    description: Option<&'a str>,
    reservation_id: Option<i64>,
    user_id: Option<i64>,
    at: NaiveDateTime,
    idempotency: Option<&'a str>,
}

/// One change of an account's balance and reserved amount, with what its entry records.
struct Movement<'a> {
    account: i64,
    kind: EntryKind,
    balance_delta: i64,
    reserved_delta: i64,
    description: Option<&'a str>,
    reservation: Option<i64>,
    user: Option<i64>,
    at: NaiveDateTime,
    idempotency: Option<&'a str>,
}

/// The range a column may hold before adding `delta`, so that the sum fits in 64 bits.
fn headroom(delta: i64) -> (i64, i64) {
    if delta >= 0 {
        (i64::MIN, i64::MAX.saturating_sub(delta))
    } else {
        (i64::MIN.saturating_sub(delta), i64::MAX)
    }
}

fn overflow(account: i64) -> Failure {
    Failure::Corrupt(format!(
        "account {account}: the movement would leave 64-bit amounts"
    ))
}

fn account_exists(conn: &mut AnyConnection, account: i64) -> Result<bool, Failure> {
    Ok(accounts::table
        .find(account)
        .select(accounts::customer_id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Writes the ledger entry of a movement the account already took.
fn insert_entry(
    conn: &mut AnyConnection,
    m: &Movement<'_>,
    balance_after: i64,
    reserved_after: i64,
) -> Result<LedgerEntry, Failure> {
    let id: i64 = diesel::insert_into(ledger_entries::table)
        .values(NewEntry {
            account_id: m.account,
            kind: m.kind.as_str(),
            balance_delta: m.balance_delta,
            reserved_delta: m.reserved_delta,
            balance_after,
            reserved_after,
            description: m.description,
            reservation_id: m.reservation,
            user_id: m.user,
            at: m.at,
            idempotency: m.idempotency,
        })
        .returning(ledger_entries::id)
        .get_result(conn)?;
    Ok(LedgerEntry {
        id,
        account: CustomerId(m.account),
        kind: m.kind,
        balance_delta: m.balance_delta,
        reserved_delta: m.reserved_delta,
        balance_after,
        reserved_after,
        description: m.description.map(str::to_owned),
        reservation: m.reservation.map(ReservationId),
        user: m.user.map(UserId),
        at: m.at.and_utc(),
    })
}

/// Moves an account and writes its entry; `None` when the account does not exist.
fn apply(conn: &mut AnyConnection, m: &Movement<'_>) -> Result<Option<LedgerEntry>, Failure> {
    let (balance_low, balance_high) = headroom(m.balance_delta);
    let (reserved_low, reserved_high) = headroom(m.reserved_delta);
    let after: Option<(i64, i64)> = diesel::update(
        accounts::table
            .filter(accounts::customer_id.eq(m.account))
            .filter(accounts::balance.between(balance_low, balance_high))
            .filter(accounts::reserved.between(reserved_low, reserved_high)),
    )
    .set((
        accounts::balance.eq(accounts::balance + m.balance_delta),
        accounts::reserved.eq(accounts::reserved + m.reserved_delta),
        accounts::updated_at.eq(m.at),
    ))
    .returning((accounts::balance, accounts::reserved))
    .get_result(conn)
    .optional()?;
    match after {
        Some((balance, reserved)) => insert_entry(conn, m, balance, reserved).map(Some),
        None if account_exists(conn, m.account)? => Err(overflow(m.account)),
        None => Ok(None),
    }
}

fn load_reservation(conn: &mut AnyConnection, id: i64) -> Result<Option<ReservationRow>, Failure> {
    Ok(reservations::table
        .find(id)
        .select(ReservationRow::as_select())
        .first(conn)
        .optional()?)
}

/// Expires one open reservation whose time is up: the conditional update on `status` decides,
/// so a racing sweeper or capture that got there first leaves it alone. Returns whether this
/// call expired it. The caller holds the account's lock ([`lock_account`]) already, so the
/// reservation is locked after its account, as everywhere.
fn expire(
    conn: &mut AnyConnection,
    id: i64,
    account: i64,
    amount: i64,
    now: NaiveDateTime,
) -> Result<bool, Failure> {
    let expired = diesel::update(
        reservations::table
            .filter(reservations::id.eq(id))
            .filter(reservations::status.eq(OPEN))
            .filter(reservations::expires_at.le(now)),
    )
    .set((
        reservations::status.eq(ReservationStatus::Expired.as_str()),
        reservations::closed_at.eq(Some(now)),
    ))
    .execute(conn)?;
    if expired == 0 {
        return Ok(false);
    }
    let negated = amount.checked_neg().ok_or_else(|| overflow(account))?;
    apply(
        conn,
        &Movement {
            account,
            kind: EntryKind::Expiry,
            balance_delta: 0,
            reserved_delta: negated,
            description: None,
            reservation: Some(id),
            user: None,
            at: now,
            idempotency: None,
        },
    )?
    .ok_or_else(|| Failure::corrupt("reservation", format!("{id} has no account")))?;
    Ok(true)
}

/// `(id, account_id, amount)` of a reservation due to expire.
type Due = (i64, i64, i64);

fn due_reservations(
    conn: &mut AnyConnection,
    account: Option<i64>,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Due>, Failure> {
    let query = reservations::table
        .filter(reservations::status.eq(OPEN))
        .filter(reservations::expires_at.le(now))
        .select((
            reservations::id,
            reservations::account_id,
            reservations::amount,
        ))
        .order((reservations::expires_at, reservations::id))
        .limit(limit);
    Ok(match account {
        Some(account) => query
            .filter(reservations::account_id.eq(account))
            .load(conn)?,
        None => query.load(conn)?,
    })
}

/// Expires every due reservation of one account (the admission's first step); the caller
/// holds the account's lock.
pub(crate) fn expire_account(
    conn: &mut AnyConnection,
    account: i64,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    for (id, account, amount) in due_reservations(conn, Some(account), now, i64::MAX)? {
        expire(conn, id, account, amount, now)?;
    }
    Ok(())
}

/// The account with `reserved` counting only open reservations still running at `now`.
fn account_at(
    conn: &mut AnyConnection,
    customer: i64,
    now: NaiveDateTime,
) -> Result<Option<CreditAccount>, Failure> {
    let Some(row) = accounts::table
        .find(customer)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let lapsed: Vec<i64> = reservations::table
        .filter(reservations::account_id.eq(customer))
        .filter(reservations::status.eq(OPEN))
        .filter(reservations::expires_at.le(now))
        .select(reservations::amount)
        .load(conn)?;
    let lapsed = lapsed
        .into_iter()
        .try_fold(0_i64, i64::checked_add)
        .ok_or_else(|| overflow(customer))?;
    let mut account = row.into_domain()?;
    account.reserved = account.reserved.saturating_sub(lapsed).max(0);
    Ok(Some(account))
}

#[derive(QueryableByName)]
struct LiveAccountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    customer_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    currency: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    balance: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    credit_limit: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    reserved: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    lapsed: i64,
}

/// A live customer's account as [`account_at`] computes it, in one statement ([`LiveAccountAt`]).
pub(crate) fn live_account_at(
    conn: &mut AnyConnection,
    customer: i64,
    now: NaiveDateTime,
) -> Result<Option<CreditAccount>, Failure> {
    let query = LiveAccountAt { now, customer };
    let row: Option<LiveAccountRow> = match conn {
        AnyConnection::Postgresql(c) => query.get_result(c).optional()?,
        AnyConnection::Sqlite(c) => query.get_result(c).optional()?,
    };
    row.map(LiveAccountRow::into_domain).transpose()
}

/// [`live_account_at`] for several customers in one statement (PostgreSQL only:
/// [`LiveAccountsAt`]), keyed by customer id; archived or unknown customers are absent.
pub(crate) fn live_accounts_at(
    conn: &mut diesel::PgConnection,
    customers: Vec<i64>,
    now: NaiveDateTime,
) -> Result<Vec<CreditAccount>, Failure> {
    LiveAccountsAt { now, customers }
        .load::<LiveAccountRow>(conn)?
        .into_iter()
        .map(LiveAccountRow::into_domain)
        .collect()
}

impl LiveAccountRow {
    fn into_domain(self) -> Result<CreditAccount, Failure> {
        let mut account = AccountRow {
            customer_id: self.customer_id,
            currency: self.currency,
            balance: self.balance,
            credit_limit: self.credit_limit,
            reserved: self.reserved,
        }
        .into_domain()?;
        account.reserved = account.reserved.saturating_sub(self.lapsed).max(0);
        Ok(account)
    }
}

pub(crate) fn reservation_by_tag(
    conn: &mut AnyConnection,
    tag: &str,
) -> Result<Option<Reservation>, Failure> {
    reservations::table
        .filter(reservations::idempotency.eq(tag))
        .select(ReservationRow::as_select())
        .first(conn)
        .optional()?
        .map(ReservationRow::into_domain)
        .transpose()
}

fn entry_by_tag(conn: &mut AnyConnection, tag: &str) -> Result<Option<LedgerEntry>, Failure> {
    ledger_entries::table
        .filter(ledger_entries::idempotency.eq(tag))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?
        .map(EntryRow::into_domain)
        .transpose()
}

pub(crate) fn is_unique_violation(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}

/// Why an admission was refused inside its transaction (which still commits the expiries).
pub(crate) enum Refusal {
    NoAccount,
    Refused(CreditRefused),
}

impl From<Refusal> for AdmitError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoAccount => Self::NoAccount,
            Refusal::Refused(refused) => Self::Refused(refused),
        }
    }
}

/// A reservation made (or found by its idempotency tag) by [`admit_in`].
pub(crate) struct Admitted {
    pub(crate) reservation: Reservation,
    /// `false` when the tag named an earlier admission, returned as it is.
    pub(crate) fresh: bool,
}

/// Whether the admission's customer and its paying customer are both live, share-locking
/// their rows until the transaction ends on PostgreSQL. An archive holds them exclusively
/// (`FOR UPDATE`), so this waits for a racing archive and then sees it committed (PostgreSQL
/// re-checks `archived_at` on the newest row version); an archive that comes second waits for
/// the admission and then finds its open reservation. Taking the customer rows before the
/// account row keeps the archive's lock order (customer, then account), so the two never
/// deadlock. SQLite's `BEGIN IMMEDIATE` already serializes writers.
fn lock_live_parties(conn: &mut AnyConnection, admission: &Admission) -> Result<bool, Failure> {
    let mut wanted = vec![admission.customer.get(), admission.account.get()];
    wanted.sort_unstable();
    wanted.dedup();
    // Two comparisons rather than `IN (...)`: a statement of one fixed shape, which diesel
    // keeps prepared (it never caches a list of binds of varying length).
    let query = customers::table
        .filter(
            customers::id
                .eq(admission.customer.get())
                .or(customers::id.eq(admission.account.get())),
        )
        .filter(customers::archived_at.is_null())
        .select(customers::id)
        .order(customers::id);
    let live: Vec<i64> = match conn {
        AnyConnection::Postgresql(c) => query.for_share().load(c)?,
        AnyConnection::Sqlite(c) => query.load(c)?,
    };
    Ok(live == wanted)
}

/// The admission, on a connection inside a write transaction: the idempotency tag, the
/// liveness of both customers, the expiry of the account's due reservations, then the
/// conditional update that re-checks the credit, the reservation and its ledger entry.
/// [`AccountLedger::admit`] and task submission both run exactly this.
pub(crate) fn admit_in(
    conn: &mut AnyConnection,
    admission: &Admission,
) -> Result<Result<Admitted, Refusal>, Failure> {
    if let Some(tag) = admission.idempotency.as_deref()
        && let Some(done) = reservation_by_tag(conn, tag)?
    {
        return Ok(Ok(Admitted {
            reservation: done,
            fresh: false,
        }));
    }
    let account = admission.account.get();
    let cost = admission.amount;
    let now = to_db_time(admission.now);
    if cost <= 0 {
        return Err(Failure::Corrupt(format!(
            "admission of {cost} (amounts are above 0)"
        )));
    }
    // Archived customers have no account to reserve on (nor does an order for one).
    if !lock_live_parties(conn, admission)? {
        return Ok(Err(Refusal::NoAccount));
    }
    // The account before its reservations, as every writer does: expiring first would lock
    // due reservations that a capture or sweeper holding the account then waits for.
    if lock_account(conn, account)?.is_none() {
        return Ok(Err(Refusal::NoAccount));
    }
    expire_account(conn, account, now)?;
    // The admission: check and reserve in one statement.
    let reserve = Reserve::new(account, cost, now);
    let after: Option<(i64, i64)> = match conn {
        AnyConnection::Postgresql(c) => reserve.get_result(c).optional()?,
        AnyConnection::Sqlite(c) => reserve.get_result(c).optional()?,
    };
    let Some((balance_after, reserved_after)) = after else {
        let Some(current) = account_at(conn, account, now)? else {
            return Ok(Err(Refusal::NoAccount));
        };
        let available = current.available();
        return Ok(Err(Refusal::Refused(CreditRefused {
            available: i64::try_from(available).unwrap_or(if available < 0 {
                i64::MIN
            } else {
                i64::MAX
            }),
            requested: cost,
        })));
    };
    let row: ReservationRow = diesel::insert_into(reservations::table)
        .values((
            reservations::account_id.eq(account),
            reservations::customer_id.eq(admission.customer.get()),
            reservations::amount.eq(cost),
            reservations::captured.eq(None::<i64>),
            reservations::status.eq(OPEN),
            reservations::description.eq(admission.description.as_deref()),
            reservations::expires_at.eq(to_db_time(admission.expires_at)),
            reservations::created_at.eq(now),
            reservations::closed_at.eq(None::<NaiveDateTime>),
            reservations::idempotency.eq(admission.idempotency.as_deref()),
        ))
        .returning((
            reservations::id,
            reservations::account_id,
            reservations::customer_id,
            reservations::amount,
            reservations::captured,
            reservations::status,
            reservations::description,
            reservations::expires_at,
            reservations::created_at,
            reservations::closed_at,
        ))
        .get_result(conn)?;
    insert_entry(
        conn,
        &Movement {
            account,
            kind: EntryKind::Reservation,
            balance_delta: 0,
            reserved_delta: cost,
            description: admission.description.as_deref(),
            reservation: Some(row.id),
            user: admission.user.map(UserId::get),
            at: now,
            idempotency: None,
        },
        balance_after,
        reserved_after,
    )?;
    let reservation = row.into_domain()?;
    Ok(Ok(Admitted {
        reservation,
        fresh: true,
    }))
}

/// How a capture or release ended inside its transaction (which commits an expiry met on
/// the way).
pub(crate) enum Settle {
    NotFound,
    NotOpen,
    Exceeds,
}

impl From<Settle> for SettleError {
    fn from(settle: Settle) -> Self {
        match settle {
            Settle::NotFound => Self::NotFound,
            Settle::NotOpen => Self::NotOpen,
            Settle::Exceeds => Self::Exceeds,
        }
    }
}

/// Closes an open reservation of `account`: `captured` is `Some` for a capture (`None`
/// captures all of it), `None` with `capture == false` for a release.
pub(crate) fn settle_in(
    conn: &mut AnyConnection,
    account: i64,
    id: i64,
    capture: Option<Option<i64>>,
    user: Option<i64>,
    now: NaiveDateTime,
    idempotency: Option<&str>,
) -> Result<Result<Reservation, Settle>, Failure> {
    // The account first, then the reservation (the common lock order): a sweeper or an
    // admission expiring this reservation holds the account while it reaches for it.
    if lock_account(conn, account)?.is_none() {
        return Ok(Err(Settle::NotFound));
    }
    let Some(row) = load_reservation(conn, id)?.filter(|r| r.account_id == account) else {
        return Ok(Err(Settle::NotFound));
    };
    // A retry of a settlement that was applied (its answer lost to a crash) finds its own
    // ledger entry by tag and answers the settled reservation, instead of "closed".
    let mut idempotency = idempotency;
    if let Some(tag) = idempotency
        && let Some(entry) = entry_by_tag(conn, tag)?
    {
        if entry.reservation.map(|r| r.0) == Some(id) {
            return row.into_domain().map(Ok);
        }
        // The key tagged another effect long ago (its record since purged): it tags nothing.
        idempotency = None;
    }
    if !row.is_open() {
        return Ok(Err(Settle::NotOpen));
    }
    if row.expires_at <= now {
        expire(conn, row.id, row.account_id, row.amount, now)?;
        return Ok(Err(Settle::NotOpen));
    }
    let captured = match capture {
        Some(amount) => {
            let amount = amount.unwrap_or(row.amount);
            if amount > row.amount {
                return Ok(Err(Settle::Exceeds));
            }
            if amount < 0 {
                return Err(Failure::Corrupt(format!(
                    "capture of {amount} (amounts are not negative)"
                )));
            }
            Some(amount)
        }
        None => None,
    };
    let (status, kind) = match captured {
        Some(_) => (ReservationStatus::Captured, EntryKind::Capture),
        None => (ReservationStatus::Released, EntryKind::Release),
    };
    let closed = diesel::update(
        reservations::table
            .filter(reservations::id.eq(row.id))
            .filter(reservations::status.eq(OPEN)),
    )
    .set((
        reservations::status.eq(status.as_str()),
        reservations::captured.eq(captured),
        reservations::closed_at.eq(Some(now)),
    ))
    .execute(conn)?;
    if closed == 0 {
        return Ok(Err(Settle::NotOpen));
    }
    let balance_delta = match captured {
        Some(amount) => amount.checked_neg().ok_or_else(|| overflow(account))?,
        None => 0,
    };
    let reserved_delta = row.amount.checked_neg().ok_or_else(|| overflow(account))?;
    apply(
        conn,
        &Movement {
            account,
            kind,
            balance_delta,
            reserved_delta,
            description: row.description.as_deref(),
            reservation: Some(row.id),
            user,
            at: now,
            idempotency,
        },
    )?
    .ok_or_else(|| Failure::corrupt("reservation", format!("{id} has no account")))?;
    load_reservation(conn, id)?
        .ok_or_else(|| Failure::corrupt("reservation", "vanished during its settlement"))?
        .into_domain()
        .map(Ok)
}

/// The account row, locked until the transaction ends on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already serializes writers). Every write that touches an account or its
/// reservations calls this before anything else of that account, which gives all of them one
/// lock order (see the module's notes). The lock is `FOR NO KEY UPDATE`, the one the
/// account's own `UPDATE` takes, so taking it early adds no conflict the update would not
/// have had (foreign-key checks of rows pointing to the account still pass).
pub(crate) fn lock_account(
    conn: &mut AnyConnection,
    customer: i64,
) -> Result<Option<AccountRow>, Failure> {
    let query = accounts::table.find(customer);
    Ok(match conn {
        AnyConnection::Postgresql(c) => query
            .select(AccountRow::as_select())
            .for_no_key_update()
            .first(c)
            .optional()?,
        AnyConnection::Sqlite(c) => query.select(AccountRow::as_select()).first(c).optional()?,
    })
}

/// Records a credit limit in the history (`old` is `None` for an account's first limit).
pub(crate) fn record_limit(
    conn: &mut AnyConnection,
    account: i64,
    old: Option<i64>,
    new: i64,
    user: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), Failure> {
    diesel::insert_into(credit_limit_history::table)
        .values((
            credit_limit_history::account_id.eq(account),
            credit_limit_history::old_limit.eq(old),
            credit_limit_history::new_limit.eq(new),
            credit_limit_history::user_id.eq(user),
            credit_limit_history::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets an account's limit, with its history row; `false` when there is no account.
pub(crate) fn set_limit(
    conn: &mut AnyConnection,
    account: i64,
    limit: i64,
    user: Option<i64>,
    now: NaiveDateTime,
) -> Result<bool, Failure> {
    let Some(row) = lock_account(conn, account)? else {
        return Ok(false);
    };
    if row.credit_limit != limit {
        diesel::update(accounts::table.find(account))
            .set((
                accounts::credit_limit.eq(limit),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
        record_limit(conn, account, Some(row.credit_limit), limit, user, now)?;
    }
    Ok(true)
}

fn page_bounds(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.max()),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}

fn total(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

#[async_trait]
impl AccountLedger for Store {
    async fn account(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<CreditAccount>, StoreError> {
        let now = to_db_time(now);
        // One statement is one consistent snapshot on both backends: no transaction needed.
        if self.database().backend() == Backend::Postgres {
            return self
                .account_reads
                .account(self.database(), customer.get(), now)
                .await;
        }
        Ok(self
            .database()
            .point_read(move |conn| live_account_at(conn, customer.get(), now))
            .await?)
    }

    async fn admit(&self, admission: &Admission) -> Result<Reservation, AdmitError> {
        self.admissions
            .admit(self.database(), admission.clone())
            .await
    }

    async fn capture(
        &self,
        account: CustomerId,
        reservation: ReservationId,
        amount: Option<i64>,
        user: Option<UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
    ) -> Result<Reservation, SettleError> {
        let now = to_db_time(now);
        let user = user.map(UserId::get);
        self.database()
            .write(move |conn| {
                settle_in(
                    conn,
                    account.get(),
                    reservation.0,
                    Some(amount),
                    user,
                    now,
                    idempotency.as_deref(),
                )
            })
            .await
            .map_err(SettleError::from)?
            .map_err(SettleError::from)
    }

    async fn release(
        &self,
        account: CustomerId,
        reservation: ReservationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
    ) -> Result<Reservation, SettleError> {
        let now = to_db_time(now);
        let user = user.map(UserId::get);
        self.database()
            .write(move |conn| {
                settle_in(
                    conn,
                    account.get(),
                    reservation.0,
                    None,
                    user,
                    now,
                    idempotency.as_deref(),
                )
            })
            .await
            .map_err(SettleError::from)?
            .map_err(SettleError::from)
    }

    async fn post(&self, posting: &Posting) -> Result<LedgerEntry, AdmitError> {
        let tagged = posting.clone();
        let result = self
            .database()
            .write(move |conn| {
                if let Some(tag) = tagged.idempotency.as_deref()
                    && let Some(done) = entry_by_tag(conn, tag)?
                {
                    return Ok(Some(done));
                }
                apply(
                    conn,
                    &Movement {
                        account: tagged.account.get(),
                        kind: tagged.kind,
                        balance_delta: tagged.balance_delta,
                        reserved_delta: 0,
                        description: tagged.description.as_deref(),
                        reservation: None,
                        user: tagged.user.map(UserId::get),
                        at: to_db_time(tagged.now),
                        idempotency: tagged.idempotency.as_deref(),
                    },
                )
            })
            .await;
        match result {
            Ok(Some(entry)) => Ok(entry),
            Ok(None) => Err(AdmitError::NoAccount),
            Err(failure) if is_unique_violation(&failure) => {
                let Some(tag) = posting.idempotency.clone() else {
                    return Err(AdmitError::Store(failure.into()));
                };
                self.database()
                    .read(move |conn| entry_by_tag(conn, &tag))
                    .await?
                    .ok_or_else(|| AdmitError::Store(failure.into()))
            }
            Err(failure) => Err(AdmitError::Store(failure.into())),
        }
    }

    async fn set_credit_limit(
        &self,
        account: CustomerId,
        limit: i64,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<CreditAccount, AdmitError> {
        let now = to_db_time(now);
        let user = user.map(UserId::get);
        self.database()
            .write(move |conn| {
                if limit < 0 {
                    return Err(Failure::Corrupt(format!(
                        "credit limit {limit} (limits are not negative)"
                    )));
                }
                if !set_limit(conn, account.get(), limit, user, now)? {
                    return Ok(None);
                }
                account_at(conn, account.get(), now)
            })
            .await
            .map_err(AdmitError::from)?
            .ok_or(AdmitError::NoAccount)
    }

    async fn ledger(
        &self,
        account: CustomerId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        let (limit, offset) = page_bounds(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = ledger_entries::table
                    .filter(ledger_entries::account_id.eq(account.get()))
                    .count()
                    .get_result(conn)?;
                let items = ledger_entries::table
                    .filter(ledger_entries::account_id.eq(account.get()))
                    .order(ledger_entries::id.asc())
                    .limit(limit)
                    .offset(offset)
                    .select(EntryRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(EntryRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: total(count),
                })
            })
            .await?)
    }

    async fn reservations(
        &self,
        account: CustomerId,
        page: PageRequest,
    ) -> Result<Page<Reservation>, StoreError> {
        let (limit, offset) = page_bounds(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = reservations::table
                    .filter(reservations::account_id.eq(account.get()))
                    .count()
                    .get_result(conn)?;
                let items = reservations::table
                    .filter(reservations::account_id.eq(account.get()))
                    .order(reservations::id.desc())
                    .limit(limit)
                    .offset(offset)
                    .select(ReservationRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(ReservationRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: total(count),
                })
            })
            .await?)
    }

    async fn sweep_expired(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let now = to_db_time(now);
        let due = self
            .database()
            .read(move |conn| due_reservations(conn, None, now, i64::from(limit)))
            .await?;
        let mut expired = 0_u64;
        // One small transaction each: a long sweep never holds SQLite's write lock for long,
        // and the conditional update lets a racing sweeper take any of them first. The
        // account is locked before its reservation, as by every other writer.
        for (id, account, amount) in due {
            if self
                .database()
                .write(move |conn| {
                    lock_account(conn, account)?;
                    expire(conn, id, account, amount, now)
                })
                .await?
            {
                expired += 1;
            }
        }
        Ok(expired)
    }
}

#[cfg(test)]
mod tests {
    use super::headroom;

    #[test]
    fn headroom_keeps_sums_in_range() {
        assert_eq!(headroom(0), (i64::MIN, i64::MAX));
        assert_eq!(headroom(5), (i64::MIN, i64::MAX - 5));
        assert_eq!(headroom(-5), (i64::MIN + 5, i64::MAX));
        assert_eq!(headroom(i64::MIN), (0, i64::MAX));
    }
}
