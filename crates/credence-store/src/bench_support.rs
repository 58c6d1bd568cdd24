//! Bulk data for benchmarks (`cargo xtask bench list`, `bench search`): a million plausible
//! customers, searchable like any other (their search terms are the adapter's),
//! written with multi-row `INSERT`s in large transactions, which is far faster than going
//! through the port one customer at a time.
//!
//! The data is deterministic (a fixed-seed generator), so two runs measure the same thing.

use chrono::{DateTime, Duration, Utc};
use credence_domain::customers::reference_data::ROOT_CATEGORY;
use credence_domain::listing::fold;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::database::inner::OnInner as _;
use crate::database::{AnyConnection, Database, SetupError, write_transaction};
use crate::error::Failure;
use crate::schema::{customer_categories, customers};

/// Rows per `INSERT` statement (well under both backends' bind-parameter limits).
const ROWS_PER_STATEMENT: usize = 500;
/// Rows per transaction.
const ROWS_PER_TRANSACTION: u64 = 50_000;

const FIRST: &[&str] = &[
    "Northwind",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Abcor",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Abcam",
    "Pied Piper",
    "Gringotts",
    "Oceanic",
    "Wonka",
    "Sterling",
    "Dunder",
    "Prestige",
    "Monarch",
    "Bluth",
    "Krusty",
    "Duff",
    "Ollivander",
    "Nakatomi",
    "Massive",
    "Aperture",
    "Black Mesa",
    "Rekall",
    "Zorg",
    "Atlas",
    "Gekko",
    "Bolt",
    "Marlin",
    "Cobalt",
    "Juniper",
    "Quartz",
    "Saffron",
];
const SECOND: &[&str] = &[
    "Bakery",
    "Hardware",
    "Pharmacy",
    "Logistics",
    "Textiles",
    "Market",
    "Garage",
    "Florist",
    "Books",
    "Coffee",
    "Jewelry",
    "Optics",
    "Electric",
    "Plumbing",
    "Print",
    "Dairy",
    "Wines",
    "Tools",
    "Furniture",
    "Labs",
    "Trading",
    "Foods",
    "Motors",
    "Sports",
    "Fashion",
    "Kitchens",
    "Abcdaire",
    "Toys",
    "Studio",
    "Partners",
];
const SUFFIX: &[&str] = &[
    "SARL", "SAS", "GmbH", "Ltd", "Inc", "& Co", "BV", "SpA", "", "",
];
const PREFIX: &[&str] = &["C", "CUST", "NC", "REF", "ACC"];

/// A small deterministic generator (SplitMix64): no dependency, same data every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        let len = u64::try_from(words.len()).unwrap_or(1).max(1);
        let index = usize::try_from(self.next() % len).unwrap_or(0);
        words.get(index).copied().unwrap_or_default()
    }
}

#[derive(Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
struct BenchCustomer {
    uuid: String,
    reference: String,
    reference_folded: String,
    name: String,
    name_folded: String,
    category_id: i64,
    bill_with_parent: bool,
    is_same_address: bool,
    city: Option<String>,
    is_active: bool,
    on_hold: bool,
    currency: String,
    date_created: chrono::NaiveDateTime,
    last_updated: chrono::NaiveDateTime,
}

fn customer(rng: &mut SplitMix, n: u64, category_id: i64, start: DateTime<Utc>) -> BenchCustomer {
    let name = {
        let suffix = rng.pick(SUFFIX);
        let base = format!(
            "{} {} {}",
            rng.pick(FIRST),
            rng.pick(SECOND),
            rng.next() % 10_000
        );
        if suffix.is_empty() {
            base
        } else {
            format!("{base} {suffix}")
        }
    };
    let reference = format!("{}-{n:07}", rng.pick(PREFIX));
    let created = start + Duration::seconds(i64::try_from(n).unwrap_or(0) * 90);
    let updated = created + Duration::seconds(i64::try_from(rng.next() % 86_400 * 30).unwrap_or(0));
    let to_db = crate::customers::to_db_time;
    // Drawn in the order the fields used to be, so the data stays what earlier runs generated.
    let uuid = uuid::Uuid::from_u64_pair(rng.next(), n).to_string();
    let city = rng
        .pick(&["Paris", "Lyon", "Berlin", "Madrid", "Milano", "Porto"])
        .to_owned();
    let is_active = !rng.next().is_multiple_of(10);
    BenchCustomer {
        uuid,
        reference_folded: fold(&reference),
        reference,
        name_folded: fold(&name),
        name,
        category_id,
        bill_with_parent: false,
        is_same_address: true,
        city: Some(city),
        is_active,
        on_hold: false,
        currency: "EUR".to_owned(),
        date_created: to_db(created),
        last_updated: to_db(updated),
    }
}

