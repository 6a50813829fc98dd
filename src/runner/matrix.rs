//! The version matrix: the same scenarios run against several clients side by side (the
//! reference client always the first column), each with its own expected-failures list, giving one verdict
//! per scenario and client, so a vendor sees at a glance what changed between SDK generations.
//!
//! Owns running the columns and shaping the result ([`Matrix`]); it never prints (the tables
//! are `report::matrix`'s) and runs every cell through the pool `imspec run` uses, with that
//! column's expected failures, so a cell's verdict is exactly the verdict `imspec run` gives for
//! that client.

use super::expected::ExpectedFailures;
use super::{ClientSpec, RunConfig, RunEvent, ScenarioRun, Summary, Verdict, longest_first, pool};
use crate::driver::DriverPool;
use crate::scenario::Scenario;
use serde::Serialize;
use tokio::sync::mpsc;

/// One client of the matrix: a column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its short name (the `NAME` of `--client NAME=CMD`).
    pub name: String,
    /// How to start its driver.
    pub client: ClientSpec,
    /// Its expected failures.
    pub expected: ExpectedFailures,
}

/// The verdict of one scenario for one client.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The verdict, as `imspec run` gives it.
    pub verdict: Verdict,
    /// The reason from the expected-failures list (XFAIL, XPASS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The first broken expectation (FAIL, UNSUPPORTED, ERROR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One scenario: a row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario id.
    pub id: String,
    /// Its purpose.
    pub purpose: String,
    /// One cell per column, in column order.
    pub cells: Vec<Cell>,
}

/// What is known about a column after its run.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    /// Its name.
    pub name: String,
    /// The driver command line.
    pub command: String,
    /// The SDK, from the driver's `hello`.
    pub sdk: Option<String>,
    /// The SDK's version, from `hello`.
    #[serde(rename = "sdkVersion")]
    pub sdk_version: Option<String>,
    /// Counts per verdict.
    pub summary: Summary,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// The clients, in order.
    pub columns: Vec<ColumnInfo>,
    /// The scenarios, in id order.
    pub rows: Vec<Row>,
}

impl Matrix {
    /// Whether any cell fails its client's run (FAIL, XPASS, ERROR).
    pub fn fails(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.cells.iter().any(|c| c.verdict.fails_run()))
    }

    /// Whether the harness could not run some cell.
    pub fn has_errors(&self) -> bool {
        self.columns.iter().any(|c| c.summary.errors > 0)
    }
}

/// Runs `scenarios` against every column with `base` (its client and expected failures replaced
/// per column) and builds the matrix. Every (column, scenario) pair goes through the one pool
/// `imspec run` uses, `base.jobs` at once, scenario by scenario across the columns, so the
/// clients' drivers run side by side (a column's driver computes while another's waits). Reports
/// get one `Started` for all pairs, then each run, its id prefixed with the column's name.
pub async fn run_matrix(
    scenarios: Vec<Scenario>,
    base: &RunConfig,
    columns: Vec<Column>,
    events: mpsc::UnboundedSender<RunEvent>,
) -> Matrix {
    let configs: Vec<RunConfig> = columns
        .iter()
        .map(|column| RunConfig {
            level: crate::scenario::Level::Wire,
            client: column.client.clone(),
            expected: column.expected.clone(),
            ..base.clone()
        })
        .collect();
    let work: Vec<_> = longest_first(&scenarios)
        .into_iter()
        .flat_map(|(s, scenario)| {
            configs
                .iter()
                .enumerate()
                .map(move |(c, config)| ((c, s), scenario, config))
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let _ = events.send(RunEvent::Started {
        total: work.len(),
        client: format!("{} clients ({})", columns.len(), names.join(", ")),
    });
    // idle drivers of every column may wait for their next scenario
    let drivers = DriverPool::new(base.jobs * columns.len());
    let mut results: Vec<Vec<Option<ScenarioRun>>> =
        vec![vec![None; scenarios.len()]; columns.len()];
    pool(work, base.jobs, &drivers, None, |((c, s), run)| {
        let mut shown = run.clone();
        shown.id = format!("{}: {}", names[c], run.id);
        let _ = events.send(RunEvent::Finished(Box::new(shown)));
        results[c][s] = Some(run);
    })
    .await;
    drivers.close().await;
    let results: Vec<Vec<ScenarioRun>> = results
        .into_iter()
        .map(|runs| runs.into_iter().flatten().collect())
        .collect();
    let infos = columns
        .into_iter()
        .zip(&results)
        .map(|(column, runs)| {
            let hello = runs.iter().find_map(|r| r.hello.clone());
            ColumnInfo {
                name: column.name,
                command: column.client.label,
                sdk: hello.as_ref().map(|h| h.sdk.clone()),
                sdk_version: hello.map(|h| h.sdk_version),
                summary: Summary::of(runs),
            }
        })
        .collect();
    Matrix {
        columns: infos,
        rows: rows(&scenarios, &results),
    }
}

fn rows(scenarios: &[Scenario], results: &[Vec<ScenarioRun>]) -> Vec<Row> {
    let mut ids: Vec<&Scenario> = scenarios.iter().collect();
    ids.sort_by(|a, b| a.id.cmp(&b.id));
    ids.into_iter()
        .map(|scenario| Row {
            id: scenario.id.clone(),
            purpose: scenario.purpose.clone(),
            cells: results
                .iter()
                .map(|runs| match runs.iter().find(|r| r.id == scenario.id) {
                    Some(run) => cell(run),
                    None => Cell {
                        verdict: Verdict::Error,
                        reason: None,
                        failure: Some("the scenario did not run".to_string()),
                    },
                })
                .collect(),
        })
        .collect()
}

fn cell(run: &ScenarioRun) -> Cell {
    Cell {
        verdict: run.verdict,
        reason: matches!(run.verdict, Verdict::Xfail | Verdict::Xpass)
            .then(|| run.expected_reason.clone())
            .flatten(),
        failure: matches!(
            run.verdict,
            Verdict::Fail | Verdict::Unsupported | Verdict::Error
        )
        .then(|| run.failure_message())
        .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Outcome, StepFailure};

    fn run(id: &str, verdict: Verdict, reason: Option<&str>) -> ScenarioRun {
        ScenarioRun {
            outcome: match verdict {
                Verdict::Pass | Verdict::Xpass => Outcome::Pass,
                _ => Outcome::Fail(StepFailure::at_start("broke".into())),
            },
            verdict,
            expected_reason: reason.map(str::to_string),
            ..ScenarioRun::for_tests(id)
        }
    }

    #[test]
    fn cells_carry_the_reason_of_an_expected_failure_and_the_failure_of_a_fail() {
        let xfail = cell(&run("a/b", Verdict::Xfail, Some("no onMutedMessage")));
        assert_eq!(xfail.reason.as_deref(), Some("no onMutedMessage"));
        assert!(xfail.failure.is_none());
        let fail = cell(&run("a/b", Verdict::Fail, None));
        assert_eq!(fail.failure.as_deref(), Some("broke"));
        let pass = cell(&run("a/b", Verdict::Pass, None));
        assert!(pass.reason.is_none() && pass.failure.is_none());
    }
}
