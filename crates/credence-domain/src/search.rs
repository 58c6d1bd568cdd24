//! Customer full-text search (seed 004's `GET /customers/search?q=`).
//!
//! The storage engines (PostgreSQL full-text search, SQLite FTS5) only find candidates: each
//! would rank with its own formula, so two backends would order the same data differently.
//! The score is therefore computed here, from the candidate's fields, with one tokenizer, and
//! both adapters index exactly the tokens [`search_text`] produces.

use crate::customer::{Customer, CustomerData};
use crate::ids::CustomerId;
use crate::input::InputError;
use crate::listing::{PageRequest, fold};

/// The most tokens a query may have: each becomes an `OR` branch in the engine's query.
pub const MAX_TERMS: usize = 32;
/// The longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// The most candidates an adapter ranks. Candidates are taken rarest query word first, so a
/// customer matching a rare word is never crowded out by a common one; only when even the
/// rarest word matches more than this are candidates cut, by lowest id (the total then says
/// this many). Ranking needs every candidate in memory, so the bound keeps one broad query
/// from loading the whole table.
pub const MAX_CANDIDATES: usize = 10_000;

/// Weight of a query token found in the name.
pub const NAME_WEIGHT: u32 = 100;
/// Weight of a query token found in the reference.
pub const REFERENCE_WEIGHT: u32 = 10;
/// Weight of a query token found in any other indexed field.
pub const OTHER_WEIGHT: u32 = 1;

/// Splits text into search tokens: maximal runs of Unicode alphanumerics, case-folded with
/// [`fold`]. Everything else (quotes, operators, punctuation) separates tokens, which is why
/// no query can carry engine syntax.
pub fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(fold)
        // Folding may produce non-alphanumerics (rare special casings): split again.
        .flat_map(|t| {
            t.split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
}

/// A validated search query: distinct tokens, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// Parses `q`.
    ///
    /// # Errors
    /// [`InputError::Invalid`] naming `q` when it is blank, longer than
    /// [`MAX_QUERY_CHARS`] characters, has no letter or digit, or more than [`MAX_TERMS`]
    /// distinct tokens.
    pub fn parse(q: &str) -> Result<Self, InputError> {
        if q.trim().is_empty() {
            return Err(InputError::invalid("q", "The parameter q cannot be empty."));
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(InputError::invalid(
                "q",
                format!("The parameter q cannot be longer than {MAX_QUERY_CHARS} characters."),
            ));
        }
        let mut terms: Vec<String> = Vec::new();
        for token in tokenize(q) {
            if !terms.contains(&token) {
                terms.push(token);
            }
        }
        if terms.is_empty() {
            return Err(InputError::invalid(
                "q",
                "The parameter q must contain at least one letter or digit.",
            ));
        }
        if terms.len() > MAX_TERMS {
            return Err(InputError::invalid(
                "q",
                format!("The parameter q cannot have more than {MAX_TERMS} search terms."),
            ));
        }
        Ok(Self(terms))
    }

    /// The distinct tokens.
    #[must_use]
    pub fn tokens(&self) -> &[String] {
        &self.0
    }
}

/// What a search asks of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The tokens, ORed.
    pub terms: SearchTerms,
    /// Whether inactive customers are found too (archived ones never are).
    pub include_inactive: bool,
    /// Only this customer and the customers below it (set by the service for resellers).
    pub within: Option<CustomerId>,
    /// The page.
    pub page: PageRequest,
}

/// A customer found by a search, with its score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCustomer {
    /// The customer.
    pub customer: Customer,
    /// See [`score`].
    pub score: u32,
}

/// The texts of a customer that search looks at, by weight.
#[derive(Debug, Clone, Copy)]
pub struct SearchFields<'a> {
    /// The name.
    pub name: &'a str,
    /// The reference.
    pub reference: &'a str,
    /// The rest: second reference, e-mail, phones, addresses, cities, postal codes, tax and
    /// company registration numbers, barcode.
    pub others: [Option<&'a str>; 13],
}

impl<'a> SearchFields<'a> {
    /// The searched fields of a customer's data.
    #[must_use]
    pub fn of(data: &'a CustomerData) -> Self {
        let free = |t: &'a Option<crate::values::FreeText>| t.as_ref().map(|t| t.as_str());
        Self {
            name: data.name.as_str(),
            reference: data.reference.as_str(),
            others: [
                free(&data.reference2),
                data.email.as_ref().map(|e| e.as_str()),
                free(&data.phone),
                free(&data.mobile),
                free(&data.billing.city),
                free(&data.shipping.city),
                free(&data.billing.address),
                free(&data.shipping.address),
                free(&data.billing.postal_code),
                free(&data.shipping.postal_code),
                free(&data.tax_number),
                free(&data.company_registration_number),
                free(&data.barcode),
            ],
        }
    }

    fn all(&self) -> impl Iterator<Item = &'a str> + '_ {
        [Some(self.name), Some(self.reference)]
            .into_iter()
            .chain(self.others)
            .flatten()
    }
}

/// The text the adapters index: every distinct token of the searched fields, separated by
/// spaces, so each engine's own tokenizer finds exactly these tokens again.
#[must_use]
pub fn search_text(fields: &SearchFields<'_>) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut text = String::new();
    for token in fields.all().flat_map(tokenize) {
        if seen.insert(token.clone()) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&token);
        }
    }
    text
}

