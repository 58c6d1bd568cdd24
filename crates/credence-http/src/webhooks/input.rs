//! The body of a webhook endpoint's `POST` and `PATCH` into the domain's [`WebhookInput`].
//! `types` is a JSON array of names, or in a form the names comma-separated or the key
//! repeated; the other fields are scalars. Unknown fields are ignored, as everywhere.

use credence_domain::field::Field;
use credence_domain::webhooks::WebhookInput;
use serde_json::Value;

use crate::body::{BodyFields, RawField};
use crate::input::scalar;
use crate::wording::WireError;

/// Reads the fields of an endpoint.
///
/// # Errors
/// `invalid_param_type` naming a field of the wrong shape.
pub(crate) fn webhook_input(fields: &BodyFields) -> Result<WebhookInput, WireError> {
    Ok(WebhookInput {
        url: scalar(fields, "url")?,
        types: types(fields)?,
        description: scalar(fields, "description")?,
        enabled: scalar(fields, "enabled")?,
    })
}

fn types(fields: &BodyFields) -> Result<Field<Vec<String>>, WireError> {
    let bad = || WireError::InvalidType("types");
    let mut result: Field<Vec<String>> = Field::Absent;
    for raw in fields.all("types") {
        let names: Vec<String> = match raw {
            RawField::Null => {
                result = Field::Null;
                continue;
            }
            RawField::Text(text) => text.split(',').map(|t| t.trim().to_owned()).collect(),
            RawField::Json(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            RawField::Json(_) => return Err(bad()),
        };
        result = match result {
            Field::Value(mut all) => {
                all.extend(names);
                Field::Value(all)
            }
            _ => Field::Value(names),
        };
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_as_an_array_or_as_form_text() {
        let json = BodyFields::new(vec![(
            "types".into(),
            RawField::Json(serde_json::json!(["task.*", "customer.created"])),
        )]);
        assert_eq!(
            webhook_input(&json).unwrap().types,
            Field::Value(vec!["task.*".into(), "customer.created".into()])
        );
        let form = BodyFields::from_text(&[("types", "task.*, customer.created")]);
        assert_eq!(
            webhook_input(&form).unwrap().types,
            Field::Value(vec!["task.*".into(), "customer.created".into()])
        );
        let object = BodyFields::new(vec![(
            "types".into(),
            RawField::Json(serde_json::json!({"a": 1})),
        )]);
        assert!(matches!(
            webhook_input(&object),
            Err(WireError::InvalidType("types"))
        ));
    }
}
