//! The substring index (`customer_text`, SQLite's FTS5 trigram table, see [`super::substring`])
//! of the customers an import's unit writes, brought up to date once per batch instead of
//! once per line.
//!
//! Triggers keep the index in step with `customers`, and FTS5 writes what it was given to
//! disk at every statement after it that may need undoing (each customer's and account's
//! write): a new segment of the index per line, merged again and again, the tenth of a SQLite
//! import's write thread. Inside an optimistic unit ([`write_behind`]) the insert and update
//! triggers are set aside, in the unit's own transaction, before its first customer write.
//! The index is then brought up to date in three statements: the old words of the customers
//! updated since are deleted (a contentless table deletes by the words it was given, so they
//! are read before each customer's first update), and the current words of those and of the
//! customers inserted since go in; then the triggers are made again from their own text.
//! That happens before anything in the unit reads and before it commits. Nobody else ever
//! sees the table without its triggers: the transaction holds the write lock, and a rollback
//! restores them.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::database::AnyConnection;
use crate::database::write_behind;
use crate::error::Failure;
use crate::schema::customers;

/// The triggers that keep the index in step as customers are inserted and updated.
const TRIGGERS: [&str; 2] = ["customer_text_insert", "customer_text_update"];

/// The unit's held index changes, while the triggers are set aside.
#[derive(Default)]
pub(super) struct HeldText(Option<SetAside>);

struct SetAside {
    /// The triggers' text, to make them again.
    triggers: Vec<String>,
    /// The last customer id before they were set aside: customers after it were inserted
    /// since, and the index has nothing of theirs yet.
    after: i64,
    /// Customers inserted before, updated since.
    updated: HashSet<i64>,
    /// Of those, the words the index holds for the live ones: `[id, name, reference]`.
    indexed: Vec<serde_json::Value>,
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
        let indexed = serde_json::Value::Array(set_aside.indexed).to_string();
        diesel::sql_query(
            "INSERT INTO customer_text (customer_text, rowid, name_folded, reference_folded) \
             SELECT 'delete', value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)",
        )
        .bind::<Text, _>(indexed)
        .execute(conn)?;
        let updated = serde_json::Value::from(set_aside.updated.into_iter().collect::<Vec<_>>());
        diesel::sql_query(
            "INSERT INTO customer_text (rowid, name_folded, reference_folded) \
             SELECT id, name_folded, reference_folded FROM customers \
             WHERE (id > ? OR id IN (SELECT value FROM json_each(?))) AND archived_at IS NULL \
             ORDER BY id",
        )
        .bind::<BigInt, _>(set_aside.after)
        .bind::<Text, _>(updated.to_string())
        .execute(conn)?;
        for trigger in set_aside.triggers {
            diesel::sql_query(trigger).execute(conn)?;
        }
        Ok(())
    }
}

/// A live customer's folded name and reference, the words the index holds for it; `None`
/// for an archived or unknown one.
pub(super) type Words = Option<(String, String)>;

/// Before a customer's insert, or the update or archive of customer `changed`, on SQLite:
/// inside an optimistic unit, sets the index's triggers aside unless they are already, and
/// notes the words the index holds for `changed` before its first change; elsewhere does
/// nothing and the triggers keep the index.
///
/// # Errors
/// [`Failure`] when the triggers or the words cannot be read, or the triggers dropped.
pub(super) fn hold_text(conn: &mut AnyConnection, changed: Option<i64>) -> Result<(), Failure> {
    hold_text_with(conn, changed, read_words)
}

/// [`hold_text`], with `words` giving the words of `changed` when they are needed, for a
/// caller that has read them already.
pub(super) fn hold_text_with(
    conn: &mut AnyConnection,
    changed: Option<i64>,
    words: impl FnOnce(&mut AnyConnection, i64) -> Result<Words, Failure>,
) -> Result<(), Failure> {
    if !matches!(conn, AnyConnection::Sqlite(_)) {
        return Ok(());
    }
    // `None`: no unit holds rows here; else whether the triggers are set aside and whether
    // `changed` needs its words read.
    let mut state = None;
    write_behind::with(|held: &mut HeldText| {
        state = Some(match &held.0 {
            None => (false, changed.is_some()),
            Some(s) => (
                true,
                changed.is_some_and(|id| id <= s.after && !s.updated.contains(&id)),
            ),
        });
    });
    let Some((set_aside, read_words)) = state else {
        return Ok(());
    };
    if !set_aside {
        let set = set_triggers_aside(conn)?;
        write_behind::with(|held: &mut HeldText| held.0 = Some(set));
    }
    if let Some(id) = changed.filter(|_| read_words) {
        let words = words(conn, id)?;
        write_behind::with(|held: &mut HeldText| {
            if let Some(s) = held.0.as_mut()
                && id <= s.after
                && s.updated.insert(id)
                && let Some((name, reference)) = words
            {
                s.indexed.push(serde_json::json!([id, name, reference]));
            }
        });
    }
    Ok(())
}

fn read_words(conn: &mut AnyConnection, id: i64) -> Result<Words, Failure> {
    Ok(customers::table
        .filter(customers::id.eq(id))
        .filter(customers::archived_at.is_null())
        .select((customers::name_folded, customers::reference_folded))
        .first(conn)
        .optional()?)
}

/// Reads the triggers' text and the last customer id, then drops the triggers.
fn set_triggers_aside(conn: &mut AnyConnection) -> Result<SetAside, Failure> {
    let mut triggers = Vec::with_capacity(TRIGGERS.len());
    for name in TRIGGERS {
        let text =
            diesel::sql_query("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?")
                .bind::<Text, _>(name)
                .get_result::<TriggerText>(conn)?;
        triggers.push(text.sql);
    }
    let after: Option<i64> = customers::table
        .select(diesel::dsl::max(customers::id))
        .get_result(conn)?;
    for name in TRIGGERS {
        diesel::sql_query(format!("DROP TRIGGER {name}")).execute(conn)?;
    }
    Ok(SetAside {
        triggers,
        after: after.unwrap_or(0),
        updated: HashSet::new(),
        indexed: Vec::new(),
    })
}
