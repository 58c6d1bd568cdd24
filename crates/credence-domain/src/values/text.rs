//! Free text fields (phone, city, comment...): bounded, so no client can store a novel.

/// Why a free text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} cannot be longer than {max} characters")]
pub struct TextError {
    /// The wire name of the field.
    pub field: &'static str,
    /// Its limit.
    pub max: usize,
}

/// A trimmed, bounded free text. Blank input means "no value", so it is `None`, not an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FreeText(String);

impl FreeText {
    /// The limit for ordinary fields.
    pub const SHORT: usize = 255;
    /// The limit for comments.
    pub const LONG: usize = 4000;

    /// Validates a text for `field`; blank gives `Ok(None)`.
    ///
    /// # Errors
    /// [`TextError`] when the text is longer than `max` characters.
    pub fn new(field: &'static str, text: &str, max: usize) -> Result<Option<Self>, TextError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > max {
            return Err(TextError { field, max });
        }
        Ok(Some(Self(text.to_owned())))
    }

    /// Rebuilds a stored value without checks (adapters only).
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_none_and_long_is_refused() {
        assert_eq!(FreeText::new("city", "  ", 10), Ok(None));
        assert_eq!(
            FreeText::new("city", " Nice ", 10).map(|t| t.map(|t| t.as_str().to_owned())),
            Ok(Some("Nice".into()))
        );
        let err = FreeText::new("city", "abcdefghijk", 10).unwrap_err();
        assert_eq!(err.to_string(), "city cannot be longer than 10 characters");
    }
}
