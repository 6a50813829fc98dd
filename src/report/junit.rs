//! The `--junit PATH` report (JUnit XML, written with `quick-junit`): one test suite per area,
//! one test case per scenario with `classname` = its area (the first part of its id).
//!
//! FAIL and XPASS are failures carrying the message, the transcript's diff and the driver's
//! stderr tail; ERROR (the harness could not run it) is an error; XFAIL and UNSUPPORTED are
//! skipped with their reason.

use super::{Collected, ReportError, Sink, write_file};
use crate::runner::{RunEvent, ScenarioRun, Verdict};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The JUnit document of a run.
pub fn report(runs: &[ScenarioRun], client_label: &str) -> Report {
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for run in runs {
        let area = area(&run.id);
        let suite = suites.entry(area).or_insert_with(|| TestSuite::new(area));
        suite.add_test_case(case(run));
        suite.time = Some(suite.time.unwrap_or_default() + run.duration);
    }
    let mut report = Report::new(format!("imspec: {client_label}"));
    report.set_time(runs.iter().map(|r| r.duration).sum());
    report.add_test_suites(suites.into_values());
    report
}

fn area(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

fn case(run: &ScenarioRun) -> TestCase {
    let message = run.failure_message().unwrap_or_default();
    let status = match run.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail | Verdict::Xpass | Verdict::Error | Verdict::Flaky => {
            let kind = if run.verdict == Verdict::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let message = if run.verdict == Verdict::Xpass {
                format!(
                    "listed as an expected failure ({}) but passed: remove the entry",
                    run.expected_reason.clone().unwrap_or_default()
                )
            } else {
                message
            };
            let mut description = message.clone();
            if let Some(diff) = &run.diff {
                description.push_str("\n\ntranscript vs snapshot:\n");
                description.push_str(diff);
            }
            status.set_message(message).set_type(run.label());
            status.set_description(description);
            status
        }
        Verdict::Xfail | Verdict::Unsupported | Verdict::NotRun => {
            let mut status = TestCaseStatus::skipped();
            let reason = match run.verdict {
                Verdict::NotRun => message,
                Verdict::Xfail => format!(
                    "expected failure: {} ({message})",
                    run.expected_reason.clone().unwrap_or_default()
                ),
                _ => format!("unsupported: {message}"),
            };
            status.set_message(reason).set_type(run.verdict.label());
            status
        }
    };
    let mut case = TestCase::new(run.id.clone(), status);
    case.set_classname(area(&run.id)).set_time(run.duration);
    if run.verdict.fails_run() && !run.stderr_tail.is_empty() {
        case.set_system_err(run.stderr_tail.clone());
    }
    case
}

/// The `--junit` sink: collects the run's events, writes the file when the run is over.
pub struct JunitSink {
    path: PathBuf,
    collected: Collected,
}

impl JunitSink {
    /// A sink writing to `path`.
    pub fn new(path: &Path) -> Self {
        JunitSink {
            path: path.to_path_buf(),
            collected: Collected::default(),
        }
    }
}

impl Sink for JunitSink {
    fn event(&mut self, event: &RunEvent) {
        self.collected.record(event);
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let client = self.collected.client.clone();
        let xml = report(self.collected.runs(), &client)
            .to_string()
            .map_err(|e| ReportError::Junit {
                path: self.path.clone(),
                why: e.to_string(),
            })?;
        write_file("JUnit", &self.path, &xml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Outcome;
    use std::time::Duration;

    fn run(id: &str, verdict: Verdict, outcome: Outcome) -> ScenarioRun {
        ScenarioRun {
            id: id.into(),
            path: format!("scenarios/{id}.toml").into(),
            purpose: "p".into(),
            guide: "g".into(),
            outcome,
            verdict,
            expected_reason: (verdict == Verdict::Xfail).then(|| "guide says otherwise".into()),
            duration: Duration::from_millis(12),
            hello: None,
            stderr_tail: "driver said <this>".into(),
            transcript: String::new(),
            diff: Some("-old\n+new".into()),
            notes: Vec::new(),
            snapshot_written: false,
            remarks: Vec::new(),
            steps: Vec::new(),
            wire: Vec::new(),
            faults_reached: None,
        }
    }

    #[test]
    fn failures_carry_message_and_diff_xfail_is_skipped_with_its_reason() {
        let runs = [
            run("login/ok", Verdict::Pass, Outcome::Pass),
            run(
                "messages/a",
                Verdict::Error,
                Outcome::HarnessError("driver gone".into()),
            ),
            run(
                "messages/b",
                Verdict::Xfail,
                Outcome::Unsupported("no emoji".into()),
            ),
        ];
        let xml = report(&runs, "client").to_string().unwrap();
        assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
        assert!(
            xml.contains(r#"<testsuite name="login" tests="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"name="messages/a" classname="messages""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="driver gone" type="ERROR">"#),
            "{xml}"
        );
        assert!(xml.contains("+new"), "the diff: {xml}");
        assert!(xml.contains("driver said &lt;this&gt;"), "stderr: {xml}");
        assert!(
            xml.contains(r#"<skipped message="expected failure: guide says otherwise (no emoji)" type="XFAIL"/>"#),
            "{xml}"
        );
    }
}
