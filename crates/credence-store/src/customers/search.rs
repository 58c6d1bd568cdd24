//! Customer search from the stored terms (decision 0026; the score is decision 0011's).
//!
//! Every live customer has its [`weighted_terms`] in `customer_terms`, written here in the
//! transaction that writes the customer and removed when it is archived. A search adds up the
//! weights of the query's tokens per customer in the database (`GROUP BY`): one index range
//! per token, with `is_active` and the weight in the index, so every match is scored, the
//! total is exact, only the page leaves the database, and no customer row is read until the
//! page's hundred are loaded whole.
//! On a million customers a word held by 33,000 of them went from reading 10,000 scattered
//! rows (80 to 260 ms, with the candidates cut at 10,000) to a few milliseconds of index.

use std::collections::{HashMap, HashSet};

use credence_domain::customers::search::{
    ScoredCustomer, SearchFields, SearchQuery, WeightedTerm, weighted_terms,
};
use credence_domain::customers::{CustomerData, CustomerFilter};
use credence_domain::listing::Page;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Text};

use super::{CustomerRow, Db, Narrowing, assemble, filtered};
use crate::database::inner::OnInner as _;
use crate::database::{AnyConnection, write_behind};
use crate::error::Failure;
use crate::schema::{customer_terms, customers};

/// One stored term of a customer.
#[derive(Insertable)]
#[diesel(table_name = customer_terms, treat_none_as_default_value = false)]
struct TermRow {
    token: String,
    is_active: bool,
    customer_id: i64,
    weight: i32,
}

/// Rows per `INSERT` of terms: SQLite allows 32,766 bound parameters, four per row.
const TERMS_PER_INSERT: usize = 8_000;

/// A customer's weighted terms, worked out before its write: the tokenizing and folding is
/// done by the request's thread, not by the one that holds the write lock (on SQLite, the
/// one writer of every request).
pub(crate) struct Terms {
    is_active: bool,
    terms: Vec<WeightedTerm>,
}

impl Terms {
    pub(crate) fn of(data: &CustomerData) -> Self {
        Self::of_fields(data.is_active, &SearchFields::of(data))
    }

    fn of_fields(is_active: bool, fields: &SearchFields<'_>) -> Self {
        Self {
            is_active,
            terms: weighted_terms(fields),
        }
    }

    /// The rows of customer `id`.
    fn rows(&self, id: i64) -> Vec<TermRow> {
        self.terms
            .iter()
            .map(|term| TermRow {
                token: term.token.clone(),
                is_active: self.is_active,
                customer_id: id,
                weight: i32::try_from(term.weight).unwrap_or(i32::MAX),
            })
            .collect()
    }
}

/// Stores the terms of customer `id`, which has none (a new one, or one whose terms were
/// just deleted). In an import's unit the terms wait to go in with the other lines'
/// ([`write_behind`]).
pub(crate) fn write_terms(conn: &mut AnyConnection, id: i64, terms: &Terms) -> Result<(), Failure> {
    store_rows(conn, id, terms.rows(id))
}

/// Stores term rows of customer `id`, or holds them in an import's unit.
fn store_rows(conn: &mut AnyConnection, id: i64, rows: Vec<TermRow>) -> Result<(), Failure> {
    match write_behind::hold(rows, |held: &mut HeldTerms, rows| held.add(id, rows)) {
        Some(rows) => insert_rows(conn, &rows),
        None => Ok(()),
    }
}