/// The score of a customer for a query: for each query token, [`NAME_WEIGHT`] if the name
/// has it, plus [`REFERENCE_WEIGHT`] if the reference has it, plus [`OTHER_WEIGHT`] if any
/// other searched field has it. Zero means no match.
#[must_use]
pub fn score(terms: &SearchTerms, fields: &SearchFields<'_>) -> u32 {
    let tokens_of = |text: &str| tokenize(text).collect::<std::collections::HashSet<_>>();
    let name = tokens_of(fields.name);
    let reference = tokens_of(fields.reference);
    let others: std::collections::HashSet<String> = fields
        .others
        .iter()
        .flatten()
        .flat_map(|t| tokenize(t))
        .collect();
    terms
        .tokens()
        .iter()
        .map(|t| {
            u32::from(name.contains(t)) * NAME_WEIGHT
                + u32::from(reference.contains(t)) * REFERENCE_WEIGHT
                + u32::from(others.contains(t)) * OTHER_WEIGHT
        })
        .sum()
}

/// At most `cap` candidates, rarest tokens first (the one rule every adapter follows, so
/// both backends rank the same candidates): the tokens are taken in order of how many
/// customers hold them (fewest first, then by token, so the query's word order does not
/// matter), each adding its matches until the cap is reached; the token that does not fit
/// adds its lowest ids up to the room left. `matches` holds, for each token, its matching ids
/// in ascending order, at most `cap + 1` of them (enough to tell a token that overflows).
/// Whenever the matches of a token and of every rarer one fit in the cap together, all of
/// them are candidates; in particular the rarest token's are whenever it has at most `cap`.
pub fn choose_candidates(mut matches: Vec<(&str, Vec<i64>)>, cap: usize) -> Vec<i64> {
    matches.sort_by(|(ta, a), (tb, b)| a.len().cmp(&b.len()).then(ta.cmp(tb)));
    let mut chosen = std::collections::BTreeSet::new();
    'tokens: for (_, ids) in matches {
        for id in ids {
            if chosen.len() >= cap {
                break 'tokens;
            }
            chosen.insert(id);
        }
    }
    chosen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(q: &str) -> Vec<String> {
        SearchTerms::parse(q)
            .map(|t| t.tokens().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn splits_on_non_alphanumerics_and_folds_case() {
        assert_eq!(tokens("Horse  HOUSE-barn"), ["horse", "house", "barn"]);
        assert_eq!(tokens("Ärger straße 12"), ["ärger", "straße", "12"]);
        assert_eq!(tokens("horse horse HORSE"), ["horse"]);
    }

    #[test]
    fn engine_syntax_is_only_a_separator() {
        assert_eq!(tokens("\"a\" OR b*"), ["a", "or", "b"]);
        assert_eq!(tokens("NEAR(x y)"), ["near", "x", "y"]);
        assert_eq!(tokens("a:b 'c' &|!d"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn refuses_unusable_queries() {
        for q in ["", "   ", "\"", "*", "&|!", "'", "-- ;"] {
            assert!(
                matches!(
                    SearchTerms::parse(q),
                    Err(InputError::Invalid { field: "q", .. })
                ),
                "{q:?}"
            );
        }
        let many = (0..33)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(SearchTerms::parse(&many).is_err());
        let enough = (0..32)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(SearchTerms::parse(&enough).is_ok());
        assert!(SearchTerms::parse(&"a".repeat(501)).is_err());
        assert!(SearchTerms::parse(&"a".repeat(500)).is_ok());
    }

    #[test]
    fn name_outweighs_reference_outweighs_the_rest() {
        let terms = SearchTerms(vec!["horse".into(), "oslo".into()]);
        let mut others = [None; 13];
        others[4] = Some("Oslo");
        let fields = SearchFields {
            name: "Horse & Co",
            reference: "HORSE-1",
            others,
        };
        assert_eq!(score(&terms, &fields), 100 + 10 + 1);
        assert_eq!(search_text(&fields), "horse co 1 oslo");
    }

    #[test]
    fn rarest_tokens_are_chosen_first() {
        // `common` overflows a cap of 5 (it has cap + 1 ids); `rare` holds only the highest.
        let common: Vec<i64> = (1..=6).collect();
        assert_eq!(
            choose_candidates(vec![("common", common.clone()), ("rare", vec![9])], 5),
            [1, 2, 3, 4, 9]
        );
        assert_eq!(
            choose_candidates(vec![("rare", vec![9]), ("common", common)], 5),
            [1, 2, 3, 4, 9],
            "the query's word order does not matter"
        );
    }

    #[test]
    fn shared_matches_take_no_room_twice() {
        assert_eq!(
            choose_candidates(vec![("a", vec![1, 2, 3, 4, 5, 6]), ("b", vec![2, 7])], 5),
            [1, 2, 3, 4, 7]
        );
    }

    #[test]
    fn everything_fits_under_the_cap() {
        assert_eq!(
            choose_candidates(vec![("a", vec![3, 8]), ("b", vec![1, 8]), ("c", vec![])], 5),
            [1, 3, 8]
        );
        assert_eq!(
            choose_candidates(vec![("a", vec![1])], 0),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn equal_counts_go_by_token() {
        // Both overflow: `x` comes before `y`, fills the room, and `y` adds nothing.
        assert_eq!(
            choose_candidates(vec![("y", vec![4, 5, 6]), ("x", vec![1, 2, 3])], 2),
            [1, 2]
        );
        assert_eq!(
            choose_candidates(vec![("y", vec![4, 5]), ("x", vec![1, 2])], 3),
            [1, 2, 4]
        );
    }
}
