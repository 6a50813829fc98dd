//! Guide coverage: which of the guide's testable statements (`docs/guide-statements.toml`)
//! the scenarios check, and how strongly. A scenario covers a statement when one of its guide
//! citations (scenario or step level) overlaps the statement's lines. Strength: `exact` (a
//! guide-level step checks a concrete value, not only `<any>`; or any guide-level check of a
//! statement marked `no_value`, whose callback the guide names without a value), `fired`
//! (guide-level steps check only that something happened), `wire` (only wire-level steps).
//!
//! Owns the statements file's format and the coverage computation; it reads scenarios as
//! loaded and never runs them. Reports draw the result (terminal and JSON here, the HTML
//! section in `report::html`).

use crate::scenario::{
    Action, Docs, GuideCitation, Level, LineRange, ReplyExpectation, Scenario, Step, template,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The statements file bundled with imspec.
const BUNDLED: &str = include_str!("../docs/guide-statements.toml");
/// Its path in the source tree, for messages.
pub const BUNDLED_PATH: &str = "docs/guide-statements.toml";

/// One testable (or knowingly untestable) statement of the guide.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Unique, kebab-case.
    pub id: String,
    /// The guide lines that state it.
    pub lines: LineRange,
    /// The statement in one sentence.
    pub text: String,
    /// Why no scenario can check it; such a statement is listed, never counted as uncovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untestable: Option<String>,
    /// Why the guide gives no value to check (a callback it names without describing its
    /// argument): that the callback fires, or that nothing arrives, is then all it states, and a
    /// `fired` check of it counts as exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementsFile {
    #[serde(default)]
    statement: Vec<Statement>,
}

/// How strongly a scenario checks a statement (stronger first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// A guide-level step checks a concrete value.
    Exact,
    /// Guide-level steps check only that something happened (or `<any>` values).
    Fired,
    /// Only wire-level steps.
    Wire,
}

impl Strength {
    /// `exact`, `fired` or `wire`.
    pub fn name(self) -> &'static str {
        match self {
            Strength::Exact => "exact",
            Strength::Fired => "fired",
            Strength::Wire => "wire",
        }
    }
}

/// A statements file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// It cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid, or a statement is wrong.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line when known).
        message: String,
    },
}

/// Reads a statements file.
pub fn load(path: &Path) -> Result<Vec<Statement>, CoverageError> {
    let text = std::fs::read_to_string(path).map_err(|source| CoverageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, Docs::bundled())
}

/// The statements bundled with imspec.
pub fn bundled() -> Result<Vec<Statement>, CoverageError> {
    parse(Path::new(BUNDLED_PATH), BUNDLED, Docs::bundled())
}

/// Parses a statements file; ids must be unique and lines within the guide.
pub fn parse(path: &Path, text: &str, docs: &Docs) -> Result<Vec<Statement>, CoverageError> {
    let invalid = |message: String| CoverageError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let file: StatementsFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        invalid(match line {
            Some(line) => format!("line {line}: {}", e.message()),
            None => e.to_string(),
        })
    })?;
    let mut seen = BTreeSet::new();
    for s in &file.statement {
        if !seen.insert(s.id.clone()) {
            return Err(invalid(format!("statement `{}` is listed twice", s.id)));
        }
        if s.lines.last > docs.guide.len() {
            return Err(invalid(format!(
                "statement `{}`: lines {} are beyond the guide's {} lines",
                s.id,
                s.lines,
                docs.guide.len()
            )));
        }
    }
    Ok(file.statement)
}

/// One scenario covering a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cover {
    /// The scenario id.
    pub scenario: String,
    /// How strongly.
    pub strength: Strength,
}

/// A statement with the scenarios that cover it.
#[derive(Debug, Clone, Serialize)]
pub struct Covered {
    /// The statement.
    #[serde(flatten)]
    pub statement: Statement,
    /// The best strength among its scenarios; `None` when none covers it.
    pub strength: Option<Strength>,
    /// The covering scenarios, strongest first.
    pub scenarios: Vec<Cover>,
}

impl Covered {
    /// Its status in one word: `untestable` (whatever covers its lines: a scenario citing lines
    /// shared with a testable statement does not check this one), else its strength's name,
    /// else `uncovered`.
    pub fn label(&self) -> &'static str {
        match (self.strength, &self.statement.untestable) {
            (_, Some(_)) => "untestable",
            (Some(strength), None) => strength.name(),
            (None, None) => "uncovered",
        }
    }
}

