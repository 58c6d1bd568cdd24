//! The customer representation (without the van-sales fields `pocTenus`,
//! `maxChequePeriod`, `maxChequeValue`, `appliedCashBackOutput`, `returnDiscount`,
//! `invoicesPerRoute`, `paymentTerm`, which have no meaning in Credence).
//!
//! The money fields (`creditLimit`, `balance`, `reservedAmount`, `availableCredit`) come from
//! the customer's credit account when the store loaded it; they are read-only here (the
//! account routes move them), and `null` (the limit: the customer's own) without an account.

use credence_domain::customers::reference_data::{
    Category, PaymentType, Region, Segmentation, User,
};
use credence_domain::customers::{
    Address, Contact, Customer, CustomerData, CustomerSummary, CustomerTexts, Project,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::credit::dto::AccountAmounts;
use crate::documents::dto::DocumentDto;
use crate::dto::{BASE, exact, href, timestamp};

/// A row another resource points to: `{id, reference, name, href}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkDto {
    /// Id.
    pub id: i64,
    /// Reference.
    pub reference: String,
    /// Name.
    pub name: String,
    /// Where the row lives.
    pub href: String,
}

impl From<&Category> for LinkDto {
    fn from(c: &Category) -> Self {
        Self {
            id: c.id.get(),
            reference: c.reference.to_string(),
            name: c.name.to_string(),
            href: href("customerCategories", c.id),
        }
    }
}

impl From<&Segmentation> for LinkDto {
    fn from(s: &Segmentation) -> Self {
        Self {
            id: s.id.get(),
            reference: s.reference.to_string(),
            name: s.name.to_string(),
            href: href("customerSegmentations", s.id),
        }
    }
}

impl From<&PaymentType> for LinkDto {
    fn from(p: &PaymentType) -> Self {
        Self {
            id: p.id.get(),
            reference: p.reference.to_string(),
            name: p.name.to_string(),
            href: href("paymentTypes", p.id),
        }
    }
}

impl From<&CustomerSummary> for LinkDto {
    fn from(p: &CustomerSummary) -> Self {
        Self {
            id: p.id.get(),
            reference: p.reference.to_string(),
            name: p.name.to_string(),
            href: href("customers", p.id),
        }
    }
}

/// `createdBy`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedByDto {
    /// The user's id.
    pub user_id: i64,
    /// The user's reference.
    pub reference: String,
    /// Where the user lives.
    pub href: String,
}

impl From<&User> for CreatedByDto {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.id.get(),
            reference: u.reference.to_string(),
            href: href("users", u.id),
        }
    }
}

/// `region`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionLinkDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Where the region lives.
    pub href: String,
}

impl From<&Region> for RegionLinkDto {
    fn from(r: &Region) -> Self {
        Self {
            id: r.id.get(),
            name: r.name.to_string(),
            href: href("regions", r.id),
        }
    }
}

/// A contact person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactDto {
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

