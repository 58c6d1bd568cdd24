//! Mid-string text filters (`name=*abc*`) on SQLite: the `customer_text` FTS5 trigram table
//! (see the `list_indexes` migration and decision 0018) finds the live customers whose folded
//! name or reference holds a substring, where a B-tree would have to read every row.
//!
//! The table only narrows: the list query keeps its `LIKE`, which alone decides what matches,
//! so a filter gives the same rows with or without it. Only [`Trigrams::exact`] patterns may
//! be counted in the table alone (see there).

/// The fewest characters a trigram phrase can match on; shorter literals match nothing in
/// FTS5, so they cannot narrow.
const TRIGRAM: usize = 3;

/// The trigram query for one `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Trigrams {
    /// The FTS5 query: each literal of three characters or more as a phrase, restricted to the
    /// column, ANDed.
    pub(super) query: String,
    /// Whether the query matches exactly the values the pattern does: a pattern of one
    /// literal between two wildcards (`*abc*`). Stored and asked texts are both folded by the
    /// domain, so for such a pattern `LIKE` is plain substring containment, which is what a
    /// case-sensitive trigram phrase tests; the table holds live customers only, so counting
    /// its matches is counting the filter's.
    pub(super) exact: bool,
}

/// The trigram query for a folded `LIKE` pattern (`%` the only wildcard, `\` escaping the
/// next character) on `column` of `customer_text`, or `None` when the pattern has no literal
/// of three characters or more.
pub(super) fn trigrams(column: &str, pattern: &str) -> Option<Trigrams> {
    let mut literals: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => literals.push(String::new()),
            '\\' => push(&mut literals, chars.next()),
            c => push(&mut literals, Some(c)),
        }
    }
    let between_wildcards = literals.len() >= 3
        && literals.first().is_some_and(String::is_empty)
        && literals.last().is_some_and(String::is_empty);
    literals.retain(|literal| !literal.is_empty());
    let exact = between_wildcards && literals.len() == 1;
    let phrases: Vec<String> = literals
        .iter()
        .filter(|literal| literal.chars().count() >= TRIGRAM)
        .map(|literal| format!("{column} : \"{}\"", literal.replace('"', "\"\"")))
        .collect();
    if phrases.is_empty() {
        return None;
    }
    Some(Trigrams {
        exact: exact && phrases.len() == 1,
        query: phrases.join(" AND "),
    })
}

fn push(literals: &mut [String], c: Option<char>) {
    if let (Some(last), Some(c)) = (literals.last_mut(), c) {
        last.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::listing::TextPattern;

    fn of(filter: &str) -> Option<Trigrams> {
        match TextPattern::parse(filter) {
            TextPattern::Like { pattern, .. } => trigrams("name_folded", &pattern),
            TextPattern::Exact(_) => None,
        }
    }

    #[test]
    fn one_literal_between_wildcards_is_exact() {
        assert_eq!(
            of("*ABC*"),
            Some(Trigrams {
                query: "name_folded : \"abc\"".into(),
                exact: true,
            })
        );
        assert_eq!(of("**bakery 47**").map(|t| t.exact), Some(true));
    }

    #[test]
    fn other_shapes_only_narrow() {
        let t = of("*abc*def").unwrap();
        assert_eq!(t.query, "name_folded : \"abc\" AND name_folded : \"def\"");
        assert!(!t.exact);
        assert_eq!(of("*abcd").map(|t| t.exact), Some(false));
        // A short literal narrows nothing, so the pattern is not exact either.
        assert_eq!(of("*abc*de*").map(|t| t.exact), Some(false));
    }

    #[test]
    fn short_literals_cannot_narrow() {
        assert_eq!(of("*ab*"), None);
        assert_eq!(of("*a*b*c*"), None);
    }

    #[test]
    fn escapes_and_quotes_stay_literal() {
        let t = of("*50%_\"x*").unwrap();
        assert_eq!(t.query, "name_folded : \"50%_\"\"x\"");
        assert!(t.exact);
    }

    /// The table follows every write (insert, rename, archive, delete), and lists through it
    /// give what `LIKE` alone gives: the totals counted in the table and the pages narrowed by
    /// it equal a filter applied in Rust to every live customer.
    #[cfg(feature = "test-support")]
    #[tokio::test]
    #[allow(clippy::unwrap_used, reason = "a failed step fails the test")]
    async fn lists_through_trigrams_match_like_after_writes() {
        use chrono::Utc;
        use credence_domain::customers::{CustomerFilter, CustomerKey, CustomerQuery};
        use credence_domain::ids::CustomerId;
        use credence_domain::listing::PageRequest;
        use credence_domain::ports::{CustomerRepository, DocumentLinks};
        use credence_domain::values::{CurrencyCode, CustomerName};
        use diesel::connection::SimpleConnection;

        use crate::Store;
        use crate::test_support::TestDb;

        let db = TestDb::sqlite();
        let database = db.database();
        database
            .ensure_organization_currency(CurrencyCode::parse("EUR").unwrap())
            .unwrap();
        crate::bench_support::generate_customers(database, 600).unwrap();
        let store = Store::new(database.clone());
        // The customer port alone: the store implements `list`, `get`... for other records too.
        let store: &dyn CustomerRepository = &store;
        for id in (1..=600).step_by(7) {
            assert!(
                store
                    .archive(CustomerId(id), None, Utc::now())
                    .await
                    .unwrap()
            );
        }
        for id in (3..=600).step_by(11) {
            let Some(customer) = store.get(&CustomerKey::Id(CustomerId(id))).await.unwrap() else {
                continue;
            };
            let read = customer.revision;
            let mut data = customer.data;
            data.name = CustomerName::new(format!("Zabcq Renamed {id}")).unwrap();
            let links = DocumentLinks::none();
            store
                .update(CustomerId(id), read, &data, &links, None, Utc::now())
                .await
                .unwrap();
        }
        let mut conn = database.write_connection().unwrap();
        conn.batch_execute(
            "DELETE FROM accounts WHERE customer_id = 5; DELETE FROM customers WHERE id = 5",
        )
        .unwrap();
        drop(conn);

        let list = |filter: CustomerFilter| CustomerQuery {
            filter,
            page: PageRequest::new(Some(1000), None).unwrap(),
            ..CustomerQuery::default()
        };
        let everyone = store.list(&list(CustomerFilter::default())).await.unwrap();
        assert!(everyone.total > 400);
        for text in [
            "*abc*", "*bakery*", "*abc*ry*", "*zabcq*", "*ab*", "*-000*", "*000*1*",
        ] {
            for by_name in [true, false] {
                let pattern = TextPattern::parse(text);
                let filter = if by_name {
                    CustomerFilter {
                        name: Some(pattern.clone()),
                        ..CustomerFilter::default()
                    }
                } else {
                    CustomerFilter {
                        reference: Some(pattern.clone()),
                        ..CustomerFilter::default()
                    }
                };
                let expected: Vec<i64> = everyone
                    .items
                    .iter()
                    .filter(|c| {
                        let value = if by_name {
                            c.data.name.as_str()
                        } else {
                            c.data.reference.as_str()
                        };
                        pattern.matches(value)
                    })
                    .map(|c| c.id.get())
                    .collect();
                let found = store.list(&list(filter)).await.unwrap();
                let ids: Vec<i64> = found.items.iter().map(|c| c.id.get()).collect();
                assert_eq!(ids, expected, "{text} by name: {by_name}");
                assert_eq!(
                    found.total,
                    u64::try_from(expected.len()).unwrap(),
                    "{text}"
                );
            }
        }
    }
}
