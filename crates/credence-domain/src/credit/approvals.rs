//! Four-eyes credit-limit changes: with a threshold configured, a raise of a limit above it
//! does not apply but waits as a request until another admin approves it (then it applies,
//! and the history names both) or rejects it. Lowerings, and raises to at most the threshold,
//! apply at once as before; without a threshold nothing changes.
//!
//! The threshold is an amount in the organization currency; a limit in another currency is
//! compared through the configured exchange rates, exactly (decision 0041).

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::access::principal::Principal;
use crate::access::scope::{back_office_tree, is_resellers_own, reaches, uses_back_office};
use crate::credit::requests::{
    Decision, LimitRequest, LimitRequestError, LimitRequestFilter, LimitRequestId,
    LimitRequestStatus, LimitRequests, NewLimitRequest,
};
use crate::credit::{CreditAccount, CreditRule};
use crate::customers::CustomerKey;
use crate::customers::reference_data::Currency;
use crate::input::InputError;
use crate::listing::{Page, PageRequest};
use crate::ports::{Clock, CustomerRepository, Precondition, RecordRepository, StoreError};
use crate::services::{AccountService, CreditError};
use crate::values::{CreditLimit, CurrencyCode, FreeText};

/// Whether `limit`, valued in the organization currency at `rate` (what one unit of its
/// currency is worth there), is above the threshold `above`. Exact: no rounding decides a
/// limit a cent over; a limit too large to value is above any threshold.
#[must_use]
pub fn needs_approval(limit: CreditLimit, rate: Decimal, above: Decimal) -> bool {
    limit
        .amount()
        .checked_mul(rate)
        .is_none_or(|value| value > above)
}

/// What a limit change did: applied at once, or waiting for another admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitOutcome {
    /// The limit is set: the account after it.
    Applied(CreditAccount),
    /// A raise above the threshold: the request now waiting.
    Pending(Box<LimitRequest>),
}

/// Why a decision or a read of limit requests failed.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The caller acts without a user (a key of no one), so it cannot be told apart from the
    /// requester: `403`.
    #[error("Approving or rejecting a credit-limit request needs a key that belongs to a user.")]
    NoIdentity,
    /// The requester may not decide its own request: `403`.
    #[error(
        "A credit-limit request must be approved or rejected by another admin than its requester."
    )]
    OwnRequest,
    /// No such request in the caller's scope: `404`.
    #[error("The credit-limit request with the id {0} doesn't exist.")]
    NotFound(LimitRequestId),
    /// Decided already (or replaced): `409`.
    #[error("The credit-limit request {0} is {1} already.")]
    NotPending(LimitRequestId, LimitRequestStatus),
    /// An approval of a request made in another currency than the account's now (the
    /// customer's currency changed since): the limit cannot apply as asked. The request
    /// stays pending and can be rejected: `409`.
    #[error(
        "The credit-limit request {0} no longer applies: the account's currency changed since it was made. Reject it and ask again in the account's currency."
    )]
    NoLongerApplies(LimitRequestId),
    /// Bad input: `400`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The four-eyes use cases: changing a limit (which may wait), deciding, listing.
#[derive(Clone)]
pub struct LimitApprovals {
    accounts: AccountService,
    requests: Arc<dyn LimitRequests>,
    customers: Arc<dyn CustomerRepository>,
    currencies: Arc<dyn RecordRepository<Currency>>,
    clock: Arc<dyn Clock>,
    above: Option<Decimal>,
}

impl std::fmt::Debug for LimitApprovals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitApprovals")
            .field("above", &self.above)
            .finish_non_exhaustive()
    }
}

impl LimitApprovals {
    /// Wires the use cases; `above` is the threshold in the organization currency (`None`:
    /// every change applies at once).
    #[must_use]
    pub fn new(
        accounts: AccountService,
        requests: Arc<dyn LimitRequests>,
        customers: Arc<dyn CustomerRepository>,
        currencies: Arc<dyn RecordRepository<Currency>>,
        clock: Arc<dyn Clock>,
        above: Option<Decimal>,
    ) -> Self {
        Self {
            accounts,
            requests,
            customers,
            currencies,
            clock,
            above,
        }
    }

