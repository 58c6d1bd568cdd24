//! The access ports: API keys and the randomness new secrets are made from.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::*;

/// API keys (see [`crate::access::credentials`]).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key for an existing user.
    ///
    /// # Errors
    /// [`StoreError`] only (hashes of 32 random bytes do not collide).
    async fn create_key(
        &self,
        user: crate::ids::UserId,
        key: &crate::access::credentials::KeyDraft,
    ) -> Result<crate::access::credentials::ApiKey, StoreError>;

    /// Creates a user and its first key in one transaction: when either cannot be stored,
    /// neither is, so no user is left behind without the key it was made for.
    ///
    /// # Errors
    /// [`WriteError::DuplicateReference`] when the user's reference is taken,
    /// [`WriteError::DanglingReference`] when its customer does not exist, [`WriteError::Store`]
    /// otherwise (a key whose hash is already stored among them).
    async fn create_user_with_key(
        &self,
        user: &crate::customers::reference_data::UserDraft,
        key: &crate::access::credentials::KeyDraft,
    ) -> Result<
        (
            crate::customers::reference_data::User,
            crate::access::credentials::ApiKey,
        ),
        WriteError,
    >;

    /// The key with this hash, revoked or not, with its user. A live key's `last_used_at` is
    /// set to `now` on the way when it is a minute old or more (kept to the minute, so that
    /// authenticating is a read on almost every request).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find_by_hash(
        &self,
        hash: &crate::access::credentials::KeyHash,
        now: DateTime<Utc>,
    ) -> Result<
        Option<(
            crate::access::credentials::ApiKey,
            crate::customers::reference_data::User,
        )>,
        StoreError,
    >;

    /// Every key of a user, revoked ones included, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn list_keys(
        &self,
        user: crate::ids::UserId,
    ) -> Result<Vec<crate::access::credentials::ApiKey>, StoreError>;

    /// Revokes a live key of a user; `false` when the user has no such live key.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn revoke_key(
        &self,
        user: crate::ids::UserId,
        key: crate::access::credentials::KeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Every key and its user, for the operator (`credence keys list`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait KeyRegistry: Send + Sync {
    /// Every key, revoked ones included, with its user, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn every_key(
        &self,
    ) -> Result<
        Vec<(
            crate::access::credentials::ApiKey,
            crate::customers::reference_data::User,
        )>,
        StoreError,
    >;

    /// Revokes a live key, whoever's it is; `false` when there is no such live key.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn revoke_any(
        &self,
        key: crate::access::credentials::KeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Randomness for new secrets, so tests can fix it.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SecretSource: Send + Sync {
    /// 32 bytes from a cryptographically secure generator.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when the operating system cannot provide them.
    fn random_bytes(&self) -> Result<[u8; 32], StoreError>;
}
