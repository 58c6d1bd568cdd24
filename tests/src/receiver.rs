//! A webhook receiver for the tests: a plain HTTP/1.1 server on 127.0.0.1 that records every
//! delivery (headers, body, when it came) and answers as the test's plan says: a status, or
//! no answer at all (to stand for a receiver that hangs, or a replica dying mid-delivery).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// This status, with an empty body.
    Status(u16),
    /// Nothing: the connection is held open until the sender gives up (or 60 s pass).
    Hang,
}

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `Credence-Event-Id` header.
    pub event_id: String,
    /// The `Credence-Event-Type` header.
    pub event_type: String,
    /// The `Credence-Signature` header.
    pub signature: String,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// How it was answered.
    pub answer: Answer,
}

impl Received {
    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

type Plan = dyn Fn(&str, usize) -> Answer + Send + Sync;

/// A running receiver; it stops accepting when dropped.
pub struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Starts a receiver answering each delivery by `plan(event id, how many deliveries of
    /// that event came before)`.
    ///
    /// # Panics
    /// When no port can be bound.
    pub fn start(plan: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the receiver");
        let port = listener.local_addr().expect("an address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let plan: Arc<Plan> = Arc::new(plan);
        let shared = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (received, plan) = (Arc::clone(&shared), Arc::clone(&plan));
                std::thread::spawn(move || serve(stream, &received, plan.as_ref()));
            }
        });
        Self { port, received }
    }

    /// The URL deliveries are posted to.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Everything received so far, in arrival order.
    ///
    /// # Panics
    /// When a receiving thread panicked.
    #[must_use]
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("the record").clone()
    }

    /// Waits until `done` holds for what was received, up to `limit`; returns it.
    ///
    /// # Panics
    /// When `limit` passes first.
    pub async fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver waited {limit:?} in vain; it got: {:?}",
                received
                    .iter()
                    .map(|r| (&r.event_id, r.answer))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Reads one request, records it, answers as planned and closes the connection.
fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>, plan: &Plan) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut headers = HashMap::new();
    let mut line = String::new();
    // The request line, then the headers up to the blank line.
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
    let event_id = header("credence-event-id");
    let answer = {
        let mut all = received.lock().expect("the record");
        let before = all.iter().filter(|r| r.event_id == event_id).count();
        let answer = plan(&event_id, before);
        all.push(Received {
            event_id,
            event_type: header("credence-event-type"),
            signature: header("credence-signature"),
            content_type: header("content-type"),
            body,
            at: Instant::now(),
            answer,
        });
        answer
    };
    let mut stream = stream;
    match answer {
        Answer::Status(status) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Planned\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.flush();
        }
        Answer::Hang => {
            // Holds the connection until the sender closes it (a read of 0) or time passes.
            let mut sink = [0_u8; 64];
            while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}
