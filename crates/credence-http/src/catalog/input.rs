//! Product, task template and task bodies into domain inputs. These bodies are nested
//! documents (localized texts, attribute lists), so they are read as one JSON object
//! ([`BodyFields::to_object`]); in a form, a structured field may be sent as JSON text.
//! Scalars are accepted as JSON strings, numbers or booleans alike, and handed to the domain's
//! parsers as text. Every failure names its field, in the `InputError` texts.
//!
//! A `{"task_template": {...}}` or `{"task": {...}}` wrapper is unwrapped first.

use crate::input::{parse_bool, parse_decimal, parse_int};
use crate::wording::WireError;
use credence_domain::catalog::{
    AttributeKind, AttributeOption, AttributeValue, Localized, ProductAttribute, ProductCode,
    ProductDraft, TemplateDraft, localized,
};
use credence_domain::credit::Money;
use credence_domain::input::InputError;
use credence_domain::services::SubmitTask;
use credence_domain::values::CurrencyCode;
use serde_json::{Map, Value};

use crate::body::BodyFields;

type Object = Map<String, Value>;

/// The body as an object, unwrapped from `{wrapper: {...}}` when that is all it holds.
pub(crate) fn document(fields: &BodyFields, wrapper: &str) -> Object {
    let mut object = fields.to_object();
    if object.len() == 1 {
        if let Some(Value::Object(inner)) = object.remove(wrapper) {
            return inner;
        }
        // Not the wrapper after all: rebuild as sent.
        object = fields.to_object();
    }
    object
}

/// A scalar's text; `None` when absent, `null` or blank.
fn text(object: &Object, name: &'static str) -> Result<Option<String>, WireError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(Value::Array(_) | Value::Object(_)) => Err(WireError::InvalidType(name)),
    }
}

fn required(object: &Object, name: &'static str) -> Result<String, WireError> {
    text(object, name)?.ok_or(WireError::Missing(name))
}

/// A structured field: a JSON value, or JSON text (forms).
fn structured(object: &Object, name: &'static str) -> Result<Option<Value>, WireError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => crate::strict::json_text(name, s)?
            .map(Some)
            .ok_or(WireError::InvalidType(name)),
        Some(other) => Ok(Some(other.clone())),
    }
}

fn list(object: &Object, name: &'static str) -> Result<Vec<Object>, WireError> {
    match structured(object, name)? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(WireError::InvalidType(name)),
            })
            .collect(),
        Some(_) => Err(WireError::InvalidType(name)),
    }
}

fn nested(object: &Object, name: &'static str) -> Result<Option<Object>, WireError> {
    match structured(object, name)? {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(WireError::InvalidType(name)),
    }
}

/// `{"en": "..", "de": ".."}`; empty when absent.
fn texts(object: &Object, name: &'static str) -> Result<Localized, WireError> {
    let Some(map) = nested(object, name)? else {
        return Ok(Localized::new());
    };
    let mut pairs = Vec::new();
    for (language, value) in map {
        let Value::String(text) = value else {
            return Err(WireError::InvalidType(name));
        };
        pairs.push((language, text));
    }
    localized(pairs).map_err(|e| WireError::invalid(name, crate::wording::localized(name, &e)))
}

fn length(object: &Object, name: &'static str) -> Result<Option<u32>, WireError> {
    text(object, name)?
        .map(|t| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| WireError::InvalidType(name))
        })
        .transpose()
}

fn attribute(object: &Object) -> Result<ProductAttribute, WireError> {
    let code = required(object, "code")?;
    let kind = match required(object, "type")?.as_str() {
        "string" => AttributeKind::String {
            min_length: length(object, "min_length")?,
            max_length: length(object, "max_length")?,
        },
        "option" => AttributeKind::Option(
            list(object, "options")?
                .iter()
                .map(|o| {
                    Ok(AttributeOption {
                        titles: texts(o, "titles")?,
                        value: required(o, "value")?,
                    })
                })
                .collect::<Result<_, WireError>>()?,
        ),
        "integer" => AttributeKind::Integer,
        "date" => AttributeKind::Date,
        other => {
            return Err(WireError::invalid(
                "type",
                format!("The attribute type {other} is not one of string, option, integer, date."),
            ));
        }
    };
    Ok(ProductAttribute {
        code,
        kind,
        is_mandatory: text(object, "is_mandatory")?
            .map(|t| parse_bool("is_mandatory", &t))
            .transpose()?
            .unwrap_or(false),
        titles: texts(object, "titles")?,
        helps: texts(object, "helps")?,
    })
}

