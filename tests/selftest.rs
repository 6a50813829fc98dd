//! Every verdict can fail: `imspec selftest` runs the suite against the reference client clean
//! and under every fault switch, and must find every scenario killed by some switch, every
//! switch killing some scenario (but the waived ones, with their reason), and every declared
//! `killed_by` holding. This is the gate that keeps scenarios honest as they are added. A pair
//! whose clean run never reached the switch is not run (the reference client says which it
//! reached); the matrix it gives is the full one's (compared by hand: the same kills).

use serde_json::Value;
use std::process::Command;

#[test]
fn selftest_kills_every_scenario_and_every_switch() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("matrix.json");
    let html = dir.path().join("matrix.html");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(["selftest", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("kill matrix:"), "{stdout}");

    let matrix: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(matrix["ok"], true, "{matrix:#}");
    let switches: Vec<&str> = matrix["switches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(switches.len(), imspec::client::Faults::ALL.len());
    let scenarios = matrix["scenarios"].as_array().unwrap();
    let discovered = imspec::runner::select(std::path::Path::new("scenarios"), &[]).unwrap();
    assert_eq!(scenarios.len(), discovered.len());
    let mut not_made = 0;
    for scenario in scenarios {
        assert_eq!(scenario["clean"]["verdict"], "pass", "{scenario:#}");
        assert!(
            !scenario["killed_by"].as_array().unwrap().is_empty(),
            "{scenario:#}"
        );
        // a run not made (its clean run never reached the switch) stands for a PASS
        for cell in scenario["under"].as_object().unwrap().values() {
            if cell["ran"] == false {
                assert_eq!(cell["verdict"], "pass", "{scenario:#}");
                not_made += 1;
            }
        }
    }
    // most switches break one feature: most pairs need no run
    assert!(
        not_made > scenarios.len() * switches.len() / 3,
        "{not_made} runs not made"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        page.matches("<tr class=\"scenario\"").count(),
        scenarios.len()
    );
}
