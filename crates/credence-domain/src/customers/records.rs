//! The list/show/create/update/delete use cases of every kind of reference data.

use std::sync::Arc;

use crate::access::principal::{Principal, Role};
use crate::customers::hierarchy::may_link;
use crate::customers::reference_data::Record;
use crate::input::InputError;
use crate::listing::{Page, PageRequest};
use crate::ports::{Precondition, RecordRepository, RemoveError, StoreError, WriteError};

/// Why a list failed.
#[derive(Debug, thiserror::Error)]
pub enum ListRecordsError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a show failed.
#[derive(Debug, thiserror::Error)]
pub enum GetRecordError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// No such row: `404 not_found`.
    #[error("The {noun} with the id {key} doesn't exist.")]
    NotFound {
        /// The kind's noun.
        noun: &'static str,
        /// The id as given.
        key: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a create or update failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveRecordError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The row to update does not exist.
    #[error("The {noun} with the id {key} doesn't exist.")]
    NotFound {
        /// The kind's noun.
        noun: &'static str,
        /// The id as given.
        key: String,
    },
    /// Bad input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The reference (or code) is taken: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The row no longer meets the update's condition (it changed since it was read):
    /// nothing was written.
    #[error("The {0} has changed since it was read.")]
    Changed(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a delete failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteRecordError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// No such row.
    #[error("The {noun} with the id {key} doesn't exist.")]
    NotFound {
        /// The kind's noun.
        noun: &'static str,
        /// The id as given.
        key: String,
    },
    /// Still referenced, or permanent (the root category, the organization currency):
    /// `400 delete_failed`.
    #[error("Failed to delete instance.")]
    Refused,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WriteError> for SaveRecordError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::DuplicateReference => Self::DuplicateReference,
            WriteError::DanglingReference
            | WriteError::AccountInUse
            | WriteError::TooManyDocuments
            | WriteError::UnknownDocument(_)
            | WriteError::Stale
            | WriteError::OwnAncestor => {
                Self::Input(crate::customers::CustomerRule::RecordRowGone.into())
            }
            WriteError::Store(e) => Self::Store(e),
        }
    }
}

/// Admins read everything; resellers read the kinds they need to fill in customers; customers
/// read no back-office data at all.
fn may_read<R: Record>(principal: &Principal) -> bool {
    match principal.role() {
        Role::Admin => true,
        Role::Reseller => R::RESELLERS_READ,
        Role::Customer => false,
    }
}

/// Use cases over one kind of reference data. Only admins write reference data.
pub struct RecordService<R: Record> {
    repo: Arc<dyn RecordRepository<R>>,
}

impl<R: Record> std::fmt::Debug for RecordService<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordService")
            .field("kind", &R::NOUN)
            .finish_non_exhaustive()
    }
}

impl<R: Record> Clone for RecordService<R> {
    fn clone(&self) -> Self {
        Self {
            repo: Arc::clone(&self.repo),
        }
    }
}

impl<R: Record> RecordService<R> {
    /// Wraps the port.
    #[must_use]
    pub fn new(repo: Arc<dyn RecordRepository<R>>) -> Self {
        Self { repo }
    }

    /// The port, for other services that resolve references.
    #[must_use]
    pub fn repository(&self) -> &Arc<dyn RecordRepository<R>> {
        &self.repo
    }

    /// One page of rows.
    ///
    /// # Errors
    /// [`ListRecordsError`] when the store fails.
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<R>, ListRecordsError> {
        if !may_read::<R>(principal) {
            return Err(ListRecordsError::Forbidden);
        }
        Ok(self.repo.list(page).await?)
    }

