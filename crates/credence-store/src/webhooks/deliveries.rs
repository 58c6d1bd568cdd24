//! The deliveries' queue and log: rows of `webhook_deliveries`, one per attempt, and the
//! position in the feed up to which events were queued (`webhook_queue_position`).
//!
//! Queueing follows the feed's own order and visibility rule (see [`crate::events`]), so
//! it never skips an event that commits late. On PostgreSQL the position's row is locked
//! with `SKIP LOCKED`: one replica queues at a time, the others go on to claim. Claiming
//! leases attempts with `FOR UPDATE SKIP LOCKED`, so two replicas never take one attempt;
//! on SQLite the one writer does the same. An attempt is offered only when no earlier
//! event of its customer is pending at its endpoint, which keeps each customer's events in
//! order while a failing one is retried.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::events::{EventId, withheld_from_scope};
use credence_domain::ids::CustomerId;
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::StoreError;
use credence_domain::webhooks::{
    AttemptRecorded, AttemptReport, ClaimedDelivery, DeliveryAttempt, DeliveryId, DeliveryStatus,
    DeliveryStore, EndpointId, Queued, SendOutcome, SigningSecrets, StoredSecret, WebhookEndpoint,
    WebhookSecret, WebhookUrl,
};
use diesel::prelude::*;

use super::{EndpointRow, SecretRow};
use crate::Store;
use crate::customers::subtree_of;
use crate::database::{AnyConnection, Db};
use crate::error::Failure;
use crate::events::{EventRow, SETTLED, shown_within};
use crate::schema::{
    customers, events, webhook_deliveries, webhook_endpoints, webhook_queue_position,
    webhook_secrets,
};

/// The stored status of an attempt not made yet.
const PENDING: &str = DeliveryStatus::Pending.as_str();

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct AttemptRow {
    id: i64,
    endpoint_id: i64,
    event_id: i64,
    attempt: i32,
    status: String,
    due_at: NaiveDateTime,
    response_status: Option<i32>,
    error: Option<String>,
    duration_ms: Option<i64>,
    attempted_at: Option<NaiveDateTime>,
    next_attempt_at: Option<NaiveDateTime>,
}

impl AttemptRow {
    fn into_domain(self) -> Result<DeliveryAttempt, Failure> {
        let status = DeliveryStatus::parse(&self.status)
            .ok_or_else(|| Failure::corrupt("delivery status", self.status.clone()))?;
        Ok(DeliveryAttempt {
            id: DeliveryId(self.id),
            endpoint: EndpointId(self.endpoint_id),
            event: EventId(self.event_id),
            attempt: u32::try_from(self.attempt).unwrap_or(0),
            status,
            response_status: self.response_status.and_then(|s| u16::try_from(s).ok()),
            error: self.error,
            duration_ms: self.duration_ms.and_then(|d| u64::try_from(d).ok()),
            attempted_at: self.attempted_at.map(|at| at.and_utc()),
            next_attempt_at: match status {
                DeliveryStatus::Pending => Some(self.due_at.and_utc()),
                DeliveryStatus::Succeeded | DeliveryStatus::Failed => {
                    self.next_attempt_at.map(|at| at.and_utc())
                }
            },
        })
    }
}

/// A new pending attempt.
#[derive(Insertable)]
#[diesel(table_name = webhook_deliveries)]
struct NewAttempt {
    endpoint_id: i64,
    event_id: i64,
    customer_id: i64,
    sequence: i64,
    attempt: i32,
    status: &'static str,
    due_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// An event as queueing needs it.
#[derive(Queryable)]
struct QueuedEvent {
    tx: i64,
    id: i64,
    kind: String,
    customer_id: i64,
    sequence: i64,
    created_at: NaiveDateTime,
}

/// Takes the queue position, or `None` when another replica holds it (PostgreSQL).
fn take_position(conn: &mut AnyConnection) -> Result<Option<(i64, i64)>, Failure> {
    let position = webhook_queue_position::table.find(1).select((
        webhook_queue_position::last_tx,
        webhook_queue_position::last_id,
    ));
    Ok(match conn {
        AnyConnection::Postgresql(c) => position.for_update().skip_locked().first(c).optional()?,
        AnyConnection::Sqlite(c) => position.first(c).optional()?,
    })
}

/// The next events after `(tx, id)` in the feed's order, settled ones only (PostgreSQL).
fn events_after(
    conn: &mut AnyConnection,
    (tx, id): (i64, i64),
    limit: u32,
) -> Result<Vec<QueuedEvent>, Failure> {
    let mut rows = events::table
        .filter(
            events::tx
                .gt(tx)
                .or(events::tx.eq(tx).and(events::id.gt(id))),
        )
        .into_boxed::<Db>();
    if matches!(conn, AnyConnection::Postgresql(_)) {
        rows = rows.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(SETTLED));
    }
    Ok(rows
        .order((events::tx.asc(), events::id.asc()))
        .limit(i64::from(limit))
        .select((
            events::tx,
            events::id,
            events::kind,
            events::customer_id,
            events::sequence,
            events::created_at,
        ))
        .load(conn)?)
}

