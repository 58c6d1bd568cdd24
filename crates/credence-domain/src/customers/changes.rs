//! The typed changes a client asks for on a customer, and the pure step that turns them into
//! [`CustomerData`]: [`CustomerChanges::into_data`], once the service has resolved the ids
//! they name. Parsing the client's text into these types is the HTTP adapter's business.

use rust_decimal::Decimal;

use super::{Address, Contact, CustomerData, CustomerSummary, Project};
use crate::customers::reference_data::{Category, PaymentType, Region, Segmentation, User};
use crate::field::Field;
use crate::input::InputError;
use crate::values::{
    CountryCode, CreditLimit, CreditLimitError, CurrencyCode, CustomerName, DueDateError,
    DueDateTerms, DueDateType, Email, FreeText, Latitude, Longitude, Reference, ReferenceError,
    RiskColor, TextError, Website,
};

/// What the operator controls on a reseller's own customer: which account pays for it, how
/// much credit it has, whether it may order at all. The reseller reads them; a change it asks
/// for is refused, and a replacement that leaves one out keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnControl {
    /// Whether it bills with its parent (an account outside the reseller's tree).
    Billing,
    /// The currency its account and limit are kept in.
    Currency,
    /// Its credit limit.
    CreditLimit,
    /// Its hold.
    Hold,
    /// Why it is on hold (the customer is told).
    HoldReason,
    /// Whether it is active.
    Activity,
}

impl OwnControl {
    /// The control, in words.
    #[must_use]
    pub const fn what(self) -> &'static str {
        match self {
            Self::Billing => "billing",
            Self::Currency => "currency",
            Self::CreditLimit => "credit limit",
            Self::Hold => "hold",
            Self::HoldReason => "hold reason",
            Self::Activity => "activity",
        }
    }

    /// Every control.
    pub const ALL: [Self; 6] = [
        Self::Billing,
        Self::Currency,
        Self::CreditLimit,
        Self::Hold,
        Self::HoldReason,
        Self::Activity,
    ];

    /// Sets the control in `data` back to `current`'s; `true` when that changed it.
    pub(crate) fn keep(self, data: &mut CustomerData, current: &CustomerData) -> bool {
        fn kept<T: PartialEq + Clone>(value: &mut T, current: &T) -> bool {
            let changed = value != current;
            value.clone_from(current);
            changed
        }
        match self {
            Self::Billing => kept(&mut data.bill_with_parent, &current.bill_with_parent),
            Self::Currency => kept(&mut data.currency, &current.currency),
            Self::CreditLimit => kept(&mut data.credit_limit, &current.credit_limit),
            Self::Hold => kept(&mut data.on_hold, &current.on_hold),
            Self::HoldReason => kept(
                &mut data.texts.on_hold_reason,
                &current.texts.on_hold_reason,
            ),
            Self::Activity => kept(&mut data.is_active, &current.is_active),
        }
    }

    /// Whether `changes` names the control.
    pub(crate) fn named_in(self, changes: &CustomerChanges) -> bool {
        match self {
            Self::Billing => changes.bill_with_parent.is_present(),
            Self::Currency => changes.currency.is_present(),
            Self::CreditLimit => changes.credit_limit.is_present(),
            Self::Hold => changes.on_hold.is_present(),
            Self::HoldReason => changes.texts.on_hold_reason.is_present(),
            Self::Activity => changes.is_active.is_present(),
        }
    }
}

