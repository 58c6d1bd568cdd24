//! Credit accounts, reservations and the append-only ledger.
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
    AccountLine, AccountQuery, CreditAccount, CreditRefused, EntryKind, LedgerEntry, LedgerFilter,
    LimitChange, Money, Period, Reservation, ReservationFilter, ReservationId, ReservationStatus,
    StatementSink,
};
use credence_domain::events::{EventObject, EventType};
use credence_domain::ids::{CustomerId, UserId};
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::{
    AccountLedger, Admission, AdmitError, Posting, Precondition, SettleError, StoreError,
};
use credence_domain::values::{CreditLimit, CurrencyCode};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::Store;
use crate::credit::fixed_statements::{LiveAccountAt, LiveAccountsAt, MoveAccount, Reserve};
use crate::customers::{lock_live_customer, to_db_time};
use crate::database::fixed::Fixed;
use crate::database::inner::OnInner as _;
use crate::database::{AnyConnection, Backend, Db};
use crate::error::Failure;
use crate::events::Outbox;
use crate::paging::time_filter;
use crate::schema::{accounts, credit_limit_history, customers, ledger_entries, reservations};

mod admission;
mod alerts;
pub(crate) mod fixed_statements;
pub(crate) mod group_commit;
pub(crate) mod group_read;
mod history;
mod idempotency;
mod overview;
mod pages;
mod reads;
mod requests;
mod rows;
mod settlement;
mod statement;

use pages::account_page;

pub(crate) use admission::*;
use alerts::{After, alerts_of, check_alerts, replace_alerts};
pub(crate) use reads::*;
pub(crate) use rows::*;
pub(crate) use settlement::*;

const OPEN: &str = "open";

