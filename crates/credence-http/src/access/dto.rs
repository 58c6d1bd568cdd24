//! API keys on the wire: listed without their secret; the secret appears once, in the answer
//! that created the key.

use credence_domain::access::credentials::ApiKey;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::{BASE, timestamp};

/// A key as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyDto {
    /// Row id.
    pub id: i64,
    /// The user the key acts for.
    pub user_id: i64,
    /// The secret's first characters, to tell keys apart.
    #[schema(example = "ck_1a2b3c4d")]
    pub prefix: String,
    /// A label chosen at creation.
    pub name: Option<String>,
    /// Creation time.
    pub date_created: String,
    /// Last successful use.
    pub last_used: Option<String>,
    /// Revocation time; a revoked key authenticates no one.
    pub date_revoked: Option<String>,
    /// This key.
    pub href: String,
}

impl From<&ApiKey> for KeyDto {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id.0,
            user_id: key.user_id.get(),
            prefix: key.prefix.clone(),
            name: key.name.clone(),
            date_created: timestamp(key.created_at),
            last_used: key.last_used_at.map(timestamp),
            date_revoked: key.revoked_at.map(timestamp),
            href: format!("{BASE}/users/{}/keys/{}", key.user_id, key.id),
        }
    }
}

/// A key just created: the only answer that carries its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKeyDto {
    /// The key's record.
    #[serde(flatten)]
    pub key: KeyDto,
    /// The secret. Store it now: it is never shown again.
    #[schema(example = "ck_1a2b3c4d...")]
    pub secret: String,
}
