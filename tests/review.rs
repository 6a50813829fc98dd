//! Review like insta: a changed snapshot is written as `<name>.snap.new` and the run fails
//! (never in CI); `imspec review --accept` / `--reject` decide them without a terminal.

use std::path::Path;
use std::process::{Command, Output};

fn imspec(dir: &Path, args: &[&str], ci: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imspec"));
    command.args(args).current_dir(dir).env_remove("CI");
    if ci {
        command.env("CI", "true");
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

const RUN: &[&str] = &[
    "run",
    "--scenarios",
    "suite/scenarios",
    "--filter",
    "login/ok",
];

#[test]
fn a_changed_snapshot_is_pending_and_review_accepts_or_rejects_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = imspec(dir.path(), &["suite", "export", "suite"], false);
    assert!(out.status.success(), "{}", text(&out));
    let snap = dir.path().join("suite/snapshots/login__ok.snap");
    let pending = dir.path().join("suite/snapshots/login__ok.snap.new");
    let recorded = std::fs::read_to_string(&snap).unwrap();
    let changed = recorded.replace("\"activated\":true", "\"activated\":false");
    assert_ne!(recorded, changed);
    std::fs::write(&snap, &changed).unwrap();

    // In CI nothing is written, and the run fails.
    let out = imspec(dir.path(), RUN, true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!pending.exists());

    // Elsewhere the transcript is left as <name>.snap.new, and the run still fails.
    let out = imspec(dir.path(), RUN, false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("imspec review"), "{}", text(&out));
    assert!(pending.is_file());

    // --reject: the pending file goes, the snapshot stays as it was.
    let out = imspec(
        dir.path(),
        &["review", "--snapshots", "suite/snapshots", "--reject"],
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("-POST /org/app/token"),
        "the diff is shown: {}",
        text(&out)
    );
    assert!(!pending.exists());
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), changed);

    // --accept: the transcript becomes the snapshot, and the run passes.
    imspec(dir.path(), RUN, false);
    assert!(pending.is_file());
    let out = imspec(
        dir.path(),
        &["review", "--snapshots", "suite/snapshots", "--accept"],
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!pending.exists());
    assert!(
        std::fs::read_to_string(&snap)
            .unwrap()
            .contains("\"activated\":true")
    );
    let out = imspec(dir.path(), RUN, true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Without a terminal and without a flag, review lists what is pending and exits 1.
    std::fs::write(&snap, &changed).unwrap();
    imspec(dir.path(), RUN, false);
    let out = imspec(
        dir.path(),
        &["review", "--snapshots", "suite/snapshots"],
        false,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--accept or --reject"),
        "{}",
        text(&out)
    );
    assert!(pending.is_file());
}

#[test]
fn no_code_reaches_into_insta_internals() {
    let needle = concat!("insta::", "internals");
    let mut stack = vec![
        Path::new("src").to_path_buf(),
        Path::new("tests").to_path_buf(),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains(needle), "{} uses {needle}", path.display());
            }
        }
    }
}
