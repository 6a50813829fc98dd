//! The steps of a running scenario, one file per step kind (as `scenario::step` declares
//! them): each takes its typed step and the scenario's state and does what the step says.
//!
//! Owns the per-run state (saved results, events and frames already used) and the dispatch
//! from [`Action`] to the step files. It does not start servers or drivers, build transcripts or
//! give verdicts (`execute` and `runner` do), and it never re-reads a step as text: every value
//! with a fixed vocabulary arrives typed.

mod advance;
mod deliver;
mod event;
mod fault;
mod frame;
mod http;
mod kick;
mod quiet;
mod request;
mod server_close;

use super::StepFailure;
use crate::driver::protocol::Capability;
use crate::driver::{Driver, DriverFailure, Hello};
use crate::scenario::{Action, Level, Scenario, Step, template};
use crate::server::{Control, FakeServer};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

use super::absence::{Missing, SETTLE_TIMEOUT, Still, Timer, Watch};

/// What one scenario's run keeps between steps.
pub(super) struct State<'a> {
    pub(super) scenario: &'a Scenario,
    pub(super) server: &'a FakeServer,
    pub(super) control: Control,
    pub(super) step_timeout: Duration,
    pub(super) saved: BTreeMap<String, Value>,
    pub(super) used_events: HashSet<usize>,
    pub(super) used_frames: HashSet<u64>,
    /// REST exchanges an `http` step already matched.
    pub(super) used_http: HashSet<u64>,
    /// How many steps were gone through so far (held, or broke and were noted).
    pub(super) completed: usize,
    /// Which checks count (`--level`).
    pub(super) judge: Level,
    /// Wire-level failures that did not count (judging at guide level), with their step index.
    pub(super) notes: Vec<(usize, StepFailure)>,
    /// Where the run last stood still, when only `quiet` steps came since: a `quiet` step (or
    /// the settle before the transcript) right after another needs no settle of its own while
    /// nothing moved (a refusal's "nobody else gets it" is a `quiet` per user, then the end).
    still: Option<Still>,
}

/// Why a step did not go through.
pub(super) enum Broken {
    /// An expectation did not hold.
    Expectation(String),
    /// The driver broke or was too slow.
    Driver(DriverFailure),
    /// The driver lacks the op.
    Unsupported(String),
}

impl From<DriverFailure> for Broken {
    fn from(e: DriverFailure) -> Self {
        Broken::Driver(e)
    }
}

impl<'a> State<'a> {
    /// The state at the start of a run.
    pub(super) fn new(
        scenario: &'a Scenario,
        server: &'a FakeServer,
        step_timeout: Duration,
        judge: Level,
    ) -> Self {
        State {
            scenario,
            server,
            control: server.control(),
            step_timeout,
            saved: BTreeMap::from([(template::SERVER.to_string(), {
                let urls = server.urls();
                serde_json::json!({"apiUrl": urls.api, "url": urls.sockjs, "wsUrl": urls.websocket})
            })]),
            used_events: HashSet::new(),
            used_frames: HashSet::new(),
            used_http: HashSet::new(),
            completed: 0,
            judge,
            notes: Vec::new(),
            still: None,
        }
    }

    /// Runs the steps in order; the first broken expectation that counts ends them. Judging at
    /// guide level, a broken wire-level expectation is noted and the steps go on.
    pub(super) async fn run_steps(
        &mut self,
        driver: &mut Driver,
        hello: &Hello,
    ) -> Result<(), StepFailure> {
        for (index, step) in self.scenario.steps.iter().enumerate() {
            let at = |message: String, level: Option<Level>| StepFailure {
                step: Some(index + 1),
                line: Some(step.line),
                message,
                level,
                unsupported: false,
                harness: false,
            };
            let timeout = step.timeout.unwrap_or(self.step_timeout);
            let deadline = Instant::now() + timeout;
            if step.timer || !matches!(step.action, Action::Quiet { .. }) {
                self.still = None;
            }
            let result = match self.step(driver, hello, step, deadline).await {
                Ok(result) => result,
                Err(broken) => {
                    let level = Some(step.level);
                    let failure = match broken {
                        Broken::Expectation(message) => at(message, level),
                        Broken::Driver(DriverFailure::Timeout { what }) => at(
                            format!("no {what} within {} ms", timeout.as_millis()),
                            level,
                        ),
                        // A driver that broke the protocol or exited, or an SDK that threw,
                        // fails at every level.
                        Broken::Driver(other) => at(other.to_string(), None),
                        Broken::Unsupported(message) => StepFailure {
                            unsupported: true,
                            ..at(message, None)
                        },
                    };
                    if failure.level == Some(Level::Wire) && self.judge == Level::Guide {
                        self.notes.push((index, failure));
                        self.completed = index + 1;
                        continue;
                    }
                    return Err(failure);
                }
            };
            if let (Some(name), Some(value)) = (&step.save_as, result) {
                self.saved.insert(name.clone(), value);
            }
            self.completed = index + 1;
        }
        Ok(())
    }

