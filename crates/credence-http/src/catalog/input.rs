//! The product, task template and task bodies as the API reads them ([`ProductForm`],
//! [`TemplateForm`], [`TaskForm`]), each the source of its OpenAPI schema, and the step into
//! the domain's inputs. These bodies are nested
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
use utoipa::ToSchema;

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

/// A back-office product body: the catalog's detail fields plus the unit price. The URI names
/// the product; `link`, `code` and `href` in the body are ignored.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct ProductForm {
    /// At least one of `en`, `de`, `fr`.
    #[schema(value_type = Object, example = json!({"en": "Product Research"}))]
    pub(crate) titles: Localized,
    #[schema(value_type = Option<Object>)]
    pub(crate) descriptions: Localized,
    /// Default `true`.
    #[schema(value_type = Option<bool>)]
    pub(crate) available: bool,
    /// Exact decimal (number or string), >= 0, at most the currency's minor-unit digits.
    #[schema(value_type = f64, example = 15.00)]
    pub(crate) price: Money,
    /// ISO 4217.
    #[schema(value_type = String, example = "EUR")]
    pub(crate) currency: CurrencyCode,
    /// As in the detail view: `code`, `type`, `is_mandatory`, `titles`, `helps`,
    /// `min_length`/`max_length` (strings), `options` (`titles`, `value`).
    #[schema(value_type = Option<Vec<crate::catalog::dto::ProductAttributeDto>>)]
    pub(crate) attributes: Vec<ProductAttribute>,
}

impl ProductForm {
    /// Reads the body (a `{"product": {...}}` wrapper is unwrapped).
    ///
    /// # Errors
    /// `missing_param`, `invalid_param` or `invalid_param_type` naming the field; `404` for
    /// an unknown currency.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let object = document(fields, "product");
        let currency = CurrencyCode::parse(&required(&object, "currency")?)
            .map_err(|e| InputError::UnknownCurrency(e.0))?;
        let amount = parse_decimal("price", &required(&object, "price")?)?;
        let price = Money::from_decimal(amount, currency)
            .map_err(|e| WireError::invalid("price", crate::wording::money("price", &e)))?;
        Ok(Self {
            titles: texts(&object, "titles")?,
            descriptions: texts(&object, "descriptions")?,
            available: text(&object, "available")?
                .map(|t| parse_bool("available", &t))
                .transpose()?
                .unwrap_or(true),
            price,
            currency,
            attributes: list(&object, "attributes")?
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The product to save (the price carries the currency).
    pub(crate) fn into_draft(self) -> ProductDraft {
        ProductDraft {
            titles: self.titles,
            descriptions: self.descriptions,
            available: self.available,
            price: self.price,
            attributes: self.attributes,
        }
    }
}

/// The product a template configures, with its attribute values.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct TemplateProductForm {
    #[schema(value_type = String, example = "product_research")]
    pub(crate) code: ProductCode,
    #[schema(value_type = Option<Vec<crate::catalog::dto::AttributeValueDto>>)]
    pub(crate) attributes: Vec<AttributeValue>,
}

/// A task template body (a `{"task_template": {...}}` wrapper is accepted too). `code` is
/// required on `POST`; on `PUT` the URI names the template.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct TemplateForm {
    #[schema(value_type = Option<String>, example = "research_de")]
    pub(crate) code: Option<String>,
    #[schema(value_type = String)]
    pub(crate) name: String,
    #[schema(value_type = Option<Object>)]
    pub(crate) titles: Localized,
    #[schema(value_type = Option<Object>)]
    pub(crate) descriptions: Localized,
    pub(crate) product: TemplateProductForm,
}

impl TemplateForm {
    /// Reads the body: `{"code", "name", "titles", "descriptions", "product": {"code",
    /// "attributes": [{"code", "value"}]}}`; `code` is absent on `PUT`, whose URI names it.
    ///
    /// # Errors
    /// `missing_param`, `invalid_param` or `invalid_param_type` naming the field.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let object = document(fields, "task_template");
        let product = nested(&object, "product")?.ok_or(WireError::Missing("product"))?;
        let attributes = values(&product, "attributes", "code", "value")?;
        let name = text(&object, "name")?.unwrap_or_default();
        let titles = texts(&object, "titles")?;
        let descriptions = texts(&object, "descriptions")?;
        let product = TemplateProductForm {
            code: ProductCode::new(&required(&product, "code")?)?,
            attributes,
        };
        Ok(Self {
            code: text(&object, "code")?,
            name,
            titles,
            descriptions,
            product,
        })
    }

    /// The template to save.
    pub(crate) fn into_draft(self) -> TemplateDraft {
        TemplateDraft {
            name: self.name,
            titles: self.titles,
            descriptions: self.descriptions,
            product: self.product.code,
            attributes: self.product.attributes,
        }
    }
}

