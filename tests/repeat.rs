//! `imspec run --repeat N`: the reference suite is stable (the CI's flakiness gate), and a
//! scenario whose transcript changes between runs is FLAKY in every report, with the lines
//! that differ, and fails the run.

use serde_json::Value;
use std::process::Command;

#[test]
fn the_reference_suite_repeated_has_no_flaky_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(["run", "--repeat", "3", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["flaky"], 0, "{stdout}");
    assert!(report["summary"]["total"].as_u64().unwrap() > 50);
}

#[test]
fn a_changing_transcript_is_flaky_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit, html) = (
        dir.path().join("r.json"),
        dir.path().join("r.xml"),
        dir.path().join("r.html"),
    );
    // The fixture driver's connect reply counts the connects of its process; reused across the
    // two runs of the scenario, it answers 1, then 2.
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args([
            "run",
            "--scenarios",
            "tests/fixtures/scenarios",
            "--jobs",
            "1",
        ])
        .args(["--repeat", "2", "--update-snapshots", "--snapshots"])
        .arg(dir.path().join("snaps"))
        .args([
            "--client",
            "node tests/fixtures/drivers/leaky-reset.mjs",
            "--json",
        ])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FLAKY"), "{stdout}");
    assert!(stdout.contains("- < ok {\"connects\":1}"), "{stdout}");
    assert!(stdout.contains("+ < ok {\"connects\":2}"), "{stdout}");
    assert!(stdout.contains("1 flaky"), "{stdout}");

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["flaky"], 1, "{report:#}");
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["verdict"], "flaky");
    assert!(
        scenario["failure"]
            .as_str()
            .unwrap()
            .contains("FLAKY over 2 runs: PASS ×2"),
        "{scenario:#}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("type=\"FLAKY\""), "{xml}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("FLAKY"), "the HTML report lacks the verdict");
}
