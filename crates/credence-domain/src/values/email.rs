//! E-mail addresses: a pragmatic check (one `@`, a dotted domain, no spaces), not RFC 5322.

/// Why an e-mail address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The email {0} is not a valid e-mail address.")]
pub struct EmailError(pub String);

/// An e-mail address, kept as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates an address.
    ///
    /// # Errors
    /// [`EmailError`] when it is not `local@domain.tld` or is over 254 characters.
    pub fn new(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        let bad = || EmailError(text.to_owned());
        if text.len() > 254 || text.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        let labels_ok = domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if local.is_empty() || domain.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(bad());
        }
        Ok(Self(text.to_owned()))
    }
}

crate::values::text_value!(Email);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.fr", "marie.dupont+shop@jewelry.example.com"] {
            assert!(Email::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "", "plain", "@b.fr", "a@", "a@b", "a@@b.fr", "a b@c.fr", "a@.fr", "a@b..fr",
        ] {
            assert!(Email::new(bad).is_err(), "{bad}");
        }
    }
}
