//! The terminal report: one line per finished scenario (under a progress bar on a terminal),
//! then each failure with its first broken expectation, the transcript's diff against its
//! snapshot and the driver's stderr tail, then the counts. On a terminal and without `NO_COLOR`
//! there is colour and an `indicatif` progress bar; otherwise plain lines only, so logs of CI
//! stay readable. `imspec selftest` shows only the bar, then the kill matrix.

use super::{Collected, ReportError, Sink};
use crate::runner::selftest::KillMatrix;
use crate::runner::{RunEvent, ScenarioRun, Summary, Verdict};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

/// Writes the terminal report to stdout.
pub struct Terminal {
    colour: bool,
    /// Which finished scenarios get a line, and whether the failures and counts follow.
    lines: Lines,
    bar: Option<ProgressBar>,
    collected: Collected,
}

impl Terminal {
    /// The report of `imspec run`: a line per scenario, failures and counts at the end.
    pub fn new() -> Self {
        Terminal {
            colour: fancy(),
            lines: Lines::All,
            bar: None,
            collected: Collected::default(),
        }
    }

    /// Progress only (a bar on a terminal, nothing otherwise): for `imspec selftest`.
    pub fn progress_only() -> Self {
        Terminal {
            lines: Lines::None,
            ..Terminal::new()
        }
    }

    /// A line per run that fails and nothing at the end: for `imspec matrix`, whose table
    /// follows.
    pub fn failing_only() -> Self {
        Terminal {
            lines: Lines::Failing,
            ..Terminal::new()
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        }
    }

    fn line_of(&self, run: &ScenarioRun) -> String {
        let extra = match (&run.expected_reason, run.verdict) {
            (Some(reason), Verdict::Xfail | Verdict::Xpass) => format!("  # {reason}"),
            _ if run.snapshot_written => "  (snapshot written)".to_string(),
            _ if !run.notes.is_empty() => format!(
                "  ({} wire-level failure{} not counted at --level guide)",
                run.notes.len(),
                if run.notes.len() == 1 { "" } else { "s" }
            ),
            _ if !run.remarks.is_empty() => {
                format!(
                    "  ({})",
                    run.remarks[0].split(':').next().unwrap_or_default()
                )
            }
            _ => String::new(),
        };
        format!(
            "{} {} ({} ms){extra}",
            self.paint(run.verdict, &format!("{:<11}", run.label())),
            run.id,
            run.duration.as_millis()
        )
    }

    /// The failures and the counts.
    fn summary(&self, runs: &[ScenarioRun]) -> String {
        let mut out = String::new();
        for run in runs.iter().filter(|r| !r.notes.is_empty()) {
            for note in &run.notes {
                out += &format!(
                    "\n{} {} (not counted at --level guide)\n  {}\n",
                    self.colour_code("33", &note.label()),
                    run.id,
                    note.located(&run.path)
                );
            }
        }
        for run in runs
            .iter()
            .filter(|r| r.verdict.fails_run() || r.verdict == Verdict::Unsupported)
        {
            out += &format!("\n{} {}\n", self.paint(run.verdict, &run.label()), run.id);
            if run.verdict == Verdict::Xpass {
                out += &format!(
                    "  listed as an expected failure ({}) but passed: remove the entry\n",
                    run.expected_reason.clone().unwrap_or_default()
                );
            }
            if let Some(message) = run.failure_message() {
                out += &format!("  {message}\n");
            }
            if let Some(diff) = &run.diff {
                out += "  transcript vs snapshot:\n";
                for line in diff.lines() {
                    out += &format!("    {}\n", self.diff_line(line));
                }
            }
            if run.verdict.fails_run() && !run.stderr_tail.is_empty() {
                out += "  driver stderr (last lines):\n";
                for line in run.stderr_tail.lines() {
                    out += &format!("    | {line}\n");
                }
            }
        }
        for remark in super::distinct_remarks(runs) {
            out += &format!("\nnote: {remark}\n");
        }
        let s = Summary::of(runs);
        out += &format!(
            "\n{} passed, {} failed, {} unsupported, {} xfail, {} xpass, {} errors",
            s.passed, s.failed, s.unsupported, s.xfail, s.xpass, s.errors
        );
        for (count, what) in [(s.flaky, "flaky"), (s.not_run, "not run")] {
            if count > 0 {
                out += &format!(", {count} {what}");
            }
        }
        out.push('\n');
        out
    }

    fn paint(&self, verdict: Verdict, text: &str) -> String {
        let code = match verdict {
            Verdict::Pass => "32",
            Verdict::Fail | Verdict::Xpass | Verdict::Error | Verdict::Flaky => "31",
            Verdict::Unsupported | Verdict::Xfail | Verdict::NotRun => "33",
        };
        self.colour_code(code, text)
    }

