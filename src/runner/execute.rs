//! Running one scenario: a fresh fake server and a fresh (or reset, pooled) driver, the steps in
//! order, a settle, then the transcript against its snapshot. The first broken expectation ends
//! the steps.

use super::absence::{self, Missing, SETTLE_TIMEOUT, Watch};
use super::matching;
use super::sequence::{self, StepStatus};
use super::snapshot::{self, SnapshotOutcome};
use super::transcript;
use super::{Outcome, RunConfig, ScenarioRun, StepFailure};
use crate::driver::protocol::Reply;
use crate::driver::{ClientKey, Driver, DriverFailure, DriverPool, Hello, Pooled};
use crate::scenario::{Action, ReplyExpectation, Scenario, Step, template};
use crate::server::observe::ObservationKind;
use crate::server::{Control, FakeServer, Fault, FaultAction, FaultTrigger};
use crate::wire::{Direction, pb};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// How long a driver has to answer `shutdown` (it then has 2 s more to exit, as the protocol
/// says); a driver that hung in a step gets no more than this.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one scenario to its outcome. Never panics on bad input; every problem becomes part of
/// the outcome.
pub async fn run(scenario: &Scenario, config: &RunConfig, pool: &DriverPool) -> ScenarioRun {
    let started = std::time::Instant::now();
    let mut run = ScenarioRun::new(scenario);
    let server = match FakeServer::start(scenario.world.clone()).await {
        Ok(server) => server,
        Err(e) => {
            run.outcome = Outcome::HarnessError(format!("fake server did not start: {e}"));
            run.duration = started.elapsed();
            return run;
        }
    };
    let step_timeout = scenario.step_timeout.unwrap_or(config.step_timeout);
    let key = ClientKey {
        command: config.client.command.clone(),
        env: config.client.env.clone(),
    };
    let (mut driver, hello) = match pool.take(&key) {
        Some(Pooled { driver, hello }) => (driver, Ok(hello)),
        None => match Driver::spawn(&config.client.command, &scenario.id, &config.client.env) {
            Ok(mut driver) => {
                let hello = driver.hello(Instant::now() + step_timeout).await;
                (driver, hello)
            }
            Err(e) => {
                server.shutdown().await;
                run.outcome = Outcome::HarnessError(e.to_string());
                run.duration = started.elapsed();
                return run;
            }
        },
    };
    let mut state = State {
        scenario,
        server: &server,
        control: server.control(),
        step_timeout,
        saved: BTreeMap::new(),
        used_events: HashSet::new(),
        used_frames: HashSet::new(),
        completed: 0,
    };

    let mut failure = match &hello {
        Ok(hello) => {
            run.hello = Some(hello.clone());
            match state.run_steps(&mut driver, hello).await {
                Err(failure) => Some(failure),
                Ok(()) => state
                    .control
                    .settle_all(Instant::now() + SETTLE_TIMEOUT)
                    .await
                    .err()
                    .map(|e| StepFailure::at_start(format!("before the transcript: {e}"))),
            }
        }
        // A driver that is gone before its `hello` never started: the harness cannot run it.
        Err(e @ (DriverFailure::Exited { .. } | DriverFailure::Spawn(_))) => Some(StepFailure {
            harness: true,
            ..StepFailure::at_start(format!(
                "the driver `{}` did not start: {e} before answering hello",
                config.client.command
            ))
        }),
        Err(e) => Some(StepFailure::at_start(format!("hello: {e}"))),
    };
    // A driver that can be reset serves the next scenario; the others are shut down. Either
    // way every connection closes while this scenario's server still runs.
    let reuse = match &hello {
        Ok(hello) => pool.reuses() && hello.can("reset") && !driver.is_broken(),
        Err(_) => false,
    };
    let (op, ended) = if reuse {
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        ("reset", driver.reset(&scenario.id, deadline).await)
    } else {
        (
            "shutdown",
            driver.shutdown(Instant::now() + SHUTDOWN_TIMEOUT).await,
        )
    };
    if let Err(e) = ended
        && failure.is_none()
    {
        failure = Some(StepFailure::at_start(format!("{op}: {e}")));
    }
    run.stderr_tail = driver.stderr_tail();
    let completed = state.completed;

    let observations = server.recorder().observations();
    let port = url_port(&server.urls().api);
    server.shutdown().await;
    let text = transcript::build(&observations, driver.log(), port);
    if reuse
        && !driver.is_broken()
        && let Ok(hello) = hello
    {
        pool.give(key, Pooled { driver, hello }).await;
    }
    let broken = failure.as_ref().filter(|f| f.step.is_some()).map(|f| {
        if f.unsupported {
            StepStatus::Unsupported
        } else {
            StepStatus::Failed
        }
    });
    run.steps = sequence::steps(scenario, completed, broken);
    run.wire = sequence::wire(&observations);
    run.outcome = match failure {
        Some(f) if f.harness => Outcome::HarnessError(f.message),
        Some(f) if f.unsupported => Outcome::Unsupported(f.message),
        Some(f) => Outcome::Fail(f),
        None => {
            let folder = run.hello.as_ref().map_or_else(
                || config.snapshots.clone(),
                |h| snapshot::folder_for(&config.snapshots, &h.sdk, &h.sdk_version),
            );
            let path = snapshot::path_for(&folder, &scenario.id);
            let source = scenario.path.display().to_string();
            match snapshot::check(&path, &source, &text, config.update_snapshots) {
                SnapshotOutcome::Matches => Outcome::Pass,
                SnapshotOutcome::Written => {
                    run.snapshot_written = true;
                    Outcome::Pass
                }
                SnapshotOutcome::Missing => Outcome::Fail(StepFailure::at_start(format!(
                    "no snapshot at {}; review the transcript and record it with --update-snapshots",
                    path.display()
                ))),
                SnapshotOutcome::Differs(diff) => {
                    run.diff = Some(diff);
                    Outcome::Fail(StepFailure::at_start(format!(
                        "the transcript differs from {}",
                        path.display()
                    )))
                }
                SnapshotOutcome::Unreadable(why) => Outcome::HarnessError(why),
            }
        }
    };
    run.transcript = text;
    run.duration = started.elapsed();
    run
}

