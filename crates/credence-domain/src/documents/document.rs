//! Documents: files uploaded to the service, or links to files kept elsewhere, that
//! customers carry. A document is metadata; an uploaded one's bytes live in the
//! [`crate::ports::BlobStore`] under [`BlobKey::document`], written *before* the metadata row,
//! so a crash between the two leaves at worst unreferenced bytes, never a row without bytes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::field::Field;
use crate::ids::UserId;
use crate::input::{InputError, flag};
use crate::values::{FreeText, TextError};

/// A rule of documents that a request breaks, in a document's own metadata, in an entry of a
/// customer's list of documents (a link), or in an upload. The domain names the rule; the
/// HTTP adapter words it with the API's field names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentRule {
    /// A document's description that is too long.
    #[error("description: {0}")]
    Description(TextError),
    /// A document's file name that is no file name (null counts as blank).
    #[error("file name: {0}")]
    FileName(FileNameError),
    /// A document's `internal` flag that is no boolean.
    #[error("the internal flag is no boolean")]
    Internal,
    /// A link's `uuid` that is no UUID (the text as given).
    #[error("{0} is not a UUID")]
    LinkUuid(String),
    /// A link with neither the `uuid` of an upload nor the URL of its content.
    #[error("a link needs a document or a content URL")]
    LinkWithoutTarget,
    /// A link's content URL that is no absolute http(s) URL.
    #[error("a link's content URL is not an absolute http or https URL")]
    LinkContentUrl,
    /// A link's thumbnail URL that is no absolute http(s) URL.
    #[error("a link's thumbnail URL is not an absolute http or https URL")]
    LinkThumbUrl,
    /// A link's media type that is no `type/subtype`.
    #[error("a link's media type is not one")]
    LinkMimeType,
    /// A link's file name that is no file name.
    #[error("linked document's file name: {0}")]
    LinkFileName(FileNameError),
    /// The description of a linked document that is too long.
    #[error("linked document's description: {0}")]
    LinkDescription(TextError),
    /// A link's `internal` flag that is no boolean.
    #[error("a link's internal flag is no boolean")]
    LinkInternal,
    /// An upload of no bytes.
    #[error("the file is empty")]
    EmptyFile,
    /// A logo of more pixels than [`crate::documents::logo::IMAGE_BOUNDS`] allows.
    #[error("the image is {width}x{height} pixels, more than accepted")]
    ImagePixels {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
    },
}

/// Why a file name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    /// Empty, or only whitespace.
    #[error("a file name cannot be blank")]
    Blank,
    /// Longer than [`FileName::MAX`] characters.
    #[error("a file name cannot be longer than {} characters", FileName::MAX)]
    TooLong,
    /// A control character, a quote or a slash.
    #[error("a file name cannot contain control characters, quotes or slashes")]
    Unsafe,
}

/// A text that is no absolute `http` or `https` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an absolute http or https URL")]
pub struct UrlError;

/// A text that is no media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a media type")]
pub struct MimeTypeError;

impl From<DocumentRule> for InputError {
    fn from(rule: DocumentRule) -> Self {
        Self::Document(rule)
    }
}

/// The name under which a blob is stored: a relative path of safe characters. Built only by
/// the constructors below, so adapters may use it as a file path or a primary key as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// The bytes of an uploaded document.
    #[must_use]
    pub fn document(uuid: Uuid) -> Self {
        Self(format!("documents/{uuid}"))
    }

    /// The thumbnail of an uploaded image document.
    #[must_use]
    pub fn thumbnail(uuid: Uuid) -> Self {
        Self(format!("documents/{uuid}.thumb"))
    }

    /// One rendition of a customer's logo.
    #[must_use]
    pub fn logo(customer: Uuid, file: &crate::documents::logo::LogoFile) -> Self {
        Self(format!("logos/{customer}/{}", file.as_str()))
    }

    /// Rebuilds a stored key without checks (adapters only).
    #[must_use]
    pub fn from_trusted(key: String) -> Self {
        Self(key)
    }

    /// The key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file name as the client gave it: non-blank, at most 255 characters, no path separators or
