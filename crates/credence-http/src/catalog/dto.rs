//! Products, task templates and tasks, on both faces.
//!
//! The marketplace writes snake_case views inside `<x>_response` envelopes. The
//! JSON view is built from the typed DTOs below; the XML view is derived from that same JSON
//! value by [`xml_view`] (links become attribute-only elements, arrays become repeated
//! elements), so the two formats cannot disagree on content. The back office writes the
//! product's detail representation plus `price` and `currency`, as plain back-office bodies.
//!
//! Amounts are exact JSON numbers at the currency's scale ([`crate::dto::exact`]), never `f64`.

use credence_domain::catalog::{
    AttributeKind, AttributeValue, Localized, Product, ProductAttribute, Task, TaskTemplate,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::marketplace_dto::{BASE, LinkRelDto, RequestStatusDto};
use crate::dto::{PagingDto, exact, timestamp};

/// Localized texts as `{"en": "..", "de": ".."}`, in the order en, de, fr.
pub(crate) fn texts(localized: &Localized) -> Map<String, Value> {
    localized
        .iter()
        .map(|(locale, text)| (locale.as_str().to_owned(), Value::String(text.clone())))
        .collect()
}

fn json_link(href: String, rel: &'static str) -> Vec<LinkRelDto> {
    vec![LinkRelDto {
        href,
        rel,
        media_type: "application/json",
    }]
}

/// `/api/marketplace/v2/products/{code}`.
pub(crate) fn product_href(code: &str) -> String {
    format!("{BASE}/products/{code}")
}

/// `/api/marketplace/v2/customer/task_templates/{code}`.
pub(crate) fn template_href(code: &str) -> String {
    format!("{BASE}/customer/task_templates/{code}")
}

/// `/api/marketplace/v2/customer/tasks/{id}`.
pub(crate) fn task_href(id: impl std::fmt::Display) -> String {
    format!("{BASE}/customer/tasks/{id}")
}

/// A product in the index view: what a list shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductIndexDto {
    /// `rel=product`, to the detail view.
    pub link: Vec<LinkRelDto>,
    /// The product code.
    #[schema(example = "TextCreate")]
    pub code: String,
    /// Titles by language.
    #[schema(value_type = Object, example = json!({"en": "Text creation"}))]
    pub titles: Map<String, Value>,
    /// Whether it can be ordered now.
    pub available: bool,
}

impl From<&Product> for ProductIndexDto {
    fn from(product: &Product) -> Self {
        Self {
            link: json_link(product_href(product.code.as_str()), "product"),
            code: product.code.to_string(),
            titles: texts(&product.titles),
            available: product.available,
        }
    }
}

/// An option of an `option` attribute.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributeOptionDto {
    /// Titles by language.
    #[schema(value_type = Object, example = json!({"en": "German"}))]
    pub titles: Map<String, Value>,
    /// The value a template gives.
    #[schema(example = "de")]
    pub value: String,
}

/// A product attribute .
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductAttributeDto {
    /// Unique within the product.
    #[schema(example = "research_language")]
    pub code: String,
    /// `string`, `option`, `integer` or `date`.
    #[serde(rename = "type")]
    #[schema(example = "option")]
    pub kind: &'static str,
    /// Whether a template must give it.
    pub is_mandatory: bool,
    /// Titles by language.
    #[schema(value_type = Object)]
    pub titles: Map<String, Value>,
    /// Help texts by language.
    #[schema(value_type = Object)]
    pub helps: Map<String, Value>,
    /// `string` only, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// `string` only, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// `option` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<AttributeOptionDto>>,
}

impl From<&ProductAttribute> for ProductAttributeDto {
    fn from(attribute: &ProductAttribute) -> Self {
        let (min_length, max_length, options) = match &attribute.kind {
            AttributeKind::String {
                min_length,
                max_length,
            } => (*min_length, *max_length, None),
            AttributeKind::Option(options) => (
                None,
                None,
                Some(
                    options
                        .iter()
                        .map(|o| AttributeOptionDto {
                            titles: texts(&o.titles),
                            value: o.value.clone(),
                        })
                        .collect(),
                ),
            ),
            AttributeKind::Integer | AttributeKind::Date => (None, None, None),
        };
        Self {
            code: attribute.code.clone(),
            kind: attribute.kind.name(),
            is_mandatory: attribute.is_mandatory,
            titles: texts(&attribute.titles),
            helps: texts(&attribute.helps),
            min_length,
            max_length,
            options,
        }
    }
}

/// A product in the detail view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductDto {
    /// `rel=self`.
    pub link: Vec<LinkRelDto>,
    /// The product code.
    #[schema(example = "product_research")]
    pub code: String,
    /// Titles by language.
    #[schema(value_type = Object, example = json!({"en": "Product Research"}))]
    pub titles: Map<String, Value>,
    /// Descriptions by language.
    #[schema(value_type = Object)]
    pub descriptions: Map<String, Value>,
    /// Whether it can be ordered now (withdrawn products stay readable).
    pub available: bool,
    /// What a template configures.
    pub attributes: Vec<ProductAttributeDto>,
}

