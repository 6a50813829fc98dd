//! Running one scenario: a fresh fake server and a fresh (or reset, pooled) driver, the steps in
//! order, a settle, then the transcript against its snapshot. The first broken expectation ends the steps. The steps
//! themselves run in `steps/`, one file per kind.

use super::absence::SETTLE_TIMEOUT;
use super::sequence::{self, StepStatus};
use super::snapshot::{self, SnapshotOutcome};
use super::steps::State;
use super::transcript;
use super::{Outcome, RunConfig, ScenarioRun, StepFailure};
use crate::driver::protocol::Capability;
use crate::driver::{ClientKey, Driver, DriverFailure, DriverPool, Pooled};
use crate::scenario::{Level, Scenario};
use crate::server::FakeServer;
use std::time::Duration;
use tokio::time::Instant;

/// How long a driver has to answer `shutdown` (it then has 2 s more to exit, as the protocol
/// says); a driver that hung in a step gets no more than this.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a new driver may take to answer `hello` (and the `sync` after it), at the least: a
/// driver's start is not a step of the scenario (a JavaScript driver loads its SDK first, and
/// measured, eight of them starting beside sixteen others on 2 cores, load 26, took over the
/// 10 s step deadline). The scenario's step deadline applies when it is longer.
pub const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(60);

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
                let deadline = Instant::now() + step_timeout.max(DRIVER_START_TIMEOUT);
                let hello = driver.hello(deadline).await;
                if hello.is_ok() {
                    driver.probe_idle(deadline).await;
                }
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
    let mut state = State::new(scenario, &server, step_timeout, config.level);

    let mut failure = match &hello {
        Ok(hello) => {
            run.hello = Some(hello.clone());
            match state.run_steps(&mut driver, hello).await {
                Err(failure) => Some(failure),
                // The transcript is taken once the run is settled and, unless the driver writes
                // every callback made before its reset / shutdown reply (`immediate-callbacks`),
                // a grace passed with nothing moving: a callback deferred past the last frame is in.
                Ok(()) if hello.can(Capability::ImmediateCallbacks) => server
                    .control()
                    .settle_all(Instant::now() + SETTLE_TIMEOUT)
                    .await
                    .err()
                    .map(|e| StepFailure::at_start(format!("before the transcript: {e}"))),
                Ok(()) => state
                    .quiesce(&mut driver, Instant::now() + SETTLE_TIMEOUT)
                    .await
                    .err(),
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
        Ok(hello) => pool.reuses() && hello.can(Capability::Reset) && !driver.is_broken(),
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
    // A driver whose reset did not answer in time (or broke) is not reused: what it still does
    // would land in the next scenario (DRIVER-PROTOCOL.md, "Reuse": it is killed).
    let reset_done = ended.is_ok();
    match ended {
        Ok(result) => run.faults_reached = faults_reached(&result),
        Err(e) if failure.is_none() => {
            failure = Some(StepFailure::at_start(format!("{op}: {e}")));
        }
        Err(_) => {}
    }
    // An exception no step was given (the steps that waited on its user after it found what
    // they waited for) fails the run here: the reset / shutdown reply comes after every line
    // the scenario's realms wrote, so this does not depend on when it came. Every one is taken:
    // none is left for the next scenario of a reused driver.
    let unclaimed = driver.take_unclaimed_exception();
    if failure.is_none()
        && let Some(e) = unclaimed
    {
        failure = Some(StepFailure::at_start(format!("after the last step: {e}")));
    }
    run.stderr_tail = driver.stderr_tail();
    let completed = state.completed;
    let noted: Vec<usize> = state.notes.iter().map(|(i, _)| *i).collect();
    run.notes = state.notes.into_iter().map(|(_, f)| f).collect();

    // what the server saw up to here: its shutdown's socket closes are not the scenario's
    let recorder = server.recorder();
    let end = recorder.len();
    let port = url_port(&server.urls().api);
    server.shutdown().await;
    let text = recorder.read_since(0, |seen| {
        transcript::build(&seen[..end], driver.log(), port, run.hello.as_ref())
    });
    if reuse
        && reset_done
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
    run.steps = sequence::steps(scenario, completed, broken, &noted);
    run.wire = recorder.read_since(0, |seen| sequence::wire(&seen[..end]));
    run.outcome = match failure {
        Some(f) if f.harness => Outcome::HarnessError(f.message),
        Some(f) if f.unsupported => Outcome::Unsupported(f.message),
        Some(f) => Outcome::Fail(f),
        None => {
            let outcome = judge_transcript(&mut run, scenario, config, &text);
            // The snapshot comparison is a wire-level check: judging at guide level, a
            // difference is a note.
            match outcome {
                Outcome::Fail(f)
                    if config.level == Level::Guide && f.level == Some(Level::Wire) =>
                {
                    run.notes.push(f);
                    Outcome::Pass
                }
                other => other,
            }
        }
    };
    run.transcript = text;
    run.duration = started.elapsed();
    run
}

/// The transcript against the client's snapshot set (its wire baseline), when every step held.
fn judge_transcript(
    run: &mut ScenarioRun,
    scenario: &Scenario,
    config: &RunConfig,
    text: &str,
) -> Outcome {
    let baseline = match &run.hello {
        Some(h) => snapshot::baseline_for(&config.snapshots, &h.sdk, &h.sdk_version),
        None => snapshot::Baseline {
            folder: config.snapshots.clone(),
            exists: true,
            generation: String::new(),
        },
    };
    if !baseline.exists && !config.update_snapshots {
        let missing = format!("no wire baseline for {}", baseline.generation);
        let how = format!(
            "record one with `--snapshots DIR --update-snapshots` (into DIR/{}), then compare with `--snapshots DIR`",
            baseline
                .folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        if config.require_snapshots {
            return Outcome::Fail(StepFailure::at_start(format!(
                "{missing} (--require-snapshots): {how}"
            )));
        }
        run.remarks.push(format!(
            "{missing}: the transcript was not compared (judged by the scenario's checks); {how}"
        ));
        return Outcome::Pass;
    }
    let path = snapshot::path_for(&baseline.folder, &scenario.id);
    let source = scenario.path.display().to_string();
    let write = if config.update_snapshots {
        snapshot::Write::Update
    } else if config.pending_snapshots {
        snapshot::Write::Pending
    } else {
        snapshot::Write::Never
    };
    let wire_failure = |message: String| StepFailure {
        level: Some(Level::Wire),
        ..StepFailure::at_start(message)
    };
    let review = |pending: bool| {
        if pending {
            format!(
                "; the transcript is in {}: review it with `imspec review`",
                snapshot::pending_path(&path).display()
            )
        } else {
            String::new()
        }
    };
    match snapshot::check(&path, &source, text, write) {
        SnapshotOutcome::Matches => Outcome::Pass,
        SnapshotOutcome::Written => {
            run.snapshot_written = true;
            Outcome::Pass
        }
        SnapshotOutcome::Missing { pending } => Outcome::Fail(wire_failure(format!(
            "no snapshot at {}{}",
            path.display(),
            if pending {
                review(true)
            } else {
                "; record it with --update-snapshots".to_string()
            }
        ))),
        SnapshotOutcome::Differs { diff, pending } => {
            run.diff = Some(diff);
            Outcome::Fail(wire_failure(format!(
                "the transcript differs from {}{}",
                path.display(),
                review(pending)
            )))
        }
        SnapshotOutcome::Unreadable(why) => Outcome::HarnessError(why),
    }
}

/// The `faultsReached` of a `reset` / `shutdown` result (the reference client's): the names, or
/// `None` when the driver did not say (or said it in another shape).
fn faults_reached(result: &serde_json::Value) -> Option<Vec<String>> {
    result
        .get("faultsReached")?
        .as_array()?
        .iter()
        .map(|name| name.as_str().map(str::to_string))
        .collect()
}

fn url_port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(0)
}
