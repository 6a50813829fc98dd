//! Scenario matrices: one file that stands for many cases (`[matrix]`, `scenarios/README.md`
//! "Matrices"). A matrix names axes (`[matrix.axis.<axis>.<value>]`, each value a table of
//! variables), an id template (`id = "${type}-${chat}-${refusal}"`) and the combinations left
//! out (`exclude`). Each remaining combination is written out as the text of an ordinary
//! scenario file: `"${axis.var}"` placeholders filled (a string that is only the placeholder
//! becomes the variable's TOML value, a table or an array included; inside a longer string it
//! becomes its text), `when` / `unless` steps kept or dropped, and the `[matrix]` tables blanked.
//! Every line keeps its number, so the loader's errors point into the matrix file as they do
//! into any other.
//!
//! This module owns that expansion and its errors; it knows nothing of steps or worlds (the
//! loader reads each case's text as it reads any scenario file).

use serde::Deserialize;
use std::collections::BTreeSet;
use toml::{Spanned, Table, Value};

/// One case of a matrix: its id (the file's folder, then the expanded id template) and the
/// text of its scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The scenario id: `refusals/cmd-room-602`.
    pub id: String,
    /// The scenario file the case stands for; same lines as the matrix file.
    pub text: String,
}

/// What is wrong with a matrix, at a 1-based line of its file.
pub type MatrixError = (usize, String);

/// The start of a placeholder.
const OPEN: &str = "${";

/// How deep variables may refer to variables (`${type.send}` holding `${chat.to}`).
const MAX_DEPTH: usize = 8;

/// Whether `text` has a `[matrix]` table (a header line `[matrix]` or `[matrix.…]`).
pub fn has_matrix(text: &str) -> bool {
    text.lines().any(is_matrix_header)
}

fn is_matrix_header(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("[matrix]") || t.starts_with("[matrix.")
}

#[derive(Deserialize)]
struct FileView {
    matrix: Option<Spanned<MatrixModel>>,
    #[serde(default, rename = "step")]
    steps: Vec<StepView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixModel {
    id: Spanned<String>,
    axis: Spanned<Table>,
    #[serde(default)]
    exclude: Vec<Spanned<Table>>,
}

#[derive(Deserialize)]
struct StepView {
    when: Option<Spanned<Table>>,
    unless: Option<Spanned<Table>>,
}

/// The axes: name → values in file order, each value's variables.
struct Axes(Vec<(String, Vec<(String, Table)>)>);

impl Axes {
    fn values(&self, axis: &str) -> Option<&[(String, Table)]> {
        self.0
            .iter()
            .find(|(name, _)| name == axis)
            .map(|(_, v)| v.as_slice())
    }

    fn names(&self) -> String {
        self.0
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One combination: the chosen value of each axis.
struct Choice<'a> {
    axes: &'a Axes,
    picked: Vec<usize>,
}

impl Choice<'_> {
    fn value_of(&self, axis: &str) -> Option<(&str, &Table)> {
        let index = self.axes.0.iter().position(|(name, _)| name == axis)?;
        let (name, vars) = &self.axes.0[index].1[self.picked[index]];
        Some((name, vars))
    }

    /// The value of `${axis}` or `${axis.var}`.
    fn lookup(&self, reference: &str) -> Result<Value, String> {
        let (axis, var) = match reference.split_once('.') {
            Some((a, v)) => (a.trim(), Some(v.trim())),
            None => (reference.trim(), None),
        };
        let (name, vars) = self.value_of(axis).ok_or_else(|| {
            format!(
                "`${{{reference}}}` names no axis of the matrix (axes: {})",
                self.axes.names()
            )
        })?;
        match var {
            None => Ok(Value::String(name.to_string())),
            Some(var) => vars.get(var).cloned().ok_or_else(|| {
                let known = vars.keys().cloned().collect::<Vec<_>>().join(", ");
                format!(
                    "`${{{reference}}}`: {axis} `{name}` has no variable `{var}` (it has: {known})"
                )
            }),
        }
    }

