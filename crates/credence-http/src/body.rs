//! The one request-body extractor: JSON, `application/x-www-form-urlencoded` and
//! `multipart/form-data` are all read into the same [`BodyFields`], a list of wire names
//! with their raw values. The body readers ([`crate::input`] and each capability's own) then
//! build the domain's inputs from it, so the three encodings cannot drift apart.
//!
//! Scalars stay text (a JSON number keeps its literal thanks to `arbitrary_precision`), JSON
//! `null` is kept apart from the empty string, and JSON arrays and objects are kept as JSON
//! for the few fields that are structured (`paymentTypes`, `contacts`). Every failure is an
//! [`ApiError`] in the API's error shape: `413` over the limit, `415` for another content type,
//! `400 invalid_param` for a body that does not parse.
//!
//! Multipart file parts are kept beside the fields, as [`Upload`]s. Each is read against its
//! own bound and refused as soon as it crosses it, so no more than the bound plus one chunk is
//! ever buffered: `imageFile` (a customer logo) at 2 MB with `400 exceeded_file_size`, `file`
//! (a document) at the configured document limit with `413`, any other file at
//! [`FILE_LIMIT`] with `413`. A multipart body as a whole is bounded by [`multipart_cap`],
//! checked on the declared `Content-Length` and while reading.
//!
//! Input is strict (see [`crate::strict`]): a JSON object naming a member twice, a form or a
//! multipart text field that is not strictly percent-encoded UTF-8, and any text holding a
//! character XML cannot carry are `400 invalid_param` naming the field.
//!
//! A route may declare, with [`Requires`] in its app data, the [`Function`] its bodies are
//! for: the extractor then authenticates the caller and checks its role before it reads a
//! byte, so a caller who may not use the function gets `403` whatever the body holds
//! (authorization before validation). The services check again; this only makes the answer
//! independent of the body.
//!
//! The extractor also keeps a SHA-256 digest of the body ([`BodyDigest`]) for the
//! `Idempotency-Key` fingerprint: of the raw bytes for JSON and forms, and of the parsed
//! fields and files for multipart, whose random boundary would make every retry look like a
//! new body.

use actix_multipart::{Multipart, MultipartError};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, mime};
use credence_domain::Principal;
use credence_domain::access::scope::Function;
use credence_domain::documents::logo::{MAX_LOGO_BYTES, Upload};
use credence_domain::input::InputError;
use credence_domain::services::DocumentError;
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::strict;

/// App data of a scope or resource: the [`Function`] its request bodies are for (the most
/// specific registration wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Requires(pub(crate) Function);

/// The caller of a request: the one an authentication middleware already left in the
/// request's extensions, else authenticated here.
fn caller_of(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    let known = {
        let extensions = req.extensions();
        extensions.get::<Caller>().cloned().or_else(|| {
            extensions
                .get::<Principal>()
                .cloned()
                .map(|principal| Caller { principal })
        })
    };
    match known {
        Some(caller) => Box::pin(std::future::ready(Ok(caller))),
        None => Caller::extract(req),
    }
}

/// Refuses a caller whose role may not use `function`: for the handlers that validate
/// something other than a body (a query string) before they reach the service.
///
/// # Errors
/// `403 forbidden`.
pub(crate) fn authorize(caller: &Caller, function: Function) -> Result<(), ApiError> {
    if function.admits(&caller.principal) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Largest file accepted in a multipart part that is neither `imageFile` nor `file`.
pub(crate) const FILE_LIMIT: usize = 2 * 1024 * 1024;

/// The multipart part holding a customer's logo.
pub(crate) const IMAGE_PART: &str = "imageFile";

/// The multipart part holding a document's content.
pub(crate) const DOCUMENT_PART: &str = "file";

/// Room for a multipart body's boundaries and part headers.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The largest multipart body read at all: the text limit, the largest file limit and room
/// for the framing. Larger is `413` before a byte is read when declared, and while reading
/// when not.
fn multipart_cap(text_limit: usize, document_limit: usize) -> usize {
    text_limit
        .saturating_add(document_limit.max(MAX_LOGO_BYTES).max(FILE_LIMIT))
        .saturating_add(MULTIPART_OVERHEAD)
}

/// One field's raw value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawField {
    /// JSON `null`.
    Null,
    /// A scalar, as text (form values, JSON strings, numbers and booleans).
    Text(String),
    /// A JSON array or object.
    Json(Value),
}

