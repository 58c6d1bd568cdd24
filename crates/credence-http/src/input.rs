//! Request bodies into domain inputs. Every scalar arrives as text, and the scalar readers
//! here decide what is a boolean or a number, the same way for JSON, forms, multipart and
//! query strings (form leniency: `yes` for `true`, `1e3` for 1000). A JSON object where a
//! scalar belongs is `invalid_param_type` naming the field; `paymentTypes` and `contacts` accept real JSON, JSON text in a form field, and
//! the `[{"id"=7},{"id"=8}]` syntax; `documents` real JSON or JSON text. The multipart
//! part `imageFile` is handed over as the customer's new logo.
//!
//! Fields a client may not set (`id`, `uuid`, `dateCreated`, `lastUpdated`, `balance`, ...)
//! and unknown fields are ignored, as lenient form APIs do.

use credence_domain::documents::DocumentLinkInput;
use credence_domain::field::Field;
use std::str::FromStr;

use credence_domain::customers::CustomerKey;
use credence_domain::ids::CustomerId;
use credence_domain::input::flag;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde_json::Value;
use uuid::Uuid;

use crate::body::{BodyFields, RawField};
use crate::customers::form::ContactForm;
#[cfg(test)]
use crate::customers::form::customer_text;
use crate::strict::json_text;
use crate::wording::WireError;

/// Parses a boolean as forms write them: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
///
/// # Errors
/// `invalid_param_type` naming `field` otherwise.
pub(crate) fn parse_bool(field: &'static str, text: &str) -> Result<bool, WireError> {
    flag(text).ok_or(WireError::InvalidType(field))
}

/// Parses an integer: digits, or a number with no fraction (`37.0`, `3.7e1`), which JSON
/// holds to be the same integer.
///
/// # Errors
/// `invalid_param_type` naming `field` when the text is no integer.
pub(crate) fn parse_int(field: &'static str, text: &str) -> Result<i64, WireError> {
    let text = text.trim();
    i64::from_str(text)
        .ok()
        .or_else(|| {
            parse_decimal(field, text)
                .ok()
                .filter(|d| d.fract().is_zero())
                .and_then(|d| d.to_i64())
        })
        .ok_or(WireError::InvalidType(field))
}

/// Parses a finite floating-point number (coordinates only; money is never a float).
///
/// # Errors
/// `invalid_param_type` naming `field` when the text is no number.
pub(crate) fn parse_float(field: &'static str, text: &str) -> Result<f64, WireError> {
    f64::from_str(text.trim())
        .ok()
        .filter(|f| f.is_finite())
        .ok_or(WireError::InvalidType(field))
}

/// Parses an exact decimal, accepting exponents (`1e3`) as JSON numbers may carry them.
///
/// # Errors
/// `invalid_param_type` naming `field` when the text is no decimal number.
pub(crate) fn parse_decimal(field: &'static str, text: &str) -> Result<Decimal, WireError> {
    let text = text.trim();
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| WireError::InvalidType(field))
}

/// The customer a path segment names: a number or a UUID.
///
/// # Errors
/// `invalid_param_type` naming `id` otherwise.
pub(crate) fn customer_key(text: &str) -> Result<CustomerKey, WireError> {
    if let Ok(id) = text.parse::<i64>() {
        return Ok(CustomerKey::Id(CustomerId(id)));
    }
    Uuid::parse_str(text)
        .map(CustomerKey::Uuid)
        .map_err(|_| WireError::InvalidType("id"))
}

/// A scalar field: absent, `null`, or its text.
///
/// # Errors
/// `invalid_param_type` naming the field when it holds an array or object.
pub(crate) fn scalar(fields: &BodyFields, name: &'static str) -> Result<Field<String>, WireError> {
    match fields.get(name) {
        None => Ok(Field::Absent),
        Some(RawField::Null) => Ok(Field::Null),
        Some(RawField::Text(text)) => Ok(Field::Value(text.clone())),
        Some(RawField::Json(_)) => Err(WireError::InvalidType(name)),
    }
}

