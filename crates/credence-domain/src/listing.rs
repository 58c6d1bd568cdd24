//! Paging, sorting and the list filters, shared by every collection.

use chrono::{DateTime, Utc};

use crate::input::InputError;

/// A rule of list and search queries that a request breaks. The domain names the rule; the
/// HTTP adapter words it with the query parameters' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryRule {
    /// A page size of zero or over the largest page.
    #[error("a page holds 1 to {max} rows")]
    PageSize {
        /// The largest page, [`MAX_MAX`].
        max: u32,
    },
    /// An offset below zero.
    #[error("an offset cannot be negative")]
    NegativeOffset,
    /// A search with no text.
    #[error("a search needs a text")]
    SearchBlank,
    /// A search text over its limit.
    #[error("a search text holds at most {max} characters")]
    SearchTooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// A search text without a letter or a digit.
    #[error("a search text needs a letter or a digit")]
    SearchWithoutWord,
    /// A search of too many distinct terms.
    #[error("a search has at most {max} terms")]
    SearchTooManyTerms {
        /// The limit.
        max: usize,
    },
}

impl From<QueryRule> for InputError {
    fn from(rule: QueryRule) -> Self {
        Self::Query(rule)
    }
}

/// The default page size.
pub const DEFAULT_MAX: u32 = 100;
/// The largest page a client may ask for.
pub const MAX_MAX: u32 = 1000;

/// Which slice of a collection to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    max: u32,
    offset: u64,
}

impl PageRequest {
    /// Validates a page size and an offset.
    ///
    /// # Errors
    /// [`QueryRule::PageSize`] when `max` exceeds [`MAX_MAX`] or is zero,
    /// [`QueryRule::NegativeOffset`].
    pub fn new(max: Option<i64>, offset: Option<i64>) -> Result<Self, InputError> {
        let max = match max {
            None => DEFAULT_MAX,
            Some(m) if (1..=i64::from(MAX_MAX)).contains(&m) => {
                u32::try_from(m).unwrap_or(DEFAULT_MAX)
            }
            Some(_) => {
                return Err(QueryRule::PageSize { max: MAX_MAX }.into());
            }
        };
        let offset = match offset {
            None => 0,
            Some(o) => u64::try_from(o).map_err(|_| QueryRule::NegativeOffset)?,
        };
        Ok(Self { max, offset })
    }

    /// The page size.
    #[must_use]
    pub fn max(&self) -> u32 {
        self.max
    }

    /// How many rows to skip.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            max: DEFAULT_MAX,
            offset: 0,
        }
    }
}

/// One page of a collection and the size of the whole filtered collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match, over all pages.
    pub total: u64,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// A text filter: `*` is the only wildcard; without one the match is exact.
/// Both are case-insensitive; `%`, `_` and `\` match themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPattern {
    /// No `*`: the whole (case-folded) value must be equal.
    Exact(String),
    /// Some `*`: an SQL `LIKE` pattern with `\` as escape, over case-folded text.
    Like {
        /// The `LIKE` pattern (already folded and escaped).
        pattern: String,
        /// The folded literal text before the first `*`, so adapters can use an index.
        prefix: String,
    },
}

impl TextPattern {
    /// Parses a filter value.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let folded = fold(text);
        if !folded.contains('*') {
            return Self::Exact(folded);
        }
        let prefix = folded.split('*').next().unwrap_or_default().to_owned();
        // Each `*` becomes `%`; the literals between are escaped.
        let pattern = folded
            .split('*')
            .map(like_escaped)
            .collect::<Vec<_>>()
            .join("%");
        Self::Like { pattern, prefix }
    }

    /// Whether this is a literal followed by one `*` and nothing else (`abc*`): then a value
    /// matches exactly when it starts with [`TextPattern::Like`]'s `prefix`, so an adapter
    /// may decide it with a range over the prefix alone, without the `LIKE`.
    #[must_use]
    pub fn is_prefix_only(&self) -> bool {
        match self {
            Self::Exact(_) => false,
            Self::Like { pattern, prefix } => {
                !prefix.is_empty()
                    && pattern
                        .strip_suffix('%')
                        .is_some_and(|head| head == like_escaped(prefix))
            }
        }
    }

    /// Whether a value matches, as the adapters must decide it (used by tests and mocks).
    #[must_use]
    pub fn matches(&self, value: &str) -> bool {
        let value = fold(value);
        match self {
            Self::Exact(exact) => *exact == value,
            Self::Like { pattern, .. } => like(pattern, &value),
        }
    }
}

