//! Websites: an http(s) URL with a host. `www.example.com` is accepted and kept as given.

/// Why a website was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The website {0} is not a valid http(s) URL.")]
pub struct WebsiteError(pub String);

/// A website address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Website(String);

impl Website {
    /// Validates a website.
    ///
    /// # Errors
    /// [`WebsiteError`] when the scheme is not http(s), the host is missing or malformed.
    pub fn new(text: &str) -> Result<Self, WebsiteError> {
        let text = text.trim();
        let bad = || WebsiteError(text.to_owned());
        if text.len() > 2048 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let lower = text.to_ascii_lowercase();
        let rest = match lower.split_once("://") {
            Some(("http" | "https", rest)) => rest,
            Some(_) => return Err(bad()),
            None => lower.as_str(),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        let host_ok = host.contains('.')
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
        if !host_ok {
            return Err(bad());
        }
        Ok(Self(text.to_owned()))
    }
}

crate::values::text_value!(Website);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_urls_and_bare_hosts() {
        for ok in [
            "https://example.com",
            "http://shop.example.fr/path?q=1",
            "www.example.com",
        ] {
            assert!(Website::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_other_schemes_and_hostless_text() {
        for bad in [
            "",
            "ftp://example.com",
            "javascript:alert(1)",
            "https://",
            "not a url",
            "https://localhost",
        ] {
            assert!(Website::new(bad).is_err(), "{bad}");
        }
    }
}
