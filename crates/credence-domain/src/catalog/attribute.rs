//! Product attributes and the check of one value against one attribute.

use chrono::{Datelike, NaiveDate};

use super::product::Localized;

/// An option of an `option` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeOption {
    /// Titles by language.
    pub titles: Localized,
    /// The value an order gives.
    pub value: String,
}

/// What values an attribute takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeKind {
    /// Free text, optionally bounded in characters.
    String {
        /// Fewest characters.
        min_length: Option<u32>,
        /// Most characters.
        max_length: Option<u32>,
    },
    /// One of the listed values.
    Option(Vec<AttributeOption>),
    /// A whole number.
    Integer,
    /// An ISO-8601 date (`2026-11-24`).
    Date,
}

impl AttributeKind {
    /// The wire name (`string`, `option`, `integer`, `date`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::String { .. } => "string",
            Self::Option(_) => "option",
            Self::Integer => "integer",
            Self::Date => "date",
        }
    }
}

/// An attribute a product's orders configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductAttribute {
    /// Code, unique within the product.
    pub code: String,
    /// What values it takes.
    pub kind: AttributeKind,
    /// Whether an order must give it.
    pub is_mandatory: bool,
    /// Titles by language.
    pub titles: Localized,
    /// Help texts by language.
    pub helps: Localized,
}

/// What is wrong with one attribute value; each names its attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeProblem {
    /// A mandatory attribute has no value.
    #[error("The attribute {0} is mandatory.")]
    Missing(String),
    /// The product has no such attribute.
    #[error("The attribute {0} is not an attribute of the product.")]
    Unknown(String),
    /// The same attribute is given twice.
    #[error("The attribute {0} is given more than once.")]
    Repeated(String),
    /// Not one of the listed options.
    #[error("The value {value} of attribute {code} is not one of its options.")]
    NotAnOption {
        /// The attribute.
        code: String,
        /// The value given.
        value: String,
    },
    /// Not a whole number.
    #[error("The value {value} of attribute {code} is not an integer.")]
    NotAnInteger {
        /// The attribute.
        code: String,
        /// The value given.
        value: String,
    },
    /// Not an ISO-8601 date.
    #[error("The value {value} of attribute {code} is not an ISO-8601 date.")]
    NotADate {
        /// The attribute.
        code: String,
        /// The value given.
        value: String,
    },
    /// Too short or too long.
    #[error("The value of attribute {code} must have between {min} and {max} characters.")]
    Length {
        /// The attribute.
        code: String,
        /// Fewest characters.
        min: u32,
        /// Most characters.
        max: u32,
    },
}

impl AttributeProblem {
    /// The attribute the problem is about.
    #[must_use]
    pub fn attribute(&self) -> &str {
        match self {
            Self::Missing(code) | Self::Unknown(code) | Self::Repeated(code) => code,
            Self::NotAnOption { code, .. }
            | Self::NotAnInteger { code, .. }
            | Self::NotADate { code, .. }
            | Self::Length { code, .. } => code,
        }
    }
}