impl From<&Contact> for ContactDto {
    fn from(c: &Contact) -> Self {
        Self {
            name: c.name.as_ref().map(|n| n.as_str().to_owned()),
            email: c.email.as_ref().map(|e| e.as_str().to_owned()),
            phone: c.phone.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

/// A customer project (`customerProjects`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectDto {
    /// Assigned by the server; kept when the project is renamed.
    #[schema(example = 12)]
    pub id: i64,
    /// Name.
    #[schema(example = "Floor installation")]
    pub name: String,
}

impl ProjectDto {
    /// The representation of a stored project (every stored project has an id; one without
    /// is not shown, since a client could not address it).
    pub(crate) fn of(project: &Project) -> Option<Self> {
        project.id.map(|id| Self {
            id: id.get(),
            name: project.name.as_str().to_owned(),
        })
    }
}

/// A customer, as the back office writes it (field order included).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerDto {
    pub id: i64,
    #[schema(example = "0847ed17-b060-4599-a38c-be9a8b9cbb34")]
    pub uuid: String,
    pub reference: String,
    pub reference2: Option<String>,
    pub name: String,
    pub category_reference: String,
    pub customer_category: LinkDto,
    pub is_sub_customer: bool,
    pub parent_customer: Option<LinkDto>,
    pub bill_with_parent: bool,
    pub customer_segmentation_reference: Option<String>,
    pub customer_segmentation: Option<LinkDto>,
    pub email: Option<String>,
    /// The logo's URL (`null` without one); prefix its last segment with `small_` or
    /// `medium_` for the resized copies.
    #[schema(example = "/api/v1.0/customers/2559/logo/1471338230737_logo_color_272x92dp.png")]
    pub logo: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub fax: Option<String>,
    pub comment: Option<String>,
    pub barcode: Option<String>,
    pub is_same_address: bool,
    pub billing_country: Option<String>,
    pub billing_city: Option<String>,
    pub billing_postal_code: Option<String>,
    pub billing_address: Option<String>,
    pub billing_lat: Option<f64>,
    pub billing_lng: Option<f64>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Whether the credit limit is above zero.
    pub is_credit: bool,
    /// Exact, with the currency's scale (`5000.00`).
    #[schema(value_type = f64, example = 5000.00)]
    pub credit_limit: Value,
    /// Exact; `null` when the account was not loaded.
    #[schema(value_type = Option<f64>, example = 20000.00)]
    pub balance: Option<Value>,
    /// Held by open reservations; `null` when the account was not loaded.
    #[schema(value_type = Option<f64>, example = 5000.00)]
    pub reserved_amount: Option<Value>,
    /// `balance + creditLimit − reservedAmount`; `null` when the account was not loaded.
    #[schema(value_type = Option<f64>, example = 18000.00)]
    pub available_credit: Option<Value>,
    pub is_active: bool,
    pub on_hold: bool,
    pub on_hold_reason: Option<String>,
    pub created_by: Option<CreatedByDto>,
    pub due_date_config_number: Option<u32>,
    /// `daysAfterInvoiceDate` or `daysAfterEndOfInvoiceMonth`.
    pub due_date_config_type: Option<String>,
    pub payment_types: Vec<LinkDto>,
    pub website: Option<String>,
    pub tax_number: Option<String>,
    pub company_registration_number: Option<String>,
    pub contacts: Vec<ContactDto>,
    pub customer_projects: Vec<ProjectDto>,
    /// The documents attached to the customer, oldest attachment first.
    pub documents: Vec<DocumentDto>,
    pub currency: String,
    pub customer_risk: Option<String>,
    pub customer_risk_color: Option<String>,
    pub organization: String,
    pub date_created: String,
    pub last_updated: String,
    pub region: Option<RegionLinkDto>,
}

/// A customer found by `GET /customers/search`: the customer representation plus its score
/// (see `credence_domain::customers::search::score`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchEntryDto {
    #[serde(flatten)]
    pub customer: CustomerDto,
    /// 100 per query term in the name, 10 in the reference, 1 in any other searched field.
    #[schema(example = 110)]
    pub score: u32,
}

struct AddressDto {
    country: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    address: Option<String>,
    lat: Option<f64>,
    lng: Option<f64>,
}

impl From<&Address> for AddressDto {
    fn from(a: &Address) -> Self {
        // Every field named: a new one does not compile until it is answered.
        let Address {
            country,
            city,
            postal_code,
            address,
            latitude,
            longitude,
        } = a;
        Self {
            country: country.as_ref().map(|c| c.as_str().to_owned()),
            city: city.as_ref().map(|t| t.as_str().to_owned()),
            postal_code: postal_code.as_ref().map(|t| t.as_str().to_owned()),
            address: address.as_ref().map(|t| t.as_str().to_owned()),
            lat: latitude.map(|l| l.degrees()),
            lng: longitude.map(|l| l.degrees()),
        }
    }
}

