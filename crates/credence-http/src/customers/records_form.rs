//! The reference-data bodies as the API reads them: one type per kind, read from any body
//! (JSON, form or multipart) by the fields' wire names, and the source of that kind's two
//! OpenAPI schemas: `<Kind>Form`, a creation's body, and `<Kind>Changes`, an update's, with
//! the same properties and none required. Every write route is a partial update: a form holds
//! what was sent, and [`CategoryForm::over`] and its kin lay it over the current row. Each
//! reader reads its fields in one fixed order, so a body with two faults is always answered
//! with the same one.

use credence_domain::access::principal::Role;
use credence_domain::customers::reference_data::{
    Category, CategoryDraft, Currency, CurrencyDraft, Label, LabelDraft, Region, RegionDraft, User,
    UserDraft,
};
use credence_domain::field::Field;
use credence_domain::ids::{CategoryId, CustomerId, RegionId};
use credence_domain::input::InputError;
use credence_domain::values::{CurrencyCode, Email, ExchangeRate, Reference};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::body::BodyFields;
use crate::input::{given, parse_int, scalar};
use crate::wording::WireError;

/// A field every row has: its value when sent; `None` when left out of an update (the row
/// keeps it).
///
/// # Errors
/// `missing_param` when it is left out of a creation, or sent blank or `null`.
fn required<T>(
    fields: &BodyFields,
    name: &'static str,
    creating: bool,
    parse: impl FnOnce(String) -> Result<T, WireError>,
) -> Result<Option<T>, WireError> {
    match given(fields, name)? {
        Some(text) => parse(text).map(Some),
        None if !creating && !scalar(fields, name)?.is_present() => Ok(None),
        None => Err(WireError::Missing(name)),
    }
}

/// A field every row has, where blank on an update is as if left out.
///
/// # Errors
/// `missing_param` when a creation does not send it.
fn kept_when_blank<T>(
    fields: &BodyFields,
    name: &'static str,
    creating: bool,
    parse: impl FnOnce(String) -> Result<T, WireError>,
) -> Result<Option<T>, WireError> {
    match given(fields, name)? {
        Some(text) => parse(text).map(Some),
        None if creating => Err(WireError::Missing(name)),
        None => Ok(None),
    }
}

/// An optional field: left out (kept), sent blank or `null` (cleared), or its value.
fn optional<T>(
    fields: &BodyFields,
    name: &'static str,
    parse: impl FnOnce(String) -> Result<T, WireError>,
) -> Result<Field<T>, WireError> {
    if !scalar(fields, name)?.is_present() {
        return Ok(Field::Absent);
    }
    Ok(Field::from_option(
        given(fields, name)?.map(parse).transpose()?,
    ))
}

fn reference(text: String) -> Result<Reference, WireError> {
    Reference::new(text).map_err(|e| WireError::invalid("reference", crate::wording::reference(&e)))
}

fn label(text: String) -> Result<Label, WireError> {
    Ok(Label::new(&text)?)
}

fn int(name: &'static str) -> impl FnOnce(String) -> Result<i64, WireError> {
    move |text| parse_int(name, &text)
}

/// The value sent, or the current row's.
///
/// # Errors
/// `missing_param` when neither is there (the readers refuse that already on creation).
fn or_current<T>(sent: Option<T>, current: Option<T>, name: &'static str) -> Result<T, WireError> {
    sent.or(current).ok_or(WireError::Missing(name))
}

/// A kind's form: read the same way for a creation and an update, but a creation must send
/// every field its row cannot do without.
pub(crate) trait RecordForm: Sized {
    /// Reads the body of a creation (`creating`) or an update: see [`required`] and
    /// [`optional`].
    ///
    /// # Errors
    /// `missing_param`, `invalid_param` or `invalid_param_type` naming the field; `404` for
    /// an unknown currency.
    fn read(fields: &BodyFields, creating: bool) -> Result<Self, WireError>;
}

