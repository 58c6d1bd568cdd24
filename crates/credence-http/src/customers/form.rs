//! The customer as a client writes it: [`CustomerForm`] (every scalar as text; its OpenAPI
//! schema is derived from it), how a body is read into it ([`customer_text`]), and the one
//! step that turns it into the domain's typed [`CustomerChanges`]. JSON, forms and multipart
//! are judged by the same rules here, at the edge, so the domain never sees wire names or
//! form leniency (`"yes"` for a boolean, blank text for null). The plain texts come from
//! the domain's one list of them (`customer_texts!`) and need no line here; any other new
//! field is written three times in this one file: the struct, the reading, the validation.

use credence_domain::customers::service::may_name_creator;
use credence_domain::customers::{
    AddressChanges, Contact, CustomerChanges, CustomerRule, MAX_PROJECTS, RefKey, TextChanges,
    project_name,
};
use credence_domain::field::Field;
use utoipa::ToSchema;

use crate::body::{BodyFields, IMAGE_PART};
use crate::input::{contacts, customer_projects, documents, payment_types, scalar};
use credence_domain::Principal;

use crate::input::{parse_bool, parse_decimal, parse_float, parse_int};
use crate::openapi::{DocumentLinkForm, PaymentTypeRef};
use crate::wire_name::wire_name;
use crate::wording::WireError;
use credence_domain::input::InputError;
use credence_domain::values::{
    CountryCode, CurrencyCode, CustomerName, DueDateType, Email, FreeText, Latitude, Longitude,
    NameError, Reference, ReferenceError, RiskColor, Website,
};

use crate::wording;

/// A project: an entry of a customer's `customerProjects`, and the body of
/// `POST|PUT /customers/{id}/projects...`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct ProjectForm {
    /// Non-blank, at most 255 characters.
    #[schema(
        example = "Floor installation",
        pattern = "{non_blank}",
        max_length = 255
    )]
    pub(crate) name: String,
}

