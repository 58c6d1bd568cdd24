//! Events an import's unit holds back ([`write_behind`]) and inserts many to a statement.
//!
//! A held event takes its sequence number and its customer's reference when it goes in,
//! not when it was recorded: numbers are given in the order the events were recorded, after
//! the customer's last one, which is what [`super::RecordEvent`] would have given each in
//! turn (on PostgreSQL the unit holds the turn of every customer it records events of, so
//! no other transaction numbers theirs meanwhile); and no line of an import changes a
//! reference (it upserts by it), so the reference is the one each event was recorded with.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::RecordEvent;
use crate::database::inner::OnInner as _;
use crate::database::replanned::Replanned;
use crate::database::{AnyConnection, write_behind};
use crate::error::Failure;
use crate::schema::{customers, event_sequences, events};

/// Events waiting to go in, in the order they were recorded: each the statement that would
/// have written it at once.
#[derive(Default)]
pub(super) struct HeldEvents(pub(super) Vec<RecordEvent>);

/// An event row as inserted (`tx` takes its default). Every field is written, so diesel
/// inserts a chunk as one statement on SQLite too, not row by row inside a savepoint.
#[derive(Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
struct EventInsert {
    kind: &'static str,
    customer_id: i64,
    customer_reference: String,
    sequence: i64,
    object: String,
    created_at: NaiveDateTime,
}

/// Rows per `INSERT`: SQLite allows 32,766 bound parameters, six per row.
const EVENTS_PER_INSERT: usize = 5_000;

/// Customers looked up per query.
const CUSTOMERS_PER_QUERY: usize = 10_000;

impl write_behind::Held for HeldEvents {
    fn insert(self, conn: &mut AnyConnection) -> Result<(), Failure> {
        let mut ids: Vec<i64> = self.0.iter().map(|e| e.customer).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut known: HashMap<i64, (String, i64)> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CUSTOMERS_PER_QUERY) {
            let references: Vec<(i64, String)> = Replanned(
                customers::table
                    .filter(customers::id.eq_any(chunk))
                    .select((customers::id, customers::reference)),
            )
            .load(conn)?;
            known.extend(references.into_iter().map(|(id, r)| (id, (r, 0))));
            let lasts: Vec<(i64, i64)> = Replanned(
                event_sequences::table
                    .filter(event_sequences::customer_id.eq_any(chunk))
                    .select((event_sequences::customer_id, event_sequences::last)),
            )
            .load(conn)?;
            for (id, last) in lasts {
                if let Some(entry) = known.get_mut(&id) {
                    entry.1 = last;
                }
            }
        }
        let mut rows = Vec::with_capacity(self.0.len());
        for event in self.0 {
            let Some((reference, last)) = known.get_mut(&event.customer) else {
                return Err(Failure::Broken(format!(
                    "a {} event of customer {}, who does not exist",
                    event.kind, event.customer
                )));
            };
            *last += 1;
            rows.push(EventInsert {
                kind: event.kind,
                customer_id: event.customer,
                customer_reference: reference.clone(),
                sequence: *last,
                object: event.object,
                created_at: event.at,
            });
        }
        // On SQLite a trigger keeps `event_sequences` row by row.
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            diesel::insert_into(events::table)
                .values(chunk)
                .execute_on(conn)?;
        }
        if let AnyConnection::Postgresql(c) = conn {
            let mut lasts: Vec<(i64, i64)> = rows
                .iter()
                .map(|row| (row.customer_id, row.sequence))
                .collect();
            // The last number of each customer: rows hold each customer's numbers rising.
            lasts.sort_unstable();
            lasts.reverse();
            lasts.dedup_by_key(|(id, _)| *id);
            for chunk in lasts.chunks(CUSTOMERS_PER_QUERY) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|&(id, last)| {
                        (
                            event_sequences::customer_id.eq(id),
                            event_sequences::last.eq(last),
                        )
                    })
                    .collect();
                diesel::insert_into(event_sequences::table)
                    .values(&values)
                    .on_conflict(event_sequences::customer_id)
                    .do_update()
                    .set(event_sequences::last.eq(excluded(event_sequences::last)))
                    .execute(c)?;
            }
        }
        Ok(())
    }
}
