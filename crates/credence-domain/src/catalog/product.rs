//! Products: a code, localized titles and descriptions, availability, a unit price, attributes.

use std::collections::BTreeMap;

use crate::credit::Money;
use crate::input::InputError;

use super::attribute::{AttributeProblem, ProductAttribute};
use super::task::AttributeValue;

/// The languages products are described in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Locale {
    /// English.
    En,
    /// German.
    De,
    /// French.
    Fr,
}

impl Locale {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
        }
    }

    /// Parses `en`, `de` or `fr`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "en" => Some(Self::En),
            "de" => Some(Self::De),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }
}

/// Texts by language, in a stable order (en, de, fr).
pub type Localized = BTreeMap<Locale, String>;

/// Why localized texts were refused; several fields hold them (titles, descriptions, an
/// attribute's helps), so the error names none: whoever knows the field words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalizedError {
    /// A language that is not en, de or fr (as given).
    #[error("unknown language {0}; use en, de or fr")]
    UnknownLanguage(String),
    /// A blank text in a language.
    #[error("the text in {} cannot be empty", .0.as_str())]
    Blank(Locale),
}

/// Parses `{"en": "...", "de": "..."}`-like pairs.
///
/// # Errors
/// [`LocalizedError`] for an unknown language or a blank text.
pub fn localized(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<Localized, LocalizedError> {
    let mut texts = Localized::new();
    for (language, text) in pairs {
        let locale = Locale::parse(&language).ok_or(LocalizedError::UnknownLanguage(language))?;
        if text.trim().is_empty() {
            return Err(LocalizedError::Blank(locale));
        }
        texts.insert(locale, text);
    }
    Ok(texts)
}

/// A rule of the catalog that a request breaks: of a product, a task template or a task. The
/// domain names the rule; the HTTP adapter words it with the API's field names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogRule {
    /// A product code that is not 1 to 64 letters, digits, `_` or `-` (as given).
    #[error("the product code {0} is not 1 to 64 letters, digits, _ or -")]
    ProductCode(String),
    /// A product without a title.
    #[error("a product needs a title")]
    TitlesRequired,
    /// A product of a negative price.
    #[error("a price cannot be negative")]
    NegativePrice,
    /// Two attributes of one code (the code).
    #[error("the attribute {0} is defined twice")]
    AttributeTwice(String),
    /// A task template code that is not 1 to 64 letters, digits, `_` or `-`.
    #[error("a template code holds 1 to 64 letters, digits, _ or -")]
    TemplateCode,
    /// A task template without a name.
    #[error("a template needs a name")]
    TemplateNameRequired,
    /// A task of no unit.
    #[error("a task is of at least one unit")]
    QuantityBelowOne,
    /// A task whose price overflows.
    #[error("the quantity is too large")]
    QuantityTooLarge,
}

impl From<CatalogRule> for InputError {
    fn from(rule: CatalogRule) -> Self {
        Self::Catalog(rule)
    }
}

/// A product code: 1 to 64 letters, digits, `_` or `-` (it appears in URLs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductCode(String);

impl ProductCode {
    /// Validates a code.
    ///
    /// # Errors
    /// [`CatalogRule::ProductCode`].
    pub fn new(code: &str) -> Result<Self, InputError> {
        let valid = (1..=64).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(Self(code.to_owned()))
        } else {
            Err(CatalogRule::ProductCode(code.to_owned()).into())
        }
    }
}

crate::values::text_value!(ProductCode);

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Unique code.
    pub code: ProductCode,
    /// Titles by language (at least one).
    pub titles: Localized,
    /// Descriptions by language.
    pub descriptions: Localized,
    /// Whether it can be ordered now (withdrawn products stay readable by URI).
    pub available: bool,
    /// Price of one unit.
    pub price: Money,
    /// The attributes an order configures, in order.
    pub attributes: Vec<ProductAttribute>,
}

/// The fields of a product to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    /// Titles by language (at least one).
    pub titles: Localized,
    /// Descriptions by language.
    pub descriptions: Localized,
    /// Whether it can be ordered.
    pub available: bool,
    /// Price of one unit (>= 0).
    pub price: Money,
    /// Attributes, with unique codes.
    pub attributes: Vec<ProductAttribute>,
}

impl ProductDraft {
    /// Checks the draft as a whole: a title, a non-negative price, unique attribute codes.
    ///
    /// # Errors
    /// A [`CatalogRule`].
    pub fn validate(self) -> Result<Self, InputError> {
        if self.titles.is_empty() {
            return Err(CatalogRule::TitlesRequired.into());
        }
        if self.price.minor() < 0 {
            return Err(CatalogRule::NegativePrice.into());
        }
        let mut codes: Vec<&str> = self.attributes.iter().map(|a| a.code.as_str()).collect();
        codes.sort_unstable();
        if let Some(pair) = codes.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(CatalogRule::AttributeTwice(pair[0].to_owned()).into());
        }
        Ok(self)
    }
}

impl Product {
    /// Checks a set of attribute values against the product and reports every failure,
    /// each naming its attribute.
    ///
    /// # Errors
    /// Every [`AttributeProblem`] found, in the product's attribute order, unknown ones last.
    pub fn check_values(&self, values: &[AttributeValue]) -> Result<(), Vec<AttributeProblem>> {
        let mut problems = Vec::new();
        for attribute in &self.attributes {
            match values.iter().find(|v| v.code == attribute.code) {
                Some(value) => {
                    if let Err(problem) = attribute.check(&value.value) {
                        problems.push(problem);
                    }
                }
                None if attribute.is_mandatory => {
                    problems.push(AttributeProblem::Missing(attribute.code.clone()))
                }
                None => {}
            }
        }
        for value in values {
            if !self.attributes.iter().any(|a| a.code == value.code) {
                problems.push(AttributeProblem::Unknown(value.code.clone()));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for value in values {
            if !seen.insert(value.code.as_str()) {
                problems.push(AttributeProblem::Repeated(value.code.clone()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
