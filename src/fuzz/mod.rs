//! Fuzzing message bodies in both directions (`imspec fuzz`): proptest strategies for bodies,
//! `ext` values, names and hostile payloads (`strategy`), the case model (`case`), one live server +
//! driver session that runs cases (`live`) against invariants (`check`), what the server saw of
//! bob when a callback is missing (`evidence`), the campaign with
//! shrinking and reruns of what it found (`campaign`), shrunk findings written as scenario files (`regression`), a
//! fuzzer of the server's own frame decoding path (`frames`), and the bodies and seed corpora
//! of the `cargo fuzz` targets under `fuzz/` (`targets`, `seeds`; `typed` with the feature
//! `arbitrary`).
//!
//! Uses the server, driver and runner through their public APIs; must not change how a
//! scenario runs.

pub mod campaign;
pub mod case;
pub mod check;
pub mod cli;
pub mod evidence;
pub mod frames;
pub mod live;
pub mod regression;
pub mod seeds;
pub mod strategy;
pub mod targets;
#[cfg(feature = "arbitrary")]
pub mod typed;

pub use campaign::{Finding, Options, Report, Reproduction};
pub use strategy::Mode;

use std::path::PathBuf;

/// Why a campaign could not run.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The fake server would not start.
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    /// The driver would not start or log in.
    #[error("the driver could not be set up: {0}")]
    Driver(#[from] crate::driver::DriverFailure),
    /// Setting up or running the campaign failed.
    #[error("{0}")]
    Setup(String),
    /// A finding cannot be written as a scenario file.
    #[error("cannot be written as a scenario: {0}")]
    NotExpressible(String),
    /// A TOML value could not be written.
    #[error("cannot write TOML: {0}")]
    Toml(String),
    /// A file could not be written.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, #[source] std::io::Error),
}