/// control characters (it ends up in `Content-Disposition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// The longest accepted name, in characters.
    pub const MAX: usize = 255;

    /// Validates a name.
    ///
    /// # Errors
    /// [`FileNameError`] for a blank, long or unsafe name.
    pub fn new(text: &str) -> Result<Self, FileNameError> {
        let name = text.trim();
        if name.is_empty() {
            return Err(FileNameError::Blank);
        }
        if name.chars().count() > Self::MAX {
            return Err(FileNameError::TooLong);
        }
        if name
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
        {
            return Err(FileNameError::Unsafe);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name of an upload whose client sent none, or one that is not acceptable: the
    /// uploaded file is still kept, under a neutral name.
    #[must_use]
    pub fn or_default(text: Option<&str>) -> Self {
        text.and_then(|t| Self::new(t).ok())
            .unwrap_or_else(|| Self("upload".to_owned()))
    }

    /// Rebuilds a stored value without checks (adapters only).
    #[must_use]
    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A media type, `type/subtype`, lower case, at most 127 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType(String);

impl MimeType {
    /// What bytes that no signature matches are served as.
    pub const OCTET_STREAM: &'static str = "application/octet-stream";

    /// Validates a client-given type (for external links).
    ///
    /// # Errors
    /// [`MimeTypeError`] when it is not `type/subtype` of token characters.
    pub fn new(text: &str) -> Result<Self, MimeTypeError> {
        let lower = text.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
        };
        match lower.split_once('/') {
            Some((kind, sub)) if lower.len() <= 127 && token(kind) && token(sub) => Ok(Self(lower)),
            _ => Err(MimeTypeError),
        }
    }

    /// The type of some bytes, from their first bytes alone: what a client claims is never
    /// trusted, so an upload named `x.pdf` holding a PNG is served as `image/png`.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Self {
        Self(sniffed(bytes).to_owned())
    }

    /// Rebuilds a stored value without checks (adapters only).
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// The type.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is one of the image formats the service can decode and thumbnail.
    #[must_use]
    pub fn image_kind(&self) -> Option<crate::documents::logo::ImageKind> {
        crate::documents::logo::ImageKind::from_mime(&self.0)
    }
}

/// Signatures of the formats a customer file is likely to be in, most specific first.
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", "application/zip"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "application/x-ole-storage",
    ),
    (b"\x1f\x8b", "application/gzip"),
    (b"{\\rtf", "application/rtf"),
];

fn sniffed(bytes: &[u8]) -> &'static str {
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return "image/webp";
    }
    if let Some((_, mime)) = SIGNATURES
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
    {
        // "BM" is two common letters: a bitmap also declares its own file size right after.
        if *mime != "image/bmp" || looks_like_bmp(bytes) {
            return mime;
        }
    }
    if !bytes.is_empty() && std::str::from_utf8(bytes).is_ok_and(|t| !t.contains('\0')) {
        return "text/plain";
    }
    MimeType::OCTET_STREAM
}

fn looks_like_bmp(bytes: &[u8]) -> bool {
    bytes.len() >= 26
        && bytes
            .get(2..6)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .is_some_and(|size| u32::from_le_bytes(size) as usize == bytes.len())
}

/// An `http(s)` URL of a document kept elsewhere (an external link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUrl(String);

impl ExternalUrl {
    /// The longest accepted URL.
    pub const MAX: usize = 2000;

    /// Validates an absolute `http` or `https` URL with a host and no whitespace.
    ///
    /// # Errors
    /// [`UrlError`] otherwise.
    pub fn new(text: &str) -> Result<Self, UrlError> {
        let url = text.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let host_ok = rest.is_some_and(|r| {
            r.split(['/', '?', '#'])
                .next()
                .is_some_and(|host| !host.is_empty())
        });
        if !host_ok
            || url.len() > Self::MAX
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(UrlError);
        }
        Ok(Self(url.to_owned()))
    }

    /// Rebuilds a stored value without checks (adapters only).
    #[must_use]
    pub fn from_trusted(url: String) -> Self {
        Self(url)
    }

    /// The URL.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a document's content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentContent {
    /// Uploaded: the bytes are in the blob store; `thumbnail` is set for images the service
    /// could render.
    Stored {
        /// The bytes.
        blob: BlobKey,
        /// Their length.
        size: u64,
        /// A small rendition, for images.
        thumbnail: Option<BlobKey>,
    },
    /// Linked: the content is at a URL the service never fetches.
    External {
        /// The content.
        url: ExternalUrl,
        /// A thumbnail the client chose, if any.
        thumb_url: Option<ExternalUrl>,
    },
}

/// A document's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Public id.
    pub uuid: Uuid,
    /// Name shown and offered on download.
    pub file_name: FileName,
    /// Sniffed from the bytes for uploads; as given for links.
    pub mime_type: MimeType,
    /// Free description.
    pub description: Option<FreeText>,
    /// The `internal` flag: for the organization's eyes, not the customer's.
    pub internal: bool,
    /// Where the content is.
    pub content: DocumentContent,
    /// Who uploaded or linked it, when a user did.
    pub creator: Option<UserId>,
    /// When it was created (UTC, whole seconds).
    pub created_at: DateTime<Utc>,
    /// When its metadata last changed.
    pub updated_at: DateTime<Utc>,
}