/// A scalar field's non-blank text, if any.
///
/// # Errors
/// As [`scalar`].
pub(crate) fn given(fields: &BodyFields, name: &'static str) -> Result<Option<String>, WireError> {
    Ok(scalar(fields, name)?
        .value()
        .filter(|t| !t.trim().is_empty())
        .cloned())
}

/// An exact amount (a JSON number or string, or form text); `None` when absent, `null` or
/// blank. The domain then refuses more places than the currency has.
///
/// # Errors
/// `invalid_param_type` naming the field when it is no decimal number.
pub(crate) fn amount(
    fields: &BodyFields,
    name: &'static str,
) -> Result<Option<Decimal>, WireError> {
    given(fields, name)?
        .map(|text| parse_decimal(name, &text))
        .transpose()
}

/// As [`amount`], but required.
///
/// # Errors
/// `missing_param` when absent, else as [`amount`].
pub(crate) fn required_amount(
    fields: &BodyFields,
    name: &'static str,
) -> Result<Decimal, WireError> {
    amount(fields, name)?.ok_or(WireError::Missing(name))
}

/// `documents`: a JSON array of `{uuid?, contentUrl, mimeType, fileName,
/// description, thumbUrl, internal}`, or that JSON as text. `null` or blank text attaches
/// nothing. Members are handed over as text (`internal: true` as `"true"`); the domain
/// validates them.
pub(crate) fn documents(fields: &BodyFields) -> Result<Field<Vec<DocumentLinkInput>>, WireError> {
    let bad = |why: &str| WireError::invalid("documents", format!("documents must be {why}."));
    let value = match fields.get("documents") {
        None => return Ok(Field::Absent),
        Some(RawField::Null) => return Ok(Field::Null),
        Some(RawField::Text(text)) if text.trim().is_empty() => return Ok(Field::Null),
        Some(RawField::Text(text)) => {
            json_text("documents", text)?.ok_or_else(|| bad("a JSON array"))?
        }
        Some(RawField::Json(value)) => value.clone(),
    };
    let Value::Array(items) = value else {
        return Err(bad("a JSON array"));
    };
    let member = |map: &serde_json::Map<String, Value>, key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(bad("an array of objects whose members are text")),
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(map) = item else {
                return Err(bad("an array of objects"));
            };
            Ok(DocumentLinkInput {
                uuid: member(map, "uuid")?,
                content_url: member(map, "contentUrl")?,
                mime_type: member(map, "mimeType")?,
                file_name: member(map, "fileName")?,
                description: member(map, "description")?,
                thumb_url: member(map, "thumbUrl")?,
                internal: member(map, "internal")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Field::Value)
}

const PAYMENT_TYPE_ID: &str = "payment type id";

fn bad_payment_types() -> WireError {
    WireError::InvalidType(PAYMENT_TYPE_ID)
}

/// `paymentTypes`: every value sent (forms may repeat the key), concatenated.
pub(crate) fn payment_types(fields: &BodyFields) -> Result<Field<Vec<String>>, WireError> {
    let mut result: Field<Vec<String>> = Field::Absent;
    for raw in fields.all("paymentTypes") {
        let ids = match raw {
            RawField::Null => None,
            RawField::Text(text) if text.trim().is_empty() => None,
            RawField::Text(text) => Some(payment_type_text(text)?),
            RawField::Json(value) => Some(payment_type_ids(value)?),
        };
        result = match (result, ids) {
            (Field::Value(mut all), Some(ids)) => {
                all.extend(ids);
                Field::Value(all)
            }
            (Field::Value(all), None) => Field::Value(all),
            (_, Some(ids)) => Field::Value(ids),
            (_, None) => Field::Null,
        };
    }
    Ok(result)
}

/// Text of a form field: JSON, the `[{"id"=7}]` syntax, or one plain id.
fn payment_type_text(text: &str) -> Result<Vec<String>, WireError> {
    let text = text.trim();
    if let Some(value) = json_text("paymentTypes", text)? {
        return payment_type_ids(&value);
    }
    if text.starts_with('[') || text.starts_with('{') {
        let value =
            json_text("paymentTypes", &text.replace('=', ":"))?.ok_or_else(bad_payment_types)?;
        return payment_type_ids(&value);
    }
    Ok(vec![text.to_owned()])
}

fn payment_type_ids(value: &Value) -> Result<Vec<String>, WireError> {
    match value {
        Value::Array(items) => items.iter().map(payment_type_id).collect(),
        single => payment_type_id(single).map(|id| vec![id]),
    }
}

fn payment_type_id(value: &Value) -> Result<String, WireError> {
    match value {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Value::Object(map) => map.get("id").or_else(|| map.get("reference")).map_or_else(
            || Err(bad_payment_types()),
            |id| match id {
                Value::Object(_) | Value::Array(_) => Err(bad_payment_types()),
                scalar => payment_type_id(scalar),
            },
        ),
        _ => Err(bad_payment_types()),
    }
}

/// `contacts`: a JSON array of `{name, email, phone}`, or that JSON as text.
pub(crate) fn contacts(fields: &BodyFields) -> Result<Field<Vec<ContactForm>>, WireError> {
    let bad = || WireError::InvalidType("contacts");
    let member = |map: &serde_json::Map<String, Value>, key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad()),
    };
    json_array(fields, "contacts", |item| {
        let Value::Object(map) = item else {
            return Err(bad());
        };
        Ok(ContactForm {
            name: member(map, "name")?,
            email: member(map, "email")?,
            phone: member(map, "phone")?,
        })
    })
}

