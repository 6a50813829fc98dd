//! The `--json` report, schema 1. CI systems parse it: fields are only ever added.
//!
//! `{"schema": 1, "client": {...}, "summary": {"total", "passed", "failed", "unsupported",
//! "xfail", "xpass", "errors", "flaky", "not_run"}, "scenarios": [{"id", "verdict",
//! "duration_ms", "purpose", "guide", "failure", "level", "notes", "expected_reason", "diff",
//! "stderr_tail", "remarks"}], "remarks": [..]}`: `level` is the failure's level (`guide`,
//! `wire`, or null when the driver or the run broke); `notes` are the wire-level failures not
//! counted at `--level guide` (`[{"level", "failure"}]`); `remarks` say what the verdict does
//! not (`no wire baseline for <sdk> <major>: ...`), per scenario and once for the run.
//!
//! `imspec selftest --json` writes `{"schema": 1, "kind": "selftest", "switches": [..],
//! "scenarios": [{"id", "declared", "clean": {"verdict", "failure"}, "under": {switch: {..}}}],
//! "waivers": [{"switch", "reason", "at"}], "problems": [{"kind", "message", ..}], "ok"}`.

use super::{Collected, ReportError, Sink, write_file};
use crate::runner::selftest::KillMatrix;
use crate::runner::{RunEvent, ScenarioRun, Summary};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The report as JSON.
pub fn report(runs: &[ScenarioRun], client_label: &str) -> Value {
    let hello = runs.iter().find_map(|r| r.hello.clone());
    json!({
        "schema": 1,
        "client": {
            "command": client_label,
            "driver": hello.as_ref().map(|h| h.driver.clone()),
            "sdk": hello.as_ref().map(|h| h.sdk.clone()),
            "sdkVersion": hello.as_ref().map(|h| h.sdk_version.clone()),
        },
        "summary": Summary::of(runs),
        "scenarios": runs.iter().map(scenario).collect::<Vec<_>>(),
        "remarks": super::distinct_remarks(runs),
    })
}

fn scenario(run: &ScenarioRun) -> Value {
    json!({
        "id": run.id,
        "verdict": run.verdict,
        "duration_ms": run.duration.as_millis() as u64,
        "purpose": run.purpose,
        "guide": run.guide,
        "failure": run.failure_message(),
        "level": run.failure_level(),
        "notes": run.notes.iter().map(|n| json!({"level": n.level, "failure": n.located(&run.path)})).collect::<Vec<_>>(),
        "expected_reason": run.expected_reason,
        "diff": run.diff,
        "stderr_tail": (!run.stderr_tail.is_empty() && run.verdict.fails_run()).then_some(&run.stderr_tail),
        "remarks": run.remarks,
    })
}

/// The `--json` sink: collects the run's events, writes the file when the run is over.
pub struct JsonSink {
    path: PathBuf,
    collected: Collected,
}

impl JsonSink {
    /// A sink writing to `path`.
    pub fn new(path: &Path) -> Self {
        JsonSink {
            path: path.to_path_buf(),
            collected: Collected::default(),
        }
    }
}

impl Sink for JsonSink {
    fn event(&mut self, event: &RunEvent) {
        self.collected.record(event);
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let client = self.collected.client.clone();
        let value = report(self.collected.runs(), &client);
        write_file("JSON", &self.path, &pretty(&value))
    }
}

/// The kill matrix as JSON.
pub fn selftest(matrix: &KillMatrix) -> Value {
    let scenarios: Vec<Value> = matrix
        .rows
        .iter()
        .map(|row| {
            let under: Map<String, Value> = matrix
                .switches
                .iter()
                .zip(&row.under)
                .map(|(s, cell)| (s.clone(), json!(cell)))
                .collect();
            json!({
                "id": row.id,
                "declared": row.declared,
                "killed_by": row.killers(&matrix.switches),
                "clean": row.clean,
                "under": under,
            })
        })
        .collect();
    let problems = matrix.problems();
    json!({
        "schema": 1,
        "kind": "selftest",
        "switches": matrix.switches,
        "whole_suite": matrix.whole_suite,
        "waivers": matrix.waivers,
        "scenarios": scenarios,
        "ok": problems.is_empty(),
        "problems": problems
            .iter()
            .map(|p| {
                let mut value = json!(p);
                value["message"] = Value::from(p.to_string());
                value
            })
            .collect::<Vec<_>>(),
    })
}

/// Writes the kill matrix to `path`.
pub fn write_selftest(path: &Path, matrix: &KillMatrix) -> Result<(), ReportError> {
    write_file("JSON", path, &pretty(&selftest(matrix)))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
