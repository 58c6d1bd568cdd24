//! The test that ties a request's typed form to its OpenAPI schema: the reader must read every
//! property the schema publishes, by that name.

use serde_json::{Value, json};

use crate::body::{BodyFields, RawField};
use crate::wording::WireError;

/// A reader under test, its result dropped.
pub(crate) type Reader = fn(&BodyFields) -> Result<(), WireError>;

/// For each `(schema, reader)`: a body holding every property of the schema, each with the
/// text `sample(name)` gives, is accepted; and with any one property made a JSON object
/// instead, it is refused as `invalid_param_type` naming that property. So no documented
/// property goes unread, and none is read by another name.
///
/// # Panics
/// When a reader does not read its schema's properties, or a schema has none.
pub(crate) fn readers_read_every_property(
    readers: &[(&str, Reader)],
    sample: fn(&str) -> &'static str,
) {
    check(
        readers,
        &|name| RawField::Text(sample(name).to_owned()),
        &|_| RawField::Json(json!({})),
    );
}

/// As [`readers_read_every_property`], for the bodies that are nested documents (products,
/// task templates, tasks): `sample(name)` is a JSON value the property accepts, and a
/// property is broken by sending it in another shape (an array for an object, an object for
/// anything else).
///
/// # Panics
/// As [`readers_read_every_property`].
pub(crate) fn documents_read_every_property(readers: &[(&str, Reader)], sample: fn(&str) -> Value) {
    check(
        readers,
        &|name| match sample(name) {
            Value::String(text) => RawField::Text(text),
            other => RawField::Json(other),
        },
        &|good| match good {
            RawField::Json(Value::Object(_)) => RawField::Json(json!([])),
            _ => RawField::Json(json!({})),
        },
    );
}

/// The names of the properties of the document's schema `schema`.
///
/// # Panics
/// When the schema has no properties.
pub(crate) fn properties(schema: &str) -> Vec<String> {
    let doc = serde_json::to_value(crate::openapi::openapi()).unwrap_or_default();
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema} has no properties"))
        .keys()
        .cloned()
        .collect()
}

fn check(
    readers: &[(&str, Reader)],
    sample: &dyn Fn(&str) -> RawField,
    broken: &dyn Fn(&RawField) -> RawField,
) {
    for (schema, read) in readers {
        let properties = properties(schema);
        let body: Vec<(String, RawField)> = properties
            .iter()
            .map(|name| (name.clone(), sample(name)))
            .collect();
        assert_eq!(read(&BodyFields::new(body.clone())), Ok(()), "{schema}");
        for (i, name) in properties.iter().enumerate() {
            let mut wrong = body.clone();
            wrong[i].1 = broken(&body[i].1);
            let refused = read(&BodyFields::new(wrong)).err();
            assert!(
                matches!(&refused, Some(WireError::InvalidType(n)) if n == name),
                "{schema}.{name} is in the OpenAPI schema, but the reader does not read it: {refused:?}"
            );
        }
    }
}
