//! Bulk import: many customers upserted by reference in one request, each optionally with
//! an opening balance.
//!
//! Every line goes through the single-customer use case ([`CustomerService::upsert`]) and,
//! when it created the customer, the payment route's rules ([`AccountService::post`]), so an
//! import accepts and refuses exactly what those routes do, with the same errors. What the
//! import adds is how lines share transactions ([`units`]): lines are applied in batches,
//! one transaction per batch with a savepoint per line, so a line that fails is undone alone
//! while the batch pays for one commit; `atomic` and `dry_run` put every line in one
//! transaction, committed only if nothing failed (atomic) or never (dry run).
//!
//! The opening balance is posted only when the line creates the customer: running the same
//! import twice updates the customers and posts nothing the second time.

mod known;
pub mod units;

use std::sync::Arc;

use chrono::TimeDelta;
use rust_decimal::Decimal;

use crate::access::principal::Principal;
use crate::access::scope::uses_back_office;
use crate::credit::EntryKind;
use crate::customers::{CustomerChanges, CustomerKey};
use crate::documents::service::Media;
use crate::ports::{Clock, Precondition, StoreError};
use crate::services::{AccountService, CreditError, CustomerService, UpdateCustomerError};
use crate::settings::Settings;
use known::{BatchCustomers, ReferenceMemos};
use units::{ImportUnit, ImportUnits, Marks};

/// The most lines one import may hold.
pub const MAX_IMPORT_LINES: u64 = 100_000;

/// How many lines share a transaction when the import is not atomic, unless the store says
/// otherwise ([`ImportUnits::batch_lines`]); an atomic import or a dry run is handed its
/// lines in batches of this size too.
pub const BATCH_LINES: usize = 500;

/// The description of the ledger entry an opening balance posts.
pub const OPENING_BALANCE: &str = "opening balance";

/// How an import applies its lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportMode {
    /// All lines in one transaction, committed only when none failed.
    pub atomic: bool,
    /// Every line checked as it would be applied, in one transaction that is rolled back.
    pub dry_run: bool,
}

impl ImportMode {
    /// Whether every line shares one transaction.
    #[must_use]
    pub fn whole(self) -> bool {
        self.atomic || self.dry_run
    }
}

/// One customer line, read and validated by the adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// The reference the line upserts by.
    pub reference: String,
    /// The customer's fields, as for `POST /customers/reference/{reference}`.
    pub changes: CustomerChanges,
    /// Positive: a payment; negative: a charge; posted only when the line creates the
    /// customer. Zero posts nothing.
    pub opening_balance: Option<Decimal>,
}

/// What a line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// The customer was created (and its opening balance posted).
    Created,
    /// The customer existed and was updated (an opening balance is ignored).
    Updated,
}

/// Why a line failed: the error the single-customer route, or the payment route for the
/// opening balance, would have answered.
#[derive(Debug, thiserror::Error)]
pub enum ImportRowError {
    /// The customer could not be written.
    #[error(transparent)]
    Customer(#[from] UpdateCustomerError),
    /// The opening balance could not be posted (the customer was not created either).
    #[error(transparent)]
    OpeningBalance(#[from] CreditError),
}

/// Bulk imports of customers.
#[derive(Clone)]
pub struct CustomerImports {
    units: Arc<dyn ImportUnits>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    media: Media,
}

impl std::fmt::Debug for CustomerImports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerImports").finish_non_exhaustive()
    }
}

impl CustomerImports {
    /// Wires the service with the same clock, settings and media as the customer service.
    #[must_use]
    pub fn new(
        units: Arc<dyn ImportUnits>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        media: Media,
    ) -> Self {
        Self {
            units,
            clock,
            settings,
            media,
        }
    }

