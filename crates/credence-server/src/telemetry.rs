//! Structured logs. Lines go to standard error, so commands that print data (`keys create`)
//! keep a clean standard output. Each request's span carries its `request_id`.
//!
//! Lines are written by a thread of their own ([`LineWriter`]): a request formats its line and
//! hands it over, and the thread writes whatever has gathered in one system call. Writing
//! each line from the request's own worker cost a `write` per request on the thread that
//! also serves the next ones. No line is dropped: when the thread falls behind by
//! [`BACKLOG`] lines, loggers wait for it.

use std::io::Write as _;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Lines formatted but not yet written beyond which loggers wait.
const BACKLOG: usize = 16_384;

/// After writing a batch, the writer rests this long before it looks for the next one, so
/// that under load lines gather into batches and a logger seldom has to wake the thread (a
/// wake-up per line cost more than the line). An idle writer is woken by the next line.
const BATCH_PAUSE: Duration = Duration::from_millis(2);

/// How long [`Flush`] waits for the lines before it at exit.
const FLUSH_WITHIN: Duration = Duration::from_secs(2);

/// Installs the global subscriber once; later calls (tests starting many apps) are no-ops.
/// Keep the returned guard until the process ends: dropping it writes the lines still queued.
pub fn init(format: LogFormat) -> Flush {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = LineWriter::start();
    let flush = Flush(writer.sender.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    // Already installed: keep the first one.
    drop(result);
    flush
}

enum Message {
    Line(Vec<u8>),
    /// Answered once every line sent before it is written.
    Flush(SyncSender<()>),
}

/// Hands formatted lines to the writing thread.
struct LineWriter {
    sender: SyncSender<Message>,
}

impl LineWriter {
    fn start() -> Self {
        let (sender, receiver) = mpsc::sync_channel(BACKLOG);
        let spawned = std::thread::Builder::new()
            .name("credence-log".into())
            .spawn(move || write_lines(&receiver));
        if let Err(error) = spawned {
            // Without the thread, lines would queue until loggers block; say so and go on:
            // the sender below then fails and each line is written in place instead.
            eprintln!("credence: cannot start the log writer ({error}); writing logs in place");
        }
        Self { sender }
    }
}

/// The writing thread: whatever lines have arrived, in one buffered write, then a flush.
fn write_lines(receiver: &Receiver<Message>) {
    // Not locked for good: `eprintln!` elsewhere takes the lock between two writes here.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr());
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        let mut waiting = Vec::new();
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    // Standard error gone: nothing better to do with the line.
                    let _ = out.write_all(&line);
                }
                Message::Flush(done) => waiting.push(done),
            }
            next = receiver.try_recv().ok();
        }
        let _ = out.flush();
        for done in waiting {
            let _ = done.send(());
        }
        std::thread::sleep(BATCH_PAUSE);
    }
}

impl<'a> MakeWriter<'a> for LineWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            buffer: Vec::new(),
            sender: &self.sender,
        }
    }
}

/// One line being formatted; it is handed over when dropped.
struct Line<'a> {
    buffer: Vec<u8>,
    sender: &'a SyncSender<Message>,
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buffer);
        if let Err(mpsc::SendError(Message::Line(line))) = self.sender.send(Message::Line(line)) {
            let _ = std::io::stderr().write_all(&line);
        }
    }
}

/// Writes the queued lines when dropped (at the end of `main`).
#[must_use = "dropping it at once flushes nothing later; keep it until the process ends"]
pub struct Flush(SyncSender<Message>);

impl std::fmt::Debug for Flush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Flush")
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        let (done, written) = mpsc::sync_channel(1);
        if self.0.send(Message::Flush(done)).is_ok() {
            // Past the wait (a stuck standard error), exit anyway.
            let _ = written.recv_timeout(FLUSH_WITHIN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_arrive_whole_and_in_order_and_a_flush_waits_for_them() {
        let (sender, receiver) = mpsc::sync_channel(4);
        let writer = LineWriter { sender };
        for n in 0..3 {
            let mut line = writer.make_writer();
            write!(line, "line ").unwrap();
            writeln!(line, "{n}").unwrap();
        }
        let (done, _written) = mpsc::sync_channel(1);
        writer.sender.send(Message::Flush(done)).unwrap();
        let received: Vec<String> = receiver
            .try_iter()
            .filter_map(|message| match message {
                Message::Line(line) => Some(String::from_utf8(line).unwrap()),
                Message::Flush(_) => None,
            })
            .collect();
        assert_eq!(received, ["line 0\n", "line 1\n", "line 2\n"]);
    }
}