/// The fields of a request body, in the order sent, and the files of a multipart body.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BodyFields {
    entries: Vec<(String, RawField)>,
    files: Vec<(String, Upload)>,
}

impl BodyFields {
    /// Builds from pairs.
    pub(crate) fn new(entries: Vec<(String, RawField)>) -> Self {
        Self {
            entries,
            files: Vec::new(),
        }
    }

    /// A form body of text fields (tests build bodies with it).
    #[cfg(test)]
    pub(crate) fn from_text(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), RawField::Text((*v).to_owned())))
                .collect(),
        )
    }

    /// Adds a file part (tests build multipart bodies with it).
    #[cfg(test)]
    pub(crate) fn with_file(mut self, name: &str, upload: Upload) -> Self {
        self.files.push((name.to_owned(), upload));
        self
    }

    /// Takes the last file sent in the part `name` out of the body (a document may be large:
    /// it is moved, not copied).
    pub(crate) fn take_file(&mut self, name: &str) -> Option<Upload> {
        let index = self.files.iter().rposition(|(k, _)| k == name)?;
        Some(self.files.swap_remove(index).1)
    }

    /// The last value sent for `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&RawField> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The fields as one JSON object (the last value of a repeated key wins): scalars as
    /// strings, structured values as sent. For the bodies that are nested documents
    /// (products, task templates, tasks).
    pub(crate) fn to_object(&self) -> serde_json::Map<String, Value> {
        self.entries
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    RawField::Null => Value::Null,
                    RawField::Text(text) => Value::String(text.clone()),
                    RawField::Json(json) => json.clone(),
                };
                (k.clone(), value)
            })
            .collect()
    }

    /// Every value sent for `name`, in order (forms may repeat a key).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RawField> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// The SHA-256 of a request body, in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyDigest(String);

impl BodyDigest {
    fn of(bytes: &[u8]) -> Self {
        Self::hex(&Sha256::digest(bytes))
    }

    /// Of the fields of a multipart body: each name and value, then each file's part name,
    /// file name and bytes, every item length-prefixed (files behind a marker no field name
    /// can spell, so a file never digests like a field).
    fn of_fields(fields: &BodyFields) -> Self {
        let mut hasher = Sha256::new();
        let mut item = |bytes: &[u8]| {
            hasher.update(bytes.len().to_be_bytes());
            hasher.update(bytes);
        };
        for (name, value) in &fields.entries {
            let value = match value {
                RawField::Text(text) => text.clone(),
                RawField::Null => String::new(),
                RawField::Json(json) => json.to_string(),
            };
            item(name.as_bytes());
            item(value.as_bytes());
        }
        for (name, upload) in &fields.files {
            item(b"\0file");
            item(name.as_bytes());
            item(upload.file_name.as_deref().unwrap_or_default().as_bytes());
            item(&upload.bytes);
        }
        Self::hex(&hasher.finalize())
    }

