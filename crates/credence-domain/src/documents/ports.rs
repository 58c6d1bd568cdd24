//! The document ports: blobs, document metadata and links, and image rendering.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::documents::logo::{ImageBounds, ImageError, ImageKind};
use crate::documents::{BlobKey, Document, MetadataChange};
use crate::ids::CustomerId;
use crate::ports::*;

/// Documents to attach to a customer in the same transaction as the customer's own write
/// (the `documents` field of a customer create or update). Attaching is additive: a write
/// never detaches; `DELETE /customers/{id}/documents/{uuid}` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLinks {
    /// Uploaded documents to attach; one already attached stays as it is.
    pub existing: Vec<Uuid>,
    /// New external documents to create and attach. One whose URL the customer already
    /// carries is not created again, so a retried update does not duplicate it.
    pub external: Vec<crate::documents::Document>,
    /// The most documents the customer may hold after the write, checked in its transaction.
    pub max_per_customer: u32,
}

impl DocumentLinks {
    /// Nothing to attach.
    #[must_use]
    pub fn none() -> Self {
        Self {
            existing: Vec::new(),
            external: Vec::new(),
            max_per_customer: u32::MAX,
        }
    }

    /// Whether there is nothing to attach.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.existing.is_empty() && self.external.is_empty()
    }
}

impl Default for DocumentLinks {
    fn default() -> Self {
        Self::none()
    }
}

/// Bytes kept under a [`BlobKey`]: document content and logo renditions. Writers put the
/// bytes before the row that refers to them and delete them after that row is gone, so every
/// row's key has bytes behind it whatever crashes in between.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there. Durable when it returns.
    ///
    /// # Errors
    /// [`StoreError`] when the bytes could not be stored (nothing is then under `key`, or
    /// what was there before).
    async fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<(), StoreError>;

    /// The bytes under `key`, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes `key`; a missing key is not an error.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError>;

    /// Up to `limit` keys, in ascending key order, strictly after `after` (from the first
    /// key when `None`), whose bytes were written (created or last replaced) before
    /// `written_before`. Paging with the last key of a page visits every key once; the
    /// orphan sweep uses it to find bytes no row names.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn list<'a>(
        &self,
        after: Option<&'a BlobKey>,
        written_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BlobKey>, StoreError>;
}

/// Why an attach was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The customer already holds the most documents allowed.
    #[error("too many documents")]
    TooMany,
    /// The document or the customer does not exist (any more).
    #[error("no such document or customer")]
    Missing,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Document metadata and which customers carry each document.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Inserts a document's metadata. For an upload, its blob is already stored.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails (a UUID collision included).
    async fn insert(&self, document: &Document) -> Result<(), StoreError>;

    /// One document, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn get(&self, uuid: Uuid) -> Result<Option<Document>, StoreError>;

    /// Writes the metadata fields `change` names, and `updated_at` as `now`, in one statement
    /// (a concurrent change of other fields stays); the content never changes. Returns the
    /// document as written, or `None` when no document has the UUID.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn update(
        &self,
        uuid: Uuid,
        change: &MetadataChange,
        now: DateTime<Utc>,
    ) -> Result<Option<Document>, StoreError>;

    /// Attaches a document to a live customer, unless already attached (then it succeeds
    /// and changes nothing). The count check and the insert run in one transaction that
    /// serializes with other attaches to the same customer.
    ///
    /// # Errors
    /// [`AttachError::TooMany`] when the customer holds `max` documents already,
    /// [`AttachError::Missing`] when the document or the customer is gone.
    async fn attach(
        &self,
        customer: CustomerId,
        uuid: Uuid,
        max: u32,
        now: DateTime<Utc>,
    ) -> Result<(), AttachError>;

    /// Detaches a document from a customer at `now` (the time of its event). Returns `false`
    /// when it was not attached.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn detach(
        &self,
        customer: CustomerId,
        uuid: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The live customers a document is attached to.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn holders(&self, uuid: Uuid) -> Result<Vec<CustomerId>, StoreError>;

    /// The subset of `keys` some row names: a document's `blob_key` or `thumbnail_key`, or a
    /// rendition (`logos/{customer uuid}/{file}`, `file` being the original, `small_` or
    /// `medium_` one) of the logo a customer, live or archived, carries now. Keys of any
    /// other shape are not referenced. The orphan sweep deletes the keys left out.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails (never a partial answer: a key wrongly left out
    /// would have its bytes deleted).
    async fn referenced(&self, keys: &[BlobKey]) -> Result<Vec<BlobKey>, StoreError>;
}

/// Decodes and resizes images, off the async runtime (it is CPU work).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ImageRenderer: Send + Sync {
    /// Decodes `bytes` as `kind` and renders one copy per entry of `boxes`, each fitting a
    /// square of that many pixels (aspect kept, never enlarged), in the same format.
    /// The dimensions in the header are checked against `bounds` before any pixel is decoded.
    ///
    /// # Errors
    /// [`ImageError::TooManyPixels`] over `bounds`; [`ImageError::Undecodable`] for bytes
    /// that do not decode.
    async fn render(
        &self,
        bytes: &[u8],
        kind: ImageKind,
        bounds: ImageBounds,
        boxes: &[u32],
    ) -> Result<Vec<Vec<u8>>, ImageError>;
}
