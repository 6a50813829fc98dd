//! The JavaScript drivers beyond their suites: the transport each bundle gets (read from the
//! bundle, not its version), the protocol's `exception` event for an SDK that throws during
//! `connect` (a bundle altered by the test), in Node and in Chromium, and `sync`'s `idle` in Node.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn installed(folder: &str, package: &str) {
    assert!(
        Path::new(folder)
            .join("node_modules")
            .join(package)
            .is_dir(),
        "the driver's packages are missing: run `npm ci --prefix {folder}` (the README's test command does)"
    );
}

/// The pinned 4.21.1 bundle with `open` replaced by one that throws from a timer, as an SDK
/// throws inside an XHR callback (an older 4.x build handed the wrong URL did exactly that).
fn throwing_bundle(dir: &Path) -> PathBuf {
    let pinned = Path::new("drivers/websdk4/node_modules/easemob-websdk/Easemob-chat.js");
    let mut text = std::fs::read_to_string(pinned).unwrap();
    text.push_str(
        r#"
;(function () {
  var W = (typeof module !== "undefined" && module.exports && module.exports.connection) ? module.exports : self.websdk;
  W.connection.prototype.open = function () {
    setTimeout(function () { throw new Error("imspec test: thrown inside the SDK during connect"); }, 0);
    return new Promise(function () {});
  };
})();
"#,
    );
    let path = dir.join("Easemob-chat-throws.js");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a driver (`sh -c command`, with `env`): the child, its stdin, and its stdout lines as
/// they come (read on a thread of their own).
fn start(
    command: &str,
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    std::process::ChildStdin,
    mpsc::Receiver<String>,
) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, stdin, rx)
}

/// Talks to a driver directly: sends `lines`, then collects its stdout lines until `until`
/// holds or `within` passes; then shuts it down.
fn converse(
    command: &str,
    env: &[(&str, &str)],
    lines: &[Value],
    until: impl Fn(&Value) -> bool,
    within: Duration,
) -> Vec<Value> {
    let (mut child, mut stdin, rx) = start(command, env);
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    let start = Instant::now();
    let mut seen = Vec::new();
    while let Some(left) = within.checked_sub(start.elapsed()) {
        let Ok(line) = rx.recv_timeout(left) else {
            break;
        };
        let value: Value = serde_json::from_str(&line).unwrap();
        let done = until(&value);
        seen.push(value);
        if done {
            break;
        }
    }
    let _ = writeln!(stdin, r#"{{"id": 999, "op": "shutdown"}}"#);
    drop(stdin);
    let _ = child.wait();
    seen
}

/// A connect to a server that answers every request with a blank page (what a browser driver
/// opens before loading the SDK); the altered SDK throws before it would talk to it.
fn connect_args() -> Value {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let body = "<!doctype html><title>blank</title>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    serde_json::json!({"id": 2, "op": "connect", "user": "alice", "args": {
        "password": "x", "appKey": "org#app", "url": format!("http://127.0.0.1:{port}/ws"),
        "wsUrl": format!("ws://127.0.0.1:{port}/websocket"), "apiUrl": format!("http://127.0.0.1:{port}")}})
}

fn exception_at_connect(command: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = throwing_bundle(dir.path());
    let hello = serde_json::json!({"id": 1, "op": "hello", "args": {"protocol": 2}});
    let started = Instant::now();
    let seen = converse(
        command,
        &[("IMSPEC_WEBSDK", bundle.to_str().unwrap())],
        &[hello, connect_args()],
        |v| v["event"] == "exception",
        Duration::from_secs(60),
    );
    let exception = seen
        .iter()
        .find(|v| v["event"] == "exception")
        .unwrap_or_else(|| panic!("no exception event: {seen:?}"));
    assert_eq!(exception["user"], "alice", "{exception}");
    assert!(
        exception["data"]["message"]
            .as_str()
            .unwrap()
            .contains("imspec test: thrown inside the SDK during connect"),
        "{exception}"
    );
    assert!(
        exception["data"]["stack"]
            .as_str()
            .unwrap()
            .contains("Error"),
        "{exception}"
    );
    // at once: before any reply to the connect (the altered open never settles, so without the
    // event nothing would come until a step's deadline); the time is the driver's start-up
    assert!(
        !seen.iter().any(|v| v["id"] == 2),
        "the connect was answered: {seen:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{seen:?}");
    let hello = seen.iter().find(|v| v["id"] == 1);
    let Some(hello) = hello else {
        return; // answered after the exception: seen only when it came first
    };
    assert_eq!(hello["result"]["protocol"], 2, "{hello}");
    assert_eq!(hello["result"]["capabilities"][0], "reset", "{hello}");
}

#[test]
fn an_sdk_that_throws_during_connect_gives_the_exception_event_at_once_in_node() {
    installed("drivers/websdk4", "easemob-websdk");
    exception_at_connect("node drivers/websdk4/driver.mjs");
}

#[test]
fn an_sdk_that_throws_during_connect_gives_the_exception_event_at_once_in_chromium() {
    installed("drivers/websdk4", "easemob-websdk");
    installed("drivers/chromium", "puppeteer-core");
    let found = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium on PATH under CI: `apt-get install -y chromium` (.ci/run does it)"
        );
        eprintln!("SKIPPED: no chromium on PATH; `apt-get install -y chromium` to run this part");
        return;
    }
    exception_at_connect("node drivers/chromium/websdk4/driver.mjs");
}

