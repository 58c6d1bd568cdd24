//! The product catalog: products with their attributes, in position order.
//!
//! Localized texts and attribute options are stored as JSON text because they are always read
//! and written whole (never filtered on), which keeps one column per map instead of a table
//! per language. Saving a product upserts its row and replaces its attributes in one write
//! transaction, so a reader never sees a product with half of its new attributes.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use credence_domain::catalog::{
    AttributeKind, AttributeOption, AttributeValue, Locale, Localized, Product, ProductAttribute,
    ProductCode, ProductDraft,
};
use credence_domain::credit::Money;
use credence_domain::ports::{Conditioned, Precondition, ProductCatalog, StoreError};
use credence_domain::values::CurrencyCode;
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::Store;
use crate::credit::is_unique_violation;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::{product_attributes, products};

/// How often an upsert is retried after losing a race to insert the same key.
pub(crate) const UPSERT_ATTEMPTS: u32 = 3;

fn localized_object(texts: &Localized) -> Value {
    Value::Object(
        texts
            .iter()
            .map(|(locale, text)| (locale.as_str().to_owned(), Value::String(text.clone())))
            .collect(),
    )
}

/// `{"en": "...", "de": "..."}`.
pub(crate) fn localized_json(texts: &Localized) -> String {
    localized_object(texts).to_string()
}

fn localized_value(what: &str, value: &Value) -> Result<Localized, Failure> {
    let Value::Object(map) = value else {
        return Err(Failure::corrupt(what, "not a JSON object"));
    };
    let mut texts = BTreeMap::new();
    for (language, text) in map {
        let locale = Locale::parse(language)
            .ok_or_else(|| Failure::corrupt(what, format!("unknown language {language}")))?;
        let Value::String(text) = text else {
            return Err(Failure::corrupt(what, "a text is not a string"));
        };
        texts.insert(locale, text.clone());
    }
    Ok(texts)
}

pub(crate) fn parse_localized(what: &str, json: &str) -> Result<Localized, Failure> {
    let value: Value = serde_json::from_str(json).map_err(|e| Failure::corrupt(what, e))?;
    localized_value(what, &value)
}

/// `[{"code": "...", "value": "..."}]`.
pub(crate) fn values_json(values: &[AttributeValue]) -> String {
    Value::Array(
        values
            .iter()
            .map(|v| serde_json::json!({ "code": v.code, "value": v.value }))
            .collect(),
    )
    .to_string()
}

fn text_field(what: &str, item: &Value, field: &str) -> Result<String, Failure> {
    item.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::corrupt(what, format!("an item has no text {field}")))
}

fn json_items(what: &str, json: &str) -> Result<Vec<Value>, Failure> {
    match serde_json::from_str(json).map_err(|e| Failure::corrupt(what, e))? {
        Value::Array(items) => Ok(items),
        _ => Err(Failure::corrupt(what, "not a JSON array")),
    }
}

pub(crate) fn parse_values(what: &str, json: &str) -> Result<Vec<AttributeValue>, Failure> {
    json_items(what, json)?
        .iter()
        .map(|item| {
            Ok(AttributeValue {
                code: text_field(what, item, "code")?,
                value: text_field(what, item, "value")?,
            })
        })
        .collect()
}

/// `[{"value": "...", "titles": {...}}]`.
fn options_json(options: &[AttributeOption]) -> String {
    Value::Array(
        options
            .iter()
            .map(|o| serde_json::json!({ "value": o.value, "titles": localized_object(&o.titles) }))
            .collect(),
    )
    .to_string()
}

fn parse_options(json: &str) -> Result<Vec<AttributeOption>, Failure> {
    let what = "attribute options";
    json_items(what, json)?
        .iter()
        .map(|item| {
            Ok(AttributeOption {
                value: text_field(what, item, "value")?,
                titles: localized_value(
                    what,
                    item.get("titles").unwrap_or(&Value::Object(Map::new())),
                )?,
            })
        })
        .collect()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = products)]
struct ProductRow {
    code: String,
    titles: String,
    descriptions: String,
    available: bool,
    price_minor: i64,
    currency: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = product_attributes)]
struct AttributeRow {
    product_code: String,
    code: String,
    kind: String,
    is_mandatory: bool,
    min_length: Option<i64>,
    max_length: Option<i64>,
    titles: String,
    helps: String,
    options: Option<String>,
}

