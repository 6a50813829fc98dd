//! The one writer of the driver's stdout: every reply and event goes through [`Output`] as one
//! JSON line, in the order they were produced, shaped as the Node driver prints them
//! (`{"id","ok","result"|"error"}`, `{"event","user"[,"data"]}`).

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A handle to the line writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Output {
    tx: mpsc::UnboundedSender<String>,
}

impl Output {
    /// Starts the writer task on `sink`; it ends when every `Output` is dropped.
    pub fn start<W: AsyncWrite + Unpin + Send + 'static>(
        mut sink: W,
    ) -> (Output, JoinHandle<std::io::Result<()>>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let task = tokio::spawn(async move {
            while let Some(mut line) = rx.recv().await {
                line.push('\n');
                sink.write_all(line.as_bytes()).await?;
                if rx.is_empty() {
                    sink.flush().await?;
                }
            }
            sink.flush().await
        });
        (Output { tx }, task)
    }

    fn line(&self, object: Map<String, Value>) {
        // the writer only stops when stdout is gone; nothing can be reported then
        let _ = self.tx.send(Value::Object(object).to_string());
    }

    /// A successful reply.
    pub fn ok(&self, id: &Value, result: Value) {
        let mut o = Map::new();
        o.insert("id".into(), id.clone());
        o.insert("ok".into(), Value::Bool(true));
        o.insert("result".into(), result);
        self.line(o);
    }

    /// A failed reply; `error` is `{type, message?, data?}`.
    pub fn err(&self, id: &Value, error: Value) {
        let mut o = Map::new();
        o.insert("id".into(), id.clone());
        o.insert("ok".into(), Value::Bool(false));
        o.insert("error".into(), error);
        self.line(o);
    }

    /// A failed reply with a harness-level error type (`bad-request`, `unsupported`, ...).
    pub fn fail(&self, id: &Value, kind: &str, message: &str) {
        self.err(id, serde_json::json!({"type": kind, "message": message}));
    }

    /// An SDK callback; `data: None` for a callback called without argument.
    pub fn event(&self, user: &str, name: &str, data: Option<Value>) {
        let mut o = Map::new();
        o.insert("event".into(), Value::String(name.to_string()));
        o.insert("user".into(), Value::String(user.to_string()));
        if let Some(data) = data {
            o.insert("data".into(), data);
        }
        self.line(o);
    }
}

/// The replies still owed for one user's connection, so that a superseding `connect` or a
/// shutdown can answer them.
#[derive(Debug, Clone, Default)]
pub struct Pending(Arc<Mutex<BTreeMap<u64, String>>>);

impl Pending {
    /// Records a request that awaits its reply.
    pub fn add(&self, id: u64, op: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(id, op.to_string());
        }
    }

    /// Forgets a request; false when it was answered already.
    pub fn take(&self, id: u64) -> bool {
        self.0.lock().is_ok_and(|mut map| map.remove(&id).is_some())
    }

    /// Every request still owed, forgetting them.
    pub fn drain(&self) -> Vec<(u64, String)> {
        self.0
            .lock()
            .map(|mut map| std::mem::take(&mut *map).into_iter().collect())
            .unwrap_or_default()
    }
}

/// What a connection task writes with: the output, the user's name and its owed replies.
#[derive(Debug, Clone)]
pub struct UserOut {
    /// The shared writer.
    pub out: Output,
    /// The connection's user.
    pub user: String,
    /// Requests of this user still awaiting a reply.
    pub pending: Pending,
}

impl UserOut {
    /// Replies ok to a request (once).
    pub fn ok(&self, id: u64, result: Value) {
        if self.pending.take(id) {
            self.out.ok(&Value::from(id), result);
        }
    }

    /// Replies with an error to a request (once).
    pub fn err(&self, id: u64, error: Value) {
        if self.pending.take(id) {
            self.out.err(&Value::from(id), error);
        }
    }

    /// Forwards a callback.
    pub fn event(&self, name: &str, data: Option<Value>) {
        self.out.event(&self.user, name, data);
    }
}
