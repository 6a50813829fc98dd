//! `imspec fuzz` end to end, bounded in cases: the reference client survives a short campaign
//! in both modes; a fault switch that breaks one value type is found, shrunk, and written as
//! a scenario that passes against the correct client and fails on its own against the broken
//! one; the seed alone reproduces the finding, with one session or two. So is a hostile finding (a client that stops
//! delivering messages after a body that does not decode), written with `deliver_raw`.

use imspec::fuzz::case::Case;
use imspec::fuzz::regression::{self, Target};
use imspec::fuzz::{Mode, Options, campaign};
use imspec::runner::{self, RunConfig, Verdict, expected::ExpectedFailures};
use std::path::PathBuf;
use std::time::Duration;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_imspec"))
}

fn options(faults: &str, mode: Mode, cases: u32) -> Options {
    Options {
        client: regression::reference(&exe(), faults),
        seed: 1,
        cases,
        mode,
        case_timeout: Duration::from_secs(5),
        max_shrink_iters: 64,
        max_findings: 1,
        jobs: 2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_passes_a_short_campaign_in_both_modes() {
    for (mode, cases) in [(Mode::Valid, 80), (Mode::Hostile, 40)] {
        let report = campaign::run(&options("", mode, cases)).await.unwrap();
        assert!(
            report.findings.is_empty(),
            "{mode:?}: {:#?}",
            report.findings
        );
        assert_eq!(report.cases, u64::from(cases));
        assert_eq!(report.restarts, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ext_type_is_found_shrunk_and_written_as_a_scenario_that_fails_on_its_own() {
    let report = campaign::run(&options("wrong-ext-type", Mode::Valid, 2000))
        .await
        .unwrap();
    let finding = report.findings.first().expect("found within 2000 cases");
    assert!(finding.signature.ends_with("typing"), "{finding:?}");
    assert!(finding.message.contains("expected as INT"), "{finding:?}");

    // the seed alone reproduces it, shrunk to the same case, with any number of sessions
    let one_session = Options {
        jobs: 1,
        ..options("wrong-ext-type", Mode::Valid, 2000)
    };
    let again = campaign::run(&one_session).await.unwrap();
    assert_eq!(again.findings[0].case, finding.case);
    assert_eq!(again.findings[0].at_case, finding.at_case);
    assert!(matches!(finding.case, Case::Valid(_)));

    let dir = tempfile::tempdir().unwrap();
    let target = Target {
        scenarios: dir.path().join("scenarios"),
        snapshots: dir.path().join("snapshots"),
        exe: exe(),
        command: "imspec fuzz --fault wrong-ext-type --seed 1 --cases 2000".into(),
    };
    assert!(finding.is_reproduced(), "{finding:?}");
    let client = options("wrong-ext-type", Mode::Valid, 1).client;
    let written = regression::write(finding, "found", &target, &client)
        .await
        .unwrap();
    assert!(written.passes_reference, "{written:?}");
    assert!(written.fails_against_client, "{written:?}");
    assert!(
        written.killed_by.contains(&"wrong-ext-type".to_string()),
        "{written:?}"
    );
    let text = std::fs::read_to_string(&written.path).unwrap();
    assert!(text.starts_with("# Found by `imspec fuzz"), "{text}");
    assert!(
        dir.path()
            .join("snapshots/fuzz-regressions__found.snap")
            .is_file()
    );

    // on its own, through the runner: fails against the broken client, passes without it
    assert_fails_on_its_own(&target, &written.id, "wrong-ext-type").await;
}

/// Runs the written scenario `id` against the reference client with `fault` (it must FAIL)
/// and without (it must PASS).
async fn assert_fails_on_its_own(target: &Target, id: &str, fault: &str) {
    for (faults, verdict) in [(fault, Verdict::Fail), ("", Verdict::Pass)] {
        let config = RunConfig {
            level: imspec::scenario::Level::Wire,
            client: regression::reference(&exe(), faults),
            step_timeout: Duration::from_secs(5),
            snapshots: target.snapshots.clone(),
            update_snapshots: false,
            pending_snapshots: false,
            require_snapshots: false,
            jobs: 1,
            expected: ExpectedFailures::default(),
        };
        let scenarios = runner::select(&target.scenarios, &[id.to_string()]).unwrap();
        assert_eq!(scenarios.len(), 1);
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let runs = runner::run_all(scenarios, &config, tx).await;
        assert_eq!(
            runs[0].verdict,
            verdict,
            "faults {faults:?}: {:?}",
            runs[0].failure_message()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stalled_by_a_hostile_body_is_found_and_written_as_a_scenario_that_fails_on_its_own()
 {
    let options = Options {
        // only bounds a client that never settles: this one still answers barriers (a 1 s
        // bound made a 566 KB hostile text on a loaded debug build a `hang` finding)
        case_timeout: Duration::from_secs(10),
        max_shrink_iters: 8,
        ..options("stall-on-bad-payload", Mode::Hostile, 200)
    };
    let report = campaign::run(&options).await.unwrap();
    let finding = report.findings.first().expect("found within 200 cases");
    assert!(matches!(finding.case, Case::Hostile(_)), "{finding:?}");
    // the client still answers barriers, so the settle rule, not a deadline, finds the probe lost
    assert_eq!(finding.signature, "lost after hostile body", "{finding:?}");

    let dir = tempfile::tempdir().unwrap();
    let target = Target {
        scenarios: dir.path().join("scenarios"),
        snapshots: dir.path().join("snapshots"),
        exe: exe(),
        command: "imspec fuzz --fault stall-on-bad-payload --mode hostile --seed 1 --cases 200"
            .into(),
    };
    assert!(finding.is_reproduced(), "{finding:?}");
    let written = regression::write(finding, "hostile", &target, &options.client)
        .await
        .unwrap();
    assert!(written.passes_reference, "{written:?}");
    assert!(written.fails_against_client, "{written:?}");
    assert!(
        written
            .killed_by
            .contains(&"stall-on-bad-payload".to_string()),
        "{written:?}"
    );
    let text = std::fs::read_to_string(&written.path).unwrap();
    assert!(text.contains("deliver_raw = {"), "{text}");
    assert_fails_on_its_own(&target, &written.id, "stall-on-bad-payload").await;
}
