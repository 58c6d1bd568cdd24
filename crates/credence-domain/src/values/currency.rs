//! ISO 4217 currencies and the exchange rates of the configured ones.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Why a currency code was refused, in the API's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The currency with name {0} doesn't exist.")]
pub struct CurrencyError(pub String);

/// An ISO 4217 currency with a minor unit (so not gold or SDRs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyCode(iso_currency::Currency);

impl CurrencyCode {
    /// Parses a three-letter code, case-insensitively.
    ///
    /// # Errors
    /// [`CurrencyError`] when the code is not an ISO 4217 currency with a minor unit.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let upper = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper)
            .filter(|c| c.exponent().is_some())
            .map(Self)
            .ok_or_else(|| CurrencyError(code.to_owned()))
    }

    /// The three-letter code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for EUR, 0 for JPY, 3 for KWD).
    #[must_use]
    pub fn minor_unit_digits(&self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for CurrencyCode {
    type Err = CurrencyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why an exchange rate was refused (the HTTP adapter words it with the field's wire name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeRateError {
    /// Zero or negative.
    #[error("an exchange rate must be greater than 0")]
    NotPositive,
    /// Not a decimal number.
    #[error("an exchange rate must be a decimal number")]
    NotANumber,
}

/// How many units of the organization currency one unit of a currency is worth. Kept exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExchangeRate(Decimal);

impl ExchangeRate {
    /// The rate of the organization currency to itself.
    pub const ONE: Self = Self(Decimal::ONE);

    /// Validates a rate.
    ///
    /// # Errors
    /// [`ExchangeRateError::NotPositive`] for zero or negative rates.
    pub fn new(rate: Decimal) -> Result<Self, ExchangeRateError> {
        if rate <= Decimal::ZERO {
            return Err(ExchangeRateError::NotPositive);
        }
        Ok(Self(rate.normalize()))
    }

    /// Parses a decimal string such as `"1.0825"`.
    ///
    /// # Errors
    /// [`ExchangeRateError`] when the text is no positive decimal.
    pub fn parse(text: &str) -> Result<Self, ExchangeRateError> {
        let rate =
            Decimal::from_str_exact(text.trim()).map_err(|_| ExchangeRateError::NotANumber)?;
        Self::new(rate)
    }

    /// The rate.
    #[must_use]
    pub fn value(&self) -> Decimal {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_iso_4217_with_their_minor_units() {
        assert_eq!(CurrencyCode::parse("eur").map(|c| c.code()), Ok("EUR"));
        assert_eq!(
            CurrencyCode::parse("JPY").map(|c| c.minor_unit_digits()),
            Ok(0)
        );
        assert_eq!(
            CurrencyCode::parse("KWD").map(|c| c.minor_unit_digits()),
            Ok(3)
        );
        let err = CurrencyCode::parse("GmBP").unwrap_err();
        assert_eq!(
            err.to_string(),
            "The currency with name GmBP doesn't exist."
        );
        assert!(
            CurrencyCode::parse("XAU").is_err(),
            "no minor unit, no money"
        );
    }

    #[test]
    fn rates_are_positive_and_exact() {
        assert_eq!(
            ExchangeRate::parse("1.0825").map(|r| r.value().to_string()),
            Ok("1.0825".into())
        );
        assert_eq!(
            ExchangeRate::parse("0"),
            Err(ExchangeRateError::NotPositive)
        );
        assert_eq!(
            ExchangeRate::parse("-1"),
            Err(ExchangeRateError::NotPositive)
        );
        assert_eq!(
            ExchangeRate::parse("abc"),
            Err(ExchangeRateError::NotANumber)
        );
    }
}