/// Whether `account` has an account row.
pub(crate) fn account_exists(conn: &mut AnyConnection, account: i64) -> Result<bool, Failure> {
    Ok(accounts::table
        .find(account)
        .select(accounts::customer_id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// The statement-cache key of a ledger entry's insert ([`Fixed`]).
struct InsertEntry;

/// Writes the ledger entry of a movement the account already took.
pub(crate) fn insert_entry(
    conn: &mut AnyConnection,
    m: &Movement<'_>,
    after: After,
) -> Result<LedgerEntry, Failure> {
    let (balance_after, reserved_after) = (after.balance, after.reserved);
    let id: i64 = Fixed::<_, InsertEntry>::new(
        diesel::insert_into(ledger_entries::table)
            .values(NewEntry {
                account_id: m.account,
                kind: m.kind.as_str(),
                balance_delta: m.balance_delta,
                reserved_delta: m.reserved_delta,
                balance_after,
                reserved_after,
                description: m.description,
                reservation_id: m.reservation.map(|r| r.id.0),
                user_id: m.user,
                at: m.at,
                idempotency: m.idempotency,
            })
            .returning(ledger_entries::id),
    )
    .get_result_on(conn)?;
    let money = |minor| Money::from_minor(minor, m.currency);
    let entry = LedgerEntry {
        id,
        account: CustomerId(m.account),
        kind: m.kind,
        balance_delta: money(m.balance_delta),
        reserved_delta: money(m.reserved_delta),
        balance_after: money(balance_after),
        reserved_after: money(reserved_after),
        description: m.description.map(str::to_owned),
        reservation: m.reservation.map(|r| r.id),
        user: m.user.map(UserId),
        at: m.at.and_utc(),
    };
    let (kind, object) = match (m.kind, m.reservation) {
        (EntryKind::Payment, _) => (EventType::AccountPayment, EventObject::Entry(&entry)),
        (EntryKind::Charge, _) => (EventType::AccountCharge, EventObject::Entry(&entry)),
        (EntryKind::Adjustment, _) => (EventType::AccountAdjustment, EventObject::Entry(&entry)),
        (EntryKind::Reservation, Some(r)) => {
            (EventType::ReservationAdmitted, EventObject::Reservation(r))
        }
        (EntryKind::Capture, Some(r)) => {
            (EventType::ReservationCaptured, EventObject::Reservation(r))
        }
        (EntryKind::Release, Some(r)) => {
            (EventType::ReservationReleased, EventObject::Reservation(r))
        }
        (EntryKind::Expiry, Some(r)) => {
            (EventType::ReservationExpired, EventObject::Reservation(r))
        }
        (kind, None) => {
            return Err(Failure::Broken(format!(
                "a {} entry without its reservation",
                kind.as_str()
            )));
        }
    };
    m.outbox.record(conn, kind, entry.account, object, m.at)?;
    if after.has_alerts {
        check_alerts(conn, m, &entry, after)?;
    }
    Ok(entry)
}

/// Moves an account and writes its entry; `None` when the account does not exist. A movement
/// in another currency than the account's moves nothing and fails.
fn apply(conn: &mut AnyConnection, m: &Movement<'_>) -> Result<Option<LedgerEntry>, Failure> {
    let movement = MoveAccount {
        account: m.account,
        currency: m.currency.code().to_owned(),
        balance_delta: m.balance_delta,
        reserved_delta: m.reserved_delta,
        balance_bounds: headroom(m.balance_delta),
        reserved_bounds: headroom(m.reserved_delta),
        now: m.at,
    };
    let after: Option<(i64, i64, i64, bool)> = match conn {
        AnyConnection::Postgresql(c) => movement.get_result(c).optional()?,
        AnyConnection::Sqlite(c) => movement.get_result(c).optional()?,
    };
    match after {
        Some((balance, reserved, credit_limit, has_alerts)) => insert_entry(
            conn,
            m,
            After {
                balance,
                reserved,
                credit_limit,
                has_alerts,
            },
        )
        .map(Some),
        None if account_exists(conn, m.account)? => {
            let currency = currency_of(conn, m.account)?;
            if currency == m.currency {
                Err(overflow(m.account))
            } else {
                Err(other_currency(m.account, currency, m.currency))
            }
        }
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
    outbox: &Outbox<'_>,
    id: i64,
    account: &AccountRow,
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
    let negated = amount
        .checked_neg()
        .ok_or_else(|| overflow(account.customer_id))?;
    let currency = account.currency()?;
    let expired = load_reservation(conn, id)?
        .ok_or_else(|| Failure::corrupt("reservation", "vanished during its expiry"))?
        .into_domain(currency)?;
    apply(
        conn,
        &Movement {
            account: account.customer_id,
            currency,
            kind: EntryKind::Expiry,
            balance_delta: 0,
            reserved_delta: negated,
            description: None,
            reservation: Some(&expired),
            user: None,
            at: now,
            idempotency: None,
            outbox,
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
/// holds the account's lock, whose row this is.
pub(crate) fn expire_account(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    account: &AccountRow,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    for (id, _, amount) in due_reservations(conn, Some(account.customer_id), now, i64::MAX)? {
        expire(conn, outbox, id, account, amount, now)?;
    }
    Ok(())
}

pub(crate) fn reservation_by_tag(
    conn: &mut AnyConnection,
    tag: &str,
) -> Result<Option<Reservation>, Failure> {
    let Some(row) = reservations::table
        .filter(reservations::idempotency.eq(tag))
        .select(ReservationRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let currency = currency_of(conn, row.account_id)?;
    row.into_domain(currency).map(Some)
}

fn entry_by_tag(conn: &mut AnyConnection, tag: &str) -> Result<Option<LedgerEntry>, Failure> {
    let Some(row) = ledger_entries::table
        .filter(ledger_entries::idempotency.eq(tag))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let currency = currency_of(conn, row.account_id)?;
    row.into_domain(currency).map(Some)
}

impl Store {
    /// Passes an admission's error on, first recording a credit refusal's event in a
    /// transaction of its own: the admission's own transaction moved nothing for it (and a
    /// task's rolled back), but other systems learn of every refusal. When that write fails,
    /// the refusal still stands and the failure is logged.
    pub(crate) async fn refused(&self, admission: &Admission, error: AdmitError) -> AdmitError {
        let AdmitError::Refused(refused) = &error else {
            return error;
        };
        let refusal = credence_domain::events::Refusal {
            account: admission.account,
            customer: admission.customer,
            requested: refused.requested,
            available: refused.available,
            description: admission.description.clone(),
            at: admission.now,
        };
        let events = self.events.clone();
        let written = self
            .database()
            .write(move |conn| {
                Outbox::open(conn, &*events, &[refusal.account])?.record(
                    conn,
                    EventType::ReservationRefused,
                    refusal.account,
                    EventObject::Refusal(&refusal),
                    to_db_time(refusal.at),
                )
            })
            .await;
        if let Err(failure) = written {
            tracing::warn!(
                error = ?failure,
                account = admission.account.get(),
                "the event of a credit refusal could not be written"
            );
        }
        error
    }

    /// Captures (`capture` is `Some`, all of the reservation for `Some(None)`) or releases
    /// (`None`) in a transaction of its own: the two port operations differ only in that.
    #[expect(
        clippy::too_many_arguments,
        reason = "the port operations' own, passed on"
    )]
    async fn settle(
        &self,
        account: CustomerId,
        reservation: ReservationId,
        capture: Option<Option<Money>>,
        user: Option<UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, SettleError> {
        let now = to_db_time(now);
        let user = user.map(UserId::get);
        let events = self.events.clone();
        self.database()
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[account])?;
                let closing = Closing {
                    user,
                    now,
                    idempotency: idempotency.as_deref(),
                };
                settle_in(
                    conn,
                    &outbox,
                    account.get(),
                    reservation.0,
                    capture,
                    closing,
                    &only_if,
                )
            })
            .await
            .map_err(SettleError::from)?
            .map_err(SettleError::from)
    }
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

    async fn admit(
        &self,
        admission: &Admission,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, AdmitError> {
        match self
            .admissions
            .admit(self.database(), &self.events, admission.clone(), only_if)
            .await
        {
            Err(error) => Err(self.refused(admission, error).await),
            admitted => admitted,
        }
    }

    async fn capture(
        &self,
        account: CustomerId,
        reservation: ReservationId,
        amount: Option<Money>,
        user: Option<UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, SettleError> {
        self.settle(
            account,
            reservation,
            Some(amount),
            user,
            now,
            idempotency,
            only_if,
        )
        .await
    }

    async fn release(
        &self,
        account: CustomerId,
        reservation: ReservationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
        idempotency: Option<String>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, SettleError> {
        self.settle(account, reservation, None, user, now, idempotency, only_if)
            .await
    }

    async fn post(
        &self,
        posting: &Posting,
        only_if: Precondition<CreditAccount>,
    ) -> Result<LedgerEntry, AdmitError> {
        let tagged = posting.clone();
        let events = self.events.clone();
        let result = self
            .database()
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[tagged.account])?;
                if let Some(tag) = tagged.idempotency.as_deref()
                    && let Some(done) = entry_by_tag(conn, tag)?
                {
                    return Ok(Ok(done));
                }
                // The customer live, share-locked before its account as an admission does: an
                // archive (which found the balance at zero) either waits for the posting and
                // then finds money, or commits first and the posting finds no account.
                if !lock_live_customer(conn, tagged.account.get(), false)? {
                    return Ok(Err(Refusal::NoAccount));
                }
                let at = to_db_time(tagged.now);
                if only_if.is_set() {
                    let Some(locked) = lock_account(conn, tagged.account.get())? else {
                        return Ok(Err(Refusal::NoAccount));
                    };
                    if !account_meets(conn, &only_if, &locked, at)? {
                        return Ok(Err(Refusal::Unmet));
                    }
                }
                let applied = apply(
                    conn,
                    &Movement {
                        account: tagged.account.get(),
                        currency: tagged.balance_delta.currency(),
                        kind: tagged.kind,
                        balance_delta: tagged.balance_delta.minor(),
                        reserved_delta: 0,
                        description: tagged.description.as_deref(),
                        reservation: None,
                        user: tagged.user.map(UserId::get),
                        at,
                        idempotency: tagged.idempotency.as_deref(),
                        outbox: &outbox,
                    },
                )?;
                Ok(applied.ok_or(Refusal::NoAccount))
            })
            .await;
        match result {
            Ok(Ok(entry)) => Ok(entry),
            Ok(Err(refusal)) => Err(refusal.into()),
            Err(failure) if is_unique_violation(&failure) => {
                let Some(tag) = posting.idempotency.clone() else {
                    return Err(AdmitError::Store(failure.into()));
                };
                self.database()
                    .read(move |conn| entry_by_tag(conn, &tag))
                    .await?
                    .ok_or_else(|| AdmitError::Store(failure.into()))
            }
            Err(failure) => Err(failure.into()),
        }
    }

    async fn set_credit_limit(
        &self,
        account: CustomerId,
        limit: CreditLimit,
        user: Option<UserId>,
        reason: Option<String>,
        now: DateTime<Utc>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<CreditAccount, AdmitError> {
        let now = to_db_time(now);
        let user = user.map(UserId::get);
        let events = self.events.clone();
        Ok(self
            .database()
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[account])?;
                let Some(locked) = lock_account(conn, account.get())? else {
                    return Ok(Err(Refusal::NoAccount));
                };
                if !account_meets(conn, &only_if, &locked, now)? {
                    return Ok(Err(Refusal::Unmet));
                }
                let by = (user, reason.as_deref());
                set_limit_apart(conn, &outbox, locked, limit, by, None, now)?;
                Ok(account_at(conn, account.get(), now)?.ok_or(Refusal::NoAccount))
            })
            .await??)
    }

    async fn account_as_of(
        &self,
        account: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Option<CreditAccount>, StoreError> {
        let at = to_db_time(at);
        Ok(self
            .database()
            .read(move |conn| history::account_as_of(conn, account.get(), at))
            .await?)
    }

    async fn overview(&self, query: &AccountQuery) -> Result<Page<AccountLine>, StoreError> {
        let query = *query;
        Ok(self
            .database()
            .read(move |conn| overview::overview(conn, &query))
            .await?)
    }

    async fn statement(
        &self,
        account: CustomerId,
        period: Period,
        mut sink: Box<dyn StatementSink>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .database()
            .read(move |conn| statement::statement(conn, account.get(), period, sink.as_mut()))
            .await?)
    }

    async fn limit_history(
        &self,
        account: CustomerId,
        page: PageRequest,
    ) -> Result<Page<LimitChange>, StoreError> {
        account_page(
            self,
            account,
            page,
            |conn, account| {
                Ok(credit_limit_history::table
                    .filter(credit_limit_history::account_id.eq(account))
                    .count()
                    .get_result(conn)?)
            },
            history::changes,
        )
        .await
    }

    async fn alerts(&self, account: CustomerId) -> Result<Option<Vec<Money>>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| alerts_of(conn, account.get()))
            .await?)
    }

    async fn set_alerts(
        &self,
        account: CustomerId,
        thresholds: &[Money],
    ) -> Result<bool, StoreError> {
        let thresholds = thresholds.to_vec();
        Ok(self
            .database()
            .write(move |conn| replace_alerts(conn, account.get(), &thresholds))
            .await?)
    }

    async fn ledger(
        &self,
        account: CustomerId,
        filter: LedgerFilter,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        account_page(
            self,
            account,
            page,
            move |conn, account| Ok(entries(account, filter).count().get_result(conn)?),
            move |conn, account, (limit, offset), currency| {
                entries(account, filter)
                    .order(ledger_entries::id.asc())
                    .limit(limit)
                    .offset(offset)
                    .select(EntryRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(|row| row.into_domain(currency))
                    .collect()
            },
        )
        .await
    }

    async fn entry(&self, account: CustomerId, id: i64) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| entry_of(conn, account.get(), id))
            .await?)
    }

    async fn reservation(
        &self,
        account: CustomerId,
        id: ReservationId,
    ) -> Result<Option<Reservation>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| reservation_of(conn, account.get(), id.0))
            .await?)
    }

    async fn reservations(
        &self,
        account: CustomerId,
        filter: ReservationFilter,
        page: PageRequest,
    ) -> Result<Page<Reservation>, StoreError> {
        account_page(
            self,
            account,
            page,
            move |conn, account| Ok(held(account, filter).count().get_result(conn)?),
            move |conn, account, (limit, offset), currency| {
                held(account, filter)
                    .order(reservations::id.desc())
                    .limit(limit)
                    .offset(offset)
                    .select(ReservationRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(|row| row.into_domain(currency))
                    .collect()
            },
        )
        .await
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
            let events = self.events.clone();
            if self
                .database()
                .write(move |conn| {
                    let outbox = Outbox::open(conn, &*events, &[CustomerId(account)])?;
                    match lock_account(conn, account)? {
                        Some(row) => expire(conn, &outbox, id, &row, amount, now),
                        None => Ok(false),
                    }
                })
                .await?
            {
                expired += 1;
            }
        }
        Ok(expired)
    }
}

/// An account's ledger entries that pass `filter`.
fn entries(account: i64, filter: LedgerFilter) -> ledger_entries::BoxedQuery<'static, Db> {
    let mut query = ledger_entries::table
        .filter(ledger_entries::account_id.eq(account))
        .into_boxed();
    query = time_filter!(query, ledger_entries::at, &filter.date_created);
    if let Some(kind) = filter.kind {
        query = query.filter(ledger_entries::kind.eq(kind.as_str()));
    }
    query
}

/// An account's reservations that pass `filter`.
fn held(account: i64, filter: ReservationFilter) -> reservations::BoxedQuery<'static, Db> {
    let query = reservations::table
        .filter(reservations::account_id.eq(account))
        .into_boxed();
    time_filter!(query, reservations::created_at, &filter.date_created)
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
