//! Deciding that something expected is absent without waiting for a deadline.
//!
//! An expected event (or `quiet` step's silence) is judged once the run is settled
//! ([`Control::settle_all`]: every client has handled everything the server sent and the server
//! has recorded everything the clients sent), plus a short grace for callbacks an SDK defers
//! past its next frame (a `setTimeout(0)`, a promise, a worker's message to the driver's main
//! thread). If nothing moved during the grace, neither a frame nor a driver line, what has not
//! arrived will not: the step fails at once, naming what did arrive. If something moved, the
//! run is settled again. A step whose event comes from the client's own timer (`timer = true`)
//! keeps a wall-clock deadline, unless the driver fires its timers on request (the `timers`
//! capability): then, once the run is settled without the event, the client's earliest timer due
//! within the step's window fires, and the rule is applied again ([`Timer`]); when none is due,
//! the rule is applied once more, since the client's clock may have fired it already.
//!
//! A driver whose `sync` answers `idle` (nothing of its own in flight, DRIVER-PROTOCOL.md
//! "Settling") needs no grace: one more settle after that answer, and what has not arrived will
//! not (unless the server closed a socket: a close comes through no barrier).
//!
//! This module owns that rule; the steps call it.

use crate::driver::protocol::Event;
use crate::driver::{Driver, DriverFailure};
use crate::server::{Control, SettleError, observe::Recorder};
use std::time::Duration;
use tokio::time::Instant;

/// The grace after a settle: how long a callback may come after its client pulled the barrier.
/// Measured (README, "Speed"): 40 ms let a callback the reference client fires without any frame
/// (an empty upload's `onFileUploadError`) come late once in 20 runs at load 20 on 2 cores.
/// `IMSPEC_GRACE_MS` overrides it, `IMSPEC_TRACE_GRACE=1` shows the late-comers.
pub const GRACE: Duration = Duration::from_millis(100);

/// The grace in force: [`GRACE`], or `IMSPEC_GRACE_MS` when set.
pub fn grace() -> Duration {
    static GRACE_IN_FORCE: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *GRACE_IN_FORCE.get_or_init(|| {
        std::env::var("IMSPEC_GRACE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(GRACE, Duration::from_millis)
    })
}

/// Whether `IMSPEC_TRACE_GRACE` asks for a stderr line per event that came after a settle
/// (how long after), the figures [`GRACE`] is chosen from.
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("IMSPEC_TRACE_GRACE").is_some())
}

/// How long one settle may take before the run is declared unsettled (a conforming client
/// answers a barrier in milliseconds; the margin is for loaded CI machines).
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How an event step waits (its `timer` flag and the driver's `timers` capability).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Not a timer step: the absence rule alone.
    No,
    /// The event comes from the client's own timer, on the wall clock: the step's deadline.
    Wall,
    /// The event comes from the client's own timer, and the driver fires its timers on request
    /// (`fire-timer`): settled without the event, the earliest timer due within the step's
    /// window fires, then the absence rule again; absent once no timer is left in the window.
    Fired,
}

impl Timer {
    /// The wait of a step with `timer = <step_timer>` on a driver that has (or not) `timers`.
    pub fn of(step_timer: bool, driver_fires_timers: bool) -> Timer {
        match (step_timer, driver_fires_timers) {
            (false, _) => Timer::No,
            (true, false) => Timer::Wall,
            (true, true) => Timer::Fired,
        }
    }
}

/// At most this many timers fire for one step (a client whose timers re-arm at once stops here).
const MAX_FIRED: usize = 20;

/// Why a wait ended without the event.
#[derive(Debug)]
pub enum Missing {
    /// Settled, graced, nothing moved: it is absent.
    Absent,
    /// The step's deadline passed (timer steps, or a run that kept moving).
    Deadline,
    /// The run could not be settled.
    Unsettled(SettleError),
    /// The driver broke.
    Driver(DriverFailure),
}

/// The moving parts a wait watches.
pub struct Watch<'a> {
    control: &'a Control,
    recorder: &'a Recorder,
    grace: Duration,
    /// When the last settle ended.
    last_settle: Instant,
    /// The recorder's length when this watch last waited a grace out in full (0: never): a
    /// socket the server closed after it makes the next settle wait a grace again.
    graced_to: usize,
}

impl<'a> Watch<'a> {
    /// Watches a run's server (its control to settle, its recorder to see frames move), with
    /// the grace in force ([`grace`]).
    pub fn new(control: &'a Control, recorder: &'a Recorder) -> Self {
        Watch {
            control,
            recorder,
            grace: grace(),
            last_settle: Instant::now(),
            graced_to: 0,
        }
    }

