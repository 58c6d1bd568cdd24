//! The customer entity: its data, its parts (address, contacts, projects), how it is
//! addressed and how customers are filtered.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::customers::reference_data::{Category, PaymentType, Region, Segmentation, User};
use crate::ids::{CustomerId, ProjectId};
use crate::listing::{Order, PageRequest, TextPattern, TimeRange};
use crate::values::{
    CountryCode, CreditLimit, CurrencyCode, CustomerName, DueDateTerms, Email, FreeText, Latitude,
    Longitude, Reference, RiskColor, Website,
};

/// A stored customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Numeric id.
    pub id: CustomerId,
    /// Stable public id (the API also addresses customers by it).
    pub uuid: Uuid,
    /// Everything a client can change.
    pub data: CustomerData,
    /// When it was created (UTC, whole seconds).
    pub date_created: DateTime<Utc>,
    /// When it last changed (UTC, whole seconds).
    pub last_updated: DateTime<Utc>,
    /// How many times its row has been written: what a write names to change only what it read.
    pub revision: super::Revision,
    /// Its credit account (balance, limit, reserved), when the store loaded it.
    pub account: Option<crate::credit::CreditAccount>,
    /// The documents attached to it, oldest attachment first.
    pub documents: Vec<crate::documents::Document>,
}

/// A live customer as its credit account sees it: whether it may order, who pays for it, and
/// in which currency. The account use cases need nothing more, so the store reads this one
/// row instead of a whole customer with everything it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHolder {
    /// Numeric id (also its account's).
    pub id: CustomerId,
    /// Inactive customers may not order.
    pub is_active: bool,
    /// Customers on hold may not order.
    pub on_hold: bool,
    /// Why it is on hold, if it says.
    pub on_hold_reason: Option<FreeText>,
    /// Its parent, if any.
    pub parent: Option<CustomerId>,
    /// Whether its parent's account pays for its orders.
    pub bill_with_parent: bool,
    /// Its account's currency.
    pub currency: CurrencyCode,
}

impl From<&Customer> for AccountHolder {
    fn from(customer: &Customer) -> Self {
        Self {
            id: customer.id,
            is_active: customer.data.is_active,
            on_hold: customer.data.on_hold,
            on_hold_reason: customer.data.texts.on_hold_reason.clone(),
            parent: customer.data.parent.as_ref().map(|p| p.id),
            bill_with_parent: customer.data.bill_with_parent,
            currency: customer.data.currency,
        }
    }
}

/// The short form of a customer that other customers point to (`parentCustomer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    /// Numeric id.
    pub id: CustomerId,
    /// Reference.
    pub reference: Reference,
    /// Name.
    pub name: CustomerName,
}

/// A postal address with its position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address {
    /// ISO 3166 alpha-2.
    pub country: Option<CountryCode>,
    /// City.
    pub city: Option<FreeText>,
    /// Postal code.
    pub postal_code: Option<FreeText>,
    /// Street address.
    pub address: Option<FreeText>,
    /// Latitude.
    pub latitude: Option<Latitude>,
    /// Longitude.
    pub longitude: Option<Longitude>,
}

/// A contact person at the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Name.
    pub name: Option<FreeText>,
    /// E-mail.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<FreeText>,
}

/// A project run for the customer (`customerProjects`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Assigned by the store; `None` for a project not yet written (the store gives it one,
    /// and keeps the id of a project that has one, so a rename does not change it).
    pub id: Option<ProjectId>,
    /// Name: non-blank, at most 255 characters.
    pub name: FreeText,
}

/// Every client-writable fact about a customer, validated, with references resolved to the
/// rows they name (so a representation needs no second lookup).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerData {
    /// Unique among live customers.
    pub reference: Reference,
    /// Display name.
    pub name: CustomerName,
    /// The plain texts: a second reference, phones, comment, tax numbers and the like.
    pub texts: super::CustomerTexts,
    /// Category (the root by default).
    pub category: Category,
    /// The parent, for sub-customers.
    pub parent: Option<CustomerSummary>,
    /// Whether invoices go to the parent.
    pub bill_with_parent: bool,
    /// Segmentation.
    pub segmentation: Option<Segmentation>,
    /// E-mail.
    pub email: Option<Email>,
    /// Whether shipping goes to the billing address.
    pub is_same_address: bool,
    /// Billing address.
    pub billing: Address,
    /// Shipping address.
    pub shipping: Address,
    /// Credit limit, in the customer's currency.
    pub credit_limit: CreditLimit,
    /// Active customers can order; inactive ones are kept for the record.
    pub is_active: bool,
    /// On hold: no new orders.
    pub on_hold: bool,
    /// The user who created it.
    pub created_by: Option<User>,
    /// Payment terms.
    pub due_date_terms: Option<DueDateTerms>,
    /// Accepted payment types, in the order given.
    pub payment_types: Vec<PaymentType>,
    /// Website.
    pub website: Option<Website>,
    /// Account currency (a configured one).
    pub currency: CurrencyCode,
    /// Risk colour.
    pub customer_risk_color: Option<RiskColor>,
    /// Region.
    pub region: Option<Region>,
    /// Contact people.
    pub contacts: Vec<Contact>,
    /// Projects, in the order given.
    pub projects: Vec<Project>,
    /// Its logo (`imageFile`), when one was uploaded. Its renditions are in the
    /// blob store under [`crate::documents::BlobKey::logo`].
    pub logo: Option<crate::documents::logo::LogoName>,
}

impl CustomerData {
    /// The short form other customers point to.
    #[must_use]
    pub fn summary(&self, id: CustomerId) -> CustomerSummary {
        CustomerSummary {
            id,
            reference: self.reference.clone(),
            name: self.name.clone(),
        }
    }
}

/// How a client names one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerKey {
    /// `/customers/{id}` with a number.
    Id(CustomerId),
    /// `/customers/{id}` with a UUID.
    Uuid(Uuid),
    /// `/customers/reference/{reference}`.
    Reference(String),
}

impl std::fmt::Display for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Uuid(uuid) => uuid.fmt(f),
            Self::Reference(reference) => f.write_str(reference),
        }
    }
}

/// Fields a customer list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    /// Numeric id.
    Id,
    /// Reference (case-folded).
    Reference,
    /// Name (case-folded).
    Name,
    /// Creation time (the default).
    #[default]
    DateCreated,
    /// Last change.
    LastUpdated,
}

/// The customer list's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// `dateCreated_*`.
    pub date_created: TimeRange,
    /// `lastUpdated_*`.
    pub last_updated: TimeRange,
    /// `reference`.
    pub reference: Option<TextPattern>,
    /// `name`.
    pub name: Option<TextPattern>,
    /// `categoryReference`.
    pub category_reference: Option<TextPattern>,
    /// `isActive`.
    pub is_active: Option<bool>,
    /// Only this customer and the customers below it (set by the service for resellers).
    pub within: Option<CustomerId>,
}

/// A whole list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Filters.
    pub filter: CustomerFilter,
    /// Sort field; ties are broken by id in the same direction.
    pub sort: CustomerSort,
    /// Direction.
    pub order: Order,
    /// The page.
    pub page: PageRequest,
}
