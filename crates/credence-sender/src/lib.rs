//! Outbound HTTP for webhooks: [`HttpSender`], the adapter behind the domain's
//! [`WebhookSender`] port.
//!
//! It lives in its own crate so that neither the domain nor the store ever sees an HTTP client
//! (and so that reqwest and its TLS stack are built only by the binaries that post). It makes
//! one `POST` per delivery and reports what came back; judging the answer, retrying and
//! disabling endpoints are the dispatcher's business.
//!
//! The choices, each made so a receiver cannot hurt the sender:
//!
//! - One [`reqwest::Client`] for every send: its connection pool keeps connections to busy
//!   receivers open between deliveries.
//! - A total time-out per delivery (connecting, sending, and reading the answer), and a
//!   shorter one for connecting, so a dead host fails fast.
//! - Redirects are not followed: a `3xx` is reported as it is and counts as a failure, as
//!   Stripe does. Following one would post the event to a URL nobody registered (and past the
//!   guard that checked the registered one).
//! - At most [`RESPONSE_CAP`] bytes of the answer are read, one chunk at a time, then
//!   dropped: nobody looks at the body, but reading a short one to its end lets the connection
//!   go back to the pool, while a huge or endless one is cut off (its connection closed).
//! - TLS is rustls, with certificates checked against the platform's roots: no system
//!   OpenSSL is needed to build or run it.
//! - An address guard, unless the operator allows private networks: a URL is checked when
//!   its endpoint is saved, but the name's DNS records can change afterwards (DNS
//!   rebinding), so the check that counts is made on the address each delivery connects to.
//!   Names are resolved by a resolver of the sender's own, which drops every loopback,
//!   private, link-local or unspecified address (`is_private_network`) and fails when none
//!   is left; a URL whose host is an address bypasses DNS, so [`HttpSender::send`] refuses a
//!   private one before connecting. Both report a [`SendOutcome::NoAnswer`] naming the
//!   reason.

#![forbid(unsafe_code)]

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use credence_domain::webhooks::{
    DeliveryRequest, Host, SendOutcome, WebhookSender, is_private_network,
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, Url, header, redirect};

/// The most of an answer's body read back (64 KiB); the rest is never read.
pub const RESPONSE_CAP: usize = 64 * 1024;

