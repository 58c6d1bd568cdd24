//! The customer's rows as diesel reads and writes them: a row into a domain customer, a
//! customer into the fields written, and the writing of its children (payment types,
//! contacts, projects). A new column is read and written here, in this one file.

// Split from the parent module, whose imports it shares.
use super::*;
use crate::database::write_behind;

#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
pub(crate) struct CustomerRow {
    pub(crate) id: i64,
    pub(crate) uuid: String,
    pub(crate) reference: String,
    pub(crate) name: String,
    #[diesel(embed)]
    pub(crate) texts: TextColumns,
    pub(crate) category_id: i64,
    pub(crate) parent_id: Option<i64>,
    pub(crate) bill_with_parent: bool,
    pub(crate) segmentation_id: Option<i64>,
    pub(crate) email: Option<String>,
    pub(crate) is_same_address: bool,
    pub(crate) billing_country: Option<String>,
    pub(crate) billing_city: Option<String>,
    pub(crate) billing_postal_code: Option<String>,
    pub(crate) billing_address: Option<String>,
    pub(crate) billing_latitude: Option<f64>,
    pub(crate) billing_longitude: Option<f64>,
    pub(crate) country: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
    pub(crate) is_active: bool,
    pub(crate) on_hold: bool,
    pub(crate) created_by: Option<i64>,
    pub(crate) due_date_number: Option<i64>,
    pub(crate) due_date_type: Option<String>,
    pub(crate) website: Option<String>,
    pub(crate) currency: String,
    pub(crate) customer_risk_color: Option<String>,
    pub(crate) region_id: Option<i64>,
    pub(crate) date_created: NaiveDateTime,
    pub(crate) last_updated: NaiveDateTime,
    pub(crate) logo: Option<String>,
    pub(crate) revision: i64,
}

pub(crate) fn lookup<T: Clone>(
    map: &HashMap<i64, T>,
    id: Option<i64>,
    what: &str,
) -> Result<Option<T>, Failure> {
    id.map(|id| {
        map.get(&id)
            .cloned()
            .ok_or_else(|| Failure::corrupt(what, format!("row {id} is missing")))
    })
    .transpose()
}

pub(crate) fn country(code: Option<String>) -> Result<Option<CountryCode>, Failure> {
    code.map(|c| CountryCode::parse(&c))
        .transpose()
        .map_err(|e| Failure::corrupt("country", e))
}

pub(crate) fn lat(field: &'static str, value: Option<f64>) -> Result<Option<Latitude>, Failure> {
    value
        .map(Latitude::new)
        .transpose()
        .map_err(|e| Failure::corrupt(field, e))
}

pub(crate) fn lng(field: &'static str, value: Option<f64>) -> Result<Option<Longitude>, Failure> {
    value
        .map(Longitude::new)
        .transpose()
        .map_err(|e| Failure::corrupt(field, e))
}

pub(crate) fn free(value: Option<String>) -> Option<FreeText> {
    value.map(FreeText::from_trusted)
}

