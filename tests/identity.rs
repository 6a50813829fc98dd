//! Snapshots judge behaviour, not identity (issue 11, item 5): a build of 3.6.3 altered only in
//! its version string gets the pinned 3.6.3's verdicts, and a driver whose `hello` names an SDK
//! with no snapshot set is judged by the scenarios' checks, with "no wire baseline" reported,
//! unless `--require-snapshots`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const PINNED: &str = "drivers/websdk/node_modules/easemob-websdk/Easemob-chat-3.6.3.js";

fn run(client: &str, extra: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        // A long deadline: a Node driver loading the SDK on a loaded machine can take more
        // than the default 10 s to answer hello, and that is not what these tests judge.
        .args([
            "run",
            "--client",
            client,
            "--jobs",
            "2",
            "--step-timeout-ms",
            "40000",
        ])
        .arg("--json")
        .arg(&json)
        .args(extra)
        .env("CI", "true")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_to_string(&json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, text)
}

/// The verdicts the pinned 3.6.3 gets: `tests/suite.rs` shows it passes with its expected
/// failures, so each scenario is XFAIL when listed and PASS otherwise.
fn pinned_verdicts(report: &Value) -> BTreeMap<String, String> {
    let list = imspec::runner::expected::ExpectedFailures::load(Path::new(
        "drivers/websdk/expected-failures.txt",
    ))
    .unwrap();
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let id = s["id"].as_str().unwrap().to_string();
            let verdict = if list.lookup(&id).is_some() {
                "xfail"
            } else {
                "pass"
            };
            (id, verdict.to_string())
        })
        .collect()
}

fn verdicts(report: &Value) -> BTreeMap<String, String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// One whole real-SDK suite at a time: each runs two Node drivers at once already.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_3_6_3_bundle_altered_only_in_its_version_string_gets_the_same_verdicts() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        Path::new(PINNED).is_file(),
        "run `npm ci --prefix drivers/websdk` first"
    );
    let pinned = std::fs::read_to_string(PINNED).unwrap();
    let marker = "this.version=t.version||\"3.6.3\"";
    assert_eq!(
        pinned.matches(marker).count(),
        1,
        "the bundle's version default moved"
    );
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("Easemob-chat-3.6.9.js");
    std::fs::write(
        &bundle,
        pinned.replace(marker, "this.version=t.version||\"3.6.9\""),
    )
    .unwrap();

    let client = format!(
        "IMSPEC_WEBSDK={} node drivers/websdk/driver.mjs",
        bundle.display()
    );
    let (code, report, output) = run(&client, &[]);
    assert_eq!(report["client"]["sdkVersion"], "3.6.9", "{output}");
    assert_eq!(code, 0, "{output}");
    assert_eq!(verdicts(&report), pinned_verdicts(&report), "{output}");
    assert!(report["summary"]["total"].as_u64().unwrap() > 50);
}

#[test]
fn an_unknown_sdk_that_behaves_like_3_6_3_passes_without_a_wire_baseline() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        Path::new(PINNED).is_file(),
        "run `npm ci --prefix drivers/websdk` first"
    );
    // The 3.6.3 driver, but its hello names another SDK.
    let client = "node drivers/websdk/driver.mjs | sed -u 's/\"sdk\":\"easemob-websdk\"/\"sdk\":\"acme-chat\"/'";
    let (code, report, output) = run(client, &[]);
    assert_eq!(report["client"]["sdk"], "acme-chat", "{output}");
    assert_eq!(code, 0, "{output}");
    assert_eq!(verdicts(&report), pinned_verdicts(&report), "{output}");
    assert!(
        output.contains("no wire baseline for acme-chat 3"),
        "{output}"
    );
    assert!(
        output.contains("--snapshots DIR --update-snapshots"),
        "{output}"
    );
    let notes = report["remarks"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");

    // With --require-snapshots a missing baseline fails.
    let (code, report, output) = run(client, &["--require-snapshots", "--filter", "login/*"]);
    assert_eq!(code, 1, "{output}");
    for scenario in report["scenarios"].as_array().unwrap() {
        assert_eq!(scenario["verdict"], "fail", "{output}");
        assert!(
            scenario["failure"]
                .as_str()
                .unwrap()
                .contains("no wire baseline for acme-chat 3 (--require-snapshots)"),
            "{output}"
        );
    }

    // Once recorded (--snapshots DIR --update-snapshots), DIR/acme-chat-3 is its baseline.
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().to_str().unwrap();
    let (code, _, output) = run(
        client,
        &[
            "--snapshots",
            snapshots,
            "--update-snapshots",
            "--filter",
            "login/ok",
        ],
    );
    assert_eq!(code, 0, "{output}");
    assert!(dir.path().join("acme-chat-3/login__ok.snap").is_file());
    let (code, report, output) = run(
        client,
        &[
            "--snapshots",
            snapshots,
            "--require-snapshots",
            "--filter",
            "login/ok",
        ],
    );
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["remarks"].as_array().unwrap().len(), 0, "{output}");
}
