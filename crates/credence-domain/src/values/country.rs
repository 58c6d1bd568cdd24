//! ISO 3166 countries. Clients may write `FR`, `fra` or `France`; we always keep `FR`.

use std::fmt;
use std::str::FromStr;

/// Why a country was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The country {0} is not an ISO 3166 country code or name.")]
pub struct CountryError(pub String);

/// An ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode(&'static str);

impl CountryCode {
    /// Parses an alpha-2 code, an alpha-3 code or an English short name, case-insensitively.
    ///
    /// # Errors
    /// [`CountryError`] when the text names no country.
    pub fn parse(text: &str) -> Result<Self, CountryError> {
        let trimmed = text.trim();
        let squeezed: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        // Numeric codes are ISO too, but nobody writes "250" for France in an address.
        if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit()) {
            return Err(CountryError(text.to_owned()));
        }
        celes::Country::from_str(trimmed)
            .or_else(|_| celes::Country::from_str(&squeezed))
            .map(|country| Self(country.alpha2))
            .map_err(|_| CountryError(text.to_owned()))
    }

    /// The alpha-2 code.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_codes_and_english_names_in_any_case() {
        for text in ["FR", "fr", "FRA", "fra", "France", "FRANCE", " france "] {
            assert_eq!(
                CountryCode::parse(text).map(|c| c.as_str()),
                Ok("FR"),
                "{text}"
            );
        }
        assert_eq!(
            CountryCode::parse("United Kingdom").map(|c| c.as_str()),
            Ok("GB")
        );
        assert_eq!(CountryCode::parse("deu").map(|c| c.as_str()), Ok("DE"));
    }

    #[test]
    fn refuses_what_is_not_a_country() {
        for text in ["", "XX", "Atlantis", "250"] {
            assert!(CountryCode::parse(text).is_err(), "{text}");
        }
    }
}
