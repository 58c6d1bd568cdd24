//! The customer's rows as diesel reads and writes them, and the writing of its children
//! (payment types, contacts, projects).

#[allow(
    clippy::wildcard_imports,
    reason = "split from the parent module, whose imports it shares"
)]
use super::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
pub(crate) struct CustomerRow {
    pub(crate) id: i64,
    pub(crate) uuid: String,
    pub(crate) reference: String,
    pub(crate) reference2: Option<String>,
    pub(crate) name: String,
    pub(crate) category_id: i64,
    pub(crate) parent_id: Option<i64>,
    pub(crate) bill_with_parent: bool,
    pub(crate) segmentation_id: Option<i64>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) mobile: Option<String>,
    pub(crate) fax: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) barcode: Option<String>,
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
    pub(crate) on_hold_reason: Option<String>,
    pub(crate) created_by: Option<i64>,
    pub(crate) due_date_number: Option<i64>,
    pub(crate) due_date_type: Option<String>,
    pub(crate) website: Option<String>,
    pub(crate) tax_number: Option<String>,
    pub(crate) company_registration_number: Option<String>,
    pub(crate) currency: String,
    pub(crate) customer_risk: Option<String>,
    pub(crate) customer_risk_color: Option<String>,
    pub(crate) region_id: Option<i64>,
    pub(crate) date_created: NaiveDateTime,
    pub(crate) last_updated: NaiveDateTime,
    pub(crate) logo: Option<String>,
}

/// Every column a client can change, plus the folded copies and `last_updated`.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
pub(crate) struct CustomerFields<'a> {
    pub(crate) reference: &'a str,
    pub(crate) reference_folded: String,
    pub(crate) reference2: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) name_folded: String,
    pub(crate) category_id: i64,
    pub(crate) parent_id: Option<i64>,
    pub(crate) bill_with_parent: bool,
    pub(crate) segmentation_id: Option<i64>,
    pub(crate) email: Option<&'a str>,
    pub(crate) phone: Option<&'a str>,
    pub(crate) mobile: Option<&'a str>,
    pub(crate) fax: Option<&'a str>,
    pub(crate) comment: Option<&'a str>,
    pub(crate) barcode: Option<&'a str>,
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
    pub(crate) is_active: bool,
    pub(crate) on_hold: bool,
    pub(crate) on_hold_reason: Option<&'a str>,
    pub(crate) created_by: Option<i64>,
    pub(crate) due_date_number: Option<i64>,
    pub(crate) due_date_type: Option<&'static str>,
    pub(crate) website: Option<&'a str>,
    pub(crate) tax_number: Option<&'a str>,
    pub(crate) company_registration_number: Option<&'a str>,
    pub(crate) currency: &'static str,
    pub(crate) customer_risk: Option<&'a str>,
    pub(crate) customer_risk_color: Option<&'a str>,
    pub(crate) region_id: Option<i64>,
    pub(crate) last_updated: NaiveDateTime,
    pub(crate) logo: Option<&'a str>,
}

pub(crate) fn text(value: Option<&FreeText>) -> Option<&str> {
    value.map(FreeText::as_str)
}

impl<'a> CustomerFields<'a> {
    pub(crate) fn new(data: &'a CustomerData, now: DateTime<Utc>) -> Self {
        Self {
            reference: data.reference.as_str(),
            reference_folded: fold(data.reference.as_str()),
            reference2: text(data.reference2.as_ref()),
            name: data.name.as_str(),
            name_folded: fold(data.name.as_str()),
            category_id: data.category.id.get(),
            parent_id: data.parent.as_ref().map(|p| p.id.get()),
            bill_with_parent: data.bill_with_parent,
            segmentation_id: data.segmentation.as_ref().map(|s| s.id.get()),
            email: data.email.as_ref().map(Email::as_str),
            phone: text(data.phone.as_ref()),
            mobile: text(data.mobile.as_ref()),
            fax: text(data.fax.as_ref()),
            comment: text(data.comment.as_ref()),
            barcode: text(data.barcode.as_ref()),
            is_same_address: data.is_same_address,
            billing_country: data.billing.country.map(|c| c.as_str()),
            billing_city: text(data.billing.city.as_ref()),
            billing_postal_code: text(data.billing.postal_code.as_ref()),
            billing_address: text(data.billing.address.as_ref()),
            billing_latitude: data.billing.latitude.map(Latitude::degrees),
            billing_longitude: data.billing.longitude.map(Longitude::degrees),
            country: data.shipping.country.map(|c| c.as_str()),
            city: text(data.shipping.city.as_ref()),
            postal_code: text(data.shipping.postal_code.as_ref()),
            address: text(data.shipping.address.as_ref()),
            latitude: data.shipping.latitude.map(Latitude::degrees),
            longitude: data.shipping.longitude.map(Longitude::degrees),
            is_active: data.is_active,
            on_hold: data.on_hold,
            on_hold_reason: text(data.on_hold_reason.as_ref()),
            created_by: data.created_by.as_ref().map(|u| u.id.get()),
            due_date_number: data.due_date_terms.map(|t| i64::from(t.days())),
            due_date_type: data.due_date_terms.map(|t| t.kind().as_str()),
            website: data.website.as_ref().map(Website::as_str),
            tax_number: text(data.tax_number.as_ref()),
            company_registration_number: text(data.company_registration_number.as_ref()),
            currency: data.currency.code(),
            customer_risk: text(data.customer_risk.as_ref()),
            customer_risk_color: data.customer_risk_color.as_ref().map(RiskColor::as_str),
            region_id: data.region.as_ref().map(|r| r.id.get()),
            last_updated: to_db_time(now),
            logo: data.logo.as_ref().map(LogoName::as_str),
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

/// A multi-row `INSERT`: the derived multi-backend cannot batch, so each arm runs on its own
/// connection type (the statement is the same).
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            AnyConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c)?,
            AnyConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c)?,
        }
    };
}
pub(crate) use batch_insert;

/// Writes the payment types, contacts and projects of a customer (after deleting the old
/// ones; projects that have an id are written back under it).
pub(crate) fn write_children(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
) -> Result<(), Failure> {
    diesel::delete(
        customer_payment_types::table.filter(customer_payment_types::customer_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(customer_contacts::table.filter(customer_contacts::customer_id.eq(id)))
        .execute(conn)?;
    let links: Vec<PaymentLink> = (0_i32..)
        .zip(&data.payment_types)
        .map(|(position, p)| PaymentLink {
            customer_id: id,
            position,
            payment_type_id: p.id.get(),
        })
        .collect();
    if !links.is_empty() {
        batch_insert!(conn, customer_payment_types::table, &links);
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
        batch_insert!(conn, customer_contacts::table, &contacts);
    }
    diesel::delete(customer_projects::table.filter(customer_projects::customer_id.eq(id)))
        .execute(conn)?;
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
        batch_insert!(conn, customer_projects::table, &kept);
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
        batch_insert!(conn, customer_projects::table, &new);
    }
    Ok(())
}
