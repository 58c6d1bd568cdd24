//! From rows to customers: what a page of customer rows points to (categories, segmentations,
//! regions, users, parents, payment types, contacts, projects, documents, accounts), loaded
//! in one batched query per kind, then each row made a domain customer
//! ([`CustomerRow::into_domain`], beside the row).

// Split from the parent module, whose imports it shares.
use super::*;

pub(crate) fn ids(rows: &[CustomerRow], pick: impl Fn(&CustomerRow) -> Option<i64>) -> Vec<i64> {
    let set: HashSet<i64> = rows.iter().filter_map(pick).collect();
    set.into_iter().collect()
}

/// Turns rows into customers, loading everything they point to with one query per kind.
pub(crate) fn assemble(
    conn: &mut AnyConnection,
    rows: Vec<CustomerRow>,
) -> Result<Vec<Customer>, Failure> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let customer_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();

    let wanted = ids(&rows, |r| Some(r.category_id));
    let categories: HashMap<i64, Category> = customer_categories::table
        .filter(customer_categories::id.eq_any(wanted))
        .select(CategoryRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| row.into_domain().map(|c| (c.id.get(), c)))
        .collect::<Result<_, _>>()?;

    let wanted = ids(&rows, |r| r.segmentation_id);
    let segmentations: HashMap<i64, Segmentation> = if wanted.is_empty() {
        HashMap::new()
    } else {
        customer_segmentations::table
            .filter(customer_segmentations::id.eq_any(wanted))
            .select(SegmentationRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|row| row.into_domain().map(|s| (s.id.get(), s)))
            .collect::<Result<_, _>>()?
    };

    let wanted = ids(&rows, |r| r.region_id);
    let regions: HashMap<i64, Region> = if wanted.is_empty() {
        HashMap::new()
    } else {
        regions::table
            .filter(regions::id.eq_any(wanted))
            .select(RegionRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|row| row.into_domain().map(|r| (r.id.get(), r)))
            .collect::<Result<_, _>>()?
    };

    let wanted = ids(&rows, |r| r.created_by);
    let users = users_by_id(conn, wanted.into_iter().map(Some))?;

    let wanted = ids(&rows, |r| r.parent_id);
    let parents: HashMap<i64, CustomerSummary> = if wanted.is_empty() {
        HashMap::new()
    } else {
        customers::table
            .filter(customers::id.eq_any(wanted))
            .select((customers::id, customers::reference, customers::name))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, reference, name)| {
                Ok((
                    id,
                    CustomerSummary {
                        id: CustomerId(id),
                        reference: Reference::new(reference)
                            .map_err(|e| Failure::corrupt("customer reference", e))?,
                        name: CustomerName::new(name)
                            .map_err(|e| Failure::corrupt("customer name", e))?,
                    },
                ))
            })
            .collect::<Result<_, Failure>>()?
    };

    let mut payment: HashMap<i64, Vec<PaymentType>> = HashMap::new();
    let links: Vec<(i64, PaymentTypeRow)> = customer_payment_types::table
        .inner_join(payment_types::table)
        .filter(customer_payment_types::customer_id.eq_any(customer_ids.clone()))
        .order((
            customer_payment_types::customer_id,
            customer_payment_types::position,
        ))
        .select((
            customer_payment_types::customer_id,
            PaymentTypeRow::as_select(),
        ))
        .load(conn)?;
    for (customer_id, row) in links {
        payment
            .entry(customer_id)
            .or_default()
            .push(row.into_domain()?);
    }

    let mut contacts: HashMap<i64, Vec<Contact>> = HashMap::new();
    let contact_rows: Vec<ContactRow> = customer_contacts::table
        .filter(customer_contacts::customer_id.eq_any(customer_ids.clone()))
        .order((customer_contacts::customer_id, customer_contacts::position))
        .select((
            customer_contacts::customer_id,
            customer_contacts::name,
            customer_contacts::email,
            customer_contacts::phone,
        ))
        .load(conn)?;
    for (customer_id, name, email, phone) in contact_rows {
        contacts.entry(customer_id).or_default().push(Contact {
            name: name.map(FreeText::from_trusted),
            email: email
                .map(|e| Email::new(&e))
                .transpose()
                .map_err(|e| Failure::corrupt("contact e-mail", e))?,
            phone: phone.map(FreeText::from_trusted),
        });
    }

    let mut projects: HashMap<i64, Vec<Project>> = HashMap::new();
    let project_rows: Vec<(i64, i64, String)> = customer_projects::table
        .filter(customer_projects::customer_id.eq_any(customer_ids.clone()))
        .order((customer_projects::customer_id, customer_projects::position))
        .select((
            customer_projects::customer_id,
            customer_projects::id,
            customer_projects::name,
        ))
        .load(conn)?;
    for (customer_id, id, name) in project_rows {
        projects.entry(customer_id).or_default().push(Project {
            id: Some(ProjectId(id)),
            name: FreeText::from_trusted(name),
        });
    }

    // Every customer has its account (created with it); its limit is the customer's. The
    // amounts are as stored: a reservation past its time still counts here until the next
    // admission or sweep releases it (`AccountLedger::account` leaves it out at once).
    let mut documents = documents_of(conn, &customer_ids)?;

    let mut accounts: HashMap<i64, AccountRow> = accounts::table
        .filter(accounts::customer_id.eq_any(customer_ids))
        .select(AccountRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row: AccountRow| (row.customer_id, row))
        .collect();

    let related = Related {
        categories,
        segmentations,
        regions,
        users,
        parents,
    };
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            let account = accounts
                .remove(&id)
                .ok_or_else(|| Failure::corrupt("customer", format!("{id} has no account")))?;
            row.into_domain(
                &related,
                account,
                payment.remove(&id).unwrap_or_default(),
                contacts.remove(&id).unwrap_or_default(),
                projects.remove(&id).unwrap_or_default(),
                documents.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// `(customer_id, name, email, phone)` of a contact.
pub(crate) type ContactRow = (i64, Option<String>, Option<String>, Option<String>);

pub(crate) struct Related {
    pub(crate) categories: HashMap<i64, Category>,
    pub(crate) segmentations: HashMap<i64, Segmentation>,
    pub(crate) regions: HashMap<i64, Region>,
    pub(crate) users: HashMap<i64, User>,
    pub(crate) parents: HashMap<i64, CustomerSummary>,
}

/// The users of `wanted` ids (absent ones and repeats allowed), by id (one query; none for
/// no ids).
pub(crate) fn users_by_id(
    conn: &mut AnyConnection,
    wanted: impl IntoIterator<Item = Option<i64>>,
) -> Result<HashMap<i64, User>, Failure> {
    let mut wanted: Vec<i64> = wanted.into_iter().flatten().collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    users::table
        .filter(users::id.eq_any(wanted))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| row.into_domain().map(|u| (u.id.get(), u)))
        .collect()
}