impl CustomerRow {
    /// The domain customer of this row, with what it points to already loaded.
    pub(crate) fn into_domain(
        self,
        related: &Related,
        account: AccountRow,
        payment_types: Vec<PaymentType>,
        contacts: Vec<Contact>,
        projects: Vec<Project>,
        documents: Vec<Document>,
    ) -> Result<Customer, Failure> {
        let currency =
            CurrencyCode::parse(&self.currency).map_err(|e| Failure::corrupt("currency", e))?;
        let due_date_terms = match (self.due_date_number, self.due_date_type) {
            (Some(days), Some(kind)) => {
                let kind =
                    DueDateType::parse(&kind).map_err(|e| Failure::corrupt("due date type", e))?;
                Some(
                    DueDateTerms::new(days, kind)
                        .map_err(|e| Failure::corrupt("due date terms", e))?,
                )
            }
            _ => None,
        };
        let data = CustomerData {
            reference: Reference::new(self.reference)
                .map_err(|e| Failure::corrupt("customer reference", e))?,
            texts: self.texts.into_domain(),
            name: CustomerName::new(self.name).map_err(|e| Failure::corrupt("customer name", e))?,
            category: lookup(&related.categories, Some(self.category_id), "category")?
                .ok_or_else(|| Failure::corrupt("category", "missing"))?,
            parent: lookup(&related.parents, self.parent_id, "parent customer")?,
            bill_with_parent: self.bill_with_parent,
            segmentation: lookup(&related.segmentations, self.segmentation_id, "segmentation")?,
            email: self
                .email
                .map(|e| Email::new(&e))
                .transpose()
                .map_err(|e| Failure::corrupt("e-mail", e))?,
            is_same_address: self.is_same_address,
            billing: Address {
                country: country(self.billing_country)?,
                city: free(self.billing_city),
                postal_code: free(self.billing_postal_code),
                address: free(self.billing_address),
                latitude: lat("billingLatitude", self.billing_latitude)?,
                longitude: lng("billingLongitude", self.billing_longitude)?,
            },
            shipping: Address {
                country: country(self.country)?,
                city: free(self.city),
                postal_code: free(self.postal_code),
                address: free(self.address),
                latitude: lat("latitude", self.latitude)?,
                longitude: lng("longitude", self.longitude)?,
            },
            credit_limit: CreditLimit::from_minor_units(account.credit_limit, currency)
                .map_err(|e| Failure::corrupt("credit limit", e))?,
            is_active: self.is_active,
            on_hold: self.on_hold,
            created_by: lookup(&related.users, self.created_by, "user")?,
            due_date_terms,
            payment_types,
            website: self
                .website
                .map(|w| Website::new(&w))
                .transpose()
                .map_err(|e| Failure::corrupt("website", e))?,
            currency,
            customer_risk_color: self
                .customer_risk_color
                .map(|c| RiskColor::new(&c))
                .transpose()
                .map_err(|e| Failure::corrupt("risk colour", e))?,
            region: lookup(&related.regions, self.region_id, "region")?,
            contacts,
            projects,
            logo: self.logo.map(LogoName::from_trusted),
        };
        Ok(Customer {
            id: CustomerId(self.id),
            uuid: Uuid::parse_str(&self.uuid).map_err(|e| Failure::corrupt("uuid", e))?,
            data,
            date_created: self.date_created.and_utc(),
            last_updated: self.last_updated.and_utc(),
            revision: Revision::new(self.revision),
            account: Some(account.into_domain(0)?),
            documents,
        })
    }
}

/// Every column a client can change, plus the folded copies and `last_updated`. An absent
/// value is written as `NULL`, never as the column's default: an `INSERT` that says
/// `DEFAULT` for some columns is a different statement for each combination, which diesel
/// prepares anew every time instead of once per connection.
///
/// In three parts by what an update costs: SQLite rewrites every index on a column an
/// `UPDATE` sets, changed or not, so its update sets the indexed columns only when they
/// changed (see `update_statement`). The name's folded copy is apart from the other indexed
/// columns because it is the one an update most often changes.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = customers)]
pub(crate) struct CustomerFields<'a> {
    #[diesel(embed)]
    pub(crate) keys: KeyFields<'a>,
    #[diesel(embed)]
    pub(crate) name_key: NameKey,
    #[diesel(embed)]
    pub(crate) plain: PlainFields<'a>,
}

/// The indexed columns but the folded name (`last_updated`, indexed too, changes on every
/// write and is with the plain ones).
#[derive(Insertable, AsChangeset)]
#[diesel(
    table_name = customers,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct KeyFields<'a> {
    pub(crate) reference: &'a str,
    pub(crate) reference_folded: String,
    pub(crate) category_id: i64,
    pub(crate) parent_id: Option<i64>,
    pub(crate) segmentation_id: Option<i64>,
    pub(crate) is_active: bool,
    pub(crate) created_by: Option<i64>,
    pub(crate) currency: &'static str,
    pub(crate) region_id: Option<i64>,
}

/// The folded name, indexed for sorting and prefix filters.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = customers)]
pub(crate) struct NameKey {
    pub(crate) name_folded: String,
}

