//! What a copy copies, read from both databases at run time: the tables both have, their
//! columns with a kind each, their primary keys, and an order that inserts every referenced
//! row before the rows referring to it.
//!
//! Reading the schema instead of listing it keeps the copy complete as migrations add
//! tables and columns. Tables only one backend has are SQLite's own (virtual full-text tables
//! and their shadow tables, `sqlite_sequence`): they are not copied but derived on the target
//! (its triggers fill them as customers arrive).

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::CopyError;
use super::link::Link;
use crate::database::Backend;

/// How a column's values are written on each backend, which decides how they travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Integers (ids, money in minor units, counters).
    Int,
    /// Text, JSON text included.
    Text,
    /// SQLite `0`/`1`, PostgreSQL `boolean`.
    Bool,
    /// SQLite text as diesel writes it (`%F %T%.f`), PostgreSQL `timestamp`.
    Timestamp,
    /// Double precision.
    Real,
    /// SQLite `BLOB`, PostgreSQL `bytea`.
    Bytes,
}

impl Kind {
    /// The kind of a declared (SQLite) or formatted (PostgreSQL) type.
    fn of(declared: &str) -> Option<Self> {
        let t = declared.to_ascii_lowercase();
        Some(match t.as_str() {
            "integer" | "bigint" | "smallint" | "int" => Self::Int,
            "text" | "character varying" | "varchar" => Self::Text,
            "boolean" => Self::Bool,
            "timestamp" | "timestamp without time zone" => Self::Timestamp,
            "real" | "double precision" | "double" => Self::Real,
            "blob" | "bytea" => Self::Bytes,
            _ => return None,
        })
    }
}

/// One column: its name, its kind, and the target's type (PostgreSQL casts to it).
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) target_type: String,
    /// Whether the target's column may be NULL (only such references can be deferred).
    pub(crate) nullable: bool,
}

/// One table to copy.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) columns: Vec<Column>,
    /// Indexes into `columns` of the primary key, in key order.
    pub(crate) key: Vec<usize>,
    /// Indexes into `columns` of references to rows not yet inserted when this table is (to
    /// itself, or around a cycle of tables): inserted empty, then set once every table is in.
    pub(crate) deferred: Vec<usize>,
}

/// The tables to copy, in insertion order, and what the target has beyond them.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) tables: Vec<Table>,
    /// Tables of the target that are not copied (SQLite's derived tables).
    pub(crate) derived: Vec<String>,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    r: String,
    #[diesel(sql_type = Text)]
    t: String,
    #[diesel(sql_type = BigInt)]
    p: i64,
    #[diesel(sql_type = BigInt)]
    z: i64,
}

#[derive(QueryableByName)]
struct Reference {
    #[diesel(sql_type = Text)]
    r: String,
    #[diesel(sql_type = Text)]
    t: String,
}

/// Table names in a double-quoted identifier.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The ordinary tables of a database, diesel's own left out.
fn tables(link: &mut Link) -> Result<Vec<String>, CopyError> {
    link.lines(match link.backend {
        Backend::Sqlite => {
            "SELECT name AS r FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite%' AND name <> '__diesel_schema_migrations' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT tablename::text AS r FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename <> '__diesel_schema_migrations' ORDER BY tablename"
        }
    })
}

