//! `imspec selftest`: the proof that every verdict can fail. The suite runs against the
//! reference client once clean (which must be all PASS), then once per fault switch, every
//! (switch, scenario) pair through one job pool, and the result is the kill matrix: a scenario is
//! killed by a switch when it does not PASS under it. A pair whose clean run passed without the
//! client ever asking about the switch is not run: nothing in that run can differ under it.
//!
//! The gate: every scenario is killed by some switch, every switch kills some scenario, and each
//! switch a scenario declares in `killed_by` really kills it. A switch that no scenario can kill
//! yet (the behaviour it breaks needs a server feature or a wait the suite cannot afford) may be
//! listed, with the reason, in a waiver file (`scenarios/unkilled-switches.txt`, the format of
//! an expected-failures file); a listed switch that kills a scenario fails the gate, so the list
//! only shrinks. This module runs and judges; it
//! does not print (reports draw the [`KillMatrix`]) and does not know how a switch is honoured
//! (the reference client reads `IMSPEC_FAULTS`).

use super::expected::ExpectedFailures;
use super::{RunConfig, RunEvent, ScenarioRun, Verdict, pool};
use crate::driver::DriverPool;
use crate::scenario::Scenario;
use serde::Serialize;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// The variable the reference client reads its fault switches from.
const FAULTS_ENV: &str = "IMSPEC_FAULTS";

/// One run of the matrix: a verdict and, when it did not pass, why.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The verdict of the scenario in this run.
    pub verdict: Verdict,
    /// The first broken expectation, when it did not pass.
    pub failure: Option<String>,
    /// Whether the run was made. It is not when the scenario's clean run passed without the
    /// reference client ever asking about the switch (its `faultsReached`): the switch changes
    /// nothing there, so the run would be the clean run again, a PASS.
    pub ran: bool,
}

impl Cell {
    fn of(run: &ScenarioRun) -> Self {
        Cell {
            verdict: run.verdict,
            failure: run.failure_message(),
            ran: true,
        }
    }

    /// The cell of a run not made: the clean run passed and never reached the switch.
    fn not_reached() -> Self {
        Cell {
            verdict: Verdict::Pass,
            failure: None,
            ran: false,
        }
    }

    /// Whether the scenario did not PASS in this run.
    pub fn killed(&self) -> bool {
        self.verdict != Verdict::Pass
    }
}

/// One scenario's row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The scenario id.
    pub id: String,
    /// The switches its file says must kill it (`killed_by`).
    pub declared: Vec<String>,
    /// The clean run.
    pub clean: Cell,
    /// One cell per switch, in [`KillMatrix::switches`] order.
    pub under: Vec<Cell>,
}

impl Row {
    /// The switches that killed this scenario.
    pub fn killers<'a>(&self, switches: &'a [String]) -> Vec<&'a str> {
        switches
            .iter()
            .zip(&self.under)
            .filter(|(_, cell)| cell.killed())
            .map(|(s, _)| s.as_str())
            .collect()
    }
}

/// Scenario × switch.
#[derive(Debug, Clone, Serialize)]
pub struct KillMatrix {
    /// The fault switches, in column order.
    pub switches: Vec<String>,
    /// One row per scenario, in id order.
    pub rows: Vec<Row>,
    /// Whether the rows are the whole suite (no `--filter`): only then must every switch kill.
    pub whole_suite: bool,
    /// Switches excused from killing, with the reason (see [`KillMatrix::waive`]).
    pub waivers: Vec<Waiver>,
}

/// A switch that is allowed to kill no scenario, for a stated reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiver {
    /// The switch.
    pub switch: String,
    /// Why no scenario kills it yet.
    pub reason: String,
    /// Where it is listed: `file:line`.
    pub at: String,
}

