//! imspec as a tool people install: in an empty folder, the binary runs its own bundled suite,
//! lists it, runs the selftest, and exports the Node drivers ready for `npm ci`.
//!
//! `installed_binary_in_an_empty_folder` is the whole check with `cargo install` (minutes:
//! a release build, then the real SDK's suite); it is ignored by default and run with
//! `cargo test --test install -- --ignored`. `built_binary_in_an_empty_folder` is the bounded
//! version that CI runs: the binary `cargo test` built, copied out of the checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(imspec: &Path, cwd: &Path, args: &[&str]) -> Output {
    let output = Command::new(imspec)
        .args(args)
        .current_dir(cwd)
        .env_remove("IMSPEC_WEBSDK")
        .output()
        .unwrap();
    eprintln!(
        "imspec {}: {}\n{}{}",
        args.join(" "),
        output.status,
        tail(&String::from_utf8_lossy(&output.stdout)),
        tail(&String::from_utf8_lossy(&output.stderr))
    );
    output
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n") + "\n"
}

fn npm_ci(folder: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(folder)
        .status()
        .expect("npm is on PATH");
    assert!(status.success(), "npm ci --prefix {}", folder.display());
}

/// Everything the install check runs, with `imspec` and in the empty folder `cwd`; `whole`
/// runs the whole suite and selftest, else a part of each.
fn check_in_empty_folder(imspec: &Path, cwd: &Path, whole: bool) {
    assert_eq!(std::fs::read_dir(cwd).unwrap().count(), 0, "not empty");
    let list = run(imspec, cwd, &["list"]);
    assert_eq!(list.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .count();
    assert!(listed > 50, "the bundled suite is listed: {listed}");

    let suite: &[&str] = if whole {
        &["run"]
    } else {
        &["run", "--filter", "login/*", "--filter", "messages/txt-*"]
    };
    assert_eq!(run(imspec, cwd, suite).status.code(), Some(0));
    let selftest: &[&str] = if whole {
        &["selftest"]
    } else {
        &["selftest", "--filter", "login/*"]
    };
    assert_eq!(run(imspec, cwd, selftest).status.code(), Some(0));

    let export = run(imspec, cwd, &["drivers", "export", "drivers"]);
    assert_eq!(export.status.code(), Some(0));
    for driver in ["websdk", "websdk4", "agora-chat"] {
        for file in [
            "driver.mjs",
            "package.json",
            "package-lock.json",
            "expected-failures.txt",
        ] {
            assert!(
                cwd.join("drivers").join(driver).join(file).is_file(),
                "{driver}/{file}"
            );
        }
    }
    npm_ci(&cwd.join("drivers/websdk"));
    let client = format!("node {}/drivers/websdk/driver.mjs", cwd.display());
    let real: Vec<&str> = if whole {
        vec!["run", "--client", &client, "--jobs", "2"]
    } else {
        vec![
            "run",
            "--client",
            &client,
            "--filter",
            "login/*",
            "--filter",
            "messages/txt-*",
        ]
    };
    assert_eq!(run(imspec, cwd, &real).status.code(), Some(0));
}

#[test]
fn built_binary_in_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let imspec = bin.join("imspec");
    std::fs::copy(env!("CARGO_BIN_EXE_imspec"), &imspec).unwrap();
    let cwd = dir.path().join("empty");
    std::fs::create_dir(&cwd).unwrap();
    check_in_empty_folder(&imspec, &cwd, false);
}

#[test]
#[ignore = "minutes: cargo install (a release build), then the whole suite and the real SDK"]
fn installed_binary_in_an_empty_folder() {
    let root = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO"))
        .args([
            "install",
            "--locked",
            "--path",
            env!("CARGO_MANIFEST_DIR"),
            "--root",
        ])
        .arg(root.path())
        .env(
            "CARGO_TARGET_DIR",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/install"),
        )
        .status()
        .unwrap();
    assert!(status.success(), "cargo install failed");
    let imspec = root.path().join("bin/imspec");
    let cwd = tempfile::tempdir().unwrap();
    check_in_empty_folder(&imspec, cwd.path(), true);
}
