//! One running driver process and its stdin/stdout/stderr.

use super::protocol::{
    Capability, DriverLine, Event, HELLO_VERSIONS, PROTOCOL_VERSION, Reply, Request,
};
use futures_util::StreamExt as _;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

/// Longest stdout line accepted from a driver (a line is one reply or event).
const MAX_LINE: usize = 16 * 1024 * 1024;
/// The driver event that reports an exception thrown inside the SDK or a callback
/// (`{"event": "exception", "user"?, "data": {"message", "stack"}}`).
pub const EXCEPTION_EVENT: &str = "exception";
/// How many stderr lines are kept for the failure report.
const STDERR_LINES: usize = 40;
/// How long the driver's stderr may take to reach EOF once its process group is killed.
const STDERR_DRAIN: Duration = Duration::from_secs(1);
/// How long a driver has to exit after answering `shutdown` (the protocol says 2 s).
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Why a driver could not be used any more.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DriverFailure {
    /// The command could not be started at all.
    #[error("driver command could not be started: {0}")]
    Spawn(String),
    /// The driver wrote something on stdout that breaks the protocol.
    #[error("driver broke the protocol: {0}")]
    Protocol(String),
    /// The driver's stdout closed (it exited or closed it) while the harness still needed it.
    #[error("driver exited early ({status})")]
    Exited {
        /// The exit status, as far as known.
        status: String,
    },
    /// Nothing came before the step's deadline.
    #[error("timed out waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
    },
    /// The driver reported an exception thrown inside the SDK or one of its callbacks (event
    /// `exception`): the step waiting on that user fails at once with it.
    #[error("the SDK threw an exception{}: {message}{}", user.as_ref().map(|u| format!(" for {u}")).unwrap_or_default(), if stack.is_empty() { String::new() } else { format!("\n{stack}") })]
    Exception {
        /// The connection it happened on, when the driver knows.
        user: Option<String>,
        /// The exception's message.
        message: String,
        /// Its stack, as the driver gave it.
        stack: String,
    },
}

/// What the driver said about itself in answer to `hello`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Hello {
    /// The driver's name.
    pub driver: String,
    /// The SDK it drives.
    pub sdk: String,
    /// The SDK's version.
    pub sdk_version: String,
    /// The ops it implements.
    pub ops: Vec<String>,
    /// The protocol version it speaks (1 when it did not say).
    pub protocol: u64,
    /// What it can do beyond version 1 (`"reset"`: it serves many scenarios).
    pub capabilities: Vec<String>,
}

impl Hello {
    /// Whether the driver announced `capability` (see `DRIVER-PROTOCOL.md`, "Reuse").
    pub fn can(&self, capability: Capability) -> bool {
        self.protocol >= 2 && self.capabilities.iter().any(|c| c == capability.name())
    }
}

/// One line of the conversation with a driver, in the order the harness saw them.
#[derive(Debug, Clone)]
pub enum LogEntry {
    /// A request the harness sent.
    Request(Request),
    /// A reply the driver sent.
    Reply(Reply),
    /// An event the driver sent.
    Event(Event),
}

/// A running driver.
pub struct Driver {
    child: Child,
    pgid: Option<i32>,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Result<DriverLine, DriverFailure>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    next_id: u64,
    /// The first request id of the current scenario: a late reply to an earlier scenario's
    /// request (one the SDK settled only after the reset) is dropped, not held against this one.
    scenario_first_id: u64,
    replies: HashMap<u64, Reply>,
    outstanding: HashMap<u64, String>,
    users: HashMap<u64, Option<String>>,
    events: Vec<Event>,
    /// `exception` events not yet given to a waiting step.
    exceptions: Vec<Event>,
    log: Vec<LogEntry>,
    broken: Option<DriverFailure>,
    /// What its `hello` announced (nothing before it answered).
    announced: Option<Hello>,
    /// Whether a `sync` reply of this driver said `"idle": true` (DRIVER-PROTOCOL.md,
    /// "Settling"): its absence checks then need no grace.
    answers_idle: bool,
}

