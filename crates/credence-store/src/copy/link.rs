//! The two ends of a copy: opening each one (a connection of its own, outside any pool),
//! checking that its schema is this binary's, telling whether both name one database, and
//! the few statement shapes the copy runs on them.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::CopyError;
use crate::database::{
    AnyConnection, Backend, Manager, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, parse_url,
};

/// Which end of the copy: named as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `--from`: read in one snapshot, never written.
    From,
    /// `--to`: written in one transaction.
    To,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::From => "--from",
            Self::To => "--to",
        })
    }
}

/// One open end of the copy.
pub(crate) struct Link {
    pub(crate) end: End,
    pub(crate) backend: Backend,
    pub(crate) conn: AnyConnection,
    /// The SQLite file, to tell whether both ends are one file.
    file: Option<PathBuf>,
}

#[derive(QueryableByName)]
pub(crate) struct Line {
    #[diesel(sql_type = Text)]
    pub(crate) r: String,
}

#[derive(QueryableByName)]
struct MaybeLine {
    #[diesel(sql_type = Nullable<Text>)]
    r: Option<String>,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A driver's message on one line (libpq's span several).
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Link {
    /// Opens the database `url` names. A SQLite file must exist already: opening a missing
    /// one would create it, and a copy writes nothing when it refuses.
    pub(crate) fn open(end: End, url: &str) -> Result<Self, CopyError> {
        crate::database::init_tls();
        let (backend, target) = parse_url(url).map_err(|error| CopyError::Url {
            end,
            message: error.to_string(),
        })?;
        let file = match backend {
            Backend::Sqlite => {
                let path = PathBuf::from(&target);
                if !path.is_file() {
                    return Err(CopyError::MissingFile { end, file: path });
                }
                Some(path)
            }
            Backend::Postgres => None,
        };
        let shown = file
            .as_ref()
            .map_or_else(String::new, |f| format!(" {}", f.display()));
        let mut conn =
            Manager { backend, target }
                .connect()
                .map_err(|error| CopyError::Connect {
                    end,
                    backend: backend_name(backend),
                    target: shown.clone(),
                    message: one_line(&error.to_string()),
                })?;
        if backend == Backend::Sqlite {
            // Foreign keys are off by default in SQLite: the copy must satisfy them.
            conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                .map_err(|error| CopyError::Connect {
                    end,
                    backend: backend_name(backend),
                    target: shown,
                    message: one_line(&error.to_string()),
                })?;
        }
        Ok(Self {
            end,
            backend,
            conn,
            file,
        })
    }

    /// Runs statements that return nothing.
    pub(crate) fn run(&mut self, sql: &str) -> Result<(), CopyError> {
        self.conn
            .batch_execute(sql)
            .map_err(|error| self.failed(sql, &error))
    }

    /// The first column (`r`, text) of every row.
    pub(crate) fn lines(&mut self, sql: &str) -> Result<Vec<String>, CopyError> {
        diesel::sql_query(sql)
            .load::<Line>(&mut self.conn)
            .map(|rows| rows.into_iter().map(|row| row.r).collect())
            .map_err(|error| self.failed(sql, &error))
    }

    /// The first column (`r`, nullable text) of the first row.
    pub(crate) fn maybe_line(&mut self, sql: &str) -> Result<Option<String>, CopyError> {
        diesel::sql_query(sql)
            .load::<MaybeLine>(&mut self.conn)
            .map(|rows| rows.into_iter().next().and_then(|row| row.r))
            .map_err(|error| self.failed(sql, &error))
    }

    /// The first column (`n`, a number) of the first row; 0 without rows.
    pub(crate) fn number(&mut self, sql: &str) -> Result<i64, CopyError> {
        diesel::sql_query(sql)
            .load::<Number>(&mut self.conn)
            .map(|rows| rows.first().map_or(0, |row| row.n))
            .map_err(|error| self.failed(sql, &error))
    }

    /// Runs `sql` with one text parameter (`?` on SQLite, `$1` on PostgreSQL): a batch of
    /// rows as one JSON array.
    pub(crate) fn run_with(&mut self, sql: &str, json: &str) -> Result<usize, CopyError> {
        let done = match &mut self.conn {
            AnyConnection::Sqlite(c) => diesel::sql_query(sql).bind::<Text, _>(json).execute(c),
            AnyConnection::Postgresql(c) => diesel::sql_query(sql).bind::<Text, _>(json).execute(c),
        };
        done.map_err(|error| self.failed(sql, &error))
    }

    /// Calls `each` with the first column (`r`) of every row of `sql`, without holding them
    /// all: SQLite steps the statement row by row; PostgreSQL reads through a cursor,
    /// `fetch` rows at a time (inside the snapshot's transaction).
    pub(crate) fn stream(
        &mut self,
        sql: &str,
        fetch: usize,
        each: &mut dyn FnMut(String) -> Result<(), CopyError>,
    ) -> Result<(), CopyError> {
        match &mut self.conn {
            AnyConnection::Sqlite(c) => {
                let rows = diesel::sql_query(sql)
                    .load_iter::<Line, diesel::connection::DefaultLoadingMode>(c)
                    .map_err(|error| CopyError::statement(sql, &error))?;
                for row in rows {
                    each(row.map_err(|error| CopyError::statement(sql, &error))?.r)?;
                }
                Ok(())
            }
            AnyConnection::Postgresql(c) => {
                let declare = format!("DECLARE credence_copy NO SCROLL CURSOR FOR {sql}");
                c.batch_execute(&declare)
                    .map_err(|error| CopyError::statement(sql, &error))?;
                let next = format!("FETCH FORWARD {} FROM credence_copy", fetch.max(1));
                loop {
                    let rows = diesel::sql_query(&next)
                        .load::<Line>(c)
                        .map_err(|error| CopyError::statement(sql, &error))?;
                    if rows.is_empty() {
                        break;
                    }
                    for row in rows {
                        each(row.r)?;
                    }
                }
                c.batch_execute("CLOSE credence_copy")
                    .map_err(|error| CopyError::statement(sql, &error))
            }
        }
    }

    fn failed(&self, sql: &str, error: &diesel::result::Error) -> CopyError {
        CopyError::statement(sql, error)
    }

    /// Refuses a database whose applied migrations are not exactly the ones this binary
    /// embeds: an unmigrated one, an older one (pending migrations) or a newer one
    /// (migrations this binary does not know).
    pub(crate) fn check_schema(&mut self) -> Result<(), CopyError> {
        let exists = match self.backend {
            Backend::Sqlite => self.number(
                "SELECT COUNT(*) AS n FROM sqlite_master \
                 WHERE type = 'table' AND name = '__diesel_schema_migrations'",
            )?,
            Backend::Postgres => self.number(
                "SELECT COUNT(*) AS n FROM pg_tables \
                 WHERE schemaname = current_schema() AND tablename = '__diesel_schema_migrations'",
            )?,
        };
        if exists == 0 {
            return Err(CopyError::Unmigrated { end: self.end });
        }
        let applied = self.lines("SELECT version AS r FROM __diesel_schema_migrations")?;
        let known = embedded_versions(self.backend);
        if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
            return Err(CopyError::SchemaVersion {
                end: self.end,
                detail: format!(
                    "newer than this credence's (it has migration {unknown}, which this \
                     credence does not know)"
                ),
            });
        }
        let pending = known.iter().filter(|v| !applied.contains(v)).count();
        if pending > 0 {
            return Err(CopyError::SchemaVersion {
                end: self.end,
                detail: format!(
                    "older than this credence's ({pending} migrations not applied: run \
                     credence migrate on it first)"
                ),
            });
        }
        Ok(())
    }

    /// Whether `self` and `other` are one database: the same SQLite file, or on PostgreSQL
    /// the same server and database (the other end's session is visible in this one's
    /// `pg_stat_activity`, under its process id and start time).
    pub(crate) fn same_database(&mut self, other: &mut Self) -> Result<bool, CopyError> {
        match (self.backend, other.backend) {
            (Backend::Sqlite, Backend::Sqlite) => {
                let canonical = |file: &Option<PathBuf>| {
                    file.as_ref().and_then(|f| std::fs::canonicalize(f).ok())
                };
                Ok(canonical(&self.file).is_some()
                    && canonical(&self.file) == canonical(&other.file))
            }
            (Backend::Postgres, Backend::Postgres) => {
                const MARK: &str = "SELECT pid::text || ' ' || backend_start::text || ' ' || \
                                    datname::text AS r FROM pg_stat_activity";
                let own = self.lines(&format!("{MARK} WHERE pid = pg_backend_pid()"))?;
                let Some(own) = own.first() else {
                    return Ok(false);
                };
                let seen = other.number(&format!(
                    "SELECT COUNT(*) AS n FROM ({MARK} WHERE datname = current_database()) s \
                     WHERE r = '{}'",
                    own.replace('\'', "''")
                ))?;
                Ok(seen > 0)
            }
            _ => Ok(false),
        }
    }
}

/// The versions of the migrations this binary embeds for `backend`.
fn embedded_versions(backend: Backend) -> Vec<String> {
    let names: Vec<String> = match backend {
        Backend::Sqlite => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
                .unwrap_or_default()
        }
        Backend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
            .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
    };
    names
}

pub(crate) fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}