/// `customerProjects`: a JSON array of `{name}` (other members, such as `id`, are ignored:
/// a list given replaces the whole list), or that JSON as text.
pub(crate) fn customer_projects(fields: &BodyFields) -> Result<Field<Vec<String>>, WireError> {
    let bad = || WireError::InvalidType("customerProjects");
    json_array(fields, "customerProjects", |item| match item {
        Value::Object(map) => match map.get("name") {
            Some(Value::String(name)) => Ok(name.clone()),
            // A missing or null name is a blank one, which the domain refuses by name.
            None | Some(Value::Null) => Ok(String::new()),
            Some(_) => Err(bad()),
        },
        _ => Err(bad()),
    })
}

/// A field that holds a JSON array, sent as JSON or as JSON text, each item read by `item`:
/// `Absent` when it is not sent and `Null` when it is null or blank; anything but an array is
/// `InvalidType(name)`.
fn json_array<T>(
    fields: &BodyFields,
    name: &'static str,
    item: impl Fn(&Value) -> Result<T, WireError>,
) -> Result<Field<Vec<T>>, WireError> {
    let bad = || WireError::InvalidType(name);
    let value = match fields.get(name) {
        None => return Ok(Field::Absent),
        Some(RawField::Null) => return Ok(Field::Null),
        Some(RawField::Text(text)) if text.trim().is_empty() => return Ok(Field::Null),
        Some(RawField::Text(text)) => json_text(name, text)?.ok_or_else(bad)?,
        Some(RawField::Json(value)) => value.clone(),
    };
    let Value::Array(items) = value else {
        return Err(bad());
    };
    items
        .iter()
        .map(item)
        .collect::<Result<Vec<_>, _>>()
        .map(Field::Value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BodyFields {
        BodyFields::from_text(pairs)
    }

    #[test]
    fn an_integer_may_be_written_with_a_zero_fraction() {
        for (text, n) in [("37", 37), (" -37.0 ", -37), ("3.7e1", 37), ("-0.00", 0)] {
            assert_eq!(parse_int("n", text), Ok(n), "{text}");
        }
        for bad in ["37.5", "1e30", "x", ""] {
            assert_eq!(
                parse_int("n", bad),
                Err(WireError::InvalidType("n")),
                "{bad}"
            );
        }
    }

    #[test]
    fn payment_types_accept_the_seed_syntax_json_and_plain_ids() {
        for text in [
            r#"[{"id"=7},{"id"=8}]"#,
            r#"[{"id":7},{"id":"8"}]"#,
            "[7, 8]",
        ] {
            let input = customer_text(form(&[("paymentTypes", text)])).unwrap();
            assert_eq!(
                input.payment_types,
                Field::Value(vec!["7".to_owned(), "8".to_owned()]),
                "{text}"
            );
        }
        let repeated =
            customer_text(form(&[("paymentTypes", "7"), ("paymentTypes", "8")])).unwrap();
        assert_eq!(
            repeated.payment_types,
            Field::Value(vec!["7".to_owned(), "8".to_owned()])
        );
        assert_eq!(
            customer_text(form(&[("paymentTypes", "")]))
                .unwrap()
                .payment_types,
            Field::Null
        );
        for bad in [r#"[{"id"=}]"#, r#"[{"x":1}]"#, "[[1]]"] {
            assert_eq!(
                customer_text(form(&[("paymentTypes", bad)])).unwrap_err(),
                WireError::InvalidType(PAYMENT_TYPE_ID)
            );
        }
    }

    #[test]
    fn structured_values_in_scalar_fields_are_type_errors() {
        let fields = BodyFields::new(vec![(
            "name".into(),
            RawField::Json(serde_json::json!({"a": 1})),
        )]);
        assert_eq!(
            customer_text(fields).unwrap_err(),
            WireError::InvalidType("name")
        );
    }

    #[test]
    fn contacts_come_from_json_text() {
        let input = customer_text(form(&[(
            "contacts",
            r#"[{"name":"Ann","email":null,"phone":"123"}]"#,
        )]))
        .unwrap();
        assert_eq!(
            input.contacts,
            Field::Value(vec![ContactForm {
                name: Some("Ann".into()),
                email: None,
                phone: Some("123".into())
            }])
        );
        assert!(customer_text(form(&[("contacts", "{")])).is_err());
    }

    #[test]
    fn documents_come_from_json_text_as_text_members() {
        let input = customer_text(form(&[(
            "documents",
            r#"[{"contentUrl": "http://x.test/a.pdf", "internal": true, "thumbUrl": null}, {"uuid": "8acac590-cc94-45aa-a237-18a9d268f431"}]"#,
        )]))
        .unwrap();
        assert_eq!(
            input.documents,
            Field::Value(vec![
                DocumentLinkInput {
                    content_url: Some("http://x.test/a.pdf".into()),
                    internal: Some("true".into()),
                    ..DocumentLinkInput::default()
                },
                DocumentLinkInput {
                    uuid: Some("8acac590-cc94-45aa-a237-18a9d268f431".into()),
                    ..DocumentLinkInput::default()
                },
            ])
        );
        assert_eq!(
            customer_text(form(&[("documents", "")])).unwrap().documents,
            Field::Null
        );
        for bad in [
            "{",
            r#"{"contentUrl": "x"}"#,
            "[1]",
            r#"[{"fileName": ["a"]}]"#,
        ] {
            let error = customer_text(form(&[("documents", bad)])).unwrap_err();
            assert!(
                matches!(
                    error,
                    WireError::Invalid {
                        field: "documents",
                        ..
                    }
                ),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn projects_come_from_json_text() {
        let input = customer_text(form(&[(
            "customerProjects",
            r#"[{"name": "Floor installation"}, {"id": 3, "name": "General"}]"#,
        )]))
        .unwrap();
        assert_eq!(
            input.customer_projects,
            Field::Value(vec!["Floor installation".to_owned(), "General".to_owned()])
        );
        assert_eq!(
            customer_text(form(&[("customerProjects", "")]))
                .unwrap()
                .customer_projects,
            Field::Null
        );
        assert!(customer_text(form(&[("customerProjects", r#"[{"name": 1}]"#)])).is_err());
    }
}