struct State<'a> {
    scenario: &'a Scenario,
    server: &'a FakeServer,
    control: Control,
    step_timeout: Duration,
    saved: BTreeMap<String, Value>,
    used_events: HashSet<usize>,
    used_frames: HashSet<u64>,
    /// How many steps held so far.
    completed: usize,
}

impl State<'_> {
    async fn run_steps(&mut self, driver: &mut Driver, hello: &Hello) -> Result<(), StepFailure> {
        for (index, step) in self.scenario.steps.iter().enumerate() {
            let at = |message: String| StepFailure {
                step: Some(index + 1),
                line: Some(step.line),
                message,
                unsupported: false,
                harness: false,
            };
            let timeout = step.timeout.unwrap_or(self.step_timeout);
            let deadline = Instant::now() + timeout;
            let result = self
                .step(driver, hello, step, deadline)
                .await
                .map_err(|e| match e {
                    Broken::Expectation(message) => at(message),
                    Broken::Driver(DriverFailure::Timeout { what }) => {
                        at(format!("no {what} within {} ms", timeout.as_millis()))
                    }
                    Broken::Driver(other) => at(other.to_string()),
                    Broken::Unsupported(message) => StepFailure {
                        unsupported: true,
                        ..at(message)
                    },
                })?;
            if let (Some(name), Some(value)) = (&step.save_as, result) {
                self.saved.insert(name.clone(), value);
            }
            self.completed = index + 1;
        }
        Ok(())
    }

    async fn step(
        &mut self,
        driver: &mut Driver,
        hello: &Hello,
        step: &Step,
        deadline: Instant,
    ) -> Result<Option<Value>, Broken> {
        match &step.action {
            Action::Request {
                op,
                user,
                args,
                reply,
            } => {
                if !hello.ops.is_empty() && !hello.ops.iter().any(|o| o == op) {
                    return Err(Broken::Unsupported(format!(
                        "the driver does not list op `{op}` in hello"
                    )));
                }
                let mut args = self.fill(args)?;
                if op == "connect" {
                    args = self.connect_args(user.as_deref().unwrap_or_default(), args);
                }
                if *reply == ReplyExpectation::None {
                    driver.request(op, user.as_deref(), args).await?;
                    return Ok(None);
                }
                let answer = driver.call(op, user.as_deref(), args, deadline).await?;
                let result = check_reply(op, &answer, reply, &self.saved)?;
                if op == "connect"
                    && answer.ok
                    && let Some(user) = user
                {
                    self.settle(user).await;
                }
                Ok(result)
            }
            Action::Event { user, name, data } => {
                let started = Instant::now();
                let data = data.as_ref().map(|d| self.fill(d)).transpose()?;
                let used = &self.used_events;
                let recorder = self.server.recorder();
                let watch = Watch::new(&self.control, &recorder);
                let what = format!("event {name} for {user}");
                let found = watch
                    .event(driver, 0, timer(step), deadline, &what, |i, e| {
                        !used.contains(&i)
                            && e.event == *name
                            && e.user.as_deref() == Some(user)
                            && data
                                .as_ref()
                                .is_none_or(|d| matching::check(d, &e.data, "data").is_ok())
                    })
                    .await;
                match found {
                    Ok(index) => {
                        self.used_events.insert(index);
                        Ok(Some(driver.events()[index].data.clone()))
                    }
                    Err(missing @ (Missing::Absent | Missing::Deadline)) => {
                        let when = match missing {
                            Missing::Absent => "once the run settled".to_string(),
                            _ => format!("within {} ms", (deadline - started).as_millis()),
                        };
                        Err(Broken::Expectation(self.explain_missing_event(
                            driver,
                            user,
                            name,
                            data.as_ref(),
                            &when,
                        )))
                    }
                    Err(Missing::Unsettled(e)) => {
                        Err(Broken::Expectation(format!("waiting for {what}: {e}")))
                    }
                    Err(Missing::Driver(other)) => Err(other.into()),
                }
            }
            Action::Frame {
                user,
                direction,
                matches,
            } => {
                let matches = self.fill(matches)?;
                self.frame(
                    driver,
                    user.as_deref(),
                    *direction,
                    &matches,
                    timer(step),
                    deadline,
                )
                .await
                .map(Some)
            }
            Action::Deliver { message } => {
                let message = self.fill(message)?;
                let scripted = super::scripted::message(&message).map_err(Broken::Expectation)?;
                let id = self.control.deliver(scripted).await.map_err(|e| {
                    Broken::Expectation(format!("the server could not deliver: {e}"))
                })?;
                Ok(Some(json!({"serverMsgId": id.to_string()})))
            }
            Action::Advance { by } => {
                self.control.advance(by.as_millis() as u64);
                self.control.release_held().await;
                Ok(None)
            }
            Action::ServerClose { user, code, reason } => {
                self.control.close(user, *code, reason).await.map_err(|e| {
                    Broken::Expectation(format!("the server could not close {user}'s socket: {e}"))
                })?;
                Ok(None)
            }
            Action::Kick { user, operation } => {
                let op =
                    pb::statistics_body::Operation::from_str_name(operation).ok_or_else(|| {
                        Broken::Expectation(format!(
                            "`{operation}` is not a StatisticsBody.Operation"
                        ))
                    })?;
                self.control.kick(user, op).await.map_err(|e| {
                    Broken::Expectation(format!("the server could not kick {user}: {e}"))
                })?;
                Ok(None)
            }
            Action::Fault {
                user,
                on,
                action,
                code,
                reason,
                delay,
                body,
            } => {
                let on = match on.as_str() {
                    "provision" => FaultTrigger::Provision,
                    "unread" => FaultTrigger::Unread,
                    "history" => FaultTrigger::History,
                    "upload" => FaultTrigger::Upload,
                    "download" => FaultTrigger::Download,
                    _ => FaultTrigger::Message,
                };
                let http = matches!(on, FaultTrigger::Upload | FaultTrigger::Download);
                let action = match action.as_str() {
                    _ if http => FaultAction::Http {
                        status: code.unwrap_or(500) as u16,
                        body: body.clone().unwrap_or(Value::Null),
                    },
                    "drop" => FaultAction::Drop,
                    "delay" => FaultAction::Delay {
                        ms: delay.map_or(0, |d| d.as_millis() as u64),
                    },
                    "close" => FaultAction::Close {
                        code: code.unwrap_or(3000) as u16,
                        reason: reason.clone().unwrap_or_else(|| "Go away!".into()),
                    },
                    _ => FaultAction::Status {
                        code: code.unwrap_or(1) as i32,
                        reason: reason.clone(),
                    },
                };
                self.control.arm(Fault {
                    user: user.clone(),
                    on,
                    action,
                });
                Ok(None)
            }
            Action::Quiet { user, window } => {
                let before = driver.events().len();
                if timer(step) {
                    driver.drain_until(Instant::now() + *window).await?;
                } else {
                    let recorder = self.server.recorder();
                    let watch = Watch::new(&self.control, &recorder);
                    match watch.quiesce(driver, deadline).await {
                        Ok(()) | Err(Missing::Deadline) => {}
                        Err(Missing::Unsettled(e)) => {
                            return Err(Broken::Expectation(e.to_string()));
                        }
                        Err(Missing::Driver(e)) => return Err(e.into()),
                        Err(Missing::Absent) => {}
                    }
                }
                let late: Vec<String> = driver.events()[before..]
                    .iter()
                    .filter(|e| e.user.as_deref() == Some(user))
                    .map(|e| format!("{} {}", e.event, e.data))
                    .collect();
                if late.is_empty() {
                    Ok(None)
                } else {
                    Err(Broken::Expectation(format!(
                        "expected nothing more for {user}{}, got: {}",
                        if timer(step) {
                            format!(" within {} ms", window.as_millis())
                        } else {
                            " once the run settled".to_string()
                        },
                        late.join("; ")
                    )))
                }
            }
        }
    }

    /// Waits until `user`'s client has handled everything the server sent it so far and the
    /// server has recorded what the client sent in reply (see [`Control::settle`]).
    async fn settle(&self, user: &str) {
        let deadline = Instant::now() + SETTLE_TIMEOUT.min(self.step_timeout);
        self.control.settle(user, deadline).await;
    }

    fn fill(&self, value: &Value) -> Result<Value, Broken> {
        template::fill(value, &self.saved).map_err(|e| Broken::Expectation(e.to_string()))
    }

    /// The `connect` arguments: the world's password and the server's URLs unless the step
    /// sets them.
    fn connect_args(&self, user: &str, args: Value) -> Value {
        let urls = self.server.urls();
        let password = self
            .scenario
            .world
            .users
            .get(user)
            .map(|u| u.password.clone())
            .unwrap_or_default();
        let mut full = json!({
            "password": password,
            "appKey": self.scenario.world.app_key,
            "url": urls.sockjs,
            "wsUrl": urls.websocket,
            "apiUrl": urls.api,
            "options": {},
        });
        if let (Some(full), Value::Object(given)) = (full.as_object_mut(), args) {
            full.extend(given);
        }
        full
    }

    async fn frame(
        &mut self,
        driver: &mut Driver,
        user: Option<&str>,
        direction: Direction,
        matches: &Value,
        timer: bool,
        deadline: Instant,
    ) -> Result<Value, Broken> {
        let recorder = self.server.recorder();
        let mut closest: Option<String> = None;
        let mut last_look = false;
        loop {
            let seen = recorder.len();
            for o in recorder.observations() {
                let ObservationKind::Frame(f) = &o.kind else {
                    continue;
                };
                if self.used_frames.contains(&o.seq)
                    || f.direction != direction
                    || user.is_some_and(|u| f.user.as_deref() != Some(u))
                {
                    continue;
                }
                match matching::check(matches, &f.view, "frame") {
                    Ok(()) => {
                        self.used_frames.insert(o.seq);
                        return Ok(f.view.clone());
                    }
                    Err(m) => closest = Some(m.to_string()),
                }
            }
            let gone = if last_look {
                true
            } else if timer {
                tokio::time::timeout_at(deadline, recorder.wait_beyond(seen))
                    .await
                    .is_err()
            } else {
                let watch = Watch::new(&self.control, &recorder);
                match watch.settled_and_graced(driver, deadline).await {
                    Ok(absence::Moved::Something) => false,
                    // One more look: the settle recorded what the clients had sent.
                    Ok(absence::Moved::Nothing) => {
                        last_look = true;
                        false
                    }
                    Err(Missing::Unsettled(e)) => {
                        return Err(Broken::Expectation(format!("waiting for a frame: {e}")));
                    }
                    Err(Missing::Driver(e)) => return Err(e.into()),
                    Err(Missing::Absent | Missing::Deadline) => true,
                }
            };
            if gone {
                let who = user.map(|u| format!(" for {u}")).unwrap_or_default();
                return Err(Broken::Expectation(format!(
                    "no {} frame{who} matched {matches}{}",
                    direction.as_str(),
                    closest
                        .map(|c| format!("; the last candidate differs {c}"))
                        .unwrap_or_default()
                )));
            }
        }
    }

    fn explain_missing_event(
        &self,
        driver: &Driver,
        user: &str,
        name: &str,
        data: Option<&Value>,
        when: &str,
    ) -> String {
        let candidates: Vec<String> = driver
            .events()
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                !self.used_events.contains(i) && e.event == name && e.user.as_deref() == Some(user)
            })
            .filter_map(|(_, e)| data.and_then(|d| matching::check(d, &e.data, "data").err()))
            .map(|m| m.to_string())
            .collect();
        if let Some(first) = candidates.first() {
            return format!("{name} for {user} arrived but does not match: {first}");
        }
        let seen: Vec<&str> = driver
            .events()
            .iter()
            .filter(|e| e.user.as_deref() == Some(user))
            .map(|e| e.event.as_str())
            .collect();
        format!(
            "no {name} for {user} arrived {when}; events seen for {user}: {}",
            if seen.is_empty() {
                "none".to_string()
            } else {
                seen.join(", ")
            }
        )
    }
}

