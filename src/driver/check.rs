//! `imspec driver-check`: a driver against `DRIVER-PROTOCOL.md`, op by op, against a fake
//! server: `hello`'s fields and version, the reply shape of each op (`connect`, `send`,
//! `recall`, `history`, `sessions`, `download`, `disconnect`, `reset` when announced), an unknown
//! op, a malformed request, stdout hygiene and `shutdown`. Each finding names the stdout line and
//! the field.
//!
//! It reads the driver's stdout itself, line by line, instead of through [`super::Driver`], so
//! that it can name lines and go on after a bad one. It checks the protocol, not the SDK's
//! behaviour: an op answered with a well-formed error is the SDK's outcome, not a finding.

use super::protocol::PROTOCOL_VERSION;
use crate::server::{FakeServer, UserSpec, WorldSpec};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The ops of the protocol that name a user, in the order they are checked.
const USER_OPS: &[&str] = &[
    "connect",
    "send",
    "recall",
    "history",
    "sessions",
    "download",
    "disconnect",
];
/// The op no driver implements.
const UNKNOWN_OP: &str = "imspec-driver-check-no-such-op";
/// The text alice sends bob.
const TEXT: &str = "driver-check: hello bob";

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckVerdict {
    /// The driver does what the protocol says.
    Pass,
    /// It does not: see the findings.
    Fail,
    /// The driver does not implement the op (answered `unsupported`, or did not list it).
    Unsupported,
    /// Not checked (an earlier check it needs failed, or a capability is not announced).
    Skipped,
}

impl CheckVerdict {
    /// Upper-case name.
    pub fn label(self) -> &'static str {
        match self {
            CheckVerdict::Pass => "PASS",
            CheckVerdict::Fail => "FAIL",
            CheckVerdict::Unsupported => "UNSUPPORTED",
            CheckVerdict::Skipped => "SKIP",
        }
    }
}

/// One check: an op, or a property of the whole conversation.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is checked (`hello`, `send`, `unknown op`, `stdout`, …).
    pub name: String,
    /// The verdict.
    pub verdict: CheckVerdict,
    /// What is wrong (FAIL), or why it was not checked, or what it answered.
    pub notes: Vec<String>,
}

/// Every check of one driver.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The driver command line.
    pub command: String,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The driver's last stderr lines.
    pub stderr_tail: String,
}

impl CheckReport {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != CheckVerdict::Fail)
    }

    /// The report as text: a verdict per check with its notes, the stderr tail when something
    /// failed, then the counts.
    pub fn text(&self) -> String {
        let mut out = format!("driver-check: {}\n", self.command);
        for check in &self.checks {
            out += &format!("{:<11} {}\n", check.verdict.label(), check.name);
            for note in &check.notes {
                out += &format!("            {note}\n");
            }
        }
        if !self.passed() && !self.stderr_tail.is_empty() {
            out += "driver stderr (last lines):\n";
            for line in self.stderr_tail.lines() {
                out += &format!("  | {line}\n");
            }
        }
        let count = |v: CheckVerdict| self.checks.iter().filter(|c| c.verdict == v).count();
        out += &format!(
            "{} passed, {} failed, {} unsupported, {} skipped\n",
            count(CheckVerdict::Pass),
            count(CheckVerdict::Fail),
            count(CheckVerdict::Unsupported),
            count(CheckVerdict::Skipped)
        );
        out
    }
}

/// A line the driver wrote on stdout, as far as it parsed.
#[derive(Debug, Clone)]
enum Line {
    Reply { line: usize, reply: Value },
    Event { line: usize, event: Value },
}

/// The driver process, read line by line.
struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<(usize, String)>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    next_id: u64,
    /// Requests sent and not answered: id → op.
    outstanding: HashMap<u64, String>,
    answered: HashSet<u64>,
    replies: HashMap<u64, (usize, Value)>,
    events: Vec<(usize, Value)>,
    /// Replies with `"id": null` (to a request the driver could not read).
    null_replies: Vec<(usize, Value)>,
    /// Stdout problems, with the line, not yet attributed to a check.
    hygiene: Vec<String>,
    /// Every stdout problem so far.
    all_hygiene: Vec<String>,
    closed: bool,
}

