//! The credit rules, pure: `available = balance + creditLimit − reserved`, and a cost is
//! admitted only while it fits. Stores implement the same rule as one conditional UPDATE;
//! this model is the reference the property tests hold them to.

use crate::ids::CustomerId;
use crate::values::{CreditLimit, CurrencyCode};

use super::Money;

/// Why an order was refused for credit (`422 credit_limit_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The requested amount exceeds the available credit.")]
pub struct CreditRefused {
    /// What was available (negative once a lowered limit is below what is used).
    pub available: Money,
    /// What was asked for.
    pub requested: Money,
}

/// Why a movement of an account was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// Amounts of payments, charges, reservations and captures are above zero.
    #[error("amount must be greater than 0")]
    NotPositive,
    /// An adjustment of zero moves nothing.
    #[error("amount of an adjustment cannot be 0")]
    Zero,
    /// More than the reservation holds.
    #[error("The captured amount cannot exceed the reserved amount.")]
    CaptureExceedsReservation,
    /// The numbers would leave 64 bits.
    #[error("amount is too large")]
    Overflow,
    /// An amount in another currency than the account's.
    #[error("the amount is not in the account currency {0}")]
    OtherCurrency(CurrencyCode),
    /// Not enough credit.
    #[error(transparent)]
    Refused(#[from] CreditRefused),
}

/// One customer's credit account. Its three amounts are always in the account currency: the
/// fields are private so that no movement can mix currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditAccount {
    customer_id: CustomerId,
    balance: Money,
    credit_limit: Money,
    reserved: Money,
}

impl CreditAccount {
    /// A new account: nothing paid, nothing reserved.
    #[must_use]
    pub fn open(customer_id: CustomerId, credit_limit: Money) -> Self {
        let zero = Money::zero(credit_limit.currency());
        Self {
            customer_id,
            balance: zero,
            credit_limit,
            reserved: zero,
        }
    }

    /// An account as a store holds it: three counts of minor units of one currency. This is
    /// the one place where minor units become an account.
    #[must_use]
    pub fn from_minor(
        customer_id: CustomerId,
        currency: CurrencyCode,
        balance: i64,
        credit_limit: i64,
        reserved: i64,
    ) -> Self {
        Self {
            customer_id,
            balance: Money::from_minor(balance, currency),
            credit_limit: Money::from_minor(credit_limit, currency),
            reserved: Money::from_minor(reserved, currency),
        }
    }

    /// The customer whose account it is.
    #[must_use]
    pub fn customer_id(&self) -> CustomerId {
        self.customer_id
    }

    /// The account currency.
    #[must_use]
    pub fn currency(&self) -> CurrencyCode {
        self.balance.currency()
    }

    /// Payments minus charges and captures, plus adjustments.
    #[must_use]
    pub fn balance(&self) -> Money {
        self.balance
    }

    /// How far the balance may go below zero (>= 0).
    #[must_use]
    pub fn credit_limit(&self) -> Money {
        self.credit_limit
    }

    /// Admitted but not yet captured or released (>= 0).
    #[must_use]
    pub fn reserved(&self) -> Money {
        self.reserved
    }

    /// `balance + creditLimit − reserved`, computed without overflow and held to 64 bits
    /// (exact for deciding any admission, see [`Money::saturating`]).
    #[must_use]
    pub fn available(&self) -> Money {
        Money::saturating(self.available_minor(), self.currency())
    }

    fn available_minor(&self) -> i128 {
        i128::from(self.balance.minor()) + i128::from(self.credit_limit.minor())
            - i128::from(self.reserved.minor())
    }

    /// What a cost would leave if admitted now (negative: it would be refused).
    ///
    /// # Errors
    /// [`AccountError::OtherCurrency`] for a cost in another currency.
    pub fn remaining_after(&self, cost: Money) -> Result<Money, AccountError> {
        let cost = self.own(cost)?;
        Ok(Money::saturating(
            self.available_minor() - i128::from(cost.minor()),
            self.currency(),
        ))
    }

    /// Admits a cost `c > 0` when `c <= available`, reserving it.
    ///
    /// # Errors
    /// [`AccountError::Refused`] with both amounts when it does not fit.
    pub fn admit(&mut self, cost: Money) -> Result<(), AccountError> {
        let cost = self.own(cost)?;
        if !cost.is_positive() {
            return Err(AccountError::NotPositive);
        }
        if i128::from(cost.minor()) > self.available_minor() {
            return Err(CreditRefused {
                available: self.available(),
                requested: cost,
            }
            .into());
        }
        self.reserved = add(self.reserved, cost)?;
        Ok(())
    }