/// Which of `candidates` are in the tree of `root`.
fn within(
    conn: &mut AnyConnection,
    root: CustomerId,
    candidates: &[i64],
) -> Result<HashSet<i64>, Failure> {
    Ok(customers::table
        .filter(customers::id.eq_any(candidates))
        .filter(subtree_of("customers.id", root.get()))
        .select(customers::id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// Whether any endpoint is enabled (a read: the dispatcher's idle rounds take no write lock).
fn any_endpoint(conn: &mut AnyConnection) -> Result<bool, Failure> {
    Ok(diesel::select(diesel::dsl::exists(
        webhook_endpoints::table.filter(webhook_endpoints::enabled.eq(true)),
    ))
    .get_result(conn)?)
}

/// Whether any pending attempt of an enabled endpoint is due (a read, as above).
fn anything_due(conn: &mut AnyConnection, now: NaiveDateTime) -> Result<bool, Failure> {
    Ok(diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .inner_join(webhook_endpoints::table)
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::due_at.le(now))
            .filter(webhook_endpoints::enabled.eq(true)),
    ))
    .get_result(conn)?)
}

/// With no endpoint to queue for, moves the position past every settled event at once, so
/// that an endpoint created later does not make the dispatcher walk the events written
/// meanwhile (they are older than it, and never sent to it).
fn skip_to_end(conn: &mut AnyConnection) -> Result<(), Failure> {
    // Checked again under the position's lock: an endpoint committed since gets its events.
    if take_position(conn)?.is_none() || any_endpoint(conn)? {
        return Ok(());
    }
    let mut newest = events::table.into_boxed::<Db>();
    if matches!(conn, AnyConnection::Postgresql(_)) {
        newest = newest.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(SETTLED));
    }
    let newest: Option<(i64, i64)> = newest
        .order((events::tx.desc(), events::id.desc()))
        .select((events::tx, events::id))
        .first(conn)
        .optional()?;
    if let Some((tx, id)) = newest {
        diesel::update(webhook_queue_position::table.find(1))
            .set((
                webhook_queue_position::last_tx.eq(tx),
                webhook_queue_position::last_id.eq(id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn queue(conn: &mut AnyConnection, limit: u32, now: NaiveDateTime) -> Result<Queued, Failure> {
    let Some(position) = take_position(conn)? else {
        return Ok(Queued::default());
    };
    let batch = events_after(conn, position, limit)?;
    let Some(last) = batch.last() else {
        return Ok(Queued::default());
    };
    let last = (last.tx, last.id);
    let endpoints: Vec<WebhookEndpoint> = webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .select(EndpointRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EndpointRow::into_domain)
        .collect::<Result<_, _>>()?;
    let customers: Vec<i64> = {
        let mut ids: Vec<i64> = batch.iter().map(|e| e.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut trees: HashMap<CustomerId, HashSet<i64>> = HashMap::new();
    for root in endpoints.iter().filter_map(|e| e.customer) {
        if let Entry::Vacant(slot) = trees.entry(root) {
            slot.insert(within(conn, root, &customers)?);
        }
    }
    let mut attempts = Vec::new();
    for event in &batch {
        let kind = credence_domain::events::EventType::parse(&event.kind)
            .map_err(|e| Failure::corrupt("event", format!("{}: {e}", event.id)))?;
        for endpoint in &endpoints {
            let in_scope = endpoint.customer.is_none_or(|root| {
                trees
                    .get(&root)
                    .is_some_and(|t| t.contains(&event.customer_id))
                    && !withheld_from_scope(root, CustomerId(event.customer_id), kind)
            });
            if in_scope
                && endpoint.types.matches(kind)
                && endpoint.created_at.naive_utc() <= event.created_at
            {
                attempts.push(NewAttempt {
                    endpoint_id: endpoint.id.0,
                    event_id: event.id,
                    customer_id: event.customer_id,
                    sequence: event.sequence,
                    attempt: 1,
                    status: PENDING,
                    due_at: now,
                    created_at: now,
                });
            }
        }
    }
    // A multi-row insert is written per backend (diesel has none for both at once).
    let insert = diesel::insert_into(webhook_deliveries::table).values(&attempts);
    let deliveries = match conn {
        _ if attempts.is_empty() => 0,
        AnyConnection::Postgresql(c) => insert.execute(c)?,
        AnyConnection::Sqlite(c) => insert.execute(c)?,
    };
    diesel::update(webhook_queue_position::table.find(1))
        .set((
            webhook_queue_position::last_tx.eq(last.0),
            webhook_queue_position::last_id.eq(last.1),
        ))
        .execute(conn)?;
    Ok(Queued {
        events: batch.len() as u64,
        deliveries: deliveries as u64,
    })
}

/// The due attempts to lease: pending, of an enabled endpoint, unleased (or leased until
/// before now), and no earlier pending attempt of the same customer at the same endpoint.
const DUE: &str = "SELECT d.id FROM webhook_deliveries d \
     JOIN webhook_endpoints w ON w.id = d.endpoint_id \
     WHERE d.status = 'pending' AND w.enabled AND d.due_at <= $1 \
     AND (d.lease_until IS NULL OR d.lease_until <= $1) \
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.status = 'pending' \
         AND p.endpoint_id = d.endpoint_id AND p.customer_id = d.customer_id \
         AND (p.sequence < d.sequence OR (p.sequence = d.sequence AND p.id < d.id))) \
     ORDER BY d.due_at, d.id LIMIT $3";

#[derive(QueryableByName)]
struct Leased {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    claims: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempt: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    endpoint_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    event_id: i64,
}

fn lease(
    conn: &mut AnyConnection,
    limit: u32,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<Leased>, Failure> {
    use diesel::sql_types::{BigInt, Timestamp};
    let update = |due: &str| {
        format!(
            "UPDATE webhook_deliveries SET lease_until = $2, claims = claims + 1 \
             WHERE id IN ({due}) \
             RETURNING id, claims, attempt, endpoint_id, event_id"
        )
    };
    Ok(match conn {
        AnyConnection::Postgresql(c) => {
            diesel::sql_query(update(&format!("{DUE} FOR UPDATE OF d SKIP LOCKED")))
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(until)
                .bind::<BigInt, _>(i64::from(limit))
                .load(c)?
        }
        // SQLite numbers `?NNN` parameters like PostgreSQL's `$N`.
        AnyConnection::Sqlite(c) => diesel::sql_query(update(DUE).replace('$', "?"))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(until)
            .bind::<BigInt, _>(i64::from(limit))
            .load(c)?,
    })
}

fn claim(
    conn: &mut AnyConnection,
    limit: u32,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<ClaimedDelivery>, Failure> {
    let leased = lease(conn, limit, now, until)?;
    if leased.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids: Vec<i64> = leased.iter().map(|l| l.event_id).collect();
    let events: HashMap<i64, credence_domain::events::Event> = events::table
        .filter(events::id.eq_any(&event_ids))
        .select(EventRow::as_select())
        .load::<EventRow>(conn)?
        .into_iter()
        .map(|row| row.into_domain().map(|e| (e.id.0, e)))
        .collect::<Result<_, _>>()?;
    let endpoint_ids: Vec<i64> = leased.iter().map(|l| l.endpoint_id).collect();
    let urls: HashMap<i64, String> = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(&endpoint_ids))
        .select((webhook_endpoints::id, webhook_endpoints::url))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut secrets: HashMap<i64, Vec<StoredSecret>> = HashMap::new();
    for (endpoint, row) in webhook_secrets::table
        .filter(webhook_secrets::endpoint_id.eq_any(&endpoint_ids))
        .order(webhook_secrets::id)
        .select((webhook_secrets::endpoint_id, SecretRow::as_select()))
        .load::<(i64, SecretRow)>(conn)?
    {
        secrets.entry(endpoint).or_default().push(StoredSecret {
            secret: WebhookSecret::from_stored(row.secret),
            created_at: row.created_at.and_utc(),
            expires_at: row.expires_at.map(|at| at.and_utc()),
        });
    }
    leased
        .into_iter()
        .map(|l| {
            let (Some(event), Some(url)) = (events.get(&l.event_id), urls.get(&l.endpoint_id))
            else {
                return Err(Failure::Broken(format!(
                    "delivery {} leased without its event or endpoint",
                    l.id
                )));
            };
            Ok(ClaimedDelivery {
                id: DeliveryId(l.id),
                claim: l.claims,
                attempt: u32::try_from(l.attempt).unwrap_or(1),
                endpoint: EndpointId(l.endpoint_id),
                url: WebhookUrl::from_trusted(url.clone()),
                secrets: SigningSecrets(secrets.get(&l.endpoint_id).cloned().unwrap_or_default()),
                event: event.clone(),
            })
        })
        .collect()
}

/// Why an endpoint was disabled.
fn disabled_reason(failures: u32) -> String {
    format!("the last {failures} events could not be delivered")
}

fn record(
    conn: &mut AnyConnection,
    id: DeliveryId,
    claim: i64,
    report: &AttemptReport,
) -> Result<AttemptRecorded, Failure> {
    let (response_status, error) = match &report.outcome {
        SendOutcome::Answered(status) => (Some(i32::from(*status)), None),
        SendOutcome::NoAnswer(why) => (None, Some(why.clone())),
    };
    let attempted_at = report.attempted_at.naive_utc();
    let retry_at = report.retry_at.map(|at| at.naive_utc());
    let status = report.status();
    let made: Option<(i64, i64, i64, i64, i32)> = diesel::update(
        webhook_deliveries::table
            .find(id.0)
            .filter(webhook_deliveries::claims.eq(claim))
            .filter(webhook_deliveries::status.eq(PENDING)),
    )
    .set((
        webhook_deliveries::status.eq(status.as_str()),
        webhook_deliveries::response_status.eq(response_status),
        webhook_deliveries::error.eq(error),
        webhook_deliveries::duration_ms.eq(i64::try_from(report.duration_ms).unwrap_or(i64::MAX)),
        webhook_deliveries::attempted_at.eq(attempted_at),
        webhook_deliveries::next_attempt_at.eq(retry_at),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .returning((
        webhook_deliveries::endpoint_id,
        webhook_deliveries::event_id,
        webhook_deliveries::customer_id,
        webhook_deliveries::sequence,
        webhook_deliveries::attempt,
    ))
    .get_result(conn)
    .optional()?;
    let Some((endpoint, event, customer, sequence, attempt)) = made else {
        return Ok(AttemptRecorded::default());
    };
    let mut recorded = AttemptRecorded {
        recorded: true,
        disabled: false,
        succeeded: status == DeliveryStatus::Succeeded,
    };
    if let Some(due) = retry_at {
        diesel::insert_into(webhook_deliveries::table)
            .values(NewAttempt {
                endpoint_id: endpoint,
                event_id: event,
                customer_id: customer,
                sequence,
                attempt: attempt.saturating_add(1),
                status: PENDING,
                due_at: due,
                created_at: attempted_at,
            })
            .execute(conn)?;
    } else if status == DeliveryStatus::Failed && report.disable_after > 0 {
        // The endpoint's last final outcomes, newest first: succeeded, or failed for good.
        let last: Vec<String> = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint))
            .filter(webhook_deliveries::status.ne(PENDING))
            .filter(webhook_deliveries::next_attempt_at.is_null())
            .order(webhook_deliveries::id.desc())
            .limit(i64::from(report.disable_after))
            .select(webhook_deliveries::status)
            .load(conn)?;
        let all_failed = last.len() == report.disable_after as usize
            && last.iter().all(|s| s == DeliveryStatus::Failed.as_str());
        if all_failed {
            let disabled = diesel::update(
                webhook_endpoints::table
                    .find(endpoint)
                    .filter(webhook_endpoints::enabled.eq(true)),
            )
            .set((
                webhook_endpoints::enabled.eq(false),
                webhook_endpoints::disabled_reason.eq(disabled_reason(report.disable_after)),
                webhook_endpoints::updated_at.eq(crate::customers::to_db_time(report.attempted_at)),
            ))
            .execute(conn)?;
            recorded.disabled = disabled > 0;
        }
    }
    Ok(recorded)
}

fn redeliver(
    conn: &mut AnyConnection,
    endpoint: EndpointId,
    event: EventId,
    scope: Option<CustomerId>,
    now: NaiveDateTime,
) -> Result<Option<DeliveryAttempt>, Failure> {
    let mut found = events::table
        .find(event.0)
        .select((events::customer_id, events::sequence))
        .into_boxed::<Db>();
    if let Some(root) = scope {
        found = shown_within(found, root);
    }
    let Some((customer, sequence)) = found.first::<(i64, i64)>(conn).optional()? else {
        return Ok(None);
    };
    let last: Option<i32> = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint.0))
        .filter(webhook_deliveries::event_id.eq(event.0))
        .select(diesel::dsl::max(webhook_deliveries::attempt))
        .first(conn)?;
    let id: i64 = diesel::insert_into(webhook_deliveries::table)
        .values(NewAttempt {
            endpoint_id: endpoint.0,
            event_id: event.0,
            customer_id: customer,
            sequence,
            attempt: last.unwrap_or(0).saturating_add(1),
            status: PENDING,
            due_at: now,
            created_at: now,
        })
        .returning(webhook_deliveries::id)
        .get_result(conn)?;
    webhook_deliveries::table
        .find(id)
        .select(AttemptRow::as_select())
        .first(conn)?
        .into_domain()
        .map(Some)
}

#[async_trait]
impl DeliveryStore for Store {
    async fn queue(&self, limit: u32, now: DateTime<Utc>) -> Result<Queued, StoreError> {
        let now = now.naive_utc();
        if !self.database().read(any_endpoint).await? {
            self.database().write(skip_to_end).await?;
            return Ok(Queued::default());
        }
        Ok(self
            .database()
            .write(move |conn| queue(conn, limit, now))
            .await?)
    }

    async fn claim(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let (now, until) = (now.naive_utc(), lease_until.naive_utc());
        if !self
            .database()
            .read(move |conn| anything_due(conn, now))
            .await?
        {
            return Ok(Vec::new());
        }
        Ok(self
            .database()
            .write(move |conn| claim(conn, limit, now, until))
            .await?)
    }

    async fn record(
        &self,
        id: DeliveryId,
        claim: i64,
        report: &AttemptReport,
    ) -> Result<AttemptRecorded, StoreError> {
        let report = report.clone();
        Ok(self
            .database()
            .write(move |conn| record(conn, id, claim, &report))
            .await?)
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        Ok(self
            .database()
            .read(|conn| {
                let pending: i64 = webhook_deliveries::table
                    .filter(webhook_deliveries::status.eq(PENDING))
                    .count()
                    .get_result(conn)?;
                Ok(u64::try_from(pending).unwrap_or(0))
            })
            .await?)
    }

    async fn attempts(
        &self,
        endpoint: EndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, StoreError> {
        let (limit, offset) = crate::paging::bounds(page);
        Ok(self
            .database()
            .read(move |conn| {
                let of_endpoint = webhook_deliveries::endpoint_id.eq(endpoint.0);
                let count: i64 = webhook_deliveries::table
                    .filter(of_endpoint)
                    .count()
                    .get_result(conn)?;
                let items = webhook_deliveries::table
                    .filter(of_endpoint)
                    .order(webhook_deliveries::id.desc())
                    .limit(limit)
                    .offset(offset)
                    .select(AttemptRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(AttemptRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(crate::paging::page(items, count))
            })
            .await?)
    }

    async fn redeliver(
        &self,
        endpoint: EndpointId,
        event: EventId,
        within: Option<CustomerId>,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryAttempt>, StoreError> {
        let now = now.naive_utc();
        Ok(self
            .database()
            .write(move |conn| redeliver(conn, endpoint, event, within, now))
            .await?)
    }
}