/// A rule of the customers capability that a request breaks: of a customer as a whole, of its
/// projects, of the rows it and reference data refer to. The domain names the rule; the HTTP
/// adapter words it with the API's field names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerRule {
    /// A new customer without a reference.
    #[error("a new customer needs a reference")]
    ReferenceRequired,
    /// A new customer without a name.
    #[error("a new customer needs a name")]
    NameRequired,
    /// A parent named for a customer declared not to be a sub-customer.
    #[error("a customer that is not a sub-customer has no parent")]
    ParentWithoutSubCustomer,
    /// A sub-customer without a parent.
    #[error("a sub-customer needs a parent")]
    ParentRequired,
    /// Due-date terms with a type but no number of days.
    #[error("due-date terms need a number of days")]
    DueDaysRequired,
    /// Due-date terms out of range.
    #[error("due-date terms: {0}")]
    DueDate(DueDateError),
    /// A credit limit that does not fit the currency.
    #[error("credit limit: {0}")]
    CreditLimit(CreditLimitError),
    /// A reseller moving the customer its key belongs to.
    #[error("a reseller cannot move its own customer")]
    ResellerMovesOwn,
    /// A reseller changing one of the operator's controls on the customer its key belongs
    /// to.
    #[error("a reseller cannot change its own customer's {}", .0.what())]
    ResellerControlsOwn(OwnControl),
    /// A reseller placing a customer outside its tree.
    #[error("a reseller's customers stay below it")]
    OutsideReseller,
    /// A reference that is not one (a customer's, named in the path of an upsert).
    #[error("reference: {0}")]
    Reference(ReferenceError),
    /// A project name that is blank.
    #[error("a project name cannot be blank")]
    ProjectNameBlank,
    /// A project name that is too long.
    #[error("project name: {0}")]
    ProjectNameTooLong(TextError),
    /// More projects than a customer may have.
    #[error("a customer has at most {max} projects")]
    TooManyProjects {
        /// The limit, [`MAX_PROJECTS`].
        max: usize,
    },
    /// A change of currency while the account holds money or reservations.
    #[error("the currency cannot change while the account holds a balance or reservations")]
    CurrencyLocked,
    /// More documents than a customer may hold.
    #[error("a customer holds at most the configured number of documents")]
    TooManyDocuments,
    /// A row the customer refers to was deleted while the write ran.
    #[error("a row the customer refers to was deleted meanwhile")]
    CustomerRowGone,
    /// A row a row of reference data refers to (its parent) was deleted while the write ran.
    #[error("a row the record refers to was deleted meanwhile")]
    RecordRowGone,
    /// A customer write that would raise the credit limit above the four-eyes approval
    /// threshold: such a raise goes through the account's limit route, where it waits for
    /// another admin.
    #[error("a credit limit above the approval threshold needs another admin's approval")]
    LimitNeedsApproval,
}

impl From<CustomerRule> for InputError {
    fn from(rule: CustomerRule) -> Self {
        Self::Customer(rule)
    }
}

/// The most projects one customer can have.
pub const MAX_PROJECTS: usize = 100;

/// Validates one project name: non-blank, at most 255 characters.
///
/// # Errors
/// [`CustomerRule::ProjectNameBlank`] or [`CustomerRule::ProjectNameTooLong`].
pub fn project_name(name: &str) -> Result<FreeText, InputError> {
    FreeText::new(name, FreeText::SHORT)
        .map_err(CustomerRule::ProjectNameTooLong)?
        .ok_or(CustomerRule::ProjectNameBlank.into())
}

/// How an id-valued field names its row: by numeric id, or by reference with `useExternalId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKey {
    /// A numeric id.
    Id(i64),
    /// A reference.
    Reference(String),
}

impl std::fmt::Display for RefKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Reference(r) => f.write_str(r),
        }
    }
}

/// The changes a client asks for, every field well-formed and typed; the ids they name are not
/// yet resolved. `Absent` keeps a field (or gives it its default), `Null` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[expect(
    missing_docs,
    reason = "each field is the customer field of the same name"
)]
pub struct CustomerChanges {
    pub reference: Field<Reference>,
    pub name: Field<CustomerName>,
    pub texts: super::TextChanges,
    pub is_active: Field<bool>,
    pub category: Field<RefKey>,
    pub is_sub_customer: Field<bool>,
    pub parent: Field<RefKey>,
    pub bill_with_parent: Field<bool>,
    pub segmentation: Field<RefKey>,
    pub user: Field<RefKey>,
    pub is_same_address: Field<bool>,
    pub billing: AddressChanges,
    pub shipping: AddressChanges,
    pub email: Field<Email>,
    pub website: Field<Website>,
    pub credit_limit: Field<Decimal>,
    pub due_date_number: Field<i64>,
    pub due_date_type: Field<DueDateType>,
    pub currency: Field<CurrencyCode>,
    pub payment_types: Field<Vec<RefKey>>,
    pub region: Field<RefKey>,
    pub customer_risk_color: Field<RiskColor>,
    pub on_hold: Field<bool>,
    pub contacts: Field<Vec<Contact>>,
    pub projects: Field<Vec<FreeText>>,
    pub documents: Vec<crate::documents::DocumentLink>,
    pub logo: Option<crate::documents::logo::LogoUpload>,
}