/// The longest a connection may take to open, when the total time-out is longer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The `User-Agent` every delivery carries.
pub const USER_AGENT: &str = concat!("Credence-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The longest error text reported for a delivery without an answer.
const MAX_ERROR_LEN: usize = 300;

/// Why an [`HttpSender`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// A zero time-out would fail every delivery.
    #[error("the webhook time-out must be longer than zero")]
    ZeroTimeout,
    /// The HTTP client could not be set up (its TLS configuration, typically).
    #[error("could not build the webhook HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Posts deliveries over HTTP(S) with one pooled client.
#[derive(Debug, Clone)]
pub struct HttpSender {
    client: Client,
    timeout: Duration,
    connect_timeout: Duration,
    /// Whether deliveries may reach private networks; when not, the client resolves names
    /// with [`PublicOnly`] and [`HttpSender::send`] refuses private address literals.
    allow_private_networks: bool,
}

impl HttpSender {
    /// A sender whose deliveries each take at most `timeout`, answer included; connecting
    /// takes at most `timeout` or [`CONNECT_TIMEOUT`], whichever is shorter.
    ///
    /// Unless `allow_private_networks`, no delivery connects to a loopback, private,
    /// link-local or unspecified address, whatever the URL's name resolves to at the time.
    ///
    /// # Errors
    /// [`SenderError::ZeroTimeout`] for a zero `timeout`; [`SenderError::Client`] when the
    /// client cannot be built.
    pub fn new(timeout: Duration, allow_private_networks: bool) -> Result<Self, SenderError> {
        if timeout.is_zero() {
            return Err(SenderError::ZeroTimeout);
        }
        let connect_timeout = timeout.min(CONNECT_TIMEOUT);
        let mut builder = Client::builder()
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .redirect(redirect::Policy::none())
            .user_agent(USER_AGENT);
        if !allow_private_networks {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().map_err(SenderError::Client)?;
        Ok(Self {
            client,
            timeout,
            connect_timeout,
            allow_private_networks,
        })
    }

    /// The private address `request` is written to reach, if it names one: such a URL is
    /// never resolved, so [`PublicOnly`] cannot refuse it. Both readings of the URL are
    /// checked: the domain's, and reqwest's, which is the one connected to and also reads
    /// shorthand such as `http://2130706433/` or `http://127.1/` as an address.
    fn private_literal(&self, request: &DeliveryRequest) -> Option<IpAddr> {
        if self.allow_private_networks {
            return None;
        }
        let domain = match request.url.host() {
            Host::Ip(ip) => Some(ip),
            Host::Name(_) => None,
        };
        let connected = Url::parse(request.url.as_str()).ok().and_then(|url| {
            url.host_str()
                .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|host| host.parse::<IpAddr>().ok())
        });
        [domain, connected]
            .into_iter()
            .flatten()
            .find(|ip| is_private_network(*ip))
    }

    /// The words for a delivery that got no answer.
    fn describe(&self, error: &reqwest::Error) -> String {
        let text = if error.is_connect() && error.is_timeout() {
            format!(
                "could not connect: timed out after {}",
                seconds(self.connect_timeout)
            )
        } else if error.is_timeout() {
            format!("timed out after {}", seconds(self.timeout))
        } else if error.is_connect() {
            format!("could not connect: {}", innermost_cause(error))
        } else {
            format!("request failed: {}", innermost_cause(error))
        };
        truncate(text, MAX_ERROR_LEN)
    }
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn send(&self, request: &DeliveryRequest) -> SendOutcome {
        if let Some(ip) = self.private_literal(request) {
            return SendOutcome::NoAnswer(format!(
                "refused: the URL points to a private address ({ip})"
            ));
        }
        let mut builder = self
            .client
            .post(request.url.as_str())
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut response = match builder.body(request.body.clone()).send().await {
            Ok(response) => response,
            Err(error) => return SendOutcome::NoAnswer(self.describe(&error)),
        };
        let status = response.status().as_u16();
        // The status is the answer; the body is read only so a short one frees the connection
        // for the pool. Each chunk is dropped as soon as it is counted, and reading stops at
        // the cap, so at most one chunk is held at a time. A failure here (a time-out, a reset)
        // changes nothing: the receiver has answered.
        let mut read = 0usize;
        while read < RESPONSE_CAP {
            match response.chunk().await {
                Ok(Some(chunk)) => read = read.saturating_add(chunk.len()),
                Ok(None) | Err(_) => break,
            }
        }
        SendOutcome::Answered(status)
    }
}

/// The resolver of the address guard: the system's (`getaddrinfo`, through
/// [`tokio::net::lookup_host`]) without the addresses a delivery may not reach.
#[derive(Debug, Clone, Copy)]
struct PublicOnly;

/// Why [`PublicOnly`] resolved a name to nothing; its words end the delivery's error text.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    /// Every address of the name is private.
    #[error("{0} resolves only to private addresses")]
    PrivateOnly(String),
    /// The name has no address at all.
    #[error("{0} resolves to no address")]
    NoAddress(String),
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(Unreachable::NoAddress(host).into());
            }
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| !is_private_network(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(Unreachable::PrivateOnly(host).into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// A duration as the error texts write it: `1 s`, `1.5 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// The deepest cause of `error` that says something: the outer layers only repeat "error
/// sending request for url (...)" and "client error (Connect)", and the URL may carry a
/// token the endpoint's owner put in it.
fn innermost_cause(error: &reqwest::Error) -> String {
    let mut text = None;
    let mut next = error.source();
    while let Some(cause) = next {
        let shown = cause.to_string();
        if !shown.trim().is_empty() {
            text = Some(shown);
        }
        next = cause.source();
    }
    // No cause says anything: reqwest's own words, without the URL.
    text.unwrap_or_else(|| {
        let mut outer = error.to_string();
        if let Some(at) = outer.find(" for url (") {
            outer.truncate(at);
        }
        outer
    })
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_without_a_needless_fraction() {
        assert_eq!(seconds(Duration::from_secs(1)), "1 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo".to_owned(), 2), "h");
        assert_eq!(truncate("short".to_owned(), 300), "short");
    }

    #[test]
    fn a_zero_time_out_is_refused() {
        assert!(matches!(
            HttpSender::new(Duration::ZERO, false),
            Err(SenderError::ZeroTimeout)
        ));
    }
}
