//! The API key store: keys are rows of `api_keys` holding the secret's hash, never the
//! secret. Looking a key up also records its use, in the same write transaction.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::access::credentials::{ApiKey, KeyDraft, KeyHash, KeyId};
use credence_domain::customers::reference_data::{User, UserDraft};
use credence_domain::ids::UserId;
use credence_domain::ports::{KeyRegistry, KeyStore, StoreError, WriteError};
use diesel::prelude::*;

use crate::Store;
use crate::customers::records::{UserRow, insert_user};
use crate::customers::to_db_time;
use crate::error::Failure;
use crate::schema::{api_keys, users};

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: i64,
    user_id: i64,
    prefix: String,
    name: Option<String>,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl KeyRow {
    fn into_domain(self) -> ApiKey {
        ApiKey {
            id: KeyId(self.id),
            user_id: UserId(self.user_id),
            prefix: self.prefix,
            name: self.name,
            created_at: self.created_at.and_utc(),
            last_used_at: self.last_used_at.map(|at| at.and_utc()),
            revoked_at: self.revoked_at.map(|at| at.and_utc()),
        }
    }
}

/// How stale `last_used_at` may get before an authentication refreshes it.
const LAST_USED_PRECISION_SECS: i64 = 60;

fn load_key(conn: &mut crate::database::AnyConnection, id: i64) -> Result<ApiKey, Failure> {
    Ok(api_keys::table
        .find(id)
        .select(KeyRow::as_select())
        .first(conn)?
        .into_domain())
}

fn insert_key(
    conn: &mut crate::database::AnyConnection,
    user: UserId,
    key: &KeyDraft,
) -> Result<ApiKey, Failure> {
    let id: i64 = diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(user.get()),
            api_keys::prefix.eq(&key.prefix),
            api_keys::hash.eq(key.hash.as_str()),
            api_keys::name.eq(key.name.as_deref()),
            api_keys::created_at.eq(to_db_time(key.now)),
        ))
        .returning(api_keys::id)
        .get_result(conn)?;
    load_key(conn, id)
}

#[async_trait]
impl KeyStore for Store {
    async fn create_key(&self, user: UserId, key: &KeyDraft) -> Result<ApiKey, StoreError> {
        let key = key.clone();
        Ok(self
            .database()
            .write(move |conn| insert_key(conn, user, &key))
            .await?)
    }

    async fn create_user_with_key(
        &self,
        user: &UserDraft,
        key: &KeyDraft,
    ) -> Result<(User, ApiKey), WriteError> {
        let (user, key) = (user.clone(), key.clone());
        Ok(self
            .database()
            .write(move |conn| {
                let user = insert_user(conn, &user)?;
                let key = insert_key(conn, user.id, &key)?;
                Ok((user, key))
            })
            .await?)
    }

    async fn find_by_hash(
        &self,
        hash: &KeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(ApiKey, User)>, StoreError> {
        let hash = hash.as_str().to_owned();
        let found = self
            .database()
            .read(move |conn| {
                let found: Option<(KeyRow, UserRow)> = api_keys::table
                    .inner_join(users::table)
                    .filter(api_keys::hash.eq(hash))
                    .select((KeyRow::as_select(), UserRow::as_select()))
                    .first(conn)
                    .optional()?;
                Ok(found)
            })
            .await?;
        let Some((mut key, user)) = found else {
            return Ok(None);
        };
        // `last used` is kept to the minute: authenticating stays a read on almost every
        // request, instead of queueing each one behind SQLite's single writer.
        let used = to_db_time(now);
        let stale = key
            .last_used_at
            .is_none_or(|at| used - at >= chrono::TimeDelta::seconds(LAST_USED_PRECISION_SECS));
        if key.revoked_at.is_none() && stale {
            let id = key.id;
            self.database()
                .write(move |conn| {
                    diesel::update(api_keys::table.find(id))
                        .set(api_keys::last_used_at.eq(Some(used)))
                        .execute(conn)?;
                    Ok(())
                })
                .await?;
            key.last_used_at = Some(used);
        }
        Ok(Some((key.into_domain(), user.into_domain()?)))
    }

    async fn list_keys(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                Ok(api_keys::table
                    .filter(api_keys::user_id.eq(user.get()))
                    .order((api_keys::created_at, api_keys::id))
                    .select(KeyRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(KeyRow::into_domain)
                    .collect())
            })
            .await?)
    }

    async fn revoke_key(
        &self,
        user: UserId,
        key: KeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .database()
            .write(move |conn| revoke(conn, key, Some(user), now))
            .await?)
    }
}

/// Revokes a live key (of `user`, when given); whether there was one.
fn revoke(
    conn: &mut crate::database::AnyConnection,
    key: KeyId,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool, Failure> {
    let mut live = api_keys::table
        .filter(api_keys::id.eq(key.0))
        .filter(api_keys::revoked_at.is_null())
        .into_boxed();
    if let Some(user) = user {
        live = live.filter(api_keys::user_id.eq(user.get()));
    }
    let ids: Vec<i64> = live.select(api_keys::id).load(conn)?;
    let revoked = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq_any(ids))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(to_db_time(now))))
    .execute(conn)?;
    Ok(revoked > 0)
}

#[async_trait]
impl KeyRegistry for Store {
    async fn every_key(&self) -> Result<Vec<(ApiKey, User)>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                let rows: Vec<(KeyRow, UserRow)> = api_keys::table
                    .inner_join(users::table)
                    .order((api_keys::created_at, api_keys::id))
                    .select((KeyRow::as_select(), UserRow::as_select()))
                    .load(conn)?;
                rows.into_iter()
                    .map(|(key, user)| Ok((key.into_domain(), user.into_domain()?)))
                    .collect()
            })
            .await?)
    }

    async fn revoke_any(&self, key: KeyId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(self
            .database()
            .write(move |conn| revoke(conn, key, None, now))
            .await?)
    }
}
