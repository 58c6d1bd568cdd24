//! The webhook bodies as the API reads them: one type per request, read from any body (JSON,
//! form or multipart) by the fields' wire names, and the source of that request's OpenAPI
//! schema (see `credit/form.rs`). `types` is a JSON array of names, or in a form the names
//! comma-separated or the key repeated; the other fields are scalars. Unknown fields are
//! ignored, as everywhere.

use credence_domain::field::Field;
use credence_domain::webhooks::{EndpointId, WebhookInput};
use serde_json::Value;
use utoipa::ToSchema;

use crate::body::{BodyFields, RawField};
use crate::input::{given, parse_int, scalar};
use crate::wording::WireError;

/// The body of an endpoint's creation (`url` required) or change (the fields sent).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookEndpointForm {
    /// Where events are posted: `http` or `https`, no credentials, no private address.
    #[schema(value_type = Option<String>, example = "https://erp.example.com/hooks/credence")]
    pub(crate) url: Field<String>,
    /// Event types and families (`reservation.*`); `["*"]`, the default, for every event.
    #[schema(value_type = Option<Vec<String>>, example = json!(["reservation.*", "customer.created"]))]
    pub(crate) types: Field<Vec<String>>,
    /// A label.
    #[schema(value_type = Option<String>)]
    pub(crate) description: Field<String>,
    /// Whether events are delivered (default `true`).
    #[schema(value_type = Option<bool>)]
    pub(crate) enabled: Field<String>,
}

impl WebhookEndpointForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `invalid_param_type` naming a field of the wrong shape.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            url: scalar(fields, "url")?,
            types: types(fields)?,
            description: scalar(fields, "description")?,
            enabled: scalar(fields, "enabled")?,
        })
    }

    /// What the domain's rules check.
    pub(crate) fn into_input(self) -> WebhookInput {
        let Self {
            url,
            types,
            description,
            enabled,
        } = self;
        WebhookInput {
            url,
            types,
            description,
            enabled,
        }
    }
}

/// The body of `POST /events/{id}/redeliver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RedeliveryForm {
    /// The endpoint to deliver to.
    #[schema(value_type = i64, example = 7)]
    pub(crate) endpoint_id: EndpointId,
}

impl RedeliveryForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` or `invalid_param_type` naming `endpointId`.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        const NAME: &str = "endpointId";
        let text = given(fields, NAME)?.ok_or(WireError::Missing(NAME))?;
        Ok(Self {
            endpoint_id: EndpointId(parse_int(NAME, &text)?),
        })
    }
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
    use serde_json::json;

    use super::*;

    #[test]
    fn the_readers_read_every_property_of_their_schemas() {
        crate::schema_check::readers_read_every_property(
            &[
                ("WebhookEndpointForm", |f| {
                    WebhookEndpointForm::read(f).map(drop)
                }),
                ("RedeliveryForm", |f| RedeliveryForm::read(f).map(drop)),
            ],
            |_| "7",
        );
    }

    #[test]
    fn types_come_as_an_array_or_as_form_text() {
        let json = BodyFields::new(vec![(
            "types".into(),
            RawField::Json(json!(["task.*", "customer.created"])),
        )]);
        assert_eq!(
            WebhookEndpointForm::read(&json).unwrap().types,
            Field::Value(vec!["task.*".into(), "customer.created".into()])
        );
        let form = BodyFields::from_text(&[("types", "task.*, customer.created")]);
        assert_eq!(
            WebhookEndpointForm::read(&form).unwrap().types,
            Field::Value(vec!["task.*".into(), "customer.created".into()])
        );
        let object = BodyFields::new(vec![("types".into(), RawField::Json(json!({"a": 1})))]);
        assert!(matches!(
            WebhookEndpointForm::read(&object),
            Err(WireError::InvalidType("types"))
        ));
    }
}
