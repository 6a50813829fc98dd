//! The `--html PATH` report: one self-contained page (CSS and JS inline, nothing fetched) with
//! the counts, a filter box, a summary table with one row per scenario, and per scenario its
//! steps, the wire as a two-column client ⇄ server sequence with every payload decoded, the
//! diff against its snapshot when it failed and the driver's stderr tail, and the guide
//! coverage of the scenarios (`crate::coverage`). `imspec selftest
//! --html` draws the kill matrix on the same kind of page.
//!
//! Pages are built with `maud`, which escapes every text and attribute: payloads carry user
//! strings. The only raw text is this module's own stylesheet and script.

use super::{Collected, ReportError, Sink, write_file};
use crate::coverage::Coverage;
use crate::runner::selftest::KillMatrix;
use crate::runner::sequence::{Side, StepStatus, WireEntry};
use crate::runner::{RunEvent, ScenarioRun, Summary, Verdict};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use std::path::{Path, PathBuf};

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// The page of a run.
pub fn report(runs: &[ScenarioRun], client_label: &str) -> String {
    report_with(runs, client_label, None)
}

/// The page of a run, with the guide coverage of its scenarios when given.
pub fn report_with(
    runs: &[ScenarioRun],
    client_label: &str,
    coverage: Option<&Coverage>,
) -> String {
    let s = Summary::of(runs);
    let body = html! {
        h1 { "imspec: " (client_label) }
        p.counts {
            span { (s.total) " scenarios" }
            span.pass { (s.passed) " passed" }
            span.fail { (s.failed) " failed" }
            span.unsupported { (s.unsupported) " unsupported" }
            span.xfail { (s.xfail) " xfail" }
            span.xpass { (s.xpass) " xpass" }
            span.error { (s.errors) " errors" }
            @if s.flaky > 0 { span.flaky { (s.flaky) " flaky" } }
            @if s.not_run > 0 { span.notrun { (s.not_run) " not run" } }
        }
        (filter_box())
        table #summary {
            thead { tr { th { "scenario" } th { "verdict" } th { "ms" } th { "purpose" } th { "guide" } } }
            tbody {
                @for run in runs {
                    tr.scenario data-id=(run.id) data-verdict=(verdict_class(run.verdict)) {
                        td { a href={ "#detail-" (run.id) } { (run.id) } }
                        td.verdict.(verdict_class(run.verdict)) { (run.label()) }
                        td { (run.duration.as_millis()) }
                        td { (run.purpose) }
                        td { (run.guide) }
                    }
                }
            }
        }
        @for run in runs { (detail(run)) }
        @if let Some(coverage) = coverage { (coverage_section(coverage)) }
    };
    page(&format!("imspec: {client_label}"), body)
}

