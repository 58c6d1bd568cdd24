//! Batches applied side by side, where the store can hold several units of work open to good
//! effect (PostgreSQL: a line's time is mostly waiting for the database's answers, so a few
//! connections working at once multiply the lines per second). The report stays in the
//! body's order, and no line can tell the difference from the import applied in order:
//!
//! - only an import that is neither atomic nor a dry run (one transaction each) goes beside
//!   others ([`ImportRun::lanes`]);
//! - a batch in which a line names a parent runs alone, after every batch before it has
//!   landed, so the parent it names is there exactly when an import in order would have it;
//! - a batch naming a reference that a batch still under way names waits for that one (and
//!   those before it), so two lines of one reference are applied in the body's order.
//!
//! Each batch is a task of its own, so it keeps going while the handler reads the body; it
//! has the request's deadline, as a batch applied in turn does. A batch still under way
//! when the import fails (a later batch's storage failure, `413`) finishes on its own and
//! keeps what it committed, as a cut import keeps its committed batches.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use actix_web::rt::task::JoinHandle;
use actix_web::rt::time::timeout;
use credence_domain::ports::StoreError;
use credence_domain::services::{ImportRowError, ImportRun, Imported};

use super::{Entry, Line, Report};
use crate::error::ApiError;

/// What a batch's task answers: its lines' results, a storage failure, or the deadline.
type Landing = Result<Result<Vec<Result<Imported, ImportRowError>>, StoreError>, Elapsed>;

/// The batch's deadline passed.
struct Elapsed;

/// A batch under way.
struct Flight {
    entries: Vec<Entry>,
    references: HashSet<String>,
    task: JoinHandle<Landing>,
}

/// The batches under way, oldest first.
pub(super) struct Lanes {
    width: usize,
    step: Duration,
    flights: VecDeque<Flight>,
}

impl Lanes {
    /// At most `width` batches at once, each within `step`.
    pub(super) fn new(width: usize, step: Duration) -> Self {
        Self {
            width: width.max(1),
            step,
            flights: VecDeque::new(),
        }
    }

    /// Applies a batch: in turn when one lane is all there is, else beside the batches
    /// under way when it may (see the module docs), reporting those that land meanwhile.
    pub(super) async fn submit(
        &mut self,
        report: &mut Report,
        run: &mut ImportRun,
        batch: Vec<Line>,
    ) -> Result<(), ApiError> {
        if self.width == 1 {
            return report.apply_within(self.step, run, batch).await;
        }
        let (rows, entries) = report.split(run, batch);
        let references: HashSet<String> = rows.iter().map(|r| r.reference.clone()).collect();
        let alone = !ImportRun::independent(&rows);
        let crosses = self
            .flights
            .iter()
            .any(|f| !f.references.is_disjoint(&references));
        if alone || crosses {
            self.drain(report).await?;
        }
        while self.flights.len() >= self.width {
            self.land_oldest(report).await?;
        }
        let work = run.apply_beside(rows);
        let step = self.step;
        let task =
            actix_web::rt::spawn(async move { timeout(step, work).await.map_err(|_| Elapsed) });
        self.flights.push_back(Flight {
            entries,
            references,
            task,
        });
        if alone {
            self.drain(report).await?;
        }
        Ok(())
    }

    /// Waits for every batch under way and reports them, in order.
    pub(super) async fn drain(&mut self, report: &mut Report) -> Result<(), ApiError> {
        while !self.flights.is_empty() {
            self.land_oldest(report).await?;
        }
        Ok(())
    }

    async fn land_oldest(&mut self, report: &mut Report) -> Result<(), ApiError> {
        let Some(flight) = self.flights.pop_front() else {
            return Ok(());
        };
        let results = match flight.task.await {
            Ok(Ok(Ok(results))) => results,
            Ok(Ok(Err(store))) => return Err(store.into()),
            Ok(Err(Elapsed)) => return Err(ApiError::request_timeout(self.step)),
            Err(join) => {
                return Err(StoreError::Unexpected(
                    format!("an import batch stopped: {join}").into(),
                )
                .into());
            }
        };
        report.merge(flight.entries, results);
        Ok(())
    }
}