/// The validated fields of one address.
#[derive(Debug, Clone, Default, PartialEq)]
#[expect(
    missing_docs,
    reason = "each field is the address field of the same name"
)]
pub struct AddressChanges {
    pub country: Field<CountryCode>,
    pub city: Field<FreeText>,
    pub postal_code: Field<FreeText>,
    pub address: Field<FreeText>,
    pub latitude: Field<Latitude>,
    pub longitude: Field<Longitude>,
}

/// The rows an input's ids resolved to (filled in by the service, which can do I/O).
#[derive(Debug, Clone, Default, PartialEq)]
#[expect(
    missing_docs,
    reason = "each field is the row the id-valued input field names"
)]
pub struct Resolved {
    pub category: Field<Category>,
    pub parent: Field<CustomerSummary>,
    pub segmentation: Field<Segmentation>,
    pub user: Field<User>,
    pub region: Field<Region>,
    pub payment_types: Field<Vec<PaymentType>>,
    pub currency_configured: bool,
}

/// What a new customer gets for the fields the client left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// The root category.
    pub category: Category,
    /// The organization currency.
    pub currency: CurrencyCode,
    /// The calling user.
    pub created_by: Option<User>,
    /// The credit limit when the input does not name one: zero for a new customer, the
    /// stored one for an update and for a replacement (money changes only when named, so a
    /// client that does not know the field never stops a customer's orders).
    pub credit_limit: Decimal,
}

impl AddressChanges {
    fn apply(self, base: Address) -> Address {
        Address {
            country: self.country.apply_to(base.country),
            city: self.city.apply_to(base.city),
            postal_code: self.postal_code.apply_to(base.postal_code),
            address: self.address.apply_to(base.address),
            latitude: self.latitude.apply_to(base.latitude),
            longitude: self.longitude.apply_to(base.longitude),
        }
    }
}

impl CustomerChanges {
    /// The currency the client asked for, which the service must find configured.
    #[must_use]
    pub fn requested_currency(&self) -> Option<CurrencyCode> {
        self.currency.value().copied()
    }