/// Whether a step keeps a wall-clock deadline: its event comes from the client's own timer.
/// Until the scenario model has `timer = true`, a step that sets its own `timeout_ms` says so.
fn timer(step: &Step) -> bool {
    step.timeout.is_some()
}

/// Why a step did not go through.
enum Broken {
    Expectation(String),
    Driver(DriverFailure),
    Unsupported(String),
}

impl From<DriverFailure> for Broken {
    fn from(e: DriverFailure) -> Self {
        Broken::Driver(e)
    }
}

fn check_reply(
    op: &str,
    reply: &Reply,
    expected: &ReplyExpectation,
    saved: &BTreeMap<String, Value>,
) -> Result<Option<Value>, Broken> {
    if let Some(error) = &reply.error
        && error.is_unsupported()
    {
        return Err(Broken::Unsupported(format!(
            "the driver does not support `{op}`: {}",
            error.message.clone().unwrap_or_default()
        )));
    }
    let error_value = || serde_json::to_value(&reply.error).unwrap_or(Value::Null);
    let fill = |v: &Value| template::fill(v, saved).map_err(|e| Broken::Expectation(e.to_string()));
    match (expected, reply.ok) {
        (ReplyExpectation::Ok(result), true) => {
            let actual = reply.result.clone().unwrap_or(Value::Null);
            if let Some(result) = result {
                matching::check(&fill(result)?, &actual, "result")
                    .map_err(|m| Broken::Expectation(format!("`{op}` reply {m}")))?;
            }
            Ok(Some(actual))
        }
        (ReplyExpectation::Err(error), false) => {
            let actual = error_value();
            if let Some(error) = error {
                matching::check(&fill(error)?, &actual, "error")
                    .map_err(|m| Broken::Expectation(format!("`{op}` error {m}")))?;
            }
            Ok(Some(actual))
        }
        (ReplyExpectation::None, _) => Ok(None),
        (ReplyExpectation::Ok(_), false) => Err(Broken::Expectation(format!(
            "`{op}` failed but should succeed: {}",
            error_value()
        ))),
        (ReplyExpectation::Err(_), true) => Err(Broken::Expectation(format!(
            "`{op}` succeeded but should fail: {}",
            reply.result.clone().unwrap_or(Value::Null)
        ))),
    }
}

fn url_port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(0)
}
