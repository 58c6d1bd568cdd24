//! What the target needs around the rows: the emptiness check, making room (its rows removed
//! inside the load's transaction), SQLite's triggers set aside while loading, the id
//! sequences carried over, and the feed's order on SQLite.

use super::CopyError;
use super::catalog::{Kind, Plan, Table, literal, quote};
use super::link::Link;
use crate::database::Backend;

/// Rows a freshly migrated database holds already (`credence migrate` writes them): the
/// root category, the organization currency, the webhook queue's start. A target holding
/// only these is empty; the copy replaces them with the source's.
const SEEDED: &[(&str, &str)] = &[
    (
        "customer_categories",
        "reference = 'root' AND parent_id IS NULL",
    ),
    ("currencies", "is_organization"),
    ("webhook_queue_position", "last_tx = 0 AND last_id = 0"),
];

/// The first copied table of the target holding rows beyond [`SEEDED`], if any.
pub(crate) fn first_nonempty(target: &mut Link, plan: &Plan) -> Result<Option<String>, CopyError> {
    for table in &plan.tables {
        let name = quote(&table.name);
        let seeded = SEEDED.iter().find(|(t, _)| *t == table.name);
        let rows = match seeded {
            None => target.number(&format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {name} LIMIT 1) s"
            ))?,
            Some((_, seed)) => {
                let others = target.number(&format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {name} WHERE NOT ({seed}) LIMIT 1) s"
                ))?;
                let all = target.number(&format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {name} LIMIT 2) s"
                ))?;
                if others > 0 || all > 1 { 1 } else { 0 }
            }
        };
        if rows > 0 {
            return Ok(Some(table.name.clone()));
        }
    }
    Ok(None)
}

/// SQLite triggers set aside during the load: `(name, the statement that made it)`.
pub(crate) type Triggers = Vec<(String, String)>;

/// Starts the target's transaction: everything the copy reads or writes there from now on
/// is in it. On SQLite it takes the write lock at once, and references are checked at the
/// commit (the rows removed by `--force` refer to each other in cycles).
pub(crate) fn begin(target: &mut Link) -> Result<(), CopyError> {
    match target.backend {
        Backend::Postgres => target.run("BEGIN ISOLATION LEVEL READ COMMITTED"),
        Backend::Sqlite => target.run("BEGIN IMMEDIATE; PRAGMA defer_foreign_keys = ON;"),
    }
}

/// Makes room for the rows, inside the transaction. On SQLite the triggers are dropped (they
/// are made again from their own text before the commit) except those keeping derived tables
/// in step, which fill them as customers arrive; the ledger's append-only triggers are among
/// those dropped, so its rows can be removed. Then the target's rows are removed.
pub(crate) fn make_room(target: &mut Link, plan: &Plan) -> Result<Triggers, CopyError> {
    match target.backend {
        Backend::Postgres => {
            let all = plan
                .tables
                .iter()
                .map(|t| quote(&t.name))
                .collect::<Vec<_>>()
                .join(", ");
            // TRUNCATE fires no row triggers: the ledger's append-only one stays in place.
            target.run(&format!("TRUNCATE {all}"))?;
            Ok(Vec::new())
        }
        Backend::Sqlite => {
            let mut set_aside = Vec::new();
            for line in target.lines(
                "SELECT json_array(name, sql) AS r FROM sqlite_master \
                 WHERE type = 'trigger' ORDER BY name",
            )? {
                let (name, sql): (String, String) = serde_json::from_str(&line)
                    .map_err(|e| CopyError::Schema(format!("a trigger cannot be read: {e}")))?;
                if plan.derived.iter().any(|d| sql.contains(d.as_str())) {
                    continue;
                }
                target.run(&format!("DROP TRIGGER {}", quote(&name)))?;
                set_aside.push((name, sql));
            }
            for table in plan.tables.iter().rev() {
                target.run(&format!("DELETE FROM {}", quote(&table.name)))?;
            }
            Ok(set_aside)
        }
    }
}

/// Makes the set-aside triggers again, from their own text.
pub(crate) fn restore(target: &mut Link, triggers: &Triggers) -> Result<(), CopyError> {
    for (_, sql) in triggers {
        target.run(sql)?;
    }
    Ok(())
}

