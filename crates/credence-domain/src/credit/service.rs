//! The credit use cases: the account, its limit, payments, charges, adjustments,
//! admissions (reservations), captures, releases, quotes, the ledger, and the sweeper.
//!
//! The service decides who may act on which account and turns decimals into exact money;
//! the credit check itself happens inside the store, in one conditional update.

use std::sync::Arc;

use chrono::TimeDelta;
use rust_decimal::Decimal;

use crate::access::principal::Principal;
use crate::credit::{
    AccountLine, AccountQuery, CreditAccount, EntryKind, LedgerEntry, LedgerFilter, LimitChange,
    MAX_ALERTS, Money, MoneyError, PeriodBounds, Reservation, ReservationFilter, ReservationId,
    StatementSink,
};
use crate::customers::reference_data::Currency;
use crate::customers::{AccountHolder, CustomerKey};
use crate::ids::CustomerId;
use crate::input::InputError;
use crate::listing::{Page, PageRequest};
use crate::ports::{
    AccountLedger, Admission, AdmitError, Clock, CustomerRepository, Posting, Precondition,
    RecordRepository, SettleError, StoreError,
};
use crate::values::{CreditLimit, CurrencyCode, FreeText};

use crate::access::scope::{back_office_tree, is_resellers_own, reaches, uses_back_office};

pub use crate::credit::errors::{CreditError, CreditRule};

/// Whether a cost would be admitted now, and what would remain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// Whether it fits.
    pub admitted: bool,
    /// Available now.
    pub available: Money,
    /// The cost, in the account currency.
    pub requested: Money,
    /// `available − requested` (negative when refused).
    pub remaining: Money,
}

/// What a reservation request carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReserveRequest {
    /// The cost.
    pub amount: Decimal,
    /// Its currency (a configured one); the account currency when absent.
    pub currency: Option<CurrencyCode>,
    /// What it is for.
    pub description: Option<String>,
    /// Seconds until it expires; the configured default when absent.
    pub expires_in: Option<i64>,
    /// The caller's idempotency key, scoped.
    pub idempotency: Option<String>,
}

/// Credit accounts as the back office and the marketplace see them.
#[derive(Clone)]
pub struct AccountService {
    ledger: Arc<dyn AccountLedger>,
    customers: Arc<dyn CustomerRepository>,
    currencies: Arc<dyn RecordRepository<Currency>>,
    clock: Arc<dyn Clock>,
    default_expiry: TimeDelta,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService")
            .field("default_expiry", &self.default_expiry)
            .finish_non_exhaustive()
    }
}

/// The longest a reservation may be held: 30 days.
pub const MAX_EXPIRY_SECS: i64 = 30 * 24 * 3600;

impl AccountService {
    /// Wires the service; `default_expiry` applies to reservations without `expiresIn`.
    #[must_use]
    pub fn new(
        ledger: Arc<dyn AccountLedger>,
        customers: Arc<dyn CustomerRepository>,
        currencies: Arc<dyn RecordRepository<Currency>>,
        clock: Arc<dyn Clock>,
        default_expiry: TimeDelta,
    ) -> Self {
        Self {
            ledger,
            customers,
            currencies,
            clock,
            default_expiry,
        }
    }

