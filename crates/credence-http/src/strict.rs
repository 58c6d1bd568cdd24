//! Strict input: the rules every piece of client text passes before any handler sees it, so
//! that both databases store the same thing and every stored value can be written back as
//! XML.
//!
//! - Text may not hold a character XML 1.0 cannot carry: NUL and the other C0 controls
//!   except tab, newline and carriage return, and U+FFFE and U+FFFF. PostgreSQL refuses NUL
//!   in text (a 500 before this rule) while SQLite stores it, and a stored U+0001 made every
//!   XML list that showed it unparseable. Refused in bodies, paths and query parameters
//!   alike, as `400 invalid_param` naming the field.
//! - Percent-encoding is decoded strictly: `%` must be followed by two hex digits and the
//!   decoded bytes must be UTF-8. The usual decoders keep `%zz` literally and turn bad bytes
//!   into U+FFFD, which silently stores something the client never sent.
//! - A JSON object may not name a member twice, at any depth: serde_json keeps the last one,
//!   so `{"reference":"A","reference":"B"}` meant whatever the parser happened to keep.
//!
//! What is already stored (from before these rules) is made safe on the way out instead:
//! [`xml_safe`] replaces what XML cannot carry with U+FFFD.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::wording::WireError;

use crate::error::ApiError;

/// Whether XML 1.0 can carry `c` (its `Char` production, less the surrogates Rust cannot
/// hold anyway).
#[must_use]
pub(crate) fn xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// The first character of `text` that XML cannot carry, if any.
#[must_use]
pub(crate) fn forbidden_char(text: &str) -> Option<char> {
    text.chars().find(|c| !xml_char(*c))
}

/// `400 invalid_param`: `field` holds `c`.
pub(crate) fn forbidden(field: &str, c: char) -> ApiError {
    ApiError::invalid_param(format!(
        "The field {} holds the character U+{:04X}, which is not allowed.",
        printable(field),
        u32::from(c)
    ))
}

/// Refuses `text` when it holds a character XML cannot carry.
///
/// # Errors
/// `400 invalid_param` naming `field`.
pub(crate) fn check_text(field: &str, text: &str) -> Result<(), ApiError> {
    forbidden_char(text).map_or(Ok(()), |c| Err(forbidden(field, c)))
}

/// `text` with every character XML cannot carry replaced by U+FFFD.
#[must_use]
pub(crate) fn xml_safe(text: &str) -> Cow<'_, str> {
    if forbidden_char(text).is_none() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if xml_char(c) {
                    c
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect(),
    )
}

/// A name as it may appear in an error description: what XML cannot carry is replaced, so
/// the error about a bad name can itself be written as XML.
pub(crate) fn printable(name: &str) -> Cow<'_, str> {
    xml_safe(name)
}

/// Why a percent-encoded string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undecodable {
    /// A `%` not followed by two hex digits; the offending text.
    Escape(String),
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Decodes percent-encoding strictly; in forms and query strings (`plus_is_space`) `+` is a
/// space, in paths it is itself.
///
/// # Errors
/// [`Undecodable`] for a malformed escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(raw: &[u8], plus_is_space: bool) -> Result<String, Undecodable> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'%' => {
                let hex = |at: usize| raw.get(at).and_then(|h| char::from(*h).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(high), Some(low)) => {
                        // Two hex digits: at most 0xFF.
                        bytes.push(u8::try_from(high * 16 + low).unwrap_or(u8::MAX));
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(raw.len());
                        let shown = String::from_utf8_lossy(raw.get(i..end).unwrap_or_default());
                        return Err(Undecodable::Escape(shown.into_owned()));
                    }
                }
            }
            b'+' if plus_is_space => {
                bytes.push(b' ');
                i += 1;
            }
            other => {
                bytes.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| Undecodable::NotUtf8)
}

