//! A webhook's target: an absolute `http` or `https` URL with a host and no credentials.

use std::net::IpAddr;

/// Why a webhook URL was refused (the HTTP adapter words it for the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not an absolute http(s) URL with a host.
    #[error("not an absolute http or https URL with a host: {0}")]
    Malformed(String),
    /// `user:pass@host`: secrets in a URL end up in logs, so they are refused.
    #[error("credentials (user:password@) in a URL")]
    Credentials,
}

/// Where a URL points: an address written in it, or a name to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IP address literal (`127.0.0.1`, `[::1]`).
    Ip(IpAddr),
    /// A DNS name, lower-cased.
    Name(String),
}

/// A valid webhook URL, kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The longest URL accepted.
    pub const MAX_LEN: usize = 2048;

    /// Validates a URL.
    ///
    /// # Errors
    /// [`UrlError`] for another scheme, a missing or malformed host or port, whitespace, or
    /// credentials.
    pub fn new(text: &str) -> Result<Self, UrlError> {
        let text = text.trim();
        parts(text)?;
        Ok(Self(text.to_owned()))
    }

    /// Rebuilds a stored URL (validated when it was stored).
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// The host the URL points to.
    #[must_use]
    pub fn host(&self) -> Host {
        parts(&self.0).map_or_else(|_| Host::Name(String::new()), |(host, _)| host)
    }

    /// The port a delivery connects to (the scheme's default when none is written).
    #[must_use]
    pub fn port(&self) -> u16 {
        parts(&self.0).map_or(443, |(_, port)| port)
    }
}

crate::values::text_value!(WebhookUrl);

/// The host and port of a URL, or why it is no webhook URL.
fn parts(text: &str) -> Result<(Host, u16), UrlError> {
    let bad = || UrlError::Malformed(text.to_owned());
    if text.is_empty()
        || text.len() > WebhookUrl::MAX_LEN
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(bad()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(UrlError::Credentials);
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']').ok_or_else(bad)?;
        let ip: std::net::Ipv6Addr = inside.parse().map_err(|_| bad())?;
        (Host::Ip(IpAddr::V6(ip)), after.strip_prefix(':'))
    } else {
        let (name, port) = match authority.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        };
        (host_name(name).ok_or_else(bad)?, port)
    };
    let port = match port {
        None => default_port,
        Some(digits) => digits
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(bad)?,
    };
    Ok((host, port))
}

/// An IPv4 literal or a DNS name of letters, digits, hyphens and dots.
fn host_name(name: &str) -> Option<Host> {
    if let Ok(ip) = name.parse::<std::net::Ipv4Addr>() {
        return Some(Host::Ip(IpAddr::V4(ip)));
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    valid.then_some(Host::Name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_with_hosts_ports_and_paths() {
        let url = WebhookUrl::new(" https://Hooks.Example.com:8443/in?x=1 ").unwrap();
        assert_eq!(url.as_str(), "https://Hooks.Example.com:8443/in?x=1");
        assert_eq!(url.host(), Host::Name("hooks.example.com".into()));
        assert_eq!(url.port(), 8443);
        let url = WebhookUrl::new("http://127.0.0.1/hook").unwrap();
        assert_eq!(url.host(), Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(url.port(), 80);
        let url = WebhookUrl::new("https://[::1]:9000").unwrap();
        assert_eq!(url.host(), Host::Ip("::1".parse().unwrap()));
        assert_eq!(url.port(), 9000);
        assert_eq!(
            WebhookUrl::new("http://localhost/").unwrap().host(),
            Host::Name("localhost".into())
        );
    }

    #[test]
    fn refuses_other_schemes_credentials_and_hostless_text() {
        for bad in [
            "",
            "ftp://example.com/",
            "example.com/hook",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://[::1/",
            "https://under_score.com/",
            "javascript:alert(1)",
        ] {
            assert!(
                matches!(WebhookUrl::new(bad), Err(UrlError::Malformed(_))),
                "{bad}"
            );
        }
        for bad in ["https://user:pass@example.com/", "http://user@example.com"] {
            assert_eq!(WebhookUrl::new(bad), Err(UrlError::Credentials), "{bad}");
        }
    }
}