    fn hex(digest: &[u8]) -> Self {
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The hex text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The extractor: the fields, and the digest of the body they came from.
#[derive(Debug)]
pub(crate) struct Body(pub(crate) BodyFields, pub(crate) BodyDigest);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Form,
    Multipart,
    None,
}

impl FromRequest for Body {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>();
        let limit = state.map_or_else(
            || crate::HttpConfig::default().body_limit,
            |s| s.config.body_limit,
        );
        let limits = Limits {
            text: limit,
            document: state.map_or(FILE_LIMIT, |s| {
                usize::try_from(s.services.documents.limits().max_bytes).unwrap_or(usize::MAX)
            }),
        };
        let kind = content_kind(req.headers());
        let declared = declared_length(req.headers());
        let headers = req.headers().clone();
        let payload = payload.take();
        let gate = req
            .app_data::<Requires>()
            .map(|Requires(function)| (*function, caller_of(req)));
        Box::pin(async move {
            if let Some((function, caller)) = gate {
                authorize(&caller.await?, function)?;
            }
            let kind = kind?;
            let cap = match kind {
                Kind::Multipart => limits.cap(),
                _ => limit,
            };
            if declared.is_some_and(|len| len > cap) {
                return Err(ApiError::payload_too_large(cap));
            }
            let (fields, digest) = match kind {
                Kind::Json => {
                    let bytes = read_limited(payload, limit).await?;
                    (json_fields(&bytes)?, BodyDigest::of(&bytes))
                }
                Kind::Form => {
                    let bytes = read_limited(payload, limit).await?;
                    (form_fields(&bytes)?, BodyDigest::of(&bytes))
                }
                Kind::Multipart => {
                    let fields = multipart_fields(&headers, payload, limits).await?;
                    let digest = BodyDigest::of_fields(&fields);
                    (fields, digest)
                }
                Kind::None => {
                    let bytes = read_limited(payload, limit).await?;
                    if !bytes.is_empty() {
                        return Err(ApiError::unsupported_media_type("(none)"));
                    }
                    (BodyFields::default(), BodyDigest::of(&bytes))
                }
            };
            Ok(Self(fields, digest))
        })
    }
}