/// Decodes `application/x-www-form-urlencoded` text (a form body or a query string) into
/// its pairs, in order, strictly: each name and value must decode ([`percent_decode`]) and
/// hold only characters XML can carry. `what` names the kind of pair in errors (`field`,
/// `parameter`).
///
/// # Errors
/// `400 invalid_param` naming the pair.
pub(crate) fn form_pairs(raw: &[u8], what: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = Vec::new();
    for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (
                pair.get(..at).unwrap_or_default(),
                pair.get(at + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let shown = || printable(&String::from_utf8_lossy(raw_name)).into_owned();
        let name = percent_decode(raw_name, true).map_err(|e| undecodable(what, &shown(), &e))?;
        let value = percent_decode(raw_value, true).map_err(|e| undecodable(what, &name, &e))?;
        if let Some(c) = forbidden_char(&name) {
            return Err(forbidden_in(what, &name, c));
        }
        if let Some(c) = forbidden_char(&value) {
            return Err(forbidden_in(what, &name, c));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn forbidden_in(what: &str, name: &str, c: char) -> ApiError {
    ApiError::invalid_param(format!(
        "The {what} {} holds the character U+{:04X}, which is not allowed.",
        printable(name),
        u32::from(c)
    ))
}

fn undecodable(what: &str, name: &str, why: &Undecodable) -> ApiError {
    let name = printable(name);
    ApiError::invalid_param(match why {
        Undecodable::Escape(text) => format!(
            "The {what} {name} holds a malformed percent-encoding ({}).",
            printable(text)
        ),
        Undecodable::NotUtf8 => format!("The {what} {name} is not UTF-8 text."),
    })
}

/// Parses a JSON document strictly: no object names a member twice and no string (member
/// names included) holds a character XML cannot carry.
///
/// # Errors
/// `400 invalid_param`: for a document that does not parse, or naming the member (as a path,
/// `product.attributes[0].code`) that breaks a rule.
pub(crate) fn json(bytes: &[u8]) -> Result<Value, ApiError> {
    strict_json(bytes, "").map_err(|why| match why {
        JsonError::Syntax(e) => {
            ApiError::invalid_param(format!("The request body is not valid JSON: {e}."))
        }
        JsonError::Flaw(flaw) => ApiError::invalid_param(flaw.to_string()),
    })
}

/// Parses JSON text found inside the field `field` (a form's `contacts`) by the rules of
/// [`json`]; `None` when it is not JSON at all, so the caller decides what else it may be.
///
/// # Errors
/// `invalid_param` naming `field` for JSON that breaks a rule.
pub(crate) fn json_text(field: &'static str, text: &str) -> Result<Option<Value>, WireError> {
    match strict_json(text.as_bytes(), field) {
        Ok(value) => Ok(Some(value)),
        Err(JsonError::Syntax(_)) => Ok(None),
        Err(JsonError::Flaw(flaw)) => Err(WireError::invalid(field, flaw.to_string())),
    }
}

enum JsonError {
    Syntax(serde_json::Error),
    Flaw(Flaw),
}

/// A first pass finds the first [`Flaw`] without building anything; only a flawless
/// document is then parsed into a [`Value`].
fn strict_json(bytes: &[u8], root: &str) -> Result<Value, JsonError> {
    let mut scanner = serde_json::Deserializer::from_slice(bytes);
    let flaw = Scan {
        path: root.to_owned(),
    }
    .deserialize(&mut scanner)
    .map_err(JsonError::Syntax)?;
    scanner.end().map_err(JsonError::Syntax)?;
    match flaw {
        Some(flaw) => Err(JsonError::Flaw(flaw)),
        None => serde_json::from_slice(bytes).map_err(JsonError::Syntax),
    }
}

/// The first rule a JSON document breaks.
enum Flaw {
    /// A member named twice in one object, by its path.
    Duplicate(String),
    /// A string holding a character XML cannot carry, by its path.
    Forbidden { path: String, c: char },
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate(path) => write!(
                f,
                "The key {} appears more than once in the same JSON object.",
                printable(path)
            ),
            Self::Forbidden { path, c } => write!(
                f,
                "The field {} holds the character U+{:04X}, which is not allowed.",
                printable(path),
                u32::from(*c)
            ),
        }
    }
}

/// A pass over a JSON document that builds nothing and reports its first [`Flaw`].
struct Scan {
    /// Where in the document the value sits (empty at the top).
    path: String,
}

impl Scan {
    fn member(&self, name: &str) -> Self {
        Self {
            path: if self.path.is_empty() {
                name.to_owned()
            } else {
                format!("{}.{name}", self.path)
            },
        }
    }

    fn text(self, text: &str) -> Option<Flaw> {
        forbidden_char(text).map(|c| Flaw::Forbidden { path: self.path, c })
    }
}

impl<'de> DeserializeSeed<'de> for Scan {
    type Value = Option<Flaw>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan {
    type Value = Option<Flaw>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(self.text(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut flaw = None;
        let mut index = 0_usize;
        while let Some(found) = seq.next_element_seed(Self {
            path: format!("{}[{index}]", self.path),
        })? {
            flaw = flaw.or(found);
            index += 1;
        }
        Ok(flaw)
    }

    // With `arbitrary_precision` a number also arrives as a one-member map whose value is
    // its literal: a digit string, which breaks no rule.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut flaw = None;
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            let member = self.member(&name);
            if let Some(c) = forbidden_char(&name) {
                flaw = flaw.or(Some(Flaw::Forbidden {
                    path: member.path.clone(),
                    c,
                }));
            }
            if !seen.insert(name) {
                flaw = flaw.or(Some(Flaw::Duplicate(member.path.clone())));
            }
            let found = map.next_value_seed(member)?;
            flaw = flaw.or(found);
        }
        Ok(flaw)
    }
}

/// Refuses a request whose path is not strictly percent-encoded UTF-8 or holds a character
/// XML cannot carry (`/customers/reference/a%00b`), before routing hands a segment to a
/// handler: `400 invalid_param` naming the segment.
pub(crate) async fn strict_path(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Err(error) = check_path(req.path()) {
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(req.into_response(response));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The rule of [`strict_path`].
///
/// # Errors
/// `400 invalid_param` naming the first bad segment.
pub(crate) fn check_path(path: &str) -> Result<(), ApiError> {
    for segment in path.split('/') {
        let text = percent_decode(segment.as_bytes(), false)
            .map_err(|e| undecodable("path segment", segment, &e))?;
        if let Some(c) = forbidden_char(&text) {
            return Err(forbidden_in("path segment", segment, c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(error: &ApiError) -> &str {
        &error.body().error_description
    }

    #[test]
    fn xml_chars_are_those_of_xml_1_0() {
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            'é',
            '\u{7f}',
            '\u{fffd}',
            '\u{10000}',
        ] {
            assert!(xml_char(c), "{c:?}");
        }
        for c in [
            '\0', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ] {
            assert!(!xml_char(c), "{c:?}");
        }
        assert_eq!(xml_safe("a\u{1}b\u{fffe}"), "a\u{fffd}b\u{fffd}");
        assert!(matches!(xml_safe("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn percent_decoding_is_strict() {
        assert_eq!(percent_decode(b"a+b%20c%C3%A9", true).unwrap(), "a b cé");
        assert_eq!(percent_decode(b"a+b", false).unwrap(), "a+b");
        assert_eq!(
            percent_decode(b"x%zz", true),
            Err(Undecodable::Escape("%zz".into()))
        );
        assert_eq!(
            percent_decode(b"x%", true),
            Err(Undecodable::Escape("%".into()))
        );
        assert_eq!(
            percent_decode(b"x%4", true),
            Err(Undecodable::Escape("%4".into()))
        );
        assert_eq!(percent_decode(b"%FF", true), Err(Undecodable::NotUtf8));
    }

    #[test]
    fn form_pairs_name_the_field() {
        assert_eq!(
            form_pairs(b"a=1&&b&c=x+y", "field").unwrap(),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new()),
                ("c".to_owned(), "x y".to_owned())
            ]
        );
        let error = form_pairs(b"name=%zz", "field").unwrap_err();
        assert_eq!(
            description(&error),
            "The field name holds a malformed percent-encoding (%zz)."
        );
        let error = form_pairs(b"name=%FF%FE", "field").unwrap_err();
        assert_eq!(description(&error), "The field name is not UTF-8 text.");
        let error = form_pairs(b"name=a%00b", "parameter").unwrap_err();
        assert_eq!(
            description(&error),
            "The parameter name holds the character U+0000, which is not allowed."
        );
        let error = form_pairs(b"na%01me=a", "field").unwrap_err();
        assert_eq!(
            description(&error),
            "The field na\u{fffd}me holds the character U+0001, which is not allowed."
        );
    }

    #[test]
    fn json_refuses_duplicate_keys_at_any_depth() {
        let error = json(br#"{"reference":"A","reference":"B"}"#).unwrap_err();
        assert_eq!(error.body().error, "invalid_param");
        assert_eq!(
            description(&error),
            "The key reference appears more than once in the same JSON object."
        );
        let error = json(br#"{"product":{"attributes":[{"code":"a"},{"code":"b","code":"c"}]}}"#)
            .unwrap_err();
        assert_eq!(
            description(&error),
            "The key product.attributes[1].code appears more than once in the same JSON object."
        );
        // The same name in sibling objects is no duplicate; escapes name the same member.
        assert!(json(br#"{"a":{"x":1},"b":{"x":1.50}}"#).is_ok());
        assert!(json(br#"{"a":1,"\u0061":2}"#).is_err());
        // Numbers keep their literal.
        assert_eq!(
            json(br#"{"n":20000.00}"#).unwrap()["n"].to_string(),
            "20000.00"
        );
    }

    #[test]
    fn json_refuses_characters_xml_cannot_carry() {
        let error = json(br#"{"name":"a\u0000b"}"#).unwrap_err();
        assert_eq!(
            description(&error),
            "The field name holds the character U+0000, which is not allowed."
        );
        let error = json(br#"{"contacts":[{"name":"\u001b[31m"}]}"#).unwrap_err();
        assert_eq!(
            description(&error),
            "The field contacts[0].name holds the character U+001B, which is not allowed."
        );
        assert!(json("{\"name\":\"\u{fffe}\"}".as_bytes()).is_err());
        assert!(json(br#"{"a\u0001":1}"#).is_err());
        assert!(json(b"{\"name\":\"tab\\tnewline\\n\"}").is_ok());
        assert!(json(b"{} x").is_err());
        assert!(json_text("contacts", "not json").unwrap().is_none());
        let error: ApiError = json_text("contacts", r#"[{"a":1,"a":2}]"#)
            .unwrap_err()
            .into();
        assert_eq!(
            description(&error),
            "The key contacts[0].a appears more than once in the same JSON object."
        );
    }

    #[test]
    fn paths_are_strict() {
        assert!(check_path("/api/v1.0/customers/reference/a%20b").is_ok());
        assert!(check_path("/api/v1.0/customers/reference/a+b").is_ok());
        assert_eq!(
            description(&check_path("/api/v1.0/customers/reference/a%00b").unwrap_err()),
            "The path segment a%00b holds the character U+0000, which is not allowed."
        );
        assert!(check_path("/api/v1.0/customers/reference/a%zz").is_err());
        assert!(check_path("/api/v1.0/customers/reference/%C3").is_err());
    }
}
