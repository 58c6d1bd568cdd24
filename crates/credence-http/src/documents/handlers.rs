//! Documents and customer logos.
//!
//! A document is uploaded alone (`POST /documents/content`, multipart part `file`), its
//! metadata changed (`PUT /documents/{uuid}`), then attached to customers
//! (`PUT|DELETE /customers/{id}/documents/{uuid}`, answered with an empty `200`). Downloads
//! serve the stored bytes under their sniffed type, never the client's claim, with
//! `X-Content-Type-Options: nosniff` so a browser does not guess either; a link document
//! answers `303` to its URL. A malformed UUID in a path is the same `404` as an unknown one.
//!
//! A logo's bytes are served under a name that changes with every upload, so they may be
//! cached for good; that name's random part is the logo's only credential (decision 0036),
//! and the route is registered outside the authenticated chain ([`crate::routes`]).

use crate::wording::WireError;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::{HttpResponse, web};
use credence_domain::customers::CustomerKey;
use credence_domain::services::Content;
use uuid::Uuid;

use crate::AppState;
use crate::body::{Body, DOCUMENT_PART};
use crate::caller::Caller;
use crate::documents::dto::{DocumentDto, UploadDto};
use crate::documents::form::DocumentMetadataForm;
use crate::error::{ApiError, ErrorBody};
use crate::negotiate::Reply;
use crate::openapi::{DocumentUploadForm, FileBytes};

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    // `/documents/content` before `/documents/{uuid}`, so `content` is never read as a UUID.
    cfg.service(web::resource("/documents/content").route(web::post().to(upload_document)))
        .service(
            web::resource("/documents/{uuid}")
                .route(web::get().to(get_document))
                .route(web::put().to(update_document)),
        )
        .service(
            web::resource("/documents/{uuid}/content").route(web::get().to(get_document_content)),
        )
        .service(
            web::resource("/documents/{uuid}/thumbnail")
                .route(web::get().to(get_document_thumbnail)),
        )
        .service(
            web::resource("/customers/{id}/documents/{uuid}")
                .route(web::put().to(attach_document))
                .route(web::delete().to(detach_document)),
        );
}

/// A document UUID from a path; anything else names no document.
fn document_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::not_found(format!("The document with the id {text} doesn't exist.")))
}

/// The customer and the document a `/customers/{id}/documents/{uuid}` path names, the
/// customer first so a bad id answers before a bad document, as it always has.
fn customer_document(path: &(String, String)) -> Result<(CustomerKey, Uuid), ApiError> {
    let key = crate::input::customer_key(&path.0)?;
    let uuid = document_id(&path.1)?;
    Ok((key, uuid))
}

/// Uploads a document's content: the multipart part `file`. Its type is sniffed
/// from the bytes; images get a thumbnail.
#[utoipa::path(
    post,
    path = "/api/v1.0/documents/content",
    tag = "documents",
    request_body(content((DocumentUploadForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Stored; keep the document's uuid to attach it", content((UploadDto = "application/json"), (UploadDto = "application/xml"))),
        (status = 400, description = "missing_param without a file part; invalid_param for an empty file", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 413, description = "payload_too_large: over the configured document limit", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    )
)]
pub(crate) async fn upload_document(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Reply, ApiError> {
    let Body(mut fields, _) = body;
    let upload = fields
        .take_file(DOCUMENT_PART)
        .ok_or(WireError::Missing(DOCUMENT_PART))?;
    let document = state
        .services
        .documents
        .upload(&caller.principal, upload)
        .await?;
    let dto = UploadDto {
        success: true,
        document: DocumentDto::from(&document),
    };
    Reply::ok("response", &dto)
}

/// Shows a document's metadata.
#[utoipa::path(
    get,
    path = "/api/v1.0/documents/{uuid}",
    tag = "documents",
    params(("uuid" = String, Path, description = "The document's UUID")),
    responses(
        (status = 200, description = "The document", content((DocumentDto = "application/json"), (DocumentDto = "application/xml"))),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found (also for a document the caller may not see)", body = ErrorBody),
    )
)]
pub(crate) async fn get_document(
    state: web::Data<AppState>,
    caller: Caller,
    uuid: web::Path<String>,
) -> Result<Reply, ApiError> {
    let uuid = document_id(&uuid)?;
    let document = state
        .services
        .documents
        .get(&caller.principal, uuid)
        .await?;
    Reply::ok("document", &DocumentDto::from(&document))
}