    /// Whether the case matches a condition table (`{ chat = "single", refusal = ["602"] }`):
    /// for every axis named, its value is one of those listed.
    fn matches(&self, condition: &Table) -> Result<bool, String> {
        let mut all = true;
        for (axis, listed) in condition {
            let values = self.axes.values(axis).ok_or_else(|| {
                format!(
                    "`{axis}` is not an axis of the matrix (axes: {})",
                    self.axes.names()
                )
            })?;
            let listed = names(listed)
                .ok_or_else(|| format!("`{axis}` must be a value name or an array of them"))?;
            for name in &listed {
                if !values.iter().any(|(v, _)| v == name) {
                    let known = values.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>();
                    return Err(format!(
                        "`{axis} = {name:?}`: no such value (values: {})",
                        known.join(", ")
                    ));
                }
            }
            let picked = self.value_of(axis).map_or("", |(name, _)| name);
            all &= listed.iter().any(|n| n == picked);
        }
        Ok(all)
    }
}

fn names(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Integer(i) => Some(vec![i.to_string()]),
        Value::Array(items) => items
            .iter()
            .map(|v| names(v).map(|mut n| n.remove(0)))
            .collect(),
        _ => None,
    }
}

/// The cases of the matrix file `text` whose id is `file_id` (`refusals/matrix`): one per
/// combination of axis values not excluded, sorted by id. Errors name the line.
pub fn expand(file_id: &str, text: &str) -> Result<Vec<Case>, MatrixError> {
    let lines = LineIndex::new(text);
    let view: FileView = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| lines.line_of(s.start));
        (line, e.message().to_string())
    })?;
    let Some(matrix) = view.matrix else {
        return Err((1, "no [matrix] table".into()));
    };
    let header = lines.line_of(matrix.span().start);
    let matrix = matrix.into_inner();
    let axes = axes(&matrix.axis, &lines)?;
    let folder = file_id.rsplit_once('/').map_or("", |(folder, _)| folder);

    let blanked = blank_matrix(text);
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    let mut picked = vec![0; axes.0.len()];
    loop {
        let choice = Choice {
            axes: &axes,
            picked: picked.clone(),
        };
        let mut excluded = false;
        for rule in &matrix.exclude {
            excluded |= choice.matches(rule.get_ref()).map_err(|m| {
                (
                    lines.line_of(rule.span().start),
                    format!("matrix exclude: {m}"),
                )
            })?;
        }
        if !excluded {
            let id_line = lines.line_of(matrix.id.span().start);
            let name = fill_text(matrix.id.get_ref(), &choice, 0).map_err(|m| (id_line, m))?;
            let id = if folder.is_empty() {
                name
            } else {
                format!("{folder}/{name}")
            };
            if !seen.insert(id.clone()) {
                return Err((
                    id_line,
                    format!(
                        "matrix id {id:?} comes out of two combinations; name every axis that varies in `id`"
                    ),
                ));
            }
            let text = case_text(&blanked, &view.steps, &choice, &lines)?;
            cases.push(Case { id, text });
        }
        if !next(&mut picked, &axes) {
            break;
        }
    }
    if cases.is_empty() {
        return Err((header, "the matrix excludes every combination".into()));
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(cases)
}

fn axes(table: &Spanned<Table>, lines: &LineIndex) -> Result<Axes, MatrixError> {
    let line = lines.line_of(table.span().start);
    let mut axes = Vec::new();
    for (name, values) in table.get_ref() {
        let Value::Table(values) = values else {
            return Err((
                line,
                format!(
                    "matrix axis `{name}` must be a table of values: [matrix.axis.{name}.<value>]"
                ),
            ));
        };
        let mut list = Vec::new();
        for (value, vars) in values {
            let Value::Table(vars) = vars else {
                return Err((
                    line,
                    format!(
                        "matrix axis `{name}` value `{value}` must be a table of variables: [matrix.axis.{name}.{value}]"
                    ),
                ));
            };
            list.push((value.clone(), vars.clone()));
        }
        if list.is_empty() {
            return Err((line, format!("matrix axis `{name}` has no values")));
        }
        axes.push((name.clone(), list));
    }
    if axes.is_empty() {
        return Err((
            line,
            "the matrix has no axes: add [matrix.axis.<axis>.<value>] tables".into(),
        ));
    }
    Ok(Axes(axes))
}

/// The next combination (the last axis varies fastest); false after the last one.
fn next(picked: &mut [usize], axes: &Axes) -> bool {
    for i in (0..picked.len()).rev() {
        picked[i] += 1;
        if picked[i] < axes.0[i].1.len() {
            return true;
        }
        picked[i] = 0;
    }
    false
}

/// The file with its `[matrix…]` tables blanked (each line kept, empty).
fn blank_matrix(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            inside = is_matrix_header(line);
        }
        if inside {
            out.push_str(if line.ends_with('\n') { "\n" } else { "" });
        } else {
            out.push_str(line);
        }
    }
    out
}