    fn colour_code(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn diff_line(&self, line: &str) -> String {
        match line.chars().next() {
            Some('+') if !line.starts_with("+++") => self.colour_code("32", line),
            Some('-') if !line.starts_with("---") => self.colour_code("31", line),
            Some('@') => self.colour_code("36", line),
            _ => line.to_string(),
        }
    }
}

/// Which finished scenarios the terminal report gives a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// Every one, then the failures and the counts (`imspec run`).
    All,
    /// Those that fail the run (`imspec matrix`).
    Failing,
    /// None: a progress bar only (`imspec selftest`).
    None,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

/// Colour and a progress bar: only on a terminal, and never under `NO_COLOR`.
fn fancy() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl Sink for Terminal {
    fn event(&mut self, event: &RunEvent) {
        self.collected.record(event);
        match event {
            RunEvent::Started { total, client } => {
                // a run in phases (selftest: the clean column, then the switches) starts again
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.say(&format!(
                    "running {total} scenario{} against {client}",
                    if *total == 1 { "" } else { "s" }
                ));
                if self.colour {
                    let bar = ProgressBar::with_draw_target(
                        Some(*total as u64),
                        ProgressDrawTarget::stdout(),
                    );
                    if let Ok(style) = ProgressStyle::with_template(
                        "{elapsed:>4} [{bar:30.cyan/blue}] {pos}/{len} {wide_msg}",
                    ) {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar.enable_steady_tick(Duration::from_millis(200));
                    self.bar = Some(bar);
                }
            }
            RunEvent::Finished(run) => {
                let shown = match self.lines {
                    Lines::All => true,
                    Lines::Failing => run.verdict.fails_run(),
                    Lines::None => false,
                };
                if shown {
                    self.say(&self.line_of(run));
                }
                if let Some(bar) = &self.bar {
                    bar.set_message(run.id.clone());
                    bar.inc(1);
                }
            }
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.lines == Lines::All {
            let text = self.summary(self.collected.clone().runs());
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
        Ok(())
    }
}

/// The kill matrix as text: a row per scenario, a column per switch (numbered, with a legend),
/// then every problem.
pub fn kill_matrix(matrix: &KillMatrix) -> String {
    let width = matrix
        .rows
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let ran = matrix
        .rows
        .iter()
        .map(|r| 1 + r.under.iter().filter(|c| c.ran).count())
        .sum::<usize>();
    let mut out = format!(
        "kill matrix: {} scenarios × {} fault switches ({ran} runs with the clean ones; {} not \
         made, where the clean run never reached the switch)\n\
         X killed and declared in killed_by, x killed, ! declared but survived, . survived, \
         blank: not reached\n\n",
        matrix.rows.len(),
        matrix.switches.len(),
        matrix.rows.len() * (matrix.switches.len() + 1) - ran
    );
    out += &format!("{:<width$}  clean ", "");
    for i in 1..=matrix.switches.len() {
        out += &format!("{:>3}", i);
    }
    out += "\n";
    for row in &matrix.rows {
        out += &format!("{:<width$}  {:<5} ", row.id, row.clean.verdict.label());
        for (switch, cell) in matrix.switches.iter().zip(&row.under) {
            let declared = row.declared.contains(switch);
            let mark = match (cell.killed(), declared) {
                (true, true) => 'X',
                (true, false) => 'x',
                (false, true) => '!',
                (false, false) if cell.ran => '.',
                (false, false) => ' ',
            };
            out += &format!("{mark:>3}");
        }
        out += "\n";
    }
    out += "\nswitches:\n";
    for (i, switch) in matrix.switches.iter().enumerate() {
        let kills = matrix.rows.iter().filter(|r| r.under[i].killed()).count();
        let waived = match matrix.waivers.iter().find(|w| &w.switch == switch) {
            Some(w) => format!("  (waived at {}: {})", w.at, w.reason),
            None => String::new(),
        };
        out += &format!("{:>3} {switch:<28} kills {kills}{waived}\n", i + 1);
    }
    let problems = matrix.problems();
    if problems.is_empty() {
        out += &format!(
            "\nevery scenario is killed by a switch{}, and every declared killed_by holds\n",
            match (matrix.whole_suite, matrix.waivers.len()) {
                (false, _) => String::new(),
                (true, 0) => ", every switch kills a scenario".to_string(),
                (true, n) => format!(", every switch kills a scenario but {n} waived"),
            }
        );
    } else {
        out += &format!("\n{} problem(s):\n", problems.len());
        for problem in problems {
            out += &format!("  {problem}\n");
        }
    }
    out
}
