//! Free text fields (phone, city, comment...): bounded, so no client can store a novel.

/// Why a free text was refused: longer than its limit. It names no field, since one rule
/// serves many; whoever knows the field words it (the HTTP adapter, with the wire name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a text cannot be longer than {max} characters")]
pub struct TextError {
    /// The limit, in characters.
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

    /// Validates a text; blank gives `Ok(None)`.
    ///
    /// # Errors
    /// [`TextError`] when the text is longer than `max` characters.
    pub fn new(text: &str, max: usize) -> Result<Option<Self>, TextError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > max {
            return Err(TextError { max });
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
        assert_eq!(FreeText::new("  ", 10), Ok(None));
        assert_eq!(
            FreeText::new(" Nice ", 10).map(|t| t.map(|t| t.as_str().to_owned())),
            Ok(Some("Nice".into()))
        );
        assert_eq!(FreeText::new("abcdefghijk", 10), Err(TextError { max: 10 }));
    }
}
