//! Customer full-text search (`GET /customers/search?q=`).
//!
//! The score is defined here, with one tokenizer, so that both backends rank alike (each
//! database's own full-text ranking would order the same data differently). A customer's
//! searched fields become [`weighted_terms`]: each token it holds, with that token's weight
//! for it. A query's score for a customer is the sum of the weights of the query's tokens,
//! which adapters can add up from a stored table of terms without reading the customer.

use crate::customers::{Customer, CustomerData};
use crate::ids::CustomerId;
use crate::input::InputError;
use crate::listing::{PageRequest, QueryRule, fold};

/// The most tokens a query may have: each becomes an `OR` branch in the engine's query.
pub const MAX_TERMS: usize = 32;
/// The longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// Weight of a query token found in the name.
pub const NAME_WEIGHT: u32 = 100;
/// Weight of a query token found in the reference.
pub const REFERENCE_WEIGHT: u32 = 10;
/// Weight of a query token found in any other indexed field.
pub const OTHER_WEIGHT: u32 = 1;

/// Splits text into search tokens: maximal runs of Unicode alphanumerics, case-folded with
/// [`fold`] and stripped of accents ([`unaccent`]). Everything else (quotes, operators,
/// punctuation) separates tokens, which is why no query can carry engine syntax.
pub fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| unaccent(&fold(t)))
        // Folding may produce non-alphanumerics (rare special casings): split again.
        .flat_map(|t| {
            t.split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
}

/// `text` without its accents and other combining marks (`société` → `societe`, `Ångström`
/// → `Angstrom`): canonical decomposition (NFD), then the marks dropped. Letters that are not
/// a base letter with marks (`ß`, `æ`, `ø`) stay as they are. Stored terms and queries go
/// through the same folding, so each finds the other with or without accents.
#[must_use]
pub fn unaccent(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    use unicode_normalization::char::is_combining_mark;
    text.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// A validated search query: distinct tokens, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// Parses `q`.
    ///
    /// # Errors
    /// A [`QueryRule`] when the text is blank, longer than [`MAX_QUERY_CHARS`] characters,
    /// has no letter or digit, or more than [`MAX_TERMS`] distinct tokens.
    pub fn parse(q: &str) -> Result<Self, InputError> {
        if q.trim().is_empty() {
            return Err(QueryRule::SearchBlank.into());
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryRule::SearchTooLong {
                max: MAX_QUERY_CHARS,
            }
            .into());
        }
        let mut terms: Vec<String> = Vec::new();
        for token in tokenize(q) {
            if !terms.contains(&token) {
                terms.push(token);
            }
        }
        if terms.is_empty() {
            return Err(QueryRule::SearchWithoutWord.into());
        }
        if terms.len() > MAX_TERMS {
            return Err(QueryRule::SearchTooManyTerms { max: MAX_TERMS }.into());
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
                free(&data.texts.reference2),
                data.email.as_ref().map(|e| e.as_str()),
                free(&data.texts.phone),
                free(&data.texts.mobile),
                free(&data.billing.city),
                free(&data.shipping.city),
                free(&data.billing.address),
                free(&data.shipping.address),
                free(&data.billing.postal_code),
                free(&data.shipping.postal_code),
                free(&data.texts.tax_number),
                free(&data.texts.company_registration_number),
                free(&data.texts.barcode),
            ],
        }
    }
}

/// A token of a customer's searched fields, with its weight for that customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedTerm {
    /// The token, as [`tokenize`] gives it.
    pub token: String,
    /// [`NAME_WEIGHT`] if the name holds it, plus [`REFERENCE_WEIGHT`] if the reference does,
    /// plus [`OTHER_WEIGHT`] if any other searched field does.
    pub weight: u32,
}

/// Every distinct token of the searched fields with its weight, ordered by token: what the
/// adapters store for a live customer, so that a search adds weights up without reading the
/// customer's fields.
#[must_use]
pub fn weighted_terms(fields: &SearchFields<'_>) -> Vec<WeightedTerm> {
    let mut weights = std::collections::BTreeMap::<String, u32>::new();
    let mut add = |text: &str, weight: u32, seen: &mut std::collections::HashSet<String>| {
        for token in tokenize(text) {
            if seen.insert(token.clone()) {
                *weights.entry(token).or_default() += weight;
            }
        }
    };
    // A field's weight counts once per token, however often the field (or, for the others,
    // however many of them) holds it.
    add(fields.name, NAME_WEIGHT, &mut Default::default());
    add(fields.reference, REFERENCE_WEIGHT, &mut Default::default());
    let mut seen_in_others = std::collections::HashSet::new();
    for other in fields.others.iter().flatten() {
        add(other, OTHER_WEIGHT, &mut seen_in_others);
    }
    weights
        .into_iter()
        .map(|(token, weight)| WeightedTerm { token, weight })
        .collect()
}

/// The score of a customer for a query: the sum, over the query's tokens, of their weights
/// for the customer ([`weighted_terms`]). Zero means no match.
#[must_use]
pub fn score(terms: &SearchTerms, fields: &SearchFields<'_>) -> u32 {
    weighted_terms(fields)
        .into_iter()
        .filter(|term| terms.tokens().contains(&term.token))
        .map(|term| term.weight)
        .sum()
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
    fn accents_fold_both_ways() {
        assert_eq!(tokens("Société Générale"), ["societe", "generale"]);
        assert_eq!(tokens("SOCIETE generale"), ["societe", "generale"]);
        assert_eq!(
            tokens("Ångström Müller-Lüdenscheidt"),
            ["angstrom", "muller", "ludenscheidt"]
        );
        assert_eq!(tokens("Straße Ærø"), ["straße", "ærø"]);
        assert_eq!(unaccent("e\u{301}"), "e", "a decomposed accent too");
    }

    #[test]
    fn splits_on_non_alphanumerics_and_folds_case() {
        assert_eq!(tokens("Horse  HOUSE-barn"), ["horse", "house", "barn"]);
        assert_eq!(tokens("Ärger straße 12"), ["arger", "straße", "12"]);
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
                    Err(InputError::Query(
                        QueryRule::SearchBlank | QueryRule::SearchWithoutWord
                    ))
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
        others[5] = Some("oslo OSLO");
        let fields = SearchFields {
            name: "Horse & Co horse",
            reference: "HORSE-1",
            others,
        };
        assert_eq!(score(&terms, &fields), 100 + 10 + 1);
        assert_eq!(
            weighted_terms(&fields)
                .into_iter()
                .map(|t| (t.token, t.weight))
                .collect::<Vec<_>>(),
            [
                ("1".to_owned(), 10),
                ("co".to_owned(), 100),
                ("horse".to_owned(), 110),
                ("oslo".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn a_query_scores_the_sum_of_its_tokens_weights() {
        let fields = SearchFields {
            name: "Acme Bakery",
            reference: "ACME-7",
            others: [None; 13],
        };
        let score_of = |q: &str| {
            let terms = SearchTerms::parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
            score(&terms, &fields)
        };
        assert_eq!(score_of("acme"), 110);
        assert_eq!(score_of("bakery 7"), 110);
        assert_eq!(score_of("acme bakery 7 paris"), 220);
        assert_eq!(score_of("paris"), 0);
    }
}