/// The guide coverage: the counts, then each statement with its strength and scenarios.
fn coverage_section(coverage: &Coverage) -> Markup {
    let c = coverage.counts();
    html! {
        section #coverage {
            h2 { "guide coverage" }
            p.counts {
                span { (c.statements) " statements" }
                span.pass { (c.exact) " covered exactly" }
                span.xfail { (c.fired) " fired only" }
                span.unsupported { (c.wire) " wire only" }
                span.fail { (c.uncovered) " not covered" }
                span { (c.untestable) " untestable" }
            }
            table.coverage {
                thead { tr { th { "statement" } th { "guide lines" } th { "strength" } th { "text" } th { "scenarios" } } }
                tbody {
                    @for s in &coverage.statements {
                        @let strength = s.label();
                        tr class=(strength) {
                            td { code { (s.statement.id) } }
                            td { (s.statement.lines.to_string()) }
                            td { (strength) }
                            td {
                                (s.statement.text)
                                @if let Some(why) = &s.statement.untestable { br; em { "untestable: " (why) } }
                            }
                            td {
                                @for cover in &s.scenarios {
                                    a href={ "#detail-" (cover.scenario) } { (cover.scenario) } " (" (cover.strength.name()) ") "
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn filter_box() -> Markup {
    html! {
        p {
            input #filter type="search" placeholder="filter: words of the id, verdict, purpose or guide" autofocus;
            span #shown {}
        }
    }
}

fn detail(run: &ScenarioRun) -> Markup {
    html! {
        section.detail id={ "detail-" (run.id) } {
            h2 { span.verdict.(verdict_class(run.verdict)) { (run.label()) } " " (run.id) }
            p { (run.purpose) br; "guide: " (run.guide) br; "file: " code { (run.path.display()) } }
            @if let Some(reason) = &run.expected_reason {
                p { "listed as an expected failure: " (reason) }
            }
            @if run.verdict == Verdict::Xpass {
                p.fail { "listed as an expected failure but passed: remove the entry" }
            }
            @if let Some(message) = run.failure_message() {
                pre.failure { (message) }
            }
            @for note in &run.notes {
                p { (note.label()) ", not counted at --level guide:" }
                pre.failure { (note.located(&run.path)) }
            }
            @if !run.steps.is_empty() {
                h3 { "steps" }
                table.steps {
                    thead { tr { th { "#" } th { "line" } th { "level" } th { "status" } th { "step" } } }
                    tbody {
                        @for step in &run.steps {
                            tr class=(step_class(step.status)) {
                                td { (step.number) }
                                td { (step.line) }
                                td { (step.level.name()) }
                                td { (step_label(step.status)) }
                                td { pre { (step.source) } }
                            }
                        }
                    }
                }
            }
            @if let Some(diff) = &run.diff {
                h3 { "transcript vs snapshot" }
                pre.diff {
                    @for line in diff.lines() {
                        span class=(diff_class(line)) { (line) } "\n"
                    }
                }
            }
            @if run.verdict.fails_run() && !run.stderr_tail.is_empty() {
                h3 { "driver stderr (last lines)" }
                pre.stderr { (run.stderr_tail) }
            }
            @if !run.wire.is_empty() {
                h3 { "wire: client ⇄ server" }
                table.seq {
                    thead { tr { th { "client → server" } th { "server → client" } } }
                    tbody { @for entry in &run.wire { (wire_row(entry)) } }
                }
            }
            @if !run.transcript.is_empty() {
                details {
                    summary { "normalised transcript" }
                    pre.transcript { (run.transcript) }
                }
            }
        }
    }
}

fn wire_row(entry: &WireEntry) -> Markup {
    let cell = |arrow: &str| {
        html! {
            @if let Some(user) = &entry.user { div.user { (user) } }
            @if entry.payload.is_null() {
                code { (arrow) (entry.title) }
            } @else {
                details {
                    summary { (arrow) (entry.title) }
                    pre { (pretty(&entry.payload)) }
                }
            }
        }
    };
    html! {
        tr {
            @match entry.side {
                Side::Client => { td.client { (cell("→ ")) } td {} }
                Side::Server => { td {} td.server { (cell("← ")) } }
                Side::Note => { td.note colspan="2" { (cell("")) } }
            }
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unsupported => "unsupported",
        Verdict::Xfail => "xfail",
        Verdict::Xpass => "xpass",
        Verdict::Error => "error",
        Verdict::Flaky => "flaky",
        Verdict::NotRun => "notrun",
    }
}

fn step_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Unsupported => "unsupported-step",
        StepStatus::Skipped => "skipped",
    }
}

fn step_label(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "FAILED",
        StepStatus::Unsupported => "unsupported",
        StepStatus::Skipped => "not reached",
    }
}

fn diff_class(line: &str) -> &'static str {
    if line.starts_with("+++") || line.starts_with("---") {
        ""
    } else if line.starts_with('+') {
        "add"
    } else if line.starts_with('-') {
        "del"
    } else if line.starts_with('@') {
        "hunk"
    } else {
        ""
    }
}

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string()
}

/// The `--html` sink: collects the run's events, writes the page when the run is over.
pub struct HtmlSink {
    path: PathBuf,
    collected: Collected,
    coverage: Option<Coverage>,
}

impl HtmlSink {
    /// A sink writing to `path`.
    pub fn new(path: &Path) -> Self {
        HtmlSink {
            path: path.to_path_buf(),
            collected: Collected::default(),
            coverage: None,
        }
    }

    /// The page also shows this guide coverage.
    pub fn with_coverage(mut self, coverage: Coverage) -> Self {
        self.coverage = Some(coverage);
        self
    }
}

impl Sink for HtmlSink {
    fn event(&mut self, event: &RunEvent) {
        self.collected.record(event);
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let client = self.collected.client.clone();
        let text = report_with(self.collected.runs(), &client, self.coverage.as_ref());
        write_file("HTML", &self.path, &text)
    }
}

/// The kill matrix of `imspec selftest` as a page: one row per scenario, one column per switch.
pub fn selftest(matrix: &KillMatrix) -> String {
    let problems = matrix.problems();
    let body = html! {
        h1 { "imspec selftest: the kill matrix" }
        p {
            (matrix.rows.len()) " scenarios × " (matrix.switches.len()) " fault switches of the reference client. "
            "A cell is killed (green) when the scenario did not PASS under that switch; bold cells are the "
            "switches the scenario declares in " code { "killed_by" } "."
        }
        @if problems.is_empty() {
            p.pass { "Every scenario is killed by a switch, every switch kills a scenario, every declared killed_by holds." }
        } @else {
            h3 { (problems.len()) " problem(s)" }
            ul.problems { @for p in &problems { li { (p.to_string()) } } }
        }
        @if !matrix.waivers.is_empty() {
            h3 { "switches no scenario kills yet (waived)" }
            ul { @for w in &matrix.waivers { li { code { (w.switch) } ": " (w.reason) " (" (w.at) ")" } } }
        }
        (filter_box())
        table.matrix {
            thead {
                tr {
                    th { "scenario" } th { "clean" }
                    @for switch in &matrix.switches { th.switch { (switch) } }
                }
            }
            tbody {
                @for row in &matrix.rows {
                    tr.scenario data-id=(row.id) {
                        td { (row.id) }
                        td.verdict.(verdict_class(row.clean.verdict)) title=[row.clean.failure.as_deref()] {
                            (row.clean.verdict.label())
                        }
                        @for (switch, cell) in matrix.switches.iter().zip(&row.under) {
                            td.cell.(if cell.killed() { "killed" } else if cell.ran { "survived" } else { "not-reached" })
                                .declared[row.declared.contains(switch)]
                                title={ (switch) ": " @if cell.ran { (cell.verdict.label()) } @else { "not run: the clean run never reached it" } @if let Some(f) = &cell.failure { ": " (f) } } {
                                (if cell.killed() { "killed" } else if cell.ran { "-" } else { "" })
                            }
                        }
                    }
                }
            }
        }
    };
    page("imspec selftest", body)
}

/// Writes the kill matrix page to `path`.
pub fn write_selftest(path: &Path, matrix: &KillMatrix) -> Result<(), ReportError> {
    write_file("HTML", path, &selftest(matrix))
}

/// The version matrix of `imspec matrix` as one self-contained page: the columns' counts, then
/// one row per scenario with each client's verdict (and the listed reason or the failure as the
/// cell's title); rows whose verdicts differ are marked.
pub fn version_matrix(matrix: &crate::runner::matrix::Matrix) -> String {
    let body = html! {
        h1 { "imspec matrix: scenario × client" }
        table.summary {
            thead { tr { th { "client" } th { "SDK" } th { "pass" } th { "fail" } th { "xfail" } th { "xpass" } th { "unsupported" } th { "errors" } } }
            tbody {
                @for c in &matrix.columns {
                    tr {
                        td { (c.name) }
                        td { (c.sdk.as_deref().unwrap_or("")) " " (c.sdk_version.as_deref().unwrap_or("")) }
                        td { (c.summary.passed) } td { (c.summary.failed) } td { (c.summary.xfail) }
                        td { (c.summary.xpass) } td { (c.summary.unsupported) } td { (c.summary.errors) }
                    }
                }
            }
        }
        (filter_box())
        table.matrix {
            thead {
                tr {
                    th { "scenario" }
                    @for c in &matrix.columns { th.switch { (c.name) } }
                }
            }
            tbody {
                @for row in &matrix.rows {
                    @let differs = row.cells.iter().any(|c| c.verdict != row.cells[0].verdict);
                    tr.scenario.declared[differs] data-id=(row.id) title=(row.purpose) {
                        td { (row.id) }
                        @for cell in &row.cells {
                            td.verdict.(verdict_class(cell.verdict))
                                title=[cell.reason.as_deref().or(cell.failure.as_deref())] {
                                (cell.verdict.label())
                            }
                        }
                    }
                }
            }
        }
    };
    page("imspec matrix", body)
}

/// Writes the version matrix page to `path`.
pub fn write_version_matrix(
    path: &Path,
    matrix: &crate::runner::matrix::Matrix,
) -> Result<(), ReportError> {
    write_file("HTML", path, &version_matrix(matrix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::sequence::{Side, WireEntry};
    use serde_json::json;

    #[test]
    fn user_strings_are_escaped_everywhere() {
        let nasty = "</script><script>alert(1)</script>&<b>\"'";
        let entry = WireEntry {
            side: Side::Client,
            user: Some(nasty.into()),
            title: nasty.into(),
            payload: json!({ "msg": nasty }),
        };
        let html = wire_row(&entry).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;/script&gt;"), "{html}");
    }
}
