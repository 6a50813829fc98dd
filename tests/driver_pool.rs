//! Driver reuse (`reset`, DRIVER-PROTOCOL.md "Reuse"): a driver that announces `reset` serves
//! many scenarios, and no state leaks from one into the next. The state-leak test runs a
//! scenario after one that leaves both users connected, connect options set and events unread,
//! on the same reference-client process, and compares its transcript with the one it gets alone
//! on a fresh process. A fixture driver that "resets" but keeps a counter shows that the
//! comparison catches a leak.

use imspec::runner::expected::ExpectedFailures;
use imspec::runner::{self, ClientSpec, RunConfig, RunControl, ScenarioRun, Verdict};
use std::path::Path;
use std::time::Duration;

const SCENARIOS: &str = "tests/fixtures/pool/scenarios";

/// A client whose every start appends a line to `spawns`.
fn counted(spawns: &Path, command: &str) -> ClientSpec {
    ClientSpec {
        command: format!("echo started >> '{}'; {command}", spawns.display()),
        env: Vec::new(),
        label: command.to_string(),
    }
}

fn reference() -> String {
    format!("exec '{}' driver", env!("CARGO_BIN_EXE_imspec"))
}

async fn run(
    client: ClientSpec,
    filters: &[&str],
    reuse: bool,
    snapshots: &Path,
) -> Vec<ScenarioRun> {
    run_in(SCENARIOS, client, filters, reuse, snapshots).await
}

async fn run_in(
    scenarios: &str,
    client: ClientSpec,
    filters: &[&str],
    reuse: bool,
    snapshots: &Path,
) -> Vec<ScenarioRun> {
    let config = RunConfig {
        client,
        step_timeout: Duration::from_secs(5),
        snapshots: snapshots.to_path_buf(),
        update_snapshots: true,
        pending_snapshots: false,
        require_snapshots: false,
        level: imspec::scenario::Level::Wire,
        jobs: 1,
        expected: ExpectedFailures::default(),
    };
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    let scenarios = runner::select(Path::new(scenarios), &filters).unwrap();
    let control = RunControl {
        reuse_drivers: reuse,
        ..RunControl::default()
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    runner::run_all_with(scenarios, &config, &control, tx).await
}

fn starts(spawns: &Path) -> usize {
    std::fs::read_to_string(spawns)
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test]
async fn a_scenario_after_a_leaky_one_on_the_same_driver_gets_its_transcript_alone() {
    let dir = tempfile::tempdir().unwrap();
    let spawns = dir.path().join("spawns");
    let both = run(
        counted(&spawns, &reference()),
        &["pool/*"],
        true,
        &dir.path().join("a"),
    )
    .await;
    assert_eq!(
        starts(&spawns),
        1,
        "the reference client is reused, not restarted"
    );
    for run in &both {
        assert_eq!(
            run.verdict,
            Verdict::Pass,
            "{}: {:?}",
            run.id,
            run.failure_message()
        );
    }
    let after = both.iter().find(|r| r.id == "pool/b-alone").unwrap();
    // the leaky scenario ran first: its unread events were written before the reset reply
    let leaky = both.iter().find(|r| r.id == "pool/a-leaves-state").unwrap();
    assert!(
        leaky.transcript.contains("* onTextMessage"),
        "{}",
        leaky.transcript
    );

    std::fs::remove_file(&spawns).unwrap();
    let alone = run(
        counted(&spawns, &reference()),
        &["pool/b-alone"],
        false,
        &dir.path().join("b"),
    )
    .await;
    assert_eq!(starts(&spawns), 1);
    assert_eq!(
        alone[0].verdict,
        Verdict::Pass,
        "{:?}",
        alone[0].failure_message()
    );
    assert_eq!(after.transcript, alone[0].transcript);
}

/// The Node driver keeps its workers between scenarios and reloads the SDK in them
/// (drivers/common/node-realm.mjs, "Recycling"): with two spare realms loaded ahead, the third
/// scenario's users get the workers the first scenario's users had. Its transcript must be the one
/// it gets on a fresh driver.
#[tokio::test]
async fn a_scenario_in_recycled_node_realms_gets_its_transcript_alone() {
    let installed = Path::new("drivers/websdk/node_modules/easemob-websdk").is_dir();
    if !installed && std::env::var_os("CI").is_none() {
        eprintln!("skipped: run `npm ci --prefix drivers/websdk` (the README's test command does)");
        return;
    }
    let scenarios = "tests/fixtures/pool/recycle";
    let node = "exec node drivers/websdk/driver.mjs";
    let dir = tempfile::tempdir().unwrap();
    let spawns = dir.path().join("spawns");
    let all = run_in(
        scenarios,
        counted(&spawns, node),
        &["pool/*"],
        true,
        &dir.path().join("a"),
    )
    .await;
    assert_eq!(starts(&spawns), 1, "one driver serves the three scenarios");
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [
            "pool/a1-leaves-state",
            "pool/a2-leaves-state",
            "pool/b-alone"
        ]
    );
    for run in &all {
        assert_eq!(
            run.verdict,
            Verdict::Pass,
            "{}: {:?}",
            run.id,
            run.failure_message()
        );
    }
    let alone = run_in(
        scenarios,
        ClientSpec {
            env: vec![("IMSPEC_NODE_RECYCLE".into(), "0".into())],
            ..counted(&spawns, node)
        },
        &["pool/b-alone"],
        false,
        &dir.path().join("b"),
    )
    .await;
    assert_eq!(
        alone[0].verdict,
        Verdict::Pass,
        "{:?}",
        alone[0].failure_message()
    );
    assert_eq!(all[2].transcript, alone[0].transcript);
}