/// The coverage of a suite.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Every statement, in file order.
    pub statements: Vec<Covered>,
}

/// Counts of a coverage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Statements in the file.
    pub statements: usize,
    /// Untestable ones (never counted as uncovered).
    pub untestable: usize,
    /// Covered by a guide-level step with a concrete value.
    pub exact: usize,
    /// Covered by guide-level steps without a concrete value.
    pub fired: usize,
    /// Covered by wire-level steps only.
    pub wire: usize,
    /// Testable and covered by no scenario.
    pub uncovered: usize,
}

impl Coverage {
    /// The coverage of `scenarios` over `statements`.
    pub fn of(statements: &[Statement], scenarios: &[Scenario]) -> Coverage {
        let covers: Vec<(String, Vec<(LineRange, Strength)>)> = scenarios
            .iter()
            .map(|s| (s.id.clone(), citations_with_strength(s)))
            .collect();
        let statements = statements
            .iter()
            .map(|statement| {
                let mut scenarios: Vec<Cover> = covers
                    .iter()
                    .filter_map(|(id, cited)| {
                        cited
                            .iter()
                            .filter(|(lines, _)| lines.overlaps(statement.lines))
                            .map(|(_, strength)| *strength)
                            .min()
                            .map(|strength| Cover {
                                scenario: id.clone(),
                                strength: match (strength, &statement.no_value) {
                                    (Strength::Fired, Some(_)) => Strength::Exact,
                                    (strength, _) => strength,
                                },
                            })
                    })
                    .collect();
                scenarios.sort_by(|a, b| (a.strength, &a.scenario).cmp(&(b.strength, &b.scenario)));
                Covered {
                    statement: statement.clone(),
                    strength: scenarios.first().map(|c| c.strength),
                    scenarios,
                }
            })
            .collect();
        Coverage { statements }
    }

    /// How many statements are covered how.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            statements: self.statements.len(),
            ..Counts::default()
        };
        for s in &self.statements {
            match (s.label(), s.strength) {
                ("untestable", _) => c.untestable += 1,
                (_, Some(Strength::Exact)) => c.exact += 1,
                (_, Some(Strength::Fired)) => c.fired += 1,
                (_, Some(Strength::Wire)) => c.wire += 1,
                (_, None) => c.uncovered += 1,
            }
        }
        c
    }

    /// The ids of the statements some scenario covers.
    pub fn covered_ids(&self) -> BTreeSet<String> {
        self.statements
            .iter()
            .filter(|s| s.strength.is_some())
            .map(|s| s.statement.id.clone())
            .collect()
    }

    /// The testable statements no scenario covers.
    pub fn uncovered(&self) -> impl Iterator<Item = &Covered> {
        self.statements
            .iter()
            .filter(|s| s.strength.is_none() && s.statement.untestable.is_none())
    }

    /// As JSON: `{"schema": 1, "kind": "coverage", "counts": {...}, "statements": [{"id",
    /// "lines", "text", "untestable"?, "strength", "scenarios": [{"scenario", "strength"}]}]}`.
    pub fn json(&self) -> Value {
        serde_json::json!({
            "schema": 1,
            "kind": "coverage",
            "counts": self.counts(),
            "statements": self.statements,
        })
    }

    /// For the terminal: each statement with its strength and scenarios, then the uncovered
    /// ones and the counts.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.statements {
            let st = &s.statement;
            let strength = match s.label() {
                "uncovered" => "UNCOVERED",
                label => label,
            };
            out += &format!(
                "{:<10} {:<36} L{:<8} {}\n",
                strength,
                st.id,
                st.lines.to_string(),
                st.text
            );
            if let Some(why) = &st.untestable {
                out += &format!("{:<10} {:<36} {:<9} why: {why}\n", "", "", "");
            }
            if let Some(why) = &st.no_value {
                out += &format!("{:<10} {:<36} {:<9} no value: {why}\n", "", "", "");
            }
            for cover in &s.scenarios {
                out += &format!(
                    "{:<10} {:<36} {:<9} {} ({})\n",
                    "",
                    "",
                    "",
                    cover.scenario,
                    cover.strength.name()
                );
            }
        }
        let uncovered: Vec<&Covered> = self.uncovered().collect();
        if !uncovered.is_empty() {
            out += "\nNo scenario covers:\n";
            for s in uncovered {
                out += &format!(
                    "  {} (guide L{}): {}\n",
                    s.statement.id, s.statement.lines, s.statement.text
                );
            }
        }
        let c = self.counts();
        out += &format!(
            "\n{} statements: {} covered exactly, {} fired only, {} wire only, {} not at all, {} untestable\n",
            c.statements, c.exact, c.fired, c.wire, c.uncovered, c.untestable
        );
        out
    }
}