/// A back-office product body: the detail view's fields plus `price` and `currency`.
/// `available` defaults to `true`; `link`, `code` and `href` are ignored (the URI names it).
///
/// # Errors
/// [`InputError`] naming the field.
pub(crate) fn product_draft(fields: &BodyFields) -> Result<ProductDraft, WireError> {
    let object = document(fields, "product");
    let currency = CurrencyCode::parse(&required(&object, "currency")?)
        .map_err(|e| InputError::UnknownCurrency(e.0))?;
    let amount = parse_decimal("price", &required(&object, "price")?)?;
    let price = Money::from_decimal(amount, currency)
        .map_err(|e| WireError::invalid("price", crate::wording::money("price", &e)))?;
    Ok(ProductDraft {
        titles: texts(&object, "titles")?,
        descriptions: texts(&object, "descriptions")?,
        available: text(&object, "available")?
            .map(|t| parse_bool("available", &t))
            .transpose()?
            .unwrap_or(true),
        price,
        attributes: list(&object, "attributes")?
            .iter()
            .map(attribute)
            .collect::<Result<_, _>>()?,
    })
}

/// A task template body: `{"code", "name", "titles", "descriptions", "product": {"code",
/// "attributes": [{"code", "value"}]}}`; returns the body's `code` too (absent on `PUT`,
/// whose URI names it).
///
/// # Errors
/// [`InputError`] naming the field.
pub(crate) fn template_draft(
    fields: &BodyFields,
) -> Result<(Option<String>, TemplateDraft), WireError> {
    let object = document(fields, "task_template");
    let product = nested(&object, "product")?.ok_or(WireError::Missing("product"))?;
    let attributes = list(&product, "attributes")?
        .iter()
        .map(|a| {
            Ok(AttributeValue {
                code: required(a, "code")?,
                value: text(a, "value")?.unwrap_or_default(),
            })
        })
        .collect::<Result<_, WireError>>()?;
    let draft = TemplateDraft {
        name: text(&object, "name")?.unwrap_or_default(),
        titles: texts(&object, "titles")?,
        descriptions: texts(&object, "descriptions")?,
        product: ProductCode::new(&required(&product, "code")?)?,
        attributes,
    };
    Ok((text(&object, "code")?, draft))
}

/// A task order: `{"customer_ref", "template": {"code"}, "input": [{"item_code",
/// "item_content"}], "quantity"}`; `quantity` defaults to 1.
///
/// # Errors
/// [`InputError`] naming the field.
pub(crate) fn submit_task(fields: &BodyFields) -> Result<SubmitTask, WireError> {
    let object = document(fields, "task");
    let template = match object.get("template") {
        // `"template": "code"` is read as the code itself.
        Some(Value::String(code)) if !code.trim().is_empty() => code.clone(),
        _ => {
            let template = nested(&object, "template")?.ok_or(WireError::Missing("template"))?;
            required(&template, "code")?
        }
    };
    let input = list(&object, "input")?
        .iter()
        .map(|item| {
            Ok(AttributeValue {
                code: required(item, "item_code")?,
                value: text(item, "item_content")?.unwrap_or_default(),
            })
        })
        .collect::<Result<_, WireError>>()?;
    let quantity = text(&object, "quantity")?
        .map(|t| {
            u32::try_from(parse_int("quantity", &t)?)
                .map_err(|_| WireError::InvalidType("quantity"))
        })
        .transpose()?
        .unwrap_or(1);
    Ok(SubmitTask {
        template,
        customer_ref: text(&object, "customer_ref")?,
        input,
        quantity,
        idempotency: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::RawField;

    #[test]
    fn wrappers_are_unwrapped_and_scalars_read_as_text() {
        let fields = BodyFields::new(vec![(
            "task".into(),
            RawField::Json(serde_json::json!({
                "customer_ref": "po-1",
                "template": {"code": "t1"},
                "input": [{"item_code": "url", "item_content": "https://x"}],
                "quantity": 3,
            })),
        )]);
        let order = submit_task(&fields).unwrap();
        assert_eq!(
            (order.template.as_str(), order.quantity),
            ("t1", 3),
            "{order:?}"
        );
        assert_eq!(order.input[0].code, "url");
        let bad = BodyFields::new(vec![("quantity".into(), RawField::Text("-1".into()))]);
        assert!(submit_task(&bad).is_err());
    }
}
