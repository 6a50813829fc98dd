//! The commands of the `imspec` binary, as library functions: each subcommand's flags (clap
//! `Args`) and the work behind them. `main.rs` only parses the command line, calls one of these
//! and maps its [`Status`] (or error) to an exit code with [`exit_code`].
//!
//! Owns what the commands print besides the reports (which are `report`'s sinks, fed the
//! runner's events), resolving drivers and their expected-failures files, and the exit codes.
//! Must not hold running, checking or reporting logic of its own.

pub mod coverage;
pub mod driver_check;
pub mod export;
pub mod list;
pub mod matrix;
pub mod review;
pub mod run;
pub mod selftest;
pub mod serve;

use crate::report::{ReportError, Reports};
use crate::runner::expected::ExpectedError;
use crate::runner::{ClientSpec, RunEvent, SelectError, Shard};
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};

/// Every scenario passed (expected failures allowed).
pub const EXIT_OK: u8 = 0;
/// A scenario failed, or a listed expected failure passed (XPASS); for `selftest`, a scenario or
/// switch survived.
pub const EXIT_FAILED: u8 = 1;
/// The harness could not run: bad flags, a broken scenario or expected-failures file, a driver
/// that will not start.
pub const EXIT_HARNESS: u8 = 2;

/// How a command came out, when it could run at all (an `Err` is a harness error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything held.
    Passed,
    /// Something failed (a scenario, a survivor of the kill matrix, a fuzz finding).
    Failed,
    /// A signal stopped the run (its reports are written): exit 128 + the signal's number.
    Interrupted(u8),
}

impl Status {
    /// `Failed` when `failed`, else `Passed`.
    pub fn failed_if(failed: bool) -> Self {
        if failed {
            Status::Failed
        } else {
            Status::Passed
        }
    }
}

/// The one mapping from a command's result to the process's exit code (see `imspec --help`).
pub fn exit_code<E>(result: &Result<Status, E>) -> u8 {
    match result {
        Ok(Status::Passed) => EXIT_OK,
        Ok(Status::Failed) => EXIT_FAILED,
        Ok(Status::Interrupted(status)) => *status,
        Err(_) => EXIT_HARNESS,
    }
}

