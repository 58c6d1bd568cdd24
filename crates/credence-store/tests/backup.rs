//! Online backups of SQLite: a copy taken while money keeps moving is consistent (every
//! account equals its ledger in it), and a backup never overwrites a file.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use credence_domain::credit::{EntryKind, Money};
use credence_domain::ports::{AccountLedger, Posting, Precondition};
use credence_store::test_support::TestDb;
use credence_store::{BackupError, Database, PoolOptions};

mod common;
use common::{at, customer, eur, store_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_money_moves_is_consistent() {
    let db = TestDb::sqlite();
    let store = store_for(&db);
    let mut accounts = Vec::new();
    for n in 0..5 {
        accounts.push(customer(&store, &format!("BK-{n}")).await.id);
    }
    let moving = Arc::new(AtomicBool::new(true));
    let writer = {
        let (store, moving, accounts) = (store.clone(), Arc::clone(&moving), accounts.clone());
        tokio::spawn(async move {
            let ledger: &dyn AccountLedger = &store;
            let mut n = 0_usize;
            while moving.load(Ordering::Relaxed) {
                let posting = Posting {
                    account: accounts[n % accounts.len()],
                    kind: EntryKind::Payment,
                    balance_delta: Money::from_minor(100, eur()),
                    description: None,
                    user: None,
                    now: at(1),
                    idempotency: None,
                };
                ledger.post(&posting, Precondition::none()).await.unwrap();
                n += 1;
            }
            n
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for round in 0..5 {
        let file = dir.path().join(format!("backup-{round}.db"));
        let database = db.database().clone();
        let report = tokio::task::spawn_blocking(move || database.backup(&file))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.accounts, 5);
        seen.push(report.entries);
    }
    moving.store(false, Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");

    // The copy is a database Credence opens as it is.
    let url = format!("sqlite://{}", dir.path().join("backup-4.db").display());
    let copy = Database::connect(&url, PoolOptions::default()).unwrap();
    copy.migrate().unwrap();

    let taken = dir.path().join("backup-0.db");
    let database = db.database().clone();
    let refused = tokio::task::spawn_blocking(move || database.backup(&taken))
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(BackupError::Exists(_))),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_backed_up_with_its_own_tools() {
    let Some(db) = TestDb::postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("never.db");
    let database = db.database().clone();
    let refused = tokio::task::spawn_blocking(move || database.backup(&file))
        .await
        .unwrap();
    assert!(matches!(refused, Err(BackupError::Postgres)), "{refused:?}");
    assert!(!dir.path().join("never.db").exists());
}