/// `{"code": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct CodeForm {
    #[schema(value_type = String)]
    pub(crate) code: String,
}

/// A task order (a `{"task": {...}}` wrapper is accepted too).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct TaskForm {
    #[schema(value_type = Option<String>)]
    pub(crate) customer_ref: Option<String>,
    /// One of the caller's templates.
    pub(crate) template: CodeForm,
    #[schema(value_type = Option<Vec<crate::catalog::dto::TaskInputDto>>)]
    pub(crate) input: Vec<AttributeValue>,
    /// Units, >= 1 (default 1).
    #[schema(value_type = Option<u32>)]
    pub(crate) quantity: u32,
}

impl TaskForm {
    /// Reads the body: `{"customer_ref", "template": {"code"}, "input": [{"item_code",
    /// "item_content"}], "quantity"}`; `quantity` defaults to 1.
    ///
    /// # Errors
    /// `missing_param`, `invalid_param` or `invalid_param_type` naming the field.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let object = document(fields, "task");
        let code = match object.get("template") {
            // `"template": "code"` is read as the code itself.
            Some(Value::String(code)) if !code.trim().is_empty() => code.clone(),
            _ => {
                let template =
                    nested(&object, "template")?.ok_or(WireError::Missing("template"))?;
                required(&template, "code")?
            }
        };
        let input = values(&object, "input", "item_code", "item_content")?;
        let quantity = text(&object, "quantity")?
            .map(|t| {
                u32::try_from(parse_int("quantity", &t)?)
                    .map_err(|_| WireError::InvalidType("quantity"))
            })
            .transpose()?
            .unwrap_or(1);
        Ok(Self {
            customer_ref: text(&object, "customer_ref")?,
            template: CodeForm { code },
            input,
            quantity,
        })
    }

    /// The order to submit (with no idempotency key yet).
    pub(crate) fn into_order(self) -> SubmitTask {
        SubmitTask {
            template: self.template.code,
            customer_ref: self.customer_ref,
            input: self.input,
            quantity: self.quantity,
            idempotency: None,
        }
    }
}

/// A list of `{code, value}` pairs under the names `code` and `value`: `code` required,
/// `value` empty when absent.
fn values(
    object: &Object,
    name: &'static str,
    code: &'static str,
    value: &'static str,
) -> Result<Vec<AttributeValue>, WireError> {
    list(object, name)?
        .iter()
        .map(|item| {
            Ok(AttributeValue {
                code: required(item, code)?,
                value: text(item, value)?.unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::body::RawField;

    /// A JSON value each property accepts.
    fn sample(name: &str) -> Value {
        match name {
            "titles" | "descriptions" => json!({"en": "Research"}),
            "attributes" | "input" => json!([]),
            "price" => json!("15.00"),
            "currency" => json!("EUR"),
            "available" => json!("true"),
            "quantity" => json!("2"),
            "template" | "product" => json!({"code": "research"}),
            _ => json!("research"),
        }
    }

    /// A nested form's body, sent as the outer body's `name` (and nothing else).
    fn inside(fields: &BodyFields, name: &str) -> BodyFields {
        BodyFields::new(vec![(
            name.to_owned(),
            RawField::Json(Value::Object(fields.to_object())),
        )])
    }

    #[test]
    fn the_readers_read_every_property_of_their_schemas() {
        crate::schema_check::documents_read_every_property(
            &[
                ("ProductForm", |f| ProductForm::read(f).map(drop)),
                ("TemplateForm", |f| TemplateForm::read(f).map(drop)),
                ("TemplateProductForm", |f| {
                    TemplateForm::read(&inside(f, "product")).map(drop)
                }),
                ("TaskForm", |f| TaskForm::read(f).map(drop)),
                ("CodeForm", |f| {
                    TaskForm::read(&inside(f, "template")).map(drop)
                }),
            ],
            sample,
        );
    }

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
        let order = TaskForm::read(&fields).unwrap().into_order();
        assert_eq!(
            (order.template.as_str(), order.quantity),
            ("t1", 3),
            "{order:?}"
        );
        assert_eq!(order.input[0].code, "url");
        let bad = BodyFields::new(vec![("quantity".into(), RawField::Text("-1".into()))]);
        assert!(TaskForm::read(&bad).is_err());
    }
}