impl ProjectForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` naming `name` when it is absent or null; `invalid_param_type` for a
    /// structured value.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let name = scalar(fields, "name")?
            .value()
            .cloned()
            .ok_or(WireError::Missing("name"))?;
        Ok(Self { name })
    }
}

/// A contact in a customer body.
// Read as the client wrote it (`crate::input::contacts`); checked when the customer is.
#[derive(Debug, Clone, Default, PartialEq, Eq, ToSchema)]
pub(crate) struct ContactForm {
    #[schema(max_length = 255)]
    pub(crate) name: Option<String>,
    #[schema(pattern = "{email}", max_length = 254)]
    pub(crate) email: Option<String>,
    #[schema(max_length = 255)]
    pub(crate) phone: Option<String>,
}

// The body's struct is written inside this macro so that the customer's plain texts, listed
// once in the domain (`customer_texts!`), become fields of their own, with their schema, their
// reading by wire name and their check, and no line here for each one.
macro_rules! customer_form {
    ($($text:ident: $max:tt),* $(,)?) => {
        // The one type a customer body is read into and the OpenAPI schema `CustomerForm` is derived
        // from (its doc comment is the schema's description). Every scalar is kept as text, so JSON,
        // forms and multipart are judged by the same rules in `CustomerForm::validate`.
        /// A customer body. Every field is optional on update; `reference` and `name` are required
        /// on create. In forms, `paymentTypes` may be written `[{"id"=7},{"id"=8}]` and `contacts` as
        /// JSON text. Unknown fields, and fields a client may not set (`id`, `uuid`, `dateCreated`,
        /// `lastUpdated`, `balance`), are ignored.
        #[derive(Debug, Clone, Default, PartialEq, Eq, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub(crate) struct CustomerForm {
            #[schema(value_type = String, required = false, pattern = "{reference}", max_length = 255)]
            pub(crate) reference: Field<String>,
            #[schema(value_type = String, required = false, pattern = "{name}", max_length = 255)]
            pub(crate) name: Field<String>,
            #[schema(value_type = Option<bool>)]
            pub(crate) is_active: Field<String>,
            /// Id, or reference with `useExternalId=true`.
            #[schema(value_type = Option<String>)]
            pub(crate) category_id: Field<String>,
            #[schema(value_type = Option<bool>)]
            pub(crate) is_sub_customer: Field<String>,
            /// Id, or reference with `useExternalId=true`.
            #[schema(value_type = Option<String>)]
            pub(crate) parent_customer: Field<String>,
            #[schema(value_type = Option<bool>)]
            pub(crate) bill_with_parent: Field<String>,
            #[schema(value_type = Option<String>)]
            pub(crate) customer_segmentation_id: Field<String>,
            #[schema(value_type = Option<String>)]
            pub(crate) user_id: Field<String>,
            #[schema(value_type = Option<bool>)]
            pub(crate) is_same_address: Field<String>,
            #[schema(value_type = Option<String>)]
            pub(crate) billing_country: Field<String>,
            #[schema(value_type = Option<String>, max_length = 255)]
            pub(crate) billing_city: Field<String>,
            #[schema(value_type = Option<String>, max_length = 255)]
            pub(crate) billing_postal_code: Field<String>,
            #[schema(value_type = Option<String>, max_length = 255)]
            pub(crate) billing_address: Field<String>,
            #[schema(value_type = Option<f64>, minimum = -90, maximum = 90)]
            pub(crate) billing_lat: Field<String>,
            #[schema(value_type = Option<f64>, minimum = -180, maximum = 180)]
            pub(crate) billing_lng: Field<String>,
            #[schema(value_type = Option<String>)]
            pub(crate) country: Field<String>,
            #[schema(value_type = Option<String>, max_length = 255)]
            pub(crate) city: Field<String>,
            #[schema(value_type = Option<String>, max_length = 255)]
            pub(crate) postal_code: Field<String>,
            #[schema(value_type = Option<String>, max_length = 255)]
            pub(crate) address: Field<String>,
            #[schema(value_type = Option<f64>, minimum = -90, maximum = 90)]
            pub(crate) latitude: Field<String>,
            #[schema(value_type = Option<f64>, minimum = -180, maximum = 180)]
            pub(crate) longitude: Field<String>,
            #[schema(value_type = Option<String>, pattern = "{email}", max_length = 254)]
            pub(crate) email: Field<String>,
            #[schema(value_type = Option<String>)]
            pub(crate) website: Field<String>,
            /// Exact decimal, at most the currency's minor-unit digits.
            #[schema(value_type = Option<f64>, minimum = 0)]
            pub(crate) credit_limit: Field<String>,
            /// Days, 0 to 3650.
            #[schema(value_type = Option<i64>, minimum = 0, maximum = 3650)]
            pub(crate) due_date_config_number: Field<String>,
            /// `1`/`daysAfterInvoiceDate` or `2`/`daysAfterEndOfInvoiceMonth`.
            #[schema(value_type = Option<String>, pattern = r"^\s*(?:1|2|daysAfterInvoiceDate|daysAfterEndOfInvoiceMonth)?\s*$")]
            pub(crate) due_date_config_type: Field<String>,
            /// A configured ISO 4217 code.
            #[schema(value_type = Option<String>)]
            pub(crate) currency: Field<String>,
            #[schema(value_type = Option<Vec<PaymentTypeRef>>)]
            pub(crate) payment_types: Field<Vec<String>>,
            #[schema(value_type = Option<String>)]
            pub(crate) region_id: Field<String>,
            /// `#RRGGBB`.
            #[schema(value_type = Option<String>, pattern = r"^\s*(?:#[0-9A-Fa-f]{6})?\s*$")]
            pub(crate) customer_risk_color: Field<String>,
            #[schema(value_type = Option<bool>)]
            pub(crate) on_hold: Field<String>,
            #[schema(value_type = Option<Vec<ContactForm>>)]
            pub(crate) contacts: Field<Vec<ContactForm>>,
            /// Replaces the list (keeping the ids of unchanged names); `null` or `[]` clears it.
            #[schema(value_type = Option<Vec<ProjectForm>>, max_items = 100)]
            pub(crate) customer_projects: Field<Vec<String>>,
            #[schema(value_type = Option<bool>)]
            pub(crate) use_external_id: Field<String>,
            /// Documents to attach; in forms and multipart, as JSON text.
            #[schema(value_type = Option<Vec<DocumentLinkForm>>)]
            pub(crate) documents: Field<Vec<credence_domain::documents::DocumentLinkInput>>,
            /// Multipart only: a new logo, jpg, gif, png or bmp (checked by content), at most 2 MB.
            #[schema(value_type = Option<String>, format = Binary)]
            pub(crate) image_file: Option<credence_domain::documents::logo::Upload>,
            $(
                #[schema(value_type = Option<String>, max_length = $max)]
                pub(crate) $text: Field<String>,
            )*
        }

        impl CustomerForm {
            /// Reads the plain texts of the body, each by its wire name.
            fn read_texts(&mut self, fields: &BodyFields) -> Result<(), WireError> {
                $(self.$text = scalar(fields, wire_name!($text))?;)*
                Ok(())
            }

            /// Checks the plain texts: each one at most its number of characters.
            fn text_changes(&mut self) -> Result<TextChanges, WireError> {
                Ok(TextChanges {
                    $($text: text(wire_name!($text), std::mem::take(&mut self.$text), $max)?,)*
                })
            }
        }
    };
}

