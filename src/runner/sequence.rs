//! What a scenario's run looked like, for reports to draw: its steps with how far they got, and
//! the wire as a client ⇄ server sequence (HTTP exchanges, every msync frame decoded to its
//! canonical JSON view, socket events), with the values as they really were (not normalised).
//!
//! This module only turns the recorder's observations and the scenario's file into plain data;
//! it does not judge (verdicts are `runner`'s) and does not draw (reports do).

use crate::scenario::Scenario;
use crate::server::observe::{Observation, ObservationKind};
use crate::wire::Direction;
use serde::Serialize;
use serde_json::Value;

/// One step of the scenario and how far the run got with it.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// 1-based.
    pub number: usize,
    /// The line of its `[[step]]` header.
    pub line: usize,
    /// Whether the guide states what it checks, or only the wire.
    pub level: crate::scenario::Level,
    /// The step as written in the scenario file (the TOML under its header).
    pub source: String,
    /// How it went.
    pub status: StepStatus,
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Its expectation held.
    Passed,
    /// It broke (the first broken expectation of the scenario).
    Failed,
    /// The driver lacks the op it needs.
    Unsupported,
    /// The run ended before it.
    Skipped,
}

/// Which column of the sequence an entry is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Sent by the client (a frame `c2s`, an HTTP request).
    Client,
    /// Sent by the server (a frame `s2c`, an HTTP answer).
    Server,
    /// Something that happened to a socket.
    Note,
}

/// One entry of the wire sequence.
#[derive(Debug, Clone, Serialize)]
pub struct WireEntry {
    /// Who sent it.
    pub side: Side,
    /// The user of the socket or request, when known.
    pub user: Option<String>,
    /// A short title: `PROVISION`, `SYNC`, `POST /org/app/token`, `200`.
    pub title: String,
    /// The decoded payload (canonical JSON view of a frame, an HTTP body), `null` for notes.
    pub payload: Value,
}

/// The steps of `scenario`: the first `completed` passed (but those `noted`: they broke at wire
/// level while the run judged at guide level), the next one `broken` (when the run broke
/// there), the rest skipped.
pub fn steps(
    scenario: &Scenario,
    completed: usize,
    broken: Option<StepStatus>,
    noted: &[usize],
) -> Vec<StepRecord> {
    let text = std::fs::read_to_string(&scenario.path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<usize> = scenario.steps.iter().map(|s| s.line).collect();
    scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let end = starts.get(i + 1).map_or(lines.len(), |next| next - 1);
            let body = lines.get(step.line.min(end)..end).unwrap_or_default();
            let source = body.join("\n").trim().to_string();
            let status = match (i.cmp(&completed), broken) {
                _ if noted.contains(&i) => StepStatus::Failed,
                (std::cmp::Ordering::Less, _) => StepStatus::Passed,
                (std::cmp::Ordering::Equal, Some(status)) => status,
                _ => StepStatus::Skipped,
            };
            StepRecord {
                number: i + 1,
                line: step.line,
                level: step.level,
                source,
                status,
            }
        })
        .collect()
}

/// The wire sequence of a run, in the order the server handled it, without the runner's own
/// settle-barrier frames.
pub fn wire(observations: &[Observation]) -> Vec<WireEntry> {
    let mut out = Vec::new();
    for o in observations {
        match &o.kind {
            ObservationKind::Http(h) => {
                let query = h
                    .query
                    .as_ref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                out.push(WireEntry {
                    side: Side::Client,
                    user: h.user.clone(),
                    title: format!("{} {}{query}", h.method, h.path),
                    payload: h.request.clone(),
                });
                out.push(WireEntry {
                    side: Side::Server,
                    user: h.user.clone(),
                    title: format!("HTTP {}", h.status),
                    payload: h.response.clone(),
                });
            }
            ObservationKind::Frame(f) if super::transcript::is_barrier(&f.view) => {}
            ObservationKind::Frame(f) => out.push(WireEntry {
                side: match f.direction {
                    Direction::ClientToServer => Side::Client,
                    Direction::ServerToClient => Side::Server,
                },
                user: f.user.clone(),
                title: frame_title(&f.view),
                payload: f.view.clone(),
            }),
            ObservationKind::Transport(t) => {
                // By the variant's serialised name, so that new kinds need no code here.
                let (what, payload) = match serde_json::to_value(&t.what) {
                    Ok(Value::Object(map)) => map.into_iter().next().unwrap_or_default(),
                    Ok(Value::String(name)) => (name, Value::Null),
                    _ => ("transport".to_string(), Value::Null),
                };
                out.push(WireEntry {
                    side: Side::Note,
                    user: t.user.clone(),
                    title: format!("socket {}: {}", t.conn, what.replace('_', " ")),
                    payload,
                });
            }
        }
    }
    out
}

/// `SYNC CommSyncUL`: the command and the kind of its decoded payload.
fn frame_title(view: &Value) -> String {
    let command = view
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or("SYNC");
    match view
        .get("payload")
        .and_then(Value::as_object)
        .and_then(|p| p.keys().next())
    {
        Some(kind) => format!("{command} {kind}"),
        None => command.to_string(),
    }
}
