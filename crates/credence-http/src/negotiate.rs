//! Content negotiation: one responder ([`Reply`]) writes every answer as JSON or XML.
//!
//! A DTO is first turned into a `serde_json::Value` (field order kept by serde_json's
//! `preserve_order`, amounts kept exact by `arbitrary_precision`). JSON is that value written
//! out; XML is the same tree written with quick-xml's event writer: objects become elements,
//! `null`s are omitted, arrays repeat a singular item element (`<data><customer>…`,
//! `<paymentTypes><paymentType>…`). So JSON and XML can never disagree on content.
//! Object keys starting with `@` are written as XML attributes (the marketplace's
//! `<link href=".." rel="self" type=".."/>`); only the marketplace's XML views use them, since
//! such names would leak into JSON. Object keys starting with `*` hold arrays written as
//! repeated elements named after the key, with no wrapper (the catalog's repeated `<products>`,
//! `<attributes>` and `<options>`); they too appear only in the marketplace's XML views.
//!
//! Errors are rendered as JSON by [`crate::ApiError`] (which cannot see the request); the
//! [`negotiate_errors`] middleware re-renders them as XML for clients that prefer it, and
//! turns actix's empty `405` into the API's error shape. The marketplace face wraps every
//! answer in an `<x>_response` envelope instead: [`envelope_errors`] re-renders the same
//! errors (the `Caller` extractor's `401`/`403` included) as `request_status` envelopes.

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
use crate::etag::{Condition, EntityTag};
use crate::strict::xml_safe;

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
    /// A separate XML view (attributes, another shape), when JSON and XML differ.
    xml: Option<Value>,
    /// Headers besides the content's: `Location`, `Idempotent-Replayed`.
    headers: Vec<(header::HeaderName, HeaderValue)>,
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
        Ok(Self::from_value(status, root, body_value(dto)?))
    }

    /// `status` with an already built value (a stored answer being replayed).
    pub(crate) fn from_value(status: StatusCode, root: &'static str, value: Value) -> Self {
        Self {
            status,
            root,
            item: None,
            value,
            xml: None,
            headers: Vec::new(),
        }
    }

    /// Two views of one answer: `json` is written as is, `xml` under the root `root`.
    pub(crate) fn per_format(
        status: StatusCode,
        root: &'static str,
        json: Value,
        xml: Value,
    ) -> Self {
        Self {
            xml: Some(xml),
            ..Self::from_value(status, root, json)
        }
    }

    /// A marketplace envelope `{root: {"request_status": .., field: ..}}` built from its JSON
    /// view; the XML view is derived from it (see [`crate::catalog::dto::envelope_views`]).
    ///
    /// # Errors
    /// A `500` if the DTO cannot be serialized (a bug).
    pub(crate) fn envelope<T: Serialize>(
        status: StatusCode,
        root: &'static str,
        dto: &T,
    ) -> Result<Self, ApiError> {
        Ok(Self::replayed(status, root, body_value(dto)?))
    }

    /// A stored answer being replayed: a marketplace envelope gets its XML view back, any
    /// other body is written as is.
    pub(crate) fn replayed(status: StatusCode, root: &'static str, value: Value) -> Self {
        match crate::catalog::dto::envelope_views(root, &value) {
            Some(xml) => Self::per_format(status, root, value, xml),
            None => Self::from_value(status, root, value),
        }
    }

    /// A `201` answer with `Location: <path>`: where the resource it created lives. Other
    /// answers (a `200` replace through the same route) are left as they are.
    #[must_use]
    pub(crate) fn located(self, path: &str) -> Self {
        if self.status != StatusCode::CREATED {
            return self;
        }
        match HeaderValue::from_str(path) {
            Ok(value) => self.with_header(header::LOCATION, value),
            Err(_) => self,
        }
    }

    /// As [`Self::located`], at `<collection>/<the answer's id>`.
    #[must_use]
    pub(crate) fn located_in(self, collection: &str) -> Self {
        let id = match self.value.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(text)) => text.clone(),
            _ => return self,
        };
        self.located(&format!("{collection}/{id}"))
    }

    /// The same answer with its `ETag`.
    #[must_use]
    pub(crate) fn tagged(self) -> Self {
        let tag = self.tag();
        self.tagged_with(Some(tag))
    }

    /// The same answer with `tag` as its `ETag`: the tag of the resource as a read shows it,
    /// where this answer shows it otherwise (a marketplace envelope's status code).
    #[must_use]
    pub(crate) fn tagged_with(self, tag: Option<EntityTag>) -> Self {
        match tag.as_ref().and_then(EntityTag::header) {
            Some(value) => self.with_header(header::ETAG, value),
            None => self,
        }
    }

    /// This answer, or `304 Not Modified` without a body while the client's copy is current
    /// (its `If-None-Match` names this answer's tag, compared weakly).
    #[must_use]
    pub(crate) fn unless_current(self, req: &HttpRequest) -> Self {
        let tag = self.tag();
        match Condition::if_none_match(req) {
            Some(condition) if condition.matches_weakly(&tag) => Self::not_modified(&tag),
            _ => self,
        }
    }

    /// The entity tag of this answer's body.
    pub(crate) fn tag(&self) -> EntityTag {
        EntityTag::of(&self.value)
    }

    /// `304 Not Modified`: the client's copy, tagged `tag`, is current.
    pub(crate) fn not_modified(tag: &EntityTag) -> Self {
        let reply = Self::from_value(StatusCode::NOT_MODIFIED, "", Value::Null);
        match tag.header() {
            Some(value) => reply.with_header(header::ETAG, value),
            None => reply,
        }
    }

    /// The same answer with one more header.
    #[must_use]
    pub(crate) fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body, as sent to a JSON client (what an idempotency record stores).
    ///
    /// # Errors
    /// A `500` if the value cannot be written (a bug).
    pub(crate) fn json_text(&self) -> Result<String, ApiError> {
        serde_json::to_string(&self.value).map_err(|e| ApiError::server_error(&e))
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

/// A DTO as the JSON value an answer holds; a DTO that cannot be written is a bug, a `500`.
fn body_value<T: Serialize>(dto: &T) -> Result<Value, ApiError> {
    serde_json::to_value(dto).map_err(|e| ApiError::server_error(&e))
}

impl Responder for Reply {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        if self.status == StatusCode::NOT_MODIFIED {
            let mut response = HttpResponse::NotModified().finish();
            for (name, value) in self.headers {
                response.headers_mut().insert(name, value);
            }
            return response;
        }
        let format = Format::of(req);
        let value = match (&self.xml, format) {
            (Some(xml), Format::Xml) => xml,
            _ => &self.value,
        };
        let mut response = render_value(self.status, self.root, self.item, value, format);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
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

pub(crate) fn render_value(
    status: StatusCode,
    root: &str,
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

/// Writes `value` as one element named `name`, without a declaration: a piece of a document
/// written a piece at a time (a streamed statement).
pub(crate) fn xml_element(name: &str, value: &Value) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::new());
    write_element(&mut writer, name, value, None)?;
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
            let mut start = BytesStart::new(name);
            let mut children = Vec::new();
            let mut attributes = 0_usize;
            for (key, child) in map {
                if let (Some(repeated), Value::Array(items)) = (key.strip_prefix('*'), child) {
                    for item in items {
                        children.push((repeated, item));
                    }
                    continue;
                }
                match (key.strip_prefix('@'), child) {
                    (Some(_), Value::Null) => {}
                    (Some(attribute), Value::String(text)) => {
                        start.push_attribute((attribute, xml_safe(text).as_ref()));
                        attributes += 1;
                    }
                    (Some(attribute), other) => {
                        start.push_attribute((attribute, xml_safe(&other.to_string()).as_ref()));
                        attributes += 1;
                    }
                    (None, _) => children.push((key.as_str(), child)),
                }
            }
            if attributes > 0 && children.is_empty() {
                return writer.write_event(Event::Empty(start));
            }
            writer.write_event(Event::Start(start))?;
            for (key, child) in children {
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

/// Writes `<name>text</name>`. Characters XML cannot carry (stored before input was strict)
/// become U+FFFD, so the document always parses.
fn write_text(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::new(&xml_safe(text))))?;
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
/// (a resource without a route for the method) the API's error shape.
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
    let mut rendered = render(status, "error", None, &body, format);
    keep_error_headers(response.headers(), &mut rendered);
    allow(response.request(), &mut rendered);
    Ok(response.into_response(rendered))
}

/// Copies the headers an error set (`WWW-Authenticate`, `Retry-After`) onto its re-rendering.
fn keep_error_headers(from: &header::HeaderMap, to: &mut HttpResponse) {
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = from.get(&name) {
            to.headers_mut().insert(name, value.clone());
        }
    }
}

