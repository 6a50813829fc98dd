//! `imspec run`: its flags, the client and its expected-failures file, the reports, and the
//! rewrite of the expected-failures file after the run.

use super::{CliError, Selection, Status};
use crate::report::html::HtmlSink;
use crate::report::json::JsonSink;
use crate::report::junit::JunitSink;
use crate::report::{Reports, terminal::Terminal};
use crate::runner::expected::{self, ListFile};
use crate::runner::{self, RunConfig, ScenarioRun, Verdict, snapshot};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

/// Examples and exit codes shown by `imspec run --help`.
pub const AFTER_HELP: &str = "\
Examples:
  imspec run                                               # every scenario, reference client, 8 jobs per core
  imspec run --repeat 20                                   # each scenario 20 times: FLAKY when its runs disagree
  imspec run --client \"node drivers/websdk/driver.mjs\"     # the real Web SDK (its expected failures are beside the driver)
  imspec run --client ./my-driver --expected-failures known.txt --junit junit.xml --html report.html
  imspec run --shard 2/3 --jobs 4                          # the second of three CI machines, 4 scenarios at once
  imspec run --filter 'recall/*' --filter login/ok --update-snapshots   # then review the snapshot diff
  imspec run --client ./my-driver --update-expected-failures            # then write the reasons
  imspec run --fault no-server-receipt                     # the reference client with one behaviour broken

Exit status: 0 all passed (XFAIL allowed), 1 a scenario failed or was FLAKY, or an expected failure passed
(XPASS), 2 the harness could not run (bad flags, broken scenario or expected-failures file, driver that
will not start), 130/143 interrupted by SIGINT/SIGTERM (reports written, unfinished scenarios NOT RUN).";

/// Flags of `imspec run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The driver command line of the client under test, run through `sh -c`. Without it the
    /// bundled reference client runs.
    #[arg(long, value_name = "COMMAND")]
    pub client: Option<String>,
    #[command(flatten)]
    pub selection: Selection,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Write the JSON report (schema 1) here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report here (one test case per scenario, classname = area).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report here (steps, frames, diffs; no network needed).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// The expected-failures file [default: `expected-failures.txt` beside the driver's file].
    #[arg(long, value_name = "PATH")]
    pub expected_failures: Option<PathBuf>,
    /// Rewrite the expected-failures file from this run: entries of scenarios that now pass
    /// go, new failures come in with a placeholder reason (replace it), comments and other
    /// reasons stay.
    #[arg(long)]
    pub update_expected_failures: bool,
    /// Rewrite the snapshots from this run in place instead of comparing (the bulk path;
    /// without it a new or changed transcript is written as `<name>.snap.new` for `imspec
    /// review`, except when CI is set).
    #[arg(long)]
    pub update_snapshots: bool,
    /// Fail when the client's SDK has no snapshot set (no wire baseline) instead of judging it
    /// by the scenarios' checks alone (for CI).
    #[arg(long)]
    pub require_snapshots: bool,
    /// Scenarios run at once [default: 3 per core for the reference client; 2 per core for a
    /// --client driver, which computes more].
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Run each scenario N times; a scenario whose verdict or transcript changes between runs
    /// is FLAKY (with the differences shown) and fails the run.
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::MIN)]
    pub repeat: NonZeroUsize,
    /// Start a fresh driver for every scenario even when it can be `reset`.
    #[arg(long)]
    pub fresh_drivers: bool,
    /// Default deadline of each step, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub step_timeout_ms: u64,
    /// Reference-client fault switches, comma-separated (only without --client); see
    /// `imspec run --list-faults`.
    #[arg(long, conflicts_with = "client")]
    pub fault: Option<String>,
    /// List the reference client's fault switches and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Which checks count: `wire` (default) every check, including the snapshot; `guide` only
    /// the checks the message guide states (wire-level failures and snapshot differences are
    /// reported as notes, FAIL (wire), and do not change the verdict).
    #[arg(long, value_enum, default_value_t = crate::scenario::Level::Wire)]
    pub level: crate::scenario::Level,
}