credence_domain::customer_texts!(customer_form);

/// The typed customer changes of any body. `reference` (the path's, for a write by
/// reference) replaces the body's; `userId` is read only from admins (others may not name a
/// creator, so what they send there is ignored, as any unknown field).
///
/// # Errors
/// As [`customer_text`], then the first field that is not valid.
pub(crate) fn customer_changes(
    fields: BodyFields,
    reference: Option<&str>,
    caller: &Principal,
) -> Result<CustomerChanges, WireError> {
    let mut text = customer_text(fields)?;
    if let Some(reference) = reference {
        text.reference = Field::Value(reference.to_owned());
    }
    if !may_name_creator(caller) {
        text.user_id = Field::Absent;
    }
    text.validate()
}

/// The customer text of any body; the `imageFile` upload is moved out of it.
///
/// # Errors
/// `invalid_param_type` for structured values in scalar fields and malformed `paymentTypes`
/// or `contacts`; `invalid_param` for a `documents` that is not an array of objects.
pub(crate) fn customer_text(mut fields: BodyFields) -> Result<CustomerForm, WireError> {
    let image_file = fields.take_file(IMAGE_PART);
    let fields = &fields;
    let s = |name: &'static str| scalar(fields, name);
    let mut form = CustomerForm {
        reference: s("reference")?,
        name: s("name")?,
        is_active: s("isActive")?,
        category_id: s("categoryId")?,
        is_sub_customer: s("isSubCustomer")?,
        parent_customer: s("parentCustomer")?,
        bill_with_parent: s("billWithParent")?,
        customer_segmentation_id: s("customerSegmentationId")?,
        user_id: s("userId")?,
        is_same_address: s("isSameAddress")?,
        billing_country: s("billingCountry")?,
        billing_city: s("billingCity")?,
        billing_postal_code: s("billingPostalCode")?,
        billing_address: s("billingAddress")?,
        billing_lat: s("billingLat")?,
        billing_lng: s("billingLng")?,
        country: s("country")?,
        city: s("city")?,
        postal_code: s("postalCode")?,
        address: s("address")?,
        latitude: s("latitude")?,
        longitude: s("longitude")?,
        email: s("email")?,
        website: s("website")?,
        credit_limit: s("creditLimit")?,
        due_date_config_number: s("dueDateConfigNumber")?,
        due_date_config_type: s("dueDateConfigType")?,
        currency: s("currency")?,
        payment_types: payment_types(fields)?,
        region_id: s("regionId")?,
        customer_risk_color: s("customerRiskColor")?,
        on_hold: s("onHold")?,
        contacts: contacts(fields)?,
        customer_projects: customer_projects(fields)?,
        use_external_id: s("useExternalId")?,
        documents: documents(fields)?,
        image_file,
        ..CustomerForm::default()
    };
    form.read_texts(fields)?;
    Ok(form)
}

fn text(
    field: &'static str,
    value: Field<String>,
    max: usize,
) -> Result<Field<FreeText>, WireError> {
    Ok(match value {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Value(v) => Field::from_option(
            FreeText::new(&v, max)
                .map_err(|e| WireError::invalid(field, wording::free_text(field, &e)))?,
        ),
    })
}

/// Validates a non-blank value with `parse`; blank text counts as null.
fn parsed<T>(
    value: Field<String>,
    parse: impl FnOnce(&str) -> Result<T, WireError>,
) -> Result<Field<T>, WireError> {
    Ok(match value {
        Field::Value(v) if !v.trim().is_empty() => Field::Value(parse(&v)?),
        Field::Value(_) | Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    })
}

fn invalid<E: std::fmt::Display>(field: &'static str) -> impl FnOnce(E) -> WireError {
    move |e| WireError::invalid(field, e.to_string())
}

/// An `invalid_param` for `field` whose words start with the field's name: for values whose
/// own words name something else by the same word (`The country Atlantis...` for `country`
/// and `billingCountry` alike).
fn field_first<E: std::fmt::Display>(field: &'static str) -> impl FnOnce(E) -> WireError {
    move |e| WireError::invalid(field, format!("{field}: {e}"))
}

