//! Content negotiation: one responder ([`Reply`]) writes every answer as JSON or XML.
//!
//! A DTO is first turned into a `serde_json::Value` (field order kept by serde_json's
//! `preserve_order`, amounts kept exact by `arbitrary_precision`). JSON is that value written
//! out; XML is the same tree written with quick-xml's event writer: objects become elements,
//! `null`s are omitted, arrays repeat a singular item element (`<data><customer>…`,
//! `<paymentTypes><paymentType>…`). So JSON and XML can never disagree on content.
//!
//! Errors are rendered as JSON by [`crate::ApiError`] (which cannot see the request); the
//! [`negotiate_errors`] middleware re-renders them as XML for clients that prefer it, and
//! turns actix's empty `405` into the seed's error shape.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, Accept, Header, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, Responder, mime};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ErrorBody};

/// The representation a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The default.
    Json,
    /// `Accept` prefers `application/xml` or `text/xml`.
    Xml,
}

impl Format {
    /// Reads `Accept`: the first ranked type that names JSON, XML or anything decides.
    pub(crate) fn of(req: &HttpRequest) -> Self {
        let Ok(accept) = Accept::parse(req) else {
            return Self::Json;
        };
        for mime in accept.ranked() {
            let (kind, sub) = (mime.type_(), mime.subtype());
            let xml = sub == mime::XML || mime.suffix() == Some(mime::XML);
            if xml && (kind == mime::APPLICATION || kind == mime::TEXT) {
                return Self::Xml;
            }
            let json = sub == mime::JSON || mime.suffix() == Some(mime::JSON);
            if (json && kind == mime::APPLICATION) || kind == mime::STAR {
                return Self::Json;
            }
            if kind == mime::APPLICATION && sub == mime::STAR {
                return Self::Json;
            }
        }
        Self::Json
    }
}

/// A successful answer: a status and a DTO, written in the negotiated format.
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    root: &'static str,
    item: Option<&'static str>,
    value: Value,
}

impl Reply {
    /// `status` with `dto`, whose XML root is `root`.
    ///
    /// # Errors
    /// A `500` if the DTO cannot be serialized (a bug).
    pub(crate) fn new<T: Serialize>(
        status: StatusCode,
        root: &'static str,
        dto: &T,
    ) -> Result<Self, ApiError> {
        let value = serde_json::to_value(dto).map_err(|e| ApiError::server_error(&e))?;
        Ok(Self {
            status,
            root,
            item: None,
            value,
        })
    }

    /// `200 OK` with `dto`.
    pub(crate) fn ok<T: Serialize>(root: &'static str, dto: &T) -> Result<Self, ApiError> {
        Self::new(StatusCode::OK, root, dto)
    }

    /// A list whose `data` items are written `<item>` in XML.
    pub(crate) fn list<T: Serialize>(
        root: &'static str,
        item: &'static str,
        dto: &T,
    ) -> Result<Self, ApiError> {
        let mut reply = Self::ok(root, dto)?;
        reply.item = Some(item);
        Ok(reply)
    }
}

impl Responder for Reply {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        render_value(
            self.status,
            self.root,
            self.item,
            &self.value,
            Format::of(req),
        )
    }
}

/// Writes a serializable value in `format`.
pub(crate) fn render<T: Serialize>(
    status: StatusCode,
    root: &'static str,
    item: Option<&'static str>,
    dto: &T,
    format: Format,
) -> HttpResponse {
    match serde_json::to_value(dto) {
        Ok(value) => render_value(status, root, item, &value, format),
        Err(e) => {
            tracing::error!(error = %e, "a response body could not be serialized");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn render_value(
    status: StatusCode,
    root: &'static str,
    item: Option<&'static str>,
    value: &Value,
    format: Format,
) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::VARY, HeaderValue::from_static("accept")));
    match format {
        Format::Json => match serde_json::to_vec(value) {
            Ok(bytes) => builder.content_type(mime::APPLICATION_JSON).body(bytes),
            Err(e) => {
                tracing::error!(error = %e, "a JSON body could not be written");
                HttpResponse::InternalServerError().finish()
            }
        },
        Format::Xml => match to_xml(root, item, value) {
            Ok(bytes) => builder
                .insert_header((header::CONTENT_TYPE, "application/xml; charset=utf-8"))
                .body(bytes),
            Err(e) => {
                tracing::error!(error = %e, "an XML body could not be written");
                HttpResponse::InternalServerError().finish()
            }
        },
    }
}

/// Writes `value` as an XML document with root element `root`.
pub(crate) fn to_xml(root: &str, item: Option<&str>, value: &Value) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    write_element(&mut writer, root, value, item)?;
    Ok(writer.into_inner())
}

fn write_element(
    writer: &mut Writer<Vec<u8>>,
    name: &str,
    value: &Value,
    data_item: Option<&str>,
) -> std::io::Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::Bool(b) => write_text(writer, name, if *b { "true" } else { "false" }),
        Value::Number(n) => write_text(writer, name, &n.to_string()),
        Value::String(s) => write_text(writer, name, s),
        Value::Object(map) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for (key, child) in map {
                write_element(writer, key, child, data_item)?;
            }
            writer.write_event(Event::End(BytesEnd::new(name)))
        }
        Value::Array(items) => {
            let item_name = match (name, data_item) {
                ("data", Some(item)) => item.to_owned(),
                _ => singular(name),
            };
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for child in items {
                write_element(writer, &item_name, child, None)?;
            }
            writer.write_event(Event::End(BytesEnd::new(name)))
        }
    }
}

fn write_text(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::new(text)))?;
    writer.write_event(Event::End(BytesEnd::new(name)))
}

/// The element name of one item of a list field (`paymentTypes` → `paymentType`).
fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = plural.strip_suffix('s') {
        stem.to_owned()
    } else {
        "item".to_owned()
    }
}

/// Re-renders error bodies as XML for clients that prefer it, and gives actix's bare `405`
/// (a resource without a route for the method) the seed's error shape.
pub(crate) async fn negotiate_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let body = response.response().extensions().get::<ErrorBody>().cloned();
    let format = Format::of(response.request());
    let body = match body {
        Some(_) if format == Format::Json => return Ok(response),
        Some(body) => body,
        None if status == StatusCode::METHOD_NOT_ALLOWED => {
            let req = response.request();
            ApiError::method_not_allowed(req.method().as_str(), req.path())
                .body()
                .clone()
        }
        None => return Ok(response),
    };
    let rendered = render(status, "error", None, &body, format);
    Ok(response.into_response(rendered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_omits_nulls_and_repeats_items() {
        let value = serde_json::json!({"paging": {"total": 1, "previous": null}, "data": [{"id": 1, "paymentTypes": [{"id": 7}], "name": "a<b"}]});
        let xml =
            String::from_utf8(to_xml("customers", Some("customer"), &value).unwrap()).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><customers><paging><total>1</total></paging><data><customer>\
             <id>1</id><paymentTypes><paymentType><id>7</id></paymentType></paymentTypes><name>a&lt;b</name>\
             </customer></data></customers>"
        );
    }

    #[test]
    fn singular_names() {
        assert_eq!(singular("customerCategories"), "customerCategory");
        assert_eq!(singular("contacts"), "contact");
        assert_eq!(singular("data"), "item");
    }
}