/// Appends `count` generated live customers (in the root category, currency EUR, which must
/// be configured), then refreshes the planner statistics. Blocking.
///
/// # Errors
/// [`SetupError`] when the database fails.
pub fn generate_customers(database: &Database, count: u64) -> Result<(), SetupError> {
    let mut conn = database.write_connection()?;
    let category_id: i64 = customer_categories::table
        .filter(customer_categories::reference.eq(ROOT_CATEGORY))
        .select(customer_categories::id)
        .first(&mut *conn)
        .map_err(Failure::from)?;
    let first: i64 = customers::table
        .count()
        .get_result(&mut *conn)
        .map_err(Failure::from)?;
    let first = u64::try_from(first).unwrap_or(0);
    let last_id: Option<i64> = customers::table
        .select(diesel::dsl::max(customers::id))
        .get_result(&mut *conn)
        .map_err(Failure::from)?;
    let start = DateTime::from_timestamp(1_600_000_000, 0).unwrap_or_default();
    let mut rng = SplitMix(0x00C0_FFEE ^ first);
    let mut done = 0;
    while done < count {
        let chunk = ROWS_PER_TRANSACTION.min(count - done);
        write_transaction(&mut conn, |conn| {
            let mut rows = Vec::with_capacity(ROWS_PER_STATEMENT);
            for n in done..done + chunk {
                rows.push(customer(&mut rng, first + n, category_id, start));
                if rows.len() == ROWS_PER_STATEMENT || n + 1 == done + chunk {
                    diesel::insert_into(customers::table)
                        .values(&rows)
                        .execute_on(conn)?;
                    rows.clear();
                }
            }
            Ok(())
        })?;
        done += chunk;
    }
    // Their accounts, with varied limits (customers and accounts are created together).
    conn.batch_execute(
        "INSERT INTO accounts (customer_id, currency, balance, credit_limit, reserved, updated_at) \
         SELECT id, currency, 0, (id * 7919) % 5000000, 0, last_updated FROM customers c \
         WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = c.id)",
    )
    .map_err(Failure::from)?;
    // Their search terms, as the adapter stores them for every customer it writes.
    write_transaction(&mut conn, |conn| {
        crate::customers::fill_terms(conn, last_id.unwrap_or(i64::MIN)).map(|_| ())
    })?;
    // Fresh statistics (and, on PostgreSQL, a visibility map for index-only scans), as a
    // long-running database would have them.
    let maintenance = match &*conn {
        AnyConnection::Sqlite(_) => "ANALYZE",
        AnyConnection::Postgresql(_) => "VACUUM ANALYZE",
    };
    conn.batch_execute(maintenance).map_err(Failure::from)?;
    Ok(())
}

/// Refreshes the planner statistics (`ANALYZE`; on PostgreSQL `VACUUM ANALYZE`, which also
/// clears the dead rows a backfilling migration leaves). Blocking.
///
/// # Errors
/// [`SetupError`] when the database fails.
pub fn refresh_statistics(database: &Database) -> Result<(), SetupError> {
    let mut conn = database.write_connection()?;
    let maintenance = match &*conn {
        AnyConnection::Sqlite(_) => "ANALYZE",
        AnyConnection::Postgresql(_) => "VACUUM ANALYZE",
    };
    conn.batch_execute(maintenance).map_err(Failure::from)?;
    Ok(())
}

/// How many customers (live or archived) the database holds.
///
/// # Errors
/// [`SetupError`] when the database fails.
pub fn count_customers(database: &Database) -> Result<u64, SetupError> {
    let mut conn = database.write_connection()?;
    let count: i64 = customers::table
        .count()
        .get_result(&mut *conn)
        .map_err(Failure::from)?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Makes sure the PostgreSQL database `name` exists on the server `admin_url` names and
/// returns its URL. With `fresh`, an existing one is dropped first.
///
/// # Errors
/// [`SetupError::Connect`] when the server cannot be reached, [`SetupError::Store`] when a
/// statement fails.
pub fn postgres_database(admin_url: &str, name: &str, fresh: bool) -> Result<String, SetupError> {
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(SetupError::InvalidUrl(format!("database name {name}")));
    }
    crate::database::init_tls();
    let mut admin = PgConnection::establish(admin_url).map_err(|e| SetupError::Connect {
        backend: "PostgreSQL",
        target: String::new(),
        message: e.to_string(),
    })?;
    if fresh {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .map_err(Failure::from)?;
    }
    let exists: i64 = diesel::sql_query(format!(
        "SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"
    ))
    .load::<One>(&mut admin)
    .map_err(Failure::from)?
    .len()
    .try_into()
    .unwrap_or(0);
    if exists == 0 {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(Failure::from)?;
    }
    Ok(crate::database::with_database(admin_url, name))
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    #[expect(dead_code, reason = "only the row count matters")]
    one: i32,
}

