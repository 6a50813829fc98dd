//! The real easemob-websdk 3.6.3 in headless Chromium (drivers/chromium): the suite passes
//! (its deviations XFAIL with a reason, the upload-progress scenarios PASS; CI runs the areas
//! where the browser differs from Node, `--ignored` the whole suite), and no browser
//! process outlives the driver: after a passing run, a failing one, and a driver killed outright.
//!
//! Each test gives the harness a TMPDIR of its own; the driver puts the browser's profile there,
//! so the browser processes of one test are those whose command line names that folder.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether this machine has Debian's `chromium`. Outside CI a machine without it skips these
/// tests with the reason printed (the README's test command passes on a machine with only Rust,
/// Node and npm); under `CI=true` it is required.
fn have_chromium() -> bool {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let how = "`apt-get install -y chromium` (.ci/run does it)";
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium on PATH under CI: {how}"
        );
        eprintln!("SKIPPED: no chromium on PATH; {how} to run the Web SDKs in a browser");
    }
    found
}

/// The driver's packages are installed, and Chromium is there (false: skip, outside CI).
fn ready() -> bool {
    if !have_chromium() {
        return false;
    }
    for (folder, package) in [
        ("drivers/chromium", "puppeteer-core"),
        ("drivers/websdk", "easemob-websdk"),
        ("drivers/websdk4", "easemob-websdk"),
    ] {
        assert!(
            Path::new(folder)
                .join("node_modules")
                .join(package)
                .is_dir(),
            "the driver's packages are missing: run `npm ci --prefix {folder}` (the README's test command does)"
        );
    }
    true
}

/// Processes whose command line names `dir` (the browser's profile folder is under it).
fn browsers_in(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(&needle) {
                found.push(format!(
                    "{}: {}",
                    entry.file_name().to_string_lossy(),
                    cmdline
                ));
            }
        }
    }
    found
}

/// Waits up to 5 s for every browser process of `dir` to be gone.
fn no_browser_left(dir: &Path) {
    let start = Instant::now();
    loop {
        let left = browsers_in(dir);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "browser processes left behind: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn imspec(args: &[&str], tmp: &Path, env: &[(&str, &str)]) -> (i32, Value, String) {
    let json = tmp.join("r.json");
    let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(args)
        .arg("--json")
        .arg(&json)
        .env("TMPDIR", tmp)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_to_string(&json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, text)
}

/// The areas where the browser is what differs from Node: its WebSocket (login, connection),
/// XHR, FormData and Blob (uploads, their progress and their limits, downloads), its timers
/// (reconnect), and the text paths the other areas build on. The rest (receipts, recall,
/// roaming, sessions, the refusal matrix, ...) is the SDK's own logic on those same paths, and
/// the same bundle runs it in Node (tests/suite.rs); the whole suite in the browser, a page per
/// user, takes about 220 s on 2 cores, so CI runs this slice (about a third) and
/// `the_whole_suite_passes_against_websdk_3_6_3_in_chromium` (ignored) runs everything.
const BROWSER_SLICE: &[&str] = &[
    "login/*",
    "connection/*",
    "downloads/*",
    "limits/img-*",
    "messages/upload-progress-*",
    "messages/*-single",
    "messages/*-upload-*",
    "messages/img-upload-improper",
    "messages/file-download-checks",
    "messages/url-guide-body",
];

#[test]
fn the_browser_slice_passes_against_websdk_3_6_3_in_chromium_and_leaves_no_browser() {
    suite_in_chromium(BROWSER_SLICE.iter().map(|f| f.to_string()).collect());
}

#[test]
#[ignore = "the whole suite in a browser takes minutes: cargo test --test chromium -- --ignored"]
fn the_whole_suite_passes_against_websdk_3_6_3_in_chromium() {
    let every_area = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.unwrap();
            let area = entry.file_name().into_string().unwrap();
            entry.path().is_dir().then(|| format!("{area}/*"))
        })
        .collect();
    suite_in_chromium(every_area);
}

/// The scenarios `filters` select pass (or fail as expected, with a reason) against 3.6.3 in
/// Chromium, and no browser process is left behind.
fn suite_in_chromium(filters: Vec<String>) {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let client = "node drivers/chromium/driver.mjs";
    // a browser per driver starts slowly on a loaded machine (cargo test runs other suites
    // beside this one): deadlines of 30 s, which only a failing step ever waits out, and a
    // settle grace of 500 ms (the 40 ms default lost 3.6.3's onError after a server close on a
    // machine at load 20, in Node as in Chromium: runner/absence.rs)
    let mut args = vec![
        "run",
        "--jobs",
        "2",
        "--step-timeout-ms",
        "30000",
        "--client",
        client,
    ];
    for filter in &filters {
        args.extend(["--filter", filter.as_str()]);
    }
    let (code, report, output) = imspec(&args, tmp.path(), &[("IMSPEC_GRACE_MS", "500")]);
    assert!(!filters.is_empty(), "{filters:?}");
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["client"]["sdk"], "easemob-websdk", "{report}");
    assert_eq!(report["client"]["sdkVersion"], "3.6.3", "{report}");
    let summary = &report["summary"];
    assert_eq!(summary["failed"], 0, "{output}");
    let scenarios = report["scenarios"].as_array().unwrap();
    // every filter selects something (a renamed scenario must not shrink the slice unseen)
    for filter in &filters {
        let glob = globset::Glob::new(filter).unwrap().compile_matcher();
        assert!(
            scenarios
                .iter()
                .any(|s| glob.is_match(s["id"].as_str().unwrap())),
            "{filter} selects no scenario"
        );
    }
    for s in scenarios {
        let id = s["id"].as_str().unwrap();
        if id.starts_with("messages/upload-progress-") {
            assert_eq!(s["verdict"], "pass", "{s}");
        }
        if s["verdict"] == "xfail" {
            assert!(
                s["expected_reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{s}"
            );
        }
    }
    no_browser_left(tmp.path());
}

#[test]
fn a_failing_scenario_leaves_no_browser_behind() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // a 1 ms step deadline fails the login before the SDK can answer
    let (code, _, output) = imspec(
        &[
            "run",
            "--client",
            "node drivers/chromium/driver.mjs",
            "--filter",
            "login/ok",
            "--step-timeout-ms",
            "1",
        ],
        tmp.path(),
        &[],
    );
    assert_eq!(code, 1, "{output}");
    no_browser_left(tmp.path());
}

#[test]
fn a_killed_driver_takes_its_browser_with_it() {
    if !ready() {
        return;
    }
    for whole_group in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let mut command = Command::new("node");
        command
            .arg("drivers/chromium/driver.mjs")
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut driver = command.spawn().unwrap();
        let mut stdin = driver.stdin.take().unwrap();
        writeln!(
            stdin,
            r#"{{"id": 1, "op": "hello", "args": {{"protocol": 2}}}}"#
        )
        .unwrap();
        let mut line = String::new();
        BufReader::new(driver.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains(r#""ok":true"#), "{line}");
        assert!(
            !browsers_in(tmp.path()).is_empty(),
            "hello started no browser"
        );
        let pid = driver.id() as i32;
        // the harness kills the driver's process group; a driver killed alone must not leave
        // its browser either (the browser exits when its debugging pipe closes)
        let target = if whole_group { -pid } else { pid };
        let killed = Command::new("kill")
            .args(["-KILL", "--", &target.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let _ = driver.wait();
        no_browser_left(tmp.path());
    }
}
