//! The catalog ports: products, task templates and tasks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::CustomerId;
use crate::listing::{Page, PageRequest};
use crate::ports::*;

/// The product catalog.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ProductCatalog: Send + Sync {
    /// Every product (or only the available ones), ordered by code.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn products(
        &self,
        only_available: bool,
    ) -> Result<Vec<crate::catalog::Product>, StoreError>;

    /// One product, available or not.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn product(
        &self,
        code: &crate::catalog::ProductCode,
    ) -> Result<Option<crate::catalog::Product>, StoreError>;

    /// Creates or replaces a product with its attributes, in one transaction, while `only_if`
    /// holds of the product stored; `true` when it created it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn save_product(
        &self,
        code: &crate::catalog::ProductCode,
        draft: &crate::catalog::ProductDraft,
        only_if: Precondition<crate::catalog::Product>,
    ) -> Result<Conditioned<(crate::catalog::Product, bool)>, StoreError>;

    /// Withdraws a product (`available = false`) while `only_if` holds of it; `false` when it
    /// does not exist.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn withdraw_product(
        &self,
        code: &crate::catalog::ProductCode,
        only_if: Precondition<crate::catalog::Product>,
    ) -> Result<Conditioned<bool>, StoreError>;
}

/// Filters of a task list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this customer's tasks (`None`: every customer, for operators).
    pub customer: Option<CustomerId>,
    /// Only tasks in this state.
    pub state: Option<crate::catalog::TaskState>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_until: Option<DateTime<Utc>>,
}

/// Why a task could not change state.
#[derive(Debug, thiserror::Error)]
pub enum MoveTaskError {
    /// No such task.
    #[error("no such task")]
    NotFound,
    /// The task is not in the state the move starts from any more (a racing move won).
    #[error("the task changed state meanwhile")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Task templates and tasks. Submitting a task and admitting its cost are one transaction;
/// finishing a task captures its reservation and cancelling it releases it, in the
/// transaction that changes its state.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TaskBoard: Send + Sync {
    /// A customer's templates, ordered by code.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn templates(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<crate::catalog::TaskTemplate>, StoreError>;

    /// One template of a customer.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn template(
        &self,
        customer: CustomerId,
        code: &str,
    ) -> Result<Option<crate::catalog::TaskTemplate>, StoreError>;

    /// Creates or replaces a template while `only_if` holds of the one stored; `true` when it
    /// created it.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn save_template(
        &self,
        customer: CustomerId,
        code: &str,
        draft: &crate::catalog::TemplateDraft,
        only_if: Precondition<crate::catalog::TaskTemplate>,
    ) -> Result<Conditioned<(crate::catalog::TaskTemplate, bool)>, StoreError>;

    /// Deletes a template while `only_if` holds of it; `false` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn delete_template(
        &self,
        customer: CustomerId,
        code: &str,
        only_if: Precondition<crate::catalog::TaskTemplate>,
    ) -> Result<Conditioned<bool>, StoreError>;

    /// Admits the task's cost (exactly as [`AccountLedger::admit`], with `admission.amount`
    /// the task's amount) and creates the task in the same transaction: both or neither, and
    /// only while the stored product is still `task.product` (held until the commit, so a
    /// product change waits for the task or the task sees the change).
    ///
    /// # Errors
    /// [`AdmitError::Refused`] with both amounts; [`AdmitError::Unmet`] when the product
    /// changed or is gone (nothing written).
    async fn submit(
        &self,
        task: &crate::catalog::TaskDraft,
        admission: &Admission,
    ) -> Result<crate::catalog::Task, AdmitError>;

    /// One page of tasks, newest first.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn tasks(
        &self,
        filter: &TaskFilter,
        page: PageRequest,
    ) -> Result<Page<crate::catalog::Task>, StoreError>;

    /// One task.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn task(
        &self,
        id: crate::catalog::TaskId,
    ) -> Result<Option<crate::catalog::Task>, StoreError>;

    /// Moves a task from `from` to `to` with a conditional update on `from`; `finished`
    /// captures the task's reservation (all of it) and `cancelled` releases it, in the same
    /// transaction.
    ///
    /// # Errors
    /// [`MoveTaskError::Conflict`] when the task is no longer in `from`.
    async fn move_task(
        &self,
        id: crate::catalog::TaskId,
        from: crate::catalog::TaskState,
        to: crate::catalog::TaskState,
        user: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
    ) -> Result<crate::catalog::Task, MoveTaskError>;
}