/// The table's single integer key column, if it has one (the tables whose ids a sequence
/// hands out).
fn id_column(table: &Table) -> Option<&str> {
    match table.key.as_slice() {
        [only] if table.columns[*only].kind == Kind::Int => Some(&table.columns[*only].name),
        _ => None,
    }
}

/// The last id the source handed out for the table, deleted rows' included (0 if none).
fn last_issued(source: &mut Link, table: &str, column: &str) -> Result<i64, CopyError> {
    match source.backend {
        Backend::Sqlite => {
            let exists = source
                .number("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'sqlite_sequence'")?;
            if exists == 0 {
                return Ok(0);
            }
            source.number(&format!(
                "SELECT COALESCE(MAX(seq), 0) AS n FROM sqlite_sequence WHERE name = {}",
                literal(table)
            ))
        }
        Backend::Postgres => {
            let Some(sequence) = sequence(source, table, column)? else {
                return Ok(0);
            };
            source.number(&format!(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS n FROM {sequence}"
            ))
        }
    }
}

/// The PostgreSQL sequence behind a serial or identity column, quoted.
fn sequence(link: &mut Link, table: &str, column: &str) -> Result<Option<String>, CopyError> {
    link.maybe_line(&format!(
        "SELECT pg_get_serial_sequence({}, {}) AS r",
        literal(&quote(table)),
        literal(column)
    ))
}

/// Carries each id sequence over: the target's next id follows both the highest id copied
/// and the last one the source ever handed out (ids of deleted rows are never reused).
pub(crate) fn sequences(
    source: &mut Link,
    target: &mut Link,
    plan: &Plan,
) -> Result<(), CopyError> {
    for table in &plan.tables {
        let Some(column) = id_column(table) else {
            continue;
        };
        let issued = last_issued(source, &table.name, column)?;
        let highest = target.number(&format!(
            "SELECT CAST(COALESCE(MAX({}), 0) AS BIGINT) AS n FROM {}",
            quote(column),
            quote(&table.name)
        ))?;
        let last = issued.max(highest);
        match target.backend {
            Backend::Postgres => {
                let Some(sequence) = sequence(target, &table.name, column)? else {
                    continue;
                };
                let sql = if last > 0 {
                    format!("SELECT setval({}, {last}, true)", literal(&sequence))
                } else {
                    format!("SELECT setval({}, 1, false)", literal(&sequence))
                };
                target.lines(&format!("SELECT ({sql})::text AS r"))?;
            }
            Backend::Sqlite => {
                let autoincrement = target.number(&format!(
                    "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = {} \
                     AND sql LIKE '%AUTOINCREMENT%'",
                    literal(&table.name)
                ))?;
                if autoincrement == 0 || last == 0 {
                    continue;
                }
                let name = literal(&table.name);
                target.run(&format!(
                    "DELETE FROM sqlite_sequence WHERE name = {name}; \
                     INSERT INTO sqlite_sequence (name, seq) VALUES ({name}, {last});"
                ))?;
            }
        }
    }
    Ok(())
}

/// On a SQLite target, events keep the feed's order in their ids alone (`tx` is 0: SQLite
/// writes one transaction at a time, and its new events get 0). Events copied from
/// PostgreSQL carry their transaction ids, which would put them after every new event: they
/// get 0, and the webhook queue's position moves back to just before the first event it had
/// not queued yet, so none is skipped (one queued already but later in id order is queued
/// again: webhooks are delivered at least once).
pub(crate) fn settle_feed(target: &mut Link) -> Result<(), CopyError> {
    if target.backend != Backend::Sqlite {
        return Ok(());
    }
    let moved = target
        .number("SELECT COUNT(*) AS n FROM (SELECT 1 FROM events WHERE tx <> 0 LIMIT 1) s")?;
    if moved == 0 {
        return Ok(());
    }
    target.run(
        "UPDATE webhook_queue_position SET \
           last_id = COALESCE((SELECT MIN(e.id) - 1 FROM events e \
                               WHERE e.tx > webhook_queue_position.last_tx \
                                  OR (e.tx = webhook_queue_position.last_tx \
                                      AND e.id > webhook_queue_position.last_id)), last_id), \
           last_tx = 0; \
         UPDATE events SET tx = 0 WHERE tx <> 0;",
    )
}