    /// Captures at most the reserved amount of one reservation: the balance drops by the
    /// captured amount and the whole reservation leaves `reserved` (the rest is released).
    ///
    /// # Errors
    /// [`AccountError::CaptureExceedsReservation`] when `captured > reservation`.
    pub fn capture(&mut self, reservation: Money, captured: Money) -> Result<(), AccountError> {
        let (reservation, captured) = (self.own(reservation)?, self.own(captured)?);
        if captured.is_negative() || !reservation.is_positive() {
            return Err(AccountError::NotPositive);
        }
        if captured.minor() > reservation.minor() {
            return Err(AccountError::CaptureExceedsReservation);
        }
        self.balance = self
            .balance
            .checked_sub(captured)
            .ok_or(AccountError::Overflow)?;
        self.release(reservation);
        Ok(())
    }

    /// Releases a reservation (or lets it expire): it stops counting. An amount in another
    /// currency releases nothing.
    pub fn release(&mut self, reservation: Money) {
        if let Ok(reservation) = self.own(reservation) {
            let freed = reservation.minor().clamp(0, self.reserved.minor());
            self.reserved = Money::from_minor(self.reserved.minor() - freed, self.currency());
        }
    }

    /// A payment raises the balance.
    ///
    /// # Errors
    /// [`AccountError::NotPositive`] unless `amount > 0`.
    pub fn pay(&mut self, amount: Money) -> Result<(), AccountError> {
        let amount = self.own(amount)?;
        if !amount.is_positive() {
            return Err(AccountError::NotPositive);
        }
        self.balance = add(self.balance, amount)?;
        Ok(())
    }

    /// A charge posts a real cost: it lowers the balance and is never refused for credit.
    ///
    /// # Errors
    /// [`AccountError::NotPositive`] unless `amount > 0`.
    pub fn charge(&mut self, amount: Money) -> Result<(), AccountError> {
        let amount = self.own(amount)?;
        if !amount.is_positive() {
            return Err(AccountError::NotPositive);
        }
        self.balance = self
            .balance
            .checked_sub(amount)
            .ok_or(AccountError::Overflow)?;
        Ok(())
    }

    /// An adjustment moves the balance either way.
    ///
    /// # Errors
    /// [`AccountError::Zero`] for zero.
    pub fn adjust(&mut self, amount: Money) -> Result<(), AccountError> {
        let amount = self.own(amount)?;
        if amount.is_zero() {
            return Err(AccountError::Zero);
        }
        self.balance = add(self.balance, amount)?;
        Ok(())
    }

    /// Sets the credit limit (a limit below what is used blocks new admissions; it moves no
    /// money).
    ///
    /// # Errors
    /// [`AccountError::OtherCurrency`] for a limit in another currency.
    pub fn set_credit_limit(&mut self, limit: CreditLimit) -> Result<(), AccountError> {
        self.credit_limit = self.own(limit.money())?;
        Ok(())
    }

    /// `amount` when it is in the account currency.
    fn own(&self, amount: Money) -> Result<Money, AccountError> {
        if amount.currency() == self.currency() {
            Ok(amount)
        } else {
            Err(AccountError::OtherCurrency(self.currency()))
        }
    }
}