fn length(value: Option<i64>) -> Result<Option<u32>, Failure> {
    value
        .map(|v| u32::try_from(v).map_err(|e| Failure::corrupt("attribute length", e)))
        .transpose()
}

impl AttributeRow {
    fn into_domain(self) -> Result<ProductAttribute, Failure> {
        let kind = match self.kind.as_str() {
            "string" => AttributeKind::String {
                min_length: length(self.min_length)?,
                max_length: length(self.max_length)?,
            },
            "option" => {
                AttributeKind::Option(parse_options(self.options.as_deref().unwrap_or("[]"))?)
            }
            "integer" => AttributeKind::Integer,
            "date" => AttributeKind::Date,
            other => return Err(Failure::corrupt("attribute kind", other)),
        };
        Ok(ProductAttribute {
            code: self.code,
            kind,
            is_mandatory: self.is_mandatory,
            titles: parse_localized("attribute titles", &self.titles)?,
            helps: parse_localized("attribute helps", &self.helps)?,
        })
    }
}

impl ProductRow {
    fn into_domain(self, attributes: Vec<ProductAttribute>) -> Result<Product, Failure> {
        let currency = CurrencyCode::parse(&self.currency)
            .map_err(|e| Failure::corrupt("product currency", e))?;
        Ok(Product {
            code: ProductCode::new(&self.code).map_err(|e| Failure::corrupt("product code", e))?,
            titles: parse_localized("product titles", &self.titles)?,
            descriptions: parse_localized("product descriptions", &self.descriptions)?,
            available: self.available,
            price: Money::from_minor(self.price_minor, currency),
            attributes,
        })
    }
}

/// Products with their attributes, in the order of `rows`.
fn assemble(conn: &mut AnyConnection, rows: Vec<ProductRow>) -> Result<Vec<Product>, Failure> {
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let mut by_product: BTreeMap<String, Vec<ProductAttribute>> = BTreeMap::new();
    let attributes: Vec<AttributeRow> = product_attributes::table
        .filter(product_attributes::product_code.eq_any(codes))
        .order((
            product_attributes::product_code,
            product_attributes::position,
        ))
        .select(AttributeRow::as_select())
        .load(conn)?;
    for row in attributes {
        let code = row.product_code.clone();
        by_product.entry(code).or_default().push(row.into_domain()?);
    }
    rows.into_iter()
        .map(|row| {
            let attributes = by_product.remove(&row.code).unwrap_or_default();
            row.into_domain(attributes)
        })
        .collect()
}

/// Whether `only_if` holds of the product stored under `code` (see [`super::meets`]).
fn product_meets(
    conn: &mut AnyConnection,
    code: &str,
    only_if: &Precondition<Product>,
) -> Result<bool, Failure> {
    let lock = |c: &mut diesel::PgConnection| {
        let query = products::table.find(code).select(products::code);
        query.for_update().first::<String>(c).optional()?;
        Ok(())
    };
    super::meets(conn, only_if, lock, |conn| load_product(conn, code))
}

/// Whether the stored product is still `as_read`, share-locking its row until the
/// transaction ends on PostgreSQL: a save or withdrawal (which update the row) waits for
/// this transaction, or this one waits for it and then reads what it committed. SQLite's
/// write transaction already excludes every other writer.
pub(crate) fn product_is(conn: &mut AnyConnection, as_read: &Product) -> Result<bool, Failure> {
    let code = as_read.code.as_str();
    if let AnyConnection::Postgresql(c) = conn {
        let query = products::table.find(code).select(products::code);
        query.for_share().first::<String>(c).optional()?;
    }
    Ok(load_product(conn, code)?.as_ref() == Some(as_read))
}