/// Brings the stored terms of customer `id` to those of `data` (it was updated).
///
/// Only the terms that changed are deleted and written where it pays: an update rarely
/// changes more than a word or two, and deleting and writing a customer's every term (each
/// one an entry in two indexes) was a fifth of an import's updates on SQLite and the
/// busiest statement of them on PostgreSQL. On SQLite the stored terms are read by the
/// customer's own index first; a customer whose terms still wait to go in ([`write_behind`])
/// has none stored to compare with: those are dropped and all its terms written anew. On
/// PostgreSQL an import's batch replaces the stored terms of all its updated customers by
/// difference in two statements ([`HeldTerms`]); a single update writes them all anew after
/// [`super::rows::clear_children`] deleted them with the children in its one statement.
pub(crate) fn rewrite_terms(
    conn: &mut AnyConnection,
    id: i64,
    terms: &Terms,
) -> Result<(), Failure> {
    if matches!(conn, AnyConnection::Postgresql(_)) {
        // In an import's unit the stored terms stay, and the batch's held ones replace them
        // by difference when they go in; otherwise `clear_children` has just deleted them.
        return match write_behind::hold(terms.rows(id), |held: &mut HeldTerms, rows| {
            held.replace(id, rows);
        }) {
            Some(rows) => insert_rows(conn, &rows),
            None => Ok(()),
        };
    }
    let mut waited = false;
    write_behind::with(|held: &mut HeldTerms| waited = held.forget(id));
    if waited {
        delete_stored_terms(conn, id)?;
        return write_terms(conn, id, terms);
    }
    let stored: Vec<(String, bool, i32)> = customer_terms::table
        .filter(customer_terms::customer_id.eq(id))
        .select((
            customer_terms::token,
            customer_terms::is_active,
            customer_terms::weight,
        ))
        .load_on(conn)?;
    let rows = terms.rows(id);
    let kept: HashSet<(&str, bool, i32)> = stored
        .iter()
        .map(|(token, active, weight)| (token.as_str(), *active, *weight))
        .filter(|&(token, active, weight)| {
            rows.iter()
                .any(|r| r.token == token && r.is_active == active && r.weight == weight)
        })
        .collect();
    if kept.is_empty() && !stored.is_empty() {
        delete_stored_terms(conn, id)?;
    } else {
        for (token, active, _) in stored
            .iter()
            .filter(|(t, a, w)| !kept.contains(&(t.as_str(), *a, *w)))
        {
            diesel::delete(customer_terms::table.find((token, active, id))).execute_on(conn)?;
        }
    }
    let fresh: Vec<TermRow> = rows
        .into_iter()
        .filter(|r| !kept.contains(&(r.token.as_str(), r.is_active, r.weight)))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    store_rows(conn, id, fresh)
}

fn delete_stored_terms(conn: &mut AnyConnection, id: i64) -> Result<(), Failure> {
    diesel::delete(customer_terms::table.filter(customer_terms::customer_id.eq(id)))
        .execute_on(conn)?;
    Ok(())
}

/// Removes the stored terms of customer `id` (it is archived: search never finds it again),
/// those still waiting to go in included.
pub(crate) fn delete_terms(conn: &mut AnyConnection, id: i64) -> Result<(), Failure> {
    forget_held_terms(id);
    delete_stored_terms(conn, id)
}

/// Drops the terms of customer `id` still waiting to go in ([`write_behind`]): its terms are
/// being deleted or written again. Answers whether this thread holds terms at all (an
/// import's unit), where on PostgreSQL the stored ones are replaced when the held ones go in.
pub(crate) fn forget_held_terms(id: i64) -> bool {
    write_behind::with(|held: &mut HeldTerms| {
        held.forget(id);
    })
}

/// Terms waiting to go in ([`write_behind`]), and whose they are: every updated customer's
/// terms are forgotten before its new ones are held, and looking through all the rows held
/// for each made a batch's updates quadratic in its size.
#[derive(Default)]
struct HeldTerms {
    rows: Vec<TermRow>,
    customers: HashSet<i64>,
    /// The customers whose stored terms the held ones replace (PostgreSQL's updates): their
    /// stored terms that are not among the held ones go when these go in.
    replaced: HashSet<i64>,
}

impl HeldTerms {
    fn add(&mut self, id: i64, rows: Vec<TermRow>) {
        self.customers.insert(id);
        self.rows.extend(rows);
    }

    fn replace(&mut self, id: i64, rows: Vec<TermRow>) {
        self.replaced.insert(id);
        self.add(id, rows);
    }

    /// Drops the waiting terms of customer `id`; answers whether it had any.
    fn forget(&mut self, id: i64) -> bool {
        let had = self.customers.remove(&id);
        if had {
            self.rows.retain(|row| row.customer_id != id);
        }
        had
    }
}

impl write_behind::Held for HeldTerms {
    fn insert(self, conn: &mut AnyConnection) -> Result<(), Failure> {
        if self.replaced.is_empty() {
            return insert_rows(conn, &self.rows);
        }
        let AnyConnection::Postgresql(c) = conn else {
            return Err(Failure::Broken(
                "terms replaced by difference on SQLite".into(),
            ));
        };
        let replaced: Vec<i64> = self.replaced.into_iter().collect();
        let columns = TermColumns::of(&self.rows);
        // First the stored terms of the replaced customers that are not held exactly (gone,
        // or weighed anew); then the held ones not stored yet. Two statements, so that the
        // insert sees the delete done: every stored term it then meets is one it holds.
        columns.execute(
            c,
            "DELETE FROM customer_terms t WHERE t.customer_id = ANY($5) AND NOT EXISTS \
             (SELECT 1 FROM unnest($1::text[], $2::boolean[], $3::bigint[], $4::integer[]) \
             AS n(token, is_active, customer_id, weight) WHERE n.customer_id = t.customer_id \
             AND n.token = t.token AND n.is_active = t.is_active AND n.weight = t.weight)",
            Some(&replaced),
        )?;
        columns.execute(
            c,
            "INSERT INTO customer_terms (token, is_active, customer_id, weight) \
             SELECT * FROM unnest($1::text[], $2::boolean[], $3::bigint[], $4::integer[]) \
             ON CONFLICT DO NOTHING",
            None,
        )?;
        Ok(())
    }
}