/// Each guide citation of a scenario with the strength of the steps it covers.
fn citations_with_strength(scenario: &Scenario) -> Vec<(LineRange, Strength)> {
    let mut out = Vec::new();
    // Steps that cite the guide themselves cover their citation; the others the scenario's.
    let scenario_steps: Vec<&Step> = scenario
        .steps
        .iter()
        .filter(|s| s.citations.guide.is_empty())
        .collect();
    let scenario_strength = strength(&scenario_steps);
    for cited in &scenario.citations.guide {
        out.extend(scenario_strength.map(|s| (cited.citation.lines, s)));
    }
    for step in &scenario.steps {
        for cited in &step.citations.guide {
            let GuideCitation { lines, .. } = &cited.citation;
            out.extend(strength(&[step]).map(|s| (*lines, s)));
        }
    }
    out
}

/// The strength of a set of steps: exact when a guide-level one checks a concrete value,
/// fired when guide-level ones check only presence, wire when only wire-level ones check;
/// `None` when none checks anything (only actions).
fn strength(steps: &[&Step]) -> Option<Strength> {
    let mut best: Option<Strength> = None;
    for step in steps {
        let Some(concrete) = checks(step) else {
            continue;
        };
        let s = match (step.level, concrete) {
            (Level::Guide, true) => Strength::Exact,
            (Level::Guide, false) => Strength::Fired,
            (Level::Wire, _) => Strength::Wire,
        };
        best = Some(best.map_or(s, |b| b.min(s)));
    }
    best
}

/// Whether a step checks something (`Some`), and whether it checks a concrete value.
fn checks(step: &Step) -> Option<bool> {
    match &step.action {
        Action::Request { reply, .. } => Some(match reply {
            ReplyExpectation::Ok(Some(v)) | ReplyExpectation::Err(Some(v)) => concrete(v),
            ReplyExpectation::Ok(None) | ReplyExpectation::Err(None) => false,
            ReplyExpectation::None => return None,
        }),
        Action::Event(e) => Some(e.data.as_ref().is_some_and(concrete)),
        Action::Frame(f) => Some(concrete(&f.matches)),
        Action::Http(h) => Some(concrete(&h.matches)),
        Action::Quiet { .. } => Some(false),
        Action::Deliver(_)
        | Action::DeliverRaw { .. }
        | Action::Advance(_)
        | Action::ServerClose(_)
        | Action::Kick { .. }
        | Action::Fault(_) => None,
    }
}

