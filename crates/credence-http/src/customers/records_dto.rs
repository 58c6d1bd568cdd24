//! Reference data on the wire: one DTO per kind, and [`RecordResource`], which tells the
//! generic handlers how a kind is addressed, written and built from a body (read into the
//! kind's form, `records_form.rs`, and laid over the current row, so every write route is a
//! partial update).

use crate::wording::WireError;
use credence_domain::customers::reference_data::{
    Category, CategoryDraft, Currency, CurrencyDraft, LabelDraft, PaymentType, Record, Region,
    RegionDraft, Segmentation, User, UserDraft,
};
use credence_domain::ids::{
    CategoryId, CustomerId, PaymentTypeId, RegionId, SegmentationId, UserId,
};
use credence_domain::input::InputError;
use credence_domain::services::RecordService;
use credence_domain::values::CurrencyCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::Services;
use crate::body::BodyFields;
use crate::customers::records_form::{
    CategoryForm, CurrencyForm, LabelForm, RecordForm, RegionForm, UserForm,
};
use crate::dto::{exact, href};
use crate::error::ApiError;

/// A customer category.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryDto {
    /// Id.
    pub id: i64,
    /// Unique reference (`root` for the root).
    pub reference: String,
    /// Name.
    pub name: String,
    /// The parent category; `null` for the root.
    pub parent_id: Option<i64>,
    /// Where it lives.
    pub href: String,
}

/// A customer segmentation or payment type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelDto {
    /// Id.
    pub id: i64,
    /// Unique reference.
    pub reference: String,
    /// Name.
    pub name: String,
    /// Where it lives.
    pub href: String,
}

/// A region.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The enclosing region.
    pub parent_id: Option<i64>,
    /// Where it lives.
    pub href: String,
}

/// A configured currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyDto {
    /// ISO 4217 code.
    #[schema(example = "USD")]
    pub code: String,
    /// Value of one unit in the organization currency, exact.
    #[schema(value_type = f64, example = 1.0825)]
    pub exchange_rate: Value,
    /// Where it lives.
    pub href: String,
}

/// A user.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    /// Id.
    pub id: i64,
    /// Unique reference.
    pub reference: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// `admin`, `reseller` or `customer`.
    pub role: String,
    /// The customer a reseller or customer user is bound to.
    pub customer_id: Option<i64>,
    /// Where it lives.
    pub href: String,
}

/// How the generic handlers treat one kind of reference data.
pub(crate) trait RecordResource: Record + PartialEq {
    /// The collection's path segment and plural XML root (`customerCategories`).
    const COLLECTION: &'static str;
    /// The singular XML root (`customerCategory`).
    const ITEM: &'static str;
    /// The wire shape.
    type Dto: Serialize + ToSchema;

    /// The service of this kind.
    fn service(services: &Services) -> &RecordService<Self>;

    /// Parses the `{id}` path segment.
    ///
    /// # Errors
    /// `400 invalid_param_type` (or `404` for currencies) when it cannot name a row.
    fn parse_id(text: &str) -> Result<Self::Id, ApiError>;

    /// The wire shape of a row.
    fn to_dto(&self) -> Self::Dto;

    /// A draft from the fields sent, over `current` for an update.
    ///
    /// # Errors
    /// `missing_param`/`invalid_param`/`invalid_param_type` for bad fields.
    fn draft(fields: &BodyFields, current: Option<&Self>) -> Result<Self::Draft, WireError>;
}

fn numeric_id(text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::invalid_param_type("id"))
}

impl RecordResource for Category {
    const COLLECTION: &'static str = "customerCategories";
    const ITEM: &'static str = "customerCategory";
    type Dto = CategoryDto;

    fn service(services: &Services) -> &RecordService<Self> {
        &services.categories
    }
    fn parse_id(text: &str) -> Result<CategoryId, ApiError> {
        numeric_id(text).map(CategoryId)
    }
    fn to_dto(&self) -> CategoryDto {
        CategoryDto {
            id: self.id.get(),
            reference: self.reference.to_string(),
            name: self.name.to_string(),
            parent_id: self.parent_id.map(CategoryId::get),
            href: href(Self::COLLECTION, self.id),
        }
    }
    fn draft(fields: &BodyFields, current: Option<&Self>) -> Result<CategoryDraft, WireError> {
        CategoryForm::read(fields, current.is_none())?.over(current)
    }
}

