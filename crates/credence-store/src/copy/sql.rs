//! The statements that move rows: each row read as one JSON array in a canonical form, and a
//! batch of rows written as one statement taking the batch as one JSON parameter.
//!
//! The canonical form of each kind, chosen so every value survives both directions exactly:
//! - integers and text: JSON numbers and strings;
//! - booleans: SQLite's `0`/`1` or PostgreSQL's `true`/`false`, both of which each backend
//!   reads back as its own boolean;
//! - timestamps: the text diesel writes on SQLite (`2026-12-06 07:02:58.123`: no fraction
//!   when whole, else 3, 6 or 9 digits), which PostgreSQL reads as a `timestamp`; PostgreSQL
//!   formats its own the same way, so a value comes back to SQLite byte for byte;
//! - doubles: SQLite's with 17 significant digits (its JSON keeps fewer), PostgreSQL's
//!   shortest exact form;
//! - bytes: hexadecimal text.

use super::catalog::{Kind, Table, quote};
use crate::database::Backend;

/// The expression reading column `name` of kind `kind` into the canonical form.
fn read(backend: Backend, name: &str, kind: Kind) -> String {
    let c = quote(name);
    match (backend, kind) {
        (Backend::Sqlite, Kind::Real) => {
            format!("CASE WHEN {c} IS NULL THEN NULL ELSE printf('%!.17g', {c}) END")
        }
        (Backend::Sqlite, Kind::Bytes) => {
            format!("CASE WHEN {c} IS NULL THEN NULL ELSE lower(hex({c})) END")
        }
        (Backend::Postgres, Kind::Bytes) => format!("encode({c}, 'hex')"),
        (Backend::Postgres, Kind::Timestamp) => format!(
            "to_char({c}, 'YYYY-MM-DD HH24:MI:SS') || CASE \
             WHEN date_part('microseconds', {c})::bigint % 1000000 = 0 THEN '' \
             WHEN date_part('microseconds', {c})::bigint % 1000 = 0 THEN to_char({c}, '.MS') \
             ELSE to_char({c}, '.US') END"
        ),
        _ => c,
    }
}

/// The expression writing element `index` of the row `e` (PostgreSQL, a `jsonb` value) or
/// `value` (SQLite, `json_each`'s) into a column.
fn write(backend: Backend, index: usize, kind: Kind, target_type: &str) -> String {
    match backend {
        Backend::Sqlite => {
            let value = format!("json_extract(value, '$[{index}]')");
            match kind {
                Kind::Bytes => format!("unhex({value})"),
                _ => value,
            }
        }
        Backend::Postgres => {
            let value = format!("(e->>{index})");
            match kind {
                Kind::Text => value,
                Kind::Bytes => format!("decode({value}, 'hex')"),
                _ => format!("{value}::{target_type}"),
            }
        }
    }
}

/// The primary key, for `ORDER BY`.
fn key_list(table: &Table) -> String {
    table
        .key
        .iter()
        .map(|&k| quote(&table.columns[k].name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of `columns` (indexes into the table's), each as one JSON array, in key order.
fn select(backend: Backend, table: &Table, columns: &[usize], filter: &str) -> String {
    let values = columns
        .iter()
        .map(|&i| read(backend, &table.columns[i].name, table.columns[i].kind))
        .collect::<Vec<_>>()
        .join(", ");
    let row = match backend {
        Backend::Sqlite => format!("json_array({values})"),
        Backend::Postgres => format!("json_build_array({values})::text"),
    };
    format!(
        "SELECT {row} AS r FROM {}{filter} ORDER BY {}",
        quote(&table.name),
        key_list(table)
    )
}

/// Every row of the table, every column.
pub(crate) fn select_rows(backend: Backend, table: &Table) -> String {
    let all: Vec<usize> = (0..table.columns.len()).collect();
    select(backend, table, &all, "")
}

/// The key and the deferred columns of the rows that set at least one of them.
pub(crate) fn select_deferred(backend: Backend, table: &Table) -> String {
    let columns: Vec<usize> = table.key.iter().chain(&table.deferred).copied().collect();
    let set = table
        .deferred
        .iter()
        .map(|&i| format!("{} IS NOT NULL", quote(&table.columns[i].name)))
        .collect::<Vec<_>>()
        .join(" OR ");
    select(backend, table, &columns, &format!(" WHERE {set}"))
}

/// Where the rows of one parameter (a JSON array of row arrays) come from. PostgreSQL reads
/// it as `jsonb`, parsed once: `->>` on `json` parses the row again for every column.
fn rows_of(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "json_each(?)",
        Backend::Postgres => "jsonb_array_elements($1::jsonb) e",
    }
}

/// Inserts a batch of rows as [`select_rows`] reads them; deferred columns stay empty.
pub(crate) fn insert(backend: Backend, table: &Table) -> String {
    let names = table
        .columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let values = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if table.deferred.contains(&i) {
                "NULL".to_owned()
            } else {
                write(backend, i, c.kind, &c.target_type)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {} ({names}) SELECT {values} FROM {}",
        quote(&table.name),
        rows_of(backend)
    )
}

/// Sets the deferred columns of a batch of rows as [`select_deferred`] reads them.
pub(crate) fn update_deferred(backend: Backend, table: &Table) -> String {
    let keys = table.key.len();
    let name = quote(&table.name);
    let element = |position: usize, column: usize| {
        let c = &table.columns[column];
        write(backend, position, c.kind, &c.target_type)
    };
    match backend {
        Backend::Postgres => {
            let set = table
                .deferred
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    format!(
                        "{} = {}",
                        quote(&table.columns[i].name),
                        element(keys + n, i)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let matched = table
                .key
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    format!(
                        "{name}.{} = {}",
                        quote(&table.columns[i].name),
                        element(n, i)
                    )
                })
                .collect::<Vec<_>>()
                .join(" AND ");
            format!(
                "UPDATE {name} SET {set} FROM {} WHERE {matched}",
                rows_of(backend)
            )
        }
        Backend::Sqlite => {
            let fields = table
                .key
                .iter()
                .chain(&table.deferred)
                .enumerate()
                .map(|(n, &i)| format!("{} AS v{n}", element(n, i)))
                .collect::<Vec<_>>()
                .join(", ");
            let set = table
                .deferred
                .iter()
                .enumerate()
                .map(|(n, &i)| format!("{} = j.v{}", quote(&table.columns[i].name), keys + n))
                .collect::<Vec<_>>()
                .join(", ");
            let matched = table
                .key
                .iter()
                .enumerate()
                .map(|(n, &i)| format!("{name}.{} = j.v{n}", quote(&table.columns[i].name)))
                .collect::<Vec<_>>()
                .join(" AND ");
            format!(
                "UPDATE {name} SET {set} FROM (SELECT {fields} FROM {}) AS j WHERE {matched}",
                rows_of(backend)
            )
        }
    }
}

/// How many rows the table holds.
pub(crate) fn count(table: &str) -> String {
    format!("SELECT COUNT(*) AS n FROM {}", quote(table))
}
