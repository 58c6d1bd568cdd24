//! Every row of a SQLite database as text, for tests comparing two databases row for row
//! (feature `test-support`). Each value is SQLite's `quote()` of it, which shows its storage
//! class too (`1` and `'1'`, `2` and `2.0` differ), so a copy that changed a type is caught.
//! It shares nothing with the copy's own reading.

use std::collections::BTreeMap;

use super::CopyError;
use super::catalog::{literal, quote};
use super::link::{End, Link};

/// `table -> rows` of the SQLite database `url`: every ordinary table (`sqlite_sequence`
/// included; SQLite's schema and statistics left out) in rowid or key order, and the row
/// ids of the virtual (derived) tables.
///
/// # Errors
/// [`CopyError`] when the file cannot be opened or read.
pub fn sqlite_dump(url: &str) -> Result<BTreeMap<String, Vec<String>>, CopyError> {
    let mut link = Link::open(End::From, url)?;
    let mut dump = BTreeMap::new();
    let tables = link.lines(
        "SELECT name || ' ' || type AS r FROM pragma_table_list \
         WHERE schema = 'main' AND type IN ('table', 'virtual') \
         AND (name NOT LIKE 'sqlite%' OR name = 'sqlite_sequence') \
         AND name <> '__diesel_schema_migrations' ORDER BY name",
    )?;
    for line in tables {
        let Some((name, kind)) = line.split_once(' ') else {
            continue;
        };
        let sql = if kind == "virtual" {
            format!(
                "SELECT CAST(rowid AS TEXT) AS r FROM {} ORDER BY rowid",
                quote(name)
            )
        } else {
            let columns = link.lines(&format!(
                "SELECT name AS r FROM pragma_table_info({}) ORDER BY cid",
                literal(name)
            ))?;
            let keys = link.lines(&format!(
                "SELECT name AS r FROM pragma_table_info({}) WHERE pk > 0 ORDER BY pk",
                literal(name)
            ))?;
            let values = columns
                .iter()
                // quote() shows a double with 15 digits: 17 tell every double apart.
                .map(|c| {
                    let c = quote(c);
                    format!(
                        "CASE typeof({c}) WHEN 'real' THEN 'real ' || printf('%!.17g', {c}) \
                         ELSE quote({c}) END"
                    )
                })
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let order = if name == "sqlite_sequence" {
                // Its rows come in the order tables first took an id: by name instead.
                "name".to_owned()
            } else if keys.is_empty() {
                "rowid".to_owned()
            } else {
                keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ")
            };
            format!("SELECT {values} AS r FROM {} ORDER BY {order}", quote(name))
        };
        dump.insert(name.to_owned(), link.lines(&sql)?);
    }
    Ok(dump)
}