impl Document {
    /// The byte size of uploaded content; `None` for links.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        match &self.content {
            DocumentContent::Stored { size, .. } => Some(*size),
            DocumentContent::External { .. } => None,
        }
    }
}

/// How large and how many documents the service accepts (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// The largest upload, in bytes.
    pub max_bytes: u64,
    /// The most documents attached to one customer.
    pub max_per_customer: u32,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_per_customer: 100,
        }
    }
}

/// A client's change to a document's metadata (`PUT /documents/{uuid}`): each field as text,
/// absent when not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataInput {
    /// `description`; null or blank clears it.
    pub description: Field<String>,
    /// `fileName`.
    pub file_name: Field<String>,
    /// `internal`.
    pub internal: Field<String>,
}

impl MetadataInput {
    /// The checked change. The service calls it once it has found the document, so a
    /// missing document is `404` whatever the change holds.
    ///
    /// # Errors
    /// A [`DocumentRule`] for a blank or unsafe file name, a long description, or an
    /// `internal` that is not a boolean.
    pub fn validate(self) -> Result<MetadataChange, InputError> {
        let description = match self.description {
            Field::Value(text) => {
                Some(FreeText::new(&text, FreeText::LONG).map_err(DocumentRule::Description)?)
            }
            Field::Null => Some(None),
            Field::Absent => None,
        };
        let file_name = match self.file_name {
            Field::Value(name) => Some(FileName::new(&name).map_err(DocumentRule::FileName)?),
            Field::Null => return Err(DocumentRule::FileName(FileNameError::Blank).into()),
            Field::Absent => None,
        };
        let internal = match self.internal {
            Field::Value(text) => Some(flag(&text).ok_or(DocumentRule::Internal)?),
            Field::Null => Some(false),
            Field::Absent => None,
        };
        Ok(MetadataChange {
            file_name,
            description,
            internal,
        })
    }
}

/// A checked change to a document's metadata: each field it names (`Some`), and only those,
/// is written, so that two changes of different fields made at once both stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataChange {
    /// The new file name.
    pub file_name: Option<FileName>,
    /// The new description (`Some(None)` clears it).
    pub description: Option<Option<FreeText>>,
    /// The new `internal` flag.
    pub internal: Option<bool>,
}

/// One entry of a customer's `documents` list on a write: a link to a file kept
/// elsewhere (`contentUrl`), or the `uuid` of a document uploaded before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentLinkInput {
    /// An uploaded document to attach.
    pub uuid: Option<String>,
    /// The external content.
    pub content_url: Option<String>,
    /// Its type, for the icon (`application/octet-stream` when not given).
    pub mime_type: Option<String>,
    /// Its name (the last segment of the URL when not given).
    pub file_name: Option<String>,
    /// Free description.
    pub description: Option<String>,
    /// A thumbnail URL of the client's choosing.
    pub thumb_url: Option<String>,
    /// The `internal` flag.
    pub internal: Option<String>,
}

/// A validated `documents` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentLink {
    /// Attach this uploaded document.
    Existing(Uuid),
    /// Create this external document and attach it.
    External(ExternalLink),
}

/// A validated external link, before it becomes a [`Document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLink {
    /// Content URL.
    pub url: ExternalUrl,
    /// Thumbnail URL.
    pub thumb_url: Option<ExternalUrl>,
    /// Media type.
    pub mime_type: MimeType,
    /// File name.
    pub file_name: FileName,
    /// Description.
    pub description: Option<FreeText>,
    /// `internal`.
    pub internal: bool,
}

