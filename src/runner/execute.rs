//! Running one scenario: a fresh fake server and a fresh (or reset, pooled) driver, the steps in
//! order, a settle, then the transcript against its snapshot. The first broken expectation ends the steps. The steps
//! themselves run in `steps/`, one file per kind.

use super::absence::SETTLE_TIMEOUT;
use super::sequence::{self, StepStatus};
use super::snapshot::{self, SnapshotOutcome};
use super::steps::State;
use super::transcript;
use super::{Outcome, RunConfig, ScenarioRun, StepFailure};
use crate::driver::{ClientKey, Driver, DriverFailure, DriverPool, Pooled};
use crate::scenario::Scenario;
use crate::server::FakeServer;
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
    let mut state = State::new(scenario, &server, step_timeout);

    let mut failure = match &hello {
        Ok(hello) => {
            run.hello = Some(hello.clone());
            match state.run_steps(&mut driver, hello).await {
                Err(failure) => Some(failure),
                Ok(()) => server
                    .control()
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

fn url_port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(0)
}