    /// Builds the customer's data: `base` for an update (absent fields keep their value),
    /// `None` for a creation or a full replacement (absent fields get their defaults).
    ///
    /// # Errors
    /// A [`CustomerRule`]: a missing reference or name on creation, a sub-customer without a
    /// parent, a due-date type without a number, a credit limit that does not fit the
    /// currency.
    pub fn into_data(
        self,
        resolved: Resolved,
        base: Option<&CustomerData>,
        defaults: &Defaults,
    ) -> Result<CustomerData, InputError> {
        if let Some(currency) = self.currency.value()
            && !resolved.currency_configured
        {
            return Err(InputError::CurrencyNotConfigured(
                currency.code().to_owned(),
            ));
        }
        let reference = match (self.reference, base) {
            (Field::Value(r), _) => r,
            (_, Some(b)) => b.reference.clone(),
            (_, None) => return Err(CustomerRule::ReferenceRequired.into()),
        };
        let name = match (self.name, base) {
            (Field::Value(n), _) => n,
            (_, Some(b)) => b.name.clone(),
            (_, None) => return Err(CustomerRule::NameRequired.into()),
        };
        let parent = match (self.is_sub_customer, resolved.parent) {
            (Field::Value(false), Field::Value(_)) => {
                return Err(CustomerRule::ParentWithoutSubCustomer.into());
            }
            (Field::Value(false), _) => None,
            (sub, parent) => {
                let parent = parent.apply_to(base.and_then(|b| b.parent.clone()));
                if sub == Field::Value(true) && parent.is_none() {
                    return Err(CustomerRule::ParentRequired.into());
                }
                parent
            }
        };
        let due_date_terms = match (self.due_date_type, self.due_date_number) {
            (Field::Absent, Field::Absent) => base.and_then(|b| b.due_date_terms),
            (Field::Null, Field::Null | Field::Absent) | (Field::Absent, Field::Null) => None,
            (kind, number) => {
                let kind = kind
                    .value()
                    .copied()
                    .or_else(|| base.and_then(|b| b.due_date_terms).map(|t| t.kind()))
                    .unwrap_or(DueDateType::DaysAfterInvoiceDate);
                let days = number
                    .value()
                    .copied()
                    .or_else(|| {
                        base.and_then(|b| b.due_date_terms)
                            .map(|t| i64::from(t.days()))
                    })
                    .ok_or(CustomerRule::DueDaysRequired)?;
                Some(DueDateTerms::new(days, kind).map_err(CustomerRule::DueDate)?)
            }
        };
        let currency = self
            .currency
            .value()
            .copied()
            .or(base.map(|b| b.currency))
            .unwrap_or(defaults.currency);
        let limit_amount = match self.credit_limit {
            Field::Value(amount) => amount,
            Field::Null => Decimal::ZERO,
            Field::Absent => defaults.credit_limit,
        };
        let credit_limit =
            CreditLimit::new(limit_amount, currency).map_err(CustomerRule::CreditLimit)?;
        let base_address =
            |pick: fn(&CustomerData) -> &Address| base.map(pick).cloned().unwrap_or_default();
        let bool_or = |field: Field<bool>, current: Option<bool>, default: bool| {
            field.value().copied().or(current).unwrap_or(default)
        };
        Ok(CustomerData {
            reference,
            name,
            texts: self.texts.apply(base.map(|b| &b.texts)),
            category: resolved
                .category
                .apply_to(base.map(|b| b.category.clone()))
                .unwrap_or_else(|| defaults.category.clone()),
            parent,
            bill_with_parent: bool_or(
                self.bill_with_parent,
                base.map(|b| b.bill_with_parent),
                false,
            ),
            segmentation: resolved
                .segmentation
                .apply_to(base.and_then(|b| b.segmentation.clone())),
            email: self.email.apply_to(base.and_then(|b| b.email.clone())),
            is_same_address: bool_or(self.is_same_address, base.map(|b| b.is_same_address), true),
            billing: self.billing.apply(base_address(|b| &b.billing)),
            shipping: self.shipping.apply(base_address(|b| &b.shipping)),
            credit_limit,
            is_active: bool_or(self.is_active, base.map(|b| b.is_active), true),
            on_hold: bool_or(self.on_hold, base.map(|b| b.on_hold), false),
            created_by: match resolved.user {
                Field::Value(user) => Some(user),
                Field::Null | Field::Absent => {
                    base.map_or_else(|| defaults.created_by.clone(), |b| b.created_by.clone())
                }
            },
            due_date_terms,
            payment_types: resolved
                .payment_types
                .apply_to(base.map(|b| b.payment_types.clone()))
                .unwrap_or_default(),
            website: self.website.apply_to(base.and_then(|b| b.website.clone())),
            currency,
            customer_risk_color: self
                .customer_risk_color
                .apply_to(base.and_then(|b| b.customer_risk_color.clone())),
            region: resolved
                .region
                .apply_to(base.and_then(|b| b.region.clone())),
            contacts: self
                .contacts
                .apply_to(base.map(|b| b.contacts.clone()))
                .unwrap_or_default(),
            projects: match self.projects {
                Field::Value(names) => keep_ids(names, base.map_or(&[], |b| &b.projects)),
                Field::Null => Vec::new(),
                Field::Absent => base.map(|b| b.projects.clone()).unwrap_or_default(),
            },
            // A new upload is stored, and named here, by the service; until then the
            // customer keeps its logo (a replacement included: a file is not a field).
            logo: base.and_then(|b| b.logo.clone()),
        })
    }
}

/// A replaced project list: a project whose name is unchanged keeps its id (each stored
/// project at most once), so clients holding ids are not broken by a resend of the list.
fn keep_ids(names: Vec<FreeText>, current: &[Project]) -> Vec<Project> {
    let mut free: Vec<&Project> = current.iter().collect();
    names
        .into_iter()
        .map(|name| {
            let id = free
                .iter()
                .position(|p| p.name == name)
                .and_then(|i| free.swap_remove(i).id);
            Project { id, name }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProjectId;

    #[test]
    fn a_replaced_list_keeps_the_ids_of_unchanged_names() {
        let name = |n: &str| FreeText::from_trusted(n.to_owned());
        let current = [
            Project {
                id: Some(ProjectId(1)),
                name: name("a"),
            },
            Project {
                id: Some(ProjectId(2)),
                name: name("b"),
            },
        ];
        let kept = keep_ids(vec![name("b"), name("c"), name("b")], &current);
        let ids: Vec<_> = kept.iter().map(|p| p.id).collect();
        assert_eq!(ids, [Some(ProjectId(2)), None, None]);
    }
}
