//! Names and references, with the rules for names.

/// The longest name or reference we keep, in characters.
pub const MAX_LEN: usize = 255;

/// Why a name was refused (the HTTP adapter words it with the field's wire name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, or only whitespace.
    #[error("a name cannot be empty")]
    Empty,
    /// Starts with a space.
    #[error("a name cannot start with a space")]
    LeadingSpace,
    /// Longer than [`MAX_LEN`] characters.
    #[error("a name cannot be longer than {MAX_LEN} characters")]
    TooLong,
}

/// A customer's display name: not blank, no leading space, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerName(String);

impl CustomerName {
    /// Validates a name.
    ///
    /// # Errors
    /// [`NameError`] when the name is blank, starts with a space or is too long.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(NameError::Empty);
        }
        if name.starts_with(char::is_whitespace) {
            return Err(NameError::LeadingSpace);
        }
        if name.chars().count() > MAX_LEN {
            return Err(NameError::TooLong);
        }
        Ok(Self(name))
    }
}

crate::values::text_value!(CustomerName);

/// Why a reference was refused (the HTTP adapter words it with the field's wire name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Empty, or only whitespace.
    #[error("a reference cannot be empty")]
    Empty,
    /// Leading or trailing whitespace would make two references look alike.
    #[error("a reference cannot start or end with a space")]
    Padded,
    /// Longer than [`MAX_LEN`] characters.
    #[error("a reference cannot be longer than {MAX_LEN} characters")]
    TooLong,
    /// `/` would break `/reference/{ref}` URLs.
    #[error("a reference cannot contain '/'")]
    Slash,
}

/// An external, client-chosen key (customers, categories, segmentations, payment types, users).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(String);

impl Reference {
    /// Validates a reference.
    ///
    /// # Errors
    /// [`ReferenceError`] when it is blank, padded, too long or holds a `/`.
    pub fn new(reference: impl Into<String>) -> Result<Self, ReferenceError> {
        let reference = reference.into();
        if reference.trim().is_empty() {
            return Err(ReferenceError::Empty);
        }
        if reference.trim() != reference {
            return Err(ReferenceError::Padded);
        }
        if reference.chars().count() > MAX_LEN {
            return Err(ReferenceError::TooLong);
        }
        if reference.contains('/') {
            return Err(ReferenceError::Slash);
        }
        Ok(Self(reference))
    }
}

crate::values::text_value!(Reference);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_seed_003() {
        assert_eq!(CustomerName::new(""), Err(NameError::Empty));
        assert_eq!(CustomerName::new("   "), Err(NameError::Empty));
        assert_eq!(CustomerName::new(" Acme"), Err(NameError::LeadingSpace));
        assert_eq!(CustomerName::new("x".repeat(256)), Err(NameError::TooLong));
        assert_eq!(
            CustomerName::new("é".repeat(255)).map(|n| n.as_str().chars().count()),
            Ok(255)
        );
        assert_eq!(
            CustomerName::new("Marie's Jewelry").map(|n| n.to_string()),
            Ok("Marie's Jewelry".into())
        );
    }

    #[test]
    fn references_are_trimmed_keys_without_slashes() {
        assert_eq!(Reference::new(""), Err(ReferenceError::Empty));
        assert_eq!(Reference::new(" NC-3"), Err(ReferenceError::Padded));
        assert_eq!(Reference::new("a/b"), Err(ReferenceError::Slash));
        assert_eq!(
            Reference::new("r".repeat(256)),
            Err(ReferenceError::TooLong)
        );
        assert_eq!(
            Reference::new("NC-3").map(|r| r.to_string()),
            Ok("NC-3".into())
        );
    }
}