/// An `invalid_param` for `field`, in the words `word` gives the value's error.
fn worded<E>(field: &'static str, word: fn(&E) -> String) -> impl FnOnce(E) -> WireError {
    move |e| WireError::invalid(field, word(&e))
}

/// A latitude (`billingLat`, `latitude`).
fn latitude(field: &'static str, text: &str) -> Result<Latitude, WireError> {
    Latitude::new(parse_float(field, text)?)
        .map_err(|e| WireError::invalid(field, wording::coordinate(field, &e)))
}

/// A longitude (`billingLng`, `longitude`).
fn longitude(field: &'static str, text: &str) -> Result<Longitude, WireError> {
    Longitude::new(parse_float(field, text)?)
        .map_err(|e| WireError::invalid(field, wording::coordinate(field, &e)))
}

fn ref_key(field: &'static str, external: bool, text: &str) -> Result<RefKey, WireError> {
    if external {
        Ok(RefKey::Reference(text.trim().to_owned()))
    } else {
        parse_int(field, text).map(RefKey::Id)
    }
}

impl CustomerForm {
    /// Checks every field on its own.
    ///
    /// # Errors
    /// The first [`InputError`] found, naming its field.
    pub(crate) fn validate(mut self) -> Result<CustomerChanges, WireError> {
        let texts = self.text_changes()?;
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
                return Err(WireError::invalid("name", wording::name(&NameError::Empty)));
            }
            Field::Value(v) => {
                Field::Value(CustomerName::new(v).map_err(worded("name", wording::name))?)
            }
        };
        let reference = match self.reference {
            Field::Absent => Field::Absent,
            Field::Null => {
                return Err(WireError::invalid(
                    "reference",
                    wording::reference(&ReferenceError::Empty),
                ));
            }
            Field::Value(v) => {
                Field::Value(Reference::new(v).map_err(worded("reference", wording::reference))?)
            }
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
                    let rule = CustomerRule::TooManyProjects { max: MAX_PROJECTS };
                    return Err(InputError::from(rule).into());
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
        Ok(CustomerChanges {
            reference,
            name,
            texts,
            is_active: boolean("isActive", self.is_active)?,
            category: key("categoryId", self.category_id)?,
            is_sub_customer: boolean("isSubCustomer", self.is_sub_customer)?,
            parent: key("parentCustomer", self.parent_customer)?,
            bill_with_parent: boolean("billWithParent", self.bill_with_parent)?,
            segmentation: key("customerSegmentationId", self.customer_segmentation_id)?,
            user: key("userId", self.user_id)?,
            is_same_address: boolean("isSameAddress", self.is_same_address)?,
            billing: AddressChanges {
                country: parsed(self.billing_country, |v| {
                    CountryCode::parse(v).map_err(field_first("billingCountry"))
                })?,
                city: short("billingCity", self.billing_city)?,
                postal_code: short("billingPostalCode", self.billing_postal_code)?,
                address: short("billingAddress", self.billing_address)?,
                latitude: parsed(self.billing_lat, |v| latitude("billingLat", v))?,
                longitude: parsed(self.billing_lng, |v| longitude("billingLng", v))?,
            },
            shipping: AddressChanges {
                country: parsed(self.country, |v| {
                    CountryCode::parse(v).map_err(field_first("country"))
                })?,
                city: short("city", self.city)?,
                postal_code: short("postalCode", self.postal_code)?,
                address: short("address", self.address)?,
                latitude: parsed(self.latitude, |v| latitude("latitude", v))?,
                longitude: parsed(self.longitude, |v| longitude("longitude", v))?,
            },
            email: parsed(self.email, |v| Email::new(v).map_err(invalid("email")))?,
            website: parsed(self.website, |v| {
                Website::new(v).map_err(invalid("website"))
            })?,
            credit_limit: parsed(self.credit_limit, |v| parse_decimal("creditLimit", v))?,
            due_date_number: parsed(self.due_date_config_number, |v| {
                parse_int("dueDateConfigNumber", v)
            })?,
            due_date_type: parsed(self.due_date_config_type, |v| {
                DueDateType::parse(v).map_err(worded("dueDateConfigType", wording::due_date))
            })?,
            currency: parsed(self.currency, |v| {
                CurrencyCode::parse(v).map_err(|e| InputError::UnknownCurrency(e.0).into())
            })?,
            payment_types,
            region: key("regionId", self.region_id)?,
            customer_risk_color: parsed(self.customer_risk_color, |v| {
                RiskColor::new(v).map_err(worded("customerRiskColor", wording::risk_color))
            })?,
            on_hold: boolean("onHold", self.on_hold)?,
            contacts,
            projects,
            documents: match self.documents {
                Field::Value(links) => links
                    .into_iter()
                    .map(credence_domain::documents::DocumentLinkInput::validate)
                    .collect::<Result<_, _>>()?,
                Field::Null | Field::Absent => Vec::new(),
            },
            logo: self
                .image_file
                .map(credence_domain::documents::logo::LogoUpload::new)
                .transpose()?,
        })
    }
}

