//! TLS to PostgreSQL: `sslmode` and `sslrootcert` in the database URL reach libpq, which is
//! built with OpenSSL, so managed PostgreSQL services that require TLS can be used. Runs when
//! `CREDENCE_TEST_POSTGRES_URL` is set, against that server's own certificate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use std::path::PathBuf;

use credence_domain::ports::Readiness;
use credence_store::test_support::TestDb;
use credence_store::{Database, PoolOptions, SetupError, Store};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    setting: String,
}

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

fn setting(conn: &mut PgConnection, name: &str) -> String {
    diesel::sql_query("SELECT current_setting($1) AS setting")
        .bind::<Text, _>(name)
        .get_result::<Setting>(conn)
        .unwrap()
        .setting
}

/// Whether the connection `url` opens is encrypted, as the server sees it.
fn encrypted(url: &str) -> bool {
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Encrypted>(&mut conn)
        .unwrap()
        .ssl
}

fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

#[tokio::test]
async fn sslmode_and_sslrootcert_in_the_url_are_honoured() {
    let Some(db) = TestDb::postgres() else { return };
    let mut plain = PgConnection::establish(db.url()).unwrap();
    if setting(&mut plain, "ssl") != "on" {
        eprintln!("PostgreSQL tests skipped: the test server has ssl = off (.ci/run turns it on)");
        return;
    }
    // The server's certificate; a self-signed one is its own root.
    let mut certificate = PathBuf::from(setting(&mut plain, "ssl_cert_file"));
    if certificate.is_relative() {
        certificate = PathBuf::from(setting(&mut plain, "data_directory")).join(certificate);
    }

    let required = with_params(db.url(), "sslmode=require");
    let store = Store::new(Database::connect(&required, PoolOptions::default()).unwrap());
    store.ping().await.unwrap();
    assert!(encrypted(&required), "sslmode=require encrypts");
    assert!(
        !encrypted(&with_params(db.url(), "sslmode=disable")),
        "sslmode=disable does not"
    );

    let verified = with_params(
        db.url(),
        &format!("sslmode=verify-ca&sslrootcert={}", certificate.display()),
    );
    let database = Database::connect(&verified, PoolOptions::default()).unwrap();
    database.migrate().unwrap();
    Store::new(database).ping().await.unwrap();
    assert!(
        encrypted(&verified),
        "verify-ca against the trusted root encrypts"
    );

    // A root that did not sign the server's certificate is refused, with the driver's words.
    let untrusted = with_params(
        db.url(),
        "sslmode=verify-ca&sslrootcert=/etc/ssl/certs/ca-certificates.crt",
    );
    match Database::connect(&untrusted, PoolOptions::default()) {
        Err(SetupError::Connect { message, .. }) => {
            assert!(message.contains("certificate"), "{message}");
        }
        other => panic!("an untrusted server certificate must be refused: {other:?}"),
    }
}
