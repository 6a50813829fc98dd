//! The terminal report: one line per finished scenario, then each failure with its first
//! broken expectation, the transcript's diff against its snapshot and the driver's stderr tail,
//! then the counts. Colour only on a terminal and never under `NO_COLOR`.

use crate::runner::{RunEvent, ScenarioRun, Summary, Verdict};
use std::io::{IsTerminal as _, Write as _};

/// Writes the terminal report to stdout.
pub struct Terminal {
    colour: bool,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal {
            colour: std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

impl Terminal {
    /// Prints a run event as it happens.
    pub fn event(&self, event: &RunEvent) {
        let mut out = std::io::stdout().lock();
        match event {
            RunEvent::Started { total } => {
                let _ = writeln!(
                    out,
                    "running {total} scenario{}",
                    if *total == 1 { "" } else { "s" }
                );
            }
            RunEvent::Finished(run) => {
                let extra = match (&run.expected_reason, run.verdict) {
                    (Some(reason), Verdict::Xfail | Verdict::Xpass) => format!("  # {reason}"),
                    _ if run.snapshot_written => "  (snapshot written)".to_string(),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{} {} ({} ms){extra}",
                    self.paint(run.verdict, &format!("{:<11}", run.verdict.label())),
                    run.id,
                    run.duration.as_millis()
                );
            }
        }
    }

    /// Prints the failures and the counts.
    pub fn finish(&self, runs: &[ScenarioRun]) {
        let mut out = std::io::stdout().lock();
        for run in runs
            .iter()
            .filter(|r| r.verdict.fails_run() || r.verdict == Verdict::Unsupported)
        {
            let _ = writeln!(
                out,
                "\n{} {}",
                self.paint(run.verdict, run.verdict.label()),
                run.id
            );
            if run.verdict == Verdict::Xpass {
                let _ = writeln!(
                    out,
                    "  listed as an expected failure ({}) but passed: remove the entry",
                    run.expected_reason.clone().unwrap_or_default()
                );
            }
            if let Some(message) = run.failure_message() {
                let _ = writeln!(out, "  {message}");
            }
            if let Some(diff) = &run.diff {
                let _ = writeln!(out, "  transcript vs snapshot:");
                for line in diff.lines() {
                    let _ = writeln!(out, "    {}", self.diff_line(line));
                }
            }
            if run.verdict.fails_run() && !run.stderr_tail.is_empty() {
                let _ = writeln!(out, "  driver stderr (last lines):");
                for line in run.stderr_tail.lines() {
                    let _ = writeln!(out, "    | {line}");
                }
            }
        }
        let s = Summary::of(runs);
        let _ = writeln!(
            out,
            "\n{} passed, {} failed, {} unsupported, {} xfail, {} xpass, {} errors",
            s.passed, s.failed, s.unsupported, s.xfail, s.xpass, s.errors
        );
    }

    fn paint(&self, verdict: Verdict, text: &str) -> String {
        if !self.colour {
            return text.to_string();
        }
        let code = match verdict {
            Verdict::Pass => "32",
            Verdict::Fail | Verdict::Xpass | Verdict::Error => "31",
            Verdict::Unsupported | Verdict::Xfail => "33",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn diff_line(&self, line: &str) -> String {
        if !self.colour {
            return line.to_string();
        }
        match line.chars().next() {
            Some('+') if !line.starts_with("+++") => format!("\x1b[32m{line}\x1b[0m"),
            Some('-') if !line.starts_with("---") => format!("\x1b[31m{line}\x1b[0m"),
            Some('@') => format!("\x1b[36m{line}\x1b[0m"),
            _ => line.to_string(),
        }
    }
}