fn content_kind(headers: &HeaderMap) -> Result<Kind, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Kind::None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unsupported_media_type("(unreadable)"))?;
    let parsed: mime::Mime = text
        .parse()
        .map_err(|_| ApiError::unsupported_media_type(text))?;
    let (kind, sub) = (parsed.type_(), parsed.subtype());
    if kind == mime::APPLICATION && (sub == mime::JSON || parsed.suffix() == Some(mime::JSON)) {
        Ok(Kind::Json)
    } else if kind == mime::APPLICATION && sub == mime::WWW_FORM_URLENCODED {
        Ok(Kind::Form)
    } else if kind == mime::MULTIPART && sub == mime::FORM_DATA {
        Ok(Kind::Multipart)
    } else {
        Err(ApiError::unsupported_media_type(parsed.essence_str()))
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn unreadable(error: &PayloadError) -> ApiError {
    ApiError::invalid_param(format!("The request body could not be read: {error}."))
}

async fn read_limited(mut payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => ApiError::payload_too_large(limit),
            e => unreadable(&e),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads a JSON object (strictly: see [`strict::json`]); its members become fields.
fn json_fields(bytes: &[u8]) -> Result<BodyFields, ApiError> {
    let value = strict::json(bytes)?;
    let Value::Object(map) = value else {
        return Err(ApiError::invalid_param(
            "The request body must be a JSON object.",
        ));
    };
    Ok(BodyFields::new(
        map.into_iter().map(|(k, v)| (k, from_json(v))).collect(),
    ))
}

pub(crate) fn from_json(value: Value) -> RawField {
    match value {
        Value::Null => RawField::Null,
        Value::Bool(b) => RawField::Text(b.to_string()),
        Value::Number(n) => RawField::Text(n.to_string()),
        Value::String(s) => RawField::Text(s),
        structured @ (Value::Array(_) | Value::Object(_)) => RawField::Json(structured),
    }
}

/// Reads a form (strictly: see [`strict::form_pairs`]).
fn form_fields(bytes: &[u8]) -> Result<BodyFields, ApiError> {
    let pairs = strict::form_pairs(bytes, "field")?;
    Ok(BodyFields::new(
        pairs
            .into_iter()
            .map(|(k, v)| (k, RawField::Text(v)))
            .collect(),
    ))
}

/// The bounds of a multipart body.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// All text parts together.
    text: usize,
    /// The `file` part.
    document: usize,
}

impl Limits {
    fn cap(self) -> usize {
        multipart_cap(self.text, self.document)
    }

    /// The bound of one file part and the error for crossing it.
    fn of_file(self, part: &str) -> (usize, fn(usize) -> ApiError) {
        match part {
            IMAGE_PART => (MAX_LOGO_BYTES, |_| InputError::FileTooLarge.into()),
            DOCUMENT_PART => (self.document, |max| {
                DocumentError::TooLarge {
                    max_bytes: u64::try_from(max).unwrap_or(u64::MAX),
                }
                .into()
            }),
            _ => (FILE_LIMIT, ApiError::payload_too_large),
        }
    }
}

fn multipart_error(error: MultipartError, limit: usize) -> ApiError {
    match error {
        MultipartError::Payload(PayloadError::Overflow) => ApiError::payload_too_large(limit),
        e => ApiError::invalid_param(format!("The multipart body is malformed: {e}.")),
    }
}

/// Reads a multipart body: text parts (at most `limits.text` bytes in all) become fields,
/// file parts (those with a file name, and `imageFile` and `file` with or without one)
/// become [`Upload`]s, each refused as soon as it crosses its own bound. The whole body is
/// refused past [`Limits::cap`].
async fn multipart_fields(
    headers: &HeaderMap,
    payload: Payload,
    limits: Limits,
) -> Result<BodyFields, ApiError> {
    let cap = limits.cap();
    let mut multipart = Multipart::new(headers, payload);
    let mut fields = BodyFields::default();
    let mut text_bytes = 0_usize;
    let mut total_bytes = 0_usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| multipart_error(e, cap))?;
        let name = field.name().map(str::to_owned);
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let is_file =
            file_name.is_some() || matches!(name.as_deref(), Some(IMAGE_PART | DOCUMENT_PART));
        let (file_limit, too_large) = limits.of_file(name.as_deref().unwrap_or_default());
        let mut value = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| multipart_error(e, cap))?;
            total_bytes = total_bytes.saturating_add(chunk.len());
            if is_file {
                if value.len() + chunk.len() > file_limit {
                    return Err(too_large(file_limit));
                }
            } else {
                text_bytes += chunk.len();
                if text_bytes > limits.text {
                    return Err(ApiError::payload_too_large(limits.text));
                }
            }
            if total_bytes > cap {
                return Err(ApiError::payload_too_large(cap));
            }
            value.extend_from_slice(&chunk);
        }
        let Some(name) = name else {
            continue;
        };
        strict::check_text(&name, &name)?;
        if let Some(file_name) = &file_name {
            strict::check_text(&name, file_name)?;
        }
        if is_file {
            let upload = Upload {
                file_name,
                bytes: Vec::from(value),
            };
            fields.files.push((name, upload));
        } else {
            let text = String::from_utf8(value.to_vec()).map_err(|_| {
                ApiError::invalid_param(format!(
                    "The field {} is not UTF-8 text.",
                    strict::xml_safe(&name)
                ))
            })?;
            strict::check_text(&name, &text)?;
            fields.entries.push((name, RawField::Text(text)));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_number_literals_and_nulls() {
        let fields = json_fields(br#"{"creditLimit": 5000.10, "email": null, "isActive": true, "paymentTypes": [{"id": 7}]}"#).unwrap();
        assert_eq!(
            fields.get("creditLimit"),
            Some(&RawField::Text("5000.10".into()))
        );
        assert_eq!(fields.get("email"), Some(&RawField::Null));
        assert_eq!(fields.get("isActive"), Some(&RawField::Text("true".into())));
        assert!(matches!(
            fields.get("paymentTypes"),
            Some(RawField::Json(_))
        ));
        assert!(json_fields(b"[1]").is_err());
        assert!(json_fields(b"{").is_err());
    }

    #[test]
    fn forms_keep_empty_values() {
        let fields = form_fields(b"email=&name=A+B&x=1&x=2").unwrap();
        assert_eq!(fields.get("email"), Some(&RawField::Text(String::new())));
        assert_eq!(fields.get("name"), Some(&RawField::Text("A B".into())));
        assert_eq!(fields.all("x").count(), 2);
    }
}
