//! An interrupted `imspec run` keeps what it learned: sent SIGINT or SIGTERM mid-suite, it
//! writes the JSON and JUnit reports it was asked for (the finished scenarios with their
//! verdicts, the rest NOT RUN), kills every driver's process group and exits 130 or 143.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::io::Read as _;
use std::process::{Command, Stdio};

fn interrupted_by(signal: Signal, status: i32) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("b-started");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let marker = format!("imspec-interrupt-marker-{}-{signal}", std::process::id());
    // `pool/a-leaves-state` runs on the reference client; `pool/b-alone` on a driver that hangs
    // (with a child process) after saying on the FIFO that it started.
    let client = format!(
        "if [ \"$IMSPEC_SCENARIO\" = pool/b-alone ]; then echo started > '{fifo}'; \
         exec sh tests/fixtures/drivers/hang.sh {marker}; else exec '{exe}' driver; fi",
        fifo = fifo.display(),
        exe = env!("CARGO_BIN_EXE_imspec"),
    );
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let child = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(["run", "--scenarios", "tests/fixtures/pool/scenarios"])
        .args([
            "--snapshots",
            &dir.path().join("snaps").display().to_string(),
        ])
        .args(["--update-snapshots", "--jobs", "1", "--fresh-drivers"])
        .args(["--client", &client, "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Blocks until the hanging driver of the second scenario has started.
    let mut started = String::new();
    std::fs::File::open(&fifo)
        .unwrap()
        .read_to_string(&mut started)
        .unwrap();
    assert_eq!(started.trim(), "started");
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(status), "{stderr}");
    assert!(
        stderr.contains(&format!("interrupted ({signal})")),
        "{stderr}"
    );

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let verdicts: Vec<(&str, &str)> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [("pool/a-leaves-state", "pass"), ("pool/b-alone", "not_run")],
        "{report:#}"
    );
    assert_eq!(report["summary"]["not_run"], 1);
    let failure = report["scenarios"][1]["failure"].as_str().unwrap();
    assert!(failure.contains(&signal.to_string()), "{failure}");

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"2\""), "{xml}");
    assert!(xml.contains("name=\"pool/b-alone\""), "{xml}");
    assert!(xml.contains("<skipped"), "{xml}");

    let left = Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "processes of the hanging driver survived: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn sigint_mid_suite_writes_the_reports_and_leaves_no_process() {
    interrupted_by(Signal::SIGINT, 130);
}

#[test]
fn sigterm_mid_suite_writes_the_reports_and_leaves_no_process() {
    interrupted_by(Signal::SIGTERM, 143);
}
