//! A driver that prints garbage, exits early or hangs fails its scenario with the reason and
//! its stderr tail, the run goes on, and no process of the driver is left behind. A driver that
//! never starts (gone before answering `hello`) is the harness's problem: exit 2, naming the
//! command.

use serde_json::Value;
use std::process::Command;

fn run_with(client: &str, extra: &[&str]) -> (i32, Value, String) {
    let (code, report, stdout, _) = run_with_stderr(client, extra);
    (code, report, stdout)
}

fn run_with_stderr(client: &str, extra: &[&str]) -> (i32, Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args([
            "run",
            "--scenarios",
            "tests/fixtures/scenarios",
            "--client",
            client,
            "--json",
        ])
        .arg(&json)
        .args(extra)
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap(), report, stdout, stderr)
}

fn only_failure(report: &Value) -> String {
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["verdict"], "fail", "{report:#}");
    scenario["failure"].as_str().unwrap().to_string()
}

fn no_process_matches(marker: &str) -> bool {
    let out = Command::new("pgrep").args(["-f", marker]).output().unwrap();
    out.stdout.is_empty()
}

#[test]
fn a_driver_printing_garbage_fails_with_the_line_and_is_killed() {
    let (code, report, stdout) = run_with("sh tests/fixtures/drivers/garbage.sh", &[]);
    assert_eq!(code, 1);
    let failure = only_failure(&report);
    assert!(
        failure.contains("not JSON") && failure.contains("Hello World, definitely not JSON"),
        "{failure}"
    );
    assert!(
        stdout.contains("garbage driver: about to write a bad line"),
        "stderr tail missing:\n{stdout}"
    );
    assert!(no_process_matches("tests/fixtures/drivers/garbage.sh"));
}

#[test]
fn a_driver_exiting_early_fails_with_its_status() {
    let (code, report, stdout) = run_with("sh tests/fixtures/drivers/early-exit.sh", &[]);
    assert_eq!(code, 1);
    let failure = only_failure(&report);
    assert!(
        failure.contains("exited early") && failure.contains("3"),
        "{failure}"
    );
    assert!(
        stdout.contains("early-exit driver: giving up"),
        "stderr tail missing:\n{stdout}"
    );
}

#[test]
fn a_hanging_driver_times_out_and_its_whole_process_group_is_killed() {
    let marker = format!("imspec-hang-marker-{}", std::process::id());
    let client = format!("sh tests/fixtures/drivers/hang.sh {marker}");
    let (code, report, stdout) = run_with(&client, &["--step-timeout-ms", "1000"]);
    assert_eq!(code, 1);
    let failure = only_failure(&report);
    assert!(
        failure.contains("no reply to `connect`") && failure.contains("1000 ms"),
        "{failure}"
    );
    assert!(
        stdout.contains("hang driver: child"),
        "stderr tail missing:\n{stdout}"
    );
    assert!(
        no_process_matches(&marker),
        "a child of the hanging driver survived"
    );
}

#[test]
fn a_driver_that_does_not_exist_is_a_harness_error_naming_the_command() {
    let (code, report, stdout, stderr) = run_with_stderr("no-such-driver-command --flag", &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(report["scenarios"][0]["verdict"], "error", "{report:#}");
    assert!(
        stderr.contains("the driver `no-such-driver-command --flag` did not start"),
        "{stderr}"
    );
    assert!(stdout.contains("not found"), "the shell's reason: {stdout}");
}

#[test]
fn a_driver_exiting_before_hello_is_a_harness_error_with_its_stderr() {
    let (code, _, stdout, stderr) = run_with_stderr("sh tests/fixtures/drivers/no-hello.sh", &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("`sh tests/fixtures/drivers/no-hello.sh` did not start")
            && stderr.contains("exit status: 4"),
        "{stderr}"
    );
    assert!(stdout.contains("missing runtime, cannot start"), "{stdout}");
}

#[test]
fn an_exception_in_the_sdk_fails_the_waiting_step_at_once_with_message_and_stack() {
    let started = std::time::Instant::now();
    let (code, report, stdout) = run_with("sh tests/fixtures/drivers/exception.sh", &[]);
    assert_eq!(code, 1, "{stdout}");
    let failure = only_failure(&report);
    assert!(
        failure.contains("step 1")
            && failure.contains(
                "the SDK threw an exception for alice: The URL scheme must be either http: or https:"
            )
            && failure.contains("at XMLHttpRequest.open (sdk.js:12:34)"),
        "{failure}"
    );
    // Not the 10 s deadline of the step: the exception ends it (the rest is the driver's
    // 2 s to answer shutdown).
    let ms = report["scenarios"][0]["duration_ms"].as_u64().unwrap();
    assert!(ms < 6000, "{ms} ms");
    assert!(started.elapsed().as_secs() < 9);
}

/// An SDK's exception and the event a step waits for can come in either order (the SDK writes
/// them from one piece of work): the step finds its event either way, and the exception fails
/// the run after the last step, the same failure in both orders (`--repeat` saw the step an
/// exception failed at change with which came first).
#[test]
fn an_exception_beside_the_awaited_event_fails_the_run_the_same_way_in_either_order() {
    let failure = |order: &str| {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
            .args(["run", "--scenarios", "tests/fixtures/exception-order"])
            .args([
                "--client",
                "sh tests/fixtures/drivers/exception-beside-event.sh",
            ])
            .arg("--json")
            .arg(&json)
            .env("ORDER", order)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        only_failure(&report)
    };
    let exception_first = failure("exception-first");
    assert!(
        exception_first.starts_with(
            "after the last step: the SDK threw an exception for alice: index out of range"
        ),
        "{exception_first}"
    );
    assert_eq!(exception_first, failure("event-first"));
}