fn contact(input: ContactForm) -> Result<Contact, WireError> {
    let name = input
        .name
        .as_deref()
        .map(|n| FreeText::new(n, FreeText::SHORT))
        .transpose()
        .map_err(|e| wording::free_text("contacts.name", &e));
    let phone = input
        .phone
        .as_deref()
        .map(|p| FreeText::new(p, FreeText::SHORT))
        .transpose()
        .map_err(|e| wording::free_text("contacts.phone", &e));
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_project_reader_reads_every_property_of_its_schema() {
        crate::schema_check::readers_read_every_property(
            &[("ProjectForm", |f| super::ProjectForm::read(f).map(drop))],
            |_| "Floor",
        );
    }

    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BodyFields {
        BodyFields::from_text(pairs)
    }

    /// The body is read by the names the OpenAPI schema publishes, and by no other: a
    /// property the parser does not read (a renamed or misspelt wire name, a field added to
    /// one side only) fails here rather than being ignored in silence.
    #[test]
    fn the_parser_reads_every_property_of_the_schema() {
        let doc = serde_json::to_value(crate::openapi::openapi()).unwrap();
        let properties = doc["components"]["schemas"]["CustomerForm"]["properties"]
            .as_object()
            .unwrap();
        assert!(properties.len() > 40, "{properties:?}");
        for name in properties.keys() {
            let fields = match name.as_str() {
                IMAGE_PART => BodyFields::default().with_file(
                    IMAGE_PART,
                    credence_domain::documents::logo::Upload {
                        file_name: None,
                        bytes: vec![1],
                    },
                ),
                "paymentTypes" => form(&[(name, "7")]),
                "contacts" | "customerProjects" | "documents" => form(&[(name, "[]")]),
                _ => form(&[(name, "1")]),
            };
            let read = customer_text(fields).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_ne!(
                read,
                CustomerForm::default(),
                "{name} is in the OpenAPI schema, but the parser does not read it"
            );
        }
    }

    /// The arrays of a customer body (its contacts, document links and payment types) are
    /// read member by member: each member their schema publishes is read by that name, so a
    /// renamed or misspelt member fails here rather than being dropped in silence.
    #[test]
    fn the_nested_readers_read_every_member_of_their_schemas() {
        use crate::body::RawField;
        type Nested = fn(&BodyFields) -> Result<String, WireError>;
        let readers: [(&str, &str, Nested); 3] = [
            ("ContactForm", "contacts", |f| {
                Ok(format!("{:?}", contacts(f)?))
            }),
            ("DocumentLinkForm", "documents", |f| {
                Ok(format!("{:?}", documents(f)?))
            }),
            ("PaymentTypeRef", "paymentTypes", |f| {
                Ok(format!("{:?}", payment_types(f)?))
            }),
        ];
        for (schema, field, read) in readers {
            let members = crate::schema_check::properties(schema);
            let entry = |broken: Option<usize>| {
                let object: serde_json::Map<String, serde_json::Value> = members
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let value = if broken == Some(i) {
                            serde_json::json!({})
                        } else {
                            serde_json::json!(format!("member-{i}"))
                        };
                        (name.clone(), value)
                    })
                    .collect();
                BodyFields::new(vec![(
                    field.to_owned(),
                    RawField::Json(serde_json::json!([object])),
                )])
            };
            let read_back = read(&entry(None)).unwrap_or_else(|e| panic!("{schema}: {e}"));
            for (i, name) in members.iter().enumerate() {
                assert!(
                    read_back.contains(&format!("\"member-{i}\"")),
                    "{schema}.{name} is published but not read: {read_back}"
                );
                assert!(
                    read(&entry(Some(i))).is_err(),
                    "{schema}.{name} is read under another name"
                );
            }
        }
    }

    fn with_projects(names: &[&str]) -> CustomerForm {
        CustomerForm {
            customer_projects: Field::Value(names.iter().map(|n| (*n).to_owned()).collect()),
            ..CustomerForm::default()
        }
    }

    fn refused(input: CustomerForm) -> String {
        match input.validate() {
            Err(WireError::Invalid { field, .. }) => field.to_owned(),
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
}