/// Why the matrix does not prove what it must.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The clean reference client does not pass the scenario.
    #[error("{id}: the clean reference client does not pass it ({verdict}): {failure}")]
    CleanRunFails {
        /// The scenario.
        id: String,
        /// Its verdict.
        verdict: String,
        /// Why.
        failure: String,
    },
    /// No switch kills the scenario: nothing shows that its checks can fail.
    #[error(
        "{id}: no fault switch kills it; make its checks stricter or add a switch that breaks what it checks"
    )]
    Survivor {
        /// The scenario.
        id: String,
    },
    /// A switch kills no scenario: the behaviour it breaks is not checked anywhere.
    #[error("--fault {switch}: kills no scenario; add a scenario that checks what it breaks")]
    HarmlessSwitch {
        /// The switch.
        switch: String,
    },
    /// A scenario declares a switch in `killed_by` that does not kill it.
    #[error("{id}: declares killed_by {switch:?} but passes under it")]
    DeclaredSurvives {
        /// The scenario.
        id: String,
        /// The switch.
        switch: String,
    },
    /// A scenario declares a switch that does not exist.
    #[error(
        "{id}: killed_by names {switch:?}, which is no fault switch (see `imspec run --list-faults`)"
    )]
    UnknownSwitch {
        /// The scenario.
        id: String,
        /// The name.
        switch: String,
    },
    /// A waiver names a switch that kills a scenario: the list is stale.
    #[error(
        "{at}: --fault {switch} is listed as killing no scenario, but it kills {kills:?}: remove the line"
    )]
    StaleWaiver {
        /// The switch.
        switch: String,
        /// `file:line`.
        at: String,
        /// The scenarios it kills.
        kills: Vec<String>,
    },
    /// A waiver names no switch.
    #[error("{at}: {switch:?} is no fault switch (see `imspec run --list-faults`)")]
    UnknownWaiver {
        /// The name.
        switch: String,
        /// `file:line`.
        at: String,
    },
    /// A scenario declares no `killed_by`.
    #[error(
        "{id}: declares no killed_by; it is killed by {killers:?}: add killed_by = [...] with the ones it is meant to catch"
    )]
    NoneDeclared {
        /// The scenario.
        id: String,
        /// The switches that kill it in this run.
        killers: Vec<String>,
    },
}

impl KillMatrix {
    /// Everything the matrix fails to prove, in row order, then the harmless switches.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut useful = vec![false; self.switches.len()];
        for row in &self.rows {
            if row.clean.killed() {
                problems.push(Problem::CleanRunFails {
                    id: row.id.clone(),
                    verdict: row.clean.verdict.label().to_string(),
                    failure: row.clean.failure.clone().unwrap_or_default(),
                });
                continue; // a scenario that always fails proves nothing about the switches
            }
            let killers = row.killers(&self.switches);
            for (i, cell) in row.under.iter().enumerate() {
                useful[i] |= cell.killed();
            }
            if killers.is_empty() {
                problems.push(Problem::Survivor { id: row.id.clone() });
            }
            if row.declared.is_empty() && !killers.is_empty() {
                problems.push(Problem::NoneDeclared {
                    id: row.id.clone(),
                    killers: killers.iter().map(|k| k.to_string()).collect(),
                });
            }
            for switch in &row.declared {
                match self.switches.iter().position(|s| s == switch) {
                    None => problems.push(Problem::UnknownSwitch {
                        id: row.id.clone(),
                        switch: switch.clone(),
                    }),
                    Some(i) if !row.under[i].killed() => problems.push(Problem::DeclaredSurvives {
                        id: row.id.clone(),
                        switch: switch.clone(),
                    }),
                    Some(_) => {}
                }
            }
        }
        for (i, switch) in self.switches.iter().enumerate() {
            let waiver = self.waivers.iter().find(|w| &w.switch == switch);
            match (useful[i], waiver) {
                (false, None) if self.whole_suite => problems.push(Problem::HarmlessSwitch {
                    switch: switch.clone(),
                }),
                // Stale once a scenario claims the switch in `killed_by` and is killed by it; a
                // kill no scenario claims can be incidental (a deadline missed on a loaded
                // machine) and does not make the list fail.
                (true, Some(waiver))
                    if self.rows.iter().any(|r| {
                        !r.clean.killed() && r.under[i].killed() && r.declared.contains(switch)
                    }) =>
                {
                    problems.push(Problem::StaleWaiver {
                        switch: switch.clone(),
                        at: waiver.at.clone(),
                        kills: self
                            .rows
                            .iter()
                            .filter(|r| !r.clean.killed() && r.under[i].killed())
                            .map(|r| r.id.clone())
                            .collect(),
                    });
                }
                _ => {}
            }
        }
        for waiver in &self.waivers {
            if !self.switches.contains(&waiver.switch) {
                problems.push(Problem::UnknownWaiver {
                    switch: waiver.switch.clone(),
                    at: waiver.at.clone(),
                });
            }
        }
        problems
    }

    /// Excuses the switches listed in a waiver file (parsed as an expected-failures file: one
    /// switch name per line, then `# reason`).
    pub fn waive(&mut self, list: &ExpectedFailures) {
        let file = list
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from("(waivers)"));
        self.waivers = list
            .entries
            .iter()
            .map(|e| Waiver {
                switch: e.pattern.clone(),
                reason: e.reason.clone(),
                at: format!("{}:{}", file.display(), e.line),
            })
            .collect();
    }

    /// Runs that the harness itself could not run (verdict ERROR), as `id (switch): message`.
    pub fn harness_errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for row in &self.rows {
            let named = std::iter::once(("clean", &row.clean))
                .chain(self.switches.iter().map(String::as_str).zip(&row.under));
            for (switch, cell) in named {
                if cell.verdict == Verdict::Error {
                    let why = cell.failure.clone().unwrap_or_default();
                    out.push(format!("{} ({switch}): {why}", row.id));
                }
            }
        }
        out
    }
}