pub(crate) fn load_product(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<Product>, Failure> {
    let row = products::table
        .find(code)
        .select(ProductRow::as_select())
        .first(conn)
        .optional()?;
    Ok(assemble(conn, row.into_iter().collect())?.pop())
}

fn kind_columns(kind: &AttributeKind) -> (Option<i64>, Option<i64>, Option<String>) {
    match kind {
        AttributeKind::String {
            min_length,
            max_length,
        } => (min_length.map(i64::from), max_length.map(i64::from), None),
        AttributeKind::Option(options) => (None, None, Some(options_json(options))),
        AttributeKind::Integer | AttributeKind::Date => (None, None, None),
    }
}

/// Upserts the product row and replaces its attributes; `true` when it inserted the row.
fn save_in(
    conn: &mut AnyConnection,
    code: &str,
    draft: &ProductDraft,
    now: NaiveDateTime,
) -> Result<bool, Failure> {
    let titles = localized_json(&draft.titles);
    let descriptions = localized_json(&draft.descriptions);
    let fields = (
        products::titles.eq(&titles),
        products::descriptions.eq(&descriptions),
        products::available.eq(draft.available),
        products::price_minor.eq(draft.price.minor()),
        products::currency.eq(draft.price.currency().code()),
        products::updated_at.eq(now),
    );
    let updated = diesel::update(products::table.find(code))
        .set(fields)
        .execute(conn)?;
    let created = updated == 0;
    if created {
        diesel::insert_into(products::table)
            .values((products::code.eq(code), fields))
            .execute(conn)?;
    }
    diesel::delete(product_attributes::table.filter(product_attributes::product_code.eq(code)))
        .execute(conn)?;
    for (position, attribute) in draft.attributes.iter().enumerate() {
        let (min_length, max_length, options) = kind_columns(&attribute.kind);
        let position =
            i32::try_from(position).map_err(|e| Failure::corrupt("attribute position", e))?;
        diesel::insert_into(product_attributes::table)
            .values((
                product_attributes::product_code.eq(code),
                product_attributes::position.eq(position),
                product_attributes::code.eq(&attribute.code),
                product_attributes::kind.eq(attribute.kind.name()),
                product_attributes::is_mandatory.eq(attribute.is_mandatory),
                product_attributes::min_length.eq(min_length),
                product_attributes::max_length.eq(max_length),
                product_attributes::titles.eq(localized_json(&attribute.titles)),
                product_attributes::helps.eq(localized_json(&attribute.helps)),
                product_attributes::options.eq(options),
            ))
            .execute(conn)?;
    }
    Ok(created)
}

#[async_trait]
impl ProductCatalog for Store {
    async fn products(&self, only_available: bool) -> Result<Vec<Product>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                let query = products::table
                    .order(products::code)
                    .select(ProductRow::as_select());
                let rows = if only_available {
                    query.filter(products::available.eq(true)).load(conn)?
                } else {
                    query.load(conn)?
                };
                assemble(conn, rows)
            })
            .await?)
    }

    async fn product(&self, code: &ProductCode) -> Result<Option<Product>, StoreError> {
        let code = code.as_str().to_owned();
        Ok(self
            .database()
            .read(move |conn| load_product(conn, &code))
            .await?)
    }

    async fn save_product(
        &self,
        code: &ProductCode,
        draft: &ProductDraft,
        only_if: Precondition<Product>,
    ) -> Result<Conditioned<(Product, bool)>, StoreError> {
        let only_if = Arc::new(only_if);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (code, draft, only_if) = (code.as_str().to_owned(), draft.clone(), only_if.clone());
            let now = self.db_now();
            let result = self
                .database()
                .write(move |conn| {
                    if !product_meets(conn, &code, &only_if)? {
                        return Ok(Conditioned::Unmet);
                    }
                    let created = save_in(conn, &code, &draft, now)?;
                    let product = load_product(conn, &code)?.ok_or_else(|| {
                        Failure::corrupt("product", "vanished right after its save")
                    })?;
                    Ok(Conditioned::Done((product, created)))
                })
                .await;
            match result {
                // A racing first save inserted the row meanwhile: this one now updates it.
                Err(failure) if is_unique_violation(&failure) && attempts < UPSERT_ATTEMPTS => {}
                other => return Ok(other?),
            }
        }
    }

    async fn withdraw_product(
        &self,
        code: &ProductCode,
        only_if: Precondition<Product>,
    ) -> Result<Conditioned<bool>, StoreError> {
        let code = code.as_str().to_owned();
        let now = self.db_now();
        Ok(self
            .database()
            .write(move |conn| {
                if !product_meets(conn, &code, &only_if)? {
                    return Ok(Conditioned::Unmet);
                }
                let updated = diesel::update(products::table.find(&code))
                    .set((products::available.eq(false), products::updated_at.eq(now)))
                    .execute(conn)?;
                Ok(Conditioned::Done(updated > 0))
            })
            .await?)
    }
}