impl ExternalLink {
    /// The document it becomes.
    #[must_use]
    pub fn into_document(
        self,
        uuid: Uuid,
        creator: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Document {
        Document {
            uuid,
            file_name: self.file_name,
            mime_type: self.mime_type,
            description: self.description,
            internal: self.internal,
            content: DocumentContent::External {
                url: self.url,
                thumb_url: self.thumb_url,
            },
            creator,
            created_at: now,
            updated_at: now,
        }
    }
}

impl DocumentLinkInput {
    /// Validates the entry.
    ///
    /// # Errors
    /// A [`DocumentRule`] for an entry with neither a valid `uuid` nor a valid content URL,
    /// or with a bad field.
    pub fn validate(self) -> Result<DocumentLink, InputError> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|t| !t.is_empty())
        }
        if let Some(uuid) = given(&self.uuid) {
            return Uuid::parse_str(uuid)
                .map(DocumentLink::Existing)
                .map_err(|_| DocumentRule::LinkUuid(uuid.to_owned()).into());
        }
        let Some(url) = given(&self.content_url) else {
            return Err(DocumentRule::LinkWithoutTarget.into());
        };
        let url = ExternalUrl::new(url).map_err(|_| DocumentRule::LinkContentUrl)?;
        let file_name = match given(&self.file_name) {
            Some(name) => FileName::new(name).map_err(DocumentRule::LinkFileName)?,
            None => FileName::or_default(
                url.as_str()
                    .split(['?', '#'])
                    .next()
                    .and_then(|path| path.rsplit('/').next()),
            ),
        };
        Ok(DocumentLink::External(ExternalLink {
            thumb_url: given(&self.thumb_url)
                .map(ExternalUrl::new)
                .transpose()
                .map_err(|_| DocumentRule::LinkThumbUrl)?,
            mime_type: given(&self.mime_type).map_or_else(
                || Ok(MimeType(MimeType::OCTET_STREAM.to_owned())),
                |m| MimeType::new(m).map_err(|_| DocumentRule::LinkMimeType),
            )?,
            file_name,
            description: given(&self.description)
                .map(|d| FreeText::new(d, FreeText::LONG))
                .transpose()
                .map_err(DocumentRule::LinkDescription)?
                .flatten(),
            internal: given(&self.internal)
                .map(|i| flag(i).ok_or(DocumentRule::LinkInternal))
                .transpose()?
                .unwrap_or(false),
            url,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_trusts_bytes_not_names() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(MimeType::sniff(png).as_str(), "image/png");
        assert_eq!(MimeType::sniff(b"%PDF-1.7\n").as_str(), "application/pdf");
        assert_eq!(MimeType::sniff(b"\xff\xd8\xff\xe0").as_str(), "image/jpeg");
        assert_eq!(MimeType::sniff(b"GIF89a..").as_str(), "image/gif");
        assert_eq!(MimeType::sniff(b"hello, world").as_str(), "text/plain");
        assert_eq!(MimeType::sniff(b"BMW is a car").as_str(), "text/plain");
        assert_eq!(
            MimeType::sniff(b"\0\x01\x02\xff").as_str(),
            MimeType::OCTET_STREAM
        );
        let mut bmp = vec![b'B', b'M'];
        bmp.extend_from_slice(&30_u32.to_le_bytes());
        bmp.resize(30, 0);
        assert_eq!(MimeType::sniff(&bmp).as_str(), "image/bmp");
    }

    #[test]
    fn file_names_refuse_paths_and_blanks() {
        assert!(FileName::new(" report.pdf ").is_ok());
        assert!(FileName::new("../etc/passwd").is_err());
        assert!(FileName::new("a\\b").is_err());
        assert!(FileName::new("  ").is_err());
        assert!(FileName::new(&"x".repeat(256)).is_err());
    }

    #[test]
    fn external_links_need_an_http_url() {
        let link = DocumentLinkInput {
            content_url: Some("http://www.cbu.edu.zm/downloads/pdf-sample.pdf".into()),
            mime_type: Some("application/pdf".into()),
            ..DocumentLinkInput::default()
        }
        .validate()
        .unwrap();
        let DocumentLink::External(link) = link else {
            panic!("expected an external link")
        };
        assert_eq!(link.file_name.as_str(), "pdf-sample.pdf");
        assert_eq!(link.mime_type.as_str(), "application/pdf");
        for bad in ["ftp://x/y", "javascript:alert(1)", "http://", "http://a b"] {
            let input = DocumentLinkInput {
                content_url: Some(bad.into()),
                ..DocumentLinkInput::default()
            };
            assert!(input.validate().is_err(), "{bad} was accepted");
        }
        assert!(DocumentLinkInput::default().validate().is_err());
        let by_uuid = DocumentLinkInput {
            uuid: Some("8acac590-cc94-45aa-a237-18a9d268f431".into()),
            ..DocumentLinkInput::default()
        };
        assert!(matches!(by_uuid.validate(), Ok(DocumentLink::Existing(_))));
    }

    #[test]
    fn metadata_changes_only_what_was_sent() {
        let changed = MetadataInput {
            description: Field::Value("Top secret map to customer site".into()),
            internal: Field::Value("true".into()),
            ..MetadataInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(changed.file_name, None);
        assert_eq!(changed.internal, Some(true));
        assert_eq!(
            changed
                .description
                .map(|d| d.map(|d| d.as_str().to_owned())),
            Some(Some("Top secret map to customer site".into()))
        );
        let cleared = MetadataInput {
            description: Field::Null,
            internal: Field::Null,
            ..MetadataInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(
            (cleared.description, cleared.internal),
            (Some(None), Some(false))
        );
        let bad = MetadataInput {
            internal: Field::Value("maybe".into()),
            ..MetadataInput::default()
        };
        assert_eq!(bad.validate(), Err(DocumentRule::Internal.into()));
        let nameless = MetadataInput {
            file_name: Field::Null,
            ..MetadataInput::default()
        };
        assert!(nameless.validate().is_err());
    }
}
