//! `imspec matrix`: its flags, the columns (the reference client first, then each named client
//! with the expected-failures file beside its driver), and the matrix's reports. The runs report
//! through the same sinks as `imspec run` (a line per failing run); the table follows.

use super::{CliError, Selection, Status};
use crate::report::{Reports, html, matrix as report, terminal::Terminal};
use crate::runner::RunConfig;
use crate::runner::expected::ExpectedFailures;
use crate::runner::matrix::{Column, run_matrix};
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `imspec matrix`.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// A client column, `NAME=COMMAND` (repeatable, in order; the reference client is always
    /// the first column). Its expected failures are `expected-failures.txt` beside the driver.
    #[arg(long = "client", value_name = "NAME=CMD")]
    pub clients: Vec<String>,
    #[command(flatten)]
    pub selection: Selection,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Write the matrix as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the matrix as a self-contained HTML page here.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Runs at once, across the columns [default: 2 per core: the real SDKs compute, but a run
    /// also waits for settles].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Default deadline of each step, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub step_timeout_ms: u64,
}

/// The columns: the reference client, then each `NAME=COMMAND`.
pub fn columns(clients: &[String]) -> Result<Vec<Column>, CliError> {
    let mut columns = vec![Column {
        name: "reference".to_string(),
        client: super::reference_client(None)?,
        expected: ExpectedFailures::default(),
    }];
    for spec in clients {
        let Some((name, command)) = spec
            .split_once('=')
            .filter(|(n, c)| !n.is_empty() && !c.is_empty())
        else {
            return Err(CliError::Usage(format!(
                "--client {spec:?} is not NAME=COMMAND"
            )));
        };
        if columns.iter().any(|c| c.name == name) {
            return Err(CliError::Usage(format!("--client {name:?} is named twice")));
        }
        let expected = match super::beside_driver(Some(command)) {
            Some(path) => ExpectedFailures::load(&path)?,
            None => ExpectedFailures::default(),
        };
        columns.push(Column {
            name: name.to_string(),
            client: super::driver_client(command),
            expected,
        });
    }
    Ok(columns)
}

/// Runs `imspec matrix`.
pub async fn run(args: MatrixArgs) -> Result<Status, CliError> {
    let scenarios = args.selection.select()?;
    let columns = columns(&args.clients)?;
    let base = RunConfig {
        level: crate::scenario::Level::Wire,
        client: columns[0].client.clone(),
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        snapshots: args.selection.snapshots(&args.snapshots)?,
        update_snapshots: false,
        pending_snapshots: false,
        require_snapshots: false,
        jobs: args
            .jobs
            .unwrap_or_else(|| crate::runner::DRIVER_JOBS_PER_CORE * super::default_jobs()),
        expected: ExpectedFailures::default(),
    };
    let mut reports = Reports::default();
    reports.add(Terminal::failing_only());
    let (tx, handle) = super::spawn_reports(reports);
    let result = run_matrix(scenarios, &base, columns, tx).await;
    super::finish_reports(handle).await?;
    print!("{}", report::table(&result));
    if let Some(path) = &args.json {
        report::write_json(path, &result)
            .map_err(|e| CliError::io(path, "cannot write the JSON matrix", e))?;
    }
    if let Some(path) = &args.html {
        html::write_version_matrix(path, &result)?;
    }
    if result.has_errors() {
        return Err(CliError::Harness(
            "the harness could not run some cells of the matrix (ERROR above)".into(),
        ));
    }
    Ok(Status::failed_if(result.fails()))
}
