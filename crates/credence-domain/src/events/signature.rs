//! The `Credence-Signature` header of a webhook delivery: `t=<unix seconds>,v1=<hex>`, where
//! the hex is HMAC-SHA256 of `"<t>.<raw body>"` under the endpoint's secret. During a secret
//! rotation a second `v1=` follows, signed with the previous secret, so a receiver that still
//! holds the old one keeps verifying until it switches.
//!
//! The timestamp is signed too, so a receiver can refuse replays of old deliveries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "Credence-Signature";

/// The signature of `body` sent at `timestamp` (unix seconds), as lowercase hex.
#[must_use]
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// The header's value: the timestamp, then one `v1=` per secret, newest first.
#[must_use]
pub fn header(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&sign(secret, timestamp, body));
    }
    value
}

/// Whether `header` carries a valid `v1` signature of `body` under `secret` (what a receiver
/// checks; the tests' receiver uses it).
#[must_use]
pub fn verifies(header: &str, secret: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let expected = sign(secret, timestamp, body);
    candidates
        .iter()
        .any(|c| constant_time_eq(c.as_bytes(), expected.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_matches_the_published_hmac_sha256_vector() {
        // RFC 4231, test case 2: the MAC underneath the signature.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // And the signature is that MAC over "<t>.<body>".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"12.{}");
        assert_eq!(sign("Jefe", 12, b"{}"), hex(&mac.finalize().into_bytes()));
        // The same value as Python's `hmac` computes (the receiver example in events.md).
        assert_eq!(
            sign("Jefe", 12, b"{}"),
            "920d401f4879de198b71e775f802db6e3364de1e84bd18ca56903b6593a32642"
        );
    }

    #[test]
    fn a_receiver_verifies_with_either_secret_during_a_rotation() {
        let body = br#"{"id":"evt_1"}"#;
        let value = header(&["whsec_new", "whsec_old"], 1_700_000_000, body);
        assert!(value.starts_with("t=1700000000,v1="));
        assert_eq!(value.matches(",v1=").count(), 2);
        assert!(verifies(&value, "whsec_new", body));
        assert!(verifies(&value, "whsec_old", body));
        assert!(!verifies(&value, "whsec_other", body));
        assert!(!verifies(&value, "whsec_new", br#"{"id":"evt_2"}"#));
        let replayed = value.replacen("t=1700000000", "t=1700000001", 1);
        assert!(
            !verifies(&replayed, "whsec_new", body),
            "the time is signed too"
        );
    }
}
