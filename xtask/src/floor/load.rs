//! The HTTP load client both sides of an HTTP ratio share: closed loop, one keep-alive
//! HTTP/1.1 connection per task with one request in flight on it, for as long as the
//! [`Window`] runs.
//!
//! It sits on hyper's bare connection API (`client::conn::http1`, already in the build
//! through reqwest) rather than on reqwest: no pool, no redirects, no decompression, nothing
//! between the socket and the status but parsing. The client shares two cores with the server
//! under test, and every cycle it spends is one the server does not get.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;

use super::window::{Outcome, Window};

/// One request the load cycles through.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) method: hyper::Method,
    pub(crate) path: String,
    /// The API key, sent as `Authorization: Bearer`.
    pub(crate) key: String,
    /// A JSON body, or none.
    pub(crate) body: Option<Bytes>,
}

impl Template {
    pub(crate) fn request(&self, host: &HeaderValue) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header(HOST, host)
            .header(AUTHORIZATION, format!("Bearer {}", self.key));
        if self.body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        Ok(request.body(Full::new(self.body.clone().unwrap_or_default()))?)
    }
}

/// Starts `connections` tasks on `runtime`, each sending the templates in turn (a shared
/// ticket spreads them over the connections) to `addr` until `window` stops. Join the
/// handles once [`Window::drive`] has returned.
pub(crate) fn start(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    templates: &Arc<Vec<Template>>,
    connections: usize,
    window: &Arc<Window>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..connections)
        .map(|_| {
            let (templates, window) = (Arc::clone(templates), Arc::clone(window));
            runtime.spawn(async move {
                while window.running() {
                    if connection(addr, &templates, &window).await.is_err() {
                        window.record(Outcome::Failed);
                        // A refused connection fails at once: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            })
        })
        .collect()
}

/// One connection's life: requests one after the other until the window stops, or until
/// the connection fails (the caller counts that and opens another).
async fn connection(
    addr: SocketAddr,
    templates: &[Template],
    window: &Window,
) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The driver does the socket's reading and writing; it ends when `sender` is dropped.
    tokio::spawn(driver);
    let host = HeaderValue::from_str(&addr.to_string())?;
    while window.running() {
        let template = templates
            .get(window.ticket() % templates.len().max(1))
            .context("no request to send")?;
        sender.ready().await?;
        let response = sender.send_request(template.request(&host)?).await?;
        let status = response.status().as_u16();
        // Read the whole body, as a real client would.
        response.into_body().collect().await?;
        window.record(match status {
            200..=299 => Outcome::Done,
            422 => Outcome::Refused,
            other => Outcome::Other(other),
        });
    }
    Ok(())
}
