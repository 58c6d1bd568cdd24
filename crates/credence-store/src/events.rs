//! Events: the outbox every change writes into, inside its own transaction, and the feed.
//!
//! [`Outbox::record`] is called by the adapters right after the rows of a change, on the
//! change's connection, so the event commits or rolls back with it. It takes the customer's
//! next sequence number from `event_sequences` (an upsert that locks that customer's row
//! until the commit, so numbers follow the order of the changes and have no gaps) and asks
//! the store's [`EventEncoder`] for the object's text.
//!
//! The feed is ordered by `(tx, id)`. On SQLite one writer commits at a time, in id order,
//! and `tx` is always 0. On PostgreSQL ids are taken in one order and committed in another,
//! so `tx` is the writing transaction's id and the feed shows only events of transactions
//! older than the oldest one still running (`pg_snapshot_xmin`): no event can later appear
//! before one already shown, and a reader paging with `after` never skips one
//! (decision 0032).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::events::{
    Event, EventEncoder, EventFeed, EventId, EventObject, EventQuery, EventType,
};
use credence_domain::ids::CustomerId;
use credence_domain::ports::StoreError;
use diesel::prelude::*;

use crate::Store;
use crate::customers::{subtree_of, to_db_time};
use crate::database::{AnyConnection, Db, write_behind};
use crate::error::Failure;
use crate::schema::{events, webhook_deliveries};

mod held;

/// Where a transaction writes its events: the encoder, and the customers whose events it may
/// write, whose turn it holds.
///
/// On PostgreSQL the feed's order is the writing transactions' ids, which are taken at a
/// transaction's first write. [`Outbox::open`] is therefore the first thing a transaction
/// does: it waits for its customers' turn (an advisory lock each, held until the commit,
/// which takes no transaction id) before writing anything, so of two transactions writing
/// events of one customer, the later one takes its id after the earlier one committed, and
/// the feed shows each customer's events in the order of their sequence numbers. Recording
/// an event of a customer whose turn the outbox does not hold is a bug, and fails.
pub(crate) struct Outbox<'a> {
    encoder: &'a dyn EventEncoder,
    customers: Vec<i64>,
}

impl<'a> Outbox<'a> {
    /// Takes the turn of `customers` (in id order, so two transactions never wait for each
    /// other's turns); call it before the transaction's first write.
    pub(crate) fn open(
        conn: &mut AnyConnection,
        encoder: &'a dyn EventEncoder,
        customers: &[CustomerId],
    ) -> Result<Self, Failure> {
        let mut customers: Vec<i64> = customers.iter().map(|c| c.get()).collect();
        customers.sort_unstable();
        customers.dedup();
        take_turns(conn, &customers)?;
        Ok(Self { encoder, customers })
    }

    /// The outbox of the transaction that creates `customer`: no other transaction can write
    /// its events before this one commits, so there is no turn to wait for.
    pub(crate) fn for_new_customer(encoder: &'a dyn EventEncoder, customer: CustomerId) -> Self {
        write_behind::hold_turns(&[customer.get()]);
        Self {
            encoder,
            customers: vec![customer.get()],
        }
    }

    /// Writes one event of `customer`, on the change's connection.
    pub(crate) fn record(
        &self,
        conn: &mut AnyConnection,
        kind: EventType,
        customer: CustomerId,
        object: EventObject<'_>,
        at: NaiveDateTime,
    ) -> Result<(), Failure> {
        if !self.customers.contains(&customer.get()) {
            return Err(Failure::Broken(format!(
                "a {kind} event of customer {} in a transaction without its turn",
                customer.get()
            )));
        }
        let statement = RecordEvent {
            customer: customer.get(),
            kind: kind.as_str(),
            object: self.encoder.encode(object),
            at,
        };
        // In an import's unit the event waits to go in with the other lines' (`held`).
        let Some(statement) =
            write_behind::hold(statement, |held: &mut held::HeldEvents, s| held.0.push(s))
        else {
            return Ok(());
        };
        let written = match conn {
            AnyConnection::Postgresql(c) => statement.execute(c)?,
            AnyConnection::Sqlite(c) => statement.execute(c)?,
        };
        if written != 1 {
            return Err(Failure::Broken(format!(
                "a {kind} event of customer {}, who does not exist",
                customer.get()
            )));
        }
        Ok(())
    }
}

