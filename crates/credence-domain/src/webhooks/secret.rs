//! Signing secrets: `whsec_` and 32 random bytes in hex. Unlike API keys they are stored as
//! given, because the dispatcher signs every delivery with them (an HMAC needs the secret
//! itself). A rotation keeps the previous secret signing for [`ROTATION_GRACE`], so receivers
//! can switch without losing a delivery.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

/// How long a replaced secret keeps signing after a rotation.
pub const ROTATION_GRACE: TimeDelta = TimeDelta::hours(24);

/// A signing secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// The prefix of every secret.
    pub const PREFIX: &'static str = "whsec_";

    /// A new secret from 32 random bytes.
    #[must_use]
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            crate::access::credentials::hex(&bytes)
        ))
    }

    /// Rebuilds a stored secret.
    #[must_use]
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The secret itself: for signing, storing, and the one answer that shows it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// A secret as stored: the current one has no expiry; a replaced one signs until its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// The secret.
    pub secret: WebhookSecret,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops signing (`None`: the current secret).
    pub expires_at: Option<DateTime<Utc>>,
}

impl StoredSecret {
    /// Whether it signs deliveries made at `at`.
    #[must_use]
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| at < end)
    }
}

/// Every stored secret of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigningSecrets(pub Vec<StoredSecret>);

impl SigningSecrets {
    /// The secrets that sign a delivery made at `at`, newest first: the current one, and
    /// during a rotation's grace the one it replaced (one `v1=` signature each).
    #[must_use]
    pub fn valid_at(&self, at: DateTime<Utc>) -> Vec<WebhookSecret> {
        let mut valid: Vec<&StoredSecret> = self.0.iter().filter(|s| s.valid_at(at)).collect();
        valid.sort_by(|a, b| {
            a.expires_at
                .is_some()
                .cmp(&b.expires_at.is_some())
                .then(b.created_at.cmp(&a.created_at))
        });
        valid.into_iter().map(|s| s.secret.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn secrets_are_prefixed_hex_and_never_debugged() {
        let secret = WebhookSecret::from_random([0xab; 32]);
        assert_eq!(secret.expose(), format!("whsec_{}", "ab".repeat(32)));
        assert!(!format!("{secret:?}").contains("abab"));
    }

    #[test]
    fn a_replaced_secret_signs_until_its_expiry() {
        let t0 = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let old = WebhookSecret::from_random([1; 32]);
        let new = WebhookSecret::from_random([2; 32]);
        let secrets = SigningSecrets(vec![
            StoredSecret {
                secret: old.clone(),
                created_at: t0,
                expires_at: Some(t0 + ROTATION_GRACE),
            },
            StoredSecret {
                secret: new.clone(),
                created_at: t0,
                expires_at: None,
            },
        ]);
        assert_eq!(secrets.valid_at(t0), [new.clone(), old]);
        assert_eq!(secrets.valid_at(t0 + ROTATION_GRACE), [new]);
    }
}