/// Runs `scenarios` against the reference client `base.client` clean and under each of
/// `switches`, `base.jobs` runs at once; reports get a [`RunEvent`] per run.
pub async fn run(
    scenarios: &[Scenario],
    base: &RunConfig,
    switches: &[String],
    whole_suite: bool,
    events: mpsc::UnboundedSender<RunEvent>,
) -> KillMatrix {
    let configs: Vec<RunConfig> = std::iter::once(None)
        .chain(switches.iter().map(Some))
        .map(|switch| {
            let mut config = RunConfig {
                level: crate::scenario::Level::Wire,
                expected: ExpectedFailures::default(),
                update_snapshots: false,
                ..base.clone()
            };
            // Set even when clean, so that an IMSPEC_FAULTS of the caller's cannot leak in.
            let faults = switch.cloned().unwrap_or_default();
            config.client.env.retain(|(k, _)| k != FAULTS_ENV);
            config.client.env.push((FAULTS_ENV.to_string(), faults));
            config.client.label = match switch {
                Some(s) => format!("{} --fault {s}", base.client.label),
                None => base.client.label.clone(),
            };
            config
        })
        .collect();
    let mut cells: Vec<Vec<Option<Cell>>> = vec![vec![None; configs.len()]; scenarios.len()];
    let drivers = DriverPool::new(base.jobs);
    // The clean column first: what each scenario's clean run reached decides which switches
    // can change it.
    let _ = events.send(RunEvent::Started {
        total: scenarios.len(),
        client: format!("{}: clean", base.client.label),
    });
    let clean: Vec<_> = scenarios
        .iter()
        .enumerate()
        .map(|(s, scenario)| ((0, s), scenario, &configs[0]))
        .collect();
    let mut reached: Vec<Option<Vec<String>>> = vec![None; scenarios.len()];
    pool(clean, base.jobs, &drivers, None, |((c, s), run)| {
        let _ = events.send(RunEvent::Finished(Box::new(run.clone())));
        // only a clean pass stands for the runs it makes needless
        if run.verdict == Verdict::Pass {
            reached[s] = run.faults_reached.clone();
        }
        cells[s][c] = Some(Cell::of(&run));
    })
    .await;
    // A switch the clean run never asked about changes nothing: the run under it would be the
    // clean run again, so it is not made ([`Cell::not_reached`]).
    let mut work = Vec::new();
    for (c, config) in configs.iter().enumerate().skip(1) {
        for (s, scenario) in scenarios.iter().enumerate() {
            match &reached[s] {
                Some(names) if !names.contains(&switches[c - 1]) => {
                    cells[s][c] = Some(Cell::not_reached());
                }
                _ => work.push(((c, s), scenario, config)),
            }
        }
    }
    let _ = events.send(RunEvent::Started {
        total: work.len(),
        client: format!(
            "{} under {} fault switches ({} runs not made: the clean run never reached the switch)",
            base.client.label,
            switches.len(),
            scenarios.len() * switches.len() - work.len()
        ),
    });
    pool(work, base.jobs, &drivers, None, |((c, s), run)| {
        let _ = events.send(RunEvent::Finished(Box::new(run.clone())));
        cells[s][c] = Some(Cell::of(&run));
    })
    .await;
    drivers.close().await;
    let mut rows: Vec<Row> = scenarios
        .iter()
        .zip(cells)
        .map(|(scenario, cells)| {
            let mut cells = cells.into_iter().map(|c| c.expect("every pair ran"));
            Row {
                id: scenario.id.clone(),
                declared: scenario.killed_by.clone(),
                clean: cells.next().expect("the clean run is first"),
                under: cells.collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    KillMatrix {
        switches: switches.to_vec(),
        rows,
        whole_suite,
        waivers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(verdict: Verdict) -> Cell {
        Cell {
            verdict,
            failure: (verdict != Verdict::Pass).then(|| "broke".to_string()),
            ran: true,
        }
    }

    fn row(id: &str, declared: &[&str], clean: Verdict, under: &[Verdict]) -> Row {
        Row {
            id: id.into(),
            declared: declared.iter().map(|s| s.to_string()).collect(),
            clean: cell(clean),
            under: under.iter().copied().map(cell).collect(),
        }
    }

    #[test]
    fn survivors_harmless_switches_and_false_claims_are_problems() {
        use Verdict::{Fail, Pass};
        let matrix = KillMatrix {
            switches: vec!["a".into(), "b".into(), "c".into()],
            rows: vec![
                row("x/killed", &["a"], Pass, &[Fail, Pass, Pass]),
                row("x/claims-b", &["b"], Pass, &[Fail, Pass, Pass]),
                row("x/survivor", &["a"], Pass, &[Pass, Pass, Pass]),
                row("x/undeclared", &[], Pass, &[Fail, Pass, Pass]),
                row("x/typo", &["zz"], Pass, &[Fail, Pass, Pass]),
                row("x/broken", &["c"], Fail, &[Fail, Fail, Fail]),
            ],
            whole_suite: true,
            waivers: Vec::new(),
        };
        let problems: Vec<String> = matrix.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            problems,
            [
                "x/claims-b: declares killed_by \"b\" but passes under it",
                "x/survivor: no fault switch kills it; make its checks stricter or add a switch that breaks what it checks",
                "x/survivor: declares killed_by \"a\" but passes under it",
                "x/undeclared: declares no killed_by; it is killed by [\"a\"]: add killed_by = [...] with the ones it is meant to catch",
                "x/typo: killed_by names \"zz\", which is no fault switch (see `imspec run --list-faults`)",
                "x/broken: the clean reference client does not pass it (FAIL): broke",
                "--fault b: kills no scenario; add a scenario that checks what it breaks",
                "--fault c: kills no scenario; add a scenario that checks what it breaks",
            ]
        );
        let partial = KillMatrix {
            whole_suite: false,
            rows: vec![row("x/killed", &["a"], Pass, &[Fail, Pass, Pass])],
            ..matrix
        };
        assert!(partial.problems().is_empty());
    }

    #[test]
    fn waivers_excuse_harmless_switches_and_must_not_go_stale() {
        use Verdict::{Fail, Pass};
        let mut matrix = KillMatrix {
            switches: vec!["a".into(), "b".into(), "c".into()],
            rows: vec![row("x/killed", &["a"], Pass, &[Fail, Pass, Pass])],
            whole_suite: true,
            waivers: Vec::new(),
        };
        let path = std::path::Path::new("unkilled.txt");
        let list = ExpectedFailures::parse(
            path,
            "# header\nb  # needs a server feature\na  # stale\nzz  # typo\n",
        )
        .unwrap();
        matrix.waive(&list);
        let problems: Vec<String> = matrix.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            problems,
            [
                "unkilled.txt:3: --fault a is listed as killing no scenario, but it kills [\"x/killed\"]: remove the line",
                "--fault c: kills no scenario; add a scenario that checks what it breaks",
                "unkilled.txt:4: \"zz\" is no fault switch (see `imspec run --list-faults`)",
            ]
        );
    }
}
