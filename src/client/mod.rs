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

use connection::Command;
use output::{Output, Pending, UserOut};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The protocol version the reference client speaks.
const PROTOCOL: u64 = 1;
/// The ops it answers (the others get `unsupported`).
const OPS: &[&str] = &[
    "hello",
    "connect",
    "send",
    "recall",
    "history",
    "sessions",
    "download",
    "disconnect",
    "shutdown",
];

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
    /// Stops the task and answers what it still owed.
    fn terminate(self, out: &Output, why: &str) {
        self.task.abort();
        for (id, op) in self.pending.drain() {
            let message = format!("{why} before the {op} completed");
            out.fail(&Value::from(id), "driver-error", &message);
        }
    }
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
        if let Some(id) = handle_line(&line, &out, &mut users, &faults) {
            shutdown_id = Some(id);
            break;
        }
    }
    for (_, user) in users.drain() {
        user.terminate(&out, "the driver shut down");
    }
    if let Some(id) = shutdown_id {
        out.ok(&id, json!({}));
    }
    drop(out);
    writer.await??;
    Ok(())
}

/// Handles one request line; returns the request id when it is `shutdown`.
fn handle_line(
    line: &str,
    out: &Output,
    users: &mut HashMap<String, UserHandle>,
    faults: &Faults,
) -> Option<Value> {
    if line.trim().is_empty() {
        return None;
    }
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            let message = format!("request is not valid JSON: {e}");
            out.fail(&Value::Null, "bad-request", &message);
            return None;
        }
    };
    let Some(request) = request.as_object() else {
        out.fail(&Value::Null, "bad-request", "request is not a JSON object");
        return None;
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(op) = request.get("op").and_then(Value::as_str) else {
        out.fail(&id, "bad-request", "request has no string \"op\"");
        return None;
    };
    if id.is_null() {
        out.fail(&Value::Null, "bad-request", "request has no \"id\"");
        return None;
    }
    let args = match request.get("args") {
        None => Map::new(),
        Some(Value::Object(args)) => args.clone(),
        Some(_) => {
            out.fail(&id, "bad-request", "\"args\" must be an object");
            return None;
        }
    };
    match op {
        "hello" => {
            hello(&id, &args, out);
            None
        }
        "shutdown" => Some(id),
        "connect" | "send" | "recall" | "history" | "sessions" | "download" | "disconnect" => {
            user_op(&id, op, request.get("user"), args, out, users, faults);
            None
        }
        _ => {
            let message = format!(
                "op {} is not implemented by the reference client",
                json!(op)
            );
            out.fail(&id, "unsupported", &message);
            None
        }
    }
}

fn hello(id: &Value, args: &Map<String, Value>, out: &Output) {
    let protocol = args.get("protocol").cloned().unwrap_or(Value::Null);
    if protocol.as_u64() != Some(PROTOCOL) {
        let message = format!(
            "protocol version {protocol} is not supported; this driver speaks version {PROTOCOL}"
        );
        out.fail(id, "bad-request", &message);
        return;
    }
    out.ok(
        id,
        json!({
            "driver": "imspec-reference",
            "sdk": "imspec reference client",
            "sdkVersion": "3.6.3",
            "ops": OPS,
        }),
    );
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
