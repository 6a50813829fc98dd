//! The driver process as `driver-check` sees it: stdout read line by line, each line parsed and
//! checked for its shape (with its line number), replies filed by request id, events kept in
//! order, stderr's tail kept for the report.

use super::super::protocol::PROTOCOL_VERSION;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A line the driver wrote on stdout, as far as it parsed.
#[derive(Debug, Clone)]
pub(super) enum Line {
    Reply { line: usize, reply: Value },
    Event { line: usize, event: Value },
}

/// The driver process, read line by line.
pub(super) struct Process {
    pub(super) child: Child,
    pub(super) stdin: Option<ChildStdin>,
    pub(super) lines: mpsc::UnboundedReceiver<(usize, String)>,
    pub(super) stderr: Arc<Mutex<VecDeque<String>>>,
    pub(super) next_id: u64,
    /// Requests sent and not answered: id → op.
    pub(super) outstanding: HashMap<u64, String>,
    pub(super) answered: HashSet<u64>,
    pub(super) replies: HashMap<u64, (usize, Value)>,
    pub(super) events: Vec<(usize, Value)>,
    /// Replies with `"id": null` (to a request the driver could not read).
    pub(super) null_replies: Vec<(usize, Value)>,
    /// Stdout problems, with the line, not yet attributed to a check.
    pub(super) hygiene: Vec<String>,
    /// Every stdout problem so far.
    pub(super) all_hygiene: Vec<String>,
    pub(super) closed: bool,
}