    /// Starts an import for `principal`; nothing is opened until the first lines arrive.
    ///
    /// # Errors
    /// [`UpdateCustomerError::Forbidden`] for a caller who may not write customers.
    pub fn start(
        &self,
        principal: &Principal,
        mode: ImportMode,
    ) -> Result<ImportRun, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        Ok(ImportRun {
            imports: self.clone(),
            principal: principal.clone(),
            mode,
            open: None,
            memos: ReferenceMemos::default(),
            failed: 0,
        })
    }

    /// Opens a unit and wires the use cases over its ports, behind the import's memos of
    /// reference data and a batch's customers read ahead ([`known`]).
    async fn open(&self, memos: &ReferenceMemos, marks: Marks) -> Result<OpenUnit, StoreError> {
        let unit = self.units.begin(marks).await?;
        let batch = Arc::new(BatchCustomers::new(unit.customers()));
        let refs = memos.wrap(unit.refs());
        let customers = CustomerService::new(
            Arc::clone(&batch) as Arc<dyn crate::ports::CustomerRepository>,
            refs.clone(),
            Arc::clone(&self.clock),
            self.settings.clone(),
            self.media.clone(),
        );
        let accounts = AccountService::new(
            unit.ledger(),
            Arc::clone(&batch) as Arc<dyn crate::ports::CustomerRepository>,
            refs.currencies,
            Arc::clone(&self.clock),
            // Reservations are not made here; any expiry will do.
            TimeDelta::hours(1),
        );
        Ok(OpenUnit {
            unit,
            batch,
            customers,
            accounts,
        })
    }
}

impl CustomerImports {
    /// One batch in a unit of its own, committed when its lines are done.
    ///
    /// The batch is first applied without savepoints ([`Marks::Optimistic`]): lines
    /// rarely fail once they reach the store, and a line that fails before it writes needs
    /// none. Only when a line had to be undone after it wrote is that work rolled back and
    /// the batch applied again, with a savepoint for each line.
    async fn apply_batch(
        &self,
        memos: &ReferenceMemos,
        principal: &Principal,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<Result<Imported, ImportRowError>>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let open = self.open(memos, Marks::Optimistic).await?;
        let results = write_lines(&open, principal, rows.clone()).await?;
        if !open.unit.spoiled().await? {
            open.unit.commit().await?;
            return Ok(results);
        }
        open.unit.rollback().await?;
        let open = self.open(memos, Marks::Savepoints).await?;
        let results = write_lines(&open, principal, rows).await?;
        open.unit.commit().await?;
        Ok(results)
    }
}

/// Applies lines in order in an open unit, each between a mark and its keep (or undo, when
/// it fails). The batch's customers are read first, in one query.
async fn write_lines(
    open: &OpenUnit,
    principal: &Principal,
    rows: Vec<ImportRow>,
) -> Result<Vec<Result<Imported, ImportRowError>>, StoreError> {
    let mut references: Vec<String> = rows.iter().map(|r| r.reference.clone()).collect();
    references.sort_unstable();
    references.dedup();
    let found = open.unit.customers_by_reference(&references).await?;
    open.batch.read_ahead(references, found);
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        open.unit.mark().await?;
        let result = write(open, principal, row).await;
        if result.is_ok() {
            open.unit.keep().await?;
        } else {
            open.unit.undo().await?;
        }
        open.batch.line_ended();
        results.push(result);
    }
    Ok(results)
}

/// An open unit of work with the use cases wired over its ports.
struct OpenUnit {
    unit: Box<dyn ImportUnit>,
    batch: Arc<BatchCustomers>,
    customers: CustomerService,
    accounts: AccountService,
}

/// One import under way: feed it lines in order with [`Self::apply`], then [`Self::finish`].
pub struct ImportRun {
    imports: CustomerImports,
    principal: Principal,
    mode: ImportMode,
    open: Option<OpenUnit>,
    memos: ReferenceMemos,
    failed: usize,
}

