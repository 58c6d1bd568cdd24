//! Reference data that customers point to: categories (a tree under `root`), segmentations,
//! payment types, regions (a tree), configured currencies and users.
//!
//! Every kind implements [`Record`], so one generic service and one generic port cover the
//! list/show/create/update/delete use cases of all of them.

use std::fmt;

use crate::access::principal::Role;
use crate::ids::{CategoryId, CustomerId, PaymentTypeId, RegionId, SegmentationId, UserId};
use crate::input::InputError;
use crate::values::{CurrencyCode, Email, ExchangeRate, MAX_NAME_LEN, NameError, Reference};

/// A kind of reference data, as the generic service and port see it.
pub trait Record: Clone + fmt::Debug + Send + Sync + 'static {
    /// How rows of this kind are addressed.
    type Id: Copy + Eq + fmt::Debug + fmt::Display + Send + Sync + 'static;
    /// A validated set of fields to create or replace a row.
    type Draft: Clone + fmt::Debug + Send + Sync + 'static;

    /// The noun of the not-found text: "The {NOUN} with the id 7 doesn't exist."
    const NOUN: &'static str;

    /// The row's id.
    fn id(&self) -> Self::Id;

    /// The parent a draft points to, for kinds that form a tree.
    fn draft_parent(_draft: &Self::Draft) -> Option<Self::Id> {
        None
    }

    /// The parent of a row, for kinds that form a tree.
    fn parent(&self) -> Option<Self::Id> {
        None
    }

    /// Whether resellers may list and read this kind (they pick categories, payment types...
    /// for their customers); only admins write reference data.
    const RESELLERS_READ: bool = true;

    /// Rows that may never be deleted (the root category, the organization currency).
    fn is_permanent(&self) -> bool {
        false
    }
}

/// A display name of reference data: not blank, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(String);

impl Label {
    /// Validates a label.
    ///
    /// # Errors
    /// [`InputError::Label`] when blank or too long.
    pub fn new(text: &str) -> Result<Self, InputError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InputError::Label(NameError::Empty));
        }
        if text.chars().count() > MAX_NAME_LEN {
            return Err(InputError::Label(NameError::TooLong));
        }
        Ok(Self(text.to_owned()))
    }
}

/// The reference of the category every tree hangs from, and new customers default to.
pub const ROOT_CATEGORY: &str = "root";

/// A customer category, in a tree whose root has the reference `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Row id.
    pub id: CategoryId,
    /// Unique reference.
    pub reference: Reference,
    /// Display name.
    pub name: Label,
    /// The parent; `None` only for the root.
    pub parent_id: Option<CategoryId>,
}

/// Fields of a category to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDraft {
    /// Unique reference.
    pub reference: Reference,
    /// Display name.
    pub name: Label,
    /// The parent. `None` means the root: adapters store a parentless category under the
    /// `root` category (only `root` itself has no parent), so the tree has one top.
    pub parent_id: Option<CategoryId>,
}

impl Record for Category {
    type Id = CategoryId;
    type Draft = CategoryDraft;
    const NOUN: &'static str = "customer category";

    fn id(&self) -> CategoryId {
        self.id
    }
    fn draft_parent(draft: &CategoryDraft) -> Option<CategoryId> {
        draft.parent_id
    }
    fn parent(&self) -> Option<CategoryId> {
        self.parent_id
    }
    fn is_permanent(&self) -> bool {
        self.reference.as_str() == ROOT_CATEGORY
    }
}

/// A customer segmentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmentation {
    /// Row id.
    pub id: SegmentationId,
    /// Unique reference.
    pub reference: Reference,
    /// Display name.
    pub name: Label,
}

/// A payment type (cash, cheque...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentType {
    /// Row id.
    pub id: PaymentTypeId,
    /// Unique reference.
    pub reference: Reference,
    /// Display name.
    pub name: Label,
}

/// Fields of a segmentation or payment type to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelDraft {
    /// Unique reference.
    pub reference: Reference,
    /// Display name.
    pub name: Label,
}

impl Record for Segmentation {
    type Id = SegmentationId;
    type Draft = LabelDraft;
    const NOUN: &'static str = "customer segmentation";

    fn id(&self) -> SegmentationId {
        self.id
    }
}

impl Record for PaymentType {
    type Id = PaymentTypeId;
    type Draft = LabelDraft;
    const NOUN: &'static str = "payment type";

    fn id(&self) -> PaymentTypeId {
        self.id
    }
}

/// A geographical region, in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Row id.
    pub id: RegionId,
    /// Display name.
    pub name: Label,
    /// The enclosing region.
    pub parent_id: Option<RegionId>,
}

/// Fields of a region to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionDraft {
    /// Display name.
    pub name: Label,
    /// The enclosing region.
    pub parent_id: Option<RegionId>,
}

impl Record for Region {
    type Id = RegionId;
    type Draft = RegionDraft;
    const NOUN: &'static str = "region";

    fn id(&self) -> RegionId {
        self.id
    }
    fn draft_parent(draft: &RegionDraft) -> Option<RegionId> {
        draft.parent_id
    }
    fn parent(&self) -> Option<RegionId> {
        self.parent_id
    }
}

/// A configured currency: customers may only use these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code; also the row's key.
    pub code: CurrencyCode,
    /// Value of one unit in the organization currency.
    pub exchange_rate: ExchangeRate,
    /// Whether this is the organization currency (rate 1, never deleted).
    pub is_organization_currency: bool,
}

/// Fields of a currency to configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyDraft {
    /// ISO 4217 code.
    pub code: CurrencyCode,
    /// Value of one unit in the organization currency.
    pub exchange_rate: ExchangeRate,
}

impl Record for Currency {
    type Id = CurrencyCode;
    type Draft = CurrencyDraft;
    const NOUN: &'static str = "currency";

    fn id(&self) -> CurrencyCode {
        self.code
    }
    fn is_permanent(&self) -> bool {
        self.is_organization_currency
    }
}

/// A person or API principal; `createdBy` on customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: UserId,
    /// Unique reference (`emp-002`).
    pub reference: Reference,
    /// Display name.
    pub name: Label,
    /// Contact address.
    pub email: Option<Email>,
    /// What the user may do.
    pub role: Role,
    /// The customer a reseller or customer user is bound to.
    pub customer_id: Option<CustomerId>,
}

/// Fields of a user to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDraft {
    /// Unique reference.
    pub reference: Reference,
    /// Display name.
    pub name: Label,
    /// Contact address.
    pub email: Option<Email>,
    /// What the user may do.
    pub role: Role,
    /// The customer a reseller or customer user is bound to.
    pub customer_id: Option<CustomerId>,
}

impl Record for User {
    type Id = UserId;
    type Draft = UserDraft;
    const NOUN: &'static str = "user";
    /// Users are principals: listing them is an admin's business.
    const RESELLERS_READ: bool = false;

    fn id(&self) -> UserId {
        self.id
    }
}

crate::values::text_value!(Label);
