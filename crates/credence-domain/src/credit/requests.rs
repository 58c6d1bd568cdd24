//! Four-eyes credit-limit requests: a raise above the configured threshold waits here until
//! another admin approves it (then it applies) or rejects it. The port keeps them; every
//! decision is one conditional update inside the transaction that applies it, so two admins
//! deciding at once cannot both win.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Money;
use crate::customers::reference_data::User;
use crate::ids::{CustomerId, UserId};
use crate::listing::{Page, PageRequest};
use crate::ports::{Precondition, StoreError};
use crate::values::CreditLimit;

/// A limit request's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LimitRequestId(pub i64);

impl std::fmt::Display for LimitRequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a limit request stands. Only `Pending` ones may be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitRequestStatus {
    /// Waiting for another admin.
    Pending,
    /// Approved and applied.
    Approved,
    /// Rejected, with a reason.
    Rejected,
    /// A later request for the same account took its place before it was decided.
    Replaced,
}

impl LimitRequestStatus {
    /// Every status, in the order of the documentation.
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Approved,
        Self::Rejected,
        Self::Replaced,
    ];

    /// The wire and column name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Replaced => "replaced",
        }
    }

    /// The status with this name (exactly as written by [`Self::as_str`]).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for LimitRequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to raise an account's credit limit, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRequest {
    /// Its id.
    pub id: LimitRequestId,
    /// The customer whose account it is for.
    pub customer: CustomerId,
    /// The limit asked for, in the account currency.
    pub requested: Money,
    /// The account's limit when it was asked for.
    pub previous: Money,
    /// Who asked (`None` for a key without a user, or a user deleted since).
    pub requested_by: Option<User>,
    /// Why, as the requester said.
    pub reason: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub status: LimitRequestStatus,
    /// Who approved or rejected it.
    pub decided_by: Option<User>,
    /// When it was approved, rejected or replaced.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub decision_reason: Option<String>,
}

/// A new request, as the service hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLimitRequest {
    /// The account.
    pub account: CustomerId,
    /// The limit asked for, in the account currency.
    pub requested: CreditLimit,
    /// Who asks.
    pub requested_by: Option<UserId>,
    /// Why.
    pub reason: Option<String>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A decision on a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The request.
    pub request: LimitRequestId,
    /// The admin deciding.
    pub by: UserId,
    /// `None` approves; `Some(reason)` rejects.
    pub rejection: Option<String>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Which requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitRequestFilter {
    /// Only requests in this status.
    pub status: Option<LimitRequestStatus>,
    /// Only requests for this customer and the customers below it (a reseller's scope).
    pub within: Option<CustomerId>,
}

/// Why the store refused a request or a decision.
#[derive(Debug, thiserror::Error)]
pub enum LimitRequestError {
    /// No such request, or no such account.
    #[error("no such request or account")]
    NotFound,
    /// The request was already decided (or replaced): its status now.
    #[error("the request is {0}")]
    NotPending(LimitRequestStatus),
    /// The requested limit is in another currency than the account's.
    #[error("the account's currency changed")]
    OtherCurrency,
    /// The account no longer met the request's condition (`If-Match`): nothing was filed.
    #[error("the account no longer meets the request's condition")]
    Unmet,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The four-eyes limit requests.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LimitRequests: Send + Sync {
    /// Records a pending request with the account's current limit as `previous`, in one
    /// transaction that also marks the account's pending request (if any) `replaced` and
    /// writes a `credit_limit_request.created` event, only while the account meets `only_if`
    /// (tested under the account's lock, as the ledger's writes test theirs).
    ///
    /// # Errors
    /// [`LimitRequestError::NotFound`] when the account does not exist,
    /// [`LimitRequestError::OtherCurrency`] when the limit is not in its currency,
    /// [`LimitRequestError::Unmet`] when `only_if` does not hold.
    async fn create(
        &self,
        request: &NewLimitRequest,
        only_if: Precondition<super::CreditAccount>,
    ) -> Result<LimitRequest, LimitRequestError>;

    /// One request.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn request(&self, id: LimitRequestId) -> Result<Option<LimitRequest>, StoreError>;

    /// Approves (applies the limit, with a history row naming the requester as changer and
    /// `decision.by` as approver, and `account.credit_limit_changed` and
    /// `credit_limit_request.approved` events) or rejects (a `credit_limit_request.rejected`
    /// event) a pending request. The request leaves `pending` with one conditional update
    /// (`WHERE status = 'pending'`) in the transaction that applies it: of two racing
    /// decisions exactly one applies.
    ///
    /// # Errors
    /// [`LimitRequestError::NotFound`] for an unknown request,
    /// [`LimitRequestError::NotPending`] with its status when it was decided already,
    /// [`LimitRequestError::OtherCurrency`] for an approval of a request whose account has
    /// moved to another currency since (nothing is written; the request stays pending).
    async fn decide(&self, decision: &Decision) -> Result<LimitRequest, LimitRequestError>;

    /// One page of requests, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn requests(
        &self,
        filter: LimitRequestFilter,
        page: PageRequest,
    ) -> Result<Page<LimitRequest>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_write() {
        for status in LimitRequestStatus::ALL {
            assert_eq!(LimitRequestStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(LimitRequestStatus::parse("Pending"), None);
        assert_eq!(LimitRequestStatus::parse(""), None);
    }
}
