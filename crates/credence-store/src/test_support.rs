//! Fresh, migrated databases for tests (feature `test-support`): a SQLite file in a temporary
//! directory, or a PostgreSQL database cloned from a migrated template.
//!
//! The PostgreSQL template is named after a hash of the migrations, built once per process
//! under a unique name and renamed into place, so parallel test binaries never see a
//! half-migrated template; each test's database is dropped (`WITH (FORCE)`) when its
//! [`TestDb`] drops.

use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::database::{Database, PoolOptions, with_database};

/// Runs each named test of the calling file on a fresh SQLite database and on a fresh
/// PostgreSQL one (skipped when [`POSTGRES_URL_VAR`] is not set). The names before `;` are
/// `async fn(Store)`, given the store of the file's own `store_for(&TestDb) -> Store`; the
/// names after it are `async fn(TestDb)`, for tests that need the database itself (several
/// stores on it, its URL).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)? $(; $($db_test:ident),* $(,)?)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::test_support::TestDb::sqlite();
                    super::$name(super::store_for(&db)).await;
                }
            )*
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $db_test() {
                    super::$db_test($crate::test_support::TestDb::sqlite()).await;
                }
            )*)?
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::test_support::TestDb::postgres() else { return };
                    super::$name(super::store_for(&db)).await;
                }
            )*
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $db_test() {
                    let Some(db) = $crate::test_support::TestDb::postgres() else { return };
                    super::$db_test(db).await;
                }
            )*)?
        }
    };
}

/// The variable naming the PostgreSQL server for tests (an admin database URL).
pub const POSTGRES_URL_VAR: &str = "CREDENCE_TEST_POSTGRES_URL";

/// The advisory lock a move in the customer hierarchy holds until it commits (PostgreSQL):
/// a test that holds it stands for a move in flight.
pub const HIERARCHY_LOCK: i64 = crate::customers::HIERARCHY_LOCK;

/// The advisory lock an update of the category tree holds until it commits (PostgreSQL).
pub const CATEGORY_TREE_LOCK: i64 = crate::customers::records::CATEGORY_TREE_LOCK;

const POSTGRES_MIGRATION_TEXTS: &[&str] = &[
    include_str!("../migrations/postgres/2026-11-24-000000_init/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000000_init/down.sql"),
    include_str!("../migrations/postgres/2026-11-24-000001_api_keys/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000002_credit/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000003_catalog/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000004_search/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000005_projects/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000006_documents/up.sql"),
    include_str!("../migrations/postgres/2026-11-24-000007_blob_sweep/up.sql"),
    include_str!("../migrations/postgres/2026-12-03-000000_list_indexes/up.sql"),
    include_str!("../migrations/postgres/2026-12-04-000000_search_terms/up.sql"),
    include_str!("../migrations/postgres/2026-12-05-000000_events/up.sql"),
    include_str!("../migrations/postgres/2026-12-05-000002_webhook_endpoints/up.sql"),
    include_str!("../migrations/postgres/2026-12-05-000003_alerts/up.sql"),
    include_str!("../migrations/postgres/2026-12-06-000000_webhook_deliveries/up.sql"),
    include_str!("../migrations/postgres/2026-12-06-000001_accent_folded_terms/up.sql"),
    include_str!("../migrations/postgres/2026-12-07-000000_customer_revision/up.sql"),
    include_str!("../migrations/postgres/2026-12-08-000000_limit_history_reason/up.sql"),
    include_str!("../migrations/postgres/2026-12-09-000000_limit_requests/up.sql"),
    include_str!("../migrations/postgres/2026-12-09-000005_ledger_time_index/up.sql"),
    include_str!("../migrations/postgres/2026-12-09-000006_account_overview_index/up.sql"),
    include_str!("../migrations/postgres/2026-12-10-000000_live_accounts/up.sql"),
];

