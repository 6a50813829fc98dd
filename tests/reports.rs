//! Every report of one run: `--json`, `--junit` (one test case per scenario, classname = area)
//! and `--html` (a self-contained page that renders in headless Chromium, one row per scenario).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Reports {
    _dir: tempfile::TempDir,
    json: PathBuf,
    junit: PathBuf,
    html: PathBuf,
}

/// The suite against the reference client, once for every test here.
fn reports() -> &'static Reports {
    static REPORTS: OnceLock<Reports> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (json, junit, html) = (
            dir.path().join("a.json"),
            dir.path().join("a.xml"),
            dir.path().join("a.html"),
        );
        let output = Command::new(env!("CARGO_BIN_EXE_imspec"))
            .args(["run", "--json"])
            .arg(&json)
            .arg("--junit")
            .arg(&junit)
            .arg("--html")
            .arg(&html)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Reports {
            _dir: dir,
            json,
            junit,
            html,
        }
    })
}

fn suite_ids() -> Vec<String> {
    imspec::runner::select(Path::new("scenarios"), &[])
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[test]
fn junit_has_one_testcase_per_scenario_with_its_area_as_classname() {
    let xml = std::fs::read_to_string(&reports().junit).unwrap();
    let ids = suite_ids();
    assert_eq!(xml.matches("<testcase ").count(), ids.len(), "{xml}");
    for id in &ids {
        let area = id.split('/').next().unwrap();
        assert!(
            xml.contains(&format!("<testcase name=\"{id}\" classname=\"{area}\"")),
            "{id} missing:\n{xml}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&reports().json).unwrap()).unwrap();
    assert_eq!(json["summary"]["total"], ids.len());
}

/// Whether this runs in CI (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Debian's `chromium` (what `.ci/run` installs), or the browser named by `IMSPEC_CHROMIUM`.
fn chromium() -> Option<String> {
    if let Ok(path) = std::env::var("IMSPEC_CHROMIUM") {
        return Some(path);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

#[test]
fn the_html_report_renders_in_headless_chromium_with_a_row_per_scenario() {
    let page = std::fs::read_to_string(&reports().html).unwrap();
    for external in ["<link", "<script src", "<img", "@import", "url("] {
        assert!(
            !page.contains(external),
            "the page must load nothing: {external}"
        );
    }
    let Some(browser) = chromium() else {
        let how = "`apt-get install -y chromium` (.ci/run does), or set IMSPEC_CHROMIUM";
        // CI must check the page in a browser; a developer's machine without one skips it.
        assert!(!in_ci(), "no chromium on PATH under CI: {how}");
        // Straight to stderr: the test harness does not capture it, so the reason is shown.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the headless-Chromium part of the HTML report test: no chromium on PATH \
             ({how}); the page was still checked to load nothing from outside"
        );
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    // `timeout`, so that a browser that hangs fails the test instead of stalling it.
    let output = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", reports().html.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let ids = suite_ids();
    assert_eq!(
        dom.matches("<tr class=\"scenario\"").count(),
        ids.len(),
        "{dom}"
    );
    // The count is written by the page's script: it ran.
    let shown = format!("{n} of {n} scenarios shown", n = ids.len());
    assert!(
        dom.contains(&shown),
        "the filter script did not run:\n{dom}"
    );
    for id in &ids {
        assert!(dom.contains(&format!("id=\"detail-{id}\"")), "{id}");
    }
}
