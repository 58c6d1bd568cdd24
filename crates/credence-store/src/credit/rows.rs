//! Accounts, reservations and ledger entries as stored, and the movement that changes an
//! account and writes its entry.

// Split from the parent module, whose imports it shares.
use super::*;

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
    pub(crate) fn currency(&self) -> Result<CurrencyCode, Failure> {
        parse_currency(&self.currency)
    }

    /// The account, with `lapsed` (open reservations whose time is up, not yet expired) no
    /// longer counted in `reserved`.
    pub(crate) fn into_domain(self, lapsed: i64) -> Result<CreditAccount, Failure> {
        Ok(CreditAccount::from_minor(
            CustomerId(self.customer_id),
            self.currency()?,
            self.balance,
            self.credit_limit,
            self.reserved.saturating_sub(lapsed).max(0),
        ))
    }
}

pub(crate) fn parse_currency(code: &str) -> Result<CurrencyCode, Failure> {
    CurrencyCode::parse(code).map_err(|e| Failure::corrupt("account currency", e))
}

/// The currency of an account, which its reservations and entries are in.
pub(crate) fn currency_of(conn: &mut AnyConnection, account: i64) -> Result<CurrencyCode, Failure> {
    let code: String = accounts::table
        .find(account)
        .select(accounts::currency)
        .first(conn)
        .optional()?
        .ok_or_else(|| Failure::corrupt("account", format!("{account} is missing")))?;
    parse_currency(&code)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = reservations)]
pub(crate) struct ReservationRow {
    pub(crate) id: i64,
    pub(crate) account_id: i64,
    pub(crate) customer_id: i64,
    pub(crate) amount: i64,
    pub(crate) captured: Option<i64>,
    pub(crate) status: String,
    pub(crate) description: Option<String>,
    pub(crate) expires_at: NaiveDateTime,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) closed_at: Option<NaiveDateTime>,
}

impl ReservationRow {
    /// The reservation, held in `currency` (its account's).
    pub(crate) fn into_domain(self, currency: CurrencyCode) -> Result<Reservation, Failure> {
        Ok(Reservation {
            id: ReservationId(self.id),
            account: CustomerId(self.account_id),
            customer: CustomerId(self.customer_id),
            amount: Money::from_minor(self.amount, currency),
            captured: self.captured.map(|c| Money::from_minor(c, currency)),
            status: ReservationStatus::parse(&self.status)
                .ok_or_else(|| Failure::corrupt("reservation status", self.status.as_str()))?,
            description: self.description,
            expires_at: self.expires_at.and_utc(),
            created_at: self.created_at.and_utc(),
            closed_at: self.closed_at.map(|at| at.and_utc()),
        })
    }

    pub(crate) fn is_open(&self) -> bool {
        self.status == OPEN
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
pub(crate) struct EntryRow {
    pub(crate) id: i64,
    pub(crate) account_id: i64,
    pub(crate) kind: String,
    pub(crate) balance_delta: i64,
    pub(crate) reserved_delta: i64,
    pub(crate) balance_after: i64,
    pub(crate) reserved_after: i64,
    pub(crate) description: Option<String>,
    pub(crate) reservation_id: Option<i64>,
    pub(crate) user_id: Option<i64>,
    pub(crate) at: NaiveDateTime,
}

impl EntryRow {
    /// The entry of an account in `currency`.
    pub(crate) fn into_domain(self, currency: CurrencyCode) -> Result<LedgerEntry, Failure> {
        let money = |minor| Money::from_minor(minor, currency);
        Ok(LedgerEntry {
            id: self.id,
            account: CustomerId(self.account_id),
            kind: EntryKind::parse(&self.kind)
                .ok_or_else(|| Failure::corrupt("ledger entry kind", self.kind.as_str()))?,
            balance_delta: money(self.balance_delta),
            reserved_delta: money(self.reserved_delta),
            balance_after: money(self.balance_after),
            reserved_after: money(self.reserved_after),
            description: self.description,
            reservation: self.reservation_id.map(ReservationId),
            user: self.user_id.map(UserId),
            at: self.at.and_utc(),
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries, treat_none_as_default_value = false)]
pub(crate) struct NewEntry<'a> {
    pub(crate) account_id: i64,
    pub(crate) kind: &'static str,
    pub(crate) balance_delta: i64,
    pub(crate) reserved_delta: i64,
    pub(crate) balance_after: i64,
    pub(crate) reserved_after: i64,
    pub(crate) description: Option<&'a str>,
    pub(crate) reservation_id: Option<i64>,
    pub(crate) user_id: Option<i64>,
    pub(crate) at: NaiveDateTime,
    pub(crate) idempotency: Option<&'a str>,
}

/// One change of an account's balance and reserved amount, with what its entry records.
/// Amounts are minor units of `currency`, which must be the account's.
pub(crate) struct Movement<'a> {
    pub(crate) account: i64,
    pub(crate) currency: CurrencyCode,
    pub(crate) kind: EntryKind,
    pub(crate) balance_delta: i64,
    pub(crate) reserved_delta: i64,
    pub(crate) description: Option<&'a str>,
    /// The reservation the movement opens or closes, as it is afterwards.
    pub(crate) reservation: Option<&'a Reservation>,
    pub(crate) user: Option<i64>,
    pub(crate) at: NaiveDateTime,
    pub(crate) idempotency: Option<&'a str>,
    /// Where the movement's event goes.
    pub(crate) outbox: &'a Outbox<'a>,
}

/// The range a column may hold before adding `delta`, so that the sum fits in 64 bits.
pub(crate) fn headroom(delta: i64) -> (i64, i64) {
    if delta >= 0 {
        (i64::MIN, i64::MAX.saturating_sub(delta))
    } else {
        (i64::MIN.saturating_sub(delta), i64::MAX)
    }
}

/// A movement of `account` that would leave 64-bit amounts: refused, as an amount too large.
pub(crate) fn overflow(account: i64) -> Failure {
    tracing::debug!(account, "a movement would leave 64-bit amounts");
    crate::error::Outcome::TooLarge.into()
}

pub(crate) fn other_currency(account: i64, held: CurrencyCode, moved: CurrencyCode) -> Failure {
    Failure::Broken(format!(
        "account {account} is held in {held}; an amount in {moved} cannot move it"
    ))
}

#[derive(QueryableByName)]
pub(crate) struct LiveAccountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) customer_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) currency: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) balance: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) credit_limit: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) reserved: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) lapsed: i64,
}

impl LiveAccountRow {
    pub(crate) fn into_domain(self) -> Result<CreditAccount, Failure> {
        AccountRow {
            customer_id: self.customer_id,
            currency: self.currency,
            balance: self.balance,
            credit_limit: self.credit_limit,
            reserved: self.reserved,
        }
        .into_domain(self.lapsed)
    }
}