impl Driver {
    /// Starts `command` through `sh -c` in a process group of its own, with the protocol's
    /// environment variables set. `extra_env` is added on top (fault switches, for instance).
    pub fn spawn(
        command: &str,
        scenario_id: &str,
        extra_env: &[(String, String)],
    ) -> Result<Driver, DriverFailure> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .env("IMSPEC_PROTOCOL", PROTOCOL_VERSION.to_string())
            .env("IMSPEC_SCENARIO", scenario_id)
            .envs(extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| DriverFailure::Spawn(format!("{command}: {e}")))?;
        let pgid = child.id().map(|id| id as i32);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");

        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut framed = FramedRead::new(stdout, LinesCodec::new_with_max_length(MAX_LINE));
            while let Some(next) = framed.next().await {
                let parsed = match next {
                    Ok(line) => DriverLine::parse(&line).map_err(|e| {
                        DriverFailure::Protocol(format!(
                            "stdout line is {e}: {}",
                            preview(&line, 200)
                        ))
                    }),
                    Err(LinesCodecError::MaxLineLengthExceeded) => Err(DriverFailure::Protocol(
                        format!("stdout line longer than {MAX_LINE} bytes"),
                    )),
                    Err(LinesCodecError::Io(e)) => Err(DriverFailure::Protocol(format!(
                        "stdout is not UTF-8 text ({e})"
                    ))),
                };
                let stop = parsed.is_err();
                if tx.send(parsed).is_err() || stop {
                    return;
                }
            }
        });

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut reader = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(preview(&line, 400));
            }
        });

        Ok(Driver {
            child,
            pgid,
            stdin,
            lines,
            stderr,
            stderr_reader: Some(stderr_reader),
            next_id: 1,
            scenario_first_id: 1,
            replies: HashMap::new(),
            outstanding: HashMap::new(),
            users: HashMap::new(),
            events: Vec::new(),
            exceptions: Vec::new(),
            log: Vec::new(),
            broken: None,
            announced: None,
            answers_idle: false,
        })
    }

    /// Sends `hello` and checks the protocol version the driver speaks. A driver refuses a
    /// version it does not know; it gets another `hello` asking for the next lower one.
    pub async fn hello(&mut self, deadline: Instant) -> Result<Hello, DriverFailure> {
        let mut reply = None;
        for version in HELLO_VERSIONS {
            let answer = self
                .call("hello", None, json!({"protocol": version}), deadline)
                .await?;
            let accepted = answer.ok;
            reply = Some(answer);
            if accepted {
                break;
            }
        }
        let reply = reply.expect("HELLO_VERSIONS is not empty");
        if !reply.ok {
            return Err(self.fail(DriverFailure::Protocol(format!(
                "driver refused hello: {}",
                serde_json::to_string(&reply.error).unwrap_or_default()
            ))));
        }
        let result = reply.result.unwrap_or(Value::Null);
        let text = |key: &str| {
            result
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let hello = Hello {
            driver: text("driver"),
            sdk: text("sdk"),
            sdk_version: text("sdkVersion"),
            ops: result
                .get("ops")
                .and_then(Value::as_array)
                .map(|ops| {
                    ops.iter()
                        .filter_map(|o| o.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            protocol: result.get("protocol").and_then(Value::as_u64).unwrap_or(1),
            capabilities: result
                .get("capabilities")
                .and_then(Value::as_array)
                .map(|all| {
                    all.iter()
                        .filter_map(|c| c.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        };
        self.announced = Some(hello.clone());
        Ok(hello)
    }

    /// Whether its `hello` announced `capability`.
    pub fn can(&self, capability: Capability) -> bool {
        self.announced.as_ref().is_some_and(|h| h.can(capability))
    }

    /// Whether a `sync` reply of this driver has said `"idle": true`.
    pub fn answers_idle(&self) -> bool {
        self.answers_idle
    }

    /// Notes that a `sync` reply said `"idle": true`.
    pub fn note_idle_answer(&mut self) {
        self.answers_idle = true;
    }

    /// Asks a driver that announced `sync`, before its first scenario, whether it answers
    /// `idle` (with no connection it is idle if it ever says so), so that its first absence
    /// check already waits no grace. A failure here shows again at the scenario's first step.
    pub async fn probe_idle(&mut self, deadline: Instant) {
        if !self.can(Capability::Sync) {
            return;
        }
        if let Ok(reply) = self.call("sync", None, json!({}), deadline).await
            && reply.ok
            && reply.result.is_some_and(|r| r["idle"] == true)
        {
            self.answers_idle = true;
        }
    }

    /// Asks a driver that announced `reset` to become as fresh as a new process (every
    /// connection closed, every handler and per-user state dropped), for reuse by another
    /// scenario. What it sends before the reply still belongs to the scenario that ends.
    /// Returns the reply's result.
    pub async fn reset(
        &mut self,
        scenario_id: &str,
        deadline: Instant,
    ) -> Result<Value, DriverFailure> {
        let reply = self
            .call("reset", None, json!({"scenario": scenario_id}), deadline)
            .await?;
        if reply.ok {
            return Ok(reply.result.unwrap_or_default());
        }
        Err(self.fail(DriverFailure::Protocol(format!(
            "driver refused reset: {}",
            serde_json::to_string(&reply.error).unwrap_or_default()
        ))))
    }

    /// Starts a new scenario on a driver that was reset: forgets the previous scenario's
    /// requests, events and stderr, and drops lines already written but not read (they came
    /// after the reset reply, which the protocol forbids; a driver that wrote garbage is
    /// broken). Returns whether the driver can still be used.
    pub fn begin_scenario(&mut self) -> bool {
        while let Ok(line) = self.lines.try_recv() {
            if let Err(failure) = line {
                self.fail(failure);
            }
        }
        self.replies.clear();
        self.outstanding.clear();
        self.scenario_first_id = self.next_id;
        self.events.clear();
        self.log.clear();
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.broken.is_none()
    }

    /// Whether the driver broke the protocol, exited or was killed.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Sends a request and returns its id without waiting for the reply.
    pub async fn request(
        &mut self,
        op: &str,
        user: Option<&str>,
        args: Value,
    ) -> Result<u64, DriverFailure> {
        self.check()?;
        let request = Request {
            id: self.next_id,
            op: op.to_string(),
            user: user.map(String::from),
            args,
        };
        self.next_id += 1;
        let mut line = serde_json::to_string(&request).expect("requests serialise");
        line.push('\n');
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .await
                .and(stdin.flush().await),
            None => Err(std::io::Error::other("stdin closed")),
        };
        if let Err(e) = written {
            let status = self.exit_status().await;
            return Err(self.fail(DriverFailure::Exited {
                status: format!("{status}; writing to its stdin failed: {e}"),
            }));
        }
        self.outstanding.insert(request.id, op.to_string());
        self.users.insert(request.id, request.user.clone());
        self.log.push(LogEntry::Request(request.clone()));
        Ok(request.id)
    }

    /// Waits for the reply to request `id`. An exception reported on the request's user (or on
    /// no user) ends the wait at once. A request on no user (`sync`, `reset`) is ended only by
    /// an exception on no user: one on a user is left to that user's steps, so which step an
    /// exception fails does not depend on whether a settle happened to ask the driver first.
    pub async fn reply(&mut self, id: u64, deadline: Instant) -> Result<Reply, DriverFailure> {
        let user = self.users.get(&id).cloned().flatten();
        loop {
            if let Some(reply) = self.replies.remove(&id) {
                return Ok(reply);
            }
            let exception = match user.as_deref() {
                Some(user) => self.take_exception(Some(user)),
                None => self.take_userless_exception(),
            };
            if let Some(exception) = exception {
                return Err(exception);
            }
            let op = self.outstanding.get(&id).cloned().unwrap_or_default();
            self.pump(deadline, || format!("reply to `{op}` (request {id})"))
                .await?;
        }
    }

    /// Sends a request and waits for its reply.
    pub async fn call(
        &mut self,
        op: &str,
        user: Option<&str>,
        args: Value,
        deadline: Instant,
    ) -> Result<Reply, DriverFailure> {
        let id = self.request(op, user, args).await?;
        self.reply(id, deadline).await
    }

    /// Waits until an event at index `from` or later satisfies `matches`; returns its index.
    pub async fn event(
        &mut self,
        from: usize,
        deadline: Instant,
        what: &str,
        matches: impl FnMut(usize, &Event) -> bool,
    ) -> Result<usize, DriverFailure> {
        self.event_of(None, from, deadline, what, matches).await
    }

    /// [`Driver::event`] for a step waiting on `user`: an exception reported on that user (or
    /// on no user) ends the wait at once.
    pub async fn event_of(
        &mut self,
        user: Option<&str>,
        from: usize,
        deadline: Instant,
        what: &str,
        mut matches: impl FnMut(usize, &Event) -> bool,
    ) -> Result<usize, DriverFailure> {
        let mut checked = from;
        loop {
            while checked < self.events.len() {
                if matches(checked, &self.events[checked]) {
                    return Ok(checked);
                }
                checked += 1;
            }
            if let Some(exception) = self.take_exception(user) {
                return Err(exception);
            }
            self.pump(deadline, || what.to_string()).await?;
        }
    }

    /// Collects whatever arrives until `deadline`; a timeout here is not a failure.
    pub async fn drain_until(&mut self, deadline: Instant) -> Result<(), DriverFailure> {
        match self.pump(deadline, String::new).await {
            Err(DriverFailure::Timeout { .. }) | Ok(()) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Whether an `exception` reported on `user` (or on no user; any when `None`) waits to be
    /// given to a step.
    pub fn has_exception(&self, user: Option<&str>) -> bool {
        self.exception_at(user).is_some()
    }

    fn exception_at(&self, user: Option<&str>) -> Option<usize> {
        self.exceptions
            .iter()
            .position(|e| user.is_none() || e.user.is_none() || e.user.as_deref() == user)
    }

    /// The first `exception` reported on `user` (or on no user; any user when `user` is
    /// `None`) that no step has been given yet, as a failure.
    pub fn take_exception(&mut self, user: Option<&str>) -> Option<DriverFailure> {
        let at = self.exception_at(user)?;
        Some(self.exception_failure(at))
    }

    /// Every `exception` no step has been given yet is taken (none is left for what comes
    /// next: another scenario of a reused driver, the next fuzz case); the first, as a failure.
    pub fn take_unclaimed_exception(&mut self) -> Option<DriverFailure> {
        let first = self.take_exception(None);
        self.exceptions.clear();
        first
    }

    /// The first `exception` reported on no user that no step has been given yet.
    fn take_userless_exception(&mut self) -> Option<DriverFailure> {
        let at = self.exceptions.iter().position(|e| e.user.is_none())?;
        Some(self.exception_failure(at))
    }

    fn exception_failure(&mut self, at: usize) -> DriverFailure {
        let event = self.exceptions.remove(at);
        let text = |key: &str| match event.data.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        DriverFailure::Exception {
            user: event.user.clone(),
            message: text("message"),
            stack: text("stack"),
        }
    }

    /// Waits for one more line (reply or event) until `deadline`; returns whether one came.
    pub async fn next_line_until(&mut self, deadline: Instant) -> Result<bool, DriverFailure> {
        match self.pump(deadline, String::new).await {
            Ok(()) => Ok(true),
            Err(DriverFailure::Timeout { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Every event received so far, in arrival order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The whole conversation so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// The last lines the driver wrote on stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Asks the driver to shut down and waits for it to exit. A driver that does not answer,
    /// or is still running 2 s after answering, is killed with its process group and reported.
    /// Returns the reply's result (null when the driver was broken already).
    pub async fn shutdown(&mut self, deadline: Instant) -> Result<Value, DriverFailure> {
        let outcome = if self.broken.is_some() {
            Ok(Value::Null)
        } else {
            match self.call("shutdown", None, json!({}), deadline).await {
                Ok(reply) => {
                    self.stdin = None;
                    match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
                        Ok(Ok(status)) if status.success() => Ok(reply.result.unwrap_or_default()),
                        Ok(Ok(status)) => Err(DriverFailure::Protocol(format!(
                            "driver exited with {status} after shutdown (the protocol asks for 0)"
                        ))),
                        Ok(Err(e)) => Err(DriverFailure::Protocol(format!("wait failed: {e}"))),
                        Err(_) => Err(DriverFailure::Protocol(
                            "driver still running 2 s after answering shutdown".into(),
                        )),
                    }
                }
                Err(e) => Err(e),
            }
        };
        self.kill();
        // Reaped here (bounded), not left to the runtime's background reaper.
        let _ = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await;
        // Once the process group is gone its stderr reaches EOF: collect the last lines (bounded,
        // in case something outside the group still holds the pipe).
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
        }
        outcome
    }

    /// Kills the driver's whole process group.
    pub fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        let _ = self.child.start_kill();
    }

    /// Receives one line and files it, or fails.
    async fn pump(
        &mut self,
        deadline: Instant,
        what: impl Fn() -> String,
    ) -> Result<(), DriverFailure> {
        self.check()?;
        match timeout_at(deadline, self.lines.recv()).await {
            Err(_) => Err(DriverFailure::Timeout { what: what() }),
            Ok(None) => {
                let status = self.exit_status().await;
                Err(self.fail(DriverFailure::Exited { status }))
            }
            Ok(Some(Err(failure))) => Err(self.fail(failure)),
            // Not an SDK callback: kept apart for the step waiting on its user (and out of the
            // transcript, whose stacks would differ from machine to machine).
            Ok(Some(Ok(DriverLine::Event(event)))) if event.event == EXCEPTION_EVENT => {
                self.exceptions.push(event);
                Ok(())
            }
            Ok(Some(Ok(DriverLine::Event(event)))) => {
                self.log.push(LogEntry::Event(event.clone()));
                self.events.push(event);
                Ok(())
            }
            Ok(Some(Ok(DriverLine::Reply(reply)))) if reply.id < self.scenario_first_id => {
                self.stderr
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_back(format!(
                        "imspec: dropped a late reply to request {} of the previous scenario",
                        reply.id
                    ));
                Ok(())
            }
            Ok(Some(Ok(DriverLine::Reply(reply)))) => {
                if self.outstanding.remove(&reply.id).is_none() {
                    return Err(self.fail(DriverFailure::Protocol(format!(
                        "reply to request {} which is unknown or already answered",
                        reply.id
                    ))));
                }
                self.log.push(LogEntry::Reply(reply.clone()));
                self.replies.insert(reply.id, reply);
                Ok(())
            }
        }
    }

    fn check(&self) -> Result<(), DriverFailure> {
        match &self.broken {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, failure: DriverFailure) -> DriverFailure {
        self.broken = Some(failure.clone());
        self.kill();
        failure
    }

    async fn exit_status(&mut self) -> String {
        match tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("status unknown: {e}"),
            Err(_) => "stdout closed, process still running".to_string(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
