//! Connections that PostgreSQL has dropped are never handed out again, and a URL listing
//! several hosts reaches the one that answers. PostgreSQL only: both tests skip (with a note)
//! when `CREDENCE_TEST_POSTGRES_URL` is not set.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::time::Duration;

use credence_domain::ports::{Readiness, StoreError};
use credence_store::test_support::TestDb;
use credence_store::{Database, PoolOptions, Store};
use diesel::prelude::*;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The backends connected to `database` (other than the admin connection asking).
fn backends(admin: &mut PgConnection, database: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<diesel::sql_types::Text, _>(database)
    .get_result::<Count>(admin)
    .unwrap()
    .n
}

/// Terminates every backend connected to `database` and waits (bounded) until they are gone.
fn terminate_all(admin: &mut PgConnection, database: &str) {
    diesel::sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<diesel::sql_types::Text, _>(database)
    .get_result::<Count>(admin)
    .unwrap();
    for _ in 0..500 {
        if backends(admin, database) == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the backends of {database} did not go away");
}

fn database_name(url: &str) -> String {
    let path = url.split_once("://").unwrap().1;
    let name = path.split_once('/').unwrap().1;
    name.split('?').next().unwrap().to_owned()
}

fn admin_url() -> String {
    std::env::var(credence_store::test_support::POSTGRES_URL_VAR).unwrap()
}

#[tokio::test]
async fn terminated_connections_are_not_reused() {
    let Some(db) = TestDb::postgres() else { return };
    let name = database_name(db.url());
    // One connection, so a reused dead connection could not hide behind a live one.
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: Duration::from_secs(10),
    };
    let store = Store::new(Database::connect(db.url(), options).unwrap());
    store.ping().await.unwrap();
    let mut admin = PgConnection::establish(&admin_url()).unwrap();
    for round in 0..3 {
        terminate_all(&mut admin, &name);
        // The next call either gets a fresh connection or, at worst, reports the database
        // unavailable (a 503), never an unexpected error; the one after must succeed.
        match store.ping().await {
            Ok(()) | Err(StoreError::Unavailable(_)) => {}
            Err(other) => panic!("round {round}: the first call after the kill: {other:?}"),
        }
        store
            .ping()
            .await
            .unwrap_or_else(|e| panic!("round {round}: a dead connection was reused: {e:?}"));
    }
}

#[tokio::test]
async fn a_transaction_on_a_terminated_connection_is_not_reused() {
    let Some(db) = TestDb::postgres() else { return };
    let name = database_name(db.url());
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: Duration::from_secs(10),
    };
    let database = Database::connect(db.url(), options).unwrap();
    let store = Store::new(database.clone());
    let regions = || async {
        use credence_domain::customers::reference_data::Region;
        use credence_domain::listing::PageRequest;
        use credence_domain::ports::RecordRepository;
        RecordRepository::<Region>::list(&store, PageRequest::default()).await
    };
    regions().await.unwrap();
    let mut admin = PgConnection::establish(&admin_url()).unwrap();
    terminate_all(&mut admin, &name);
    match regions().await {
        Ok(_) | Err(StoreError::Unavailable(_)) => {}
        Err(other) => panic!("the first read after the kill: {other:?}"),
    }
    regions().await.unwrap();
}

#[tokio::test]
async fn a_url_with_several_hosts_reaches_the_one_that_answers() {
    let Some(db) = TestDb::postgres() else { return };
    // Port 1 refuses at once on loopback; libpq must move on to the real server.
    let url = db.url();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host) = authority
        .rsplit_once('@')
        .map_or((None, authority), |(u, h)| (Some(u), h));
    let user = user.map_or_else(String::new, |u| format!("{u}@"));
    let separator = if path.contains('?') { '&' } else { '?' };
    let multi = format!(
        "{scheme}://{user}127.0.0.1:1,{host}/{path}{separator}target_session_attrs=read-write"
    );
    let database = Database::connect(&multi, PoolOptions::default()).unwrap();
    Store::new(database).ping().await.unwrap();
}