    /// Waits for an event from index `from` on that satisfies `matches`; returns its index.
    /// [`Timer::Wall`]: keep `deadline` as a wall-clock deadline (no absence rule). Otherwise the
    /// absence rule decides, `deadline` only bounding a run that never stops moving, and
    /// [`Timer::Fired`] fires `user`'s timers due before `deadline` one by one in between.
    /// An `exception` the driver reports on `user` (or on no user) ends the wait at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn event(
        &mut self,
        driver: &mut Driver,
        user: Option<&str>,
        from: usize,
        timer: Timer,
        deadline: Instant,
        what: &str,
        mut matches: impl FnMut(usize, &Event) -> bool,
    ) -> Result<usize, Missing> {
        match timer {
            Timer::No => {
                self.absent(driver, user, from, deadline, what, &mut matches)
                    .await
            }
            Timer::Wall => driver
                .event_of(user, from, deadline, what, matches)
                .await
                .map_err(deadline_or_driver),
            Timer::Fired => {
                // the step's window, in the client's time: what the fired timers were due in
                let mut window = deadline.saturating_duration_since(Instant::now());
                for _ in 0..MAX_FIRED {
                    match self
                        .absent(driver, user, from, deadline, what, &mut matches)
                        .await
                    {
                        Err(Missing::Absent) => {}
                        found_or_broken => return found_or_broken,
                    }
                    match fire_timer(driver, user, window, deadline).await? {
                        Some(due) => window = window.saturating_sub(due),
                        // None due: the timer may have fired on the client's own clock since
                        // the last settle (a loaded machine makes a settle and its grace longer
                        // than a 500 ms reconnect timer), its work still on the way; one more
                        // settle and grace decide.
                        None => {
                            return self
                                .absent(driver, user, from, deadline, what, &mut matches)
                                .await;
                        }
                    }
                }
                Err(Missing::Absent)
            }
        }
    }

    /// The absence rule: the event from index `from` on that satisfies `matches`, or
    /// [`Missing::Absent`] once the run is settled and graced without it.
    async fn absent(
        &mut self,
        driver: &mut Driver,
        user: Option<&str>,
        from: usize,
        deadline: Instant,
        what: &str,
        matches: &mut impl FnMut(usize, &Event) -> bool,
    ) -> Result<usize, Missing> {
        let mut checked = from;
        let mut settled_at: Option<Instant> = None;
        let mut looked_again = false;
        // Most awaited events are on their way: give them the grace before the first settle
        // (a settle is a round trip through every client). A driver that answers `idle` is
        // settled in a few round trips, with no grace: it is given as long as two of the run's
        // barrier rounds take (an event on its way comes in about that time, and a settle would
        // make every client do a round of work: measured, settling at once took `imspec fuzz`
        // against 3.6.3 from 158 to about 110 cases/s). The grace still comes first once the
        // server has closed a socket since the last grace, since the client learns of a close
        // on that socket alone, never through a barrier (measured: without it, 4.21.1's onError
        // for a socket the server closed was judged absent in 1 of 20 runs of
        // `connection/reconnect` at `--jobs 8` beside two other such runs, load 18 to 26).
        let wait = if driver.answers_idle() && !self.control.closed_by_server_since(self.graced_to)
        {
            self.grace.min(2 * self.control.slowest_round())
        } else {
            self.grace
        };
        let first_wait = (Instant::now() + wait).min(deadline);
        while scan(driver.events(), &mut checked, matches).is_none()
            && !driver.has_exception(user)
            && driver
                .next_line_until(first_wait)
                .await
                .map_err(Missing::Driver)?
        {}
        loop {
            if let Some(found) = scan(driver.events(), &mut checked, matches) {
                if let Some(at) = settled_at.filter(|_| tracing()) {
                    eprintln!(
                        "imspec: grace: {what} came {} µs after a settle",
                        at.elapsed().as_micros()
                    );
                }
                return Ok(found);
            }
            if driver.has_exception(user) {
                // The exception and what is awaited may come from the same work of the client on
                // two channels (its stdout, its socket): one settle first, so that which came
                // first does not decide whether the step fails.
                if !looked_again {
                    looked_again = true;
                    let _ = self.settled_and_graced(driver, deadline).await;
                    continue;
                }
                if let Some(exception) = driver.take_exception(user) {
                    return Err(Missing::Driver(exception));
                }
            }
            let settled = self.settled_and_graced(driver, deadline).await;
            settled_at = Some(self.last_settle);
            match settled? {
                Moved::Nothing(_) => {
                    return scan(driver.events(), &mut checked, matches).ok_or(Missing::Absent);
                }
                Moved::Something => {}
            }
        }
    }

    /// Collects everything the clients will do on their own (settle + grace, again while
    /// something moves), for a `quiet` step to look at; says where the run stood still.
    pub async fn quiesce(
        &mut self,
        driver: &mut Driver,
        deadline: Instant,
    ) -> Result<Still, Missing> {
        loop {
            if let Moved::Nothing(still) = self.settled_and_graced(driver, deadline).await? {
                return Ok(still);
            }
        }
    }

    /// Settles the run, then waits out the grace collecting driver lines; says whether anything
    /// moved after the settle (a frame, an HTTP exchange, a driver line).
    pub async fn settled_and_graced(
        &mut self,
        driver: &mut Driver,
        deadline: Instant,
    ) -> Result<Moved, Missing> {
        if Instant::now() >= deadline {
            return Err(Missing::Deadline);
        }
        let settle_by = (Instant::now() + SETTLE_TIMEOUT).min(deadline);
        let settling = Instant::now();
        self.control
            .settle_all(settle_by)
            .await
            .map_err(Missing::Unsettled)?;
        let settled = self.recorder.len();
        // A driver that can (`sync`) hands over every callback its SDK has made so far,
        // including those it defers and those that need no frame (a dropped socket's onError).
        let mut idle = false;
        if driver.can(crate::driver::protocol::Capability::Sync) {
            let lines = driver.log().len();
            let reply = driver
                .call("sync", None, serde_json::json!({}), settle_by)
                .await
                .map_err(deadline_or_driver)?;
            if driver.log().len() > lines + 2 {
                // callbacks came with it: look at them, then settle again
                self.last_settle = Instant::now();
                return Ok(Moved::Something);
            }
            idle = reply.ok && reply.result.is_some_and(|r| r["idle"] == true);
            if idle {
                driver.note_idle_answer();
            }
        }
        let (frames, lines) = (self.recorder.len(), driver.log().len());
        // An idle driver (DRIVER-PROTOCOL.md, "Settling") has written every callback for what
        // the server sent, and sent every frame its requests make: once the server has those
        // frames too (one more settle), nothing is left in flight and no grace is needed;
        // unless the server closed a socket since this watch's last grace, or in the run before
        // it (no barrier goes through a closed socket, so the client may not have read the
        // close yet).
        if idle && !self.control.closed_by_server_since(self.graced_to) {
            self.control
                .settle_all(settle_by)
                .await
                .map_err(Missing::Unsettled)?;
            self.last_settle = Instant::now();
            let still = Still {
                frames: settled,
                lines,
            };
            return Ok(if still.moved_since(self.control, driver) {
                Moved::Something
            } else {
                Moved::Nothing(still)
            });
        }
        self.last_settle = Instant::now();
        // On a loaded machine everything is slower, the driver's stdout too: the grace is at
        // least twice what this settle took and twice the slowest barrier round of the run.
        let grace = self
            .grace
            .max(2 * settling.elapsed())
            .max(2 * self.control.slowest_round());
        let grace_end = (Instant::now() + grace).min(deadline);
        // Any line ends the grace early: it is looked at, and the run settled again.
        let interrupted = driver
            .next_line_until(grace_end)
            .await
            .map_err(Missing::Driver)?;
        if !interrupted {
            self.graced_to = frames;
        }
        let still = Still { frames, lines };
        Ok(if still.moved_since(self.control, driver) {
            Moved::Something
        } else {
            Moved::Nothing(still)
        })
    }
}

