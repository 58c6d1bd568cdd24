//! API keys: secrets shown once, stored only as a SHA-256 hash. Keys are 32 random bytes, so
//! a fast hash is enough (no password stretching needed: there is nothing to brute-force).

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::ids::UserId;

/// The prefix every generated key starts with, so leaked keys are easy to grep for.
pub const KEY_PREFIX: &str = "ck_";

/// A key's secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// The shortest operator-chosen secret (`CREDENCE_ADMIN_KEY`) we accept.
    pub const MIN_LEN: usize = 16;

    /// A new key from 32 random bytes: `ck_` and 64 hex digits.
    #[must_use]
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(format!("{KEY_PREFIX}{}", hex(&bytes)))
    }

    /// A secret presented by a client or chosen by an operator; `None` when it is too short
    /// or long, or holds characters no header can carry.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let printable = text.chars().all(|c| c.is_ascii_graphic());
        (printable && (Self::MIN_LEN..=256).contains(&text.len())).then(|| Self(text.to_owned()))
    }

    /// The hash under which the key is stored and looked up.
    #[must_use]
    pub fn hash(&self) -> KeyHash {
        KeyHash(hex(&Sha256::digest(self.0.as_bytes())))
    }

    /// The first characters, shown in key lists so a user can tell keys apart.
    #[must_use]
    pub fn prefix(&self) -> String {
        self.0.chars().take(KEY_PREFIX.len() + 8).collect()
    }

    /// The secret itself: for the one response that shows it, and nothing else.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(***)")
    }
}

/// The SHA-256 of a secret, in hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    /// The hex digest.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a stored hash.
    #[must_use]
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    // Every authenticated request hashes its key: a table, not `write!`, which costs a
    // formatter call per byte.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A key's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub i64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What is kept of a key: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Row id.
    pub id: KeyId,
    /// The user the key acts for.
    pub user_id: UserId,
    /// The secret's first characters.
    pub prefix: String,
    /// A label chosen at creation.
    pub name: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key authenticates no one.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key about to be stored for a user (the user is named beside it: an existing one, or
/// one created in the same transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDraft {
    /// The secret's first characters.
    pub prefix: String,
    /// The secret's hash.
    pub hash: KeyHash,
    /// A label.
    pub name: Option<String>,
    /// Creation time.
    pub now: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_prefixed_and_hashed() {
        let key = ApiKeySecret::from_random([7; 32]);
        assert!(key.expose().starts_with("ck_"));
        assert_eq!(key.expose().len(), 3 + 64);
        assert_eq!(key.prefix(), &key.expose()[..11]);
        assert_eq!(key.hash().as_str().len(), 64);
        assert_ne!(key.hash(), ApiKeySecret::from_random([8; 32]).hash());
        assert_eq!(
            key.hash(),
            ApiKeySecret::parse(key.expose()).unwrap().hash(),
            "hashing is deterministic"
        );
        assert!(
            !format!("{key:?}").contains(&key.expose()[3..]),
            "Debug never shows the secret"
        );
    }

    #[test]
    fn presented_secrets_must_be_plausible() {
        assert!(ApiKeySecret::parse("short").is_none());
        assert!(ApiKeySecret::parse("with space inside!!").is_none());
        assert!(ApiKeySecret::parse(&"x".repeat(257)).is_none());
        assert!(ApiKeySecret::parse("operator-chosen-secret-1").is_some());
        // sha256("abc")
        let abc = Sha256::digest(b"abc");
        assert_eq!(
            hex(&abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