/// `Allow` on a `405`: the methods the matched route answers, as the OpenAPI document names
/// them.
fn allow(request: &HttpRequest, to: &mut HttpResponse) {
    let allowed = request
        .match_pattern()
        .and_then(|pattern| crate::openapi::allowed_methods(&pattern));
    if let (StatusCode::METHOD_NOT_ALLOWED, Some(allowed)) = (to.status(), allowed)
        && let Ok(value) = HeaderValue::from_str(allowed)
    {
        to.headers_mut().insert(header::ALLOW, value);
    }
}

/// Re-renders the errors of the marketplace face as its envelope, in the negotiated
/// format: `{"customer_response": {"request_status": {"status": "error", "code": 401,
/// "errors": [{"code": "unauthorized", "message": ".."}]}}}`. The envelope is named after the
/// resource (`/api/marketplace/v2/customer` → `customer_response`). Headers the error set
/// (`WWW-Authenticate`, `Retry-After`) are kept.
pub(crate) async fn envelope_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let stored = response.response().extensions().get::<ErrorBody>().cloned();
    let request = response.request();
    let body = match stored {
        Some(body) => body,
        None if status == StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::method_not_allowed(request.method().as_str(), request.path())
                .body()
                .clone()
        }
        None => return Ok(response),
    };
    let mut rendered = render_envelope(
        status,
        &body,
        request.method().as_str(),
        request.path(),
        Format::of(request),
    );
    keep_error_headers(response.headers(), &mut rendered);
    allow(response.request(), &mut rendered);
    Ok(response.into_response(rendered))
}

