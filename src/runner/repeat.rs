//! `--repeat N`: folding the N runs of one scenario into one. Runs that agree (same verdict,
//! same transcript) fold into the first; runs that disagree make the scenario FLAKY, with the
//! verdicts of every run and the first transcript lines that differ, so that a report shows
//! the race without a rerun.

use super::{Outcome, ScenarioRun, Verdict};
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeMap;

/// At most this many differing transcript lines are shown.
const SHOWN_LINES: usize = 12;

/// Folds the runs of one scenario (in the order they finished) into one.
pub(super) fn combine(mut runs: Vec<ScenarioRun>) -> ScenarioRun {
    let mut first = runs.remove(0);
    let differs = |r: &ScenarioRun| r.verdict != first.verdict || r.transcript != first.transcript;
    let Some(other) = runs.iter().find(|r| differs(r)) else {
        return first;
    };
    let total = runs.len() + 1;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for run in std::iter::once(&first).chain(&runs) {
        *counts.entry(run.verdict.label()).or_default() += 1;
    }
    let verdicts = counts
        .iter()
        .map(|(label, n)| format!("{label} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut message = format!("FLAKY over {total} runs: {verdicts}");
    for run in std::iter::once(&first).chain(&runs) {
        if let Some(failure) = run
            .failure_message()
            .filter(|_| run.verdict != Verdict::Pass)
        {
            message += &format!("\n  a {} run: {failure}", run.verdict.label());
            break;
        }
    }
    if other.transcript != first.transcript {
        message += "\n  transcript lines that differ between two runs:";
        let diff = TextDiff::from_lines(&first.transcript, &other.transcript);
        let changed = diff
            .iter_all_changes()
            .filter(|c| c.tag() != ChangeTag::Equal)
            .take(SHOWN_LINES);
        for change in changed {
            let sign = if change.tag() == ChangeTag::Delete {
                '-'
            } else {
                '+'
            };
            message += &format!("\n  {sign} {}", change.value().trim_end());
        }
    }
    first.outcome = Outcome::Flaky(message);
    first.verdict = Verdict::Flaky;
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::StepFailure;

    fn run(verdict: Verdict, transcript: &str) -> ScenarioRun {
        let mut run = ScenarioRun::for_tests("receipts/delivery");
        run.verdict = verdict;
        run.transcript = transcript.to_string();
        if verdict == Verdict::Fail {
            run.outcome = Outcome::Fail(StepFailure::at_start("no onDeliveredMessage".into()));
        }
        run
    }

    #[test]
    fn agreeing_runs_fold_into_the_first() {
        let folded = combine(vec![
            run(Verdict::Pass, "a\nb\n"),
            run(Verdict::Pass, "a\nb\n"),
        ]);
        assert_eq!(folded.verdict, Verdict::Pass);
    }

    #[test]
    fn a_changed_verdict_or_transcript_is_flaky_and_shows_how() {
        let folded = combine(vec![
            run(Verdict::Pass, "a\n> send {\"ackId\":\"<id-1>\"}\n"),
            run(Verdict::Pass, "a\n> send {\"ackId\":\"<id-1>\"}\n"),
            run(Verdict::Fail, "a\n> send {\"ackId\":\"<id-2>\"}\n"),
        ]);
        assert_eq!(folded.verdict, Verdict::Flaky);
        let message = folded.failure_message().unwrap();
        assert!(
            message.contains("FLAKY over 3 runs: FAIL ×1, PASS ×2"),
            "{message}"
        );
        assert!(message.contains("no onDeliveredMessage"), "{message}");
        assert!(
            message.contains("- > send {\"ackId\":\"<id-1>\"}"),
            "{message}"
        );
        assert!(
            message.contains("+ > send {\"ackId\":\"<id-2>\"}"),
            "{message}"
        );
    }
}