#[tokio::test]
async fn without_reuse_every_scenario_gets_a_new_driver() {
    let dir = tempfile::tempdir().unwrap();
    let spawns = dir.path().join("spawns");
    let runs = run(
        counted(&spawns, &reference()),
        &["pool/*"],
        false,
        dir.path(),
    )
    .await;
    assert_eq!(runs.len(), 2);
    assert_eq!(starts(&spawns), 2);
}

#[tokio::test]
async fn a_driver_that_keeps_state_across_reset_is_caught_by_the_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let spawns = dir.path().join("spawns");
    let leaky = "exec node tests/fixtures/drivers/leaky-reset.mjs";
    let both = run(
        counted(&spawns, leaky),
        &["pool/*"],
        true,
        &dir.path().join("a"),
    )
    .await;
    assert_eq!(starts(&spawns), 1, "the fixture announces reset: reused");
    let alone = run(
        counted(&spawns, leaky),
        &["pool/b-alone"],
        true,
        &dir.path().join("b"),
    )
    .await;
    let after = both.iter().find(|r| r.id == "pool/b-alone").unwrap();
    assert_ne!(after.transcript, alone[0].transcript);
    assert!(
        after.transcript.contains("\"connects\":3"),
        "{}",
        after.transcript
    );
    assert!(
        alone[0].transcript.contains("\"connects\":1"),
        "{}",
        alone[0].transcript
    );
}

#[tokio::test]
async fn a_version_1_driver_refusing_protocol_2_is_driven_as_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let spawns = dir.path().join("spawns");
    let v1 = "IMSPEC_FIXTURE_V1=1 exec node tests/fixtures/drivers/leaky-reset.mjs";
    let runs = run(counted(&spawns, v1), &["pool/*"], true, dir.path()).await;
    assert_eq!(
        starts(&spawns),
        2,
        "no reset in version 1: one process per scenario"
    );
    let hello = runs[0].hello.as_ref().unwrap();
    assert_eq!(hello.protocol, 1);
    assert!(
        runs[1].transcript.contains("\"connects\":1"),
        "{}",
        runs[1].transcript
    );
}

#[tokio::test]
async fn a_version_2_driver_refusing_protocol_3_is_driven_as_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let spawns = dir.path().join("spawns");
    let v2 = "IMSPEC_FIXTURE_V2=1 exec node tests/fixtures/drivers/leaky-reset.mjs";
    let runs = run(counted(&spawns, v2), &["pool/*"], true, dir.path()).await;
    assert_eq!(starts(&spawns), 1, "version 2 keeps reset: one process");
    let hello = runs[0].hello.as_ref().unwrap();
    assert_eq!(hello.protocol, 2);
}
