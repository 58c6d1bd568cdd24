//! Entity tags (`ETag`) and the conditional headers that compare them: `If-None-Match` on a
//! read (`304 Not Modified` while the client's copy is current) and `If-Match` on a write
//! (`412 precondition_failed` once the resource has changed).
//!
//! A tag is a digest of the answer's body as Credence builds it, before it is written as JSON
//! or XML: it changes exactly when anything the answer shows changes (a balance, a document,
//! the name of a parent), whoever changed it, and two replicas give the same tag for the same
//! resource without sharing anything. It does not depend on the format, so a tag read as JSON
//! also conditions a write sent with XML in mind.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};
use base64::Engine as _;
use credence_domain::ports::Precondition;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One tag, quoted as it is sent (`"3q2-7w..."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityTag(String);

impl EntityTag {
    /// The tag of an answer's body.
    pub(crate) fn of(body: &Value) -> Self {
        // Writing a `Value` to bytes cannot fail; an empty digest input would still be a tag.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        // 128 bits: collisions are out of reach, and the tag stays short.
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
        Self(format!("\"{text}\""))
    }

    /// As a header value.
    pub(crate) fn header(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.0).ok()
    }
}

/// What a conditional header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// `*`: any current representation.
    Any,
    /// Any of these tags, as sent (weak ones keep their `W/`).
    Tags(Vec<String>),
}

impl Condition {
    /// The request's `If-Match`, if it sent one.
    pub(crate) fn if_match(req: &HttpRequest) -> Option<Self> {
        Self::read(req, &header::IF_MATCH)
    }

    /// The request's `If-None-Match`, if it sent one.
    pub(crate) fn if_none_match(req: &HttpRequest) -> Option<Self> {
        Self::read(req, &header::IF_NONE_MATCH)
    }

    /// Whether `If-Match` holds for `tag`: strong comparison, so a weak tag never matches.
    pub(crate) fn matches_strongly(&self, tag: &EntityTag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.contains(&tag.0),
        }
    }

    /// Whether `If-None-Match` finds `tag` among its tags: weak comparison, `W/` ignored.
    pub(crate) fn matches_weakly(&self, tag: &EntityTag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags
                .iter()
                .any(|sent| sent.strip_prefix("W/").unwrap_or(sent) == tag.0),
        }
    }

    /// Every instance of the header, its comma-separated tags together. A header with nothing
    /// usable in it (blank, or not text) is a list of no tags: it never matches.
    fn read(req: &HttpRequest, name: &header::HeaderName) -> Option<Self> {
        let mut tags = Vec::new();
        let mut present = false;
        for value in req.headers().get_all(name) {
            present = true;
            let Ok(text) = value.to_str() else { continue };
            for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                if tag == "*" {
                    return Some(Self::Any);
                }
                tags.push(tag.to_owned());
            }
        }
        present.then_some(Self::Tags(tags))
    }
}

/// The request's `If-Match` as a condition on the stored resource, which `tag_of` shows as the
/// client would have read it: the write goes ahead while the stored resource has one of the
/// tags (`*`: while it exists). A write that would create the resource (`creates`) fails the
/// condition when there is none; the others then go ahead and answer as they would without
/// the header (`404`). Without the header, no condition. The store checks it in the write's
/// own transaction, so of two writers holding one tag exactly one gets through.
pub(crate) fn if_match<T: 'static>(
    req: &HttpRequest,
    creates: bool,
    tag_of: fn(&T) -> Option<EntityTag>,
) -> Precondition<T> {
    let Some(condition) = Condition::if_match(req) else {
        return Precondition::none();
    };
    Precondition::new(move |current: Option<&T>| match current {
        None => !creates,
        Some(current) => tag_of(current).is_some_and(|tag| condition.matches_strongly(&tag)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn tag() -> EntityTag {
        EntityTag::of(&serde_json::json!({"id": 1, "balance": "10.00"}))
    }

    #[test]
    fn a_tag_follows_the_body() {
        assert_eq!(tag(), tag());
        assert_ne!(
            tag(),
            EntityTag::of(&serde_json::json!({"id": 1, "balance": "10.01"}))
        );
        assert!(tag().0.starts_with('"') && tag().0.ends_with('"'));
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        let current = tag();
        let weak = format!("W/{}", current.0);
        let req = TestRequest::default()
            .insert_header((header::IF_MATCH, format!("\"other\", {weak}")))
            .insert_header((header::IF_NONE_MATCH, weak.clone()))
            .to_http_request();
        let if_match = Condition::if_match(&req).unwrap();
        assert!(
            !if_match.matches_strongly(&current),
            "a weak tag never matches If-Match"
        );
        assert!(
            Condition::if_none_match(&req)
                .unwrap()
                .matches_weakly(&current)
        );

        let req = TestRequest::default()
            .insert_header((header::IF_MATCH, format!("\"other\", {}", current.0)))
            .to_http_request();
        assert!(
            Condition::if_match(&req)
                .unwrap()
                .matches_strongly(&current)
        );
    }

    #[test]
    fn star_matches_anything_and_absence_is_no_condition() {
        let req = TestRequest::default()
            .insert_header((header::IF_MATCH, "*"))
            .to_http_request();
        assert_eq!(Condition::if_match(&req), Some(Condition::Any));
        assert_eq!(Condition::if_none_match(&req), None);
        let blank = TestRequest::default()
            .insert_header((header::IF_MATCH, " "))
            .to_http_request();
        assert!(
            !Condition::if_match(&blank)
                .unwrap()
                .matches_strongly(&tag())
        );
    }

    /// The stored row of [`if_match`]'s tests: its tag is the tag of its JSON.
    fn tag_of(row: &serde_json::Value) -> Option<EntityTag> {
        Some(EntityTag::of(row))
    }

    #[test]
    fn if_match_becomes_a_precondition_on_the_stored_row() {
        let row = serde_json::json!({"id": 1, "balance": "10.00"});
        let other = serde_json::json!({"id": 1, "balance": "10.01"});
        let plain = TestRequest::default().to_http_request();
        let none = if_match(&plain, true, tag_of);
        assert!(!none.is_set() && none.holds(None) && none.holds(Some(&row)));

        let tagged = TestRequest::default()
            .insert_header((header::IF_MATCH, tag().0))
            .to_http_request();
        let replaces = if_match(&tagged, false, tag_of);
        assert!(replaces.holds(Some(&row)));
        assert!(!replaces.holds(Some(&other)), "the row changed");
        assert!(
            replaces.holds(None),
            "a missing row answers as without the header"
        );
        assert!(
            !if_match(&tagged, true, tag_of).holds(None),
            "never creates"
        );

        let star = TestRequest::default()
            .insert_header((header::IF_MATCH, "*"))
            .to_http_request();
        assert!(if_match(&star, true, tag_of).holds(Some(&other)));
        assert!(!if_match(&star, true, tag_of).holds(None));
    }
}
