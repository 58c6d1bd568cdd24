//! The document representation. A document is known by its UUID alone: it has no numeric
//! `id` and no `groupId`.
//!
//! Timestamps are epoch milliseconds. The URLs of uploaded content point at
//! this service (`/api/v1.0/documents/{uuid}/content`, `.../thumbnail`), relative like every
//! `href`; a link's URLs are the client's own.

use credence_domain::documents::{Document, DocumentContent};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::BASE;

/// A document's metadata.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDto {
    /// The document's id.
    #[schema(example = "8acac590-cc94-45aa-a237-18a9d268f431")]
    pub uuid: String,
    /// The thumbnail of an uploaded image, the client's thumbnail of a link, else `null`.
    #[schema(example = "/api/v1.0/documents/8acac590-cc94-45aa-a237-18a9d268f431/thumbnail")]
    pub thumb_url: Option<String>,
    /// Bytes of uploaded content; `null` for links.
    #[schema(example = 7911)]
    pub size: Option<u64>,
    /// Sniffed from the bytes for uploads; as given for links.
    #[schema(example = "image/jpeg")]
    pub mime_type: String,
    /// Last change of the metadata, epoch milliseconds.
    #[schema(example = 1_447_890_986_000_i64)]
    pub last_modified: i64,
    /// Where the content is: this service for uploads, the link's URL otherwise.
    #[schema(example = "/api/v1.0/documents/8acac590-cc94-45aa-a237-18a9d268f431/content")]
    pub content_url: String,
    /// Creation, epoch milliseconds.
    #[schema(example = 1_447_890_986_000_i64)]
    pub creation_time_stamp: i64,
    /// The user who uploaded or linked it, when a user did.
    pub creator_id: Option<i64>,
    /// Free description.
    pub description: Option<String>,
    /// The name offered on download.
    #[schema(example = "myimage.jpg")]
    pub file_name: String,
    /// For the organization's eyes, not the customer's.
    pub internal: bool,
}

impl From<&Document> for DocumentDto {
    fn from(d: &Document) -> Self {
        let own = |what: &str| format!("{BASE}/documents/{}/{what}", d.uuid);
        let (thumb_url, content_url) = match &d.content {
            DocumentContent::Stored { thumbnail, .. } => {
                (thumbnail.as_ref().map(|_| own("thumbnail")), own("content"))
            }
            DocumentContent::External { url, thumb_url } => (
                thumb_url.as_ref().map(|u| u.as_str().to_owned()),
                url.as_str().to_owned(),
            ),
        };
        Self {
            uuid: d.uuid.to_string(),
            thumb_url,
            size: d.size(),
            mime_type: d.mime_type.as_str().to_owned(),
            last_modified: d.updated_at.timestamp_millis(),
            content_url,
            creation_time_stamp: d.created_at.timestamp_millis(),
            creator_id: d.creator.map(|u| u.get()),
            description: d.description.as_ref().map(|t| t.as_str().to_owned()),
            file_name: d.file_name.as_str().to_owned(),
            internal: d.internal,
        }
    }
}

/// The answer to an upload: `{"success": true, "document": {...}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadDto {
    /// Always `true` (a boolean).
    pub success: bool,
    /// The stored document; keep its `uuid` to attach it.
    pub document: DocumentDto,
}
