//! Scenario files: the data form of one conformance case (`scenarios/<area>/<name>.toml`).
//!
//! This module owns the model and its loading and validation; errors name the file, the line
//! and the field. It does not run anything: `runner` does. The format is documented, with an
//! example of every step kind, in `scenarios/README.md`.

pub mod citation;
mod load;
pub mod matrix;
pub mod step;
pub mod template;
mod world;

pub use citation::{Citation, Docs, GuideCitation, Level, LineRange, WireCitation, WireNotes};
pub use load::{
    LoadError, discover, load_cases, load_cases_str_with, load_file, load_str, load_str_with,
};
pub use step::StepKind;

use crate::server::Fault;
use crate::wire::pb::statistics_body::Operation;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use step::{DeliverStep, EventStep, FrameStep, HttpStep, ServerCloseStep};

/// One scenario, loaded and validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its path under the scenarios folder without extension: `messages/txt-single`.
    pub id: String,
    /// The file it came from.
    pub path: PathBuf,
    /// What it checks, in one line.
    pub purpose: String,
    /// What it cites: the guide's lines and the wire notes' sections it checks.
    pub citations: Citations,
    /// Reference-client fault switches each of which must make this scenario fail.
    pub killed_by: Vec<String>,
    /// The world on the fake server.
    pub world: World,
    /// The app's `WebIM.Emoji` (`[emoji]`), handed to the driver with every `connect`.
    pub emoji: Option<crate::driver::protocol::EmojiMap>,
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

    /// Its citations in one line, for listings and reports:
    /// `guide L62-75 "onTextMessage"; wire §4 "routetype"`.
    pub fn guide_summary(&self) -> String {
        self.citations.summary()
    }
}

/// A citation with the line of the scenario file it is written on.
#[derive(Debug, Clone, PartialEq)]
pub struct Cited<T> {
    /// The 1-based line in the scenario file.
    pub line: usize,
    /// The citation.
    pub citation: T,
}

/// The citations of a scenario or a step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Citations {
    /// Lines of the message guide.
    pub guide: Vec<Cited<GuideCitation>>,
    /// Sections of the wire notes.
    pub wire: Vec<Cited<WireCitation>>,
}

impl Citations {
    /// Whether it cites the guide.
    pub fn cites_guide(&self) -> bool {
        !self.guide.is_empty()
    }

    /// In one line: `guide L62-75 "onTextMessage"; wire §4 "routetype"`.
    pub fn summary(&self) -> String {
        let guide = self
            .guide
            .iter()
            .map(|c| format!("guide L{} {:?}", c.citation.lines, c.citation.quote));
        let wire = self.wire.iter().map(|c| {
            let notes = match c.citation.notes {
                WireNotes::V3 => "wire",
                WireNotes::V4 => "wire-4.x",
            };
            format!("{notes} §{} {:?}", c.citation.section, c.citation.quote)
        });
        let mut all: Vec<String> = guide.chain(wire).collect();
        all.dedup();
        all.join("; ")
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
    /// Which kind of step.
    pub kind: StepKind,
    /// What the step does.
    pub action: Action,
    /// This step's deadline, when it overrides the scenario's.
    pub timeout: Option<Duration>,
    /// A name under which the step's result is kept for `{{name.field}}` in later steps.
    pub save_as: Option<String>,
    /// Whether the guide states what it checks, or only the reference SDK's wire.
    pub level: Level,
    /// What the step itself cites (the scenario's citations cover it otherwise).
    pub citations: Citations,
    /// `timer = true`: the awaited event comes from the client's own timer (keeps a wall-clock
    /// deadline).
    pub timer: bool,
}

/// What a step does, typed: nothing in it is re-read as a string by the runner.
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
    Event(EventStep),
    /// Wait for a frame on the wire.
    Frame(FrameStep),
    /// Wait for a REST exchange the server recorded.
    Http(HttpStep),
    /// The server delivers a message from a scripted peer.
    Deliver(DeliverStep),
    /// The server delivers a scripted peer's message whose payload is these bytes.
    DeliverRaw {
        /// The scripted sender.
        from: String,
        /// The recipient: a user, group or room id.
        to: String,
        /// The conversation kind.
        chat_type: step::ChatTypeName,
        /// The `Meta.payload`, as it goes out.
        payload: Vec<u8>,
    },
    /// Advance the server's virtual clock by this much.
    Advance(Duration),
    /// The server drops a user's sockets.
    ServerClose(ServerCloseStep),
    /// The server kicks a user with a STATISTIC meta.
    Kick {
        /// Whom.
        user: String,
        /// The `StatisticsBody.Operation`.
        operation: Operation,
    },
    /// Arm a fault on the server for the next matching frame or REST request.
    Fault(Fault),
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
