//! The substring index (`customer_text`, SQLite's FTS5 trigram table, see [`super::substring`])
//! of the customers an import's unit inserts, filled once per batch instead of once per line.
//!
//! A trigger fills the index as each customer is inserted, and FTS5 writes what it was given
//! to disk at every statement after it that may need undoing (each customer's and account's
//! insert): a new segment of the index per line, merged again and again, the tenth of a
//! SQLite import's write thread. Inside an optimistic unit ([`write_behind`]) the insert
//! trigger is set aside, in the unit's own transaction, before its first customer; the held
//! rows then go in with one `INSERT ... SELECT` of every customer inserted since, and the
//! trigger is made again from its own text, before anything in the unit reads and before it
//! commits. Nobody else ever sees the table without its trigger: the transaction holds the
//! write lock, and a rollback restores it. Changing a customer whose row is still held would
//! make the update trigger delete words the index does not have yet (a contentless table
//! deletes by the old words), so the held rows go in first ([`write_held_text`]).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::database::AnyConnection;
use crate::database::write_behind;
use crate::error::Failure;
use crate::schema::customers;

/// The trigger that fills the index as customers are inserted.
const TRIGGER: &str = "customer_text_insert";

/// The unit's held index rows: while the trigger is set aside, its text and the last
/// customer id before it was.
#[derive(Default)]
pub(super) struct HeldText(Option<SetAside>);

struct SetAside {
    trigger: String,
    after: i64,
}

#[derive(QueryableByName)]
struct TriggerText {
    #[diesel(sql_type = Text)]
    sql: String,
}

impl write_behind::Held for HeldText {
    fn insert(self, conn: &mut AnyConnection) -> Result<(), Failure> {
        let Some(set_aside) = self.0 else {
            return Ok(());
        };
        diesel::sql_query(
            "INSERT INTO customer_text (rowid, name_folded, reference_folded) \
             SELECT id, name_folded, reference_folded FROM customers \
             WHERE id > ? AND archived_at IS NULL ORDER BY id",
        )
        .bind::<BigInt, _>(set_aside.after)
        .execute(conn)?;
        diesel::sql_query(set_aside.trigger).execute(conn)?;
        Ok(())
    }
}

/// Before a customer's insert on SQLite: inside an optimistic unit, sets the index's insert
/// trigger aside unless it is already (the customer's index row is then held); elsewhere
/// does nothing and the trigger writes it.
///
/// # Errors
/// [`Failure`] when the trigger cannot be read or dropped.
pub(super) fn hold_text(conn: &mut AnyConnection) -> Result<(), Failure> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(());
    }
    let mut needed = false;
    if !write_behind::with(|held: &mut HeldText| needed = held.0.is_none()) || !needed {
        return Ok(());
    }
    let trigger =
        diesel::sql_query("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?")
            .bind::<Text, _>(TRIGGER)
            .get_result::<TriggerText>(conn)?
            .sql;
    let after: Option<i64> = customers::table
        .select(diesel::dsl::max(customers::id))
        .get_result(conn)?;
    diesel::sql_query(format!("DROP TRIGGER {TRIGGER}")).execute(conn)?;
    write_behind::with(|held: &mut HeldText| {
        held.0 = Some(SetAside {
            trigger,
            after: after.unwrap_or(0),
        });
    });
    Ok(())
}

/// Before a change of a customer's indexed words (an update, an archive): writes the held
/// index rows, so that the update trigger deletes words the index has.
///
/// # Errors
/// [`Failure`] from the insert.
pub(super) fn write_held_text(conn: &mut AnyConnection) -> Result<(), Failure> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(());
    }
    let mut held = HeldText::default();
    write_behind::with(|waiting: &mut HeldText| std::mem::swap(waiting, &mut held));
    write_behind::Held::insert(held, conn)
}