/// An update's description of every `<Kind>Changes` schema.
const CHANGES: &str =
    "The fields to change: each one left out is kept; each one sent is checked as on\ncreation.";

/// `<Kind>Changes`, an update's body: the schema of `$form` with no property required.
macro_rules! changes_schema {
    ($changes:ident, $form:ty) => {
        /// An update's body: the creation's properties, each one optional.
        pub(crate) struct $changes;

        impl utoipa::PartialSchema for $changes {
            fn schema() -> RefOr<Schema> {
                optional_all(<$form as utoipa::PartialSchema>::schema())
            }
        }

        impl ToSchema for $changes {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$form as ToSchema>::schemas(schemas);
            }
        }
    };
}

/// A creation's schema as an update's: no property required, and [`CHANGES`] its description.
fn optional_all(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.required.clear();
            object.description = Some(CHANGES.to_owned());
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// A customer category: `parentId` is the category it hangs from (the root by default).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CategoryForm {
    /// Unique; no slash, no space at either end.
    #[schema(value_type = String, pattern = "{reference}", max_length = 255)]
    pub(crate) reference: Option<Reference>,
    #[schema(value_type = String, pattern = "{non_blank}", max_length = 255)]
    pub(crate) name: Option<Label>,
    #[schema(value_type = Option<i64>)]
    pub(crate) parent_id: Field<i64>,
}

changes_schema!(CategoryChanges, CategoryForm);

impl RecordForm for CategoryForm {
    fn read(fields: &BodyFields, creating: bool) -> Result<Self, WireError> {
        Ok(Self {
            reference: required(fields, "reference", creating, reference)?,
            name: required(fields, "name", creating, label)?,
            parent_id: optional(fields, "parentId", int("parentId"))?,
        })
    }
}

impl CategoryForm {
    /// The row to write: what was sent over `current` (see [`or_current`]).
    pub(crate) fn over(self, current: Option<&Category>) -> Result<CategoryDraft, WireError> {
        Ok(CategoryDraft {
            reference: or_current(
                self.reference,
                current.map(|c| c.reference.clone()),
                "reference",
            )?,
            name: or_current(self.name, current.map(|c| c.name.clone()), "name")?,
            parent_id: self
                .parent_id
                .apply_to(current.and_then(|c| c.parent_id).map(CategoryId::get))
                .map(CategoryId),
        })
    }
}

/// A customer segmentation or a payment type.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LabelForm {
    /// Unique; no slash, no space at either end.
    #[schema(value_type = String, pattern = "{reference}", max_length = 255)]
    pub(crate) reference: Option<Reference>,
    #[schema(value_type = String, pattern = "{non_blank}", max_length = 255)]
    pub(crate) name: Option<Label>,
}

changes_schema!(LabelChanges, LabelForm);

impl RecordForm for LabelForm {
    fn read(fields: &BodyFields, creating: bool) -> Result<Self, WireError> {
        Ok(Self {
            reference: required(fields, "reference", creating, reference)?,
            name: required(fields, "name", creating, label)?,
        })
    }
}

impl LabelForm {
    /// The row to write: what was sent over the current row's `reference` and `name` (see
    /// [`or_current`]).
    pub(crate) fn over(
        self,
        current: Option<(&Reference, &Label)>,
    ) -> Result<LabelDraft, WireError> {
        Ok(LabelDraft {
            reference: or_current(self.reference, current.map(|c| c.0.clone()), "reference")?,
            name: or_current(self.name, current.map(|c| c.1.clone()), "name")?,
        })
    }
}

/// A region: `parentId` is the region it lies in.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegionForm {
    #[schema(value_type = String, pattern = "{non_blank}", max_length = 255)]
    pub(crate) name: Option<Label>,
    #[schema(value_type = Option<i64>)]
    pub(crate) parent_id: Field<i64>,
}

changes_schema!(RegionChanges, RegionForm);

impl RecordForm for RegionForm {
    fn read(fields: &BodyFields, creating: bool) -> Result<Self, WireError> {
        Ok(Self {
            name: required(fields, "name", creating, label)?,
            parent_id: optional(fields, "parentId", int("parentId"))?,
        })
    }
}

