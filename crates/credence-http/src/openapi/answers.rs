//! The answers every operation can give besides its own, declared once: what the middleware
//! chain answers before a handler runs (`401`, `403`, `429`, `503`, `408`, `413`, `415`), what
//! a path segment or a query string can be refused with (`400`), what an unknown object is
//! (`404`), each in the face's error shape (the back office's error body, or the
//! marketplace's `<x>_response` envelope holding `request_status` only) and in both formats.
//! The health probes, outside the chain, need no credentials and get none of these; an
//! operation in the chain that declares its own empty `security` gets all but `401` and `403`.

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Components, Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required};

/// The two formats every answer comes in.
const FORMATS: [&str; 2] = ["application/json", "application/xml"];

/// Which face an operation belongs to, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    BackOffice,
    Marketplace,
    /// Outside the chain: the health probes.
    Outside,
}

impl Face {
    fn of(path: &str) -> Self {
        if path.starts_with("/api/marketplace/") {
            Self::Marketplace
        } else if path.starts_with("/api/") {
            Self::BackOffice
        } else {
            Self::Outside
        }
    }
}

/// Whether the operation declares that it needs no credentials (`security: [{}]`).
fn declared_open(operation: &Operation) -> bool {
    operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().all(is_empty_requirement))
}

fn is_empty_requirement(requirement: &SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

/// One answer of the chain or of the request's shape.
struct Common {
    status: u16,
    /// The back office's shared response component.
    name: &'static str,
    description: &'static str,
    /// A header every such answer carries.
    header: Option<(&'static str, &'static str)>,
    /// Whether an operation gets it.
    applies: fn(&Shape) -> bool,
}

/// What decides the answers of an operation.
struct Shape {
    /// It needs a key (`401`, `403`); every operation in the chain may be limited or shed.
    authenticated: bool,
    parameters: bool,
    path_parameters: bool,
    body: bool,
    /// The marketplace's routes of the caller's own customer: a key bound to none gets `404`.
    own_customer: bool,
    /// It reads `If-Match`.
    if_match: bool,
}

const RETRY_AFTER: (&str, &str) = ("Retry-After", "Whole seconds to wait before retrying.");

const COMMON: [Common; 10] = [
    Common {
        status: 400,
        name: "BadRequest",
        description: "invalid_param, invalid_param_type or missing_param: a parameter, a path \
                      segment or the body is not valid (an unknown query parameter, a character \
                      XML cannot carry, a malformed value).",
        header: None,
        applies: |shape| shape.parameters || shape.body,
    },
    Common {
        status: 401,
        name: "Unauthorized",
        description: "unauthorized: no usable credentials.",
        header: Some((
            "WWW-Authenticate",
            "`Bearer realm=\"credence\", Basic realm=\"credence\"`.",
        )),
        applies: |shape| shape.authenticated,
    },
    Common {
        status: 403,
        name: "Forbidden",
        description: "forbidden: a key that matches no live key, or a function the caller's role \
                      may not use.",
        header: None,
        applies: |shape| shape.authenticated,
    },
    Common {
        status: 404,
        name: "NotFound",
        description: "not_found: no such object, or one outside the caller's scope.",
        header: None,
        applies: |shape| shape.path_parameters || shape.own_customer,
    },
    Common {
        status: 408,
        name: "RequestTimeout",
        description: "request_timeout: the body was still arriving when the request time-out \
                      passed.",
        header: None,
        applies: |shape| shape.body,
    },
    Common {
        status: 412,
        name: "PreconditionFailed",
        description: "precondition_failed: `If-Match` no longer holds (or a customer was \
                      written by too many others during this write).",
        header: None,
        applies: |shape| shape.if_match,
    },
    Common {
        status: 413,
        name: "PayloadTooLarge",
        description: "payload_too_large: the body is over the limit.",
        header: None,
        applies: |shape| shape.body,
    },
    Common {
        status: 415,
        name: "UnsupportedMediaType",
        description: "unsupported_media_type: a body type other than JSON, a form or multipart.",
        header: None,
        applies: |shape| shape.body,
    },
    Common {
        status: 429,
        name: "TooManyRequests",
        description: "rate_limited: the key's requests, or the address's failed \
                      authentications, are over their limit.",
        header: Some(RETRY_AFTER),
        applies: |_| true,
    },
    Common {
        status: 503,
        name: "ServiceUnavailable",
        description: "overloaded, service_unavailable or request_timeout: too many requests at \
                      once, no database connection in time, a change that kept colliding with \
                      others until it gave up, or the request took too long.",
        header: Some(RETRY_AFTER),
        applies: |_| true,
    },
];

/// The routes of one customer, account, product or task template: their answers carry its
/// `ETag`, a read may send `If-None-Match` (`304` while its copy is current), a write
/// `If-Match` (`412` once the resource has changed).
const CONDITIONAL: [&str; 7] = [
    "/api/v1.0/customers/{id}",
    "/api/v1.0/customers/reference/{reference}",
    "/api/v1.0/customers/me",
    "/api/v1.0/customers/{id}/account",
    "/api/v1.0/products/{code}",
    "/api/marketplace/v2/products/{code}",
    "/api/marketplace/v2/customer/task_templates/{code}",
];

/// The routes that move a credit account: their writes take `If-Match` naming the account's
/// tag (as `GET .../account` gives it). The limit's write answers the account, tagged.
const MOVES_ACCOUNT: [&str; 7] = [
    "/api/v1.0/customers/{id}/account/creditLimit",
    "/api/v1.0/customers/{id}/account/payments",
    "/api/v1.0/customers/{id}/account/charges",
    "/api/v1.0/customers/{id}/account/adjustments",
    "/api/v1.0/customers/{id}/account/reservations",
    "/api/v1.0/customers/{id}/account/reservations/{rid}/capture",
    "/api/v1.0/customers/{id}/account/reservations/{rid}/release",
];

const IF_MATCH: &str = "If-Match";

const ETAG: (&str, &str) = (
    "ETag",
    "The resource's entity tag: a digest of everything a read of it shows.",
);

/// An optional request header, as text.
fn header_parameter(name: &str, description: &str) -> RefOr<utoipa::openapi::path::Parameter> {
    RefOr::T(
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(Object::with_type(Type::String)))
            .build(),
    )
}