fn add(a: Money, b: Money) -> Result<Money, AccountError> {
    a.checked_add(b).ok_or(AccountError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, CurrencyCode::parse("EUR").unwrap())
    }

    fn account(balance: i64, limit: i64) -> CreditAccount {
        CreditAccount::from_minor(
            CustomerId(1),
            CurrencyCode::parse("EUR").unwrap(),
            balance,
            limit,
            0,
        )
    }

    fn limit(minor: i64) -> CreditLimit {
        CreditLimit::from_minor_units(minor, CurrencyCode::parse("EUR").unwrap()).unwrap()
    }

    #[test]
    fn admits_exactly_up_to_the_available_credit() {
        let mut a = account(1000, 500);
        assert_eq!(a.admit(eur(1500)), Ok(()));
        assert_eq!(a.available(), eur(0));
        assert_eq!(
            a.admit(eur(1)),
            Err(AccountError::Refused(CreditRefused {
                available: eur(0),
                requested: eur(1)
            }))
        );
        assert_eq!(a.admit(eur(0)), Err(AccountError::NotPositive));
        let usd = Money::from_minor(1, CurrencyCode::parse("USD").unwrap());
        assert!(matches!(a.admit(usd), Err(AccountError::OtherCurrency(_))));
    }

    #[test]
    fn capture_takes_at_most_the_reservation_and_releases_the_rest() {
        let mut a = account(0, 1000);
        a.admit(eur(600)).unwrap();
        assert_eq!(
            a.capture(eur(600), eur(700)),
            Err(AccountError::CaptureExceedsReservation)
        );
        a.capture(eur(600), eur(450)).unwrap();
        assert_eq!(
            (a.balance(), a.reserved(), a.available()),
            (eur(-450), eur(0), eur(550))
        );
    }

    #[test]
    fn lowering_the_limit_below_usage_blocks_new_admissions() {
        let mut a = account(0, 1000);
        a.admit(eur(800)).unwrap();
        a.set_credit_limit(limit(500)).unwrap();
        assert_eq!(a.available(), eur(-300));
        assert_eq!(
            a.admit(eur(1)),
            Err(AccountError::Refused(CreditRefused {
                available: eur(-300),
                requested: eur(1)
            }))
        );
        a.release(eur(800));
        assert_eq!(a.available(), eur(500));
    }

    #[test]
    fn an_available_credit_beyond_64_bits_is_held_at_the_edge() {
        let a = account(i64::MAX, i64::MAX);
        assert_eq!(a.available(), eur(i64::MAX));
        let mut b = account(i64::MIN, 0);
        b.admit(eur(1)).unwrap_err();
        assert_eq!(b.remaining_after(eur(1)), Ok(eur(i64::MIN)));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Admit(i64),
        Capture(usize, i64),
        Release(usize),
        Pay(i64),
        Charge(i64),
        Adjust(i64),
        Limit(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1_i64..5_000).prop_map(Op::Admit),
            (0_usize..8, 0_i64..5_000).prop_map(|(i, c)| Op::Capture(i, c)),
            (0_usize..8).prop_map(Op::Release),
            (1_i64..5_000).prop_map(Op::Pay),
            (1_i64..5_000).prop_map(Op::Charge),
            (-5_000_i64..5_000).prop_map(Op::Adjust),
            (0_i64..10_000).prop_map(Op::Limit),
        ]
    }

    proptest! {
        /// Any sequence keeps `reserved >= 0`, never admits past `available`, and balance and
        /// reserved always equal the sums of the ledger the operations would write.
        #[test]
        fn every_sequence_keeps_the_invariants(ops in proptest::collection::vec(op(), 0..60)) {
            let mut a = account(0, 1_000);
            let mut open: Vec<i64> = Vec::new();
            let (mut ledger_balance, mut ledger_reserved) = (0_i64, 0_i64);
            for op in ops {
                let before = a;
                match op {
                    Op::Admit(cost) => match a.admit(eur(cost)) {
                        Ok(()) => {
                            prop_assert!(cost <= before.available().minor());
                            open.push(cost);
                            ledger_reserved += cost;
                        }
                        Err(AccountError::Refused(r)) => {
                            prop_assert!(cost > before.available().minor());
                            prop_assert_eq!(r.requested, eur(cost));
                            prop_assert_eq!(a, before, "a refusal moves nothing");
                        }
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    },
                    Op::Capture(i, captured) if i < open.len() => {
                        let reservation = open[i];
                        if a.capture(eur(reservation), eur(captured)).is_ok() {
                            open.remove(i);
                            ledger_balance -= captured;
                            ledger_reserved -= reservation;
                        } else {
                            prop_assert!(captured > reservation);
                            prop_assert_eq!(a, before);
                        }
                    }
                    Op::Release(i) if i < open.len() => {
                        let reservation = open.remove(i);
                        a.release(eur(reservation));
                        ledger_reserved -= reservation;
                    }
                    Op::Capture(..) | Op::Release(_) => {}
                    Op::Pay(x) => { a.pay(eur(x)).unwrap(); ledger_balance += x; }
                    Op::Charge(x) => { a.charge(eur(x)).unwrap(); ledger_balance -= x; }
                    Op::Adjust(x) => if a.adjust(eur(x)).is_ok() { ledger_balance += x; },
                    Op::Limit(l) => a.set_credit_limit(limit(l)).unwrap(),
                }
                prop_assert!(!a.reserved().is_negative());
                prop_assert_eq!(a.reserved(), eur(open.iter().sum::<i64>()));
                prop_assert_eq!((a.balance(), a.reserved()), (eur(ledger_balance), eur(ledger_reserved)));
            }
        }
    }
}
