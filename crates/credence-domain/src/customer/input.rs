//! What a client sends to create or change a customer, and the two steps that turn it into
//! [`CustomerData`]: [`CustomerInput::validate`] (pure, field by field) and
//! [`ValidatedInput::into_data`] (pure, once the service has resolved the ids it names).

use rust_decimal::Decimal;

use super::{Address, Contact, CustomerData, CustomerSummary, Project};
use crate::field::Field;
use crate::input::{InputError, parse_bool, parse_decimal, parse_float, parse_int};
use crate::reference_data::{Category, PaymentType, Region, Segmentation, User};
use crate::values::{
    CountryCode, CreditLimit, CurrencyCode, CustomerName, DueDateTerms, DueDateType, Email,
    FreeText, Latitude, Longitude, Reference, RiskColor, Website,
};

/// A contact as sent by the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// The most projects one customer can have.
pub const MAX_PROJECTS: usize = 100;

/// Validates one project name (`customerProjects[].name`): non-blank, at most 255 characters.
///
/// # Errors
/// `invalid_param` naming `customerProjects`.
pub fn project_name(name: &str) -> Result<FreeText, InputError> {
    FreeText::new("customerProjects.name", name, FreeText::SHORT)
        .map_err(invalid("customerProjects"))?
        .ok_or_else(|| {
            InputError::invalid(
                "customerProjects",
                "A project name in customerProjects cannot be blank.",
            )
        })
}

/// The customer fields as the client wrote them. Every scalar is text: the HTTP
/// adapter does not guess types, so JSON, forms and multipart are judged by the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[expect(
    missing_docs,
    reason = "each field is the API parameter of the same name"
)]
pub struct CustomerInput {
    pub reference: Field<String>,
    pub reference2: Field<String>,
    pub name: Field<String>,
    pub barcode: Field<String>,
    pub is_active: Field<String>,
    pub category_id: Field<String>,
    pub is_sub_customer: Field<String>,
    pub parent_customer: Field<String>,
    pub bill_with_parent: Field<String>,
    pub customer_segmentation_id: Field<String>,
    pub user_id: Field<String>,
    pub is_same_address: Field<String>,
    pub billing_country: Field<String>,
    pub billing_city: Field<String>,
    pub billing_postal_code: Field<String>,
    pub billing_address: Field<String>,
    pub billing_lat: Field<String>,
    pub billing_lng: Field<String>,
    pub country: Field<String>,
    pub city: Field<String>,
    pub postal_code: Field<String>,
    pub address: Field<String>,
    pub latitude: Field<String>,
    pub longitude: Field<String>,
    pub email: Field<String>,
    pub phone: Field<String>,
    pub mobile: Field<String>,
    pub fax: Field<String>,
    pub comment: Field<String>,
    pub website: Field<String>,
    pub credit_limit: Field<String>,
    pub due_date_config_number: Field<String>,
    pub due_date_config_type: Field<String>,
    pub tax_number: Field<String>,
    pub company_registration_number: Field<String>,
    pub currency: Field<String>,
    pub payment_types: Field<Vec<String>>,
    pub region_id: Field<String>,
    pub customer_risk: Field<String>,
    pub customer_risk_color: Field<String>,
    pub on_hold: Field<String>,
    pub on_hold_reason: Field<String>,
    pub contacts: Field<Vec<ContactInput>>,
    /// `customerProjects`: the project names, in order.
    pub customer_projects: Field<Vec<String>>,
    pub use_external_id: Field<String>,
    /// `documents`: links to attach (additive; null or empty attaches nothing).
    pub documents: Field<Vec<crate::document::DocumentLinkInput>>,
    /// `imageFile` (multipart only): a new logo.
    pub image_file: Option<crate::logo::Upload>,
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

/// A customer input whose every field is well-formed; ids are not yet resolved.
#[derive(Debug, Clone, Default, PartialEq)]
#[expect(
    missing_docs,
    reason = "each field is the validated form of the CustomerInput field"
)]
pub struct ValidatedInput {
    pub reference: Field<Reference>,
    pub reference2: Field<FreeText>,
    pub name: Field<CustomerName>,
    pub barcode: Field<FreeText>,
    pub is_active: Field<bool>,
    pub category: Field<RefKey>,
    pub is_sub_customer: Field<bool>,
    pub parent: Field<RefKey>,
    pub bill_with_parent: Field<bool>,
    pub segmentation: Field<RefKey>,
    pub user: Field<RefKey>,
    pub is_same_address: Field<bool>,
    pub billing: AddressInput,
    pub shipping: AddressInput,
    pub email: Field<Email>,
    pub phone: Field<FreeText>,
    pub mobile: Field<FreeText>,
    pub fax: Field<FreeText>,
    pub comment: Field<FreeText>,
    pub website: Field<Website>,
    pub credit_limit: Field<Decimal>,
    pub due_date_number: Field<i64>,
    pub due_date_type: Field<DueDateType>,
    pub tax_number: Field<FreeText>,
    pub company_registration_number: Field<FreeText>,
    pub currency: Field<CurrencyCode>,
    pub payment_types: Field<Vec<RefKey>>,
    pub region: Field<RefKey>,
    pub customer_risk: Field<FreeText>,
    pub customer_risk_color: Field<RiskColor>,
    pub on_hold: Field<bool>,
    pub on_hold_reason: Field<FreeText>,
    pub contacts: Field<Vec<Contact>>,
    pub projects: Field<Vec<FreeText>>,
    pub documents: Vec<crate::document::DocumentLink>,
    pub logo: Option<crate::logo::LogoUpload>,
}

