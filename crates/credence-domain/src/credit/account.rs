//! The credit rules, pure: `available = balance + creditLimit − reserved`, and a cost is
//! admitted only while it fits. Stores implement the same rule as one conditional UPDATE;
//! this model is the reference the property tests hold them to.

use crate::ids::CustomerId;
use crate::values::CurrencyCode;

use super::Money;

/// Why an order was refused for credit (`422 credit_limit_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The requested amount exceeds the available credit.")]
pub struct CreditRefused {
    /// What was available, in minor units.
    pub available: i64,
    /// What was asked for, in minor units.
    pub requested: i64,
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
    /// Not enough credit.
    #[error(transparent)]
    Refused(#[from] CreditRefused),
}

/// One customer's credit account, in its currency. Amounts are minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditAccount {
    /// The customer whose account it is.
    pub customer_id: CustomerId,
    /// The account currency.
    pub currency: CurrencyCode,
    /// Payments minus charges and captures, plus adjustments.
    pub balance: i64,
    /// How far the balance may go below zero (>= 0).
    pub credit_limit: i64,
    /// Admitted but not yet captured or released (>= 0).
    pub reserved: i64,
}

impl CreditAccount {
    /// `balance + creditLimit − reserved`, without overflow.
    #[must_use]
    pub fn available(&self) -> i128 {
        i128::from(self.balance) + i128::from(self.credit_limit) - i128::from(self.reserved)
    }

    /// The amounts as money.
    #[must_use]
    pub fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, self.currency)
    }

    /// What a cost would leave if admitted now (negative: it would be refused).
    #[must_use]
    pub fn remaining_after(&self, cost: i64) -> i128 {
        self.available() - i128::from(cost)
    }

    /// Admits a cost `c > 0` when `c <= available`, reserving it.
    ///
    /// # Errors
    /// [`AccountError::Refused`] with both amounts when it does not fit.
    pub fn admit(&mut self, cost: i64) -> Result<(), AccountError> {
        if cost <= 0 {
            return Err(AccountError::NotPositive);
        }
        if i128::from(cost) > self.available() {
            return Err(CreditRefused {
                available: clamp(self.available()),
                requested: cost,
            }
            .into());
        }
        self.reserved = self
            .reserved
            .checked_add(cost)
            .ok_or(AccountError::Overflow)?;
        Ok(())
    }

    /// Captures at most the reserved amount of one reservation: the balance drops by the
    /// captured amount and the whole reservation leaves `reserved` (the rest is released).
    ///
    /// # Errors
    /// [`AccountError::CaptureExceedsReservation`] when `captured > reservation`.
    pub fn capture(&mut self, reservation: i64, captured: i64) -> Result<(), AccountError> {
        if captured < 0 || reservation <= 0 {
            return Err(AccountError::NotPositive);
        }
        if captured > reservation {
            return Err(AccountError::CaptureExceedsReservation);
        }
        self.balance = self
            .balance
            .checked_sub(captured)
            .ok_or(AccountError::Overflow)?;
        self.reserved -= reservation.min(self.reserved);
        Ok(())
    }

    /// Releases a reservation (or lets it expire): it stops counting.
    pub fn release(&mut self, reservation: i64) {
        self.reserved -= reservation.clamp(0, self.reserved);
    }

    /// A payment raises the balance.
    ///
    /// # Errors
    /// [`AccountError::NotPositive`] unless `amount > 0`.
    pub fn pay(&mut self, amount: i64) -> Result<(), AccountError> {
        if amount <= 0 {
            return Err(AccountError::NotPositive);
        }
        self.balance = self
            .balance
            .checked_add(amount)
            .ok_or(AccountError::Overflow)?;
        Ok(())
    }

    /// A charge posts a real cost: it lowers the balance and is never refused for credit.
    ///
    /// # Errors
    /// [`AccountError::NotPositive`] unless `amount > 0`.
    pub fn charge(&mut self, amount: i64) -> Result<(), AccountError> {
        if amount <= 0 {
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
    pub fn adjust(&mut self, amount: i64) -> Result<(), AccountError> {
        if amount == 0 {
            return Err(AccountError::Zero);
        }
        self.balance = self
            .balance
            .checked_add(amount)
            .ok_or(AccountError::Overflow)?;
        Ok(())
    }
}

/// `available` as the `i64` an error reports (it fits unless the account is absurd).
fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn account(balance: i64, limit: i64) -> CreditAccount {
        CreditAccount {
            customer_id: CustomerId(1),
            currency: CurrencyCode::parse("EUR").unwrap(),
            balance,
            credit_limit: limit,
            reserved: 0,
        }
    }

    #[test]
    fn admits_exactly_up_to_the_available_credit() {
        let mut a = account(1000, 500);
        assert_eq!(a.admit(1500), Ok(()));
        assert_eq!(a.available(), 0);
        assert_eq!(
            a.admit(1),
            Err(AccountError::Refused(CreditRefused {
                available: 0,
                requested: 1
            }))
        );
        assert_eq!(a.admit(0), Err(AccountError::NotPositive));
    }

    #[test]
    fn capture_takes_at_most_the_reservation_and_releases_the_rest() {
        let mut a = account(0, 1000);
        a.admit(600).unwrap();
        assert_eq!(
            a.capture(600, 700),
            Err(AccountError::CaptureExceedsReservation)
        );
        a.capture(600, 450).unwrap();
        assert_eq!((a.balance, a.reserved, a.available()), (-450, 0, 550));
    }

    #[test]
    fn lowering_the_limit_below_usage_blocks_new_admissions() {
        let mut a = account(0, 1000);
        a.admit(800).unwrap();
        a.credit_limit = 500;
        assert_eq!(a.available(), -300);
        assert!(matches!(
            a.admit(1),
            Err(AccountError::Refused(CreditRefused {
                available: -300,
                requested: 1
            }))
        ));
        a.release(800);
        assert_eq!(a.available(), 500);
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
                    Op::Admit(cost) => match a.admit(cost) {
                        Ok(()) => {
                            prop_assert!(i128::from(cost) <= before.available());
                            open.push(cost);
                            ledger_reserved += cost;
                        }
                        Err(AccountError::Refused(r)) => {
                            prop_assert!(i128::from(cost) > before.available());
                            prop_assert_eq!(r.requested, cost);
                            prop_assert_eq!(a, before, "a refusal moves nothing");
                        }
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    },
                    Op::Capture(i, captured) if i < open.len() => {
                        let reservation = open[i];
                        if a.capture(reservation, captured).is_ok() {
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
                        a.release(reservation);
                        ledger_reserved -= reservation;
                    }
                    Op::Capture(..) | Op::Release(_) => {}
                    Op::Pay(x) => { a.pay(x).unwrap(); ledger_balance += x; }
                    Op::Charge(x) => { a.charge(x).unwrap(); ledger_balance -= x; }
                    Op::Adjust(x) => if a.adjust(x).is_ok() { ledger_balance += x; },
                    Op::Limit(l) => a.credit_limit = l,
                }
                prop_assert!(a.reserved >= 0);
                prop_assert_eq!(a.reserved, open.iter().sum::<i64>());
                prop_assert_eq!((a.balance, a.reserved), (ledger_balance, ledger_reserved));
            }
        }
    }
}