/// `text` as a literal inside a `LIKE` pattern whose escape is `\\`.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Case-folds text the way every adapter stores its folded columns: one rule, in Rust, so the
/// backends cannot disagree on what "case-insensitive" means.
#[must_use]
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

fn like(pattern: &str, value: &str) -> bool {
    // Tokens: Some(c) is a literal character, None is `%`.
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(chars.next()),
            '%' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let value: Vec<char> = value.chars().collect();
    // Classic wildcard matching with backtracking over the last `%`.
    let (mut t, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match tokens.get(t) {
            Some(Some(c)) if *c == value[v] => {
                t += 1;
                v += 1;
            }
            Some(None) => {
                star = Some((t, v));
                t += 1;
            }
            _ => match star {
                Some((st, sv)) => {
                    t = st + 1;
                    v = sv + 1;
                    star = Some((st, sv + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(Option::is_none)
}

/// A range filter on a timestamp (`dateCreated_gt` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// Strictly after.
    pub gt: Option<DateTime<Utc>>,
    /// At or after.
    pub gte: Option<DateTime<Utc>>,
    /// Strictly before.
    pub lt: Option<DateTime<Utc>>,
    /// At or before.
    pub lte: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Whether an instant lies in the range.
    #[must_use]
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.gt.is_none_or(|b| at > b)
            && self.gte.is_none_or(|b| at >= b)
            && self.lt.is_none_or(|b| at < b)
            && self.lte.is_none_or(|b| at <= b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_to_100_and_stop_at_1000() {
        assert_eq!(
            PageRequest::new(None, None).map(|p| (p.max(), p.offset())),
            Ok((100, 0))
        );
        assert_eq!(
            PageRequest::new(Some(1000), Some(5)).map(|p| (p.max(), p.offset())),
            Ok((1000, 5))
        );
        assert!(PageRequest::new(Some(1001), None).is_err());
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(-1)).is_err());
    }

    #[test]
    fn star_is_the_only_wildcard() {
        assert_eq!(
            TextPattern::parse("Ref-6"),
            TextPattern::Exact("ref-6".into())
        );
        assert!(TextPattern::parse("Ab_%*").is_prefix_only());
        for not_prefix in ["ab", "*ab", "a*b*", "ab**", "*", "a*b"] {
            assert!(
                !TextPattern::parse(not_prefix).is_prefix_only(),
                "{not_prefix}"
            );
        }
        let p = TextPattern::parse("*ef-6*");
        assert_eq!(
            p,
            TextPattern::Like {
                pattern: "%ef-6%".into(),
                prefix: String::new()
            }
        );
        assert!(p.matches("REF-66"));
        assert!(!p.matches("ref6"));
        let literal = TextPattern::parse("a%b_c\\*");
        assert_eq!(
            literal,
            TextPattern::Like {
                pattern: "a\\%b\\_c\\\\%".into(),
                prefix: "a%b_c\\".into()
            }
        );
        assert!(literal.matches("A%B_C\\tail"));
        assert!(!literal.matches("axbxc\\tail"), "% and _ are literal");
        assert!(TextPattern::parse("Ref-6*").matches("ref-6abc"));
        assert!(!TextPattern::parse("Ref-6*").matches("xref-6"));
        assert!(TextPattern::parse("*").matches(""));
        assert!(TextPattern::parse("a*b*c").matches("aXXbYYc"));
        assert!(!TextPattern::parse("a*b*c").matches("aXXbYY"));
    }
}