/// The validated fields of one address.
#[derive(Debug, Clone, Default, PartialEq)]
#[expect(
    missing_docs,
    reason = "each field is the validated form of the address field"
)]
pub struct AddressInput {
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

fn text(
    field: &'static str,
    value: Field<String>,
    max: usize,
) -> Result<Field<FreeText>, InputError> {
    Ok(match value {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Value(v) => Field::from_option(
            FreeText::new(field, &v, max).map_err(|e| InputError::invalid(field, e.to_string()))?,
        ),
    })
}

/// Validates a non-blank value with `parse`; blank text counts as null.
fn parsed<T>(
    value: Field<String>,
    parse: impl FnOnce(&str) -> Result<T, InputError>,
) -> Result<Field<T>, InputError> {
    Ok(match value {
        Field::Value(v) if !v.trim().is_empty() => Field::Value(parse(&v)?),
        Field::Value(_) | Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    })
}

fn invalid<E: std::fmt::Display>(field: &'static str) -> impl FnOnce(E) -> InputError {
    move |e| InputError::invalid(field, e.to_string())
}

fn ref_key(field: &'static str, external: bool, text: &str) -> Result<RefKey, InputError> {
    if external {
        Ok(RefKey::Reference(text.trim().to_owned()))
    } else {
        parse_int(field, text).map(RefKey::Id)
    }
}

impl CustomerInput {
    /// Checks every field on its own.
    ///
    /// # Errors
    /// The first [`InputError`] found, naming its field.
    pub fn validate(self) -> Result<ValidatedInput, InputError> {
        let external = parsed(self.use_external_id, |v| parse_bool("useExternalId", v))?
            .value()
            .copied()
            .unwrap_or(false);
        let boolean =
            |field: &'static str, value: Field<String>| parsed(value, |v| parse_bool(field, v));
        let key = |field: &'static str, value: Field<String>| {
            parsed(value, |v| ref_key(field, external, v))
        };
        let short = |field: &'static str, value: Field<String>| text(field, value, FreeText::SHORT);
        let name = match self.name {
            Field::Absent => Field::Absent,
            Field::Null => {
                return Err(InputError::invalid(
                    "name",
                    crate::values::NameError::Empty.to_string(),
                ));
            }
            Field::Value(v) => Field::Value(CustomerName::new(v).map_err(invalid("name"))?),
        };
        let reference = match self.reference {
            Field::Absent => Field::Absent,
            Field::Null => {
                return Err(InputError::invalid(
                    "reference",
                    crate::values::ReferenceError::Empty.to_string(),
                ));
            }
            Field::Value(v) => Field::Value(Reference::new(v).map_err(invalid("reference"))?),
        };
        let payment_types = match self.payment_types {
            Field::Value(keys) => Field::Value(
                keys.iter()
                    .map(|k| ref_key("payment type id", external, k))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        let contacts = match self.contacts {
            Field::Value(list) => Field::Value(
                list.into_iter()
                    .map(contact)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        let projects = match self.customer_projects {
            Field::Value(names) => {
                if names.len() > MAX_PROJECTS {
                    return Err(InputError::invalid(
                        "customerProjects",
                        format!("customerProjects cannot hold more than {MAX_PROJECTS} projects."),
                    ));
                }
                Field::Value(
                    names
                        .iter()
                        .map(|n| project_name(n))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        Ok(ValidatedInput {
            reference,
            reference2: short("reference2", self.reference2)?,
            name,
            barcode: short("barcode", self.barcode)?,
            is_active: boolean("isActive", self.is_active)?,
            category: key("categoryId", self.category_id)?,
            is_sub_customer: boolean("isSubCustomer", self.is_sub_customer)?,
            parent: key("parentCustomer", self.parent_customer)?,
            bill_with_parent: boolean("billWithParent", self.bill_with_parent)?,
            segmentation: key("customerSegmentationId", self.customer_segmentation_id)?,
            user: key("userId", self.user_id)?,
            is_same_address: boolean("isSameAddress", self.is_same_address)?,
            billing: AddressInput {
                country: parsed(self.billing_country, |v| {
                    CountryCode::parse(v).map_err(invalid("billingCountry"))
                })?,
                city: short("billingCity", self.billing_city)?,
                postal_code: short("billingPostalCode", self.billing_postal_code)?,
                address: short("billingAddress", self.billing_address)?,
                latitude: parsed(self.billing_lat, |v| {
                    Latitude::new("billingLat", parse_float("billingLat", v)?)
                        .map_err(invalid("billingLat"))
                })?,
                longitude: parsed(self.billing_lng, |v| {
                    Longitude::new("billingLng", parse_float("billingLng", v)?)
                        .map_err(invalid("billingLng"))
                })?,
            },
            shipping: AddressInput {
                country: parsed(self.country, |v| {
                    CountryCode::parse(v).map_err(invalid("country"))
                })?,
                city: short("city", self.city)?,
                postal_code: short("postalCode", self.postal_code)?,
                address: short("address", self.address)?,
                latitude: parsed(self.latitude, |v| {
                    Latitude::new("latitude", parse_float("latitude", v)?)
                        .map_err(invalid("latitude"))
                })?,
                longitude: parsed(self.longitude, |v| {
                    Longitude::new("longitude", parse_float("longitude", v)?)
                        .map_err(invalid("longitude"))
                })?,
            },
            email: parsed(self.email, |v| Email::new(v).map_err(invalid("email")))?,
            phone: short("phone", self.phone)?,
            mobile: short("mobile", self.mobile)?,
            fax: short("fax", self.fax)?,
            comment: text("comment", self.comment, FreeText::LONG)?,
            website: parsed(self.website, |v| {
                Website::new(v).map_err(invalid("website"))
            })?,
            credit_limit: parsed(self.credit_limit, |v| parse_decimal("creditLimit", v))?,
            due_date_number: parsed(self.due_date_config_number, |v| {
                parse_int("dueDateConfigNumber", v)
            })?,
            due_date_type: parsed(self.due_date_config_type, |v| {
                DueDateType::parse(v).map_err(invalid("dueDateConfigType"))
            })?,
            tax_number: short("taxNumber", self.tax_number)?,
            company_registration_number: short(
                "companyRegistrationNumber",
                self.company_registration_number,
            )?,
            currency: parsed(self.currency, |v| {
                CurrencyCode::parse(v).map_err(|e| InputError::UnknownCurrency(e.0))
            })?,
            payment_types,
            region: key("regionId", self.region_id)?,
            customer_risk: short("customerRisk", self.customer_risk)?,
            customer_risk_color: parsed(self.customer_risk_color, |v| {
                RiskColor::new(v).map_err(invalid("customerRiskColor"))
            })?,
            on_hold: boolean("onHold", self.on_hold)?,
            on_hold_reason: short("onHoldReason", self.on_hold_reason)?,
            contacts,
            projects,
            documents: match self.documents {
                Field::Value(links) => links
                    .into_iter()
                    .map(crate::document::DocumentLinkInput::validate)
                    .collect::<Result<_, _>>()?,
                Field::Null | Field::Absent => Vec::new(),
            },
            logo: self
                .image_file
                .map(crate::logo::LogoUpload::new)
                .transpose()?,
        })
    }
}

fn contact(input: ContactInput) -> Result<Contact, InputError> {
    let name = input
        .name
        .as_deref()
        .map(|n| FreeText::new("contacts.name", n, FreeText::SHORT))
        .transpose();
    let phone = input
        .phone
        .as_deref()
        .map(|p| FreeText::new("contacts.phone", p, FreeText::SHORT))
        .transpose();
    let email = input
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(Email::new)
        .transpose()
        .map_err(invalid("contacts"))?;
    Ok(Contact {
        name: name.map_err(invalid("contacts"))?.flatten(),
        email,
        phone: phone.map_err(invalid("contacts"))?.flatten(),
    })
}

impl AddressInput {
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

impl ValidatedInput {
    /// The currency the client asked for, which the service must find configured.
    #[must_use]
    pub fn requested_currency(&self) -> Option<CurrencyCode> {
        self.currency.value().copied()
    }

    /// Builds the customer's data: `base` for an update (absent fields keep their value),
    /// `None` for a creation or a full replacement (absent fields get their defaults).
    ///
    /// # Errors
    /// `missing_param` for a missing reference or name on creation, a parent required by
    /// `isSubCustomer`, a due-date type without a number; `invalid_param` for a credit limit
    /// that does not fit the currency.
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
            (_, None) => return Err(InputError::Missing("reference")),
        };
        let name = match (self.name, base) {
            (Field::Value(n), _) => n,
            (_, Some(b)) => b.name.clone(),
            (_, None) => return Err(InputError::Missing("name")),
        };
        let parent = match (self.is_sub_customer, resolved.parent) {
            (Field::Value(false), Field::Value(_)) => {
                return Err(InputError::invalid(
                    "parentCustomer",
                    "parentCustomer cannot be given when isSubCustomer is false",
                ));
            }
            (Field::Value(false), _) => None,
            (sub, parent) => {
                let parent = parent.apply_to(base.and_then(|b| b.parent.clone()));
                if sub == Field::Value(true) && parent.is_none() {
                    return Err(InputError::Missing("parentCustomer"));
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
                    .ok_or(InputError::Missing("dueDateConfigNumber"))?;
                Some(DueDateTerms::new(days, kind).map_err(invalid("dueDateConfigNumber"))?)
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
            CreditLimit::new(limit_amount, currency).map_err(invalid("creditLimit"))?;
        let base_address =
            |pick: fn(&CustomerData) -> &Address| base.map(pick).cloned().unwrap_or_default();
        let bool_or = |field: Field<bool>, current: Option<bool>, default: bool| {
            field.value().copied().or(current).unwrap_or(default)
        };
        Ok(CustomerData {
            reference,
            reference2: self
                .reference2
                .apply_to(base.and_then(|b| b.reference2.clone())),
            name,
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
            phone: self.phone.apply_to(base.and_then(|b| b.phone.clone())),
            mobile: self.mobile.apply_to(base.and_then(|b| b.mobile.clone())),
            fax: self.fax.apply_to(base.and_then(|b| b.fax.clone())),
            comment: self.comment.apply_to(base.and_then(|b| b.comment.clone())),
            barcode: self.barcode.apply_to(base.and_then(|b| b.barcode.clone())),
            is_same_address: bool_or(self.is_same_address, base.map(|b| b.is_same_address), true),
            billing: self.billing.apply(base_address(|b| &b.billing)),
            shipping: self.shipping.apply(base_address(|b| &b.shipping)),
            credit_limit,
            is_active: bool_or(self.is_active, base.map(|b| b.is_active), true),
            on_hold: bool_or(self.on_hold, base.map(|b| b.on_hold), false),
            on_hold_reason: self
                .on_hold_reason
                .apply_to(base.and_then(|b| b.on_hold_reason.clone())),
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
            tax_number: self
                .tax_number
                .apply_to(base.and_then(|b| b.tax_number.clone())),
            company_registration_number: self
                .company_registration_number
                .apply_to(base.and_then(|b| b.company_registration_number.clone())),
            currency,
            customer_risk: self
                .customer_risk
                .apply_to(base.and_then(|b| b.customer_risk.clone())),
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

    fn with_projects(names: &[&str]) -> CustomerInput {
        CustomerInput {
            customer_projects: Field::Value(names.iter().map(|n| (*n).to_owned()).collect()),
            ..CustomerInput::default()
        }
    }

    fn refused(input: CustomerInput) -> String {
        match input.validate() {
            Err(InputError::Invalid { field, .. }) => field.to_owned(),
            other => panic!("expected invalid_param, got {other:?}"),
        }
    }

    #[test]
    fn project_names_are_trimmed_and_checked() {
        let valid = with_projects(&[" Floor installation ", "General maintenance"])
            .validate()
            .unwrap();
        let names: Vec<_> = valid
            .projects
            .value()
            .unwrap()
            .iter()
            .map(FreeText::as_str)
            .collect();
        assert_eq!(names, ["Floor installation", "General maintenance"]);
        assert_eq!(refused(with_projects(&["  "])), "customerProjects");
        assert_eq!(
            refused(with_projects(&[&"x".repeat(256)])),
            "customerProjects"
        );
        assert!(with_projects(&[&"x".repeat(255)]).validate().is_ok());
        let many: Vec<String> = (0..=MAX_PROJECTS).map(|i| format!("p{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(refused(with_projects(&many)), "customerProjects");
        assert!(with_projects(&many[..MAX_PROJECTS]).validate().is_ok());
    }

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
