//! The bundled suite end to end against the 4.x generation of the real SDK: easemob-websdk
//! 4.21.1 and agora-chat 1.4.0, unmodified, through their Node drivers (one shared core). Both
//! must pass, their deviations from the guide being XFAIL with a reason in each driver's
//! expected-failures.txt; and `imspec matrix` puts them beside the reference client.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn imspec(args: &[&str], json: &Path) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(args)
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_to_string(json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, text)
}

fn installed(folder: &str, package: &str) {
    assert!(
        Path::new(folder)
            .join("node_modules")
            .join(package)
            .is_dir(),
        "the driver's packages are missing: run `npm ci --prefix {folder}` (the README's test command does)"
    );
}

fn suite_passes(folder: &str, package: &str, version: &str) {
    installed(folder, package);
    let dir = tempfile::tempdir().unwrap();
    let client = format!("node {folder}/driver.mjs");
    let (code, report, output) = imspec(&["run", "--client", &client], &dir.path().join("r.json"));
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["client"]["sdk"], package, "{report}");
    assert_eq!(report["client"]["sdkVersion"], version, "{report}");
    let summary = &report["summary"];
    assert_eq!(summary["failed"], 0, "{output}");
    assert_eq!(
        summary["passed"].as_u64().unwrap() + summary["xfail"].as_u64().unwrap(),
        summary["total"].as_u64().unwrap(),
        "{output}"
    );
    // Every expected failure says why.
    for s in report["scenarios"].as_array().unwrap() {
        if s["verdict"] == "xfail" {
            assert!(
                s["expected_reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{s}"
            );
        }
    }
}

#[test]
fn the_suite_passes_against_the_real_websdk_4_21_1() {
    suite_passes("drivers/websdk4", "easemob-websdk", "4.21.1");
}

#[test]
fn the_suite_passes_against_the_real_agora_chat_1_4_0() {
    suite_passes("drivers/agora-chat", "agora-chat", "1.4.0");
}

#[test]
fn imspec_websdk_loads_another_4x_bundle_in_the_websdk4_driver() {
    installed("drivers/agora-chat", "agora-chat");
    let dir = tempfile::tempdir().unwrap();
    // The agora-chat bundle is a 4.x build of the same API: the websdk4 driver runs it as given.
    let bundle =
        std::fs::canonicalize("drivers/agora-chat/node_modules/agora-chat/Agora-chat.js").unwrap();
    let client = format!(
        "IMSPEC_WEBSDK={} node drivers/websdk4/driver.mjs",
        bundle.display()
    );
    let (code, report, output) = imspec(
        &["run", "--client", &client, "--filter", "login/ok"],
        &dir.path().join("r.json"),
    );
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["client"]["sdkVersion"], "1.4.0", "{report}");
}

#[test]
fn the_matrix_puts_each_client_beside_the_reference_client() {
    installed("drivers/websdk4", "easemob-websdk");
    let dir = tempfile::tempdir().unwrap();
    let (code, report, output) = imspec(
        &[
            "matrix",
            "--client",
            "websdk4=node drivers/websdk4/driver.mjs",
            "--filter",
            "login/*",
            "--filter",
            "refusals/txt-group-muted",
            "--html",
            dir.path().join("m.html").to_str().unwrap(),
        ],
        &dir.path().join("m.json"),
    );
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["kind"], "matrix");
    let columns = report["columns"].as_array().unwrap();
    assert_eq!(columns[0]["name"], "reference", "{report}");
    assert_eq!(columns[1]["name"], "websdk4", "{report}");
    assert_eq!(columns[1]["sdkVersion"], "4.21.1", "{report}");
    let muted = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "refusals/txt-group-muted")
        .unwrap();
    assert_eq!(muted["cells"][0]["verdict"], "pass", "{muted}");
    assert_eq!(muted["cells"][1]["verdict"], "xfail", "{muted}");
    assert!(
        muted["cells"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("onMutedMessage")
    );
    // The terminal table names the scenario and shows where the clients differ.
    assert!(output.contains("refusals/txt-group-muted"), "{output}");
    assert!(output.contains("where the clients differ:"), "{output}");
    // The HTML page has a row per scenario with a cell per client.
    let html = std::fs::read_to_string(dir.path().join("m.html")).unwrap();
    assert!(
        html.contains(r#"data-id="refusals/txt-group-muted""#),
        "{html}"
    );
    assert!(html.contains("websdk4"), "{html}");
}

#[test]
fn a_matrix_client_must_be_name_equals_command() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, output) = imspec(
        &["matrix", "--client", "node drivers/websdk4/driver.mjs"],
        &dir.path().join("m.json"),
    );
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("NAME=COMMAND"), "{output}");
}
