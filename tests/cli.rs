//! Errors of the harness are not client failures: a broken scenario file, a broken
//! expected-failures file or an unknown flag give exit status 2 and say where the problem is.

use std::process::{Command, Output};

fn imspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_scenario_file_that_does_not_parse_gives_exit_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("area")).unwrap();
    let file = dir.path().join("area/broken.toml");
    std::fs::write(&file, "purpose = \"x\"\nguide = [{ lines = \"12\", quote = \"Message is one of\" }]\n[world.users]\nalice = {}\n[[step]]\nsend = { user = \"bob\" }\n").unwrap();
    let output = imspec(&["run", "--scenarios", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{}:5: step 1: user `bob`", file.display())),
        "{message}"
    );

    std::fs::write(&file, "purpose = \"x\"\nguide = [\n").unwrap();
    let output = imspec(&["run", "--scenarios", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{}:2: ", file.display())),
        "{message}"
    );
}

/// Runs `login/ok` with an expected-failures file holding `list`.
fn run_login_ok_expecting(list: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("expected-failures.txt");
    std::fs::write(&path, list).unwrap();
    let path = path.to_str().unwrap();
    imspec(&["run", "--filter", "login/ok", "--expected-failures", path])
}

#[test]
fn an_expected_failure_without_a_reason_gives_exit_2() {
    let output = run_login_ok_expecting("login/ok\n");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("expected-failures.txt:1: `login/ok` has no reason"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_listed_scenario_that_passes_is_xpass_and_fails_the_run() {
    let output = run_login_ok_expecting(
        "login/ok  # guide L94 \"e.type === '503' unknown error\": pretend it fails\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("XPASS"));
}

#[test]
fn unknown_flags_and_fault_switches_give_exit_2() {
    assert_eq!(imspec(&["run", "--no-such-flag"]).status.code(), Some(2));
    let output = imspec(&["run", "--fault", "no-such-fault"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("valid faults: no-opened"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_lists_the_exit_codes() {
    let help = String::from_utf8_lossy(&imspec(&["--help"]).stdout).into_owned();
    for line in [
        "0  every scenario passed",
        "1  a scenario failed",
        "2  the harness could not run",
    ] {
        assert!(help.contains(line), "{help}");
    }
}
