//! `imspec driver-check`: a driver against `DRIVER-PROTOCOL.md`, op by op, against a fake
//! server: `hello`'s fields and version, the reply shape of each op (`connect`, `send`,
//! `recall`, `history`, `sessions`, `download`, `disconnect`, `reset` when announced), an unknown
//! op, a malformed request, stdout hygiene and `shutdown`. Each finding names the stdout line and
//! the field.
//!
//! It reads the driver's stdout itself, line by line, instead of through [`super::Driver`], so
//! that it can name lines and go on after a bad one. It checks the protocol, not the SDK's
//! behaviour: an op answered with a well-formed error is the SDK's outcome, not a finding.

mod ops;
mod process;

use super::protocol::{HELLO_VERSIONS, PROTOCOL_VERSION};
use crate::driver::protocol::USER_OPS;
use crate::server::{FakeServer, UserSpec, WorldSpec};
use process::{Process, preview};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

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

    /// Whether `hello` announced `capability`.
    fn announces(&self, capability: crate::driver::protocol::Capability) -> bool {
        self.capabilities.iter().any(|c| c == capability.name())
    }

    fn listed(&self, op: &str) -> bool {
        self.ops.is_empty() || self.ops.iter().any(|o| o == op)
    }

    async fn hello(&mut self) -> bool {
        let deadline = self.deadline();
        // a driver refuses a version it does not know: ask for the next lower one
        let mut answer = None;
        for version in HELLO_VERSIONS {
            let reply = self
                .process
                .call("hello", None, json!({"protocol": version}), deadline)
                .await;
            let (line, reply) = match reply {
                Ok(reply) => reply,
                Err(e) => {
                    self.conclude("hello", vec![e], Vec::new());
                    return false;
                }
            };
            let accepted = reply["ok"] == true;
            answer = Some((line, reply));
            if accepted {
                break;
            }
        }
        let (line, reply) = answer.expect("HELLO_VERSIONS is not empty");
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
        ops::run_ops(&mut checker, &server, &world).await;
    } else {
        for op in USER_OPS.iter().chain(&["unknown op", "malformed request"]) {
            checker.push(op, CheckVerdict::Skipped, vec!["hello failed".into()]);
        }
    }
    ops::shutdown(&mut checker).await;
    checker.process.kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    report.stderr_tail = checker.process.stderr_tail();
    report.checks = checker.checks;
    server.shutdown().await;
    report
}