/// Whether an expectation holds a value other than `<any>` / `<absent>`.
fn concrete(value: &Value) -> bool {
    match value {
        Value::String(s) => s != template::ANY && s != template::ABSENT,
        Value::Array(items) => items.iter().any(concrete),
        Value::Object(map) => map.values().any(concrete),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::citation::Doc;
    use crate::scenario::load_str_with;

    fn docs() -> Docs {
        Docs {
            guide: Doc::new("guide.md", &"line\n".repeat(100)),
            wire: Doc::new("wire.md", "## 4. Types\nroutetype\n"),
            wire4: None,
        }
    }

    fn scenario(id: &str, text: &str) -> Scenario {
        let head = "[world.users]\nalice = {}\nbob = {}\n";
        load_str_with(
            id,
            Path::new("x.toml"),
            &format!("purpose = \"p\"\n{text}\n{head}{}", STEPS),
            &docs(),
        )
        .unwrap()
    }

    const STEPS: &str = "[[step]]\nconnect = \"alice\"\n[[step]]\nevent = { user = \"alice\", name = \"onOpened\" }\n";

    const FILE: &str = "[[statement]]\nid = \"a\"\nlines = \"10-12\"\ntext = \"A\"\n\n\
        [[statement]]\nid = \"b\"\nlines = \"20\"\ntext = \"B\"\n\n\
        [[statement]]\nid = \"c\"\nlines = \"30\"\ntext = \"C\"\n\n\
        [[statement]]\nid = \"d\"\nlines = \"40\"\ntext = \"D\"\nuntestable = \"no API\"\n";

    #[test]
    fn statements_are_covered_by_overlapping_citations_with_a_strength() {
        let statements = parse(Path::new("s.toml"), FILE, &docs()).unwrap();
        let exact = scenario(
            "x/exact",
            "guide = [{ lines = \"12-14\", quote = \"line\" }]\n[[step]]\nevent = { user = \"bob\", name = \"onTextMessage\", data = { data = \"hi\" } }\nguide = { lines = \"20\", quote = \"line\" }\n",
        );
        let fired = scenario(
            "x/fired",
            "guide = [{ lines = \"9-10\", quote = \"line\" }]",
        );
        let wire = scenario(
            "x/wire",
            "wire = [{ section = \"4\", quote = \"routetype\" }]",
        );
        let coverage = Coverage::of(&statements, &[exact, fired, wire]);
        let a = &coverage.statements[0];
        assert_eq!(a.strength, Some(Strength::Fired));
        assert_eq!(
            a.scenarios,
            [
                Cover {
                    scenario: "x/exact".into(),
                    strength: Strength::Fired
                },
                Cover {
                    scenario: "x/fired".into(),
                    strength: Strength::Fired
                },
            ]
        );
        assert_eq!(coverage.statements[1].strength, Some(Strength::Exact));
        assert_eq!(coverage.statements[2].strength, None);
        assert_eq!(
            coverage.counts(),
            Counts {
                statements: 4,
                untestable: 1,
                exact: 1,
                fired: 1,
                wire: 0,
                uncovered: 1
            }
        );
        assert_eq!(
            coverage
                .uncovered()
                .map(|s| s.statement.id.as_str())
                .collect::<Vec<_>>(),
            ["c"]
        );
        let text = coverage.text();
        assert!(
            text.contains("No scenario covers:\n  c (guide L30): C"),
            "{text}"
        );
        assert!(text.contains("4 statements: 1 covered exactly, 1 fired only, 0 wire only, 1 not at all, 1 untestable"), "{text}");
        assert_eq!(
            coverage.json()["statements"][1]["scenarios"][0]["strength"],
            "exact"
        );
    }

    #[test]
    fn a_wire_level_step_citing_the_guide_is_wire_strength() {
        let statements = parse(Path::new("s.toml"), FILE, &docs()).unwrap();
        let s = scenario(
            "x/w",
            "wire = [{ section = \"4\", quote = \"routetype\" }]\n[[step]]\nframe = { dir = \"c2s\", match = { command = \"SYNC\" } }\nguide = { lines = \"30\", quote = \"line\" }\nlevel = \"wire\"\n",
        );
        let coverage = Coverage::of(&statements, &[s]);
        assert_eq!(coverage.statements[2].strength, Some(Strength::Wire));
    }

    #[test]
    fn firing_is_exact_for_a_statement_whose_callback_has_no_value() {
        let file = FILE.replace(
            "text = \"A\"\n",
            "text = \"A\"\nno_value = \"no argument\"\n",
        );
        let statements = parse(Path::new("s.toml"), &file, &docs()).unwrap();
        let fired = scenario(
            "x/fired",
            "guide = [{ lines = \"9-10\", quote = \"line\" }]",
        );
        let coverage = Coverage::of(&statements, &[fired]);
        assert_eq!(coverage.statements[0].strength, Some(Strength::Exact));
        assert_eq!(coverage.counts().exact, 1);
        assert!(coverage.text().contains("no value: no argument"));
    }

    #[test]
    fn bad_statement_files_name_the_problem() {
        let e = parse(
            Path::new("s.toml"),
            "[[statement]]\nid = \"a\"\nlines = \"1\"\ntxt = \"x\"\n",
            &docs(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("s.toml: line 4: unknown field `txt`"), "{e}");
        let twice = "[[statement]]\nid = \"a\"\nlines = \"1\"\ntext = \"x\"\n[[statement]]\nid = \"a\"\nlines = \"2\"\ntext = \"y\"\n";
        assert!(
            parse(Path::new("s.toml"), twice, &docs())
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        let beyond = "[[statement]]\nid = \"a\"\nlines = \"101\"\ntext = \"x\"\n";
        assert!(
            parse(Path::new("s.toml"), beyond, &docs())
                .unwrap_err()
                .to_string()
                .contains("beyond")
        );
    }

    #[test]
    fn the_bundled_statements_parse() {
        assert!(bundled().unwrap().len() > 50);
    }
}