/// Term rows as a column per array (PostgreSQL): one short statement, where a row of
/// parameters per term made a statement of tens of thousands of them to parse and plan for
/// every batch of an import (the busiest statement of its updates).
struct TermColumns<'a> {
    tokens: Vec<&'a str>,
    active: Vec<bool>,
    customers: Vec<i64>,
    weights: Vec<i32>,
}

impl<'a> TermColumns<'a> {
    fn of(rows: &'a [TermRow]) -> Self {
        Self {
            tokens: rows.iter().map(|r| r.token.as_str()).collect(),
            active: rows.iter().map(|r| r.is_active).collect(),
            customers: rows.iter().map(|r| r.customer_id).collect(),
            weights: rows.iter().map(|r| r.weight).collect(),
        }
    }

    /// Runs `sql` with the four arrays bound as its first parameters and, when given, the
    /// ids of customers as its fifth.
    fn execute(
        &self,
        conn: &mut diesel::PgConnection,
        sql: &str,
        customers: Option<&[i64]>,
    ) -> QueryResult<usize> {
        let query = diesel::sql_query(sql)
            .into_boxed::<diesel::pg::Pg>()
            .bind::<Array<Text>, _>(&self.tokens)
            .bind::<Array<Bool>, _>(&self.active)
            .bind::<Array<BigInt>, _>(&self.customers)
            .bind::<Array<Integer>, _>(&self.weights);
        match customers {
            Some(customers) => query.bind::<Array<BigInt>, _>(customers).execute(conn),
            None => query.execute(conn),
        }
    }
}

fn insert_rows(conn: &mut AnyConnection, rows: &[TermRow]) -> Result<(), Failure> {
    if let AnyConnection::Postgresql(c) = conn {
        TermColumns::of(rows).execute(
            c,
            "INSERT INTO customer_terms (token, is_active, customer_id, weight) \
             SELECT * FROM unnest($1::text[], $2::boolean[], $3::bigint[], $4::integer[])",
            None,
        )?;
        return Ok(());
    }
    for chunk in rows.chunks(TERMS_PER_INSERT) {
        diesel::insert_into(customer_terms::table)
            .values(chunk)
            .execute_on(conn)?;
    }
    Ok(())
}

