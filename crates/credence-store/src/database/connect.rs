//! Opening connections: the database URL read into a backend and a driver target (libpq's
//! time-out defaults added), the connection manager, SQLite's per-connection settings, and the
//! pool built with its first connection made at once.

// Split from the parent module, whose imports it shares.
use super::*;

/// Opens connections of one backend, so a bad password reads as one (a derived
/// `MultiConnection::establish` tries every backend and hides the real error).
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) backend: Backend,
    pub(crate) target: String,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(AnyConnection::Sqlite),
            Backend::Postgres => {
                PgConnection::establish(&self.target).map(AnyConnection::Postgresql)
            }
        }
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking()
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                conn,
            )
    }
}

/// SQLite's per-connection settings: wait for locks instead of failing at once, WAL so
/// readers never block the writer, and foreign keys (off by default in SQLite). Statement
/// journals stay in memory: a write that touches many pages inside a transaction (an import's
/// batch) would otherwise write each page to a temporary file first. The writer gets a
/// larger page cache, so a batch's pages are not written out before its commit.
#[derive(Debug)]
pub(crate) struct SqlitePragmas {
    /// The writer's connection (else a reader's).
    pub(crate) writer: bool,
}

/// The writer's page cache, in KiB (SQLite's default is 2,000). A large import's batch
/// appends megabytes of events, and with 16 MiB those pages pushed out the indexes the next
/// batch reads and writes: at 100,000 customers a tenth of the write thread went to reading
/// pages back from the operating system. 32 MiB made such an import's updates a third
/// faster, within its memory target (decision 0040).
const WRITER_CACHE_KIB: u32 = 32_768;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )
        .map_err(diesel::r2d2::Error::QueryError)?;
        if self.writer {
            conn.batch_execute(&format!("PRAGMA cache_size = -{WRITER_CACHE_KIB};"))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// libpq parameters added to a PostgreSQL URL that does not set them, so a dead or
/// unreachable host costs bounded time instead of the operating system's TCP time-outs
/// (minutes): with several hosts (`h1:5432,h2:5433`, failover) each one is tried in turn,
/// and a connection that hangs would keep the pool from reaching the new primary.
/// - `connect_timeout`: seconds per host for a new connection (libpq's minimum is 2).
/// - `tcp_user_timeout`: milliseconds sent data may stay unacknowledged before the
///   connection counts as dead (a host that vanished without closing its sockets).
pub(crate) const POSTGRES_DEFAULTS: [(&str, &str); 2] =
    [("connect_timeout", "2"), ("tcp_user_timeout", "10000")];

/// The PostgreSQL URL with [`POSTGRES_DEFAULTS`] added where the URL leaves them out. The
/// rest (several hosts, `target_session_attrs`, `sslmode`...) is libpq's to read.
pub(crate) fn postgres_target(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let given: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let mut target = url.to_owned();
    for (key, value) in POSTGRES_DEFAULTS {
        if !given.contains(&key) {
            let separator = if target.contains('?') { '&' } else { '?' };
            target = format!("{target}{separator}{key}={value}");
        }
    }
    target
}

/// Splits a URL into its backend and what the driver needs.
pub(crate) fn parse_url(url: &str) -> Result<(Backend, String), SetupError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, postgres_target(url)));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if path.is_empty() || path.contains(":memory:") || scheme.is_some_and(|s| s != "sqlite") {
        let shown = scheme.map_or_else(|| "no usable path".to_owned(), |s| format!("scheme {s}"));
        return Err(SetupError::InvalidUrl(shown));
    }
    Ok((Backend::Sqlite, path.to_owned()))
}

/// Initializes OpenSSL (which libpq uses for TLS to PostgreSQL) without its exit handler,
/// before the first connection. With the handler, `exit` runs OpenSSL's global cleanup while
/// pool and runtime threads that used TLS may still be ending, and the two race on
/// OpenSSL's list of threads: a process that had finished its work crashed at exit (seen in
/// the test binaries, one run in about forty). The operating system frees what the handler
/// would have. The first initialization decides, so this must come before libpq's own.
pub(crate) fn init_tls() {
    openssl_sys::init();
}

#[cfg(feature = "bench-support")]
/// The admin URL with its database name replaced.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

pub(crate) fn build_pool(
    manager: Manager,
    max_size: u32,
    timeout: Duration,
    customizer: Option<SqlitePragmas>,
) -> Result<ConnPool, SetupError> {
    let backend = manager.backend.name();
    // A SQLite file is named (the operator's path); a PostgreSQL URL may hold a password, and
    // libpq's message already names the host.
    let target = match manager.backend {
        Backend::Sqlite => format!(" {}", manager.target),
        Backend::Postgres => String::new(),
    };
    // No `test_on_check_out`: a `SELECT 1` before every use was a second round trip on every
    // PostgreSQL request. Dead connections are found instead by the calls that lose them and
    // by a test after quiet periods (see `gated_pool`), and dropped.
    let mut builder = Pool::builder()
        .max_size(max_size.max(1))
        .min_idle(Some(1))
        .test_on_check_out(false)
        .connection_timeout(timeout.max(Duration::from_millis(1)));
    // One connection first, made and set up here, so a wrong path or password fails now with
    // the driver's own words; the pool is then filled in the background. (Waiting for the pool
    // to fill instead would bound the first connection by the short checkout wait, and a slow
    // start on a busy machine would read as "timed out waiting for connection".)
    let mut first = manager.connect().map_err(|error| SetupError::Connect {
        backend,
        target: target.clone(),
        message: error.to_string(),
    })?;
    if let Some(customizer) = &customizer {
        customizer
            .on_acquire(&mut first)
            .map_err(|error| SetupError::Connect {
                backend,
                target: target.clone(),
                message: error.to_string(),
            })?;
    }
    drop(first);
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(Box::new(customizer));
    }
    Ok(builder.build_unchecked(manager))
}
