//! The `--json` report, schema 1. CI systems parse it: fields are only ever added.
//!
//! `{"schema": 1, "client": {...}, "summary": {"total", "passed", "failed", "unsupported",
//! "xfail", "xpass", "errors"}, "scenarios": [{"id", "verdict", "duration_ms", "purpose",
//! "guide", "failure", "expected_reason", "diff", "stderr_tail"}]}`

use crate::runner::{ScenarioRun, Summary};
use serde_json::{Value, json};
use std::path::Path;

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
        "expected_reason": run.expected_reason,
        "diff": run.diff,
        "stderr_tail": (!run.stderr_tail.is_empty() && run.verdict.fails_run()).then_some(&run.stderr_tail),
    })
}

/// Writes the report to `path`.
pub fn write(path: &Path, runs: &[ScenarioRun], client_label: &str) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&report(runs, client_label)).expect("JSON serialises");
    std::fs::write(path, text + "\n")
}