/// A marketplace error envelope for `body`, named after the resource of `path`.
///
/// The `errors` list has one entry per detail when the error has some (one
/// `invalid_attribute` per failing attribute of a task template), else the one error. A
/// credit refusal's entry also carries `available` and `requested`, exact: they belong to
/// that error, not to the request's outcome, so they sit next to its code rather than in
/// `request_status`.
fn render_envelope(
    status: StatusCode,
    body: &ErrorBody,
    method: &str,
    path: &str,
    format: Format,
) -> HttpResponse {
    let root = envelope_name(method, path);
    let errors: Vec<Value> = if body.details.is_empty() {
        let mut entry = serde_json::Map::new();
        entry.insert("code".into(), Value::String(body.error.clone()));
        entry.insert(
            "message".into(),
            Value::String(body.error_description.clone()),
        );
        if let Some(available) = &body.available {
            entry.insert("available".into(), (**available).clone());
        }
        if let Some(requested) = &body.requested {
            entry.insert("requested".into(), (**requested).clone());
        }
        vec![Value::Object(entry)]
    } else {
        body.details
            .iter()
            .map(|(code, message)| serde_json::json!({"code": code, "message": message}))
            .collect()
    };
    let inner = serde_json::json!({
        "request_status": {
            "status": "error",
            "code": status.as_u16(),
            "errors": errors,
        }
    });
    let mut rendered = if format == Format::Xml {
        render_value(status, &root, None, &inner, format)
    } else {
        render_value(
            status,
            &root,
            None,
            &serde_json::json!({ root.as_str(): inner }),
            format,
        )
    };
    rendered.extensions_mut().insert(body.clone());
    rendered
}

/// An error answer for a request known only by its path and format (the deadline has no
/// `HttpRequest` left to hand to the other middlewares): the marketplace envelope under
/// `/api/marketplace/v2`, the API's plain error shape elsewhere.
pub(crate) fn error_for(
    method: &str,
    path: &str,
    format: Format,
    error: &ApiError,
) -> HttpResponse {
    let status = error.status();
    if path.starts_with(crate::catalog::marketplace_dto::BASE) {
        return render_envelope(status, error.body(), method, path, format);
    }
    let mut rendered = render(status, "error", None, error.body(), format);
    rendered.extensions_mut().insert(error.body().clone());
    rendered
}

