//! The credit account on the back office: the account, its ledger entries, reservations and
//! quotes, in the API's camelCase. Amounts are money in the account currency; here they become
//! exact JSON numbers at the currency's scale (`20000.00`), never `f64`.

use credence_domain::credit::{CreditAccount, LedgerEntry, LimitChange, Money, Reservation};
use credence_domain::ids::CustomerId;
use credence_domain::services::Quote;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::customers::dto::CreatedByDto;
use crate::dto::{BASE, exact, timestamp};

/// Money as an exact JSON number at its currency's scale.
pub(crate) fn money(amount: Money) -> Value {
    exact(amount.amount())
}

/// `/api/v1.0/customers/{id}/account`.
pub(crate) fn account_href(customer: CustomerId) -> String {
    format!("{BASE}/customers/{customer}/account")
}

/// An account's credit alerts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertsDto {
    /// The thresholds of available credit, highest first: when a movement takes the
    /// available credit from at least one to below it, an `account.threshold_crossed` event
    /// is written.
    #[schema(value_type = Vec<f64>, example = json!([1000.00, 100.00]))]
    pub available_below: Vec<Value>,
}

impl AlertsDto {
    /// The thresholds, at the currency's scale.
    pub(crate) fn new(thresholds: &[Money]) -> Self {
        Self {
            available_below: thresholds.iter().map(|t| money(*t)).collect(),
        }
    }
}

/// A customer's credit account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountDto {
    /// The customer whose account it is.
    pub customer_id: i64,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// Payments minus charges and captures, plus adjustments.
    #[schema(value_type = f64, example = 20000.00)]
    pub balance: Value,
    /// How far the balance may go below zero.
    #[schema(value_type = f64, example = 3000.00)]
    pub credit_limit: Value,
    /// Held by open reservations.
    #[schema(value_type = f64, example = 5000.00)]
    pub reserved_amount: Value,
    /// `balance + creditLimit − reservedAmount`.
    #[schema(value_type = f64, example = 18000.00)]
    pub available_credit: Value,
    /// Where the account lives.
    pub href: String,
}

impl From<&CreditAccount> for AccountDto {
    fn from(a: &CreditAccount) -> Self {
        Self {
            customer_id: a.customer_id().get(),
            currency: a.currency().code().to_owned(),
            balance: money(a.balance()),
            credit_limit: money(a.credit_limit()),
            reserved_amount: money(a.reserved()),
            available_credit: money(a.available()),
            href: account_href(a.customer_id()),
        }
    }
}

/// The amounts of an account as they appear on the customer representation.
#[derive(Debug, Clone)]
pub(crate) struct AccountAmounts {
    pub(crate) credit_limit: Value,
    pub(crate) balance: Value,
    pub(crate) reserved_amount: Value,
    pub(crate) available_credit: Value,
}

impl From<&CreditAccount> for AccountAmounts {
    fn from(a: &CreditAccount) -> Self {
        Self {
            credit_limit: money(a.credit_limit()),
            balance: money(a.balance()),
            reserved_amount: money(a.reserved()),
            available_credit: money(a.available()),
        }
    }
}

/// One line of an account's ledger.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntryDto {
    /// Row id (increasing).
    pub id: i64,
    /// `payment`, `charge`, `adjustment`, `reservation`, `capture`, `release` or `expiry`.
    #[schema(example = "payment")]
    pub kind: &'static str,
    /// Change of the balance.
    #[schema(value_type = f64, example = 100.00)]
    pub amount: Value,
    /// Change of the reserved amount.
    #[schema(value_type = f64, example = 0.00)]
    pub reserved_delta: Value,
    /// Balance after the entry.
    #[schema(value_type = f64, example = 20100.00)]
    pub balance: Value,
    /// Reserved amount after the entry.
    #[schema(value_type = f64, example = 5000.00)]
    pub reserved_amount: Value,
    /// Description, or the reason of an adjustment.
    pub description: Option<String>,
    /// The reservation it concerns.
    pub reservation_id: Option<i64>,
    /// Who did it (`null` for the system: expiries).
    pub user_id: Option<i64>,
    /// When (`YYYY-MM-DDTHH:MM:SSZ`).
    pub date: String,
    /// Where it lives.
    pub href: String,
}

