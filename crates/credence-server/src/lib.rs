//! The composition root of Credence: configuration, telemetry and wiring. `main.rs` only
//! parses the command line; everything here is a library so end-to-end tests can start the
//! real application in-process.
#![forbid(unsafe_code)]

mod background;
pub mod config;
pub mod demo;
pub mod keys;
pub mod resolver;
pub mod secrets;
mod shutdown;
pub mod startup;
pub mod telemetry;

pub use config::Config;
pub use startup::Application;
