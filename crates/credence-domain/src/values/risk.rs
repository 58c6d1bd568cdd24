//! Risk colours, written `#RRGGBB` like every back-office list (`#FFFFFF`, `#1BE9D8`).

/// Why a risk colour was refused: the text given, which is no `#RRGGBB` (the HTTP adapter
/// words it with the field's wire name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a #RRGGBB colour")]
pub struct RiskColorError(pub String);

/// A `#RRGGBB` colour, kept upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RiskColor(String);

impl RiskColor {
    /// Validates a colour.
    ///
    /// # Errors
    /// [`RiskColorError`] unless the text is `#` and six hex digits.
    pub fn new(text: &str) -> Result<Self, RiskColorError> {
        let text = text.trim();
        match text.strip_prefix('#') {
            Some(hex) if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) => {
                Ok(Self(text.to_ascii_uppercase()))
            }
            _ => Err(RiskColorError(text.to_owned())),
        }
    }
}

crate::values::text_value!(RiskColor);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_hex_digits_after_a_hash() {
        assert_eq!(
            RiskColor::new("#1be9d8").map(|c| c.to_string()),
            Ok("#1BE9D8".into())
        );
        for bad in ["FFFFFF", "#FFF", "#GGGGGG", "#FFFFFFF", ""] {
            assert!(RiskColor::new(bad).is_err(), "{bad}");
        }
    }
}
