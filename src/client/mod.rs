//! The reference client: a Rust msync client that behaves as the documented 3.x Web SDK
//! (`easemob-websdk` 3.6.3) does, exposed through the driver protocol (`DRIVER-PROTOCOL.md`).
//!
//! It sends the frames the SDK sends, in the same order and with the same fields present, and
//! forwards the callbacks the SDK fires with the objects it passes, serialised as the Node
//! driver for the real SDK (`drivers/websdk/driver.mjs`) serialises them, so both clients share
//! one snapshot per scenario. [`Faults`] break one behaviour each, so that every scenario can be
//! shown to fail. Where the message guide (`docs/webim-message-guide.md`) says otherwise than
//! 3.6.3 does, it does what the guide says, and 3.6.3's behaviour is that SDK's expected failure:
//! a failed download is `onFileDownloadError` (guide L590), a refusal the guide's list does not
//! name is 503 "unknown error" (L94), an ext / customExts number beyond int64 arrives as sent
//! (L75-80). This module owns the stdio loop and the user registry; one task per user
//! (`task`) owns the socket, `connection` and `requests` hold the msync state machine, `login`
//! the token and SockJS handshake, `outgoing` the frames, `incoming` the callbacks, `receipts` the
//! automatic delivery receipt, `history` the REST reads (roaming, conversation list), `js` the
//! JavaScript semantics they copy, `output` the single stdout writer. It never touches the
//! server.

mod attachments;
mod connection;
mod emoji;
pub mod faults;
mod history;
mod incoming;
mod js;
mod login;
mod options;
mod outgoing;
mod output;
mod receipts;
mod requests;
mod task;

pub use faults::{Fault, Faults, UnknownFault};

use crate::driver::protocol::{Capability, USER_OPS};
use connection::Command;
use output::{Output, Pending, UserOut};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The protocol versions the reference client speaks: 2 adds `reset` (it then serves many
/// scenarios), 3 generated attachments and `download`'s `parseDownloadResponse`.
const PROTOCOLS: &[u64] = &[1, 2, 3];
/// What it can do beyond version 1 (DRIVER-PROTOCOL.md): serve many scenarios (`reset`), fire
/// its timers on request (`timers`, the `fire-timer` op), write every callback a frame causes
/// before it reads the next frame (`immediate-callbacks`: each SockJS message is handled to the
/// end, its events queued in order on the one stdout writer, before the task reads on), and
/// answer `sync` behind every event queued so far (`sync`: the writer is a task of its own, so a
/// queued line can reach stdout after the frame that follows it reached the server; the harness
/// found that race under load, a callback judged absent that was still being written). It
/// installs the `emoji` map of `connect` as the app's `WebIM.Emoji` (`emoji`).
const CAPABILITIES: &[Capability] = &[
    Capability::Reset,
    Capability::Timers,
    Capability::ImmediateCallbacks,
    Capability::Sync,
    Capability::Emoji,
];
/// The ops it answers (the others get `unsupported`): the protocol's user ops, `fire-timer`
/// (also a user's), and those of the driver as a whole.
fn ops() -> Vec<&'static str> {
    let mut ops = vec!["hello", "reset", "sync"];
    ops.extend_from_slice(USER_OPS);
    ops.extend(["fire-timer", "shutdown"]);
    ops
}