impl RegionForm {
    /// The row to write: what was sent over `current` (see [`or_current`]).
    pub(crate) fn over(self, current: Option<&Region>) -> Result<RegionDraft, WireError> {
        Ok(RegionDraft {
            name: or_current(self.name, current.map(|c| c.name.clone()), "name")?,
            parent_id: self
                .parent_id
                .apply_to(current.and_then(|c| c.parent_id).map(RegionId::get))
                .map(RegionId),
        })
    }
}

/// A currency. Its `code` is set on creation and never changes.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CurrencyForm {
    /// ISO 4217 (`USD`), in any case.
    #[schema(value_type = String, example = "USD", pattern = "^[ \\t]*[A-Za-z]{3}[ \\t]*$")]
    pub(crate) code: Option<CurrencyCode>,
    /// Units of this currency one unit of the organization currency buys; > 0.
    #[schema(value_type = f64, exclusive_minimum = 0, example = 1.0825)]
    pub(crate) exchange_rate: Option<ExchangeRate>,
}

changes_schema!(CurrencyChanges, CurrencyForm);

impl RecordForm for CurrencyForm {
    // An update reads no `code` (the row keeps its own), and a blank `exchangeRate` keeps
    // the row's.
    fn read(fields: &BodyFields, creating: bool) -> Result<Self, WireError> {
        let code = given(fields, "code")?;
        let code = if creating {
            let code = code.ok_or(WireError::Missing("code"))?;
            Some(CurrencyCode::parse(&code).map_err(|e| InputError::UnknownCurrency(e.0))?)
        } else {
            None
        };
        let exchange_rate = kept_when_blank(fields, "exchangeRate", creating, |text| {
            ExchangeRate::parse(&text)
                .map_err(|e| WireError::invalid("exchangeRate", crate::wording::exchange_rate(&e)))
        })?;
        Ok(Self {
            code,
            exchange_rate,
        })
    }
}

impl CurrencyForm {
    /// The row to write: what was sent over `current` (see [`or_current`]).
    pub(crate) fn over(self, current: Option<&Currency>) -> Result<CurrencyDraft, WireError> {
        Ok(CurrencyDraft {
            code: or_current(current.map(|c| c.code), self.code, "code")?,
            exchange_rate: or_current(
                self.exchange_rate,
                current.map(|c| c.exchange_rate),
                "exchangeRate",
            )?,
        })
    }
}

/// A user of the back office; a reseller or a customer is bound to `customerId`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserForm {
    /// Unique; no slash, no space at either end.
    #[schema(value_type = String, pattern = "{reference}", max_length = 255)]
    pub(crate) reference: Option<Reference>,
    #[schema(value_type = String, pattern = "{non_blank}", max_length = 255)]
    pub(crate) name: Option<Label>,
    /// `admin`, `reseller` or `customer`.
    #[schema(value_type = crate::openapi::RoleName)]
    pub(crate) role: Option<Role>,
    #[schema(value_type = Option<String>)]
    pub(crate) email: Field<Email>,
    #[schema(value_type = Option<i64>)]
    pub(crate) customer_id: Field<i64>,
}

changes_schema!(UserChanges, UserForm);

impl RecordForm for UserForm {
    // A blank `role` keeps the row's.
    fn read(fields: &BodyFields, creating: bool) -> Result<Self, WireError> {
        let email = optional(fields, "email", |text| {
            Email::new(&text).map_err(|e| WireError::invalid("email", e.to_string()))
        })?;
        let role = kept_when_blank(fields, "role", creating, |text| {
            Role::parse(&text).ok_or_else(|| {
                WireError::invalid("role", "role must be one of admin, reseller, customer")
            })
        })?;
        Ok(Self {
            reference: required(fields, "reference", creating, reference)?,
            name: required(fields, "name", creating, label)?,
            role,
            email,
            customer_id: optional(fields, "customerId", int("customerId"))?,
        })
    }
}

