//! Authentication (a presented key becomes a [`Principal`]) and the management of API keys.

use std::sync::Arc;

use crate::access::credentials::{ApiKey, ApiKeySecret, KeyDraft, KeyId};
use crate::access::principal::{Principal, Role};
use crate::customers::CustomerKey;
use crate::customers::reference_data::{Label, User, UserDraft};
use crate::ids::UserId;
use crate::input::InputError;
use crate::ports::{
    Clock, CustomerRepository, KeyStore, RecordRepository, SecretSource, StoreError, WriteError,
};
use crate::values::Reference;

use super::principal_cache::PrincipalCache;
use crate::access::scope::{reaches, uses_back_office};

/// Why presented credentials were refused: `403`, whichever it is.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// No key has this secret.
    #[error("unknown API key")]
    UnknownKey,
    /// The key was revoked.
    #[error("revoked API key")]
    Revoked,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a key could not be created, listed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum ManageKeysError {
    /// The caller's role may not manage keys (customers): `403`.
    #[error("You are not allowed to manage API keys.")]
    Forbidden,
    /// No such user in the caller's scope, or no such live key: `404`.
    #[error("The {noun} with the id {key} doesn't exist.")]
    NotFound {
        /// `user` or `API key`.
        noun: &'static str,
        /// The id as given.
        key: String,
    },
    /// Bad input (the key's name).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the CLI could not issue a key.
#[derive(Debug, thiserror::Error)]
pub enum IssueKeyError {
    /// `--customer` names no live customer.
    #[error("The customer with the id {0} doesn't exist.")]
    UnknownCustomer(String),
    /// A reseller or customer key needs `--customer`; an admin key takes none.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key just created, with the secret shown this once.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// What is stored.
    pub key: ApiKey,
    /// The secret.
    pub secret: ApiKeySecret,
}

/// Keys and the principals they stand for.
#[derive(Clone)]
pub struct AuthService {
    keys: Arc<dyn KeyStore>,
    users: Arc<dyn RecordRepository<User>>,
    customers: Arc<dyn CustomerRepository>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretSource>,
    cache: Option<Arc<PrincipalCache>>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl AuthService {
    /// Wires the service.
    #[must_use]
    pub fn new(
        keys: Arc<dyn KeyStore>,
        users: Arc<dyn RecordRepository<User>>,
        customers: Arc<dyn CustomerRepository>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretSource>,
    ) -> Self {
        Self {
            keys,
            users,
            customers,
            clock,
            secrets,
            cache: None,
        }
    }

    /// Keeps each authenticated principal for up to `ttl` (whole seconds; zero keeps none),
    /// so that most requests skip the key store. A key revoked on another replica keeps
    /// working here for at most `ttl`; one revoked through this service stops at once.
    #[must_use]
    pub fn with_cache(mut self, ttl: chrono::TimeDelta) -> Self {
        self.cache = (ttl > chrono::TimeDelta::zero()).then(|| Arc::new(PrincipalCache::new(ttl)));
        self
    }

    /// The principal a presented secret stands for.
    ///
    /// # Errors
    /// [`AuthenticateError::UnknownKey`] or [`AuthenticateError::Revoked`] (both `403`).
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, AuthenticateError> {
        let secret = ApiKeySecret::parse(presented).ok_or(AuthenticateError::UnknownKey)?;
        let hash = secret.hash();
        let now = self.clock.now();
        if let Some(principal) = self.cache.as_ref().and_then(|cache| cache.get(&hash, now)) {
            return Ok(principal);
        }
        let looked_up = self.cache.as_ref().and_then(|cache| cache.generation());
        let (key, user) = self
            .keys
            .find_by_hash(&hash, now)
            .await?
            .ok_or(AuthenticateError::UnknownKey)?;
        if key.revoked_at.is_some() {
            return Err(AuthenticateError::Revoked);
        }
        let principal = Principal::new(Some(user.id), user.role, user.customer_id);
        if let (Some(cache), Some(looked_up)) = (&self.cache, looked_up) {
            cache.put(hash, principal.clone(), now, looked_up);
        }
        Ok(principal)
    }

    /// Creates a key for a user in the caller's scope.
    ///
    /// # Errors
    /// [`ManageKeysError`]: customers may not manage keys; users outside a reseller's tree
    /// are `NotFound`.
    pub async fn create_key(
        &self,
        principal: &Principal,
        user: UserId,
        name: Option<String>,
    ) -> Result<CreatedKey, ManageKeysError> {
        let user = self.managed_user(principal, user).await?;
        let name = name
            .map(|n| Label::new(&n).map(|l| l.as_str().to_owned()))
            .transpose()?;
        Ok(self.store_key(user.id, name).await?)
    }

    /// Lists a user's keys (never their secrets).
    ///
    /// # Errors
    /// As [`AuthService::create_key`].
    pub async fn list_keys(
        &self,
        principal: &Principal,
        user: UserId,
    ) -> Result<Vec<ApiKey>, ManageKeysError> {
        let user = self.managed_user(principal, user).await?;
        Ok(self.keys.list_keys(user.id).await?)
    }

    /// Revokes one of a user's keys.
    ///
    /// # Errors
    /// As [`AuthService::create_key`]; an unknown or already revoked key is `NotFound`.
    pub async fn revoke_key(
        &self,
        principal: &Principal,
        user: UserId,
        key: KeyId,
    ) -> Result<(), ManageKeysError> {
        let user = self.managed_user(principal, user).await?;
        if self.keys.revoke_key(user.id, key, self.clock.now()).await? {
            if let Some(cache) = &self.cache {
                cache.clear();
            }
            Ok(())
        } else {
            Err(ManageKeysError::NotFound {
                noun: "API key",
                key: key.to_string(),
            })
        }
    }

    /// Makes sure an admin key with this operator-chosen secret exists (`CREDENCE_ADMIN_KEY`).
    ///
    /// # Errors
    /// [`IssueKeyError::Invalid`] for a secret too short to be safe.
    pub async fn ensure_admin_key(&self, secret: &str) -> Result<(), IssueKeyError> {
        let secret = ApiKeySecret::parse(secret).ok_or_else(|| {
            IssueKeyError::Invalid(format!(
                "the admin key must be {} to 256 printable characters",
                ApiKeySecret::MIN_LEN
            ))
        })?;
        if let Some((key, user)) = self
            .keys
            .find_by_hash(&secret.hash(), self.clock.now())
            .await?
            && key.revoked_at.is_none()
            && user.role == Role::Admin
        {
            return Ok(());
        }
        let installing = self
            .new_keyed_user(
                Role::Admin,
                None,
                "Administrator",
                &secret,
                Some("CREDENCE_ADMIN_KEY".into()),
            )
            .await;
        if let Err(error) = installing {
            // Replicas starting together race to install the same key: the loser's user and
            // key were stored together or not at all; it finds the winner's key and starts
            // all the same.
            let installed = self
                .keys
                .find_by_hash(&secret.hash(), self.clock.now())
                .await?
                .is_some_and(|(key, owner)| key.revoked_at.is_none() && owner.role == Role::Admin);
            if !installed {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Creates a user with a role (bound to a customer for resellers and customers) and a key
    /// for it: `credence keys create`.
    ///
    /// # Errors
    /// [`IssueKeyError`] for an unknown customer or a role/customer mismatch.
    pub async fn issue_key(
        &self,
        role: Role,
        customer: Option<&str>,
        name: Option<&str>,
    ) -> Result<(User, CreatedKey), IssueKeyError> {
        let customer_id = match (role, customer) {
            (Role::Admin, Some(_)) => {
                return Err(IssueKeyError::Invalid(
                    "an admin key is bound to no customer".into(),
                ));
            }
            (Role::Admin, None) => None,
            (_, None) => {
                return Err(IssueKeyError::Invalid(format!(
                    "a {} key needs --customer",
                    role.as_str()
                )));
            }
            (_, Some(reference)) => {
                let key = CustomerKey::Reference(reference.to_owned());
                let found = self.customers.get(&key).await?;
                Some(
                    found
                        .ok_or_else(|| IssueKeyError::UnknownCustomer(reference.to_owned()))?
                        .id,
                )
            }
        };
        let display = name.unwrap_or(match role {
            Role::Admin => "Administrator",
            Role::Reseller => "Reseller",
            Role::Customer => "Customer",
        });
        let secret = ApiKeySecret::from_random(self.secrets.random_bytes()?);
        let name = name.map(str::to_owned);
        let (user, key) = self
            .new_keyed_user(role, customer_id, display, &secret, name)
            .await?;
        Ok((user, CreatedKey { key, secret }))
    }

    async fn store_key(
        &self,
        user: UserId,
        name: Option<String>,
    ) -> Result<CreatedKey, StoreError> {
        let secret = ApiKeySecret::from_random(self.secrets.random_bytes()?);
        let key = self
            .keys
            .create_key(user, &self.key_draft(&secret, name))
            .await?;
        Ok(CreatedKey { key, secret })
    }

    fn key_draft(&self, secret: &ApiKeySecret, name: Option<String>) -> KeyDraft {
        KeyDraft {
            prefix: secret.prefix(),
            hash: secret.hash(),
            name,
            now: self.clock.now(),
        }
    }

    /// A user with a fresh random reference (`key-` and 12 hex digits), stored with its first
    /// key in one transaction.
    async fn new_keyed_user(
        &self,
        role: Role,
        customer_id: Option<crate::ids::CustomerId>,
        name: &str,
        secret: &ApiKeySecret,
        key_name: Option<String>,
    ) -> Result<(User, ApiKey), IssueKeyError> {
        let label = Label::new(name).map_err(|e| IssueKeyError::Invalid(e.to_string()))?;
        let key = self.key_draft(secret, key_name);
        for _ in 0..3 {
            let bytes = self.secrets.random_bytes()?;
            let suffix: String = bytes.iter().take(6).map(|b| format!("{b:02x}")).collect();
            let reference = Reference::new(format!("key-{suffix}"))
                .map_err(|e| IssueKeyError::Invalid(e.to_string()))?;
            let draft = UserDraft {
                reference,
                name: label.clone(),
                email: None,
                role,
                customer_id,
            };
            match self.keys.create_user_with_key(&draft, &key).await {
                Ok(created) => return Ok(created),
                Err(WriteError::DuplicateReference) => {}
                Err(
                    WriteError::DanglingReference
                    | WriteError::AccountInUse
                    | WriteError::TooManyDocuments
                    | WriteError::UnknownDocument(_)
                    | WriteError::Stale
                    | WriteError::OwnAncestor,
                ) => {
                    return Err(IssueKeyError::UnknownCustomer(
                        customer_id.map(|c| c.to_string()).unwrap_or_default(),
                    ));
                }
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(IssueKeyError::Invalid(
            "could not find a free user reference".into(),
        ))
    }

    async fn managed_user(
        &self,
        principal: &Principal,
        id: UserId,
    ) -> Result<User, ManageKeysError> {
        let not_found = || ManageKeysError::NotFound {
            noun: "user",
            key: id.to_string(),
        };
        if !uses_back_office(principal) {
            return Err(ManageKeysError::Forbidden);
        }
        let user = self.users.get(id).await?.ok_or_else(not_found)?;
        if principal.is_admin() {
            return Ok(user);
        }
        // A reseller manages the keys of users bound to customers of its tree, never admins.
        match user.customer_id {
            Some(customer)
                if user.role != Role::Admin
                    && reaches(self.customers.as_ref(), principal, customer).await? =>
            {
                Ok(user)
            }
            _ => Err(not_found()),
        }
    }
}
