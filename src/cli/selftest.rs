//! `imspec selftest`: its flags, the waivers file, and the kill matrix's reports. The runs report
//! through the same sinks as `imspec run` (a progress bar), the matrix is drawn after.

use super::{CliError, Selection, Status};
use crate::report::{Reports, html, json, terminal};
use crate::runner::expected::ExpectedFailures;
use crate::runner::{RunConfig, selftest};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

/// What `imspec selftest --help` says before the flags.
pub const LONG_ABOUT: &str = "Runs the suite against the reference client once clean (every scenario must \
PASS), then under each fault switch, all runs through one job pool, and prints the kill matrix: \
a scenario is killed by a switch when it does not PASS under it. A switch is run only on the \
scenarios whose clean run made the client ask about it (the others would run clean again: a \
blank cell, counted as a PASS). Fails (exit 1) unless every \
scenario is killed by some switch, every switch kills some scenario, and every switch a \
scenario declares in `killed_by` kills it.";

/// Examples and exit codes shown by `imspec selftest --help`.
pub const AFTER_HELP: &str = "Examples:\n  imspec selftest\n  imspec selftest --html matrix.html --json matrix.json\n  imspec selftest --filter 'login/*'     # a part of the suite (then switches may kill nothing)\n\nExit status: 0 the matrix proves every verdict can fail, 1 it does not (the survivors are listed), 2 the harness could not run.";

/// Flags of `imspec selftest`.
#[derive(Debug, Clone, clap::Args)]
pub struct SelftestArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Runs at once [default: 32 × the number of cores, at most 128: the reference client needs
    /// little CPU, and a broken one mostly waits for a step's deadline].
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Default deadline of each step, in milliseconds (a broken client often makes a step wait
    /// for all of it; the clean reference client answers in milliseconds).
    #[arg(long, default_value_t = 3_000)]
    pub step_timeout_ms: u64,
    /// Switches excused from killing a scenario, one per line with `# reason` [default:
    /// `unkilled-switches.txt` in the scenarios folder, if there]. A listed switch that kills a
    /// scenario fails the gate: remove its line.
    #[arg(long, value_name = "PATH")]
    pub waivers: Option<PathBuf>,
    /// Write the kill matrix as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the kill matrix as a self-contained HTML page here.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
}

/// Runs `imspec selftest`.
pub async fn run(args: SelftestArgs) -> Result<Status, CliError> {
    let scenarios = args.selection.select()?;
    let waivers = match &args.waivers {
        Some(path) => Some(ExpectedFailures::load_uncited(path)?),
        None => {
            let path = args.selection.root()?.join("unkilled-switches.txt");
            path.is_file()
                .then(|| ExpectedFailures::load_uncited(&path))
                .transpose()?
        }
    };
    let config = RunConfig {
        level: crate::scenario::Level::Wire,
        client: super::reference_client(None)?,
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        snapshots: args.selection.snapshots(&args.snapshots)?,
        update_snapshots: false,
        pending_snapshots: false,
        require_snapshots: false,
        jobs: args
            .jobs
            .map_or_else(|| (32 * super::default_jobs()).min(128), NonZeroUsize::get),
        expected: ExpectedFailures::default(),
    };
    let switches: Vec<String> = crate::client::Faults::ALL
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let mut reports = Reports::default();
    reports.add(terminal::Terminal::progress_only());
    let (tx, handle) = super::spawn_reports(reports);
    let mut matrix =
        selftest::run(&scenarios, &config, &switches, args.selection.whole(), tx).await;
    super::finish_reports(handle).await?;
    if let Some(waivers) = &waivers {
        matrix.waive(waivers);
    }
    print!("{}", terminal::kill_matrix(&matrix));
    if let Some(path) = &args.json {
        json::write_selftest(path, &matrix)?;
    }
    if let Some(path) = &args.html {
        html::write_selftest(path, &matrix)?;
    }
    let errors = matrix.harness_errors();
    if !errors.is_empty() {
        let shown: Vec<&str> = errors.iter().take(5).map(String::as_str).collect();
        return Err(CliError::Harness(format!(
            "the harness could not run {} of the runs:\n  {}",
            errors.len(),
            shown.join("\n  ")
        )));
    }
    Ok(Status::failed_if(!matrix.problems().is_empty()))
}
