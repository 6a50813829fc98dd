//! `--level guide` judges by the guide-level checks alone: a broken wire-level step and a
//! snapshot difference are notes (FAIL (wire), not counted); the default `--level wire` counts
//! everything. Reports show the level of each failure.

use serde_json::Value;
use std::process::{Command, Output};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/scenarios/levels"
);

fn run(level: &str, json: &std::path::Path, snapshots: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args([
            "run",
            "--scenarios",
            FIXTURES,
            "--jobs",
            "1",
            "--level",
            level,
        ])
        .arg("--snapshots")
        .arg(snapshots)
        .arg("--json")
        .arg(json)
        .output()
        .unwrap()
}

fn scenario(json: &std::path::Path) -> Value {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    report["scenarios"][0].clone()
}

#[test]
fn a_wire_level_failure_counts_at_wire_level_only() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");

    let wire = run("wire", &json, dir.path());
    let stdout = String::from_utf8_lossy(&wire.stdout);
    assert_eq!(wire.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL (wire) wire-note ("), "{stdout}");
    let s = scenario(&json);
    assert_eq!(s["verdict"], "fail");
    assert_eq!(s["level"], "wire");
    assert!(s["failure"].as_str().unwrap().contains("step 2"), "{s}");

    let guide = run("guide", &json, dir.path());
    let stdout = String::from_utf8_lossy(&guide.stdout);
    assert_eq!(guide.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS        wire-note"), "{stdout}");
    assert!(
        stdout.contains("FAIL (wire) wire-note (not counted at --level guide)"),
        "{stdout}"
    );
    let s = scenario(&json);
    assert_eq!(s["verdict"], "pass");
    assert_eq!(s["level"], Value::Null);
    let notes = s["notes"].as_array().unwrap();
    // The frame step, then the snapshot (there is none in the empty snapshots folder).
    assert_eq!(notes.len(), 2, "{s}");
    assert!(notes.iter().all(|n| n["level"] == "wire"), "{s}");
    assert!(
        notes[0]["failure"].as_str().unwrap().contains("step 2"),
        "{s}"
    );
    assert!(
        notes[1]["failure"]
            .as_str()
            .unwrap()
            .contains("no snapshot"),
        "{s}"
    );
}