impl std::fmt::Debug for ImportRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportRun")
            .field("mode", &self.mode)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl ImportRun {
    /// Applies lines in order, each in its own savepoint, and answers what each did. Unless
    /// the import is atomic or a dry run, the lines are committed before this returns.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction itself fails (its lines are then not applied).
    pub async fn apply(
        &mut self,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<Result<Imported, ImportRowError>>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let results = if self.mode.whole() {
            if self.open.is_none() {
                self.open = Some(self.imports.open(&self.memos, Marks::Savepoints).await?);
            }
            let Some(open) = self.open.as_ref() else {
                return Err(StoreError::Unexpected(
                    "the import's unit is not open".into(),
                ));
            };
            write_lines(open, &self.principal, rows).await?
        } else {
            self.imports
                .apply_batch(&self.memos, &self.principal, rows)
                .await?
        };
        self.failed += results.iter().filter(|r| r.is_err()).count();
        Ok(results)
    }

    /// How many batches may be applied at once: one for an atomic import or a dry run (one
    /// transaction), else as many as the store can hold units open at once to good effect
    /// (one on SQLite, whose writer is single).
    #[must_use]
    pub fn lanes(&self) -> usize {
        if self.mode.whole() {
            1
        } else {
            self.imports.units.lanes().max(1)
        }
    }

    /// How many lines to hand [`Self::apply`] (or [`Self::apply_beside`]) at once: the
    /// store's choice ([`ImportUnits::batch_lines`]) when each batch is a unit of its own,
    /// else [`BATCH_LINES`].
    #[must_use]
    pub fn batch_lines(&self) -> usize {
        if self.mode.whole() {
            BATCH_LINES
        } else {
            self.imports.units.batch_lines().max(1)
        }
    }

    /// Whether a batch may be applied beside others ([`Self::apply_beside`]): none of its
    /// lines names a parent. A line naming a parent must see exactly the lines before it
    /// applied, and none after it, which only a batch applied alone guarantees.
    #[must_use]
    pub fn independent(rows: &[ImportRow]) -> bool {
        rows.iter()
            .all(|row| !matches!(row.changes.parent, crate::field::Field::Value(_)))
    }

    /// Applies a batch in a unit of its own and commits it, as [`Self::apply`] does, while
    /// other batches may be under way; only for an import that is neither atomic nor a dry
    /// run ([`Self::lanes`] above one), with batches that are [`Self::independent`] and name
    /// no reference another batch under way names, so that no line can tell it from the
    /// import applied in order. The caller counts its failed lines in the report.
    pub fn apply_beside(
        &self,
        rows: Vec<ImportRow>,
    ) -> impl std::future::Future<Output = Result<Vec<Result<Imported, ImportRowError>>, StoreError>>
    + Send
    + 'static {
        let imports = self.imports.clone();
        let memos = self.memos.clone();
        let principal = self.principal.clone();
        async move { imports.apply_batch(&memos, &principal, rows).await }
    }

    /// Ends the import: an atomic import is committed when no line failed and rolled back
    /// otherwise, a dry run is always rolled back. Answers whether the lines were kept.
    ///
    /// # Errors
    /// [`StoreError`] when the commit fails (nothing of the transaction is then written).
    pub async fn finish(mut self) -> Result<bool, StoreError> {
        let refused = self.mode.atomic && self.failed > 0;
        let keep = !(self.mode.dry_run || refused);
        if let Some(open) = self.open.take() {
            if keep {
                open.unit.commit().await?;
            } else {
                open.unit.rollback().await?;
            }
        }
        Ok(keep)
    }

    /// Counts a line the adapter could not read: it fails the import as any failed line
    /// does (an atomic import is then not applied).
    pub fn reject(&mut self) {
        self.failed += 1;
    }

    /// How many lines failed so far.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.failed
    }
}

/// One line: the upsert, then the opening balance of a new customer, in the unit.
async fn write(
    open: &OpenUnit,
    principal: &Principal,
    row: ImportRow,
) -> Result<Imported, ImportRowError> {
    let saved = open
        .customers
        .upsert(principal, &row.reference, row.changes, None)
        .await?;
    if !saved.created {
        return Ok(Imported::Updated);
    }
    if let Some(amount) = row.opening_balance.filter(|a| !a.is_zero()) {
        let kind = if amount.is_sign_positive() {
            EntryKind::Payment
        } else {
            EntryKind::Charge
        };
        open.accounts
            .post(
                principal,
                &CustomerKey::Id(saved.customer.id),
                kind,
                amount.abs(),
                Some(OPENING_BALANCE.to_owned()),
                None,
                Precondition::none(),
            )
            .await?;
    }
    Ok(Imported::Created)
}