/// Runs `imspec run`.
pub async fn run(args: RunArgs) -> Result<Status, CliError> {
    if args.list_faults {
        for (name, description) in crate::client::Faults::ALL {
            println!("{name:<28} {description}");
        }
        return Ok(Status::Passed);
    }
    let scenarios = args.selection.select()?;
    let client = match &args.client {
        Some(command) => super::driver_client(command),
        None => super::reference_client(args.fault.as_deref())?,
    };
    let expected_path = args
        .expected_failures
        .clone()
        .or_else(|| super::beside_driver(args.client.as_deref()));
    let list = match &expected_path {
        Some(path) => {
            if path.exists() {
                eprintln!("expected failures: {}", path.display());
            }
            ListFile::open(path, args.update_expected_failures)?
        }
        None if args.update_expected_failures => {
            return Err(CliError::Usage(
                "--update-expected-failures needs the file to rewrite: give --expected-failures PATH"
                    .into(),
            ));
        }
        None => ListFile::default(),
    };
    let snapshots = args.selection.snapshots(&args.snapshots)?;
    if args.update_snapshots && crate::suite::is_bundled(&snapshots) {
        return Err(CliError::Usage(
            "--update-snapshots: the bundled suite's snapshots are read-only; write the suite out \
             with `imspec suite export DIR` and run with --scenarios DIR/scenarios, or give \
             --snapshots DIR"
                .into(),
        ));
    }
    let config = RunConfig {
        client,
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        pending_snapshots: !snapshot::in_ci() && !crate::suite::is_bundled(&snapshots),
        snapshots,
        update_snapshots: args.update_snapshots,
        require_snapshots: args.require_snapshots,
        jobs: args.jobs.map_or_else(
            || super::default_run_jobs(args.client.as_deref()),
            NonZeroUsize::get,
        ),
        expected: list.list.clone(),
        level: args.level,
    };
    if scenarios.is_empty() {
        println!(
            "shard {} holds no scenario of this selection; nothing to run",
            args.selection
                .shard
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
        return Ok(Status::Passed);
    }

    let mut reports = Reports::default();
    reports.add(Terminal::new());
    if let Some(path) = &args.json {
        reports.add(JsonSink::new(path));
    }
    if let Some(path) = &args.junit {
        reports.add(JunitSink::new(path));
    }
    if let Some(path) = &args.html {
        let statements = super::coverage::statements(&args.selection, None)?;
        let coverage = crate::coverage::Coverage::of(&statements, &scenarios);
        reports.add(HtmlSink::new(path).with_coverage(coverage));
    }
    let (tx, handle) = super::spawn_reports(reports);
    let interrupt = runner::interrupt::Interrupt::on_signals()
        .map_err(|e| CliError::Harness(format!("cannot listen for SIGINT and SIGTERM: {e}")))?;
    let control = runner::RunControl {
        repeat: args.repeat.get(),
        interrupt: Some(interrupt.clone()),
        reuse_drivers: !args.fresh_drivers,
    };
    let runs = runner::run_all_with(scenarios, &config, &control, tx).await;
    super::finish_reports(handle).await?;
    if let Some(status) = interrupt.exit_status() {
        eprintln!(
            "imspec: interrupted ({}): the reports hold the scenarios finished so far, the rest NOT RUN",
            interrupt.reason().unwrap_or_default()
        );
        return Ok(Status::Interrupted(status));
    }

    harness_errors(&runs)?;
    if args.update_expected_failures && expected_path.is_some() {
        update_expected_failures(&list, &runs)?;
        return Ok(Status::Passed);
    }
    Ok(Status::failed_if(
        runs.iter().any(|r| r.verdict.fails_run()),
    ))
}

/// An error naming the first scenario the harness could not run, if any.
pub fn harness_errors(runs: &[ScenarioRun]) -> Result<(), CliError> {
    let errors: Vec<&ScenarioRun> = runs
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .collect();
    match errors.first() {
        Some(first) => Err(CliError::Harness(format!(
            "the harness could not run {} scenario(s); {}: {}",
            errors.len(),
            first.id,
            first.failure_message().unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

/// Rewrites the expected-failures file from `runs` and says what changed.
fn update_expected_failures(list: &ListFile, runs: &[ScenarioRun]) -> Result<(), CliError> {
    let observed = runs.iter().map(|r| (r.id.clone(), r.observed())).collect();
    let rewrite = list.rewrite(&observed)?;
    let path = list.list.path.clone().unwrap_or_default();
    println!("\nexpected failures rewritten: {}", path.display());
    for pattern in &rewrite.removed {
        println!("  removed {pattern} (passes now)");
    }
    for pattern in &rewrite.narrowed {
        println!("  {pattern} replaced by the scenarios it lists that still fail");
    }
    for id in &rewrite.added {
        println!("  added {id}");
    }
    if !rewrite.added.is_empty() {
        eprintln!(
            "imspec: warning: {} new entr{} in {} carry the placeholder reason `{}`: write the real one (cite the guide)",
            rewrite.added.len(),
            if rewrite.added.len() == 1 { "y" } else { "ies" },
            path.display(),
            expected::PLACEHOLDER_REASON
        );
    }
    Ok(())
}