impl Process {
    pub(super) fn spawn(command: &str) -> Result<Process, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("IMSPEC_PROTOCOL", PROTOCOL_VERSION.to_string())
            .env("IMSPEC_SCENARIO", "driver-check")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("`{command}` could not be started: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout);
            let mut number = 0;
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                match reader.read_until(b'\n', &mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        number += 1;
                        let text = String::from_utf8_lossy(&buffer).into_owned();
                        if tx.send((number, text)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == 20 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Process {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            next_id: 1,
            outstanding: HashMap::new(),
            answered: HashSet::new(),
            replies: HashMap::new(),
            events: Vec::new(),
            null_replies: Vec::new(),
            hygiene: Vec::new(),
            all_hygiene: Vec::new(),
            closed: false,
        })
    }

    pub(super) async fn write_line(&mut self, line: &str) -> Result<(), String> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err("its stdin is closed".into());
        };
        let text = format!("{line}\n");
        stdin
            .write_all(text.as_bytes())
            .await
            .and(stdin.flush().await)
            .map_err(|e| format!("writing to its stdin failed ({e}): it exited"))
    }

    pub(super) async fn send(
        &mut self,
        op: &str,
        user: Option<&str>,
        args: Value,
    ) -> Result<u64, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"id": id, "op": op, "args": args});
        if let Some(user) = user {
            request["user"] = json!(user);
        }
        self.outstanding.insert(id, op.to_string());
        self.write_line(&request.to_string()).await?;
        Ok(id)
    }

    /// Reads one line (until `deadline`) and files it; `false` when stdout closed or time ran
    /// out.
    pub(super) async fn pump(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        match tokio::time::timeout_at(deadline, self.lines.recv()).await {
            Err(_) => false,
            Ok(None) => {
                self.closed = true;
                false
            }
            Ok(Some((number, text))) => {
                if let Some(line) = self.parse(number, &text) {
                    self.file(line);
                }
                true
            }
        }
    }

    pub(super) fn parse(&mut self, number: usize, text: &str) -> Option<Line> {
        let at = format!("stdout line {number}");
        let Some(body) = text.strip_suffix('\n') else {
            self.hygiene.push(format!(
                "{at} does not end with a newline: {}",
                preview(text)
            ));
            return None;
        };
        let value: Value = match serde_json::from_str(body) {
            Ok(value) => value,
            Err(e) => {
                self.hygiene.push(format!(
                    "{at} is not JSON ({e}): {} (only protocol lines may go to stdout; log to stderr)",
                    preview(body)
                ));
                return None;
            }
        };
        let Value::Object(object) = &value else {
            self.hygiene
                .push(format!("{at} is not a JSON object: {}", preview(body)));
            return None;
        };
        if object.contains_key("event") {
            let mut wrong = Vec::new();
            if !object["event"].is_string() {
                wrong.push("`event` must be a string".to_string());
            }
            if object.get("user").is_some_and(|u| !u.is_string()) {
                wrong.push("`user` must be a string when present".to_string());
            }
            for problem in wrong {
                self.hygiene
                    .push(format!("{at}: {problem}: {}", preview(body)));
            }
            return Some(Line::Event {
                line: number,
                event: value,
            });
        }
        let mut wrong = Vec::new();
        if !object.contains_key("id") {
            wrong.push("has neither `event` (an event) nor `id` (a reply)".to_string());
        }
        match object.get("ok") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => match object.get("error") {
                Some(Value::Object(error)) if error.contains_key("type") => {}
                Some(Value::Object(_)) => wrong.push("`error.type` is missing".into()),
                _ => wrong.push("`ok` is false but `error` is not an object".into()),
            },
            _ => wrong.push("`ok` must be true or false".into()),
        }
        if !wrong.is_empty() {
            for problem in wrong {
                self.hygiene
                    .push(format!("{at}: {problem}: {}", preview(body)));
            }
            return None;
        }
        Some(Line::Reply {
            line: number,
            reply: value,
        })
    }

    pub(super) fn file(&mut self, line: Line) {
        match line {
            Line::Event { line, event } => self.events.push((line, event)),
            Line::Reply { line, reply } => match &reply["id"] {
                Value::Null => self.null_replies.push((line, reply)),
                id => match id.as_u64() {
                    Some(id) if self.outstanding.remove(&id).is_some() => {
                        self.answered.insert(id);
                        self.replies.insert(id, (line, reply));
                    }
                    Some(id) if self.answered.contains(&id) => self.hygiene.push(format!(
                        "stdout line {line}: a second reply to request {id} (exactly one per request)"
                    )),
                    _ => self.hygiene.push(format!(
                        "stdout line {line}: a reply to request {id}, which was never sent"
                    )),
                },
            },
        }
    }

    /// Waits for the reply to `id`.
    pub(super) async fn reply(
        &mut self,
        id: u64,
        deadline: Instant,
    ) -> Result<(usize, Value), String> {
        loop {
            if let Some(reply) = self.replies.remove(&id) {
                return Ok(reply);
            }
            if !self.pump(deadline).await {
                let op = self.outstanding.get(&id).cloned().unwrap_or_default();
                return Err(if self.closed {
                    let status = self.status().await;
                    format!("the driver exited ({status}) before replying to `{op}` (request {id})")
                } else {
                    format!("no reply to `{op}` (request {id}) in time")
                });
            }
        }
    }

    /// Sends a request and waits for its reply.
    pub(super) async fn call(
        &mut self,
        op: &str,
        user: Option<&str>,
        args: Value,
        deadline: Instant,
    ) -> Result<(usize, Value), String> {
        let id = match self.send(op, user, args).await {
            Ok(id) => id,
            Err(_) => {
                let status = self.status().await;
                self.closed = true;
                return Err(format!(
                    "the driver exited ({status}) before replying to `{op}`"
                ));
            }
        };
        self.reply(id, deadline).await
    }

    /// Waits until an event at index `from` or later matches; returns its line.
    pub(super) async fn event(
        &mut self,
        from: usize,
        deadline: Instant,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<(usize, Value)> {
        let mut checked = from;
        loop {
            while checked < self.events.len() {
                if matches(&self.events[checked].1) {
                    return Some(self.events[checked].clone());
                }
                checked += 1;
            }
            if !self.pump(deadline).await {
                return None;
            }
        }
    }

    pub(super) async fn status(&mut self) -> String {
        match tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("status unknown: {e}"),
            Err(_) => "stdout closed, still running".into(),
        }
    }

    pub(super) fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    pub(super) fn kill(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.start_kill();
    }
}

pub(super) fn preview(text: &str) -> String {
    let text = text.trim_end();
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