impl ProductAttribute {
    /// Checks one value.
    ///
    /// # Errors
    /// The [`AttributeProblem`] naming this attribute.
    pub fn check(&self, value: &str) -> Result<(), AttributeProblem> {
        let code = || self.code.clone();
        match &self.kind {
            AttributeKind::String {
                min_length,
                max_length,
            } => {
                let length = u32::try_from(value.chars().count()).unwrap_or(u32::MAX);
                let (min, max) = (min_length.unwrap_or(0), max_length.unwrap_or(u32::MAX));
                if length < min || length > max {
                    return Err(AttributeProblem::Length {
                        code: code(),
                        min,
                        max,
                    });
                }
                if self.is_mandatory && value.trim().is_empty() {
                    return Err(AttributeProblem::Missing(code()));
                }
                Ok(())
            }
            AttributeKind::Option(options) => {
                if options.iter().any(|o| o.value == value) {
                    Ok(())
                } else {
                    Err(AttributeProblem::NotAnOption {
                        code: code(),
                        value: value.to_owned(),
                    })
                }
            }
            AttributeKind::Integer => {
                value
                    .trim()
                    .parse::<i64>()
                    .map(drop)
                    .map_err(|_| AttributeProblem::NotAnInteger {
                        code: code(),
                        value: value.to_owned(),
                    })
            }
            // Year 0000 parses, but names no date of the calendar ISO 8601 dates use.
            AttributeKind::Date => NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
                .ok()
                .filter(|date| date.year() >= 1)
                .map(drop)
                .ok_or_else(|| AttributeProblem::NotADate {
                    code: code(),
                    value: value.to_owned(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AttributeValue, Product, ProductCode};
    use crate::credit::Money;
    use crate::values::CurrencyCode;

    fn attribute(code: &str, kind: AttributeKind, is_mandatory: bool) -> ProductAttribute {
        ProductAttribute {
            code: code.into(),
            kind,
            is_mandatory,
            titles: Localized::new(),
            helps: Localized::new(),
        }
    }

    fn product() -> Product {
        let option = |v: &str| AttributeOption {
            titles: Localized::new(),
            value: v.into(),
        };
        Product {
            code: ProductCode::new("product_research").unwrap(),
            titles: Localized::new(),
            descriptions: Localized::new(),
            available: true,
            price: Money::from_minor(1500, CurrencyCode::parse("EUR").unwrap()),
            attributes: vec![
                attribute(
                    "research_language",
                    AttributeKind::Option(vec![option("de"), option("en")]),
                    true,
                ),
                attribute(
                    "keywords",
                    AttributeKind::String {
                        min_length: Some(3),
                        max_length: Some(10),
                    },
                    false,
                ),
                attribute("words", AttributeKind::Integer, false),
                attribute("deadline", AttributeKind::Date, false),
            ],
        }
    }

    fn values(pairs: &[(&str, &str)]) -> Vec<AttributeValue> {
        pairs
            .iter()
            .map(|(c, v)| AttributeValue {
                code: (*c).into(),
                value: (*v).into(),
            })
            .collect()
    }

    #[test]
    fn one_rule_table() {
        // (values given, attributes that must fail, in order)
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (&[("research_language", "de")], &[]),
            (
                &[
                    ("research_language", "de"),
                    ("keywords", "abc"),
                    ("words", "-12"),
                    ("deadline", "2026-11-24"),
                ],
                &[],
            ),
            (&[], &["research_language"]),
            (&[("research_language", "it")], &["research_language"]),
            (
                &[("research_language", "de"), ("keywords", "ab")],
                &["keywords"],
            ),
            (
                &[("research_language", "de"), ("keywords", "abcdefghijk")],
                &["keywords"],
            ),
            (
                &[("research_language", "de"), ("words", "12.5")],
                &["words"],
            ),
            (
                &[("research_language", "de"), ("deadline", "24.11.2026")],
                &["deadline"],
            ),
            (
                &[("research_language", "de"), ("deadline", "0000-01-01")],
                &["deadline"],
            ),
            (
                &[("research_language", "de"), ("colour", "red")],
                &["colour"],
            ),
            (
                &[("research_language", "de"), ("research_language", "en")],
                &["research_language"],
            ),
            (
                &[("words", "x"), ("deadline", "2026-13-01"), ("nope", "1")],
                &["research_language", "words", "deadline", "nope"],
            ),
        ];
        for (given, failing) in cases {
            let outcome = product().check_values(&values(given));
            let named: Vec<String> = outcome
                .err()
                .unwrap_or_default()
                .iter()
                .map(|p| p.attribute().to_owned())
                .collect();
            assert_eq!(
                named,
                failing.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
                "{given:?}"
            );
        }
    }

    #[test]
    fn problems_name_their_attribute_in_the_text() {
        let problems = product()
            .check_values(&values(&[("research_language", "it")]))
            .unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "The value it of attribute research_language is not one of its options."
        );
    }
}
