//! Document use cases: upload, metadata, attach, detach, download.
//!
//! Who sees a document: an admin; the user who uploaded or linked it; and whoever reaches a
//! customer it is attached to, except that an internal document is not shown to the customer
//! it is about (`shows_internal`). Anyone else gets the same `404` as for a document that
//! does not exist, so UUIDs cannot be probed.

use std::sync::Arc;

use uuid::Uuid;

use crate::access::principal::{Principal, Role};
use crate::access::scope::{is_resellers_own, reaches, uses_back_office};
use crate::customers::{Customer, CustomerKey};
use crate::documents::logo::{IMAGE_BOUNDS, Upload};
use crate::documents::{
    BlobKey, Document, DocumentContent, DocumentLimits, DocumentRule, ExternalUrl, FileName,
    MetadataInput, MimeType,
};
use crate::ids::CustomerId;
use crate::input::InputError;
use crate::ports::{
    AttachError, BlobStore, Clock, CustomerRepository, DocumentStore, ImageRenderer, StoreError,
};

/// The box a document thumbnail fits in, in pixels.
pub const THUMBNAIL_BOX: u32 = 256;

/// How old bytes must be before the orphan sweep may remove them: far longer than any
/// request, so bytes written by an upload whose row is still to come are never swept.
pub const ORPHAN_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// The customer does not exist, or is outside the caller's scope: `404`.
    #[error("The customer with the id {0} doesn't exist.")]
    CustomerNotFound(CustomerKey),
    /// No document the caller may see has this UUID (or it is not attached, for a detach):
    /// `404`.
    #[error("The document with the id {0} doesn't exist.")]
    DocumentNotFound(Uuid),
    /// The upload is larger than the configured limit: `413`.
    #[error("The file cannot be larger than {max_bytes} bytes.")]
    TooLarge {
        /// The limit.
        max_bytes: u64,
    },
    /// The customer holds the most documents allowed: `400 invalid_param`.
    #[error("The customer cannot hold more than {max} documents.")]
    TooMany {
        /// The limit.
        max: u32,
    },
    /// An upload with no bytes, or bad metadata: `400`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A document's content, for a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The bytes, with the type and name to serve them under.
    Bytes {
        /// The content.
        bytes: Vec<u8>,
        /// Its sniffed type.
        mime_type: MimeType,
        /// The name to offer.
        file_name: FileName,
    },
    /// The document is a link: the client should go there.
    Elsewhere(ExternalUrl),
}