/// Why the driver loop stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Reading requests or writing replies failed.
    #[error("driver stdio failed: {0}")]
    Io(#[from] std::io::Error),
    /// The writer task died.
    #[error("the stdout writer task failed: {0}")]
    Writer(#[from] tokio::task::JoinError),
}

/// One user's connection task.
struct UserHandle {
    commands: mpsc::UnboundedSender<Command>,
    pending: Pending,
    task: JoinHandle<()>,
}

impl UserHandle {
    /// Stops the task and answers what it still owed; returns the task, to await its end.
    fn terminate(self, out: &Output, why: &str) -> JoinHandle<()> {
        self.task.abort();
        for (id, op) in self.pending.drain() {
            let message = format!("{why} before the {op} completed");
            out.fail(&Value::from(id), "driver-error", &message);
        }
        self.task
    }
}

/// What the stdio loop does after a request line.
enum Next {
    /// Read the next line.
    Continue,
    /// `reset`: drop every user, then answer this id.
    Reset(Value),
    /// `shutdown`: answer this id and stop.
    Shutdown(Value),
    /// `sync`: answer this id once every connection has handled what came before it.
    Sync(Value),
}

/// How long `sync` waits for the connections before it answers `"idle": false` (an upload
/// still in flight, a login still waiting for its token): the harness then waits its grace.
const SYNC_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// `sync`: whether every connection handled everything before the request, with no HTTP
/// request in flight, within [`SYNC_WAIT`]. A connection that has ended counts as done.
async fn idle(users: &HashMap<String, UserHandle>) -> bool {
    let waits: Vec<_> = users
        .values()
        .filter_map(|user| {
            let (done, wait) = tokio::sync::oneshot::channel();
            user.commands
                .send(Command::Sync { done })
                .ok()
                .map(|()| wait)
        })
        .collect();
    let all = futures_util::future::join_all(waits);
    // a sender dropped unanswered is a task that ended: it wrote all it will
    tokio::time::timeout(SYNC_WAIT, all).await.is_ok()
}

/// The result of `reset` and `shutdown`: the fault switches the scenario that ends reached
/// (`faultsReached`, an extension of the reference client's: `imspec selftest` runs a switch
/// only on the scenarios whose clean run reached it).
fn ended(faults: &Faults) -> Value {
    json!({ "faultsReached": faults.take_reached() })
}

/// Serves the driver protocol on the process's stdin and stdout until `shutdown` or EOF.
pub async fn serve_stdio(faults: Faults) -> Result<(), ClientError> {
    serve(
        BufReader::new(tokio::io::stdin()),
        tokio::io::stdout(),
        faults,
    )
    .await
}

/// Serves the driver protocol: requests from `input`, replies and events to `output`.
pub async fn serve<R, W>(input: R, output: W, faults: Faults) -> Result<(), ClientError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    if !faults.is_empty() {
        eprintln!("[imspec-reference] fault switches on: {faults}");
    }
    let (out, writer) = Output::start(output);
    let mut lines = input.lines();
    let mut users: HashMap<String, UserHandle> = HashMap::new();
    let mut shutdown_id = None;
    while let Some(line) = lines.next_line().await? {
        match handle_line(&line, &out, &mut users, &faults) {
            Next::Continue => {}
            Next::Reset(id) => {
                // Every task is gone (and has written all it will) before the answer: the
                // next scenario sees a driver as fresh as a new process.
                for (_, user) in users.drain() {
                    let _ = user.terminate(&out, "the driver was reset").await;
                }
                out.ok(&id, ended(&faults));
            }
            Next::Shutdown(id) => {
                shutdown_id = Some(id);
                break;
            }
            // the reply is queued behind every event the connections queued before they
            // answered, on the one writer
            Next::Sync(id) => out.ok(&id, json!({ "idle": idle(&users).await })),
        }
    }
    for (_, user) in users.drain() {
        user.terminate(&out, "the driver shut down");
    }
    if let Some(id) = shutdown_id {
        out.ok(&id, ended(&faults));
    }
    drop(out);
    writer.await??;
    Ok(())
}

/// Handles one request line; `reset` and `shutdown` are left to the caller.
fn handle_line(
    line: &str,
    out: &Output,
    users: &mut HashMap<String, UserHandle>,
    faults: &Faults,
) -> Next {
    if line.trim().is_empty() {
        return Next::Continue;
    }
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            let message = format!("request is not valid JSON: {e}");
            out.fail(&Value::Null, "bad-request", &message);
            return Next::Continue;
        }
    };
    let Some(request) = request.as_object() else {
        out.fail(&Value::Null, "bad-request", "request is not a JSON object");
        return Next::Continue;
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(op) = request.get("op").and_then(Value::as_str) else {
        out.fail(&id, "bad-request", "request has no string \"op\"");
        return Next::Continue;
    };
    if id.is_null() {
        out.fail(&Value::Null, "bad-request", "request has no \"id\"");
        return Next::Continue;
    }
    let args = match request.get("args") {
        None => Map::new(),
        Some(Value::Object(args)) => args.clone(),
        Some(_) => {
            out.fail(&id, "bad-request", "\"args\" must be an object");
            return Next::Continue;
        }
    };
    match op {
        "hello" => {
            hello(&id, &args, out);
            Next::Continue
        }
        "shutdown" => Next::Shutdown(id),
        "reset" => Next::Reset(id),
        "sync" => Next::Sync(id),
        op if USER_OPS.contains(&op) || op == "fire-timer" => {
            user_op(&id, op, request.get("user"), args, out, users, faults);
            Next::Continue
        }
        _ => {
            let message = format!(
                "op {} is not implemented by the reference client",
                json!(op)
            );
            out.fail(&id, "unsupported", &message);
            Next::Continue
        }
    }
}

