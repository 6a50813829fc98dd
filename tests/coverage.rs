//! `imspec coverage`: the guide's statements with the scenarios that cover them. The suite's
//! coverage never shrinks: every statement listed in `docs/coverage-baseline.txt` keeps at
//! least one scenario.

use imspec::coverage::{self, Coverage};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn no_statement_covered_in_the_baseline_loses_its_last_scenario() {
    let statements = coverage::load(&Path::new(ROOT).join("docs/guide-statements.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let scenarios = imspec::runner::select(&Path::new(ROOT).join("scenarios"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let covered = Coverage::of(&statements, &scenarios).covered_ids();
    let known: BTreeSet<&str> = statements.iter().map(|s| s.id.as_str()).collect();
    let baseline =
        std::fs::read_to_string(Path::new(ROOT).join("docs/coverage-baseline.txt")).unwrap();
    let baseline: Vec<&str> = baseline
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let unknown: Vec<&&str> = baseline.iter().filter(|id| !known.contains(**id)).collect();
    assert!(
        unknown.is_empty(),
        "docs/coverage-baseline.txt lists ids that are no statement: {unknown:?}"
    );
    let lost: Vec<&&str> = baseline
        .iter()
        .filter(|id| !covered.contains(**id))
        .collect();
    assert!(
        lost.is_empty(),
        "these guide statements lost their last scenario (see `imspec coverage`): {lost:?}"
    );
    let new: Vec<&String> = covered
        .iter()
        .filter(|id| !baseline.contains(&id.as_str()))
        .collect();
    if !new.is_empty() {
        eprintln!("newly covered, add to docs/coverage-baseline.txt: {new:?}");
    }
}

#[test]
fn the_command_prints_each_statement_its_scenarios_and_the_uncovered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("coverage.json");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(["coverage", "--filter", "login/*", "--statements"])
        .arg(Path::new(ROOT).join("tests/fixtures/coverage/statements.toml"))
        .arg("--json")
        .arg(&json)
        .current_dir(ROOT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("No scenario covers:\n  never-cited (guide L1): "),
        "{stdout}"
    );
    assert!(stdout.contains("3 statements: "), "{stdout}");
    assert!(stdout.contains(" 1 not at all, 1 untestable"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["kind"], "coverage");
    let first = &report["statements"][0];
    assert_eq!(first["id"], "connect-success");
    assert!(
        first["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["scenario"] == "login/ok"),
        "{first}"
    );
    assert_eq!(report["statements"][1]["strength"], Value::Null);
    assert_eq!(report["counts"]["untestable"], 1);
}

#[test]
fn the_html_report_has_a_coverage_section() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(["run", "--filter", "login/ok", "--jobs", "1", "--html"])
        .arg(&html)
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("guide coverage"), "no coverage section");
    assert!(page.contains(">login/ok</a> ("), "no covering scenario");
    assert!(page.contains("uncovered"), "no uncovered statement");
}