/// The statements the outbox adds to a transaction, on a bare connection (the admission
/// floor with its event): the customer's turn, then the event, as [`crate::Store`] writes
/// them. `object` stands for the encoded resource.
///
/// # Errors
/// The database's.
pub fn outbox_on_postgres(
    conn: &mut diesel::pg::PgConnection,
    customer: i64,
    object: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    crate::events::TakeTurns {
        customers: vec![customer],
    }
    .execute(conn)?;
    admitted_event(customer, object, at).execute(conn)
}

/// [`outbox_on_postgres`] on SQLite, where a transaction needs no turn.
///
/// # Errors
/// The database's.
pub fn outbox_on_sqlite(
    conn: &mut diesel::sqlite::SqliteConnection,
    customer: i64,
    object: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    admitted_event(customer, object, at).execute(conn)
}

/// The event an admission writes, as the outbox records it.
fn admitted_event(
    customer: i64,
    object: &str,
    at: chrono::NaiveDateTime,
) -> crate::events::RecordEvent {
    crate::events::RecordEvent {
        customer,
        kind: "reservation.admitted",
        object: object.to_owned(),
        at,
    }
}

/// Appends `count` payments of one minor unit each to `account`'s ledger, written from
/// `from` on at one a second, and sets the account's balance to what its ledger then adds up
/// to (so the ledger's invariant holds). Blocking.
///
/// # Errors
/// [`SetupError`] when the database fails.
pub fn generate_ledger(
    database: &Database,
    account: i64,
    count: u64,
    from: DateTime<Utc>,
) -> Result<(), SetupError> {
    use crate::credit::NewEntry;
    use crate::schema::{accounts, ledger_entries};

    let mut conn = database.write_connection()?;
    let before: i64 = accounts::table
        .find(account)
        .select(accounts::balance)
        .first(&mut *conn)
        .map_err(Failure::from)?;
    let mut done = 0;
    while done < count {
        let chunk = ROWS_PER_TRANSACTION.min(count - done);
        write_transaction(&mut conn, |conn| {
            let mut rows = Vec::with_capacity(ROWS_PER_STATEMENT);
            for n in done..done + chunk {
                let step = i64::try_from(n).unwrap_or(i64::MAX);
                rows.push(NewEntry {
                    account_id: account,
                    kind: "payment",
                    balance_delta: 1,
                    reserved_delta: 0,
                    balance_after: before.saturating_add(step).saturating_add(1),
                    reserved_after: 0,
                    description: Some("generated"),
                    reservation_id: None,
                    user_id: None,
                    at: (from + Duration::seconds(step)).naive_utc(),
                    idempotency: None,
                });
                if rows.len() == ROWS_PER_STATEMENT || n + 1 == done + chunk {
                    diesel::insert_into(ledger_entries::table)
                        .values(&rows)
                        .execute_on(conn)?;
                    rows.clear();
                }
            }
            Ok(())
        })?;
        done += chunk;
    }
    let added = i64::try_from(count).unwrap_or(i64::MAX);
    diesel::update(accounts::table.find(account))
        .set(accounts::balance.eq(before.saturating_add(added)))
        .execute(&mut *conn)
        .map_err(Failure::from)?;
    // The write pool has one connection: give it back before the statistics take it.
    drop(conn);
    refresh_statistics(database)
}

/// Gives every account still at a zero balance one drawn from its id (some past their
/// limit), then refreshes the planner statistics. Blocking.
///
/// # Errors
/// [`SetupError`] when the database fails.
pub fn vary_balances(database: &Database) -> Result<(), SetupError> {
    let mut conn = database.write_connection()?;
    conn.batch_execute(
        "UPDATE accounts SET balance = -((customer_id * 104729) % (credit_limit + 1000000)) \
         WHERE balance = 0",
    )
    .map_err(Failure::from)?;
    drop(conn);
    refresh_statistics(database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rows_are_deterministic_and_varied() {
        let start = DateTime::from_timestamp(1_600_000_000, 0).unwrap_or_default();
        let a: Vec<String> = (0..50)
            .map(|n| customer(&mut SplitMix(7), n, 1, start).name)
            .collect();
        let b: Vec<String> = (0..50)
            .map(|n| customer(&mut SplitMix(7), n, 1, start).name)
            .collect();
        assert_eq!(a, b);
        let mut rng = SplitMix(1);
        let names: std::collections::HashSet<String> = (0..1000)
            .map(|n| customer(&mut rng, n, 1, start).name)
            .collect();
        assert!(names.len() > 900);
    }
}
