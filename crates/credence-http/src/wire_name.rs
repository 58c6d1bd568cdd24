//! A field's wire name made from its Rust name at compile time (`tax_number` →
//! `taxNumber`): the rule serde's `rename_all = "camelCase"` applies to the same structs' OpenAPI
//! schemas, so a field listed once (the customer's plain texts) is read by the name its schema
//! publishes, and a wire name is never written by hand beside it.

/// How many bytes `snake`'s camelCase form has.
pub(crate) const fn camel_len(snake: &str) -> usize {
    let bytes = snake.as_bytes();
    let (mut i, mut len) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'_' {
            len += 1;
        }
        i += 1;
    }
    len
}

/// `snake` in camelCase, in exactly `N` bytes ([`camel_len`]).
pub(crate) const fn camel<const N: usize>(snake: &str) -> [u8; N] {
    let bytes = snake.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut at, mut upper) = (0, 0, false);
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'_' {
            upper = true;
        } else {
            out[at] = if upper {
                byte.to_ascii_uppercase()
            } else {
                byte
            };
            at += 1;
            upper = false;
        }
        i += 1;
    }
    out
}

/// The wire name of a Rust field name, as a `&'static str` made at compile time.
macro_rules! wire_name {
    ($field:ident) => {{
        const SNAKE: &str = stringify!($field);
        const BYTES: [u8; $crate::wire_name::camel_len(SNAKE)] = $crate::wire_name::camel(SNAKE);
        const NAME: &str = match ::std::str::from_utf8(&BYTES) {
            Ok(name) => name,
            Err(_) => panic!("a Rust field name is ASCII"),
        };
        NAME
    }};
}

pub(crate) use wire_name;

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_camel_case_as_serde_makes_them() {
        assert_eq!(wire_name!(tax_number), "taxNumber");
        assert_eq!(
            wire_name!(company_registration_number),
            "companyRegistrationNumber"
        );
        assert_eq!(wire_name!(reference2), "reference2");
        assert_eq!(wire_name!(fax), "fax");
    }
}
