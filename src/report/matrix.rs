//! The version matrix reports: the terminal table (scenario × client verdicts, the counts per
//! client, then every scenario whose verdict differs between clients with the listed reasons) and
//! the `--json` file (matrix schema 1).
//!
//! Fed by a finished [`Matrix`]; never recomputes a verdict.

use crate::runner::matrix::Matrix;
use crate::runner::{Summary, Verdict};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

/// One count of a column's summary.
type Count = fn(&Summary) -> usize;

/// A verdict as it stands in a table cell.
fn short(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Unsupported => "UNSUP",
        other => other.label(),
    }
}

/// The column heading: `name` over `sdk version`.
fn heading(matrix: &Matrix, i: usize) -> (String, String) {
    let c = &matrix.columns[i];
    let sdk = match (&c.sdk, &c.sdk_version) {
        (Some(sdk), Some(v)) => format!("{sdk} {v}"),
        (Some(sdk), None) => sdk.clone(),
        _ => String::new(),
    };
    (c.name.clone(), sdk)
}

/// The terminal table as text.
pub fn table(matrix: &Matrix) -> String {
    let headings: Vec<(String, String)> = (0..matrix.columns.len())
        .map(|i| heading(matrix, i))
        .collect();
    let widths: Vec<usize> = headings
        .iter()
        .map(|(a, b)| a.len().max(b.len()).max(6))
        .collect();
    let first = matrix
        .rows
        .iter()
        .map(|r| r.id.len())
        .chain(["scenario".len(), "unsupported".len()])
        .max()
        .unwrap_or(8);
    let mut out = String::new();
    let line = |out: &mut String, label: &str, cells: Vec<String>| {
        let mut text = format!("{label:<first$}");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(text, "  {cell:<w$}");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(
        &mut out,
        "scenario",
        headings.iter().map(|h| h.0.clone()).collect(),
    );
    line(&mut out, "", headings.iter().map(|h| h.1.clone()).collect());
    line(
        &mut out,
        &"-".repeat(first),
        widths.iter().map(|w| "-".repeat(*w)).collect(),
    );
    for row in &matrix.rows {
        line(
            &mut out,
            &row.id,
            row.cells
                .iter()
                .map(|c| short(c.verdict).to_string())
                .collect(),
        );
    }
    line(
        &mut out,
        &"-".repeat(first),
        widths.iter().map(|w| "-".repeat(*w)).collect(),
    );
    let counts: [(&str, Count); 6] = [
        ("pass", |s| s.passed),
        ("xfail", |s| s.xfail),
        ("unsupported", |s| s.unsupported),
        ("fail", |s| s.failed),
        ("xpass", |s| s.xpass),
        ("error", |s| s.errors),
    ];
    for (label, count) in counts {
        line(
            &mut out,
            label,
            matrix
                .columns
                .iter()
                .map(|c| count(&c.summary).to_string())
                .collect(),
        );
    }
    let differing: Vec<_> = matrix
        .rows
        .iter()
        .filter(|r| r.cells.windows(2).any(|w| w[0].verdict != w[1].verdict))
        .collect();
    if !differing.is_empty() {
        let _ = writeln!(out, "\nwhere the clients differ:");
        for row in differing {
            let _ = writeln!(out, "  {}", row.id);
            for (cell, column) in row.cells.iter().zip(&matrix.columns) {
                if cell.verdict == Verdict::Pass {
                    continue;
                }
                let why = cell
                    .reason
                    .as_deref()
                    .or(cell.failure.as_deref())
                    .unwrap_or("");
                let _ = writeln!(
                    out,
                    "    {:<w$} {:<5} {why}",
                    column.name,
                    short(cell.verdict),
                    w = widths.iter().copied().max().unwrap_or(6)
                );
            }
        }
    }
    out
}

/// The matrix as JSON (matrix schema 1; fields are only ever added):
/// `{"schema": 1, "kind": "matrix", "columns": [{"name", "command", "sdk", "sdkVersion",
/// "summary"}], "rows": [{"id", "purpose", "cells": [{"verdict", "reason"?, "failure"?}]}]}`.
pub fn report(matrix: &Matrix) -> Value {
    json!({
        "schema": 1,
        "kind": "matrix",
        "columns": matrix.columns,
        "rows": matrix.rows,
    })
}

/// Writes the JSON report to `path`.
pub fn write_json(path: &Path, matrix: &Matrix) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&report(matrix)).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::matrix::{Cell, ColumnInfo, Row};

    fn cell(verdict: Verdict, reason: Option<&str>) -> Cell {
        Cell {
            verdict,
            reason: reason.map(str::to_string),
            failure: None,
        }
    }

    fn matrix() -> Matrix {
        let column = |name: &str, sdk: Option<(&str, &str)>, passed, xfail| ColumnInfo {
            name: name.into(),
            command: format!("node drivers/{name}/driver.mjs"),
            sdk: sdk.map(|s| s.0.to_string()),
            sdk_version: sdk.map(|s| s.1.to_string()),
            summary: Summary {
                total: 2,
                passed,
                xfail,
                ..Default::default()
            },
        };
        Matrix {
            columns: vec![
                column("reference", None, 2, 0),
                column("websdk4", Some(("easemob-websdk", "4.21.1")), 1, 1),
            ],
            rows: vec![
                Row {
                    id: "errors/muted".into(),
                    purpose: String::new(),
                    cells: vec![
                        cell(Verdict::Pass, None),
                        cell(Verdict::Xfail, Some("no onMutedMessage in 4.x")),
                    ],
                },
                Row {
                    id: "login/ok".into(),
                    purpose: String::new(),
                    cells: vec![cell(Verdict::Pass, None), cell(Verdict::Pass, None)],
                },
            ],
        }
    }

    #[test]
    fn the_table_has_a_row_per_scenario_counts_and_the_differences_with_reasons() {
        let text = table(&matrix());
        insta::assert_snapshot!(text, @r"
        scenario      reference  websdk4
                                 easemob-websdk 4.21.1
        ------------  ---------  ---------------------
        errors/muted  PASS       XFAIL
        login/ok      PASS       PASS
        ------------  ---------  ---------------------
        pass          2          1
        xfail         0          1
        unsupported   0          0
        fail          0          0
        xpass         0          0
        error         0          0

        where the clients differ:
          errors/muted
            websdk4               XFAIL no onMutedMessage in 4.x
");
    }

    #[test]
    fn the_json_report_names_its_kind_and_keeps_reasons() {
        let value = report(&matrix());
        assert_eq!(value["kind"], "matrix");
        assert_eq!(value["columns"][1]["sdkVersion"], "4.21.1");
        assert_eq!(value["rows"][0]["cells"][1]["verdict"], "xfail");
        assert_eq!(
            value["rows"][0]["cells"][1]["reason"],
            "no onMutedMessage in 4.x"
        );
    }
}