/// Takes the event turns of `customers` (sorted by id) that the transaction does not hold
/// yet, on PostgreSQL (SQLite's single writer needs none).
pub(crate) fn take_turns(conn: &mut AnyConnection, customers: &[i64]) -> Result<(), Failure> {
    if let AnyConnection::Postgresql(c) = conn {
        let missing = write_behind::turns_to_take(customers);
        if !missing.is_empty() {
            TakeTurns {
                customers: missing.clone(),
            }
            .execute(c)?;
            write_behind::hold_turns(&missing);
        }
    }
    Ok(())
}

/// Takes the turns of customers, in id order (PostgreSQL): one round trip for a whole batch.
/// The ids are sorted in a subquery fenced by `OFFSET 0`, so the locks are taken in that order.
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
pub(crate) struct TakeTurns {
    pub(crate) customers: Vec<i64>,
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for TakeTurns {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(");
        out.push_bind_param::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(
            &self.customers,
        )?;
        out.push_sql(") AS k ORDER BY k OFFSET 0) AS turns");
        Ok(())
    }
}

impl<Conn> diesel::RunQueryDsl<Conn> for TakeTurns {}

/// One event in one statement: the customer's next sequence number, its reference and the
/// row. On PostgreSQL the number comes from an upsert of `event_sequences` (its row stays
/// locked until the commit); on SQLite, where one writer runs at a time, from the counter
/// that a trigger keeps after each insert. Each connection prepares it once.
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
pub(crate) struct RecordEvent {
    pub(crate) customer: i64,
    pub(crate) kind: &'static str,
    pub(crate) object: String,
    pub(crate) at: NaiveDateTime,
}

impl<Conn> diesel::RunQueryDsl<Conn> for RecordEvent {}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for RecordEvent {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        use diesel::sql_types::{BigInt, Text, Timestamp};
        out.push_sql("WITH seq AS (INSERT INTO event_sequences (customer_id, last) VALUES (");
        out.push_bind_param::<BigInt, _>(&self.customer)?;
        out.push_sql(
            ", 1) ON CONFLICT (customer_id) DO UPDATE SET last = event_sequences.last + 1 \
             RETURNING last) INSERT INTO events (type, customer_id, customer_reference, \
             sequence, object, created_at) SELECT ",
        );
        out.push_bind_param::<Text, _>(&self.kind)?;
        out.push_sql(", c.id, c.reference, seq.last, ");
        out.push_bind_param::<Text, _>(&self.object)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" FROM seq CROSS JOIN customers c WHERE c.id = ");
        out.push_bind_param::<BigInt, _>(&self.customer)?;
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for RecordEvent {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> diesel::QueryResult<()> {
        use diesel::sql_types::{BigInt, Text, Timestamp};
        out.push_sql(
            "INSERT INTO events (type, customer_id, customer_reference, sequence, object, \
             created_at) SELECT ",
        );
        out.push_bind_param::<Text, _>(&self.kind)?;
        out.push_sql(
            ", c.id, c.reference, COALESCE((SELECT s.last FROM event_sequences s \
             WHERE s.customer_id = c.id), 0) + 1, ",
        );
        out.push_bind_param::<Text, _>(&self.object)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" FROM customers c WHERE c.id = ");
        out.push_bind_param::<BigInt, _>(&self.customer)?;
        Ok(())
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
pub(crate) struct EventRow {
    id: i64,
    kind: String,
    customer_id: i64,
    customer_reference: String,
    sequence: i64,
    object: String,
    created_at: NaiveDateTime,
}

impl EventRow {
    pub(crate) fn into_domain(self) -> Result<Event, Failure> {
        Ok(Event {
            id: EventId(self.id),
            kind: EventType::parse(&self.kind)
                .map_err(|e| Failure::corrupt("event", format!("{}: {e}", self.id)))?,
            created_at: self.created_at.and_utc(),
            customer: CustomerId(self.customer_id),
            customer_reference: self.customer_reference,
            sequence: self.sequence,
            object: self.object,
        })
    }
}

/// Only events of transactions that ended before every running one began (PostgreSQL).
pub(crate) const SETTLED: &str =
    "events.tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

fn feed(conn: &mut AnyConnection, query: &EventQuery) -> Result<Vec<Event>, Failure> {
    let after: Option<(i64, i64)> = match query.after {
        Some(id) => events::table
            .find(id.0)
            .select((events::tx, events::id))
            .first(conn)
            .optional()?,
        None => None,
    };
    let mut rows = events::table.into_boxed::<Db>();
    if let Some((tx, id)) = after {
        rows = rows.filter(
            events::tx
                .gt(tx)
                .or(events::tx.eq(tx).and(events::id.gt(id))),
        );
    }
    if !query.types.is_empty() {
        let names: Vec<&str> = query
            .types
            .iter()
            .flat_map(|p| p.types())
            .map(EventType::as_str)
            .collect();
        rows = rows.filter(events::kind.eq_any(names));
    }
    if let Some(customer) = query.customer {
        rows = rows.filter(events::customer_id.eq(customer.get()));
    }
    if let Some(root) = query.within {
        rows = shown_within(rows, root);
    }
    if matches!(conn, AnyConnection::Postgresql(_)) {
        rows = rows.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(SETTLED));
    }
    rows.order((events::tx.asc(), events::id.asc()))
        .limit(i64::from(query.max))
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EventRow::into_domain)
        .collect()
}