/// One case's text: steps whose `when` / `unless` leave them out blanked, the `when` /
/// `unless` lines of the others blanked, placeholders filled.
fn case_text(
    text: &str,
    steps: &[StepView],
    choice: &Choice,
    lines: &LineIndex,
) -> Result<String, MatrixError> {
    let mut out: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let headers: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[step]]"))
        .map(|(i, _)| i)
        .collect();
    for (n, step) in steps.iter().enumerate() {
        let mut keep = true;
        for (condition, wanted) in [(&step.when, true), (&step.unless, false)] {
            if let Some(condition) = condition {
                let at = lines.line_of(condition.span().start);
                keep &= choice
                    .matches(condition.get_ref())
                    .map_err(|m| (at, format!("step {}: {m}", n + 1)))?
                    == wanted;
                // `when = {...}` sits on its own line(s): blank them.
                let last = lines.line_of(condition.span().end.saturating_sub(1));
                for line in &mut out[at - 1..last] {
                    *line = blank(line);
                }
            }
        }
        if !keep && let Some(&start) = headers.get(n) {
            let end = headers.get(n + 1).copied().unwrap_or_else(|| {
                out.iter()
                    .enumerate()
                    .skip(start + 1)
                    .find(|(_, l)| l.trim_start().starts_with('['))
                    .map_or(out.len(), |(i, _)| i)
            });
            for line in &mut out[start..end] {
                *line = blank(line);
            }
        }
    }
    let mut filled = String::with_capacity(text.len());
    for (i, line) in out.iter().enumerate() {
        filled.push_str(&fill_line(line, choice).map_err(|m| (i + 1, m))?);
    }
    Ok(filled)
}

fn blank(line: &str) -> String {
    if line.ends_with('\n') { "\n" } else { "" }.to_string()
}

/// Fills the placeholders of one line of TOML: `"${a.b}"` alone in a string becomes the
/// variable's inline TOML; `${a.b}` inside a longer string becomes its text, escaped.
fn fill_line(line: &str, choice: &Choice) -> Result<String, String> {
    if !line.contains(OPEN) {
        return Ok(line.to_string());
    }
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{OPEN}` without its closing `}}`"))?;
        let reference = &after[..end];
        let tail = &after[end + 1..];
        let whole = rest[..start].ends_with('"') && tail.starts_with('"');
        if whole {
            out.push_str(&rest[..start - 1]);
            let value = fill_value(choice.lookup(reference)?, choice, 0)
                .map_err(|m| format!("in `${{{reference}}}`: {m}"))?;
            out.push_str(&inline(&value));
            rest = &tail[1..];
        } else {
            out.push_str(&rest[..start]);
            let value = fill_value(choice.lookup(reference)?, choice, 0)
                .map_err(|m| format!("in `${{{reference}}}`: {m}"))?;
            let text = as_text(&value, reference)?;
            let quoted = inline(&Value::String(text));
            out.push_str(&quoted[1..quoted.len() - 1]);
            rest = tail;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A variable's value with its own placeholders filled.
fn fill_value(value: Value, choice: &Choice, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "variables refer to each other more than {MAX_DEPTH} deep (a loop?)"
        ));
    }
    Ok(match value {
        Value::String(s) if s.contains(OPEN) => {
            let t = s.trim();
            if t.starts_with(OPEN) && t.ends_with('}') && t.matches(OPEN).count() == 1 {
                let reference = &t[OPEN.len()..t.len() - 1];
                fill_value(choice.lookup(reference)?, choice, depth + 1)?
            } else {
                Value::String(fill_text(&s, choice, depth + 1)?)
            }
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| fill_value(v, choice, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Table(table) => Value::Table(
            table
                .into_iter()
                .map(|(k, v)| Ok((k, fill_value(v, choice, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other,
    })
}

/// A string with every `${…}` replaced by its text.
fn fill_text(text: &str, choice: &Choice, depth: usize) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{OPEN}` without its closing `}}`"))?;
        let reference = &after[..end];
        let value = fill_value(choice.lookup(reference)?, choice, depth + 1)?;
        out.push_str(&as_text(&value, reference)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn as_text(value: &Value, reference: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!(
            "`${{{reference}}}` is a {} and cannot go inside a longer string; write it alone: \"${{{reference}}}\"",
            value.type_str()
        )),
    }
}

/// A value as inline TOML, on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Table(table) => {
            let fields: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect();
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        inline(&Value::String(k.to_string()))
    }
}

/// Byte offsets to 1-based lines.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }

    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

#[cfg(test)]
#[path = "matrix_tests.rs"]
mod tests;
