//! Customer search: the engine finds candidates, Rust scores them (decision 0011).
//!
//! Only what scoring reads ([`Candidate`]: the id and the searched fields) is loaded for the
//! up to 10,000 candidates, and each is scored as it arrives, so a request holds one
//! `(score, id)` pair per candidate rather than 10,000 whole rows; the whole rows are loaded
//! for the page alone. On a million customers this took a common word from 155 ms to about
//! a tenth of that on SQLite, and it is what keeps concurrent searches from holding hundreds
//! of megabytes (`docs/performance.md`).

use std::collections::HashMap;

use credence_domain::customer::CustomerFilter;
use credence_domain::listing::Page;
use credence_domain::search::{
    ScoredCustomer, SearchFields, SearchQuery, choose_candidates, score,
};
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use super::{CustomerRow, Db, Narrowing, assemble, filtered};
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::customers;

/// What scoring reads of a candidate: [`SearchFields::of`]'s fields, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = customers)]
struct Candidate {
    id: i64,
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

impl Candidate {
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

/// The engine's match condition: FTS5 over `customer_search` on SQLite, the GIN-indexed
/// `tsvector` on PostgreSQL. Each token is quoted (with the engine's quote doubled), so the
/// bound text is only ever a disjunction of literal tokens, whatever the client typed.
fn engine_match(
    conn: &AnyConnection,
    tokens: &[String],
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    impl diesel::query_builder::QueryFragment<Db> + Send + 'static,
> {
    // FTS5 strings escape only `"`; tsquery lexemes also treat `\\` as an escape.
    let quoted = |quote: char, token: &String| {
        let mut out = String::with_capacity(token.len() + 2);
        out.push(quote);
        for c in token.chars() {
            if c == quote || (quote == '\'' && c == '\\') {
                out.push(c);
            }
            out.push(c);
        }
        out.push(quote);
        out
    };
    let (prefix, text) = match conn {
        AnyConnection::Sqlite(_) => (
            "customers.id IN (SELECT rowid FROM customer_search WHERE customer_search MATCH ",
            tokens
                .iter()
                .map(|t| quoted('"', t))
                .collect::<Vec<_>>()
                .join(" OR "),
        ),
        AnyConnection::Postgresql(_) => (
            "customers.search_vector @@ to_tsquery('simple', ",
            tokens
                .iter()
                .map(|t| quoted('\'', t))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
    };
    diesel::dsl::sql::<diesel::sql_types::Bool>(prefix)
        .bind::<diesel::sql_types::Text, _>(text)
        .sql(")")
}

/// Most ids bound in one `IN (...)` list when loading candidates (SQLite allows 32 766
/// parameters per statement).
const IDS_PER_QUERY: usize = 10_000;

/// The ids of the live customers in `filter`'s scope that hold `token`, lowest first, at most
/// `limit` of them: an index lookup in the engine.
fn token_matches(
    conn: &mut AnyConnection,
    filter: &CustomerFilter,
    token: &String,
    limit: i64,
) -> Result<Vec<i64>, Failure> {
    let condition = engine_match(conn, std::slice::from_ref(token));
    Ok(filtered(filter, None, Narrowing::NONE)
        .filter(condition)
        .order_by(customers::id.asc())
        .select(customers::id)
        .limit(limit)
        .load(conn)?)
}

/// Scores each candidate the query yields as it arrives, keeping `(score, id)` of those that
/// score (rows indexed by the search migration's SQL tokenizer may match a token the Rust
/// one would not see: the Rust score decides).
fn score_rows(
    conn: &mut AnyConnection,
    query: customers::BoxedQuery<'static, Db>,
    terms: &SearchQuery,
    ranked: &mut Vec<(u32, i64)>,
) -> Result<(), Failure> {
    let rows = query
        .select(Candidate::as_select())
        .load_iter::<Candidate, DefaultLoadingMode>(conn)?;
    for row in rows {
        let row = row?;
        let score = score(&terms.terms, &row.fields());
        if score > 0 {
            ranked.push((score, row.id));
        }
    }
    Ok(())
}

/// Finds candidates with the engine (at most `cap`, chosen by
/// [`credence_domain::search::choose_candidates`]), scores them in Rust and pages the
/// ranking; only the page is loaded whole and assembled.
pub(crate) fn search_customers(
    conn: &mut AnyConnection,
    query: &SearchQuery,
    cap: usize,
) -> Result<Page<ScoredCustomer>, Failure> {
    let filter = CustomerFilter {
        is_active: (!query.include_inactive).then_some(true),
        within: query.within,
        ..CustomerFilter::default()
    };
    let tokens = query.terms.tokens();
    let limit = i64::try_from(cap).unwrap_or(i64::MAX);
    let mut ranked: Vec<(u32, i64)> = Vec::new();
    if let [_] = tokens {
        // One token: its lowest `cap` matches are the candidates, found in one query.
        let candidates = filtered(&filter, None, Narrowing::NONE)
            .filter(engine_match(conn, tokens))
            .order_by(customers::id.asc())
            .limit(limit);
        score_rows(conn, candidates, query, &mut ranked)?;
    } else {
        let mut matches = Vec::with_capacity(tokens.len());
        for token in tokens {
            let ids = token_matches(conn, &filter, token, limit.saturating_add(1))?;
            matches.push((token.as_str(), ids));
        }
        for ids in choose_candidates(matches, cap).chunks(IDS_PER_QUERY) {
            // The scope and activity filters again: a customer may have changed since its id
            // was found (PostgreSQL reads each statement at its own snapshot).
            let candidates =
                filtered(&filter, None, Narrowing::NONE).filter(customers::id.eq_any(ids.to_vec()));
            score_rows(conn, candidates, query, &mut ranked)?;
        }
    }
    ranked.sort_unstable_by(|(a, ia), (b, ib)| b.cmp(a).then(ia.cmp(ib)));
    let total = u64::try_from(ranked.len()).unwrap_or(u64::MAX);
    let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
    let max = usize::try_from(query.page.max()).unwrap_or(usize::MAX);
    let page: Vec<(u32, i64)> = ranked.into_iter().skip(offset).take(max).collect();
    if page.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }
    // The page's whole rows, filtered again for the reason above; put back in ranking order.
    let ids: Vec<i64> = page.iter().map(|(_, id)| *id).collect();
    let mut rows: HashMap<i64, CustomerRow> = filtered(&filter, None, Narrowing::NONE)
        .filter(customers::id.eq_any(ids))
        .select(CustomerRow::as_select())
        .load::<CustomerRow>(conn)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let (scores, rows): (Vec<u32>, Vec<CustomerRow>) = page
        .into_iter()
        .filter_map(|(score, id)| rows.remove(&id).map(|row| (score, row)))
        .unzip();
    let items = assemble(conn, rows)?
        .into_iter()
        .zip(scores)
        .map(|(customer, score)| ScoredCustomer { customer, score })
        .collect();
    Ok(Page { items, total })
}
