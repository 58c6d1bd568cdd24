//! Credit limits: exact, never negative, never finer than the currency's minor unit.

use rust_decimal::Decimal;

use super::CurrencyCode;
use crate::credit::{Money, MoneyError};

/// Why a credit limit was refused (the HTTP adapter words it with the field's wire name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditLimitError {
    /// Below zero.
    #[error("a credit limit cannot be negative")]
    Negative,
    /// More decimals than the currency has.
    #[error("a credit limit has more decimals than {currency} allows ({digits})")]
    TooPrecise {
        /// The account currency.
        currency: String,
        /// Its minor-unit digits.
        digits: u32,
    },
    /// Beyond what storage in minor units can hold.
    #[error("a credit limit is too large")]
    TooLarge,
}

/// How far a customer may go below a zero balance: money in the account currency, never
/// negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditLimit(Money);

impl CreditLimit {
    /// No credit at all.
    #[must_use]
    pub fn zero(currency: CurrencyCode) -> Self {
        Self(Money::zero(currency))
    }

    /// Validates an amount in `currency`.
    ///
    /// # Errors
    /// [`CreditLimitError`] when negative, finer than the minor unit or too large.
    pub fn new(amount: Decimal, currency: CurrencyCode) -> Result<Self, CreditLimitError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(CreditLimitError::Negative);
        }
        Money::from_decimal(amount, currency)
            .map(Self)
            .map_err(|e| match e {
                MoneyError::TooPrecise { currency, digits } => {
                    CreditLimitError::TooPrecise { currency, digits }
                }
                MoneyError::TooLarge => CreditLimitError::TooLarge,
            })
    }

    /// Rebuilds a stored limit.
    ///
    /// # Errors
    /// [`CreditLimitError::Negative`] when storage holds a negative number.
    pub fn from_minor_units(
        minor_units: i64,
        currency: CurrencyCode,
    ) -> Result<Self, CreditLimitError> {
        if minor_units < 0 {
            return Err(CreditLimitError::Negative);
        }
        Ok(Self(Money::from_minor(minor_units, currency)))
    }

    /// The limit as money.
    #[must_use]
    pub fn money(&self) -> Money {
        self.0
    }

    /// The amount in minor units (cents for EUR), for storage.
    #[must_use]
    pub fn minor_units(&self) -> i64 {
        self.0.minor()
    }

    /// The currency.
    #[must_use]
    pub fn currency(&self) -> CurrencyCode {
        self.0.currency()
    }

    /// The amount with exactly the currency's scale (`5000.00` for EUR).
    #[must_use]
    pub fn amount(&self) -> Decimal {
        self.0.amount()
    }

    /// Whether any credit is granted (the API's `isCredit`).
    #[must_use]
    pub fn is_credit(&self) -> bool {
        self.0.is_positive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> CurrencyCode {
        CurrencyCode::parse("EUR").unwrap()
    }

    #[test]
    fn keeps_the_currency_scale() {
        let limit = CreditLimit::new(Decimal::new(5000, 0), eur()).unwrap();
        assert_eq!(limit.amount().to_string(), "5000.00");
        assert_eq!(limit.minor_units(), 500_000);
        assert!(limit.is_credit());
        assert!(!CreditLimit::zero(eur()).is_credit());
    }

    #[test]
    fn refuses_negative_too_precise_and_huge() {
        assert_eq!(
            CreditLimit::new(Decimal::new(-1, 2), eur()),
            Err(CreditLimitError::Negative)
        );
        assert!(matches!(
            CreditLimit::new(Decimal::new(1001, 3), eur()),
            Err(CreditLimitError::TooPrecise { .. })
        ));
        let jpy = CurrencyCode::parse("JPY").unwrap();
        assert!(matches!(
            CreditLimit::new(Decimal::new(15, 1), jpy),
            Err(CreditLimitError::TooPrecise { .. })
        ));
        assert_eq!(
            CreditLimit::new(Decimal::MAX, eur()),
            Err(CreditLimitError::TooLarge)
        );
        assert_eq!(
            CreditLimit::new(Decimal::new(1000, 2), eur()).map(|l| l.minor_units()),
            Ok(1000)
        );
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in 0_i64..i64::MAX / 1000) {
            let limit = CreditLimit::from_minor_units(minor, eur()).unwrap();
            let again = CreditLimit::new(limit.amount(), eur()).unwrap();
            prop_assert_eq!(again.minor_units(), minor);
        }
    }
}