/// `rows` narrowed to the events of the tree under `root` that its scope is shown: the SQL
/// form of [`credence_domain::events::withheld_from_scope`].
pub(crate) fn shown_within<'a, ST>(
    rows: events::BoxedQuery<'a, Db, ST>,
    root: CustomerId,
) -> events::BoxedQuery<'a, Db, ST> {
    let record_kinds: Vec<&str> = EventType::ALL
        .into_iter()
        .filter(|kind| kind.shows_the_record())
        .map(EventType::as_str)
        .collect();
    rows.filter(subtree_of("events.customer_id", root.get()))
        .filter(
            events::customer_id
                .ne(root.get())
                .or(events::kind.ne_all(record_kinds)),
        )
}

#[async_trait]
impl EventFeed for Store {
    async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let query = query.clone();
        Ok(self.database().read(move |conn| feed(conn, &query)).await?)
    }

    async fn purge(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let before = to_db_time(before);
        Ok(self
            .database()
            .write(move |conn| {
                // Ids grow with time, so the oldest are at the start of the primary key.
                let oldest: Vec<i64> = events::table
                    .filter(events::created_at.lt(before))
                    .order(events::id.asc())
                    .limit(i64::from(limit))
                    .select(events::id)
                    .load(conn)?;
                // Their deliveries go with them (the log is kept as long as the events).
                diesel::delete(
                    webhook_deliveries::table.filter(webhook_deliveries::event_id.eq_any(&oldest)),
                )
                .execute(conn)?;
                let removed = diesel::delete(events::table.filter(events::id.eq_any(oldest)))
                    .execute(conn)?;
                Ok(removed as u64)
            })
            .await?)
    }

    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                events::table
                    .find(id.0)
                    .select(EventRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(EventRow::into_domain)
                    .transpose()
            })
            .await?)
    }
}

/// The encoder of a store nobody gave one: the object's kind and id only. The service wires
/// the API's representation in (`Store::with_event_encoder`); tests of the store need no more.
#[derive(Debug, Clone, Copy, Default)]
pub struct SkeletonEncoder;

impl EventEncoder for SkeletonEncoder {
    fn encode(&self, object: EventObject<'_>) -> String {
        let (kind, id) = match object {
            EventObject::Customer(c) => ("customer", c.id.get().to_string()),
            EventObject::Entry(e) => ("ledger_entry", e.id.to_string()),
            EventObject::Account(a) => ("account", a.customer_id().get().to_string()),
            EventObject::Reservation(r) => ("reservation", r.id.0.to_string()),
            EventObject::Refusal(r) => ("refusal", r.account.get().to_string()),
            EventObject::Task(t) => ("task", t.id.0.to_string()),
            EventObject::Document(d) => ("document", format!("\"{}\"", d.uuid)),
            EventObject::Threshold(t) => ("threshold", t.movement.id.to_string()),
            EventObject::LimitRequest(r) => ("credit_limit_request", r.id.0.to_string()),
        };
        format!("{{\"object\":\"{kind}\",\"id\":{id}}}")
    }

    fn body(&self, event: &Event) -> String {
        format!(
            "{{\"id\":\"{}\",\"type\":\"{}\",\"sequence\":{},\"data\":{{\"object\":{}}}}}",
            event.id,
            event.kind.as_str(),
            event.sequence,
            event.object
        )
    }
}