/// The columns no index holds but `last_updated`.
#[derive(Insertable, AsChangeset)]
#[diesel(
    table_name = customers,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct PlainFields<'a> {
    pub(crate) name: &'a str,
    #[diesel(embed)]
    pub(crate) texts: TextValues<'a>,
    pub(crate) bill_with_parent: bool,
    pub(crate) email: Option<&'a str>,
    pub(crate) is_same_address: bool,
    pub(crate) billing_country: Option<&'static str>,
    pub(crate) billing_city: Option<&'a str>,
    pub(crate) billing_postal_code: Option<&'a str>,
    pub(crate) billing_address: Option<&'a str>,
    pub(crate) billing_latitude: Option<f64>,
    pub(crate) billing_longitude: Option<f64>,
    pub(crate) country: Option<&'static str>,
    pub(crate) city: Option<&'a str>,
    pub(crate) postal_code: Option<&'a str>,
    pub(crate) address: Option<&'a str>,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
    pub(crate) on_hold: bool,
    pub(crate) due_date_number: Option<i64>,
    pub(crate) due_date_type: Option<&'static str>,
    pub(crate) website: Option<&'a str>,
    pub(crate) customer_risk_color: Option<&'a str>,
    pub(crate) last_updated: NaiveDateTime,
    pub(crate) logo: Option<&'a str>,
}

pub(crate) fn text(value: Option<&FreeText>) -> Option<&str> {
    value.map(FreeText::as_str)
}

// The plain texts' columns, built from the one list of them: a text added there is read and
// written here without a line of its own.
macro_rules! text_columns {
    ($($field:ident: $max:literal),* $(,)?) => {
        /// The customer's plain texts as read.
        #[derive(Queryable, Selectable)]
        #[diesel(table_name = customers)]
        pub(crate) struct TextColumns {
            $(pub(crate) $field: Option<String>,)*
        }

        /// The customer's plain texts as written (`NULL` when absent, as [`CustomerFields`]).
        #[derive(Insertable, AsChangeset)]
        #[diesel(
            table_name = customers,
            treat_none_as_null = true,
            treat_none_as_default_value = false
        )]
        pub(crate) struct TextValues<'a> {
            $(pub(crate) $field: Option<&'a str>,)*
        }

        impl TextColumns {
            fn into_domain(self) -> CustomerTexts {
                CustomerTexts {
                    $($field: free(self.$field),)*
                }
            }
        }

        impl<'a> TextValues<'a> {
            fn new(texts: &'a CustomerTexts) -> Self {
                let CustomerTexts { $($field),* } = texts;
                Self {
                    $($field: text($field.as_ref()),)*
                }
            }
        }
    };
}

credence_domain::customer_texts!(text_columns);

impl<'a> CustomerFields<'a> {
    /// The row of `data`. Every field of `CustomerData` and `Address` is named here (no
    /// `..`), so a field added to either does not compile until it is stored here or said to
    /// be stored elsewhere.
    pub(crate) fn new(data: &'a CustomerData, now: DateTime<Utc>) -> Self {
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
            // On the account (`accounts.credit_limit`, with its history).
            credit_limit: _,
            is_active,
            on_hold,
            created_by,
            due_date_terms,
            // In their own tables, by `write_children`.
            payment_types: _,
            contacts: _,
            projects: _,
            website,
            currency,
            customer_risk_color,
            region,
            logo,
        } = data;
        let Address {
            country: billing_country,
            city: billing_city,
            postal_code: billing_postal_code,
            address: billing_address,
            latitude: billing_latitude,
            longitude: billing_longitude,
        } = billing;
        let Address {
            country,
            city,
            postal_code,
            address,
            latitude,
            longitude,
        } = shipping;
        Self {
            keys: KeyFields {
                reference: reference.as_str(),
                reference_folded: fold(reference.as_str()),
                category_id: category.id.get(),
                parent_id: parent.as_ref().map(|p| p.id.get()),
                segmentation_id: segmentation.as_ref().map(|s| s.id.get()),
                is_active: *is_active,
                created_by: created_by.as_ref().map(|u| u.id.get()),
                currency: currency.code(),
                region_id: region.as_ref().map(|r| r.id.get()),
            },
            name_key: NameKey {
                name_folded: fold(name.as_str()),
            },
            plain: PlainFields {
                name: name.as_str(),
                texts: TextValues::new(texts),
                bill_with_parent: *bill_with_parent,
                email: email.as_ref().map(Email::as_str),
                is_same_address: *is_same_address,
                billing_country: billing_country.map(|c| c.as_str()),
                billing_city: text(billing_city.as_ref()),
                billing_postal_code: text(billing_postal_code.as_ref()),
                billing_address: text(billing_address.as_ref()),
                billing_latitude: billing_latitude.map(Latitude::degrees),
                billing_longitude: billing_longitude.map(Longitude::degrees),
                country: country.map(|c| c.as_str()),
                city: text(city.as_ref()),
                postal_code: text(postal_code.as_ref()),
                address: text(address.as_ref()),
                latitude: latitude.map(Latitude::degrees),
                longitude: longitude.map(Longitude::degrees),
                on_hold: *on_hold,
                due_date_number: due_date_terms.map(|t| i64::from(t.days())),
                due_date_type: due_date_terms.map(|t| t.kind().as_str()),
                website: website.as_ref().map(Website::as_str),
                customer_risk_color: customer_risk_color.as_ref().map(RiskColor::as_str),
                last_updated: to_db_time(now),
                logo: logo.as_ref().map(LogoName::as_str),
            },
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = customer_payment_types, treat_none_as_default_value = false)]
pub(crate) struct PaymentLink {
    pub(crate) customer_id: i64,
    pub(crate) position: i32,
    pub(crate) payment_type_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = customer_contacts, treat_none_as_default_value = false)]