    /// One step, by its kind.
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
                request::run(
                    self,
                    driver,
                    hello,
                    op,
                    user.as_deref(),
                    args,
                    reply,
                    deadline,
                )
                .await
            }
            Action::Event(event) => {
                let timer = Timer::of(step.timer, hello.can(Capability::Timers));
                event::run(self, driver, event, timer, deadline).await
            }
            Action::Frame(frame) => frame::run(self, driver, frame, step.timer, deadline).await,
            Action::Http(http) => http::run(self, driver, http, deadline).await,
            Action::Deliver(message) => deliver::run(self, message).await,
            Action::DeliverRaw {
                from,
                to,
                chat_type,
                payload,
            } => deliver::run_raw(self, (from, to, *chat_type), payload).await,
            Action::Advance(by) => advance::run(self, *by).await,
            Action::ServerClose(close) => server_close::run(self, close).await,
            Action::Kick { user, operation } => kick::run(self, user, *operation).await,
            Action::Fault(fault) => fault::run(self, fault),
            Action::Quiet { user, window } => {
                quiet::run(self, driver, user, *window, step.timer, deadline).await
            }
        }
    }

    /// Waits until `user`'s client has handled everything the server sent it so far and the
    /// server has recorded what the client sent in reply (see [`Control::settle`]).
    pub(super) async fn settle(&self, user: &str) {
        let deadline = Instant::now() + SETTLE_TIMEOUT.min(self.step_timeout);
        self.control.settle(user, deadline).await;
    }

    /// Settles the run and waits out the grace, again while anything moves (`runner::absence`),
    /// before the transcript is taken; a run still moving at `deadline` is taken as it is.
    pub(super) async fn quiesce(
        &mut self,
        driver: &mut Driver,
        deadline: Instant,
    ) -> Result<(), StepFailure> {
        match self.stand_still(driver, deadline).await {
            Ok(()) | Err(Missing::Absent | Missing::Deadline) => Ok(()),
            Err(Missing::Unsettled(e)) => {
                Err(StepFailure::at_start(format!("before the transcript: {e}")))
            }
            Err(Missing::Driver(e)) => {
                Err(StepFailure::at_start(format!("before the transcript: {e}")))
            }
        }
    }

    /// Settles the run and waits out the grace, again while anything moves, unless it stood
    /// still since the last time (see [`State::still`]).
    async fn stand_still(&mut self, driver: &mut Driver, deadline: Instant) -> Result<(), Missing> {
        if let Some(still) = self.still
            && !still.moved_since(&self.control, driver)
        {
            return Ok(());
        }
        self.still = None;
        let recorder = self.server.recorder();
        let still = self.watch(&recorder).quiesce(driver, deadline).await?;
        self.still = Some(still);
        Ok(())
    }

    /// A watch on this run's server, for the absence rule (`runner::absence`).
    fn watch<'w>(&'w self, recorder: &'w crate::server::observe::Recorder) -> Watch<'w> {
        Watch::new(&self.control, recorder)
    }

    /// After a look at the recorder that found nothing (a frame or HTTP step): whether what it
    /// waits for is gone for good. The run is settled and graced; when nothing moved, one more
    /// look is due (the settle recorded what the clients had sent), and after it, it is gone.
    /// `what` names it in the error of a run that cannot be settled.
    async fn gone_after_look(
        &self,
        recorder: &crate::server::observe::Recorder,
        driver: &mut Driver,
        deadline: Instant,
        last_look: &mut bool,
        what: &str,
    ) -> Result<bool, Broken> {
        if *last_look {
            return Ok(true);
        }
        match self
            .watch(recorder)
            .settled_and_graced(driver, deadline)
            .await
        {
            Ok(super::absence::Moved::Something) => Ok(false),
            Ok(super::absence::Moved::Nothing(_)) => {
                *last_look = true;
                Ok(false)
            }
            Err(Missing::Unsettled(e)) => {
                Err(Broken::Expectation(format!("waiting for {what}: {e}")))
            }
            Err(Missing::Driver(e)) => Err(e.into()),
            Err(Missing::Absent | Missing::Deadline) => Ok(true),
        }
    }

    /// A step's value with its `{{name.field}}` references and `<null>`s filled.
    fn fill(&self, value: &Value) -> Result<Value, Broken> {
        template::fill(value, &self.saved).map_err(|e| Broken::Expectation(e.to_string()))
    }
}

/// The first recorded observation not in `used` whose view matches `matches`, marked used.
/// `view_of` gives an observation's view, or `None` for one of another kind or user; the last
/// view that did not match is described in `closest` (`what` names the kind there). The log is
/// read in place.
pub(super) fn take_first_match(
    recorder: &crate::server::observe::Recorder,
    used: &mut HashSet<u64>,
    matches: &Value,
    what: &str,
    closest: &mut Option<String>,
    view_of: impl for<'a> Fn(
        &'a crate::server::observe::ObservationKind,
    ) -> Option<std::borrow::Cow<'a, Value>>,
) -> Option<Value> {
    let found = recorder.read_since(0, |observed| {
        observed.iter().find_map(|o| {
            if used.contains(&o.seq) {
                return None;
            }
            let view = view_of(&o.kind)?;
            match super::matching::check(matches, &view, what) {
                Ok(()) => Some((o.seq, view.into_owned())),
                Err(m) => {
                    *closest = Some(m.to_string());
                    None
                }
            }
        })
    });
    let (seq, view) = found?;
    used.insert(seq);
    Some(view)
}
