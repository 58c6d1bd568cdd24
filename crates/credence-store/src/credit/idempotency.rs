//! Idempotency keys (IETF draft semantics), one row per `(scope, key)`.
//!
//! The primary key decides which of two racing first requests starts: the loser's insert
//! fails and it reads the winner's row instead. A row in progress carries a lease, so a
//! request that crashed can be retried once it lapses; taking a lapsed lease over is a
//! conditional update on the old lease, so two retries cannot both take it.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::ports::{IdempotencyStart, IdempotencyStore, StoreError};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::Store;
use crate::customers::to_db_time;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::idempotency_keys;

const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// How often `start` re-reads after losing a race (each loss means another request moved).
const ATTEMPTS: u32 = 3;

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct KeyRow {
    fingerprint: String,
    state: String,
    response_status: Option<i32>,
    response_body: Option<String>,
    lease_until: NaiveDateTime,
}

/// What one attempt of `start` found; `Retry` when a racing request changed the row.
enum Attempt {
    Done(IdempotencyStart),
    Retry,
}

fn start_in(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Attempt, Failure> {
    let found: Option<KeyRow> = idempotency_keys::table
        .find((scope, key))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = found else {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::scope.eq(scope),
                idempotency_keys::key.eq(key),
                idempotency_keys::fingerprint.eq(fingerprint),
                idempotency_keys::state.eq(IN_PROGRESS),
                idempotency_keys::response_status.eq(None::<i32>),
                idempotency_keys::response_body.eq(None::<String>),
                idempotency_keys::lease_until.eq(lease_until),
                idempotency_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(Attempt::Done(IdempotencyStart::Started));
    };
    if row.fingerprint != fingerprint {
        return Ok(Attempt::Done(IdempotencyStart::Mismatch));
    }
    if row.state == DONE {
        let status = row
            .response_status
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| Failure::corrupt("idempotent response status", "missing"))?;
        return Ok(Attempt::Done(IdempotencyStart::Replay {
            status,
            body: row.response_body.unwrap_or_default(),
        }));
    }
    if row.lease_until > now {
        return Ok(Attempt::Done(IdempotencyStart::InFlight));
    }
    // The first request's lease lapsed: take it over, unless someone else just did.
    let taken = diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::state.eq(IN_PROGRESS))
            .filter(idempotency_keys::lease_until.eq(row.lease_until)),
    )
    .set(idempotency_keys::lease_until.eq(lease_until))
    .execute(conn)?;
    Ok(if taken == 1 {
        Attempt::Done(IdempotencyStart::Started)
    } else {
        Attempt::Retry
    })
}

#[async_trait]
impl IdempotencyStore for Store {
    async fn start(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<IdempotencyStart, StoreError> {
        let (now, lease_until) = (to_db_time(now), to_db_time(lease_until));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (scope, key, fingerprint) =
                (scope.to_owned(), key.to_owned(), fingerprint.to_owned());
            let result = self
                .database()
                .write(move |conn| start_in(conn, &scope, &key, &fingerprint, now, lease_until))
                .await;
            match result {
                Ok(Attempt::Done(start)) => return Ok(start),
                // A racing first request inserted or took the key over: read what it did.
                Ok(Attempt::Retry)
                | Err(Failure::Query(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _,
                ))) if attempt < ATTEMPTS => {}
                Ok(Attempt::Retry) => return Ok(IdempotencyStart::InFlight),
                Err(failure) => return Err(failure.into()),
            }
        }
    }

    async fn complete(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (scope, key, body) = (scope.to_owned(), key.to_owned(), body.to_owned());
        Ok(self
            .database()
            .write(move |conn| {
                diesel::update(idempotency_keys::table.find((&scope, &key)))
                    .set((
                        idempotency_keys::state.eq(DONE),
                        idempotency_keys::response_status.eq(Some(i32::from(status))),
                        idempotency_keys::response_body.eq(Some(&body)),
                    ))
                    .execute(conn)?;
                Ok(())
            })
            .await?)
    }

    async fn abandon(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        Ok(self
            .database()
            .write(move |conn| {
                diesel::delete(
                    idempotency_keys::table
                        .filter(idempotency_keys::scope.eq(&scope))
                        .filter(idempotency_keys::key.eq(&key))
                        .filter(idempotency_keys::state.eq(IN_PROGRESS)),
                )
                .execute(conn)?;
                Ok(())
            })
            .await?)
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = to_db_time(before);
        Ok(self
            .database()
            .write(move |conn| {
                let purged = diesel::delete(
                    idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)),
                )
                .execute(conn)?;
                Ok(u64::try_from(purged).unwrap_or(0))
            })
            .await?)
    }
}