/// Stores the terms of customers that have none yet: `(id, is_active, fields)` each.
pub(crate) fn insert_terms(
    conn: &mut AnyConnection,
    customers: &[(i64, bool, SearchFields<'_>)],
) -> Result<(), Failure> {
    let rows: Vec<TermRow> = customers
        .iter()
        .flat_map(|(id, is_active, fields)| Terms::of_fields(*is_active, fields).rows(*id))
        .collect();
    insert_rows(conn, &rows)
}

/// What filling the terms of existing customers reads of each: [`SearchFields::of`]'s fields.
#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
struct Searched {
    id: i64,
    is_active: bool,
    name: String,
    reference: String,
    reference2: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    billing_city: Option<String>,
    city: Option<String>,
    billing_address: Option<String>,
    address: Option<String>,
    billing_postal_code: Option<String>,
    postal_code: Option<String>,
    tax_number: Option<String>,
    company_registration_number: Option<String>,
    barcode: Option<String>,
}

impl Searched {
    /// The fields search scores, in [`SearchFields::of`]'s order.
    fn fields(&self) -> SearchFields<'_> {
        SearchFields {
            name: &self.name,
            reference: &self.reference,
            others: [
                self.reference2.as_deref(),
                self.email.as_deref(),
                self.phone.as_deref(),
                self.mobile.as_deref(),
                self.billing_city.as_deref(),
                self.city.as_deref(),
                self.billing_address.as_deref(),
                self.address.as_deref(),
                self.billing_postal_code.as_deref(),
                self.postal_code.as_deref(),
                self.tax_number.as_deref(),
                self.company_registration_number.as_deref(),
                self.barcode.as_deref(),
            ],
        }
    }
}

/// Customers read per step when filling the terms of existing customers.
const FILL_STEP: i64 = 2_000;

/// Stores the terms of every live customer whose id is above `after`, in steps of
/// [`FILL_STEP`] by id: for all of them once, in the migration's transaction, right after the
/// migration that made the table (and for generated benchmark data). Returns how many
/// customers it indexed.
pub(crate) fn fill_terms(conn: &mut AnyConnection, mut after: i64) -> Result<u64, Failure> {
    let mut indexed = 0_u64;
    loop {
        let step: Vec<Searched> = customers::table
            .filter(customers::archived_at.is_null())
            .filter(customers::id.gt(after))
            .order_by(customers::id.asc())
            .limit(FILL_STEP)
            .select(Searched::as_select())
            .load(conn)?;
        let Some(last) = step.last() else {
            return Ok(indexed);
        };
        after = last.id;
        indexed += step.len() as u64;
        let customers: Vec<(i64, bool, SearchFields<'_>)> = step
            .iter()
            .map(|c| (c.id, c.is_active, c.fields()))
            .collect();
        insert_terms(conn, &customers)?;
    }
}

/// One row of [`ranked_page`]'s statement.
#[derive(QueryableByName)]
struct Ranked {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    customer_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    score: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// The count of [`ranked_page`]'s matches, for a page past the last one.
#[derive(QueryableByName)]
struct Matches {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// The page of `(customer id, score)` and the number of customers that match: one statement
/// scores every match (`GROUP BY`), counts them (`COUNT(*) OVER ()`, before `LIMIT`) and
/// keeps only the page (a top-N sort), so no more than a page leaves the database however
/// broad the query. (Diesel's query builder has no window functions, hence the SQL.)
fn ranked_page(
    conn: &mut AnyConnection,
    query: &SearchQuery,
) -> Result<(Vec<(i64, u32)>, u64), Failure> {
    let postgres = matches!(conn, AnyConnection::Postgresql(_));
    let mut binds = 0;
    let mut param = || {
        binds += 1;
        if postgres {
            format!("${binds}")
        } else {
            "?".to_owned()
        }
    };
    let tokens = query.terms.tokens();
    let mut condition = format!(
        "token IN ({})",
        tokens
            .iter()
            .map(|_| param())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !query.include_inactive {
        condition.push_str(" AND is_active = TRUE");
    }
    if query.within.is_some() {
        condition.push_str(&format!(
            " AND customer_id IN {}{}{}",
            super::SUBTREE_BEFORE,
            param(),
            super::SUBTREE_AFTER
        ));
    }
    let page_sql = format!(
        "SELECT customer_id, SUM(weight) AS score, COUNT(*) OVER () AS total \
         FROM customer_terms WHERE {condition} GROUP BY customer_id \
         ORDER BY score DESC, customer_id LIMIT {} OFFSET {}",
        param(),
        param()
    );
    let count_sql = format!(
        "SELECT COUNT(DISTINCT customer_id) AS total FROM customer_terms WHERE {condition}"
    );
    let bind = |sql: String, paged: bool| {
        let mut statement = diesel::sql_query(sql).into_boxed::<Db>();
        for token in tokens {
            statement = statement.bind::<diesel::sql_types::Text, _>(token.clone());
        }
        if let Some(root) = query.within {
            statement = statement.bind::<diesel::sql_types::BigInt, _>(root.get());
        }
        if paged {
            statement = statement
                .bind::<diesel::sql_types::BigInt, _>(i64::from(query.page.max()))
                .bind::<diesel::sql_types::BigInt, _>(
                    i64::try_from(query.page.offset()).unwrap_or(i64::MAX),
                );
        }
        statement
    };
    let rows: Vec<Ranked> = bind(page_sql, true).load(conn)?;
    let total = match rows.first() {
        Some(first) => first.total,
        None if query.page.offset() == 0 => 0,
        None => bind(count_sql, false).get_result::<Matches>(conn)?.total,
    };
    let page = rows
        .into_iter()
        .map(|row| {
            (
                row.customer_id,
                u32::try_from(row.score).unwrap_or(u32::MAX),
            )
        })
        .collect();
    Ok((page, u64::try_from(total).unwrap_or(0)))
}

/// Scores every customer holding a query token, pages the ranking, and loads the page's
/// customers whole.
pub(crate) fn search_customers(
    conn: &mut AnyConnection,
    query: &SearchQuery,
) -> Result<Page<ScoredCustomer>, Failure> {
    let (page, total) = ranked_page(conn, query)?;
    if page.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }
    // The page's whole rows, filtered again: a customer's terms and its row are written in
    // one transaction, but PostgreSQL reads each statement at its own snapshot.
    let filter = CustomerFilter {
        is_active: (!query.include_inactive).then_some(true),
        within: query.within,
        ..CustomerFilter::default()
    };
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let mut rows: HashMap<i64, CustomerRow> = filtered(&filter, None, Narrowing::NONE)
        .filter(customers::id.eq_any(ids))
        .select(CustomerRow::as_select())
        .load::<CustomerRow>(conn)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let (scores, rows): (Vec<u32>, Vec<CustomerRow>) = page
        .into_iter()
        .filter_map(|(id, score)| rows.remove(&id).map(|row| (score, row)))
        .unzip();
    let items = assemble(conn, rows)?
        .into_iter()
        .zip(scores)
        .map(|(customer, score)| ScoredCustomer { customer, score })
        .collect();
    Ok(Page { items, total })
}