    /// A customer's account (admins, and the reseller owning the customer).
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope.
    pub async fn account(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<CreditAccount, CreditError> {
        let holder = self.holder(principal, key).await?;
        self.account_of(holder.id).await
    }

    /// The customer's account as it stood at `at` (balance, reserved amount and limit).
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope, or when the account did not
    /// exist yet at `at`.
    pub async fn account_as_of(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<CreditAccount, CreditError> {
        let holder = self.holder(principal, key).await?;
        self.ledger
            .account_as_of(holder.id, at)
            .await?
            .ok_or(CreditError::NotYetOpen(at))
    }

    /// The caller's own account (the marketplace's `GET customer`).
    ///
    /// # Errors
    /// [`CreditError::NotFound`] for a principal bound to no customer.
    pub async fn own_account(&self, principal: &Principal) -> Result<CreditAccount, CreditError> {
        let id = principal
            .customer_id()
            .ok_or(CreditError::NotFound(CustomerKey::Reference("me".into())))?;
        self.ledger
            .account(id, self.clock.now())
            .await?
            .ok_or(CreditError::NotFound(CustomerKey::Id(id)))
    }

    /// Sets the credit limit (>= 0; lowering below usage is allowed and blocks new orders),
    /// while the account meets `only_if`.
    ///
    /// # Errors
    /// [`CreditError::Input`] for a negative or too precise limit; [`CreditError::Changed`]
    /// when `only_if` no longer holds.
    pub async fn set_credit_limit(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        limit: Decimal,
        reason: Option<FreeText>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<CreditAccount, CreditError> {
        let customer = self.movable(principal, key).await?;
        let limit = CreditLimit::new(limit, customer.currency).map_err(CreditRule::Limit)?;
        let reason = reason.map(|r| r.as_str().to_owned());
        self.ledger
            .set_credit_limit(
                customer.id,
                limit,
                principal.user_id(),
                reason,
                self.clock.now(),
                only_if,
            )
            .await
            .map_err(|e| admit_error(e, customer.id))
    }

    /// One page of accounts across customers (`/accounts`): every live customer's for an
    /// admin, the reseller's own tree for a reseller.
    ///
    /// # Errors
    /// [`CreditError::Forbidden`] for a customer's key.
    pub async fn overview(
        &self,
        principal: &Principal,
        query: AccountQuery,
    ) -> Result<Page<AccountLine>, CreditError> {
        let mut query = query;
        query.within = back_office_tree(principal).map_err(|_| CreditError::Forbidden)?;
        Ok(self.ledger.overview(&query).await?)
    }

    /// The statement of the customer's own account for the period `bounds` name, written
    /// into `sink` as the store reads it.
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope; [`CreditRule::Period`] when the
    /// period ends before it starts.
    pub async fn statement(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        bounds: PeriodBounds,
        sink: Box<dyn StatementSink>,
    ) -> Result<(), CreditError> {
        let period = bounds
            .period(self.clock.now())
            .map_err(CreditRule::Period)?;
        let customer = self.holder(principal, key).await?;
        if self.ledger.statement(customer.id, period, sink).await? {
            Ok(())
        } else {
            Err(no_account(customer.id))
        }
    }

    /// One page of the account's credit-limit history, newest first.
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope.
    pub async fn limit_history(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        page: PageRequest,
    ) -> Result<Page<LimitChange>, CreditError> {
        let customer = self.holder(principal, key).await?;
        Ok(self.ledger.limit_history(customer.id, page).await?)
    }

    /// The account's alert thresholds, highest first.
    ///
    /// # Errors
    /// As [`Self::set_credit_limit`] for the customer.
    pub async fn alerts(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Vec<Money>, CreditError> {
        let customer = self.holder(principal, key).await?;
        self.ledger
            .alerts(customer.id)
            .await?
            .ok_or_else(|| no_account(customer.id))
    }

    /// Replaces the account's alert thresholds: when a movement takes `available` from at
    /// least one of them to below it, the store writes an `account.threshold_crossed` event
    /// in that movement's transaction. Duplicates count once.
    ///
    /// # Errors
    /// [`CreditError::Input`] for an amount the currency cannot hold or more than
    /// [`MAX_ALERTS`] thresholds; as [`Self::set_credit_limit`] for the customer.
    pub async fn set_alerts(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        thresholds: &[Decimal],
    ) -> Result<Vec<Money>, CreditError> {
        let customer = self.holder(principal, key).await?;
        let mut money = thresholds
            .iter()
            .map(|t| Money::from_decimal(*t, customer.currency).map_err(CreditRule::Threshold))
            .collect::<Result<Vec<_>, _>>()?;
        money.sort_by_key(|m| std::cmp::Reverse(m.minor()));
        money.dedup();
        if money.len() > MAX_ALERTS {
            return Err(CreditRule::TooManyAlerts { max: MAX_ALERTS }.into());
        }
        if self.ledger.set_alerts(customer.id, &money).await? {
            Ok(money)
        } else {
            Err(no_account(customer.id))
        }
    }

    /// Posts a payment (`Payment`, amount > 0), a charge (`Charge`, amount > 0) or an
    /// adjustment (`Adjustment`, signed, with a reason), while the account meets `only_if`.
    ///
    /// # Errors
    /// [`CreditError::Input`] for a missing reason or an amount of the wrong sign;
    /// [`CreditError::Changed`] when `only_if` no longer holds.
    #[allow(
        clippy::too_many_arguments,
        reason = "the facts of one posting, each of its own type; a struct would only rename them"
    )]
    pub async fn post(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        kind: EntryKind,
        amount: Decimal,
        description: Option<String>,
        idempotency: Option<String>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<LedgerEntry, CreditError> {
        let customer = self.movable(principal, key).await?;
        let money = Money::from_decimal(amount, customer.currency)?;
        let balance_delta = match kind {
            EntryKind::Payment | EntryKind::Charge if !money.is_positive() => {
                return Err(CreditRule::AmountNotPositive.into());
            }
            EntryKind::Payment => money,
            EntryKind::Charge => money
                .checked_neg()
                .ok_or(CreditRule::Amount(MoneyError::TooLarge))?,
            EntryKind::Adjustment if money.is_zero() => {
                return Err(CreditRule::AdjustmentZero.into());
            }
            EntryKind::Adjustment if description.as_deref().is_none_or(|r| r.trim().is_empty()) => {
                return Err(CreditRule::ReasonRequired.into());
            }
            EntryKind::Adjustment => money,
            _ => {
                return Err(CreditRule::NotPosted.into());
            }
        };
        let posting = Posting {
            account: customer.id,
            kind,
            balance_delta,
            description,
            user: principal.user_id(),
            now: self.clock.now(),
            idempotency,
        };
        self.ledger
            .post(&posting, only_if)
            .await
            .map_err(|e| admit_error(e, customer.id))
    }

    /// Admits a cost against the paying account and reserves it, while that account meets
    /// `only_if`.
    ///
    /// # Errors
    /// [`CreditError::Refused`] with both amounts; [`CreditError::OnHold`] and
    /// [`CreditError::Inactive`] for customers that may not order; [`CreditError::Changed`]
    /// when `only_if` no longer holds.
    pub async fn reserve(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        request: ReserveRequest,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, CreditError> {
        let (customer, _) = self.holder_and_payer(principal, key).await?;
        let admission = self
            .prepare_admission(principal, &customer, request)
            .await?;
        match self.ledger.admit(&admission, only_if).await {
            Ok(reservation) => Ok(reservation),
            // Archived since it was read: not found as the client named it.
            Err(AdmitError::NoAccount) => Err(CreditError::NotFound(key.clone())),
            Err(error) => Err(refusal_of(error, &admission)),
        }
    }

    /// Everything an admission needs, checked (the customer may order, the cost is positive
    /// and converted into the paying account's currency), without admitting: for callers that
    /// admit inside a transaction of their own (task submission).
    ///
    /// # Errors
    /// [`CreditError::OnHold`], [`CreditError::Inactive`], [`CreditError::Input`].
    pub async fn prepare_admission(
        &self,
        principal: &Principal,
        customer: &AccountHolder,
        request: ReserveRequest,
    ) -> Result<Admission, CreditError> {
        check_may_order(customer)?;
        let payer = self.payer(customer).await?;
        let cost = self
            .cost_in(&payer, request.amount, request.currency)
            .await?;
        if !cost.is_positive() {
            return Err(CreditRule::AmountNotPositive.into());
        }
        let now = self.clock.now();
        let expires_in = match request.expires_in {
            None => self.default_expiry,
            Some(secs) if (1..=MAX_EXPIRY_SECS).contains(&secs) => TimeDelta::seconds(secs),
            Some(_) => {
                return Err(CreditRule::ExpiryOutOfRange {
                    max: MAX_EXPIRY_SECS,
                }
                .into());
            }
        };
        Ok(Admission {
            account: payer.id,
            customer: customer.id,
            amount: cost,
            description: request.description,
            expires_at: now + expires_in,
            user: principal.user_id(),
            now,
            idempotency: request.idempotency,
        })
    }

    /// Whether a cost would be admitted now, writing nothing.
    ///
    /// # Errors
    /// As [`AccountService::reserve`], except that a refusal is a quote, not an error.
    pub async fn quote(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        amount: Decimal,
        currency: Option<CurrencyCode>,
    ) -> Result<Quote, CreditError> {
        let (customer, payer) = self.holder_and_payer(principal, key).await?;
        check_may_order(&customer)?;
        let cost = self.cost_in(&payer, amount, currency).await?;
        let account = self.account_of(payer.id).await?;
        let remaining = account.remaining_after(cost).map_err(|e| {
            CreditError::Store(StoreError::Unexpected(
                format!("a cost in the payer's currency was refused: {e}").into(),
            ))
        })?;
        Ok(Quote {
            admitted: cost.is_positive() && !remaining.is_negative(),
            available: account.available(),
            requested: cost,
            remaining,
        })
    }

    /// Captures a reservation held for the customer (all of it unless `amount` says less),
    /// while the paying account meets `only_if`. `idempotency` is the caller's scoped key: a
    /// repeat answers the capture it made.
    ///
    /// # Errors
    /// [`CreditError::ReservationNotFound`], [`CreditError::ReservationClosed`], or an
    /// `Input` error when the amount exceeds the reservation; [`CreditError::Changed`].
    pub async fn capture(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        reservation: ReservationId,
        amount: Option<Decimal>,
        idempotency: Option<String>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, CreditError> {
        let (_, payer) = self.holder_and_payer(principal, key).await?;
        let amount = match amount {
            Some(a) => {
                let money = Money::from_decimal(a, payer.currency)?;
                if money.is_negative() {
                    return Err(CreditRule::AmountNegative.into());
                }
                Some(money)
            }
            None => None,
        };
        self.ledger
            .capture(
                payer.id,
                reservation,
                amount,
                principal.user_id(),
                self.clock.now(),
                idempotency,
                only_if,
            )
            .await
            .map_err(|e| settle_error(e, reservation))
    }

    /// Releases a reservation held for the customer; `idempotency` and `only_if` as for
    /// [`AccountService::capture`].
    ///
    /// # Errors
    /// [`CreditError::ReservationNotFound`], [`CreditError::ReservationClosed`] or
    /// [`CreditError::Changed`].
    pub async fn release(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        reservation: ReservationId,
        idempotency: Option<String>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<Reservation, CreditError> {
        let (_, payer) = self.holder_and_payer(principal, key).await?;
        self.ledger
            .release(
                payer.id,
                reservation,
                principal.user_id(),
                self.clock.now(),
                idempotency,
                only_if,
            )
            .await
            .map_err(|e| settle_error(e, reservation))
    }

    /// One page of the customer's own ledger.
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope.
    pub async fn ledger(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        filter: LedgerFilter,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, CreditError> {
        let customer = self.holder(principal, key).await?;
        Ok(self.ledger.ledger(customer.id, filter, page).await?)
    }

    /// One entry of the customer's own ledger.
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope, [`CreditError::EntryNotFound`]
    /// for an entry of no such id in this ledger.
    pub async fn entry(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        id: i64,
    ) -> Result<LedgerEntry, CreditError> {
        let customer = self.holder(principal, key).await?;
        self.ledger
            .entry(customer.id, id)
            .await?
            .ok_or(CreditError::EntryNotFound(id))
    }

    /// One reservation held on the customer's paying account, where capture and release
    /// find it.
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope,
    /// [`CreditError::ReservationNotFound`] for a reservation that account does not hold.
    pub async fn reservation(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        id: ReservationId,
    ) -> Result<Reservation, CreditError> {
        let (_, payer) = self.holder_and_payer(principal, key).await?;
        self.ledger
            .reservation(payer.id, id)
            .await?
            .ok_or(CreditError::ReservationNotFound(id))
    }

    /// One page of the reservations held on the customer's paying account.
    ///
    /// # Errors
    /// [`CreditError::NotFound`] outside the caller's scope.
    pub async fn reservations(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        filter: ReservationFilter,
        page: PageRequest,
    ) -> Result<Page<Reservation>, CreditError> {
        let (_, payer) = self.holder_and_payer(principal, key).await?;
        Ok(self.ledger.reservations(payer.id, filter, page).await?)
    }

    /// Expires what is due (run periodically by every replica; safe to run concurrently).
    ///
    /// # Errors
    /// [`StoreError`] only.
    pub async fn sweep(&self, limit: u32) -> Result<u64, StoreError> {
        self.ledger.sweep_expired(self.clock.now(), limit).await
    }

    /// The live customer a key names, if the caller reaches it (admins, and the reseller
    /// owning it).
    async fn holder(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<AccountHolder, CreditError> {
        if !uses_back_office(principal) {
            return Err(CreditError::Forbidden);
        }
        let customer = self
            .customers
            .holder(key)
            .await?
            .ok_or_else(|| CreditError::NotFound(key.clone()))?;
        if !reaches(self.customers.as_ref(), principal, customer.id).await? {
            return Err(CreditError::NotFound(key.clone()));
        }
        Ok(customer)
    }

    /// The live customer a key names, if the caller may move its account's money and limit:
    /// a reseller's own customer's are the operator's ([`is_resellers_own`]).
    async fn movable(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<AccountHolder, CreditError> {
        let customer = self.holder(principal, key).await?;
        if is_resellers_own(principal, customer.id) {
            return Err(CreditError::Forbidden);
        }
        Ok(customer)
    }

    /// The live customer a key names and the one whose account pays for it, both in the
    /// caller's reach: a reseller whose own customer bills with a parent outside its tree
    /// may not reserve on, settle, quote or read that parent's account through it.
    async fn holder_and_payer(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<(AccountHolder, AccountHolder), CreditError> {
        let customer = self.holder(principal, key).await?;
        let payer = self.payer(&customer).await?;
        if payer.id != customer.id && !reaches(self.customers.as_ref(), principal, payer.id).await?
        {
            return Err(CreditError::Forbidden);
        }
        Ok((customer, payer))
    }

    async fn account_of(&self, id: CustomerId) -> Result<CreditAccount, CreditError> {
        self.ledger
            .account(id, self.clock.now())
            .await?
            .ok_or_else(|| {
                StoreError::Unexpected(format!("customer {id} has no credit account").into()).into()
            })
    }

    /// The customer whose account pays: the nearest ancestor not billing with its parent.
    async fn payer(&self, customer: &AccountHolder) -> Result<AccountHolder, CreditError> {
        let mut payer = customer.clone();
        for _ in 0..64 {
            let Some(parent) = payer.parent.filter(|_| payer.bill_with_parent) else {
                return Ok(payer);
            };
            let key = CustomerKey::Id(parent);
            payer = self
                .customers
                .holder(&key)
                .await?
                .ok_or(CreditError::NotFound(key))?;
        }
        Ok(payer)
    }

    /// A cost in the payer's currency, converted from another configured one if need be.
    async fn cost_in(
        &self,
        payer: &AccountHolder,
        amount: Decimal,
        currency: Option<CurrencyCode>,
    ) -> Result<Money, CreditError> {
        let target = payer.currency;
        let source = currency.unwrap_or(target);
        let cost = Money::from_decimal(amount, source)?;
        if source == target {
            return Ok(cost);
        }
        let rate = |code: CurrencyCode| async move {
            self.currencies
                .get(code)
                .await?
                .map(|c| c.exchange_rate)
                .ok_or_else(|| {
                    CreditError::Input(InputError::CurrencyNotConfigured(code.code().to_owned()))
                })
        };
        Ok(cost.convert(rate(source).await?, target, rate(target).await?)?)
    }
}

fn check_may_order(customer: &AccountHolder) -> Result<(), CreditError> {
    if !customer.is_active {
        return Err(CreditError::Inactive);
    }
    if customer.on_hold {
        return Err(CreditError::OnHold(
            customer
                .on_hold_reason
                .as_ref()
                .map(|r| r.as_str().to_owned()),
        ));
    }
    Ok(())
}

/// Turns a store's admission error into the service's, with the refused amounts as money of
/// the paying account.
#[must_use]
pub fn refusal_of(error: AdmitError, admission: &Admission) -> CreditError {
    match error {
        AdmitError::Refused(refused) => CreditError::Refused {
            available: refused.available,
            requested: refused.requested,
        },
        // The ordering customer, not the account paying for it: a 404 names the customer
        // the order was for.
        other => admit_error(other, admission.customer),
    }
}

/// A customer the service found has no account: the store is broken.
fn no_account(account: CustomerId) -> CreditError {
    CreditError::Store(StoreError::Unexpected(
        format!("customer {account} has no credit account").into(),
    ))
}

fn admit_error(error: AdmitError, customer: CustomerId) -> CreditError {
    match error {
        AdmitError::Refused(r) => CreditError::Store(StoreError::Unexpected(
            format!(
                "unexpected refusal of {} for customer {customer}",
                r.requested
            )
            .into(),
        )),
        // Archived between the service's read and the write.
        AdmitError::NoAccount => CreditError::NotFound(CustomerKey::Id(customer)),
        AdmitError::OnHold(reason) => CreditError::OnHold(reason),
        AdmitError::Inactive => CreditError::Inactive,
        AdmitError::TooLarge => CreditRule::Amount(MoneyError::TooLarge).into(),
        AdmitError::Unmet => CreditError::Changed,
        AdmitError::Store(e) => CreditError::Store(e),
    }
}

fn settle_error(error: SettleError, reservation: ReservationId) -> CreditError {
    match error {
        SettleError::NotFound => CreditError::ReservationNotFound(reservation),
        SettleError::NotOpen => CreditError::ReservationClosed(reservation),
        SettleError::Exceeds => CreditRule::CaptureExceeds.into(),
        SettleError::Unmet => CreditError::Changed,
        SettleError::Store(e) => CreditError::Store(e),
    }
}