/// Every table of a SQLite database, virtual and shadow ones included.
fn all_sqlite_tables(link: &mut Link) -> Result<Vec<String>, CopyError> {
    link.lines(
        "SELECT name AS r FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite%' AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
}

/// One column as a database describes it.
struct Described {
    name: String,
    declared: String,
    /// Position in the primary key, from 1; 0 outside it.
    key: i64,
    not_null: bool,
}

/// Each column of `table`, in order.
fn columns(link: &mut Link, table: &str) -> Result<Vec<Described>, CopyError> {
    let sql = match link.backend {
        Backend::Sqlite => format!(
            "SELECT name AS r, type AS t, pk AS p, \"notnull\" AS z FROM pragma_table_info({}) \
             ORDER BY cid",
            literal(table)
        ),
        Backend::Postgres => format!(
            "SELECT a.attname::text AS r, format_type(a.atttypid, a.atttypmod) AS t, \
             COALESCE((SELECT k.n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, n) \
                       WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum), \
                      0)::bigint AS p, a.attnotnull::int::bigint AS z \
             FROM pg_attribute a WHERE a.attrelid = to_regclass({}) AND a.attnum > 0 \
             AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
            literal(&quote(table))
        ),
    };
    diesel::sql_query(&sql)
        .load::<ColumnRow>(&mut link.conn)
        .map(|rows| {
            rows.into_iter()
                .map(|c| Described {
                    name: c.r,
                    declared: c.t,
                    key: c.p,
                    not_null: c.z != 0,
                })
                .collect()
        })
        .map_err(|error| CopyError::statement(&sql, &error))
}

/// `(column, referenced table)` of each foreign key of `table`.
fn references(link: &mut Link, table: &str) -> Result<Vec<(String, String)>, CopyError> {
    let sql = match link.backend {
        Backend::Sqlite => format!(
            "SELECT \"from\" AS r, \"table\" AS t FROM pragma_foreign_key_list({})",
            literal(table)
        ),
        Backend::Postgres => format!(
            "SELECT a.attname::text AS r, f.relname::text AS t FROM pg_constraint k \
             JOIN pg_class f ON f.oid = k.confrelid \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) \
             WHERE k.contype = 'f' AND k.conrelid = to_regclass({})",
            literal(&quote(table))
        ),
    };
    diesel::sql_query(&sql)
        .load::<Reference>(&mut link.conn)
        .map(|rows| rows.into_iter().map(|c| (c.r, c.t)).collect())
        .map_err(|error| CopyError::statement(&sql, &error))
}

/// Reads both schemas and plans the copy: the tables both have (refusing tables or columns
/// that only one has, beyond SQLite's derived ones), in an order that satisfies the target's
/// foreign keys.
pub(crate) fn plan(source: &mut Link, target: &mut Link) -> Result<Plan, CopyError> {
    let from = tables(source)?;
    let to = tables(target)?;
    if let Some(extra) = from.iter().find(|t| !to.contains(t)) {
        return Err(CopyError::Schema(format!(
            "only --from has the table {extra}"
        )));
    }
    if let Some(extra) = to.iter().find(|t| !from.contains(t)) {
        return Err(CopyError::Schema(format!(
            "only --to has the table {extra}"
        )));
    }
    let derived = match target.backend {
        Backend::Sqlite => all_sqlite_tables(target)?
            .into_iter()
            .filter(|t| !to.contains(t))
            .collect(),
        Backend::Postgres => Vec::new(),
    };
    let mut planned = Vec::new();
    let mut refs = BTreeMap::new();
    for name in &to {
        planned.push(table(source, target, name)?);
        refs.insert(name.clone(), references(target, name)?);
    }
    Ok(Plan {
        tables: order(planned, &refs)?,
        derived,
    })
}

/// One table's columns, matched by name between the two ends.
fn table(source: &mut Link, target: &mut Link, name: &str) -> Result<Table, CopyError> {
    let theirs = columns(source, name)?;
    let ours = columns(target, name)?;
    let mut columns = Vec::new();
    let mut key = Vec::new();
    for column in &ours {
        let Some(their) = theirs.iter().find(|c| c.name == column.name) else {
            return Err(CopyError::Schema(format!(
                "only --to has the column {name}.{}",
                column.name
            )));
        };
        let (Some(kind), Some(source_kind)) =
            (Kind::of(&column.declared), Kind::of(&their.declared))
        else {
            return Err(CopyError::Schema(format!(
                "the column {name}.{} has a type the copy does not know ({} on --from, {} on --to)",
                column.name, their.declared, column.declared
            )));
        };
        if kind != source_kind {
            return Err(CopyError::Schema(format!(
                "the column {name}.{} is {} on --from and {} on --to",
                column.name, their.declared, column.declared
            )));
        }
        if column.key > 0 {
            key.push((column.key, columns.len()));
        }
        columns.push(Column {
            name: column.name.clone(),
            kind,
            target_type: column.declared.clone(),
            nullable: !column.not_null && column.key == 0,
        });
    }
    if let Some(extra) = theirs
        .iter()
        .find(|c| !columns.iter().any(|o| o.name == c.name))
    {
        return Err(CopyError::Schema(format!(
            "only --from has the column {name}.{}",
            extra.name
        )));
    }
    if key.is_empty() {
        return Err(CopyError::Schema(format!(
            "the table {name} has no primary key"
        )));
    }
    key.sort_unstable();
    Ok(Table {
        name: name.to_owned(),
        columns,
        key: key.into_iter().map(|(_, index)| index).collect(),
        deferred: Vec::new(),
    })
}

/// Orders the tables so each one's references point at tables already inserted, taking the
/// ready tables by name. Where none is ready (a cycle: `customers.created_by` and
/// `users.customer_id`), the table whose references to tables not yet inserted are fewest
/// and all nullable goes next, with those references deferred. A table's nullable references
/// to itself (a customer's parent) are always deferred: a parent may come after its child.
fn order(
    mut left: Vec<Table>,
    refs: &BTreeMap<String, Vec<(String, String)>>,
) -> Result<Vec<Table>, CopyError> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::new();
    while !left.is_empty() {
        // For each table left: its references to tables not inserted yet, as column
        // indexes, and whether all of them may be empty for a while.
        let waiting: Vec<(Vec<usize>, bool)> = left
            .iter()
            .map(|table| {
                let columns: Vec<usize> = refs
                    .get(&table.name)
                    .into_iter()
                    .flatten()
                    .filter(|(_, to)| to != &table.name && !done.contains(to))
                    .filter_map(|(column, _)| table.columns.iter().position(|c| &c.name == column))
                    .collect();
                let nullable = columns.iter().all(|&i| table.columns[i].nullable);
                (columns, nullable)
            })
            .collect();
        let next = waiting
            .iter()
            .position(|(columns, _)| columns.is_empty())
            .or_else(|| {
                waiting
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, nullable))| *nullable)
                    .min_by_key(|(_, (columns, _))| columns.len())
                    .map(|(index, _)| index)
            });
        let Some(index) = next else {
            let names: Vec<&str> = left.iter().map(|t| t.name.as_str()).collect();
            return Err(CopyError::Schema(format!(
                "the tables {} refer to each other through required columns",
                names.join(", ")
            )));
        };
        let mut table = left.remove(index);
        let mut deferred = waiting[index].0.clone();
        for (column, to) in refs.get(&table.name).into_iter().flatten() {
            let own = (to == &table.name)
                .then(|| table.columns.iter().position(|c| &c.name == column))
                .flatten();
            if let Some(i) = own
                && table.columns[i].nullable
                && !deferred.contains(&i)
            {
                deferred.push(i);
            }
        }
        table.deferred = deferred;
        done.insert(table.name.clone());
        ordered.push(table);
    }
    Ok(ordered)
}