    /// One row.
    ///
    /// # Errors
    /// [`GetRecordError::NotFound`] when it does not exist.
    pub async fn get(&self, principal: &Principal, id: R::Id) -> Result<R, GetRecordError> {
        if !may_read::<R>(principal) {
            return Err(GetRecordError::Forbidden);
        }
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| GetRecordError::NotFound {
                noun: R::NOUN,
                key: id.to_string(),
            })
    }

    /// Creates a row.
    ///
    /// # Errors
    /// [`SaveRecordError`] for a missing parent, a taken reference or a store failure.
    pub async fn create(
        &self,
        principal: &Principal,
        draft: R::Draft,
    ) -> Result<R, SaveRecordError> {
        if !principal.is_admin() {
            return Err(SaveRecordError::Forbidden);
        }
        self.check_parent(None, &draft).await?;
        Ok(self.repo.create(draft).await?)
    }

    /// Replaces a row while it meets `only_if` (a change merged over the row as read holds
    /// only while the row is still that one).
    ///
    /// # Errors
    /// [`SaveRecordError`] for a missing row or parent, a cycle, a taken reference;
    /// [`SaveRecordError::Changed`] when the row no longer meets `only_if`.
    pub async fn update(
        &self,
        principal: &Principal,
        id: R::Id,
        draft: R::Draft,
        only_if: Precondition<R>,
    ) -> Result<R, SaveRecordError> {
        if !principal.is_admin() {
            return Err(SaveRecordError::Forbidden);
        }
        self.check_parent(Some(id), &draft).await?;
        let updated = match self.repo.update(id, draft, only_if).await {
            Err(WriteError::Stale) => return Err(SaveRecordError::Changed(R::NOUN)),
            // A racing update made the new parent a descendant after the check above.
            Err(WriteError::OwnAncestor) => return Err(InputError::OwnAncestor(R::NOUN).into()),
            other => other?,
        };
        updated.ok_or_else(|| SaveRecordError::NotFound {
            noun: R::NOUN,
            key: id.to_string(),
        })
    }

    /// Deletes a row.
    ///
    /// # Errors
    /// [`DeleteRecordError::Refused`] while it is referenced or when it is permanent.
    pub async fn delete(&self, principal: &Principal, id: R::Id) -> Result<(), DeleteRecordError> {
        if !principal.is_admin() {
            return Err(DeleteRecordError::Forbidden);
        }
        let not_found = || DeleteRecordError::NotFound {
            noun: R::NOUN,
            key: id.to_string(),
        };
        let row = self.repo.get(id).await?.ok_or_else(not_found)?;
        if row.is_permanent() {
            return Err(DeleteRecordError::Refused);
        }
        match self.repo.delete(id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found()),
            Err(RemoveError::InUse) => Err(DeleteRecordError::Refused),
            // Reference data has no revisions: a store that says so is broken.
            Err(RemoveError::Stale) => Err(StoreError::Unexpected(
                "a reference-data row reported a revision".into(),
            )
            .into()),
            Err(RemoveError::Store(e)) => Err(e.into()),
        }
    }

    /// The parent must exist and, on update, must not be the row or one of its descendants.
    async fn check_parent(
        &self,
        id: Option<R::Id>,
        draft: &R::Draft,
    ) -> Result<(), SaveRecordError> {
        let Some(parent_id) = R::draft_parent(draft) else {
            return Ok(());
        };
        let parent = self
            .repo
            .get(parent_id)
            .await?
            .ok_or_else(|| InputError::NotFound {
                noun: R::NOUN,
                key: parent_id.to_string(),
            })?;
        let Some(id) = id else { return Ok(()) };
        let mut ancestors = Vec::new();
        let mut next = parent.parent();
        // Trees of reference data are shallow; the bound stops a corrupted loop.
        while let Some(ancestor) = next.filter(|_| ancestors.len() < 1000) {
            ancestors.push(ancestor);
            next = self.repo.get(ancestor).await?.and_then(|row| row.parent());
        }
        if may_link(&id, &parent_id, &ancestors) {
            Ok(())
        } else {
            Err(InputError::OwnAncestor(R::NOUN).into())
        }
    }
}
