//! `imspec driver-check`: the bundled drivers pass it, and each broken fixture driver fails it
//! with the message that names what it broke.

use std::path::Path;
use std::process::{Command, Output};

fn driver_check(client: &str, timeout_ms: u32) -> (i32, String) {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(["driver-check", "--client", client, "--timeout-ms"])
        .arg(timeout_ms.to_string())
        .env("IMSPEC_BIN", env!("CARGO_BIN_EXE_imspec"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

/// The verdict line of check `name` and its notes.
fn section<'a>(report: &'a str, name: &str) -> &'a str {
    let start = report
        .lines()
        .position(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ") == name)
        .unwrap_or_else(|| panic!("no check `{name}` in:\n{report}"));
    let lines: Vec<&str> = report.lines().collect();
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.starts_with(' '))
        .map_or(lines.len(), |p| start + 1 + p);
    let from = report.find(lines[start]).unwrap();
    let to = if end < lines.len() {
        report.find(lines[end]).unwrap()
    } else {
        report.len()
    };
    &report[from..to]
}

fn assert_fails(report: &str, check: &str, message: &str) {
    let part = section(report, check);
    assert!(part.starts_with("FAIL"), "{check} should fail:\n{report}");
    assert!(
        part.contains(message),
        "{check} should say {message:?}:\n{report}"
    );
}

#[test]
fn the_reference_client_passes_every_check() {
    let (code, report) = driver_check(&format!("{} driver", env!("CARGO_BIN_EXE_imspec")), 10_000);
    assert_eq!(code, 0, "{report}");
    for check in [
        "hello",
        "connect (alice)",
        "connect (bob)",
        "send",
        "recall",
        "history",
        "sessions",
        "download",
        "unknown op",
        "malformed request",
        "disconnect",
        "shutdown",
        "stdout",
    ] {
        assert!(
            section(&report, check).starts_with("PASS"),
            "{check}:\n{report}"
        );
    }
    // The reference client announces `reset` and `timers` (protocol 2), so they are checked too.
    assert!(section(&report, "reset").starts_with("PASS"), "{report}");
    assert!(
        section(&report, "fire-timer").starts_with("PASS"),
        "{report}"
    );
}

#[test]
fn the_three_node_drivers_pass() {
    for driver in ["websdk", "websdk4", "agora-chat"] {
        assert!(
            Path::new(&format!("drivers/{driver}/node_modules")).is_dir(),
            "run `npm ci --prefix drivers/{driver}` first (the README's test command does)"
        );
        let (code, report) = driver_check(&format!("node drivers/{driver}/driver.mjs"), 20_000);
        assert_eq!(code, 0, "{driver}:\n{report}");
        assert!(section(&report, "send").starts_with("PASS"), "{report}");
    }
}

#[test]
fn each_broken_fixture_driver_fails_with_what_it_broke() {
    let fixtures = "tests/fixtures/drivers";
    let cases: &[(&str, &str, &str)] = &[
        (
            "no-hello.sh",
            "hello",
            "the driver exited (exit status: 4) before replying to `hello`",
        ),
        (
            "early-exit.sh",
            "connect (alice)",
            "the driver exited (exit status: 3) before replying to `connect`",
        ),
        ("garbage.sh", "connect (alice)", "stdout line 2 is not JSON"),
        (
            "hang.sh",
            "connect (alice)",
            "no reply to `connect` (request 2) in time",
        ),
        (
            "check-bad-hello.sh",
            "hello",
            "stdout line 1: `result.sdkVersion` is missing",
        ),
        (
            "check-noisy-stdout.sh",
            "hello",
            "stdout line 1 is not JSON",
        ),
        (
            "check-bad-send-reply.sh",
            "send",
            "reply to `send`: `result.serverMsgId` is missing",
        ),
        (
            "check-unknown-op-ok.sh",
            "unknown op",
            "must be answered {\"ok\": false, \"error\": {\"type\": \"unsupported\"}}",
        ),
        (
            "check-no-exit.sh",
            "shutdown",
            "still running 2 s after answering shutdown",
        ),
    ];
    for (fixture, check, message) in cases {
        let (code, report) = driver_check(&format!("sh {fixtures}/{fixture}"), 1_500);
        assert_eq!(code, 1, "{fixture}:\n{report}");
        assert_fails(&report, check, message);
    }
}