impl From<&Product> for ProductDto {
    fn from(product: &Product) -> Self {
        Self {
            link: json_link(product_href(product.code.as_str()), "self"),
            code: product.code.to_string(),
            titles: texts(&product.titles),
            descriptions: texts(&product.descriptions),
            available: product.available,
            attributes: product.attributes.iter().map(Into::into).collect(),
        }
    }
}

/// A back-office product: the catalog's detail fields plus the unit `price` and its `currency`,
/// and `href`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackOfficeProductDto {
    /// The product code.
    #[schema(example = "product_research")]
    pub code: String,
    /// Titles by language.
    #[schema(value_type = Object, example = json!({"en": "Product Research"}))]
    pub titles: Map<String, Value>,
    /// Descriptions by language.
    #[schema(value_type = Object)]
    pub descriptions: Map<String, Value>,
    /// Whether it can be ordered.
    pub available: bool,
    /// What a template configures.
    pub attributes: Vec<ProductAttributeDto>,
    /// The price of one unit, exact.
    #[schema(value_type = f64, example = 15.00)]
    pub price: Value,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// `/api/v1.0/products/{code}`.
    pub href: String,
}

impl From<&Product> for BackOfficeProductDto {
    fn from(product: &Product) -> Self {
        Self {
            code: product.code.to_string(),
            titles: texts(&product.titles),
            descriptions: texts(&product.descriptions),
            available: product.available,
            attributes: product.attributes.iter().map(Into::into).collect(),
            price: exact(product.price.amount()),
            currency: product.price.currency().code().to_owned(),
            href: crate::dto::href("products", product.code.as_str()),
        }
    }
}

/// An attribute value of a template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributeValueDto {
    /// The attribute's code.
    #[schema(example = "research_language")]
    pub code: String,
    /// Its value.
    #[schema(example = "de")]
    pub value: String,
}

/// The product a template configures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateProductDto {
    /// The product code.
    #[schema(example = "product_research")]
    pub code: String,
    /// The attribute values, checked against the product.
    pub attributes: Vec<AttributeValueDto>,
}

/// A task template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskTemplateDto {
    /// `rel=self`.
    pub link: Vec<LinkRelDto>,
    /// Unique per customer.
    #[schema(example = "research_de")]
    pub code: String,
    /// Name.
    pub name: String,
    /// Titles by language.
    #[schema(value_type = Object)]
    pub titles: Map<String, Value>,
    /// Descriptions by language.
    #[schema(value_type = Object)]
    pub descriptions: Map<String, Value>,
    /// The product and its attribute values.
    pub product: TemplateProductDto,
}

fn values(values: &[AttributeValue]) -> Vec<AttributeValueDto> {
    values
        .iter()
        .map(|v| AttributeValueDto {
            code: v.code.clone(),
            value: v.value.clone(),
        })
        .collect()
}

impl From<&TaskTemplate> for TaskTemplateDto {
    fn from(template: &TaskTemplate) -> Self {
        Self {
            link: json_link(template_href(&template.code), "self"),
            code: template.code.clone(),
            name: template.name.clone(),
            titles: texts(&template.titles),
            descriptions: texts(&template.descriptions),
            product: TemplateProductDto {
                code: template.product.to_string(),
                attributes: values(&template.attributes),
            },
        }
    }
}

/// `{"code": ..}`: the template or product a task refers to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeRefDto {
    /// The code.
    pub code: String,
}

/// An input item of a task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskInputDto {
    /// Which item.
    pub item_code: String,
    /// Its content.
    pub item_content: String,
}

/// A task: an order from a template, priced and admitted against credit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskDto {
    /// `rel=self` (marketplace only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<LinkRelDto>,
    /// Task id.
    #[schema(example = 17)]
    pub id: i64,
    /// The customer's own reference.
    pub customer_ref: Option<String>,
    /// The template it was made from.
    pub template: CodeRefDto,
    /// The product ordered.
    pub product: CodeRefDto,
    /// Input items.
    pub input: Vec<TaskInputDto>,
    /// Units.
    #[schema(example = 2)]
    pub quantity: u32,
    /// Price × quantity, exact, at the currency's scale.
    #[schema(value_type = f64, example = 30.00)]
    pub amount: Value,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// `submitted`, `in_progress`, `finished` or `cancelled`.
    #[schema(example = "submitted")]
    pub state: &'static str,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_at: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub updated_at: String,
}

impl TaskDto {
    /// The task; with a `self` link on the marketplace (`linked`).
    pub(crate) fn new(task: &Task, linked: bool) -> Self {
        Self {
            link: if linked {
                json_link(task_href(task.id), "self")
            } else {
                Vec::new()
            },
            id: task.id.0,
            customer_ref: task.customer_ref.clone(),
            template: CodeRefDto {
                code: task.template.clone(),
            },
            product: CodeRefDto {
                code: task.product.to_string(),
            },
            input: task
                .input
                .iter()
                .map(|i| TaskInputDto {
                    item_code: i.code.clone(),
                    item_content: i.value.clone(),
                })
                .collect(),
            quantity: task.quantity,
            amount: exact(task.amount.amount()),
            currency: task.amount.currency().code().to_owned(),
            state: task.state.as_str(),
            created_at: timestamp(task.created_at),
            updated_at: timestamp(task.updated_at),
        }
    }
}