/// A fresh, migrated database that disappears with this value.
pub struct TestDb {
    url: String,
    database: Option<Database>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[expect(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A new SQLite file in a temporary directory, migrated.
    ///
    /// # Panics
    /// When the file cannot be created or migrated.
    #[must_use]
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let url = format!("sqlite://{}", dir.path().join("credence.db").display());
        let database = open(&url);
        Self {
            url,
            database: Some(database),
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new PostgreSQL database on the server `CREDENCE_TEST_POSTGRES_URL` names, cloned from
    /// the migrated template; `None` (and a note on stderr) when the variable is not set.
    ///
    /// # Panics
    /// When the variable is set but the server cannot be used.
    #[must_use]
    pub fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            eprintln!("PostgreSQL tests skipped: {POSTGRES_URL_VAR} is not set");
            return None;
        };
        let template = template(&admin_url);
        let name = format!("credence_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(&admin_url);
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let url = with_database(&admin_url, &name);
        let database = open(&url);
        Some(Self {
            url,
            database: Some(database),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The database URL, as `Database::connect` and the server accept it.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The opened database (default pool options).
    ///
    /// # Panics
    /// Never: the database lives as long as the `TestDb`.
    #[must_use]
    pub fn database(&self) -> &Database {
        self.database
            .as_ref()
            .unwrap_or_else(|| unreachable!("the database is only taken on drop"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop(self.database.take());
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let dropped = PgConnection::establish(admin_url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = dropped {
                eprintln!("could not drop test database {name}: {error}");
            }
        }
    }
}

/// The credit-limit history of an account, oldest first, as `(old, new)` pairs (the store's
/// ports do not expose it; tests check that limit changes are recorded).
///
/// # Panics
/// When the database fails.
#[must_use]
pub fn credit_limit_history(database: &Database, account: i64) -> Vec<(Option<i64>, i64)> {
    limit_history(database, account)
        .into_iter()
        .map(|(old, new, _)| (old, new))
        .collect()
}

/// Who made each change of an account's limit (`user_id` of each history row), oldest first.
///
/// # Panics
/// When the database cannot be read.
pub fn credit_limit_signers(database: &Database, account: i64) -> Vec<Option<i64>> {
    limit_history(database, account)
        .into_iter()
        .map(|(_, _, user)| user)
        .collect()
}

/// The rows of an account's credit-limit history, oldest first: `(old, new, user_id)`.
fn limit_history(database: &Database, account: i64) -> Vec<(Option<i64>, i64, Option<i64>)> {
    use crate::schema::credit_limit_history as h;
    let mut conn = connection(database);
    h::table
        .filter(h::account_id.eq(account))
        .order(h::id)
        .select((h::old_limit, h::new_limit, h::user_id))
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("cannot read the limit history: {e}"))
}

/// A connection of the writers' pool, for a helper that reads or writes what no port does.
fn connection(database: &Database) -> crate::database::gated_pool::Conn {
    database
        .write_connection()
        .unwrap_or_else(|e| panic!("no connection: {e:?}"))
}

fn open(url: &str) -> Database {
    // Test suites start many databases at once on a small machine: give setup time, so a
    // starved CPU slows a test down instead of failing it.
    let options = PoolOptions {
        connection_timeout: std::time::Duration::from_secs(30),
        ..PoolOptions::default()
    };
    let database = Database::connect(url, options)
        .unwrap_or_else(|e| panic!("cannot open test database: {e}"));
    database
        .migrate()
        .unwrap_or_else(|e| panic!("cannot migrate test database: {e}"));
    database
}

fn admin_connection(admin_url: &str) -> PgConnection {
    crate::database::init_tls();
    PgConnection::establish(admin_url)
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"))
}

/// FNV-1a: a hash that is the same in every process and every toolchain.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The migrated template's name, creating it if this server has none yet.
fn template(admin_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| build_template(admin_url)).clone()
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

fn build_template(admin_url: &str) -> String {
    // The embedded migrations' names too, so a migration added without its line in
    // `POSTGRES_MIGRATION_TEXTS` still gives a new template instead of a stale one.
    let names = crate::database::postgres_migration_names();
    let mut parts: Vec<&str> = POSTGRES_MIGRATION_TEXTS.to_vec();
    parts.extend(names.iter().map(String::as_str));
    let name = format!("credence_template_{:016x}", fnv1a(&parts));
    let mut admin = admin_connection(admin_url);
    let exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result::<Exists>(&mut admin)
            .unwrap_or_else(|e| panic!("cannot look for the template database: {e}"))
            .exists;
    if exists {
        return name;
    }
    // Build under a unique name, then rename: a template is either absent or complete.
    let building = format!("credence_building_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {building}"))
        .unwrap_or_else(|e| panic!("cannot create database {building}: {e}"));
    drop(open(&with_database(admin_url, &building)));
    match admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}")) {
        Ok(()) => {}
        Err(error) if error.to_string().contains("already exists") => {
            // Another process won the race; its template is as good as ours.
            if let Err(error) =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            {
                eprintln!("could not drop {building}: {error}");
            }
        }
        Err(error) => panic!("cannot install the template database {name}: {error}"),
    }
    name
}

/// The database's schema as text, sorted: on SQLite every object's `CREATE` statement; on
/// PostgreSQL every column (type, nullability, default), index and trigger of `public`.
/// Diesel's own bookkeeping table is left out.
///
/// # Panics
/// When the database fails.
#[must_use]
pub fn schema_dump(database: &Database) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let mut conn = connection(database);
    let sql = match &*conn {
        crate::database::AnyConnection::Sqlite(_) => {
            "SELECT type || ' ' || name || ': ' || coalesce(sql, '') AS line FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%' ORDER BY line"
        }
        crate::database::AnyConnection::Postgresql(_) => {
            "SELECT line FROM (\
             SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' \
             || is_nullable || ' ' || coalesce(column_default, '') AS line \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name NOT LIKE '__diesel%' \
             UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
             AND tablename NOT LIKE '__diesel%' \
             UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || '.' || tgname \
             FROM pg_trigger WHERE NOT tgisinternal) dump ORDER BY line"
        }
    };
    diesel::sql_query(sql)
        .load::<Line>(&mut *conn)
        .unwrap_or_else(|e| panic!("cannot read the schema: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Runs `sql` (statements separated by `;`) on a connection of its own, for a test that
/// sets up what no port writes.
///
/// # Panics
/// When the database fails.
pub fn execute(database: &Database, sql: &str) {
    use diesel::connection::SimpleConnection as _;
    let mut conn = connection(database);
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("cannot run {sql}: {e}"));
}

/// How often `table` was analyzed by request, not by autovacuum (PostgreSQL).
///
/// # Panics
/// When the database fails, or is SQLite.
#[must_use]
pub fn analyses(database: &Database, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = connection(database);
    let crate::database::AnyConnection::Postgresql(c) = &mut *conn else {
        panic!("SQLite keeps no statistics");
    };
    diesel::sql_query(
        "SELECT analyze_count AS count FROM pg_stat_user_tables \
         WHERE schemaname = current_schema() AND relname = $1",
    )
    .bind::<diesel::sql_types::Text, _>(table)
    .get_result::<Count>(c)
    .unwrap_or_else(|e| panic!("cannot read the statistics of {table}: {e}"))
    .count
}

/// Runs the `down` of the `count` newest applied migrations, newest first; then
/// [`Database::migrate`] runs their `up` again.
///
/// # Panics
/// When a `down` fails.
pub fn revert_last_migrations(database: &Database, count: usize) {
    database
        .revert_last_migrations(count)
        .unwrap_or_else(|e| panic!("a down migration failed: {e}"));
}

#[cfg(test)]
mod tests {
    use crate::database::with_database;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