/// Declares that `operation`'s answers of a status `shows` accepts carry the `ETag`.
fn tagged(operation: &mut Operation, shows: impl Fn(&str) -> bool) {
    for (status, answer) in &mut operation.responses.responses {
        if let (true, RefOr::T(answer)) = (shows(status), answer) {
            answer
                .headers
                .insert(ETAG.0.to_owned(), RefOr::T(header(ETAG.1)));
        }
    }
}

/// Declares that `write` takes `If-Match`, described by what it names.
fn takes_if_match(write: &mut Operation, description: &str) {
    write
        .parameters
        .get_or_insert_with(Vec::new)
        .push(header_parameter(IF_MATCH, description));
}

/// The conditional requests of a [`CONDITIONAL`] route.
fn conditional(item: &mut PathItem) {
    let success = |status: &str| status.starts_with('2');
    if let Some(read) = &mut item.get {
        tagged(read, success);
        read.parameters
            .get_or_insert_with(Vec::new)
            .push(header_parameter(
                "If-None-Match",
                "The `ETag` of the client's copy: `304` while it is current.",
            ));
        read.responses.responses.insert(
            "304".to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description("Not Modified: the client's copy is current; no body.")
                    .header(ETAG.0, header(ETAG.1))
                    .build(),
            ),
        );
    }
    for (write, shows_resource) in [
        (item.post.as_mut(), true),
        (item.put.as_mut(), true),
        (item.patch.as_mut(), true),
        (item.delete.as_mut(), false),
    ] {
        let Some(write) = write else {
            continue;
        };
        if shows_resource {
            tagged(write, success);
        }
        takes_if_match(
            write,
            "The `ETag` the client read (or `*`): the write goes through only while the \
             resource still shows it, else `412`.",
        );
    }
}

/// The conditional writes of a [`MOVES_ACCOUNT`] route.
fn moves_account(path: &str, item: &mut PathItem) {
    for write in [item.post.as_mut(), item.put.as_mut()]
        .into_iter()
        .flatten()
    {
        if path.ends_with("/creditLimit") {
            tagged(write, |status| status == "200");
        }
        takes_if_match(
            write,
            "The `ETag` of the account the client read (or `*`), as `GET .../account` gives \
             it; for a reservation, the paying account's. The write goes through only while \
             the account still shows it, else `412`.",
        );
    }
}

/// The modifier (see the module docs).
pub(super) struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for common in &COMMON {
            components.responses.insert(
                common.name.to_owned(),
                RefOr::T(response(
                    common.description,
                    Ref::from_schema_name("ErrorBody"),
                    common.header,
                )),
            );
        }
        components.schemas.insert(
            "MarketplaceStatus".to_owned(),
            RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .description(Some(
                        "What every marketplace error answer holds: its `request_status`.",
                    ))
                    .property("request_status", Ref::from_schema_name("RequestStatusDto"))
                    .required("request_status")
                    .build(),
            )),
        );
        for (path, item) in &mut openapi.paths.paths {
            if CONDITIONAL.contains(&path.as_str()) {
                conditional(item);
            }
            if MOVES_ACCOUNT.contains(&path.as_str()) {
                moves_account(path, item);
            }
            for operation in operations_mut(item) {
                match Face::of(path) {
                    Face::Outside => operation.security = Some(Vec::new()),
                    Face::BackOffice => back_office(path, operation),
                    Face::Marketplace => marketplace(path, operation, components),
                }
            }
        }
    }
}