/// The inside of `products_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductsResponseDto {
    /// Outcome.
    pub request_status: RequestStatusDto,
    /// The available products, index view.
    pub products: Vec<ProductIndexDto>,
}

/// `GET /api/marketplace/v2/products/` (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductsEnvelopeDto {
    /// The envelope.
    pub products_response: ProductsResponseDto,
}

/// The inside of `product_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductResponseDto {
    /// Outcome.
    pub request_status: RequestStatusDto,
    /// The product, detail view (absent on errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductDto>,
}

/// `GET /api/marketplace/v2/products/{code}` (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductEnvelopeDto {
    /// The envelope.
    pub product_response: ProductResponseDto,
}

/// The inside of `task_template_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskTemplateResponseDto {
    /// Outcome; on a `400` one `invalid_attribute` error per failing attribute.
    pub request_status: RequestStatusDto,
    /// The template (absent on errors and deletes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_template: Option<TaskTemplateDto>,
}

/// One task template (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskTemplateEnvelopeDto {
    /// The envelope.
    pub task_template_response: TaskTemplateResponseDto,
}

/// The inside of `task_templates_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskTemplatesResponseDto {
    /// Outcome.
    pub request_status: RequestStatusDto,
    /// The caller's templates.
    pub task_templates: Vec<TaskTemplateDto>,
}

/// The caller's task templates (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskTemplatesEnvelopeDto {
    /// The envelope.
    pub task_templates_response: TaskTemplatesResponseDto,
}

/// The inside of `task_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskResponseDto {
    /// Outcome; a credit refusal's error carries `available` and `requested`.
    pub request_status: RequestStatusDto,
    /// The task (absent on errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskDto>,
}

/// One task (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskEnvelopeDto {
    /// The envelope.
    pub task_response: TaskResponseDto,
}

/// The inside of `tasks_response`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TasksResponseDto {
    /// Outcome.
    pub request_status: RequestStatusDto,
    /// Paging.
    pub paging: PagingDto,
    /// One page of the caller's tasks, newest first.
    pub tasks: Vec<TaskDto>,
}

/// A page of the caller's tasks (JSON view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TasksEnvelopeDto {
    /// The envelope.
    pub tasks_response: TasksResponseDto,
}

/// The XML view of a marketplace entity, derived from its JSON view: a `link` array becomes
/// one attribute-only `<link href=".." rel=".." type="application/xml"/>`, and every other
/// array a run of repeated elements named after the field (`<products>..</products>
/// <products>..</products>`), marked for the writer with a leading `*`.
pub(crate) fn xml_view(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                match child {
                    Value::Array(items) if key == "link" => {
                        if let Some(Value::Object(first)) = items.first() {
                            let mut link = Map::new();
                            for (name, text) in first {
                                let text = if name == "type" {
                                    Value::String("application/xml".to_owned())
                                } else {
                                    text.clone()
                                };
                                link.insert(format!("@{name}"), text);
                            }
                            out.insert(key.clone(), Value::Object(link));
                        }
                    }
                    Value::Array(items) => {
                        out.insert(
                            format!("*{key}"),
                            Value::Array(items.iter().map(xml_view).collect()),
                        );
                    }
                    other => {
                        out.insert(key.clone(), xml_view(other));
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The two views of a marketplace envelope `{root: {"request_status": .., ...}}`: the JSON
/// document as is, and the inside of the XML root with [`xml_view`] applied to everything
/// but `request_status` (whose `errors` keep their `<errors><error>` shape).
pub(crate) fn envelope_views(root: &str, json: &Value) -> Option<Value> {
    let inner = json.get(root)?.as_object()?;
    let mut xml = Map::new();
    for (key, child) in inner {
        if key == "request_status" {
            xml.insert(key.clone(), child.clone());
            continue;
        }
        match child {
            Value::Array(items) => {
                xml.insert(
                    format!("*{key}"),
                    Value::Array(items.iter().map(xml_view).collect()),
                );
            }
            other => {
                xml.insert(key.clone(), xml_view(other));
            }
        }
    }
    Some(Value::Object(xml))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_attributes_and_arrays_repeat() {
        let json = serde_json::json!({"list_response": {
            "request_status": {"errors": []},
            "items": [{"link": [{"href": "/x", "rel": "self", "type": "application/json"}], "tags": ["a"]}],
        }});
        let xml = envelope_views("list_response", &json).unwrap();
        assert_eq!(
            xml,
            serde_json::json!({
                "request_status": {"errors": []},
                "*items": [{"link": {"@href": "/x", "@rel": "self", "@type": "application/xml"}, "*tags": ["a"]}],
            })
        );
    }
}