/// Whether anything moved during a grace.
pub enum Moved {
    /// Nothing: what has not arrived will not.
    Nothing(Still),
    /// Something: settle again.
    Something,
}

/// Where a settled and graced run stood still: the recorder's and the driver log's lengths
/// when its grace began. While neither has grown (barriers aside), the run is still settled:
/// a second look would settle and wait out a grace for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Still {
    frames: usize,
    lines: usize,
}

impl Still {
    /// Whether a frame, an HTTP exchange or a driver line came since.
    pub fn moved_since(self, control: &Control, driver: &Driver) -> bool {
        driver.log().len() != self.lines || control.moved_since(self.frames)
    }
}

/// Asks the driver to fire `user`'s earliest timer due within `window` (`fire-timer`); how long
/// it was due in, or `None` when no timer is due in the window.
async fn fire_timer(
    driver: &mut Driver,
    user: Option<&str>,
    window: Duration,
    deadline: Instant,
) -> Result<Option<Duration>, Missing> {
    let args = serde_json::json!({ "withinMs": window.as_millis() as u64 });
    let reply = driver
        .call("fire-timer", user, args, deadline)
        .await
        .map_err(deadline_or_driver)?;
    let result = reply.result.unwrap_or_default();
    if !reply.ok || result.get("fired").is_none_or(serde_json::Value::is_null) {
        return Ok(None);
    }
    let due = result.get("dueInMs").and_then(serde_json::Value::as_u64);
    Ok(Some(Duration::from_millis(due.unwrap_or(0))))
}

fn scan(
    events: &[Event],
    checked: &mut usize,
    matches: &mut impl FnMut(usize, &Event) -> bool,
) -> Option<usize> {
    while *checked < events.len() {
        if matches(*checked, &events[*checked]) {
            return Some(*checked);
        }
        *checked += 1;
    }
    None
}

fn deadline_or_driver(failure: DriverFailure) -> Missing {
    match failure {
        DriverFailure::Timeout { .. } => Missing::Deadline,
        other => Missing::Driver(other),
    }
}