impl CustomerDto {
    /// The representation of `customer` in `organization`. Every field of `Customer` and
    /// `CustomerData` is named here (no `..`), so a field added to either does not compile
    /// until it is answered here or said not to be.
    pub(crate) fn new(customer: &Customer, organization: &str) -> Self {
        let Customer {
            id,
            uuid,
            data,
            date_created,
            last_updated,
            // Shown as the answer's `ETag` (a digest of this representation), not in the body.
            revision: _,
            account,
            documents,
        } = customer;
        let CustomerData {
            reference,
            name,
            texts,
            category,
            parent,
            bill_with_parent,
            segmentation,
            email,
            is_same_address,
            billing,
            shipping,
            credit_limit,
            is_active,
            on_hold,
            created_by,
            due_date_terms,
            payment_types,
            website,
            currency,
            customer_risk_color,
            region,
            contacts,
            projects,
            logo,
        } = data;
        // Every text named too: a new one does not compile until it has its place below.
        let CustomerTexts {
            reference2,
            barcode,
            phone,
            mobile,
            fax,
            comment,
            tax_number,
            company_registration_number,
            customer_risk,
            on_hold_reason,
        } = texts;
        let billing = AddressDto::from(billing);
        let shipping = AddressDto::from(shipping);
        let free = |t: &Option<credence_domain::values::FreeText>| {
            t.as_ref().map(|t| t.as_str().to_owned())
        };
        let amounts = account.as_ref().map(AccountAmounts::from);
        let is_credit = account.as_ref().map_or_else(
            || credit_limit.is_credit(),
            |a| a.credit_limit().is_positive(),
        );
        Self {
            id: id.get(),
            uuid: uuid.to_string(),
            reference: reference.to_string(),
            reference2: free(reference2),
            name: name.to_string(),
            category_reference: category.reference.to_string(),
            customer_category: LinkDto::from(category),
            is_sub_customer: parent.is_some(),
            parent_customer: parent.as_ref().map(LinkDto::from),
            bill_with_parent: *bill_with_parent,
            customer_segmentation_reference: segmentation.as_ref().map(|s| s.reference.to_string()),
            customer_segmentation: segmentation.as_ref().map(LinkDto::from),
            email: email.as_ref().map(|e| e.as_str().to_owned()),
            logo: logo
                .as_ref()
                .map(|logo| format!("{BASE}/customers/{id}/logo/{}", logo.as_str())),
            phone: free(phone),
            mobile: free(mobile),
            fax: free(fax),
            comment: free(comment),
            barcode: free(barcode),
            is_same_address: *is_same_address,
            billing_country: billing.country,
            billing_city: billing.city,
            billing_postal_code: billing.postal_code,
            billing_address: billing.address,
            billing_lat: billing.lat,
            billing_lng: billing.lng,
            country: shipping.country,
            city: shipping.city,
            postal_code: shipping.postal_code,
            address: shipping.address,
            latitude: shipping.lat,
            longitude: shipping.lng,
            is_credit,
            credit_limit: amounts
                .as_ref()
                .map_or_else(|| exact(credit_limit.amount()), |a| a.credit_limit.clone()),
            balance: amounts.as_ref().map(|a| a.balance.clone()),
            reserved_amount: amounts.as_ref().map(|a| a.reserved_amount.clone()),
            available_credit: amounts.map(|a| a.available_credit),
            is_active: *is_active,
            on_hold: *on_hold,
            on_hold_reason: free(on_hold_reason),
            created_by: created_by.as_ref().map(CreatedByDto::from),
            due_date_config_number: due_date_terms.map(|t| t.days()),
            due_date_config_type: due_date_terms.map(|t| t.kind().as_str().to_owned()),
            payment_types: payment_types.iter().map(LinkDto::from).collect(),
            website: website.as_ref().map(|w| w.as_str().to_owned()),
            tax_number: free(tax_number),
            company_registration_number: free(company_registration_number),
            contacts: contacts.iter().map(ContactDto::from).collect(),
            customer_projects: projects.iter().filter_map(ProjectDto::of).collect(),
            documents: documents.iter().map(DocumentDto::from).collect(),
            currency: currency.code().to_owned(),
            customer_risk: free(customer_risk),
            customer_risk_color: customer_risk_color.as_ref().map(|c| c.as_str().to_owned()),
            organization: organization.to_owned(),
            date_created: timestamp(*date_created),
            last_updated: timestamp(*last_updated),
            region: region.as_ref().map(RegionLinkDto::from),
        }
    }
}
