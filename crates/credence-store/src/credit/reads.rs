//! The account as a read shows it: the stored row with the reservations past their time no
//! longer counted, whether a write's condition holds of it, and the live customers' accounts
//! in one statement; one entry or reservation of an account.

// Split from the parent module, whose imports it shares.
use super::*;

/// The account with `reserved` counting only open reservations still running at `now`.
pub(crate) fn account_at(
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
    account_of(conn, row, now).map(Some)
}

/// An account as [`account_at`] shows it, from its row as just read or written.
pub(crate) fn account_of(
    conn: &mut AnyConnection,
    row: AccountRow,
    now: NaiveDateTime,
) -> Result<CreditAccount, Failure> {
    let customer = row.customer_id;
    if row.reserved == 0 {
        // Nothing is reserved, so no open reservation holds anything to lapse.
        return row.into_domain(0);
    }
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
    row.into_domain(lapsed)
}

/// Whether `only_if` holds of an account whose row the caller has locked
/// ([`lock_account`]), as a read at `now` would show it ([`account_at`]); the lock keeps it so
/// until the write commits. Without a condition nothing is read.
pub(crate) fn account_meets(
    conn: &mut AnyConnection,
    only_if: &Precondition<CreditAccount>,
    locked: &AccountRow,
    now: NaiveDateTime,
) -> Result<bool, Failure> {
    if !only_if.is_set() {
        return Ok(true);
    }
    let shown = account_of(conn, locked.clone(), now)?;
    Ok(only_if.holds(Some(&shown)))
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

/// Entry `id` of `account`'s ledger, if it is one.
pub(crate) fn entry_of(
    conn: &mut AnyConnection,
    account: i64,
    id: i64,
) -> Result<Option<LedgerEntry>, Failure> {
    let Some(row) = ledger_entries::table
        .find(id)
        .filter(ledger_entries::account_id.eq(account))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let currency = currency_of(conn, account)?;
    row.into_domain(currency).map(Some)
}

/// Reservation `id`, if `account` holds it.
pub(crate) fn reservation_of(
    conn: &mut AnyConnection,
    account: i64,
    id: i64,
) -> Result<Option<Reservation>, Failure> {
    let Some(row) = load_reservation(conn, id)?.filter(|row| row.account_id == account) else {
        return Ok(None);
    };
    let currency = currency_of(conn, account)?;
    row.into_domain(currency).map(Some)
}
