//! Every check can fail: each scenario names the reference-client fault switches that must
//! make it FAIL (`killed_by`), and this test runs the suite once per switch to see that they
//! do. It also keeps the table honest: every scenario has at least one switch, and every name
//! is a real switch.

use imspec::client::Faults;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[test]
fn every_scenario_fails_under_each_switch_that_claims_to_kill_it() {
    let known: Vec<&str> = Faults::ALL.iter().map(|(name, _)| *name).collect();
    let mut by_switch: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, path) in imspec::scenario::discover(Path::new("scenarios")).unwrap() {
        let scenario = imspec::scenario::load_file(&id, &path).unwrap();
        assert!(
            !scenario.killed_by.is_empty(),
            "{id}: no fault switch kills it; add `killed_by = [...]` after seeing it fail"
        );
        for switch in scenario.killed_by {
            assert!(
                known.contains(&switch.as_str()),
                "{id}: unknown fault switch `{switch}` (known: {known:?})"
            );
            by_switch.entry(switch).or_default().push(id.clone());
        }
    }

    let handles: Vec<_> = by_switch
        .into_iter()
        .map(|(switch, ids)| {
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let json = dir.path().join("report.json");
                let mut command = Command::new(env!("CARGO_BIN_EXE_imspec"));
                command
                    .args([
                        "run",
                        "--jobs",
                        "2",
                        "--step-timeout-ms",
                        "3000",
                        "--fault",
                        &switch,
                        "--json",
                    ])
                    .arg(&json);
                for id in &ids {
                    command.args(["--filter", id]);
                }
                let output = command.output().unwrap();
                assert_eq!(
                    output.status.code(),
                    Some(1),
                    "--fault {switch}: the run should fail"
                );
                let report: Value =
                    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
                let mut survivors = Vec::new();
                for scenario in report["scenarios"].as_array().unwrap() {
                    if scenario["verdict"] != "fail" {
                        survivors.push(format!("{} ({})", scenario["id"], scenario["verdict"]));
                    }
                }
                (switch, survivors)
            })
        })
        .collect();
    let mut problems = Vec::new();
    for handle in handles {
        let (switch, survivors) = handle.join().unwrap();
        if !survivors.is_empty() {
            problems.push(format!(
                "--fault {switch} did not make these fail: {}",
                survivors.join(", ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
