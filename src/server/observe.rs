//! What the fake server saw and sent: every HTTP exchange, every frame both ways (decoded to
//! the canonical JSON view), and transport events, in the order the server handled them.
//!
//! The recorder only appends; it never interprets. The runner reads it to check `frame`
//! expectations and to build the scenario's transcript.

use crate::wire::Direction;
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// One thing the server observed.
#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    /// Position in the log, from 0.
    pub seq: u64,
    /// The server's virtual clock when it was recorded (ms since the Unix epoch).
    pub virtual_ms: u64,
    /// What it was.
    pub kind: ObservationKind,
}

/// The kinds of observation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// A REST request and the server's answer.
    Http(HttpExchange),
    /// An msync frame.
    Frame(FrameRecord),
    /// A transport-level event of a socket.
    Transport(TransportEvent),
}

/// A REST request and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct HttpExchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The user the request was for or from (token login name, bearer token owner), if known.
    pub user: Option<String>,
    /// The request body: parsed JSON, or `{"text": ...}`, or a summary for multipart.
    pub request: Value,
    /// The status code answered.
    pub status: u16,
    /// The response body: parsed JSON, or `{"text": ...}`, or `{"bytes": n}`.
    pub response: Value,
    /// The attachment routes' request headers (lowercase names; `authorization` left out), for
    /// `http` steps: not part of the transcript, which varies with the client's own headers.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// How a socket carries msync frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// SockJS over WebSocket, base64 text messages (3.x Web SDK).
    Sockjs,
    /// Raw WebSocket, binary messages (later SDK generations).
    Websocket,
}

/// An msync frame.
#[derive(Debug, Clone, Serialize)]
pub struct FrameRecord {
    /// The server's id for the socket, from 1, in order of connection.
    pub conn: u64,
    /// The user of the socket, once its PROVISION named one.
    pub user: Option<String>,
    /// The transport carrying it.
    pub transport: Transport,
    /// Which way it went.
    pub direction: Direction,
    /// The canonical JSON view (`wire::canonical::msync`).
    pub view: Value,
    /// The protobuf bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A transport-level event.
#[derive(Debug, Clone, Serialize)]
pub struct TransportEvent {
    /// The server's id for the socket.
    pub conn: u64,
    /// The user of the socket, if known.
    pub user: Option<String>,
    /// What happened.
    pub what: TransportWhat,
}

/// Transport-level happenings worth a line in the transcript.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportWhat {
    /// A socket was accepted.
    Opened {
        /// The transport.
        transport: Transport,
    },
    /// The client closed the socket (or it dropped).
    ClosedByClient,
    /// The server closed the socket (SockJS `c[code,"reason"]` or a WebSocket close).
    ClosedByServer {
        /// The close code.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// The client sent something that is not a valid frame; the server answered or closed.
    BadFrame {
        /// Why it is not valid.
        error: String,
        /// The start of what arrived.
        text: String,
    },
}

/// The append-only log of observations, shared by every part of one server.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    log: Mutex<Vec<Observation>>,
    count: watch::Sender<usize>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            inner: Arc::new(Inner {
                log: Mutex::new(Vec::new()),
                count: watch::Sender::new(0),
            }),
        }
    }
}

impl Recorder {
    /// Appends an observation.
    pub fn record(&self, virtual_ms: u64, kind: ObservationKind) {
        let len = {
            let mut log = self.inner.log.lock().unwrap_or_else(|p| p.into_inner());
            let seq = log.len() as u64;
            log.push(Observation {
                seq,
                virtual_ms,
                kind,
            });
            log.len()
        };
        // Two records racing here may publish out of order: the count only grows.
        self.inner.count.send_if_modified(|count| {
            let grows = len > *count;
            if grows {
                *count = len;
            }
            grows
        });
    }

    /// A copy of everything recorded so far.
    pub fn observations(&self) -> Vec<Observation> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Observations from position `from` on.
    pub fn since(&self, from: usize) -> Vec<Observation> {
        let log = self.inner.log.lock().unwrap_or_else(|p| p.into_inner());
        log.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// Runs `f` over the observations from position `from` on without copying them: the way
    /// to look at the log in a loop (a frame view is a JSON tree, costly to clone). The log is
    /// locked while `f` runs, so `f` only looks.
    pub fn read_since<R>(&self, from: usize, f: impl FnOnce(&[Observation]) -> R) -> R {
        let log = self.inner.log.lock().unwrap_or_else(|p| p.into_inner());
        f(log.get(from..).unwrap_or_default())
    }

    /// How many observations there are.
    pub fn len(&self) -> usize {
        *self.inner.count.borrow()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once there are more than `seen` observations.
    pub async fn wait_beyond(&self, seen: usize) {
        let mut rx = self.inner.count.subscribe();
        // The sender lives as long as `self`, so `wait_for` cannot fail.
        let _ = rx.wait_for(|&len| len > seen).await;
    }
}
