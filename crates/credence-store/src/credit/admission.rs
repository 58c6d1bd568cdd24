//! An admission inside a transaction: the payer and the customer locked live, the credit
//! check and the reservation in one conditional `UPDATE`, the reservation and its entry.

// Split from the parent module, whose imports it shares.
use super::*;

pub(crate) fn is_unique_violation(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}

/// Why an admission (or a posting) was refused inside its transaction (which still commits
/// the expiries).
pub(crate) enum Refusal {
    NoAccount,
    /// The ordering customer is on hold (with this reason) or inactive, as its locked row
    /// shows (an admission's own check).
    OnHold(Option<String>),
    Inactive,
    Refused(CreditRefused),
    /// The account did not meet the write's [`Precondition`].
    Unmet,
}

impl From<Refusal> for AdmitError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoAccount => Self::NoAccount,
            Refusal::OnHold(reason) => Self::OnHold(reason),
            Refusal::Inactive => Self::Inactive,
            Refusal::Refused(refused) => Self::Refused(refused),
            Refusal::Unmet => Self::Unmet,
        }
    }
}

/// A reservation made (or found by its idempotency tag) by [`admit_in`].
pub(crate) struct Admitted {
    pub(crate) reservation: Reservation,
    /// `false` when the tag named an earlier admission, returned as it is.
    pub(crate) fresh: bool,
}

/// Whether the admission's customer and its paying customer are both live and the customer
/// may order (active, not on hold), share-locking their rows until the transaction ends on
/// PostgreSQL. The service checked the customer on its own read; this check under the lock
/// makes a hold or a deactivation that commits before the admission refuse it, and one that
/// comes after wait for it. An archive holds the rows exclusively (`FOR UPDATE`), so this
/// waits for a racing archive and then sees it committed (PostgreSQL re-checks `archived_at`
/// on the newest row version); an archive that comes second waits for the admission and then
/// finds its open reservation. Taking the customer rows before the account row keeps the
/// archive's lock order (customer, then account), so the two never deadlock. SQLite's
/// `BEGIN IMMEDIATE` already serializes writers.
pub(crate) fn lock_live_parties(
    conn: &mut AnyConnection,
    admission: &Admission,
) -> Result<Result<(), Refusal>, Failure> {
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
        .select((
            customers::id,
            customers::is_active,
            customers::on_hold,
            customers::on_hold_reason,
        ))
        .order(customers::id);
    let live: Vec<(i64, bool, bool, Option<String>)> = match conn {
        AnyConnection::Postgresql(c) => query.for_share().load(c)?,
        AnyConnection::Sqlite(c) => query.load(c)?,
    };
    if live.iter().map(|row| row.0).ne(wanted.iter().copied()) {
        return Ok(Err(Refusal::NoAccount));
    }
    let customer = live
        .into_iter()
        .find(|row| row.0 == admission.customer.get());
    Ok(match customer {
        Some((_, false, _, _)) => Err(Refusal::Inactive),
        Some((_, true, true, reason)) => Err(Refusal::OnHold(reason)),
        _ => Ok(()),
    })
}

/// The admission, on a connection inside a write transaction: the idempotency tag, the
/// liveness of both customers, the account's lock and `only_if` on it, the expiry of the
/// account's due reservations, then the conditional update that re-checks the credit, the
/// reservation and its ledger entry. [`AccountLedger::admit`] and task submission both run
/// exactly this.
pub(crate) fn admit_in(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    admission: &Admission,
    only_if: &Precondition<CreditAccount>,
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
    let currency = admission.amount.currency();
    let cost = admission.amount.minor();
    let now = to_db_time(admission.now);
    if cost <= 0 {
        return Err(Failure::Broken(format!(
            "admission of {cost} (amounts are above 0)"
        )));
    }
    // Archived customers have no account to reserve on (nor does an order for one).
    if let Err(refusal) = lock_live_parties(conn, admission)? {
        return Ok(Err(refusal));
    }
    // The account before its reservations, as every writer does: expiring first would lock
    // due reservations that a capture or sweeper holding the account then waits for.
    let Some(locked) = lock_account(conn, account)? else {
        return Ok(Err(Refusal::NoAccount));
    };
    if locked.currency()? != currency {
        return Err(other_currency(account, locked.currency()?, currency));
    }
    if !account_meets(conn, only_if, &locked, now)? {
        return Ok(Err(Refusal::Unmet));
    }
    expire_account(conn, outbox, &locked, now)?;
    // The admission: check and reserve in one statement.
    let reserve = Reserve::new(account, cost, now);
    let after: Option<(i64, i64, i64, bool)> = match conn {
        AnyConnection::Postgresql(c) => reserve.get_result(c).optional()?,
        AnyConnection::Sqlite(c) => reserve.get_result(c).optional()?,
    };
    let Some((balance, reserved, credit_limit, has_alerts)) = after else {
        let Some(current) = account_at(conn, account, now)? else {
            return Ok(Err(Refusal::NoAccount));
        };
        return Ok(Err(Refusal::Refused(CreditRefused {
            available: current.available(),
            requested: admission.amount,
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
    let reservation = row.into_domain(currency)?;
    insert_entry(
        conn,
        &Movement {
            account,
            currency,
            kind: EntryKind::Reservation,
            balance_delta: 0,
            reserved_delta: cost,
            description: admission.description.as_deref(),
            reservation: Some(&reservation),
            user: admission.user.map(UserId::get),
            at: now,
            idempotency: None,
            outbox,
        },
        After {
            balance,
            reserved,
            credit_limit,
            has_alerts,
        },
    )?;
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
    /// The account did not meet the write's [`Precondition`].
    Unmet,
}
