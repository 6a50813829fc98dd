//! Selecting scenarios and keeping expected-failure lists honest: `--shard K/N` partitions the
//! suite, `--update-expected-failures` rewrites a list from a run.

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output};

fn imspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// The ids a run of `--shard shard` ran, from its JSON report.
fn ran(shard: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = imspec(&["run", "--shard", shard, "--json", json.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn shards_are_disjoint_and_together_make_the_suite() {
    let suite: BTreeSet<String> = imspec::runner::select(std::path::Path::new("scenarios"), &[])
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let (first, second) = (ran("1/2"), ran("2/2"));
    assert!(first.is_disjoint(&second), "{first:?} {second:?}");
    assert_eq!(&first | &second, suite);
    assert!(!first.is_empty() && !second.is_empty());
    // `list` shows the same partition.
    let listed = String::from_utf8_lossy(&imspec(&["list", "--shard", "1/2"]).stdout).into_owned();
    for id in &suite {
        assert_eq!(
            listed.contains(&format!("{id} ")),
            first.contains(id),
            "{id}"
        );
    }
}

#[test]
fn bad_shards_and_jobs_are_harness_errors() {
    for shard in ["3/2", "0/2", "1/0", "half"] {
        let output = imspec(&["run", "--shard", shard]);
        assert_eq!(output.status.code(), Some(2), "{shard}");
        assert!(text(&output).contains("write K/N"), "{}", text(&output));
    }
    assert_eq!(imspec(&["run", "--jobs", "0"]).status.code(), Some(2));
}

#[test]
fn update_expected_failures_rewrites_the_list_from_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("expected-failures.txt");
    std::fs::write(
        &path,
        "# Known failures of this client.\nlogin/ok  # stale: it passes (guide L565 \"//Successful connection callback\")\nnot/run  # kept as it is (guide L94 \"unknown error\")\n",
    )
    .unwrap();
    let list = path.to_str().unwrap();
    // Under this switch login/wrong-password fails while login/ok passes.
    let args = [
        "run",
        "--fault",
        "wrong-login-error",
        "--filter",
        "login/ok",
        "--filter",
        "login/wrong-password",
        "--expected-failures",
        list,
    ];
    assert_eq!(
        imspec(&args).status.code(),
        Some(1),
        "stale entry and a new failure"
    );

    let mut update = args.to_vec();
    update.push("--update-expected-failures");
    let output = imspec(&update);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("warning: 1 new entry")
            && text(&output).contains("write the real one"),
        "{}",
        text(&output)
    );
    let rewritten = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        rewritten,
        "# Known failures of this client.\nnot/run  # kept as it is (guide L94 \"unknown error\")\n\
         login/wrong-password  # TODO: reason (cite the guide)\n"
    );
    // The placeholder is no reason: the next run stops there until one is written.
    let output = imspec(&args);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains(&format!(
            "{list}:3: the reason of `login/wrong-password`: the reason cites nothing"
        )),
        "{}",
        text(&output)
    );
    std::fs::write(
        &path,
        rewritten.replace(
            "TODO: reason (cite the guide)",
            "broken on purpose (guide L94 \"unknown error\")",
        ),
    )
    .unwrap();
    // The rewritten list agrees with the client: the same run now passes the gate.
    let output = imspec(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("XFAIL"));
}
