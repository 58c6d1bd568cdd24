//! The signals that ask the server to stop: SIGTERM (orchestrators, `kill`) and SIGINT
//! (Ctrl-C). Installed before the server starts serving, so a signal that arrives early is
//! still handled gracefully instead of killing the process outright.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Installed handlers for SIGTERM and SIGINT.
#[derive(Debug)]
pub(crate) struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    /// Installs the handlers.
    ///
    /// # Errors
    /// When the operating system refuses them.
    pub(crate) fn install() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next SIGTERM or SIGINT.
    pub(crate) async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}
