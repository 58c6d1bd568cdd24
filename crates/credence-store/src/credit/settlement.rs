//! Captures and releases of reservations, and credit-limit changes with their history.

// Split from the parent module, whose imports it shares.
use super::*;
use crate::credit::fixed_statements::{LockAndSetLimit, SetCreditLimit};
use crate::database::write_behind;

impl From<Settle> for SettleError {
    fn from(settle: Settle) -> Self {
        match settle {
            Settle::NotFound => Self::NotFound,
            Settle::NotOpen => Self::NotOpen,
            Settle::Exceeds => Self::Exceeds,
            Settle::Unmet => Self::Unmet,
        }
    }
}

/// Who closes a reservation, when, and the idempotency tag of the request that asked.
pub(crate) struct Closing<'a> {
    pub(crate) user: Option<i64>,
    pub(crate) now: NaiveDateTime,
    pub(crate) idempotency: Option<&'a str>,
}

/// Closes an open reservation of `account`: `captured` is `Some` for a capture (`None`
/// captures all of it), `None` with `capture == false` for a release. A repeat of a
/// settlement already made answers it; anything else first needs the account to meet
/// `only_if`.
pub(crate) fn settle_in(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    account: i64,
    id: i64,
    capture: Option<Option<Money>>,
    closing: Closing<'_>,
    only_if: &Precondition<CreditAccount>,
) -> Result<Result<Reservation, Settle>, Failure> {
    let Closing {
        user,
        now,
        idempotency,
    } = closing;
    // The account first, then the reservation (the common lock order): a sweeper or an
    // admission expiring this reservation holds the account while it reaches for it.
    let Some(locked) = lock_account(conn, account)? else {
        return Ok(Err(Settle::NotFound));
    };
    let currency = locked.currency()?;
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
            return row.into_domain(currency).map(Ok);
        }
        // The key tagged another effect long ago (its record since purged): it tags nothing.
        idempotency = None;
    }
    if !account_meets(conn, only_if, &locked, now)? {
        return Ok(Err(Settle::Unmet));
    }
    if !row.is_open() {
        return Ok(Err(Settle::NotOpen));
    }
    if row.expires_at <= now {
        expire(conn, outbox, row.id, &locked, row.amount, now)?;
        return Ok(Err(Settle::NotOpen));
    }
    let captured = match capture {
        Some(amount) => {
            if let Some(asked) = amount
                && asked.currency() != currency
            {
                return Err(other_currency(account, currency, asked.currency()));
            }
            let amount = amount.map_or(row.amount, |a| a.minor());
            if amount > row.amount {
                return Ok(Err(Settle::Exceeds));
            }
            if amount < 0 {
                return Err(Failure::Broken(format!(
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
    let settled = load_reservation(conn, id)?
        .ok_or_else(|| Failure::corrupt("reservation", "vanished during its settlement"))?
        .into_domain(currency)?;
    apply(
        conn,
        &Movement {
            account,
            currency,
            kind,
            balance_delta,
            reserved_delta,
            description: row.description.as_deref(),
            reservation: Some(&settled),
            user,
            at: now,
            idempotency,
            outbox,
        },
    )?
    .ok_or_else(|| Failure::corrupt("reservation", format!("{id} has no account")))?;
    Ok(Ok(settled))
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

/// Records a credit limit in the history (`old` is `None` for an account's first limit), with
/// who set it and why.
pub(crate) fn record_limit(
    conn: &mut AnyConnection,
    account: i64,
    old: Option<i64>,
    new: i64,
    by: (Option<i64>, Option<&str>),
    at: NaiveDateTime,
) -> Result<(), Failure> {
    record_approved_limit(conn, account, (old, new), by, None, at)
}

/// Records a credit limit in the history as [`record_limit`] does, with the admin who
/// approved it where it needed an approval (a four-eyes request).
pub(crate) fn record_approved_limit(
    conn: &mut AnyConnection,
    account: i64,
    (old, new): (Option<i64>, i64),
    (user, reason): (Option<i64>, Option<&str>),
    approver: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), Failure> {
    let row = LimitRow {
        account_id: account,
        old_limit: old,
        new_limit: new,
        user_id: user,
        reason: reason.map(str::to_owned),
        approved_by: approver,
        at,
    };
    // In an import's unit the row waits to go in with the other lines' (`write_behind`).
    let Some(row) = write_behind::hold(row, |held: &mut HeldLimits, row| held.0.push(row)) else {
        return Ok(());
    };
    // One row by itself: a statement of one row is prepared once per connection, a batch
    // of one would be prepared anew each time.
    match conn {
        AnyConnection::Sqlite(c) => diesel::insert_into(credit_limit_history::table)
            .values(&row)
            .execute(c)?,
        AnyConnection::Postgresql(c) => diesel::insert_into(credit_limit_history::table)
            .values(&row)
            .execute(c)?,
    };
    Ok(())
}

/// One row of the credit-limit history.
#[derive(Insertable)]
#[diesel(table_name = credit_limit_history, treat_none_as_default_value = false)]
struct LimitRow {
    account_id: i64,
    old_limit: Option<i64>,
    new_limit: i64,
    user_id: Option<i64>,
    reason: Option<String>,
    approved_by: Option<i64>,
    at: NaiveDateTime,
}

/// History rows waiting to go in ([`write_behind`]), in the order they were written (their
/// ids keep it: the history reads newest first by id).
#[derive(Default)]
struct HeldLimits(Vec<LimitRow>);

impl write_behind::Held for HeldLimits {
    fn insert(self, conn: &mut AnyConnection) -> Result<(), Failure> {
        insert_limits(conn, &self.0)
    }
}

/// Rows per `INSERT` of history: SQLite allows 32,766 bound parameters, seven per row.
const LIMITS_PER_INSERT: usize = 4_000;

fn insert_limits(conn: &mut AnyConnection, rows: &[LimitRow]) -> Result<(), Failure> {
    for chunk in rows.chunks(LIMITS_PER_INSERT) {
        diesel::insert_into(credit_limit_history::table)
            .values(chunk)
            .execute_on(conn)?;
    }
    Ok(())
}

/// Sets an account's limit, with its history row and its event, naming in the history the
/// admin who approved it (`approver`, for a four-eyes request); `false` when there is no
/// account.
pub(crate) fn set_approved_limit(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    account: i64,
    limit: CreditLimit,
    by: (Option<i64>, Option<&str>),
    approver: Option<i64>,
    now: NaiveDateTime,
) -> Result<bool, Failure> {
    let Some(row) = lock_account(conn, account)? else {
        return Ok(false);
    };
    set_limit_apart(conn, outbox, row, limit, by, approver, now)?;
    Ok(true)
}

/// Sets the limit of a locked account outside a write of its customer (the limit's own route,
/// an approval) and, when it changed, moves the customer's revision on: the customer's
/// representation shows the limit, so a customer write that read it before is stale and
/// reads it again, instead of writing the limit it read back over this one.
pub(crate) fn set_limit_apart(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    row: AccountRow,
    limit: CreditLimit,
    by: (Option<i64>, Option<&str>),
    approver: Option<i64>,
    now: NaiveDateTime,
) -> Result<AccountRow, Failure> {
    let before = row.credit_limit;
    let written = set_locked_limit(conn, outbox, row, limit, by, approver, now)?;
    if written.credit_limit != before {
        diesel::update(customers::table.find(written.customer_id))
            .set(customers::revision.eq(customers::revision + 1))
            .execute(conn)?;
    }
    Ok(written)
}

/// Sets the limit of an account whose row the caller has locked ([`lock_account`]) as
/// [`set_approved_limit`] does, and answers the row as written.
pub(crate) fn set_locked_limit(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    row: AccountRow,
    limit: CreditLimit,
    by: (Option<i64>, Option<&str>),
    approver: Option<i64>,
    now: NaiveDateTime,
) -> Result<AccountRow, Failure> {
    let account = row.customer_id;
    if row.currency()? != limit.currency() {
        return Err(other_currency(account, row.currency()?, limit.currency()));
    }
    let limit = limit.minor_units();
    if row.credit_limit == limit {
        return Ok(row);
    }
    let update = SetCreditLimit {
        account,
        limit,
        now,
    };
    let changed: AccountRow = match conn {
        AnyConnection::Postgresql(c) => update.get_result(c)?,
        AnyConnection::Sqlite(c) => update.get_result(c)?,
    };
    limit_was_set(conn, outbox, row.credit_limit, changed, by, approver, now)
}

/// What follows a limit's change from `before` to the one of `changed`: its history row and
/// its event. Answers `changed`.
fn limit_was_set(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    before: i64,
    changed: AccountRow,
    by: (Option<i64>, Option<&str>),
    approver: Option<i64>,
    now: NaiveDateTime,
) -> Result<AccountRow, Failure> {
    let account = changed.customer_id;
    let limits = (Some(before), changed.credit_limit);
    record_approved_limit(conn, account, limits, by, approver, now)?;
    let shown = account_of(conn, changed.clone(), now)?;
    outbox.record(
        conn,
        EventType::AccountCreditLimitChanged,
        CustomerId(account),
        EventObject::Account(&shown),
        now,
    )?;
    Ok(changed)
}

/// Locks an account and, when it is in `limit`'s currency and has another limit, sets
/// `limit`, in one statement on PostgreSQL (a customer's update in an import, where every
/// round trip counts); elsewhere [`lock_account`] alone. Answers the row as locked, and
/// whether its limit was set: then the change is complete (history, event) and the answer
/// is the row as written.
pub(crate) fn lock_and_set_limit(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    customer: i64,
    limit: CreditLimit,
    by: (Option<i64>, Option<&str>),
    now: NaiveDateTime,
) -> Result<Option<(AccountRow, bool)>, Failure> {
    let AnyConnection::Postgresql(c) = conn else {
        return Ok(lock_account(conn, customer)?.map(|row| (row, false)));
    };
    let statement = LockAndSetLimit {
        account: customer,
        currency: limit.currency().code(),
        limit: limit.minor_units(),
        now,
    };
    let Some((locked, set)) = statement.get_result::<LockedAndSet>(c).optional()? else {
        return Ok(None);
    };
    let (Some(balance), Some(credit_limit), Some(reserved)) = set else {
        return Ok(Some((locked, false)));
    };
    let changed = AccountRow {
        balance,
        credit_limit,
        reserved,
        ..locked.clone()
    };
    let written = limit_was_set(conn, outbox, locked.credit_limit, changed, by, None, now)?;
    Ok(Some((written, true)))
}

/// [`LockAndSetLimit`]'s row: the account as locked, then its balance, limit and reserved
/// amount as written, when the limit was set.
type LockedAndSet = (AccountRow, (Option<i64>, Option<i64>, Option<i64>));