pub(crate) struct ContactFields<'a> {
    pub(crate) customer_id: i64,
    pub(crate) position: i32,
    pub(crate) name: Option<&'a str>,
    pub(crate) email: Option<&'a str>,
    pub(crate) phone: Option<&'a str>,
}

/// A project that keeps the id it has.
#[derive(Insertable)]
#[diesel(table_name = customer_projects, treat_none_as_default_value = false)]
pub(crate) struct KeptProject<'a> {
    pub(crate) id: i64,
    pub(crate) customer_id: i64,
    pub(crate) position: i32,
    pub(crate) name: &'a str,
}

/// A new project: the database assigns its id. A separate shape from [`KeptProject`] because
/// SQLite cannot batch `DEFAULT` values.
#[derive(Insertable)]
#[diesel(table_name = customer_projects, treat_none_as_default_value = false)]
pub(crate) struct NewProject<'a> {
    pub(crate) customer_id: i64,
    pub(crate) position: i32,
    pub(crate) name: &'a str,
}

/// Deletes what a customer's update writes anew: its payment types, contacts and projects,
/// and on PostgreSQL its search terms too, all in one statement (one round trip instead of
/// four). On SQLite the three kinds of children go only when it has any, which one query
/// asks (most customers have none, and a statement that deletes nothing still costs one);
/// its terms are brought up to date by [`super::search::rewrite_terms`], which leaves
/// those that did not change.
pub(crate) fn clear_children(conn: &mut AnyConnection, id: i64) -> Result<(), Failure> {
    match conn {
        AnyConnection::Postgresql(c) => {
            // In an import's unit the stored terms stay: the batch's held ones replace them.
            let held = super::search::forget_held_terms(id);
            if write_behind::childless(id) {
                return Ok(());
            }
            if held {
                ClearChildren::<false> { customer: id }.execute(c)?;
            } else {
                ClearChildren::<true> { customer: id }.execute(c)?;
            }
        }
        AnyConnection::Sqlite(_) if write_behind::childless(id) => {}
        AnyConnection::Sqlite(_) => {
            use diesel::dsl::exists;
            let has_children: bool = diesel::select(
                exists(
                    customer_payment_types::table
                        .filter(customer_payment_types::customer_id.eq(id)),
                )
                .or(exists(
                    customer_contacts::table.filter(customer_contacts::customer_id.eq(id)),
                ))
                .or(exists(
                    customer_projects::table.filter(customer_projects::customer_id.eq(id)),
                )),
            )
            .get_result_on(conn)?;
            if has_children {
                clear_child_rows(conn, id)?;
            }
        }
    }
    Ok(())
}

/// Whether `data` holds payment types, contacts or projects: the rows [`write_children`]
/// writes and [`clear_children`] deletes.
pub(crate) fn has_children(data: &CustomerData) -> bool {
    !(data.payment_types.is_empty() && data.contacts.is_empty() && data.projects.is_empty())
}