/// `<resource>_response` for a marketplace path, as its successful answers are named: the
/// first segment after the prefix (after `customer/` for the caller's own collections),
/// singular when the path names one item or the request creates one
/// (`products` → `products_response`, `products/x` → `product_response`, `POST
/// customer/tasks` → `task_response`), `customer` → `customer_response`.
fn envelope_name(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path
        .strip_prefix(crate::catalog::marketplace_dto::BASE)
        .unwrap_or(path)
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let segments = match segments.as_slice() {
        ["customer", rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    let Some(resource) = segments.first() else {
        return "error_response".to_owned();
    };
    let one = segments.len() > 1 || !(method == "GET" || method == "HEAD");
    if one && *resource != "customer" {
        format!("{}_response", singular(resource))
    } else {
        format!("{resource}_response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_keys_are_attributes_and_envelopes_follow_the_resource() {
        let value =
            serde_json::json!({"link": {"@href": "/x", "@rel": "self", "@gone": null}, "n": 1});
        let xml = String::from_utf8(to_xml("customer", None, &value).unwrap()).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><customer><link href=\"/x\" rel=\"self\"/><n>1</n></customer>"
        );
        for (method, path, name) in [
            ("GET", "/api/marketplace/v2/customer", "customer_response"),
            ("GET", "/api/marketplace/v2/products/", "products_response"),
            (
                "GET",
                "/api/marketplace/v2/products/abc",
                "product_response",
            ),
            (
                "GET",
                "/api/marketplace/v2/customer/task_templates",
                "task_templates_response",
            ),
            (
                "POST",
                "/api/marketplace/v2/customer/task_templates",
                "task_template_response",
            ),
            (
                "POST",
                "/api/marketplace/v2/customer/tasks",
                "task_response",
            ),
            (
                "POST",
                "/api/marketplace/v2/customer/tasks/4/cancel",
                "task_response",
            ),
        ] {
            assert_eq!(envelope_name(method, path), name, "{method} {path}");
        }
    }

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
    fn errors_without_a_request_follow_the_face() {
        let error = ApiError::request_timeout(std::time::Duration::from_secs(30));
        let marketplace = error_for("GET", "/api/marketplace/v2/customer", Format::Json, &error);
        assert_eq!(marketplace.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(marketplace.extensions().get::<ErrorBody>().is_some());
        let body = actix_web::body::to_bytes(marketplace.into_body());
        let body = futures_util::FutureExt::now_or_never(body)
            .unwrap()
            .unwrap();
        assert!(
            body.starts_with(
                br#"{"customer_response":{"request_status":{"status":"error","code":503"#
            ),
            "{body:?}"
        );
        let back_office = error_for("GET", "/api/v1.0/customers", Format::Xml, &error);
        let body = actix_web::body::to_bytes(back_office.into_body());
        let body = futures_util::FutureExt::now_or_never(body)
            .unwrap()
            .unwrap();
        assert!(body.ends_with(b"<error><error>request_timeout</error><error_description>The request took longer than 30 s; please retry.</error_description></error>"), "{body:?}");
    }

    #[test]
    fn characters_xml_cannot_carry_never_reach_a_document() {
        let value = serde_json::json!({
            "name": "a\u{1}b\u{fffe}c\u{0}",
            "link": {"@href": "/x\u{1b}", "@rel": "self"},
            "contacts": [{"name": "\u{ffff}\t\n"}],
        });
        let xml = to_xml("customer", None, &value).unwrap();
        let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
        let mut texts = Vec::new();
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf).unwrap() {
                Event::Eof => break,
                Event::Text(text) => texts.push(
                    text.xml_content(quick_xml::XmlVersion::default())
                        .into_owned(),
                ),
                Event::Start(start) | Event::Empty(start) => {
                    for attribute in start.attributes() {
                        let attribute = attribute.unwrap();
                        texts.push(
                            attribute
                                .normalized_value(quick_xml::XmlVersion::default())
                                .unwrap()
                                .into_owned(),
                        );
                    }
                }
                _ => {}
            }
            buf.clear();
        }
        assert_eq!(
            texts,
            [
                "a\u{fffd}b\u{fffd}c\u{fffd}",
                "/x\u{fffd}",
                "self",
                "\u{fffd}\t\n"
            ]
        );
        let text = String::from_utf8(xml).unwrap();
        assert!(
            !text.chars().any(|c| !crate::strict::xml_char(c)),
            "{text:?}"
        );
    }

    #[test]
    fn singular_names() {
        assert_eq!(singular("customerCategories"), "customerCategory");
        assert_eq!(singular("contacts"), "contact");
        assert_eq!(singular("data"), "item");
    }
}