/// The operations of a path.
pub(super) fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn shape(path: &str, operation: &Operation) -> Shape {
    Shape {
        authenticated: !declared_open(operation),
        parameters: operation
            .parameters
            .as_ref()
            .is_some_and(|parameters| !parameters.is_empty()),
        path_parameters: path.contains('{'),
        body: operation.request_body.is_some(),
        own_customer: path.starts_with("/api/marketplace/v2/customer"),
        if_match: operation.parameters.iter().flatten().any(
            |parameter| matches!(parameter, RefOr::T(parameter) if parameter.name == IF_MATCH),
        ),
    }
}

/// An error answer: `description`, the error `schema` in both formats, and the header
/// every such answer carries.
fn response(description: &str, schema: Ref, carries: Option<(&str, &str)>) -> Response {
    let mut builder = ResponseBuilder::new().description(description);
    for format in FORMATS {
        builder = builder.content(format, Content::new(Some(schema.clone())));
    }
    if let Some((name, description)) = carries {
        builder = builder.header(name, header(description));
    }
    builder.build()
}

/// A response header, as text.
fn header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(Object::with_type(Type::String)))
        .description(Some(description))
        .build()
}

/// The header the common answer of `status` carries, if any.
fn common_header(status: &str) -> Option<(&'static str, &'static str)> {
    COMMON
        .iter()
        .find(|common| common.status.to_string() == status)
        .and_then(|common| common.header)
}

fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// Back office: the shared components, and XML beside JSON in the operation's own errors.
fn back_office(path: &str, operation: &mut Operation) {
    let shape = shape(path, operation);
    let responses = &mut operation.responses.responses;
    for (status, answer) in responses.iter_mut() {
        if let (true, RefOr::T(answer)) = (is_error(status), answer) {
            both_formats(answer);
            if let Some((name, description)) = common_header(status) {
                answer
                    .headers
                    .entry(name.to_owned())
                    .or_insert_with(|| RefOr::T(header(description)));
            }
        }
    }
    for common in COMMON.iter().filter(|common| (common.applies)(&shape)) {
        responses
            .entry(common.status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(common.name)));
    }
}

/// The operation's own error schema written in XML too, where only JSON is declared.
fn both_formats(answer: &mut Response) {
    if let Some(json) = answer.content.get(FORMATS[0]).cloned() {
        answer.content.entry(FORMATS[1].to_owned()).or_insert(json);
    }
}

/// Marketplace: every error, declared or common, is the operation's envelope with
/// `request_status` only (`{"task_response": {"request_status": {..}}}`).
fn marketplace(path: &str, operation: &mut Operation, components: &mut Components) {
    let shape = shape(path, operation);
    let Some(envelope) = success_envelope(operation, components) else {
        return;
    };
    let schema = error_envelope(&envelope, components);
    let responses = &mut operation.responses.responses;
    for (status, answer) in responses.iter_mut() {
        if is_error(status) {
            let description = match answer {
                RefOr::T(answer) => answer.description.clone(),
                RefOr::Ref(_) => String::new(),
            };
            *answer = RefOr::T(response(
                &description,
                schema.clone(),
                common_header(status),
            ));
        }
    }
    for common in COMMON.iter().filter(|common| (common.applies)(&shape)) {
        responses
            .entry(common.status.to_string())
            .or_insert_with(|| {
                RefOr::T(response(common.description, schema.clone(), common.header))
            });
    }
}

/// The `<x>_response` member of the operation's success schema (a component holding one
/// property).
fn success_envelope(operation: &Operation, components: &Components) -> Option<String> {
    operation
        .responses
        .responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .find_map(|(_, answer)| {
            let RefOr::T(answer) = answer else {
                return None;
            };
            let RefOr::T(content) = answer.content.get(FORMATS[0])? else {
                return None;
            };
            let Some(RefOr::Ref(reference)) = &content.schema else {
                return None;
            };
            let name = reference.ref_location.rsplit('/').next()?;
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get(name) else {
                return None;
            };
            object
                .properties
                .keys()
                .find(|key| key.ends_with("_response"))
                .cloned()
        })
}