/// Changes a document's `description`, `fileName` or `internal` flag; answers the updated
/// document.
#[utoipa::path(
    put,
    path = "/api/v1.0/documents/{uuid}",
    tag = "documents",
    params(("uuid" = String, Path, description = "The document's UUID")),
    request_body(content((DocumentMetadataForm = "application/json"), (DocumentMetadataForm = "application/x-www-form-urlencoded"), (DocumentMetadataForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The updated document", content((DocumentDto = "application/json"), (DocumentDto = "application/xml"))),
        (status = 400, description = "invalid_param (blank or unsafe fileName, long description) or invalid_param_type", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn update_document(
    state: web::Data<AppState>,
    caller: Caller,
    uuid: web::Path<String>,
    body: Body,
) -> Result<Reply, ApiError> {
    let uuid = document_id(&uuid)?;
    let change = DocumentMetadataForm::read(&body.0)?.into_change();
    let document = state
        .services
        .documents
        .update(&caller.principal, uuid, change)
        .await?;
    Reply::ok("document", &DocumentDto::from(&document))
}

/// Downloads a document: the bytes as an attachment, or `303` to a link's URL.
#[utoipa::path(
    get,
    path = "/api/v1.0/documents/{uuid}/content",
    tag = "documents",
    params(("uuid" = String, Path, description = "The document's UUID")),
    responses(
        (status = 200, description = "The bytes, typed as sniffed at upload, as an attachment", content_type = "*/*", body = FileBytes),
        (status = 303, description = "A link document: the content is at `Location`"),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn get_document_content(
    state: web::Data<AppState>,
    caller: Caller,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let uuid = document_id(&uuid)?;
    let content = state
        .services
        .documents
        .content(&caller.principal, uuid)
        .await?;
    serve(content, DispositionType::Attachment)
}

/// The thumbnail of an uploaded image (inline), or `303` to a link's own thumbnail.
#[utoipa::path(
    get,
    path = "/api/v1.0/documents/{uuid}/thumbnail",
    tag = "documents",
    params(("uuid" = String, Path, description = "The document's UUID")),
    responses(
        (status = 200, description = "The thumbnail, in the image's own format", content_type = "image/*", body = FileBytes),
        (status = 303, description = "A link document: its thumbnail is at `Location`"),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found, also for a document without a thumbnail", body = ErrorBody),
    )
)]
pub(crate) async fn get_document_thumbnail(
    state: web::Data<AppState>,
    caller: Caller,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let uuid = document_id(&uuid)?;
    let content = state
        .services
        .documents
        .thumbnail(&caller.principal, uuid)
        .await?;
    serve(content, DispositionType::Inline)
}

/// Attaches a document to a customer; attaching twice changes nothing. Status code only.
#[utoipa::path(
    put,
    path = "/api/v1.0/customers/{id}/documents/{uuid}",
    tag = "documents",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("uuid" = String, Path, description = "The document's UUID"),
    ),
    responses(
        (status = 200, description = "Attached (empty body)"),
        (status = 400, description = "invalid_param: the customer holds the most documents allowed; invalid_param_type: a bad customer id", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found: no such customer or document", body = ErrorBody),
    )
)]
pub(crate) async fn attach_document(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, uuid) = customer_document(&path)?;
    state
        .services
        .documents
        .attach(&caller.principal, &key, uuid)
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// Detaches a document from a customer (the document itself stays). Status code only.
#[utoipa::path(
    delete,
    path = "/api/v1.0/customers/{id}/documents/{uuid}",
    tag = "documents",
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("uuid" = String, Path, description = "The document's UUID"),
    ),
    responses(
        (status = 200, description = "Detached (empty body)"),
        (status = 400, description = "invalid_param_type: a bad customer id", body = ErrorBody),
        (status = 403, description = "Customer keys may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found: no such customer, or the document is not attached to it", body = ErrorBody),
    )
)]
pub(crate) async fn detach_document(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, uuid) = customer_document(&path)?;
    state
        .services
        .documents
        .detach(&caller.principal, &key, uuid)
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// One rendition of a customer's logo: the name in the customer's `logo` URL, or that name
/// prefixed with `small_` (64 px) or `medium_` (256 px). No key: the URL, random for every
/// upload, is its own credential, so an `<img src>` shows it; each `404` counts as a failed
/// authentication of the client's address.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/logo/{file}",
    tag = "customers",
    security(()),
    params(
        ("id" = String, Path, description = "The customer's numeric id or UUID"),
        ("file" = String, Path, description = "The logo's name, optionally prefixed with small_ or medium_"),
    ),
    responses(
        (status = 200, description = "The image (jpg, gif, png or bmp); cacheable for good", content_type = "image/*", body = FileBytes),
        (status = 400, description = "invalid_param_type: a bad customer id", body = ErrorBody),
        (status = 404, description = "not_found: no such live customer, or no such logo file (the same answer)", body = ErrorBody),
        (status = 429, description = "rate_limited: too many unknown logo URLs or failed authentications from this address lately", body = ErrorBody),
    )
)]
pub(crate) async fn get_customer_logo(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let key = crate::input::customer_key(&path.0)?;
    let (bytes, mime) = state.services.customers.logo(&key, &path.1).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ))
        .body(bytes))
}

/// Bytes under their stored type and name, or `303` to where the content is.
fn serve(content: Content, disposition: DispositionType) -> Result<HttpResponse, ApiError> {
    Ok(match content {
        Content::Bytes {
            bytes,
            mime_type,
            file_name,
        } => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, mime_type.as_str()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header(content_disposition(disposition, file_name.as_str()))
            .body(bytes),
        Content::Elsewhere(url) => HttpResponse::build(StatusCode::SEE_OTHER)
            .insert_header((header::LOCATION, location(url.as_str())?))
            .finish(),
    })
}

/// `attachment; filename="..."` (the domain's file names hold no quotes, slashes or control
/// characters); a name beyond ASCII also gets RFC 5987's `filename*` with the exact name and
/// an ASCII `filename` for older clients.
fn content_disposition(disposition: DispositionType, name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !name.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".to_owned()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition,
        parameters,
    }
}

/// A link's URL as a `Location` value: bytes beyond ASCII percent-encoded (the domain
/// already refused whitespace and control characters).
fn location(url: &str) -> Result<HeaderValue, ApiError> {
    let mut encoded = String::with_capacity(url.len());
    for byte in url.bytes() {
        if byte.is_ascii() {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&encoded).map_err(|e| ApiError::server_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls_become_safe_header_values() {
        let plain = content_disposition(DispositionType::Attachment, "report 2024.pdf");
        assert_eq!(
            plain.to_string(),
            r#"attachment; filename="report 2024.pdf""#
        );
        let accented = content_disposition(DispositionType::Inline, "café.png");
        assert_eq!(
            accented.to_string(),
            r#"inline; filename="caf_.png"; filename*=UTF-8''caf%C3%A9.png"#
        );
        assert_eq!(
            location("https://example.com/é?x=1").unwrap(),
            "https://example.com/%C3%A9?x=1"
        );
    }
}