macro_rules! label_resource {
    ($kind:ty, $id:ident, $collection:literal, $item:literal, $field:ident) => {
        impl RecordResource for $kind {
            const COLLECTION: &'static str = $collection;
            const ITEM: &'static str = $item;
            type Dto = LabelDto;

            fn service(services: &Services) -> &RecordService<Self> {
                &services.$field
            }
            fn parse_id(text: &str) -> Result<$id, ApiError> {
                numeric_id(text).map($id)
            }
            fn to_dto(&self) -> LabelDto {
                LabelDto {
                    id: self.id.get(),
                    reference: self.reference.to_string(),
                    name: self.name.to_string(),
                    href: href(Self::COLLECTION, self.id),
                }
            }
            fn draft(fields: &BodyFields, current: Option<&Self>) -> Result<LabelDraft, WireError> {
                LabelForm::read(fields, current.is_none())?
                    .over(current.map(|c| (&c.reference, &c.name)))
            }
        }
    };
}

label_resource!(
    Segmentation,
    SegmentationId,
    "customerSegmentations",
    "customerSegmentation",
    segmentations
);
label_resource!(
    PaymentType,
    PaymentTypeId,
    "paymentTypes",
    "paymentType",
    payment_types
);

impl RecordResource for Region {
    const COLLECTION: &'static str = "regions";
    const ITEM: &'static str = "region";
    type Dto = RegionDto;

    fn service(services: &Services) -> &RecordService<Self> {
        &services.regions
    }
    fn parse_id(text: &str) -> Result<RegionId, ApiError> {
        numeric_id(text).map(RegionId)
    }
    fn to_dto(&self) -> RegionDto {
        RegionDto {
            id: self.id.get(),
            name: self.name.to_string(),
            parent_id: self.parent_id.map(RegionId::get),
            href: href(Self::COLLECTION, self.id),
        }
    }
    fn draft(fields: &BodyFields, current: Option<&Self>) -> Result<RegionDraft, WireError> {
        RegionForm::read(fields, current.is_none())?.over(current)
    }
}

impl RecordResource for Currency {
    const COLLECTION: &'static str = "currencies";
    const ITEM: &'static str = "currency";
    type Dto = CurrencyDto;

    fn service(services: &Services) -> &RecordService<Self> {
        &services.currencies
    }
    fn parse_id(text: &str) -> Result<CurrencyCode, ApiError> {
        CurrencyCode::parse(text).map_err(|e| InputError::UnknownCurrency(e.0).into())
    }
    fn to_dto(&self) -> CurrencyDto {
        CurrencyDto {
            code: self.code.code().to_owned(),
            exchange_rate: exact(self.exchange_rate.value()),
            href: href(Self::COLLECTION, self.code),
        }
    }
    fn draft(fields: &BodyFields, current: Option<&Self>) -> Result<CurrencyDraft, WireError> {
        CurrencyForm::read(fields, current.is_none())?.over(current)
    }
}

impl RecordResource for User {
    const COLLECTION: &'static str = "users";
    const ITEM: &'static str = "user";
    type Dto = UserDto;

    fn service(services: &Services) -> &RecordService<Self> {
        &services.users
    }
    fn parse_id(text: &str) -> Result<UserId, ApiError> {
        numeric_id(text).map(UserId)
    }
    fn to_dto(&self) -> UserDto {
        UserDto {
            id: self.id.get(),
            reference: self.reference.to_string(),
            name: self.name.to_string(),
            email: self.email.as_ref().map(|e| e.as_str().to_owned()),
            role: self.role.as_str().to_owned(),
            customer_id: self.customer_id.map(CustomerId::get),
            href: href(Self::COLLECTION, self.id),
        }
    }
    fn draft(fields: &BodyFields, current: Option<&Self>) -> Result<UserDraft, WireError> {
        UserForm::read(fields, current.is_none())?.over(current)
    }
}