/// Why a command could not run (exit 2). Messages name the file, flag or command at fault.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Scenarios could not be selected or loaded.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// An expected-failures or waivers file is broken.
    #[error(transparent)]
    Expected(#[from] ExpectedError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The guide statements file is broken.
    #[error(transparent)]
    Coverage(#[from] crate::coverage::CoverageError),
    /// A flag's value cannot be used.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The harness could not run some scenarios (verdict ERROR), or another part of it failed.
    #[error("{0}")]
    Harness(String),
}

impl CliError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, what: &'static str, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}

/// Which scenarios: flags shared by `run`, `list`, `selftest` and `matrix`.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Scenarios folder [default: `./scenarios` when there is one, else the suite bundled in
    /// the binary (`imspec suite export DIR` writes it out)].
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
    /// Only scenarios whose id matches this glob, e.g. 'login/*' (repeatable: any of them).
    #[arg(long, value_name = "GLOB")]
    pub filter: Vec<String>,
    /// Only part K of N of the suite (stable partition by scenario id: the N shards are
    /// disjoint and together make the suite), e.g. 1/4.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

impl Selection {
    /// The selected scenarios, loaded; a filter that matches nothing is an error. The shard may
    /// leave none.
    pub fn select(&self) -> Result<Vec<Scenario>, CliError> {
        let root = self.root()?;
        let mut scenarios = crate::runner::select(&root, &self.filter)?;
        if scenarios.is_empty() {
            return Err(CliError::Usage(format!(
                "no scenario in {} matches {}",
                root.display(),
                if self.filter.is_empty() {
                    "(no filter)".to_string()
                } else {
                    self.filter.join(", ")
                }
            )));
        }
        if let Some(shard) = self.shard {
            scenarios.retain(|s| shard.contains(&s.id));
        }
        Ok(scenarios)
    }

    /// Whether this is the whole suite.
    pub fn whole(&self) -> bool {
        self.filter.is_empty() && self.shard.is_none_or(|s| s.count == 1)
    }

    /// The scenarios folder: `--scenarios`, else `./scenarios` when it exists, else the
    /// bundled suite (written to a folder of its own on first use).
    pub fn root(&self) -> Result<PathBuf, CliError> {
        if let Some(given) = &self.scenarios {
            return Ok(given.clone());
        }
        let local = PathBuf::from("scenarios");
        if local.is_dir() {
            return Ok(local);
        }
        crate::suite::bundled_root().map_err(|e| CliError::Harness(e.to_string()))
    }

    /// The snapshots folder: `given`, or `snapshots` beside the scenarios folder.
    pub fn snapshots(&self, given: &Option<PathBuf>) -> Result<PathBuf, CliError> {
        if let Some(given) = given {
            return Ok(given.clone());
        }
        let root = self.root()?;
        Ok(root.parent().unwrap_or(Path::new(".")).join("snapshots"))
    }
}

/// The bundled reference client (`imspec driver`, this executable), with fault switches when
/// given.
pub fn reference_client(fault: Option<&str>) -> Result<ClientSpec, CliError> {
    if let Some(faults) = fault {
        crate::client::Faults::parse(faults).map_err(|e| CliError::Usage(e.to_string()))?;
    }
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Harness(format!("cannot find the imspec executable: {e}")))?;
    let exe = exe.to_string_lossy();
    Ok(ClientSpec {
        command: format!("exec {} driver", shell_words::quote(&exe)),
        env: fault
            .iter()
            .map(|f| ("IMSPEC_FAULTS".to_string(), f.to_string()))
            .collect(),
        label: match fault {
            Some(f) => format!("reference client (faults: {f})"),
            None => "reference client".to_string(),
        },
    })
}

/// A client given as a driver command line.
pub fn driver_client(command: &str) -> ClientSpec {
    ClientSpec {
        command: command.to_string(),
        env: Vec::new(),
        label: command.to_string(),
    }
}

/// `expected-failures.txt` in the folder of the first existing file named in the command.
pub fn beside_driver(command: Option<&str>) -> Option<PathBuf> {
    let words = shell_words::split(command?).ok()?;
    words
        .iter()
        .map(Path::new)
        .filter(|p| p.is_file())
        .find_map(|p| {
            let candidate = p.parent()?.join("expected-failures.txt");
            candidate.is_file().then_some(candidate)
        })
}

/// The number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Scenarios at once by default, after what the runs are bound by (README "Speed"):
/// [`runner::JOBS_PER_CORE`] per core for the reference client, [`runner::DRIVER_JOBS_PER_CORE`]
/// for a driver given with `--client` (Node and an SDK bundle, which computes more).
///
/// [`runner::JOBS_PER_CORE`]: crate::runner::JOBS_PER_CORE
/// [`runner::DRIVER_JOBS_PER_CORE`]: crate::runner::DRIVER_JOBS_PER_CORE
pub fn default_run_jobs(client: Option<&str>) -> usize {
    match client {
        None => crate::runner::JOBS_PER_CORE * default_jobs(),
        Some(_) => crate::runner::DRIVER_JOBS_PER_CORE * default_jobs(),
    }
}

/// Feeds `reports` every event sent on the returned channel; the handle gives them back once
/// the channel's senders are all gone.
pub fn spawn_reports(
    mut reports: Reports,
) -> (
    tokio::sync::mpsc::UnboundedSender<RunEvent>,
    tokio::task::JoinHandle<Reports>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            reports.event(&event);
        }
        reports
    });
    (tx, handle)
}

/// Waits for the reports fed by [`spawn_reports`] and finishes them.
pub async fn finish_reports(handle: tokio::task::JoinHandle<Reports>) -> Result<(), CliError> {
    handle
        .await
        .map_err(|e| CliError::Harness(format!("the reports stopped: {e}")))?
        .finish()?;
    Ok(())
}