#[test]
fn an_early_4x_build_that_speaks_sockjs_gets_the_sockjs_url_and_connects() {
    installed("drivers/websdk4", "easemob-websdk");
    // easemob-websdk 4.0.1 (vendored unmodified, ISC) carries sockjs-client: the websdk4 driver
    // must read that from the bundle and hand it the http:// SockJS base, not the ws:// URL
    // (with which such a build threw "The URL's scheme must be either 'http:' or 'https:'").
    let bundle =
        std::fs::canonicalize("tests/fixtures/easemob-websdk-4.0.1/Easemob-chat.js").unwrap();
    let client = format!(
        "IMSPEC_WEBSDK={} node drivers/websdk4/driver.mjs",
        bundle.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // 4.0.1 speaks another wire than the 4.21.1 snapshots: record its own transcript
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args([
            "run",
            "--client",
            &client,
            "--filter",
            "login/ok",
            "--update-snapshots",
            "--snapshots",
        ])
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["client"]["sdkVersion"], "4.0.1", "{report}");
    assert_eq!(report["summary"]["passed"], 1, "{report}");
    let snapshot = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .flat_map(|e| walk(&e.path()))
        .find(|p| p.ends_with("login__ok.snap"))
        .unwrap_or_else(|| panic!("no snapshot recorded: {text}"));
    let transcript = std::fs::read_to_string(snapshot).unwrap();
    assert!(
        transcript.contains("GET /ws/info"),
        "not SockJS: {transcript}"
    );
    assert!(transcript.contains("* onOpened"), "{transcript}");
}

fn walk(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .flat_map(|e| walk(&e.path()))
            .collect()
    } else {
        vec![path.to_path_buf()]
    }
}

/// Through the harness: the step waiting on the connect fails with the SDK's exception, its
/// message and stack, not with the step's deadline.
#[test]
fn the_harness_fails_the_connect_step_with_the_sdks_exception() {
    installed("drivers/websdk4", "easemob-websdk");
    let dir = tempfile::tempdir().unwrap();
    let bundle = throwing_bundle(dir.path());
    let report = dir.path().join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args([
            "run",
            "--filter",
            "login/ok",
            "--step-timeout-ms",
            "60000",
            "--client",
        ])
        .arg("node drivers/websdk4/driver.mjs")
        .arg("--json")
        .arg(&report)
        .env("IMSPEC_WEBSDK", &bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let scenario = &report["scenarios"][0];
    let failure = scenario["failure"].as_str().unwrap();
    assert!(
        failure.contains("imspec test: thrown inside the SDK during connect"),
        "{failure}"
    );
    assert!(
        scenario["duration_ms"].as_u64().unwrap() < 30_000,
        "waited for a deadline: {scenario}"
    );
}

/// A Node driver answers `sync` with `idle` (DRIVER-PROTOCOL.md, "Settling") only when no realm
/// has anything of its own under way: with no user it is idle; while alice's token request waits
/// on a server that never answers, it is not; once that request has failed, it is again.
#[test]
fn a_node_driver_says_idle_only_when_no_request_of_its_sdks_is_in_flight() {
    installed("drivers/websdk4", "easemob-websdk");
    // accepts connections and holds them unanswered until told to drop them
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (drop_tx, drop_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let stream = silent.accept().map(|(stream, _)| stream);
        let _ = drop_rx.recv();
        drop(stream);
    });
    let (mut child, mut stdin, rx) = start("node drivers/websdk4/driver.mjs", &[]);
    let mut send = |request: Value| writeln!(stdin, "{request}").unwrap();
    let reply_to = |id: u64| -> Value {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no reply to request {id}"));
            let value: Value = serde_json::from_str(&line).unwrap();
            if value["id"] == id {
                return value;
            }
        }
    };
    let sync = |id: u64| serde_json::json!({"id": id, "op": "sync", "args": {}});
    send(serde_json::json!({"id": 1, "op": "hello", "args": {"protocol": 3}}));
    assert_eq!(reply_to(1)["ok"], true);
    send(sync(10));
    assert_eq!(reply_to(10)["result"], serde_json::json!({"idle": true}));
    send(
        serde_json::json!({"id": 2, "op": "connect", "user": "alice", "args": {
        "password": "x", "appKey": "org#app", "url": format!("http://127.0.0.1:{port}/ws"),
        "wsUrl": format!("ws://127.0.0.1:{port}/websocket"),
        "apiUrl": format!("http://127.0.0.1:{port}")}}),
    );
    for id in 11..14 {
        send(sync(id));
        let reply = reply_to(id);
        assert_eq!(reply["result"], serde_json::json!({}), "{reply}");
    }
    drop_tx.send(()).unwrap(); // the token request fails: the connect is answered
    let connect = reply_to(2);
    assert_eq!(connect["ok"], false, "{connect}");
    send(sync(20));
    let after = reply_to(20);
    send(serde_json::json!({"id": 999, "op": "shutdown"}));
    let _ = reply_to(999);
    let _ = child.wait();
    holder.join().unwrap();
    assert_eq!(
        after["result"],
        serde_json::json!({"idle": true}),
        "{after}"
    );
}