/// The deletes of a customer's payment types, contacts and projects.
fn clear_child_rows(conn: &mut AnyConnection, id: i64) -> Result<(), Failure> {
    diesel::delete(
        customer_payment_types::table.filter(customer_payment_types::customer_id.eq(id)),
    )
    .execute_on(conn)?;
    diesel::delete(customer_contacts::table.filter(customer_contacts::customer_id.eq(id)))
        .execute_on(conn)?;
    diesel::delete(customer_projects::table.filter(customer_projects::customer_id.eq(id)))
        .execute_on(conn)?;
    Ok(())
}

/// [`clear_children`]'s one statement on PostgreSQL: the deletes as data-modifying `WITH`
/// clauses, which all run, whatever the outer statement reads. The customer's search terms
/// go too (`TERMS`), unless they are replaced later (an import's batch, [`super::search`]);
/// each form is a type of its own, as prepared statements are cached by type.
#[derive(Debug, Clone)]
struct ClearChildren<const TERMS: bool> {
    customer: i64,
}

impl<const TERMS: bool> diesel::query_builder::QueryId for ClearChildren<TERMS> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn, const TERMS: bool> diesel::RunQueryDsl<Conn> for ClearChildren<TERMS> {}

impl<const TERMS: bool> diesel::query_builder::QueryFragment<diesel::pg::Pg>
    for ClearChildren<TERMS>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        use diesel::sql_types::BigInt;
        out.push_sql("WITH p AS (DELETE FROM customer_payment_types WHERE customer_id = ");
        out.push_bind_param::<BigInt, _>(&self.customer)?;
        out.push_sql("), c AS (DELETE FROM customer_contacts WHERE customer_id = ");
        out.push_bind_param::<BigInt, _>(&self.customer)?;
        if TERMS {
            out.push_sql("), t AS (DELETE FROM customer_terms WHERE customer_id = ");
            out.push_bind_param::<BigInt, _>(&self.customer)?;
        }
        out.push_sql(") DELETE FROM customer_projects WHERE customer_id = ");
        out.push_bind_param::<BigInt, _>(&self.customer)?;
        Ok(())
    }
}

/// Writes the payment types, contacts and projects of a customer that has none (a new one,
/// or one [`clear_children`] was run for); projects that have an id are written back under
/// it.
pub(crate) fn write_children(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
) -> Result<(), Failure> {
    if has_children(data) {
        write_behind::forget_childless(id);
    }
    let links: Vec<PaymentLink> = (0_i32..)
        .zip(&data.payment_types)
        .map(|(position, p)| PaymentLink {
            customer_id: id,
            position,
            payment_type_id: p.id.get(),
        })
        .collect();
    if !links.is_empty() {
        diesel::insert_into(customer_payment_types::table)
            .values(&links)
            .execute_on(conn)?;
    }
    let contacts: Vec<ContactFields<'_>> = (0_i32..)
        .zip(&data.contacts)
        .map(|(position, c)| ContactFields {
            customer_id: id,
            position,
            name: text(c.name.as_ref()),
            email: c.email.as_ref().map(Email::as_str),
            phone: text(c.phone.as_ref()),
        })
        .collect();
    if !contacts.is_empty() {
        diesel::insert_into(customer_contacts::table)
            .values(&contacts)
            .execute_on(conn)?;
    }
    let (kept, new): (Vec<_>, Vec<_>) = (0_i32..)
        .zip(&data.projects)
        .partition(|(_, p)| p.id.is_some());
    let kept: Vec<KeptProject<'_>> = kept
        .into_iter()
        .filter_map(|(position, p)| {
            p.id.map(|project| KeptProject {
                id: project.get(),
                customer_id: id,
                position,
                name: p.name.as_str(),
            })
        })
        .collect();
    if !kept.is_empty() {
        diesel::insert_into(customer_projects::table)
            .values(&kept)
            .execute_on(conn)?;
    }
    let new: Vec<NewProject<'_>> = new
        .into_iter()
        .map(|(position, p)| NewProject {
            customer_id: id,
            position,
            name: p.name.as_str(),
        })
        .collect();
    if !new.is_empty() {
        diesel::insert_into(customer_projects::table)
            .values(&new)
            .execute_on(conn)?;
    }
    Ok(())
}
