//! Accounts across customers, for credit controllers: who is over their limit, who is close
//! to it, sorted by what is left.
//!
//! Utilization is the share of the limit in use: what is reserved minus the balance, over the
//! limit. A prepaid account (a balance above its reservations) uses none of it; an account
//! over its limit uses more than all of it.

use rust_decimal::{Decimal, RoundingStrategy};

use super::CreditAccount;
use crate::ids::CustomerId;
use crate::listing::{Order, PageRequest};

/// The decimals a utilization is written and compared with.
pub const UTILIZATION_SCALE: u32 = 4;

/// A share of a credit limit, `0` to `100` (a hundred times the limit), with at most
/// [`UTILIZATION_SCALE`] decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utilization(Decimal);

/// Why a number is no utilization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UtilizationError {
    /// Below zero or above a hundred.
    #[error("a utilization is between 0 and 100")]
    OutOfRange,
    /// More decimals than are compared.
    #[error("a utilization has at most {UTILIZATION_SCALE} decimals")]
    TooPrecise,
}

impl Utilization {
    /// The share `value` (`0.8` is 80 % of the limit).
    ///
    /// # Errors
    /// [`UtilizationError`] out of range or too precise.
    pub fn new(value: Decimal) -> Result<Self, UtilizationError> {
        if value.is_sign_negative() || value > Decimal::ONE_HUNDRED {
            return Err(UtilizationError::OutOfRange);
        }
        if value.normalize().scale() > UTILIZATION_SCALE {
            return Err(UtilizationError::TooPrecise);
        }
        Ok(Self(value))
    }

    /// The share in ten-thousandths (`0.8` is `8000`), so a store compares it exactly with
    /// integer amounts: an account is above it when `(reserved − balance) × 10,000 >
    /// ten_thousandths × limit`.
    #[must_use]
    pub fn ten_thousandths(self) -> i64 {
        let scaled = (self.0 * Decimal::from(10_i64.pow(UTILIZATION_SCALE))).trunc();
        i64::try_from(scaled).unwrap_or(i64::MAX)
    }
}

/// What `/accounts` sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccountSort {
    /// The customer's id (the default).
    #[default]
    CustomerId,
    /// The available credit.
    Available,
    /// The share of the limit in use. Without a limit, any use sorts above every share and a
    /// balance beyond the reservations below every share (as the filter treats them).
    Utilization,
    /// The balance.
    Balance,
    /// The credit limit.
    CreditLimit,
    /// The reserved amount.
    Reserved,
}

impl AccountSort {
    /// Every sort, in the order the API lists them.
    pub const ALL: [Self; 6] = [
        Self::CustomerId,
        Self::Available,
        Self::Utilization,
        Self::Balance,
        Self::CreditLimit,
        Self::Reserved,
    ];
}

/// Which accounts a list keeps, in what order, which page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountQuery {
    /// Only accounts over their limit (`true`: less than nothing available) or within it.
    pub over_limit: Option<bool>,
    /// Only accounts using more than this share of their limit.
    pub utilization_above: Option<Utilization>,
    /// Only the accounts of this customer and its descendants (the service sets it for a
    /// reseller).
    pub within: Option<CustomerId>,
    /// The sort; ties go by customer id.
    pub sort: AccountSort,
    /// Its direction.
    pub order: Order,
    /// The page.
    pub page: PageRequest,
}

/// One account of the list, with its customer's reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLine {
    /// The account.
    pub account: CreditAccount,
    /// Its customer's reference.
    pub reference: String,
}

impl CreditAccount {
    /// The share of the limit in use (`reserved − balance` over the limit), rounded to
    /// [`UTILIZATION_SCALE`] decimals; `None` without a limit.
    #[must_use]
    pub fn utilization(&self) -> Option<Decimal> {
        let limit = self.credit_limit().minor();
        if limit == 0 {
            return None;
        }
        let used = i128::from(self.reserved().minor()) - i128::from(self.balance().minor());
        let share = Decimal::from_i128_with_scale(used, 0).checked_div(Decimal::from(limit))?;
        Some(
            share
                .round_dp_with_strategy(UTILIZATION_SCALE, RoundingStrategy::MidpointAwayFromZero)
                .normalize(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::CurrencyCode;

    fn account(balance: i64, limit: i64, reserved: i64) -> CreditAccount {
        let eur = CurrencyCode::parse("EUR").unwrap();
        CreditAccount::from_minor(CustomerId(1), eur, balance, limit, reserved)
    }

    #[test]
    fn utilization_is_what_is_used_over_the_limit() {
        assert_eq!(
            account(0, 1_000, 800).utilization(),
            Some(Decimal::new(8, 1))
        );
        assert_eq!(
            account(-500, 1_000, 700).utilization(),
            Some(Decimal::new(12, 1))
        );
        assert_eq!(
            account(300, 1_000, 0).utilization(),
            Some(Decimal::new(-3, 1))
        );
        assert_eq!(account(0, 3, 1).utilization(), Some(Decimal::new(3333, 4)));
        assert_eq!(account(0, 0, 5).utilization(), None);
    }

    #[test]
    fn a_utilization_threshold_is_a_share_with_four_decimals() {
        assert_eq!(
            Utilization::new(Decimal::new(8, 1))
                .unwrap()
                .ten_thousandths(),
            8_000
        );
        assert_eq!(
            Utilization::new(Decimal::ONE_HUNDRED)
                .unwrap()
                .ten_thousandths(),
            1_000_000
        );
        assert_eq!(
            Utilization::new(Decimal::new(-1, 0)),
            Err(UtilizationError::OutOfRange)
        );
        assert_eq!(
            Utilization::new(Decimal::new(101, 0)),
            Err(UtilizationError::OutOfRange)
        );
        assert_eq!(
            Utilization::new(Decimal::new(12_345, 5)),
            Err(UtilizationError::TooPrecise)
        );
        assert!(Utilization::new(Decimal::new(12_340, 5)).is_ok());
    }
}