impl UserForm {
    /// The row to write: what was sent over `current` (see [`or_current`]).
    pub(crate) fn over(self, current: Option<&User>) -> Result<UserDraft, WireError> {
        Ok(UserDraft {
            reference: or_current(
                self.reference,
                current.map(|c| c.reference.clone()),
                "reference",
            )?,
            name: or_current(self.name, current.map(|c| c.name.clone()), "name")?,
            email: self.email.apply_to(current.and_then(|c| c.email.clone())),
            role: or_current(self.role, current.map(|c| c.role), "role")?,
            customer_id: self
                .customer_id
                .apply_to(current.and_then(|c| c.customer_id).map(CustomerId::get))
                .map(CustomerId),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_check::Reader;

    /// A text each property accepts.
    fn sample(name: &str) -> &'static str {
        match name {
            "code" => "USD",
            "exchangeRate" => "1.5",
            "role" => "admin",
            "email" => "ops@example.com",
            "parentId" | "customerId" => "7",
            _ => "ref-1",
        }
    }

    fn create<F: RecordForm>(fields: &BodyFields) -> Result<(), WireError> {
        F::read(fields, true).map(drop)
    }

    fn update<F: RecordForm>(fields: &BodyFields) -> Result<(), WireError> {
        F::read(fields, false).map(drop)
    }

    /// Each kind's two schemas and the readers of their bodies.
    const FORMS: [(&str, &str, Reader, Reader); 5] = [
        (
            "CategoryForm",
            "CategoryChanges",
            create::<CategoryForm>,
            update::<CategoryForm>,
        ),
        (
            "LabelForm",
            "LabelChanges",
            create::<LabelForm>,
            update::<LabelForm>,
        ),
        (
            "RegionForm",
            "RegionChanges",
            create::<RegionForm>,
            update::<RegionForm>,
        ),
        (
            "CurrencyForm",
            "CurrencyChanges",
            create::<CurrencyForm>,
            update::<CurrencyForm>,
        ),
        (
            "UserForm",
            "UserChanges",
            create::<UserForm>,
            update::<UserForm>,
        ),
    ];

    #[test]
    fn the_readers_read_every_property_of_their_schemas() {
        let readers: Vec<(&str, Reader)> = FORMS
            .iter()
            .flat_map(|(form, changes, create, update)| [(*form, *create), (*changes, *update)])
            .collect();
        crate::schema_check::readers_read_every_property(&readers, sample);
    }

    #[test]
    fn a_creation_requires_what_its_schema_requires_and_an_update_nothing() {
        let doc = serde_json::to_value(crate::openapi::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let empty = BodyFields::default();
        for (form, changes, create, update) in FORMS {
            let required = schemas[form]["required"].as_array().unwrap();
            let refused = create(&empty);
            assert!(
                matches!(&refused, Err(WireError::Missing(name)) if required.contains(&(*name).into())),
                "{form}: {refused:?}"
            );
            assert_eq!(update(&empty), Ok(()), "{changes}");
            assert!(schemas[changes].get("required").is_none(), "{changes}");
        }
    }

    #[test]
    fn an_update_keeps_what_it_leaves_out_and_clears_what_it_blanks() {
        let current = Category {
            id: CategoryId(3),
            reference: Reference::new("tools".to_owned()).unwrap(),
            name: Label::new("Tools").unwrap(),
            parent_id: Some(CategoryId(1)),
        };
        let fields = BodyFields::from_text(&[("name", "Hardware"), ("parentId", "")]);
        let draft = CategoryForm::read(&fields, false)
            .unwrap()
            .over(Some(&current))
            .unwrap();
        assert_eq!(draft.reference, current.reference);
        assert_eq!(draft.name.to_string(), "Hardware");
        assert_eq!(draft.parent_id, None);
        let blank = BodyFields::from_text(&[("reference", " ")]);
        assert_eq!(
            CategoryForm::read(&blank, false),
            Err(WireError::Missing("reference"))
        );
    }
}
