//! Exact money: an integer count of a currency's minor units (cents for EUR, yen for JPY,
//! fils for KWD). Decimals cross the boundary only through [`Money::from_decimal`], which
//! refuses more places than the currency has, and [`Money::amount`], which writes exactly its
//! scale (`20000.00`). Arithmetic is checked: an overflow is an error, never a wrap or a panic.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::values::{CurrencyCode, ExchangeRate};

/// Why an amount is not money in a currency. It names no field: the caller that knows which
/// amount it was says so, and the HTTP adapter words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// More decimals than the currency allows.
    #[error("an amount has more decimals than {currency} allows ({digits})")]
    TooPrecise {
        /// The currency.
        currency: String,
        /// Its minor-unit digits.
        digits: u32,
    },
    /// Beyond what 64-bit minor units hold.
    #[error("an amount is too large")]
    TooLarge,
}

/// An exact amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: CurrencyCode,
}

impl Money {
    /// Zero in a currency.
    #[must_use]
    pub fn zero(currency: CurrencyCode) -> Self {
        Self { minor: 0, currency }
    }

    /// From a count of minor units.
    #[must_use]
    pub fn from_minor(minor: i64, currency: CurrencyCode) -> Self {
        Self { minor, currency }
    }

    /// From a decimal amount, refusing extra places.
    ///
    /// # Errors
    /// [`MoneyError`] when the amount is finer than the minor unit or too large.
    pub fn from_decimal(amount: Decimal, currency: CurrencyCode) -> Result<Self, MoneyError> {
        let digits = currency.minor_unit_digits();
        let normalized = amount.normalize();
        if normalized.scale() > digits {
            return Err(MoneyError::TooPrecise {
                currency: currency.code().to_owned(),
                digits,
            });
        }
        let minor = normalized
            .checked_mul(Decimal::from(10_i64.pow(digits)))
            .and_then(|m| i64::try_from(m.trunc()).ok())
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self { minor, currency })
    }

    /// From a wide sum of minor units (an available credit, a remainder), held to what
    /// 64 bits hold. Exact for every comparison with a positive 64-bit cost: a sum above
    /// `i64::MAX` still admits every cost, one below `i64::MIN` admits none.
    #[must_use]
    pub fn saturating(minor: i128, currency: CurrencyCode) -> Self {
        let minor = i64::try_from(minor).unwrap_or(if minor < 0 { i64::MIN } else { i64::MAX });
        Self { minor, currency }
    }

    /// `self + other`, or `None` when the currencies differ or the sum leaves 64 bits.
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.combine(other, i64::checked_add)
    }

    /// `self − other`, or `None` when the currencies differ or the difference leaves 64 bits.
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.combine(other, i64::checked_sub)
    }

    /// `op` on the minor units of two amounts of one currency; `None` for two currencies.
    fn combine(self, other: Self, op: fn(i64, i64) -> Option<i64>) -> Option<Self> {
        (self.currency == other.currency)
            .then(|| op(self.minor, other.minor))
            .flatten()
            .map(|minor| Self { minor, ..self })
    }

    /// The same amount with the opposite sign (a charge as a balance change), or `None` for
    /// the one amount whose opposite 64 bits do not hold.
    #[must_use]
    pub fn checked_neg(self) -> Option<Self> {
        self.minor.checked_neg().map(|minor| Self { minor, ..self })
    }

    /// The count of minor units.
    #[must_use]
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    #[must_use]
    pub fn currency(&self) -> CurrencyCode {
        self.currency
    }

    /// The amount with exactly the currency's scale (`20000.00` for EUR, `500` for JPY).
    #[must_use]
    pub fn amount(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_unit_digits())
    }

    /// Whether the amount is zero.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// Whether the amount is below zero.
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// Whether the amount is above zero.
    #[must_use]
    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    /// Converts into another configured currency: through the organization currency
    /// (`amount × from_rate ÷ to_rate`), rounded half to even to the target's minor unit.
    ///
    /// # Errors
    /// [`MoneyError::TooLarge`] when the result does not fit.
    pub fn convert(
        &self,
        from_rate: ExchangeRate,
        to: CurrencyCode,
        to_rate: ExchangeRate,
    ) -> Result<Self, MoneyError> {
        if to == self.currency {
            return Ok(*self);
        }
        let converted = self
            .amount()
            .checked_mul(from_rate.value())
            .and_then(|v| v.checked_div(to_rate.value()))
            .ok_or(MoneyError::TooLarge)?
            .round_dp_with_strategy(
                to.minor_unit_digits(),
                RoundingStrategy::MidpointNearestEven,
            );
        Self::from_decimal(converted, to)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(c: &str) -> CurrencyCode {
        CurrencyCode::parse(c).unwrap()
    }

    #[test]
    fn writes_the_currency_scale_and_refuses_extra_places() {
        let eur = Money::from_decimal(Decimal::new(20000, 0), code("EUR")).unwrap();
        assert_eq!(
            (eur.minor(), eur.amount().to_string()),
            (2_000_000, "20000.00".into())
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(500, 0), code("JPY"))
                .unwrap()
                .amount()
                .to_string(),
            "500"
        );
        assert_eq!(
            Money::from_minor(1234, code("KWD")).amount().to_string(),
            "1.234"
        );
        assert!(matches!(
            Money::from_decimal(Decimal::new(1001, 3), code("EUR")),
            Err(MoneyError::TooPrecise { digits: 2, .. })
        ));
        assert_eq!(
            Money::from_decimal(Decimal::MAX, code("EUR")),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(-550, 2), code("EUR"))
                .unwrap()
                .minor(),
            -550
        );
    }

    #[test]
    fn arithmetic_refuses_two_currencies_and_overflow() {
        let eur = |m| Money::from_minor(m, code("EUR"));
        assert_eq!(eur(5).checked_add(eur(7)), Some(eur(12)));
        assert_eq!(eur(5).checked_sub(eur(7)), Some(eur(-2)));
        assert_eq!(eur(5).checked_add(Money::from_minor(7, code("USD"))), None);
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), None);
        assert_eq!(eur(i64::MIN).checked_neg(), None);
        assert_eq!(
            Money::saturating(i128::from(i64::MAX) + 1, code("EUR")),
            eur(i64::MAX)
        );
    }

    #[test]
    fn converts_with_bankers_rounding() {
        let rate = |r: &str| ExchangeRate::parse(r).unwrap();
        // 10.25 USD at 0.9 EUR per USD = 9.225 EUR: half to even gives 9.22.
        let usd = Money::from_decimal(Decimal::new(1025, 2), code("USD")).unwrap();
        assert_eq!(
            usd.convert(rate("0.9"), code("EUR"), rate("1"))
                .unwrap()
                .amount()
                .to_string(),
            "9.22"
        );
        // 10.35 USD gives 9.315 EUR: half to even gives 9.32.
        let usd = Money::from_decimal(Decimal::new(1035, 2), code("USD")).unwrap();
        assert_eq!(
            usd.convert(rate("0.9"), code("EUR"), rate("1"))
                .unwrap()
                .amount()
                .to_string(),
            "9.32"
        );
        // Through the organization currency: 100 GBP at 1.2 EUR into JPY at 0.006 EUR.
        let gbp = Money::from_decimal(Decimal::new(100, 0), code("GBP")).unwrap();
        assert_eq!(
            gbp.convert(rate("1.2"), code("JPY"), rate("0.006"))
                .unwrap()
                .amount()
                .to_string(),
            "20000"
        );
    }

    proptest! {
        #[test]
        fn minor_units_round_trip_through_decimals(minor in i64::MIN / 1000..i64::MAX / 1000) {
            for currency in ["EUR", "JPY", "KWD"] {
                let money = Money::from_minor(minor, code(currency));
                prop_assert_eq!(Money::from_decimal(money.amount(), code(currency)), Ok(money));
            }
        }
    }
}