/// The ports files go through: document metadata, their bytes, and the image codec.
#[derive(Clone)]
pub struct Media {
    /// Document metadata and attachments.
    pub documents: Arc<dyn DocumentStore>,
    /// Bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Decoding and resizing.
    pub images: Arc<dyn ImageRenderer>,
    /// Size and count limits.
    pub limits: DocumentLimits,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Documents as the back office sees them.
#[derive(Clone)]
pub struct DocumentService {
    customers: Arc<dyn CustomerRepository>,
    media: Media,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DocumentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentService")
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}

impl DocumentService {
    /// Wires the service.
    #[must_use]
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        media: Media,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            customers,
            media,
            clock,
        }
    }

    /// The limits in force (the HTTP adapter bounds its reads by them).
    #[must_use]
    pub fn limits(&self) -> DocumentLimits {
        self.media.limits
    }

    /// Stores an upload (`POST /documents/content`): its type is sniffed from the bytes, an
    /// image gets a thumbnail when it decodes within bounds, and the bytes are written
    /// before the metadata row, so a crash in between leaves no row without bytes.
    ///
    /// # Errors
    /// [`DocumentError::TooLarge`] over the size limit; [`DocumentRule::EmptyFile`] for an
    /// empty file.
    pub async fn upload(
        &self,
        principal: &Principal,
        upload: Upload,
    ) -> Result<Document, DocumentError> {
        if !uses_back_office(principal) {
            return Err(DocumentError::Forbidden);
        }
        let max_bytes = self.media.limits.max_bytes;
        let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
        if size > max_bytes {
            return Err(DocumentError::TooLarge { max_bytes });
        }
        if size == 0 {
            return Err(InputError::from(DocumentRule::EmptyFile).into());
        }
        let uuid = Uuid::new_v4();
        let mime_type = MimeType::sniff(&upload.bytes);
        let blob = BlobKey::document(uuid);
        self.media.blobs.put(&blob, &upload.bytes).await?;
        let thumbnail = match self.thumbnail_of(uuid, &mime_type, &upload.bytes).await {
            Ok(thumbnail) => thumbnail,
            Err(e) => {
                self.forget(&[&blob]).await;
                return Err(e.into());
            }
        };
        let now = self.clock.now();
        let document = Document {
            uuid,
            file_name: FileName::or_default(upload.file_name.as_deref()),
            mime_type,
            description: None,
            internal: false,
            content: DocumentContent::Stored {
                blob: blob.clone(),
                size,
                thumbnail: thumbnail.clone(),
            },
            creator: principal.user_id(),
            created_at: now,
            updated_at: now,
        };
        // A failed insert may still have committed (a connection lost around `COMMIT`), so its
        // bytes are not deleted here: the orphan sweep removes them once no row names them.
        self.media.documents.insert(&document).await?;
        Ok(document)
    }

    /// One document's metadata.
    ///
    /// # Errors
    /// [`DocumentError::DocumentNotFound`] when the caller may not see it.
    pub async fn get(&self, principal: &Principal, uuid: Uuid) -> Result<Document, DocumentError> {
        self.visible(principal, uuid).await
    }

    /// Changes description, file name or the internal flag (`PUT /documents/{uuid}`).
    ///
    /// # Errors
    /// [`DocumentError::DocumentNotFound`]; `400` for bad metadata.
    pub async fn update(
        &self,
        principal: &Principal,
        uuid: Uuid,
        change: MetadataInput,
    ) -> Result<Document, DocumentError> {
        self.visible(principal, uuid).await?;
        let change = change.validate()?;
        self.media
            .documents
            .update(uuid, &change, self.clock.now())
            .await?
            .ok_or(DocumentError::DocumentNotFound(uuid))
    }

    /// The content (`GET /documents/{uuid}/content`).
    ///
    /// # Errors
    /// [`DocumentError::DocumentNotFound`]; [`StoreError`] when the bytes are gone.
    pub async fn content(
        &self,
        principal: &Principal,
        uuid: Uuid,
    ) -> Result<Content, DocumentError> {
        let document = self.visible(principal, uuid).await?;
        match document.content {
            DocumentContent::External { url, .. } => Ok(Content::Elsewhere(url)),
            DocumentContent::Stored { blob, .. } => Ok(Content::Bytes {
                bytes: self.bytes(&blob).await?,
                mime_type: document.mime_type,
                file_name: document.file_name,
            }),
        }
    }

    /// The thumbnail of an uploaded image (`GET /documents/{uuid}/thumbnail`).
    ///
    /// # Errors
    /// [`DocumentError::DocumentNotFound`] also when the document has no stored thumbnail.
    pub async fn thumbnail(
        &self,
        principal: &Principal,
        uuid: Uuid,
    ) -> Result<Content, DocumentError> {
        let document = self.visible(principal, uuid).await?;
        match document.content {
            DocumentContent::External {
                thumb_url: Some(url),
                ..
            } => Ok(Content::Elsewhere(url)),
            DocumentContent::Stored {
                thumbnail: Some(blob),
                ..
            } => Ok(Content::Bytes {
                bytes: self.bytes(&blob).await?,
                mime_type: document.mime_type,
                file_name: document.file_name,
            }),
            _ => Err(DocumentError::DocumentNotFound(uuid)),
        }
    }

    /// Attaches a document to a customer (`PUT /customers/{id}/documents/{uuid}`); attaching
    /// twice changes nothing.
    ///
    /// # Errors
    /// [`DocumentError::CustomerNotFound`], [`DocumentError::DocumentNotFound`],
    /// [`DocumentError::TooMany`].
    pub async fn attach(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        uuid: Uuid,
    ) -> Result<(), DocumentError> {
        let customer = self.owner(principal, key).await?;
        self.visible(principal, uuid).await?;
        let max = self.media.limits.max_per_customer;
        match self
            .media
            .documents
            .attach(customer.id, uuid, max, self.clock.now())
            .await
        {
            Ok(()) => Ok(()),
            Err(AttachError::TooMany) => Err(DocumentError::TooMany { max }),
            Err(AttachError::Missing) => Err(DocumentError::DocumentNotFound(uuid)),
            Err(AttachError::Store(e)) => Err(e.into()),
        }
    }

    /// Detaches a document from a customer (`DELETE /customers/{id}/documents/{uuid}`). The
    /// document itself stays (another customer may carry it).
    ///
    /// # Errors
    /// [`DocumentError::DocumentNotFound`] when it was not attached.
    pub async fn detach(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        uuid: Uuid,
    ) -> Result<(), DocumentError> {
        let customer = self.owner(principal, key).await?;
        self.visible(principal, uuid).await?;
        if self
            .media
            .documents
            .detach(customer.id, uuid, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(DocumentError::DocumentNotFound(uuid))
        }
    }

    /// Removes bytes no row refers to (decision 0012: a crash between the bytes and their
    /// row, or between a row's removal and its bytes', leaves such garbage). One call looks
    /// at one page: up to `limit` keys after `cursor`, written before now minus
    /// [`ORPHAN_GRACE`], and deletes those [`DocumentStore::referenced`] leaves out.
    ///
    /// A system task, not a use case: it takes no [`Principal`], and nothing a client sends
    /// reaches it. Returns how many keys were deleted and the cursor for the next call: the
    /// last key listed, or `None` once a page comes back short (the pass is over; the next
    /// call starts from the first key).
    ///
    /// # Errors
    /// [`StoreError`] when listing, the reference check or a delete fails; keys already
    /// deleted stay deleted, and the same page can simply be swept again.
    pub async fn sweep_orphans(
        &self,
        cursor: Option<BlobKey>,
        limit: u32,
    ) -> Result<(u64, Option<BlobKey>), StoreError> {
        let written_before = self.clock.now() - ORPHAN_GRACE;
        let keys = self
            .media
            .blobs
            .list(cursor.as_ref(), written_before, limit)
            .await?;
        let next = if keys.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
            None
        } else {
            keys.last().cloned()
        };
        if keys.is_empty() {
            return Ok((0, next));
        }
        let referenced: std::collections::HashSet<BlobKey> = self
            .media
            .documents
            .referenced(&keys)
            .await?
            .into_iter()
            .collect();
        let mut deleted = 0;
        for key in keys.iter().filter(|k| !referenced.contains(*k)) {
            self.media.blobs.delete(key).await?;
            deleted += 1;
        }
        Ok((deleted, next))
    }

    async fn owner(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Customer, DocumentError> {
        if !uses_back_office(principal) {
            return Err(DocumentError::Forbidden);
        }
        let not_found = || DocumentError::CustomerNotFound(key.clone());
        let customer = self.customers.get(key).await?.ok_or_else(not_found)?;
        if reaches(self.customers.as_ref(), principal, customer.id).await? {
            Ok(customer)
        } else {
            Err(not_found())
        }
    }

    /// The document, if the caller may see it; every use case but upload starts here, so the
    /// back-office check lives here too.
    async fn visible(&self, principal: &Principal, uuid: Uuid) -> Result<Document, DocumentError> {
        if !uses_back_office(principal) {
            return Err(DocumentError::Forbidden);
        }
        let document = self
            .media
            .documents
            .get(uuid)
            .await?
            .ok_or(DocumentError::DocumentNotFound(uuid))?;
        if may_see(
            self.customers.as_ref(),
            self.media.documents.as_ref(),
            principal,
            &document,
        )
        .await?
        {
            Ok(document)
        } else {
            Err(DocumentError::DocumentNotFound(uuid))
        }
    }

    async fn bytes(&self, blob: &BlobKey) -> Result<Vec<u8>, StoreError> {
        self.media.blobs.get(blob).await?.ok_or_else(|| {
            StoreError::Unexpected(format!("the bytes of {} are missing", blob.as_str()).into())
        })
    }

    /// Renders and stores the thumbnail of an image upload; `None` for other files and for
    /// images that do not decode within bounds (the upload is still a valid document).
    async fn thumbnail_of(
        &self,
        uuid: Uuid,
        mime_type: &MimeType,
        bytes: &[u8],
    ) -> Result<Option<BlobKey>, StoreError> {
        let Some(kind) = mime_type.image_kind() else {
            return Ok(None);
        };
        let Ok(mut rendered) = self
            .media
            .images
            .render(bytes, kind, IMAGE_BOUNDS, &[THUMBNAIL_BOX])
            .await
        else {
            return Ok(None);
        };
        let Some(thumb) = rendered.pop() else {
            return Ok(None);
        };
        let key = BlobKey::thumbnail(uuid);
        self.media.blobs.put(&key, &thumb).await?;
        Ok(Some(key))
    }

    /// Best-effort removal of bytes no row will point to; a failure leaves garbage, never a
    /// dangling row.
    async fn forget(&self, keys: &[&BlobKey]) {
        for key in keys {
            let _ = self.media.blobs.delete(key).await;
        }
    }
}