impl From<&LedgerEntry> for LedgerEntryDto {
    fn from(entry: &LedgerEntry) -> Self {
        Self {
            id: entry.id,
            kind: entry.kind.as_str(),
            amount: money(entry.balance_delta),
            reserved_delta: money(entry.reserved_delta),
            balance: money(entry.balance_after),
            reserved_amount: money(entry.reserved_after),
            description: entry.description.clone(),
            reservation_id: entry.reservation.map(|r| r.0),
            user_id: entry.user.map(|u| u.get()),
            date: timestamp(entry.at),
            href: format!("{}/ledger/{}", account_href(entry.account), entry.id),
        }
    }
}

/// One change of an account's credit limit (`GET .../account/creditLimitHistory`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitChangeDto {
    /// The limit before; `null` for the account's first one.
    #[schema(value_type = Option<f64>, example = 3000.00)]
    pub previous: Option<Value>,
    /// The limit set.
    #[schema(value_type = f64, example = 5000.00)]
    pub credit_limit: Value,
    /// Who set it; `null` for a key without a user.
    pub changed_by: Option<CreatedByDto>,
    /// Who approved it, where the change needed an approval.
    pub approved_by: Option<CreatedByDto>,
    /// Why, as the changer said.
    pub reason: Option<String>,
    /// When (`YYYY-MM-DDTHH:MM:SSZ`).
    pub changed_at: String,
}

impl From<&LimitChange> for LimitChangeDto {
    fn from(change: &LimitChange) -> Self {
        Self {
            previous: change.previous.map(money),
            credit_limit: money(change.limit),
            changed_by: change.changed_by.as_ref().map(CreatedByDto::from),
            approved_by: change.approved_by.as_ref().map(CreatedByDto::from),
            reason: change.reason.clone(),
            changed_at: timestamp(change.at),
        }
    }
}

/// Credit set aside for an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationDto {
    /// Id.
    pub id: i64,
    /// Amount held.
    #[schema(value_type = f64, example = 50.00)]
    pub amount: Value,
    /// Amount captured, once captured.
    #[schema(value_type = Option<f64>, example = 45.00)]
    pub captured_amount: Option<Value>,
    /// `open`, `captured`, `released` or `expired`.
    #[schema(example = "open")]
    pub status: &'static str,
    /// What it is for.
    pub description: Option<String>,
    /// When it stops counting unless captured or released first.
    pub expires_at: String,
    /// When it was admitted.
    pub date_created: String,
    /// When it was captured, released or expired.
    pub date_closed: Option<String>,
    /// The currency of the paying account.
    #[schema(example = "EUR")]
    pub currency: String,
    /// Where it lives.
    pub href: String,
}

impl From<&Reservation> for ReservationDto {
    fn from(reservation: &Reservation) -> Self {
        Self {
            id: reservation.id.0,
            amount: money(reservation.amount),
            captured_amount: reservation.captured.map(money),
            status: reservation.status.as_str(),
            description: reservation.description.clone(),
            expires_at: timestamp(reservation.expires_at),
            date_created: timestamp(reservation.created_at),
            date_closed: reservation.closed_at.map(timestamp),
            currency: reservation.amount.currency().code().to_owned(),
            href: format!(
                "{}/reservations/{}",
                account_href(reservation.customer),
                reservation.id
            ),
        }
    }
}

/// Whether a cost would be admitted now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteDto {
    /// Whether it fits.
    pub admitted: bool,
    /// Available now.
    #[schema(value_type = f64, example = 12.00)]
    pub available: Value,
    /// The cost, in the account currency.
    #[schema(value_type = f64, example = 50.00)]
    pub requested: Value,
    /// `available − requested` (negative when it would be refused).
    #[schema(value_type = f64, example = -38.00)]
    pub remaining: Value,
    /// The account currency.
    #[schema(example = "EUR")]
    pub currency: String,
}

impl From<&Quote> for QuoteDto {
    fn from(q: &Quote) -> Self {
        Self {
            admitted: q.admitted,
            available: money(q.available),
            requested: money(q.requested),
            remaining: money(q.remaining),
            currency: q.available.currency().code().to_owned(),
        }
    }
}