fn hello(id: &Value, args: &Map<String, Value>, out: &Output) {
    let protocol = args.get("protocol").cloned().unwrap_or(Value::Null);
    let Some(version) = protocol.as_u64().filter(|v| PROTOCOLS.contains(v)) else {
        let message = format!(
            "protocol version {protocol} is not supported; this driver speaks versions {PROTOCOLS:?}"
        );
        out.fail(id, "bad-request", &message);
        return;
    };
    let mut result = json!({
        "driver": "imspec-reference",
        "sdk": "imspec reference client",
        "sdkVersion": "3.6.3",
        "ops": ops(),
    });
    if version >= 2 {
        result["protocol"] = json!(version);
        let names: Vec<&str> = CAPABILITIES.iter().map(|c| c.name()).collect();
        result["capabilities"] = json!(names);
    }
    out.ok(id, result);
}

fn user_op(
    id: &Value,
    op: &str,
    user: Option<&Value>,
    args: Map<String, Value>,
    out: &Output,
    users: &mut HashMap<String, UserHandle>,
    faults: &Faults,
) {
    let Some(user) = user.and_then(Value::as_str).filter(|u| !u.is_empty()) else {
        let message = format!("op {op} needs a non-empty string \"user\"");
        out.fail(id, "bad-request", &message);
        return;
    };
    let Some(request) = id.as_u64() else {
        out.fail(
            id,
            "bad-request",
            "request \"id\" must be a non-negative integer",
        );
        return;
    };
    if op == "connect" {
        if let Some(emoji) = args.get("emoji")
            && let Err(e) =
                serde_json::from_value::<crate::driver::protocol::EmojiMap>(emoji.clone())
        {
            let message = format!("\"emoji\" must be {{\"path\", \"map\": {{key: file}}}}: {e}");
            out.fail(id, "bad-request", &message);
            return;
        }
        let options = options::ConnectOptions::from_args(&args);
        if options.is_http_dns {
            out.fail(
                id,
                "unsupported",
                "isHttpDNS is not implemented by the reference client",
            );
            return;
        }
        if let Some(previous) = users.remove(user) {
            eprintln!("[imspec-reference] connect for {user}: replacing the previous connection");
            previous.terminate(out, &format!("superseded by a new connect for {user}"));
        }
        let pending = Pending::default();
        pending.add(request, op);
        let (commands, receiver) = mpsc::unbounded_channel();
        let user_out = UserOut {
            out: out.clone(),
            user: user.to_string(),
            pending: pending.clone(),
        };
        let task = tokio::spawn(task::run(
            user_out,
            request,
            options,
            faults.clone(),
            receiver,
        ));
        users.insert(
            user.to_string(),
            UserHandle {
                commands,
                pending,
                task,
            },
        );
        return;
    }
    let Some(handle) = users.get(user) else {
        let message = format!("no connection for user {} (connect first)", json!(user));
        out.fail(id, "bad-request", &message);
        return;
    };
    handle.pending.add(request, op);
    let command = match op {
        "send" => Command::Send { id: request, args },
        "recall" => Command::Recall { id: request, args },
        "history" => Command::History { id: request, args },
        "sessions" => Command::Sessions { id: request },
        "download" => Command::Download { id: request, args },
        "fire-timer" => Command::FireTimer {
            id: request,
            within: std::time::Duration::from_millis(
                args.get("withinMs").and_then(Value::as_u64).unwrap_or(0),
            ),
        },
        _ => Command::Disconnect { id: request },
    };
    if handle.commands.send(command).is_err() {
        handle.pending.take(request);
        let message = format!("the connection of {user} has ended");
        out.fail(id, "driver-error", &message);
    }
}

#[cfg(test)]
mod tests;
