//! Scenario files: the data form of one conformance case (`scenarios/<area>/<name>.toml`).
//!
//! This module owns the model and its loading and validation; errors name the file, the line
//! and the field. It does not run anything: `runner` does. The format is documented, with an
//! example of every step kind, in `scenarios/README.md`.

mod load;
pub mod template;

pub use load::{LoadError, discover, load_file, load_str};

use crate::wire::Direction;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// One scenario, loaded and validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its path under the scenarios folder without extension: `messages/txt-single`.
    pub id: String,
    /// The file it came from.
    pub path: PathBuf,
    /// What it checks, in one line.
    pub purpose: String,
    /// The line of the message guide or wire fact it checks.
    pub guide: String,
    /// Reference-client fault switches each of which must make this scenario fail.
    pub killed_by: Vec<String>,
    /// The world on the fake server.
    pub world: World,
    /// The default deadline of each step.
    pub step_timeout: Option<Duration>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The area: the first part of the id (`messages` for `messages/txt-single`).
    pub fn area(&self) -> &str {
        self.id.split('/').next().unwrap_or(&self.id)
    }
}

/// The fake server's world for a scenario: users, groups, rooms and refusal rules.
pub use crate::server::WorldSpec as World;

/// The password a user has when the scenario does not set one.
pub const DEFAULT_PASSWORD: &str = "password";
/// The app key when the scenario does not set one.
pub const DEFAULT_APP_KEY: &str = "org#app";

/// One step of a scenario.
#[derive(Debug, Clone)]
pub struct Step {
    /// The 1-based line of the step's `[[step]]` header in the file.
    pub line: usize,
    /// What the step does.
    pub action: Action,
    /// This step's deadline, when it overrides the scenario's.
    pub timeout: Option<Duration>,
    /// A name under which the step's result is kept for `{{name.field}}` in later steps.
    pub save_as: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send a request to the driver and check its reply.
    Request {
        /// The op (`connect`, `send`, ...).
        op: String,
        /// The connection.
        user: Option<String>,
        /// The op's arguments (templates not yet filled).
        args: Value,
        /// What the reply must look like.
        reply: ReplyExpectation,
    },
    /// Wait for an event from the driver.
    Event {
        /// The connection.
        user: String,
        /// The callback's name.
        name: String,
        /// A partial match of its data.
        data: Option<Value>,
    },
    /// Wait for a frame on the wire.
    Frame {
        /// The connection's user.
        user: Option<String>,
        /// Which way.
        direction: Direction,
        /// A partial match of the frame's canonical JSON view.
        matches: Value,
    },
    /// The server delivers a message from a scripted peer.
    Deliver {
        /// The message, with `from`, `to`, `type`, `chatType` and the body fields.
        message: Value,
    },
    /// Advance the server's virtual clock.
    Advance {
        /// By how much.
        by: Duration,
    },
    /// The server drops a user's sockets.
    ServerClose {
        /// Whose.
        user: String,
        /// SockJS close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// The server kicks a user with a STATISTIC meta.
    Kick {
        /// Whom.
        user: String,
        /// The `StatisticsBody.Operation` name.
        operation: String,
    },
    /// Arm a fault on the server for the next matching frame.
    Fault {
        /// Whose frame (any user when absent).
        user: Option<String>,
        /// `provision`, `unread`, `message` or `history`.
        on: String,
        /// `status`, `drop`, `delay` or `close`.
        action: String,
        /// For `status`: the `Status.ErrorCode` number (`history`: the HTTP status). For
        /// `close`: the close code.
        code: Option<i64>,
        /// For `status` and `close`: the reason.
        reason: Option<String>,
        /// For `delay`: how long the answer is held, in virtual time.
        delay: Option<Duration>,
        /// For `on = "upload"` / `"download"`: the JSON body of the HTTP answer.
        body: Option<Value>,
    },
    /// Nothing more may arrive for a user during a short window.
    Quiet {
        /// Whose events.
        user: String,
        /// How long to watch.
        window: Duration,
    },
}

/// What a request's reply must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyExpectation {
    /// `ok: true`, with the result matching this partially when given.
    Ok(Option<Value>),
    /// `ok: false`, with the error matching this partially when given.
    Err(Option<Value>),
    /// `reply = "none"`: the SDK answers neither `success` nor `fail` (a muted send); the step
    /// sends the request and goes on. A reply that comes later shows in the transcript.
    None,
}