    /// Sets a credit limit, or, for a raise above the threshold, records a request that
    /// waits for another admin (replacing the account's pending one); either only while the
    /// account meets `only_if`, which the store tests under the account's lock. The approval
    /// later applies a request unconditioned.
    ///
    /// Whether a change needs approval depends on the account it replaces, read before the
    /// write: its currency values the amount, and its limit says whether the change is a raise.
    /// A change that needed none on that read applies only while the account is still in that
    /// currency and, for a lowering to above the threshold, while the stored limit is still at
    /// least as high, so a change of currency or a lowering that gets in between cannot turn
    /// it into a raise nobody approved. When the account is no longer as read, the change is
    /// decided again on the account as it is now.
    ///
    /// # Errors
    /// As [`AccountService::set_credit_limit`]; [`StoreError::Unavailable`] when the limit
    /// kept changing under every one of a few attempts (the client may try again).
    pub async fn change_limit(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        limit: Decimal,
        reason: Option<FreeText>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<LimitOutcome, CreditError> {
        const ATTEMPTS: usize = 4;
        let Some(above) = self.above else {
            return self.apply(principal, key, limit, reason, only_if).await;
        };
        for attempt in 0..ATTEMPTS {
            let account = self.accounts.account(principal, key).await?;
            if is_resellers_own(principal, account.customer_id()) {
                return Err(CreditError::Forbidden);
            }
            // The first read is checked by the write; a later one is ours, so the caller's
            // condition is tested on it before deciding again.
            if attempt > 0 && !only_if.holds(Some(&account)) {
                return Err(CreditError::Changed);
            }
            let currency = account.credit_limit().currency();
            let wanted = CreditLimit::new(limit, currency).map_err(CreditRule::Limit)?;
            let exceeds = self.exceeds(wanted, above).await?;
            if exceeds && wanted.minor_units() > account.credit_limit().minor() {
                return self
                    .file_request(principal, key, &account, wanted, reason, only_if)
                    .await;
            }
            // Valued in the currency read, the change needs no approval: it applies only while
            // the account is still in that currency (a change of currency in between would
            // value the same amount differently) and, for a lowering to above the threshold,
            // while the limit is still at least as high.
            let floor = if exceeds {
                wanted.minor_units()
            } else {
                i64::MIN
            };
            let still_decided = Precondition::new(move |stored: Option<&CreditAccount>| {
                stored.is_some_and(|a| {
                    a.credit_limit().currency() == currency && a.credit_limit().minor() >= floor
                })
            });
            let condition = only_if.clone().and(still_decided);
            match self
                .apply(principal, key, limit, reason.clone(), condition)
                .await
            {
                Err(CreditError::Changed) => {}
                decided => return decided,
            }
        }
        Err(
            StoreError::Unavailable("the credit limit kept changing while it was being set".into())
                .into(),
        )
    }

    /// Files a raise of `account`'s limit to `wanted` as a request waiting for another admin.
    async fn file_request(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        account: &CreditAccount,
        wanted: CreditLimit,
        reason: Option<FreeText>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<LimitOutcome, CreditError> {
        let request = NewLimitRequest {
            account: account.customer_id(),
            requested: wanted,
            requested_by: principal.user_id(),
            reason: reason.map(|r| r.as_str().to_owned()),
            now: self.clock.now(),
        };
        match self.requests.create(&request, only_if).await {
            Ok(request) => Ok(LimitOutcome::Pending(Box::new(request))),
            Err(LimitRequestError::NotFound) => Err(CreditError::NotFound(key.clone())),
            Err(LimitRequestError::Unmet) => Err(CreditError::Changed),
            Err(LimitRequestError::Store(e)) => Err(e.into()),
            Err(other) => Err(StoreError::Unexpected(
                format!("a new limit request was refused: {other}").into(),
            )
            .into()),
        }
    }

    /// Approves a pending request: the limit applies, and the history names the requester
    /// as its changer and the caller as its approver.
    ///
    /// # Errors
    /// See [`Self::decide`].
    pub async fn approve(
        &self,
        principal: &Principal,
        id: LimitRequestId,
    ) -> Result<LimitRequest, ApprovalError> {
        self.decide(principal, id, None).await
    }

    /// Rejects a pending request, saying why.
    ///
    /// # Errors
    /// See [`Self::decide`]; [`ApprovalError::Input`] for a blank reason.
    pub async fn reject(
        &self,
        principal: &Principal,
        id: LimitRequestId,
        reason: &FreeText,
    ) -> Result<LimitRequest, ApprovalError> {
        self.decide(principal, id, Some(reason.as_str().to_owned()))
            .await
    }

    /// One request in the caller's scope (admins, and the reseller owning the customer).
    ///
    /// # Errors
    /// [`ApprovalError::Forbidden`] for a customer principal, [`ApprovalError::NotFound`]
    /// outside the caller's scope.
    pub async fn request(
        &self,
        principal: &Principal,
        id: LimitRequestId,
    ) -> Result<LimitRequest, ApprovalError> {
        if !uses_back_office(principal) {
            return Err(ApprovalError::Forbidden);
        }
        let request = self
            .requests
            .request(id)
            .await?
            .ok_or(ApprovalError::NotFound(id))?;
        if !reaches(self.customers.as_ref(), principal, request.customer).await? {
            return Err(ApprovalError::NotFound(id));
        }
        Ok(request)
    }

    /// One page of requests, newest first, scoped like customers: admins see all, a reseller
    /// those of its own customer and the customers below it.
    ///
    /// # Errors
    /// [`ApprovalError::Forbidden`] for a customer principal.
    pub async fn list(
        &self,
        principal: &Principal,
        status: Option<LimitRequestStatus>,
        page: PageRequest,
    ) -> Result<Page<LimitRequest>, ApprovalError> {
        let within = back_office_tree(principal).map_err(|_| ApprovalError::Forbidden)?;
        let filter = LimitRequestFilter { status, within };
        Ok(self.requests.requests(filter, page).await?)
    }

    /// Approves (`rejection` is `None`) or rejects a pending request. Only admins decide, only
    /// as a user, never on their own request; of two racing decisions, the store lets one
    /// win and the other finds the request decided.
    ///
    /// # Errors
    /// [`ApprovalError::Forbidden`] for other roles, [`ApprovalError::NoIdentity`] for a key
    /// without a user, [`ApprovalError::NotFound`], [`ApprovalError::OwnRequest`],
    /// [`ApprovalError::NotPending`], [`ApprovalError::NoLongerApplies`].
    async fn decide(
        &self,
        principal: &Principal,
        id: LimitRequestId,
        rejection: Option<String>,
    ) -> Result<LimitRequest, ApprovalError> {
        if !principal.is_admin() {
            return Err(ApprovalError::Forbidden);
        }
        let by = principal.user_id().ok_or(ApprovalError::NoIdentity)?;
        let request = self
            .requests
            .request(id)
            .await?
            .ok_or(ApprovalError::NotFound(id))?;
        if request.requested_by.as_ref().map(|u| u.id) == Some(by) {
            return Err(ApprovalError::OwnRequest);
        }
        let decision = Decision {
            request: id,
            by,
            rejection,
            now: self.clock.now(),
        };
        match self.requests.decide(&decision).await {
            Ok(decided) => Ok(decided),
            Err(LimitRequestError::NotFound) => Err(ApprovalError::NotFound(id)),
            Err(LimitRequestError::NotPending(status)) => {
                Err(ApprovalError::NotPending(id, status))
            }
            Err(LimitRequestError::Store(e)) => Err(e.into()),
            Err(LimitRequestError::OtherCurrency) => Err(ApprovalError::NoLongerApplies(id)),
            Err(LimitRequestError::Unmet) => Err(StoreError::Unexpected(
                "a decision, which has no condition, found one unmet".into(),
            )
            .into()),
        }
    }

    async fn apply(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        limit: Decimal,
        reason: Option<FreeText>,
        only_if: Precondition<CreditAccount>,
    ) -> Result<LimitOutcome, CreditError> {
        self.accounts
            .set_credit_limit(principal, key, limit, reason, only_if)
            .await
            .map(LimitOutcome::Applied)
    }

    async fn exceeds(&self, limit: CreditLimit, above: Decimal) -> Result<bool, CreditError> {
        let rate = self.rate(limit.currency()).await?;
        Ok(needs_approval(limit, rate, above))
    }

    /// The value of one unit of `code` in the organization currency.
    async fn rate(&self, code: CurrencyCode) -> Result<Decimal, CreditError> {
        self.currencies
            .get(code)
            .await?
            .map(|c| c.exchange_rate.value())
            .ok_or_else(|| {
                CreditError::Input(InputError::CurrencyNotConfigured(code.code().to_owned()))
            })
    }
}