/// Whether `principal` may see `document`: admins always; the user who created it; and
/// whoever reaches one of the customers it is attached to, an internal document only through
/// a customer whose internal documents it is shown.
///
/// # Errors
/// [`StoreError`] when the holders or the hierarchy cannot be read.
pub(crate) async fn may_see(
    customers: &dyn CustomerRepository,
    documents: &dyn DocumentStore,
    principal: &Principal,
    document: &Document,
) -> Result<bool, StoreError> {
    if principal.is_admin() || created_by(principal, document) {
        return Ok(true);
    }
    for holder in documents.holders(document.uuid).await? {
        if (!document.internal || shows_internal(principal, holder))
            && reaches(customers, principal, holder).await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `principal` is shown the internal documents of `customer` (when it reaches it).
/// An internal document is the organization's note about a customer, not for that customer's
/// eyes: a customer's key never sees them, and neither does a reseller on its own customer,
/// which is the operator's customer (decision 0046); below it, the reseller is the
/// organization and sees the internal documents of the customers it sells to.
pub(crate) fn shows_internal(principal: &Principal, customer: CustomerId) -> bool {
    match principal.role() {
        Role::Admin => true,
        Role::Reseller => !is_resellers_own(principal, customer),
        Role::Customer => false,
    }
}

/// Takes out of `customer` the internal documents `principal` is not shown. A reseller keeps
/// those it created itself (its own notes, which it may open by the document routes too); a
/// customer's key keeps none.
pub(crate) fn hide_internal(principal: &Principal, customer: &mut Customer) {
    if !shows_internal(principal, customer.id) {
        let own_notes = principal.role() != Role::Customer;
        customer
            .documents
            .retain(|d| !d.internal || (own_notes && created_by(principal, d)));
    }
}

fn created_by(principal: &Principal, document: &Document) -> bool {
    document.creator.is_some() && document.creator == principal.user_id()
}
