//! Every citation of the suite holds: each scenario's guide lines and wire sections contain
//! their quotes, and so does each reason of the drivers' expected-failures lists. A wrong quote
//! is a harness error (exit 2) that names the file and the line.

use imspec::runner::expected::ExpectedFailures;
use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn imspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_scenario_and_expected_failure_reason_cites_what_is_there() {
    let scenarios = imspec::runner::select(&Path::new(ROOT).join("scenarios"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(scenarios.len() >= 81, "{}", scenarios.len());
    for s in &scenarios {
        assert!(
            !s.citations.guide.is_empty() || !s.citations.wire.is_empty(),
            "{}",
            s.id
        );
    }
    let mut lists = 0;
    for driver in std::fs::read_dir(Path::new(ROOT).join("drivers")).unwrap() {
        let path = driver.unwrap().path().join("expected-failures.txt");
        if path.exists() {
            let list = ExpectedFailures::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!list.entries.is_empty(), "{}", path.display());
            lists += 1;
        }
    }
    assert!(lists >= 3, "{lists}");
}

#[test]
fn a_wrong_quote_in_a_scenario_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("area")).unwrap();
    let file = dir.path().join("area/wrong.toml");
    std::fs::write(
        &file,
        "purpose = \"x\"\nguide = [\n  { lines = \"565\", quote = \"//Successful connection callback\" },\n  { lines = \"62-75\", quote = \"Send location messages\" },\n]\n[world.users]\nalice = {}\n[[step]]\nconnect = \"alice\"\n",
    )
    .unwrap();
    let output = imspec(&["list", "--scenarios", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains(&format!(
            "{}:4: guide lines 62-75 do not contain \"Send location messages\"",
            file.display()
        )),
        "{message}"
    );
}

#[test]
fn a_wrong_quote_in_an_expected_failure_reason_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("expected-failures.txt");
    std::fs::write(
        &list,
        "# header\nlogin/ok  # guide L94 \"the guide's error table\": made up\n",
    )
    .unwrap();
    let output = imspec(&[
        "run",
        "--filter",
        "login/ok",
        "--expected-failures",
        list.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains(&format!(
            "{}:2: the reason of `login/ok`: guide lines 94 do not contain \"the guide's error table\"",
            list.display()
        )),
        "{message}"
    );
}