/// The component `<Envelope>Error` (`TaskErrorEnvelope` for `task_response`), made once.
fn error_envelope(envelope: &str, components: &mut Components) -> Ref {
    let base: String = envelope
        .trim_end_matches("_response")
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect();
    let name = format!("{base}ErrorEnvelope");
    components.schemas.entry(name.clone()).or_insert_with(|| {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .description(Some(format!(
                    "A marketplace error: `{envelope}` with its `request_status` only."
                )))
                .property(envelope, Ref::from_schema_name("MarketplaceStatus"))
                .required(envelope)
                .build(),
        ))
    });
    Ref::from_schema_name(name)
}

#[cfg(test)]
mod tests {
    use super::{IF_MATCH, MOVES_ACCOUNT};
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(crate::openapi::openapi()).unwrap_or_default()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                all.push((path.clone(), method.clone(), operation.clone()));
            }
        }
        all
    }

    #[test]
    fn every_operation_of_the_chain_declares_what_the_chain_answers() {
        let doc = document();
        for (path, method, operation) in operations(&doc) {
            let responses = &operation["responses"];
            let declares = |status: &str| responses.get(status).is_some();
            if !path.starts_with("/api/") {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([]),
                    "{method} {path}"
                );
                continue;
            }
            let open = operation["security"] == serde_json::json!([{}]);
            for status in ["429", "503"] {
                assert!(declares(status), "{method} {path} declares {status}");
            }
            for status in ["401", "403"] {
                assert_eq!(declares(status), !open, "{method} {path} and {status}");
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "408", "413", "415"] {
                    assert!(declares(status), "{method} {path} declares {status}");
                }
            }
            if path.contains('{') {
                assert!(declares("404"), "{method} {path} declares 404");
            }
        }
    }

    #[test]
    fn marketplace_errors_are_envelopes_holding_their_status_only() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for (path, method, operation) in operations(&doc) {
            if !path.starts_with("/api/marketplace/") {
                continue;
            }
            for (status, answer) in operation["responses"].as_object().into_iter().flatten() {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                for format in ["application/json", "application/xml"] {
                    let reference = answer["content"][format]["schema"]["$ref"]
                        .as_str()
                        .unwrap_or_default();
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    assert!(
                        name.ends_with("ErrorEnvelope"),
                        "{method} {path} {status} {format}: {reference}"
                    );
                    assert_eq!(schemas[name]["required"].as_array().map(Vec::len), Some(1));
                }
            }
        }
    }

    #[test]
    fn customers_accounts_products_and_templates_answer_conditional_requests() {
        let doc = document();
        for (path, writes) in [
            (
                "/api/v1.0/customers/{id}",
                &["post", "put", "patch", "delete"][..],
            ),
            ("/api/v1.0/customers/{id}/account", &[][..]),
            ("/api/v1.0/products/{code}", &["post", "put", "delete"][..]),
            ("/api/marketplace/v2/products/{code}", &[][..]),
            (
                "/api/marketplace/v2/customer/task_templates/{code}",
                &["put", "delete"][..],
            ),
        ] {
            let one = &doc["paths"][path];
            assert!(one["get"]["responses"]["304"].is_object(), "{path}");
            assert!(
                one["get"]["responses"]["200"]["headers"]["ETag"].is_object(),
                "{path}"
            );
            for write in writes {
                assert!(one[write]["responses"]["412"].is_object(), "{path} {write}");
            }
        }
        for path in MOVES_ACCOUNT {
            let one = &doc["paths"][path];
            let write = if path.ends_with("/creditLimit") {
                "put"
            } else {
                "post"
            };
            assert!(one[write]["responses"]["412"].is_object(), "{path}");
            let named = one[write]["parameters"]
                .as_array()
                .is_some_and(|all| all.iter().any(|p| p["name"] == IF_MATCH));
            assert!(named, "{path} takes If-Match");
        }
        let limit = &doc["paths"]["/api/v1.0/customers/{id}/account/creditLimit"]["put"];
        assert!(limit["responses"]["200"]["headers"]["ETag"].is_object());
        assert!(limit["responses"]["202"]["headers"].get("ETag").is_none());
        let list = &doc["paths"]["/api/v1.0/customers"];
        assert!(list["get"]["responses"].get("304").is_none());
    }

    #[test]
    fn allow_names_the_methods_of_a_route() {
        assert_eq!(
            crate::openapi::allowed_methods("/api/v1.0/customers/{id}/account/alerts"),
            Some("GET, HEAD, PUT")
        );
        assert_eq!(
            crate::openapi::allowed_methods("/health/ready"),
            Some("GET, HEAD")
        );
        assert_eq!(crate::openapi::allowed_methods("/nowhere"), None);
    }
}
