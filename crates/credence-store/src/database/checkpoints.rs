//! Checkpoints of SQLite's write-ahead log after a unit of work, off the unit's thread.
//!
//! SQLite checkpoints on the thread that commits, once the log is longer than 1,000 pages:
//! for an import, whose every batch of 500 lines is longer than that, a twentieth of the
//! write thread went to copying the batch into the database file. A unit's connection
//! therefore does not checkpoint at its commit; a reader's connection does it afterwards,
//! beside the next unit's work, on the other core.
//!
//! A checkpoint that runs beside a writer cannot let the log start over (the writer has
//! already added to it), so the log would grow for as long as units follow each other. Each
//! background checkpoint reports how long the log is; once that is past [`LONGEST_LOG`],
//! the next unit checkpoints after its commit on its own connection, with no writer beside
//! it, when most of the log is copied already: the log then starts over at the next write.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::Integer;

use crate::database::AnyConnection;
use crate::database::gated_pool::GatedPool;
use crate::error::Failure;

/// The log's length (in pages) past which a unit checkpoints after its commit, alone: 64 MiB
/// of 4 KiB pages.
const LONGEST_LOG: i64 = 16_384;

/// SQLite's own threshold, restored when a unit gives its connection back.
const SQLITE_DEFAULT: i64 = 1_000;

/// Where units' checkpoints run, and the log's length as last seen.
#[derive(Clone)]
pub(crate) struct Checkpoints {
    readers: GatedPool,
    /// The log's length in pages, as last seen.
    log: Arc<AtomicI64>,
}

/// `PRAGMA wal_checkpoint`'s answer.
#[derive(QueryableByName)]
struct Checkpointed {
    /// Pages in the log.
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Of those, copied to the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

impl Checkpoints {
    /// Checkpoints run on connections of `readers` (the same file's).
    pub(crate) fn new(readers: GatedPool) -> Self {
        Self {
            readers,
            log: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Called as a unit begins, on its connection: turns its checkpoint at commit off unless
    /// the log is long. Answers whether it did.
    pub(crate) fn before(&self, conn: &mut AnyConnection) -> bool {
        self.log.load(Ordering::Relaxed) < LONGEST_LOG && set_threshold(conn, 0).is_ok()
    }

    /// Called once the unit has ended, before `conn` goes back to its pool: restores
    /// SQLite's threshold on a connection [`Self::before`] turned it off on; on one it did
    /// not (the log was long), checkpoints after a commit, with no writer beside it.
    pub(crate) fn release(&self, conn: &mut AnyConnection, deferred: bool, committed: bool) {
        if deferred {
            let _ = set_threshold(conn, SQLITE_DEFAULT);
        } else if committed {
            self.checkpoint(conn, true);
        }
    }

    /// Called once the unit's connection is back in its pool, on the unit's thread (no
    /// longer the writer's): after a commit [`Self::before`] deferred, checkpoints on a
    /// reader's connection. None is taken when all are busy: the next unit's checkpoint
    /// covers this one's pages too.
    pub(crate) fn after(&self, deferred: bool, committed: bool) {
        if deferred
            && committed
            && let Some(mut reader) = self.readers.pool().try_get()
        {
            self.checkpoint(&mut reader, false);
        }
    }

    /// A passive checkpoint on `conn`, noting how long the log is. Beside a writer the log
    /// cannot start over even when all of it was copied, so its length is what counts; with
    /// no writer beside it (`alone`), a checkpoint that copied all of it lets the next write
    /// start it over.
    fn checkpoint(&self, conn: &mut AnyConnection, alone: bool) {
        if let Ok(answer) =
            diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Checkpointed>(conn)
        {
            let restarts = alone && answer.checkpointed == answer.log;
            let log = if restarts { 0 } else { answer.log };
            self.log.store(i64::from(log), Ordering::Relaxed);
        }
    }
}

fn set_threshold(conn: &mut AnyConnection, pages: i64) -> Result<(), Failure> {
    conn.batch_execute(&format!("PRAGMA wal_autocheckpoint = {pages}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use credence_domain::ports::Marks;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::database::{Database, PoolOptions};

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = BigInt)]
        wal_autocheckpoint: i64,
    }

    /// Runs one unit that writes `rows` rows of 1 KiB and commits.
    async fn unit_writing(database: &Database, rows: i64) {
        let unit = database.begin_unit(Marks::Optimistic).await.unwrap();
        unit.unit()
            .unwrap()
            .run(move |conn| {
                conn.batch_execute(&format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
                     INSERT INTO t SELECT randomblob(1024) FROM n"
                ))?;
                Ok(())
            })
            .await
            .unwrap();
        unit.unit().unwrap().end(true).await.unwrap();
    }

    #[tokio::test]
    async fn a_unit_leaves_its_checkpoint_to_a_reader_and_the_writer_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wal.db");
        let database = Database::connect(
            &format!("sqlite://{}", file.display()),
            PoolOptions::default(),
        )
        .unwrap();
        database
            .write_connection()
            .unwrap()
            .batch_execute("CREATE TABLE t (b BLOB)")
            .unwrap();
        let before = std::fs::metadata(&file).unwrap().len();
        // 2 MiB, longer than SQLite's threshold: its commit would have checkpointed it.
        unit_writing(&database, 2_000).await;
        let setting = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result::<Setting>(&mut *database.write_connection().unwrap())
            .unwrap();
        assert_eq!(
            setting.wal_autocheckpoint, SQLITE_DEFAULT,
            "the writer's threshold"
        );
        // The rows reach the database file once a reader has checkpointed, after the unit.
        let started = Instant::now();
        while std::fs::metadata(&file).unwrap().len() < before + 2_000 * 1024 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no checkpoint ran"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
