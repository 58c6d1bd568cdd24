//! The customer's plain texts: optional free text that the API reads, stores and shows as it
//! was written (trimmed), with nothing to resolve or check beyond its length. They are listed
//! once, in [`customer_texts!`](crate::customer_texts), and every layer builds its part from
//! that list: the domain's [`CustomerTexts`] and [`TextChanges`] here, the store's columns,
//! the HTTP body's fields, their wire names and their validation. A new plain text field is
//! one line in that list (plus its column and its place in the response).

use crate::field::Field;
use crate::values::FreeText;

/// Calls `$callback! { field: most_characters, ... }` with every plain text field of a
/// customer, in the order the body's schema lists them. The field's name is its store column
/// and, in camelCase, its wire name; the number is the most characters it may hold
/// ([`FreeText::SHORT`] or [`FreeText::LONG`]).
///
/// A layer that needs the list defines a `macro_rules!` that takes it and passes its name.
#[macro_export]
macro_rules! customer_texts {
    ($callback:ident) => {
        $callback! {
            reference2: 255,
            barcode: 255,
            phone: 255,
            mobile: 255,
            fax: 255,
            comment: 4000,
            tax_number: 255,
            company_registration_number: 255,
            customer_risk: 255,
            on_hold_reason: 255,
        }
    };
}

macro_rules! text_types {
    ($($field:ident: $max:literal),* $(,)?) => {
        /// A customer's plain texts, each one `None` when not given.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[expect(
            missing_docs,
            reason = "each field is the customer's text of the same name"
        )]
        pub struct CustomerTexts {
            $(pub $field: Option<FreeText>,)*
        }

        /// The plain texts a client asked to change: `Absent` keeps one, `Null` clears it.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[expect(
            missing_docs,
            reason = "each field is the customer's text of the same name"
        )]
        pub struct TextChanges {
            $(pub $field: Field<FreeText>,)*
        }

        impl TextChanges {
            /// The texts after the change: `base`'s for an update, none for a creation.
            #[must_use]
            pub fn apply(self, base: Option<&CustomerTexts>) -> CustomerTexts {
                CustomerTexts {
                    $($field: self.$field.apply_to(base.and_then(|b| b.$field.clone())),)*
                }
            }
        }

        impl CustomerTexts {
            /// Each text's field name and the most characters it may hold.
            pub const LIMITS: &[(&str, usize)] = &[$((stringify!($field), $max)),*];
        }
    };
}

crate::customer_texts!(text_types);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_one_the_text_type_knows() {
        for (field, max) in CustomerTexts::LIMITS {
            assert!(
                [FreeText::SHORT, FreeText::LONG].contains(max),
                "{field}: {max}"
            );
        }
    }

    #[test]
    fn absent_keeps_null_clears_value_sets() {
        let text = |t: &str| FreeText::from_trusted(t.to_owned());
        let base = CustomerTexts {
            phone: Some(text("1")),
            fax: Some(text("2")),
            ..CustomerTexts::default()
        };
        let changes = TextChanges {
            fax: Field::Null,
            comment: Field::Value(text("3")),
            ..TextChanges::default()
        };
        let after = changes.clone().apply(Some(&base));
        assert_eq!(after.phone, Some(text("1")));
        assert_eq!(after.fax, None);
        assert_eq!(after.comment, Some(text("3")));
        assert_eq!(changes.apply(None).phone, None);
    }
}