impl Process {
    fn spawn(command: &str) -> Result<Process, String> {
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

    async fn write_line(&mut self, line: &str) -> Result<(), String> {
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

    async fn send(&mut self, op: &str, user: Option<&str>, args: Value) -> Result<u64, String> {
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
    async fn pump(&mut self, deadline: Instant) -> bool {
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

    fn parse(&mut self, number: usize, text: &str) -> Option<Line> {
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

    fn file(&mut self, line: Line) {
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
    async fn reply(&mut self, id: u64, deadline: Instant) -> Result<(usize, Value), String> {
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
    async fn call(
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
    async fn event(
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

    async fn status(&mut self) -> String {
        match tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("status unknown: {e}"),
            Err(_) => "stdout closed, still running".into(),
        }
    }

    fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn kill(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.start_kill();
    }
}

fn preview(text: &str) -> String {
    let text = text.trim_end();
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The checks so far, and the conversation.
struct Checker {
    process: Process,
    checks: Vec<Check>,
    timeout: Duration,
    /// The ops `hello` listed (empty: it listed none, so all are tried).
    ops: Vec<String>,
    capabilities: Vec<String>,
}

impl Checker {
    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    fn push(&mut self, name: &str, verdict: CheckVerdict, notes: Vec<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            verdict,
            notes,
        });
    }

    /// Adds a check whose verdict is FAIL when there are findings (and the stdout problems
    /// found while it ran), PASS otherwise.
    fn conclude(&mut self, name: &str, mut findings: Vec<String>, info: Vec<String>) {
        self.process
            .all_hygiene
            .extend(self.process.hygiene.iter().cloned());
        findings.append(&mut self.process.hygiene);
        if findings.is_empty() {
            self.push(name, CheckVerdict::Pass, info);
        } else {
            self.push(name, CheckVerdict::Fail, findings);
        }
    }

    fn listed(&self, op: &str) -> bool {
        self.ops.is_empty() || self.ops.iter().any(|o| o == op)
    }

    async fn hello(&mut self) -> bool {
        let deadline = self.deadline();
        let reply = self
            .process
            .call(
                "hello",
                None,
                json!({"protocol": PROTOCOL_VERSION}),
                deadline,
            )
            .await;
        let (line, reply) = match reply {
            Ok(reply) => reply,
            Err(e) => {
                self.conclude("hello", vec![e], Vec::new());
                return false;
            }
        };
        let at = format!("stdout line {line}");
        let mut findings = Vec::new();
        if reply["ok"] != true {
            findings.push(format!(
                "{at}: hello was refused: {} (the harness sends {{\"protocol\": {PROTOCOL_VERSION}}})",
                reply["error"]
            ));
            self.conclude("hello", findings, Vec::new());
            return false;
        }
        let result = &reply["result"];
        for field in ["driver", "sdk", "sdkVersion"] {
            match result.get(field) {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                Some(other) => findings.push(format!(
                    "{at}: `result.{field}` must be a non-empty string, not {other}"
                )),
                None => findings.push(format!("{at}: `result.{field}` is missing")),
            }
        }
        let version = result["sdkVersion"].as_str().unwrap_or_default();
        if !version.is_empty()
            && !version
                .split('.')
                .next()
                .is_some_and(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
        {
            findings.push(format!(
                "{at}: `result.sdkVersion` {version:?} does not start with a major version number (the snapshot set is chosen by it)"
            ));
        }
        match result.get("ops") {
            Some(Value::Array(ops)) => {
                for op in ops {
                    match op.as_str() {
                        Some(op) => self.ops.push(op.to_string()),
                        None => {
                            findings.push(format!("{at}: `result.ops` holds {op}, not a string"))
                        }
                    }
                }
            }
            Some(other) => {
                findings.push(format!("{at}: `result.ops` must be an array, not {other}"))
            }
            None => findings.push(format!("{at}: `result.ops` is missing")),
        }
        match result.get("protocol") {
            None => {}
            Some(p)
                if p.as_u64()
                    .is_some_and(|p| (1..=PROTOCOL_VERSION.max(2)).contains(&p)) => {}
            Some(p) => findings.push(format!(
                "{at}: `result.protocol` is {p}; this harness speaks 1 to {}",
                PROTOCOL_VERSION.max(2)
            )),
        }
        match result.get("capabilities") {
            None => {}
            Some(Value::Array(caps)) => self
                .capabilities
                .extend(caps.iter().filter_map(Value::as_str).map(String::from)),
            Some(other) => findings.push(format!(
                "{at}: `result.capabilities` must be an array, not {other}"
            )),
        }
        let info = vec![format!(
            "{} {} (driver {}), protocol {}, ops [{}]{}",
            result["sdk"].as_str().unwrap_or("?"),
            version,
            result["driver"].as_str().unwrap_or("?"),
            result
                .get("protocol")
                .map_or("1 (not stated)".into(), Value::to_string),
            self.ops.join(", "),
            if self.capabilities.is_empty() {
                String::new()
            } else {
                format!(", capabilities [{}]", self.capabilities.join(", "))
            }
        )];
        let ok = findings.is_empty();
        self.conclude("hello", findings, info);
        ok
    }

    /// Sends a user op and judges the shape of its reply with `shape` (given the result);
    /// returns the result when the op succeeded.
    async fn op(
        &mut self,
        name: &str,
        op: &str,
        user: Option<&str>,
        args: Value,
        shape: impl Fn(&Value) -> Vec<String>,
    ) -> Option<Value> {
        if !self.listed(op) {
            self.push(
                name,
                CheckVerdict::Unsupported,
                vec!["not in hello's `ops`".into()],
            );
            return None;
        }
        let deadline = self.deadline();
        let (line, reply) = match self.process.call(op, user, args, deadline).await {
            Ok(reply) => reply,
            Err(e) => {
                self.conclude(name, vec![e], Vec::new());
                return None;
            }
        };
        let at = format!("stdout line {line}");
        if reply["ok"] == true {
            let result = reply.get("result").cloned().unwrap_or(Value::Null);
            let findings: Vec<String> = shape(&result)
                .into_iter()
                .map(|f| format!("{at}: reply to `{op}`: {f}"))
                .collect();
            self.conclude(name, findings, Vec::new());
            return Some(result);
        }
        let error = &reply["error"];
        if error["type"] == "unsupported" {
            self.push(
                name,
                CheckVerdict::Unsupported,
                vec![format!(
                    "{at}: answered unsupported: {}",
                    error["message"].as_str().unwrap_or_default()
                )],
            );
        } else {
            // A well-formed error is the SDK's outcome, which scenarios judge.
            self.conclude(
                name,
                Vec::new(),
                vec![format!(
                    "{at}: answered an error (the SDK's outcome): {error}"
                )],
            );
        }
        None
    }

    /// Checks that `user` got `event` (matching `matches`) since event index `from`.
    async fn expect_event(
        &mut self,
        name: &str,
        from: usize,
        user: &str,
        event: &str,
        matches: impl Fn(&Value) -> bool,
    ) {
        let deadline = self.deadline();
        let found = self
            .process
            .event(from, deadline, |e| {
                e["event"] == event && e["user"] == user && matches(&e["data"])
            })
            .await;
        if found.is_none() {
            let seen: Vec<String> = self.process.events[from..]
                .iter()
                .map(|(line, e)| format!("line {line}: {} for {}", e["event"], e["user"]))
                .collect();
            let finding = format!(
                "no `{event}` event for {user} arrived in time (events since: {})",
                if seen.is_empty() {
                    "none".into()
                } else {
                    seen.join(", ")
                }
            );
            if let Some(check) = self.checks.iter_mut().rev().find(|c| c.name == name) {
                check.verdict = CheckVerdict::Fail;
                check.notes.push(finding);
            }
        }
    }
}

/// Judges the `result` of an op's reply: the findings.
type Shape = fn(&Value) -> Vec<String>;

fn object(result: &Value) -> Vec<String> {
    if result.is_object() {
        Vec::new()
    } else {
        vec![format!("`result` must be an object, not {result}")]
    }
}

fn string_fields(result: &Value, fields: &[&str]) -> Vec<String> {
    let mut findings = object(result);
    if findings.is_empty() {
        for field in fields {
            match result.get(field) {
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(other) => findings.push(format!(
                    "`result.{field}` must be a non-empty string, not {other}"
                )),
                None => findings.push(format!("`result.{field}` is missing")),
            }
        }
    }
    findings
}

/// Checks the driver run by `command` (through `sh -c`) against a fake server; `timeout` is
/// the deadline of each reply and event.
pub async fn check(command: &str, timeout: Duration) -> CheckReport {
    let mut report = CheckReport {
        command: command.to_string(),
        checks: Vec::new(),
        stderr_tail: String::new(),
    };
    let world = WorldSpec {
        users: ["alice", "bob"]
            .into_iter()
            .map(|u| {
                (
                    u.to_string(),
                    UserSpec {
                        password: crate::scenario::DEFAULT_PASSWORD.to_string(),
                        ..Default::default()
                    },
                )
            })
            .collect(),
        ..Default::default()
    };
    let server = match FakeServer::start(world.clone()).await {
        Ok(server) => server,
        Err(e) => {
            report.checks.push(Check {
                name: "fake server".into(),
                verdict: CheckVerdict::Fail,
                notes: vec![format!("the fake server did not start: {e}")],
            });
            return report;
        }
    };
    let process = match Process::spawn(command) {
        Ok(process) => process,
        Err(e) => {
            report.checks.push(Check {
                name: "hello".into(),
                verdict: CheckVerdict::Fail,
                notes: vec![e],
            });
            server.shutdown().await;
            return report;
        }
    };
    let mut checker = Checker {
        process,
        checks: Vec::new(),
        timeout,
        ops: Vec::new(),
        capabilities: Vec::new(),
    };
    if checker.hello().await {
        run_ops(&mut checker, &server, &world).await;
    } else {
        for op in USER_OPS.iter().chain(&["unknown op", "malformed request"]) {
            checker.push(op, CheckVerdict::Skipped, vec!["hello failed".into()]);
        }
    }
    shutdown(&mut checker).await;
    checker.process.kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    report.stderr_tail = checker.process.stderr_tail();
    report.checks = checker.checks;
    server.shutdown().await;
    report
}

async fn run_ops(checker: &mut Checker, server: &FakeServer, world: &WorldSpec) {
    let urls = server.urls();
    let connect_args = || {
        json!({
            "password": crate::scenario::DEFAULT_PASSWORD,
            "appKey": world.app_key,
            "url": urls.sockjs,
            "wsUrl": urls.websocket,
            "apiUrl": urls.api,
            "options": {},
        })
    };
    let mut connected = true;
    for user in ["alice", "bob"] {
        let from = checker.process.events.len();
        let name = format!("connect ({user})");
        let ok = checker
            .op(&name, "connect", Some(user), connect_args(), object)
            .await
            .is_some();
        if ok {
            checker
                .expect_event(&name, from, user, "onOpened", |_| true)
                .await;
        }
        connected &= ok;
    }
    let from = checker.process.events.len();
    let args = json!({"type": "txt", "to": "bob", "chatType": "singleChat", "msg": TEXT});
    let sent = if connected {
        let sent = checker
            .op("send", "send", Some("alice"), args, |r| {
                string_fields(r, &["localId", "serverMsgId"])
            })
            .await;
        if sent.is_some() {
            checker
                .expect_event("send", from, "bob", "onTextMessage", |d| {
                    d["data"] == TEXT && d["from"] == "alice"
                })
                .await;
        }
        sent
    } else {
        checker.push(
            "send",
            CheckVerdict::Skipped,
            vec!["needs both users connected".into()],
        );
        None
    };
    let mid = sent
        .as_ref()
        .and_then(|s| s["serverMsgId"].as_str())
        .unwrap_or("1")
        .to_string();
    let download_args = if connected {
        attachment(checker, &urls.api).await
    } else {
        Value::Null
    };
    let checks: [(&str, &str, Value, Shape); 4] = [
        (
            "recall",
            "alice",
            json!({"mid": mid, "to": "bob", "chatType": "chat"}),
            object,
        ),
        (
            "history",
            "bob",
            json!({"queue": "alice", "isGroup": false, "count": 10}),
            |r| {
                let mut findings = object(r);
                if findings.is_empty() && !r["messages"].is_array() {
                    findings.push(format!(
                        "`result.messages` must be an array, not {}",
                        r["messages"]
                    ));
                }
                findings
            },
        ),
        ("sessions", "bob", json!({}), |_| Vec::new()),
        ("download", "bob", download_args, |r| {
            let mut findings = object(r);
            if findings.is_empty() && !r["base64"].is_string() {
                findings.push(format!(
                    "`result.base64` must be a string, not {}",
                    r["base64"]
                ));
            }
            findings
        }),
    ];
    for (op, user, args, shape) in checks {
        if connected {
            checker.op(op, op, Some(user), args, shape).await;
        } else {
            checker.push(op, CheckVerdict::Skipped, vec!["needs a connection".into()]);
        }
    }
    unknown_op(checker).await;
    malformed(checker).await;
    if connected {
        let from = checker.process.events.len();
        if checker
            .op("disconnect", "disconnect", Some("alice"), json!({}), object)
            .await
            .is_some()
        {
            checker
                .expect_event("disconnect", from, "alice", "onClosed", |_| true)
                .await;
        }
    } else {
        checker.push(
            "disconnect",
            CheckVerdict::Skipped,
            vec!["needs a connection".into()],
        );
    }
    if checker.capabilities.iter().any(|c| c == "reset") {
        reset(checker, connect_args()).await;
    } else {
        checker.push(
            "reset",
            CheckVerdict::Skipped,
            vec!["hello announces no `reset` capability".into()],
        );
    }
}

/// The `download` arguments for an attachment alice sends bob (its `url` and `secret` from
/// bob's `onFileMessage`), or for a file the server does not have when none arrives.
async fn attachment(checker: &mut Checker, api: &str) -> Value {
    let missing = json!({"url": format!("{api}/org/app/chatfiles/driver-check-missing"), "secret": "", "headers": {}});
    if !checker.listed("send") {
        return missing;
    }
    let from = checker.process.events.len();
    let args = json!({"type": "file", "to": "bob", "chatType": "singleChat",
                      "file": {"name": "driver-check.txt", "mime": "text/plain", "base64": "ZHJpdmVyLWNoZWNrCg=="}});
    let deadline = checker.deadline();
    if checker
        .process
        .call("send", Some("alice"), args, deadline)
        .await
        .is_err()
    {
        return missing;
    }
    let deadline = checker.deadline();
    match checker
        .process
        .event(from, deadline, |e| {
            e["event"] == "onFileMessage" && e["user"] == "bob" && e["data"]["url"].is_string()
        })
        .await
    {
        Some((_, event)) => {
            json!({"url": event["data"]["url"], "secret": event["data"]["secret"], "headers": {}})
        }
        None => missing,
    }
}

async fn unknown_op(checker: &mut Checker) {
    let deadline = checker.deadline();
    let findings = match checker
        .process
        .call(UNKNOWN_OP, Some("alice"), json!({}), deadline)
        .await
    {
        Err(e) => vec![e],
        Ok((line, reply)) if reply["ok"] == false && reply["error"]["type"] == "unsupported" => {
            let _ = line;
            Vec::new()
        }
        Ok((line, reply)) => vec![format!(
            "stdout line {line}: `{UNKNOWN_OP}` must be answered {{\"ok\": false, \"error\": {{\"type\": \"unsupported\"}}}}, not {}",
            preview(&reply.to_string())
        )],
    };
    checker.conclude("unknown op", findings, Vec::new());
}

async fn malformed(checker: &mut Checker) {
    let mut findings = Vec::new();
    let nulls = checker.process.null_replies.len();
    if let Err(e) = checker.process.write_line("{\"id\": 9999, \"op\": ").await {
        findings.push(e);
    }
    // The next request must still be answered.
    let deadline = checker.deadline();
    match checker
        .process
        .call(UNKNOWN_OP, Some("alice"), json!({}), deadline)
        .await
    {
        Ok(_) => {}
        Err(e) => findings.push(format!(
            "after a line that is not JSON the driver must go on: {e}"
        )),
    }
    for (line, reply) in checker.process.null_replies[nulls..].iter() {
        if reply["ok"] != false {
            findings.push(format!(
                "stdout line {line}: an answer to a malformed request must have \"ok\": false: {}",
                preview(&reply.to_string())
            ));
        }
    }
    checker.conclude(
        "malformed request",
        findings,
        vec![
            if checker.process.null_replies.len() > nulls {
                "answered {\"id\": null, \"ok\": false, ...} and went on"
            } else {
                "ignored it and went on"
            }
            .to_string(),
        ],
    );
}

async fn reset(checker: &mut Checker, connect: Value) {
    let deadline = checker.deadline();
    let mut findings = match checker
        .process
        .call(
            "reset",
            None,
            json!({"scenario": "driver-check/reset"}),
            deadline,
        )
        .await
    {
        Err(e) => vec![e],
        Ok((line, reply)) if reply["ok"] == true => object(&reply["result"])
            .into_iter()
            .map(|f| format!("stdout line {line}: reply to `reset`: {f}"))
            .collect(),
        Ok((line, reply)) => vec![format!(
            "stdout line {line}: `reset` is announced in capabilities but failed: {}",
            reply["error"]
        )],
    };
    if findings.is_empty() {
        // As fresh as a new process: a connect works again.
        let deadline = checker.deadline();
        match checker
            .process
            .call("connect", Some("alice"), connect, deadline)
            .await
        {
            Ok((_, reply)) if reply["ok"] == true => {}
            Ok((line, reply)) => findings.push(format!(
                "stdout line {line}: a connect after `reset` failed: {}",
                reply["error"]
            )),
            Err(e) => findings.push(format!("a connect after `reset`: {e}")),
        }
    }
    checker.conclude("reset", findings, Vec::new());
}

async fn shutdown(checker: &mut Checker) {
    if checker.process.closed {
        checker.push(
            "shutdown",
            CheckVerdict::Skipped,
            vec!["the driver is not running any more".into()],
        );
        let stdout = std::mem::take(&mut checker.process.all_hygiene);
        checker.conclude(
            "stdout",
            stdout,
            vec!["every line a reply or an event".into()],
        );
        return;
    }
    let deadline = checker.deadline();
    let mut findings = match checker
        .process
        .call("shutdown", None, json!({}), deadline)
        .await
    {
        Err(e) => vec![e],
        Ok((line, reply)) if reply["ok"] != true => vec![format!(
            "stdout line {line}: `shutdown` must be answered ok, not {}",
            preview(&reply.to_string())
        )],
        Ok(_) => Vec::new(),
    };
    if findings.is_empty() {
        checker.process.stdin = None;
        match tokio::time::timeout(Duration::from_secs(2), checker.process.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => findings.push(format!(
                "the driver exited with {status} after shutdown (the protocol asks for 0)"
            )),
            Ok(Err(e)) => findings.push(format!("waiting for the driver failed: {e}")),
            Err(_) => {
                findings.push("the driver is still running 2 s after answering shutdown".into())
            }
        }
        // Whatever it wrote before exiting is still checked.
        while checker
            .process
            .pump(Instant::now() + Duration::from_millis(200))
            .await
        {}
    }
    checker.conclude("shutdown", findings, Vec::new());
    let stdout = std::mem::take(&mut checker.process.all_hygiene);
    checker.conclude(
        "stdout",
        stdout,
        vec!["every line a reply or an event".into()],
    );
}
