//! Reading scenario files: TOML into the typed model (`step`), then the checks that need the
//! whole file (users of the world, `{{name}}` references, fault fields, levels, citations).
//! Every error names the file, the line and the field, with the allowed values.

use super::citation::{Docs, GuideCitation, WireCitation};
use super::step::{
    ChatTypeName, DeliverStep, FaultKind, FaultStep, MessageType, OpArgs, RawAction, RawReply,
    RawStep, StepKind,
};
use super::world::WorldModel;
use super::{Action, Citations, Cited, Level, ReplyExpectation, Scenario, Step, World};
use crate::server::{Fault, FaultAction};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or folder cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML and no line is known.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// A step, field or citation is wrong.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// The new citation form, shown when a file has the old free-text `guide = "..."`.
const CITATION_FORM: &str = "guide = [{ lines = \"62-75\", quote = \"words on those lines\" }] (lines of docs/webim-message-guide.md), and/or wire = [{ section = \"4\", quote = \"...\" }] (a \"## 4.\" section of docs/wire-3.6.3.md; notes = \"4.x\" for docs/wire-4.x.md)";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    purpose: String,
    guide: Option<GuideField>,
    #[serde(default)]
    wire: OneOrMany<WireCitation>,
    #[serde(default)]
    killed_by: Vec<String>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    world: WorldModel,
    emoji: Option<crate::driver::protocol::EmojiMap>,
    #[serde(default, rename = "step")]
    steps: Vec<toml::Spanned<RawStep>>,
}

/// Scenario-level `guide`: one citation table or an array of them. The old free-text
/// `guide = "..."` is refused with a message that shows the new form.
struct GuideField(OneOrMany<GuideCitation>);

impl<'de> Deserialize<'de> for GuideField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GuideField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "guide citations: {CITATION_FORM}")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<GuideField, E> {
                Err(E::custom(format!(
                    "the free-text guide = {text:?} is replaced by checked citations: {CITATION_FORM}"
                )))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<GuideField, A::Error> {
                OneOrMany::visit(seq).map(GuideField)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GuideField, A::Error> {
                GuideCitation::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|c| GuideField(OneOrMany(vec![(None, c)])))
            }
        }
        d.deserialize_any(V)
    }
}

/// One citation table or an array of them; array items keep their place in the file.
struct OneOrMany<T>(Vec<(Option<std::ops::Range<usize>>, T)>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<T: for<'a> Deserialize<'a>> OneOrMany<T> {
    fn visit<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<toml::Spanned<T>>()? {
            let span = item.span();
            items.push((Some(span), item.into_inner()));
        }
        Ok(OneOrMany(items))
    }
}

impl<'de, T: for<'a> Deserialize<'a>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: for<'a> Deserialize<'a>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a citation table or an array of them: {CITATION_FORM}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OneOrMany<T>, A::Error> {
                OneOrMany::visit(seq)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOrMany<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|c| OneOrMany(vec![(None, c)]))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Finds every `*.toml` scenario under `root` (skipping `README*`), sorted by id.
pub fn discover(root: &Path) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|source| LoadError::Io {
            path: folder.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| LoadError::Io {
                    path: folder.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let relative = path.strip_prefix(root).unwrap_or(&path).with_extension("");
                let id = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((id, path));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Loads and validates one scenario file, checking its citations against the bundled docs.
pub fn load_file(id: &str, path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(id, path, &text)
}

/// Loads the scenarios of one file: the file's own, or, for a matrix (`[matrix]`,
/// `super::matrix`), one per case, each validated as an ordinary scenario file.
pub fn load_cases(id: &str, path: &Path) -> Result<Vec<Scenario>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_cases_str_with(id, path, &text, Docs::bundled())
}

/// [`load_cases`] from the file's text, checking citations against `docs`.
pub fn load_cases_str_with(
    id: &str,
    path: &Path,
    text: &str,
    docs: &Docs,
) -> Result<Vec<Scenario>, LoadError> {
    if !super::matrix::has_matrix(text) {
        return load_str_with(id, path, text, docs).map(|s| vec![s]);
    }
    let cases = super::matrix::expand(id, text).map_err(|(line, message)| LoadError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    })?;
    cases
        .into_iter()
        .map(|case| {
            load_str_with(&case.id, path, &case.text, docs).map_err(|e| match e {
                LoadError::Invalid {
                    path,
                    line,
                    message,
                } => LoadError::Invalid {
                    path,
                    line,
                    message: format!("matrix case {}: {message}", case.id),
                },
                other => other,
            })
        })
        .collect()
}

/// Loads and validates a scenario from its text; `path` is used in errors. Citations are
/// checked against the bundled docs.
pub fn load_str(id: &str, path: &Path, text: &str) -> Result<Scenario, LoadError> {
    load_str_with(id, path, text, Docs::bundled())
}

/// Loads and validates a scenario from its text, checking its citations against `docs`.
pub fn load_str_with(
    id: &str,
    path: &Path,
    text: &str,
    docs: &Docs,
) -> Result<Scenario, LoadError> {
    let lines = Lines(text);
    let invalid = |line: usize, message: String| LoadError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file: FileModel = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => invalid(
            lines.line_of(span.start),
            lines.describe(span.start, e.message()),
        ),
        None => LoadError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        },
    })?;

    if file.purpose.trim().is_empty() {
        return Err(invalid(
            1,
            "`purpose` is empty: say in one line what this checks".into(),
        ));
    }
    let citations = scenario_citations(&file, &lines, docs).map_err(|(l, m)| invalid(l, m))?;
    let world = file
        .world
        .into_spec()
        .map_err(|message| invalid(lines.line_of(text.find("[world").unwrap_or(0)), message))?;

    if let Some(emoji) = &file.emoji {
        let at = lines.line_of(text.find("[emoji").unwrap_or(0));
        if emoji.map.is_empty() {
            return Err(invalid(
                at,
                "`[emoji]` has an empty `map`: give at least one key, as `map = { \"[):]\" = \"ee_1.png\" }`".into(),
            ));
        }
        if let Some(key) = emoji.map.keys().find(|k| k.is_empty()) {
            return Err(invalid(
                at,
                format!("`[emoji].map` has an empty key {key:?}"),
            ));
        }
    }

    let mut steps = Vec::new();
    let mut saved = BTreeSet::from([super::template::SERVER.to_string()]);
    for (index, spanned) in file.steps.into_iter().enumerate() {
        // The span starts at the step's `[[step]]` header.
        let line = lines.line_of(spanned.span().start);
        let step = build_step(
            spanned.into_inner(),
            line,
            &world,
            &saved,
            &citations,
            &lines,
            docs,
        )
        .map_err(|(at, message)| {
            invalid(at.unwrap_or(line), format!("step {}: {message}", index + 1))
        })?;
        if let Some(name) = &step.save_as {
            saved.insert(name.clone());
        }
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(invalid(1, "no steps: add at least one [[step]]".into()));
    }
    Ok(Scenario {
        id: id.to_string(),
        path: path.to_path_buf(),
        purpose: file.purpose,
        citations,
        killed_by: file.killed_by,
        world,
        emoji: file.emoji,
        step_timeout: file.timeout_ms.map(Duration::from_millis),
        steps,
    })
}

/// The text of a scenario file, to turn byte offsets into lines and field names.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.0.len());
        self.0.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// The line of a top-level key (`guide = ...`), for citations written as one table.
    fn key_line(&self, key: &str) -> usize {
        let mut offset = 0;
        for line in self.0.split_inclusive('\n') {
            let t = line.trim_start();
            if t.starts_with('[') {
                break;
            }
            if t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
            {
                return self.line_of(offset);
            }
            offset += line.len();
        }
        1
    }

    /// A serde error at `offset` with where it is: `step 3: `fault.on`: unknown variant ...`.
    fn describe(&self, offset: usize, message: &str) -> String {
        let step = self
            .step_at(offset)
            .map(|n| format!("step {n}: "))
            .unwrap_or_default();
        let field = field_path(self.0, offset)
            .map(|f| format!("`{f}`: "))
            .unwrap_or_default();
        format!("{step}{field}{message}")
    }

    /// The 1-based number of the `[[step]]` that `offset` is in.
    fn step_at(&self, offset: usize) -> Option<usize> {
        let offset = offset.min(self.0.len());
        let end = self.0[offset..]
            .find('\n')
            .map_or(self.0.len(), |i| offset + i);
        let before = &self.0[..end];
        let n = before
            .lines()
            .filter(|l| l.trim_start().starts_with("[[step]]"))
            .count();
        (n > 0).then_some(n)
    }
}

/// The dotted key path of the value or key at `offset` within its line: `fault.on` for the
/// `"mesage"` of `fault = { user = "alice", on = "mesage" }`.
fn field_path(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut stack: Vec<String> = Vec::new();
    let mut last_key: Option<String> = None;
    let mut word = String::new();
    let mut chars = text[start..offset].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                let mut escaped = false;
                for d in chars.by_ref() {
                    if d == c && !escaped {
                        break;
                    }
                    escaped = c == '"' && d == '\\' && !escaped;
                }
                word.clear();
            }
            '=' => {
                let key = word.trim();
                if !key.is_empty() {
                    last_key = Some(key.to_string());
                }
                word.clear();
            }
            '{' => {
                stack.extend(last_key.take());
                word.clear();
            }
            '}' => {
                stack.pop();
                last_key = None;
                word.clear();
            }
            ',' => {
                last_key = None;
                word.clear();
            }
            '[' | ']' => word.clear(),
            c => word.push(c),
        }
    }
    stack.extend(last_key);
    (!stack.is_empty()).then(|| stack.join("."))
}

type Located = (Option<usize>, String);

fn scenario_citations(
    file: &FileModel,
    lines: &Lines,
    docs: &Docs,
) -> Result<Citations, (usize, String)> {
    let mut citations = Citations::default();
    let line = |span: &Option<std::ops::Range<usize>>, key: &str| {
        span.as_ref()
            .map_or_else(|| lines.key_line(key), |s| lines.line_of(s.start))
    };
    if let Some(GuideField(many)) = &file.guide {
        for (span, c) in &many.0 {
            let at = line(span, "guide");
            docs.check_guide(c.lines, &c.quote).map_err(|m| (at, m))?;
            citations.guide.push(Cited {
                line: at,
                citation: c.clone(),
            });
        }
    }
    for (span, c) in &file.wire.0 {
        let at = line(span, "wire");
        docs.check_wire(c.notes, &c.section, &c.quote)
            .map_err(|m| (at, m))?;
        citations.wire.push(Cited {
            line: at,
            citation: c.clone(),
        });
    }
    if citations.guide.is_empty() && citations.wire.is_empty() {
        return Err((
            1,
            format!("the scenario cites nothing; add {CITATION_FORM}"),
        ));
    }
    Ok(citations)
}

fn build_step(
    raw: RawStep,
    line: usize,
    world: &World,
    saved: &BTreeSet<String>,
    scenario: &Citations,
    lines: &Lines,
    docs: &Docs,
) -> Result<Step, Located> {
    let plain = |m: String| (None, m);
    let mut actions = raw.actions;
    let action = match actions.len() {
        1 => actions.remove(0),
        0 => {
            return Err(plain(format!(
                "no action; expected one of {}",
                StepKind::NAMES.join(", ")
            )));
        }
        _ => {
            let names: Vec<&str> = actions.iter().map(|a| a.kind().name()).collect();
            return Err(plain(format!(
                "more than one action ({}); split it into steps",
                names.join(", ")
            )));
        }
    };
    let kind = action.kind();
    let timeout = match raw.timeout_ms {
        None => None,
        Some(0) => {
            return Err(plain(
                "`timeout_ms` must be a positive integer (milliseconds)".into(),
            ));
        }
        Some(ms) => Some(Duration::from_millis(ms)),
    };
    if let Some(name) = &raw.save_as
        && !is_name(name)
    {
        return Err(plain(format!(
            "`as` is {name:?}; it must be a name of letters, digits and `_`"
        )));
    }
    let reply = match raw.reply {
        None => None,
        Some(_) if !kind.is_request() => {
            return Err(plain(format!(
                "`reply` only goes with a request step, not `{}`",
                kind.name()
            )));
        }
        Some(RawReply::None) => Some(ReplyExpectation::None),
        Some(RawReply::Table(t)) => Some(match (t.ok, t.result, t.error) {
            (true, _, Some(_)) => {
                return Err(plain("`reply` with ok = true cannot have `error`".into()));
            }
            (false, Some(_), _) => {
                return Err(plain("`reply` with ok = false cannot have `result`".into()));
            }
            (true, result, None) => ReplyExpectation::Ok(result),
            (false, None, error) => ReplyExpectation::Err(error),
        }),
    };
    let user_exists = |user: &str| -> Result<(), Located> {
        if world.users.contains_key(user) {
            return Ok(());
        }
        let known = world.users.keys().cloned().collect::<Vec<_>>().join(", ");
        Err(plain(if known.is_empty() {
            format!("user `{user}` is not in [world.users], which is empty")
        } else {
            format!("user `{user}` is not in [world.users] (known: {known})")
        }))
    };
    let templates = |value: &Value| check_templates(value, saved).map_err(plain);
    let action = match action {
        RawAction::Op(kind, args) => {
            let op = kind.op().unwrap_or(kind.name()).to_string();
            let (user, args) = match args {
                OpArgs::User(user) => (user, Value::Object(Default::default())),
                OpArgs::Table(mut args) => match args.remove("user") {
                    Some(Value::String(user)) => (user, Value::Object(args)),
                    Some(_) => return Err(plain(format!("`{op}.user` must be a string"))),
                    None => return Err(plain(format!("`{op}` needs `user`"))),
                },
            };
            user_exists(&user)?;
            templates(&args)?;
            Action::Request {
                op,
                user: Some(user),
                args,
                reply: reply.unwrap_or(ReplyExpectation::Ok(None)),
            }
        }
        RawAction::Request(r) => {
            if let Some(user) = &r.user {
                user_exists(user)?;
            }
            let args = r.args.unwrap_or(Value::Object(Default::default()));
            templates(&args)?;
            Action::Request {
                op: r.op,
                user: r.user,
                args,
                reply: reply.unwrap_or(ReplyExpectation::Ok(None)),
            }
        }
        RawAction::Event(e) => {
            user_exists(&e.user)?;
            if let Some(data) = &e.data {
                templates(data)?;
            }
            Action::Event(e)
        }
        RawAction::Frame(f) => {
            if let Some(user) = &f.user {
                user_exists(user)?;
            }
            templates(&f.matches)?;
            Action::Frame(f)
        }
        RawAction::Http(h) => {
            if let Some(user) = &h.user {
                user_exists(user)?;
            }
            templates(&h.matches)?;
            Action::Http(h)
        }
        RawAction::Deliver(d) => {
            check_deliver(&d, world).map_err(plain)?;
            templates(&Value::Object(d.fields.clone()))?;
            Action::Deliver(d)
        }
        RawAction::DeliverRaw(d) => {
            check_recipient("deliver_raw", d.chat_type, &d.to, world).map_err(plain)?;
            let payload = BASE64.decode(d.payload.trim()).map_err(|e| {
                plain(format!(
                    "`deliver_raw.payload` is not standard base64 ({e}); write the bytes as \
                     `base64 -w0` prints them"
                ))
            })?;
            Action::DeliverRaw {
                from: d.from,
                to: d.to,
                chat_type: d.chat_type,
                payload,
            }
        }
        RawAction::Advance(by) => Action::Advance(by.0),
        RawAction::ServerClose(c) => {
            user_exists(&c.user)?;
            Action::ServerClose(c)
        }
        RawAction::Kick(k) => {
            user_exists(&k.user)?;
            Action::Kick {
                user: k.user,
                operation: k.operation.0,
            }
        }
        RawAction::Fault(f) => {
            if let Some(user) = &f.user {
                user_exists(user)?;
            }
            Action::Fault(fault(f).map_err(plain)?)
        }
        RawAction::Quiet(q) => {
            user_exists(&q.user)?;
            Action::Quiet {
                user: q.user,
                window: q.ms.map_or(Duration::from_millis(300), |d| d.0),
            }
        }
    };

    let mut citations = Citations::default();
    if let Some(g) = raw.guide {
        let at = lines.line_of(g.span().start);
        let g = g.into_inner();
        docs.check_guide(g.lines, &g.quote)
            .map_err(|m| (Some(at), format!("`guide`: {m}")))?;
        citations.guide.push(Cited {
            line: at,
            citation: g,
        });
    }
    if let Some(w) = raw.wire {
        let at = lines.line_of(w.span().start);
        let w = w.into_inner();
        docs.check_wire(w.notes, &w.section, &w.quote)
            .map_err(|m| (Some(at), format!("`wire`: {m}")))?;
        citations.wire.push(Cited {
            line: at,
            citation: w,
        });
    }
    let level = match raw.level {
        Some(Level::Wire) if citations.wire.is_empty() && scenario.wire.is_empty() => {
            return Err(plain(
                "level = \"wire\" needs a wire citation: wire = { section = \"4\", quote = \"...\" } on the step, or wire = [...] on the scenario".into(),
            ));
        }
        Some(Level::Guide) if citations.guide.is_empty() && !scenario.cites_guide() => {
            return Err(plain(
                "level = \"guide\" needs a guide citation: guide = { lines = \"62-75\", quote = \"...\" } on the step, or guide = [...] on the scenario".into(),
            ));
        }
        Some(level) => level,
        None if !citations.guide.is_empty() => Level::Guide,
        None if !citations.wire.is_empty() => Level::Wire,
        None if kind == StepKind::Frame => Level::Wire,
        None if scenario.cites_guide() => Level::Guide,
        None => Level::Wire,
    };
    Ok(Step {
        line,
        kind,
        action,
        timeout,
        save_as: raw.save_as,
        level,
        citations,
        timer: raw.timer,
    })
}

/// A `deliver` step's recipient exists as its `chatType` says.
fn check_deliver(d: &DeliverStep, world: &World) -> Result<(), String> {
    check_recipient("deliver", d.chat_type, &d.to, world).and_then(|()| match d.kind {
        MessageType::Read | MessageType::Delivery | MessageType::Recall
            if !d.fields.contains_key("ackMessageId") =>
        {
            Err("`deliver` of a read, delivery or recall needs `ackMessageId`".into())
        }
        _ => Ok(()),
    })
}

/// The recipient `to` of a `step` (`deliver`, `deliver_raw`) exists as its `chatType` says.
fn check_recipient(
    step: &str,
    chat_type: ChatTypeName,
    to: &str,
    world: &World,
) -> Result<(), String> {
    match chat_type {
        ChatTypeName::SingleChat if world.users.contains_key(to) => Ok(()),
        ChatTypeName::SingleChat => Err(format!(
            "`{step}.to` names user `{to}`, who is not in [world.users]"
        )),
        ChatTypeName::GroupChat if world.groups.contains_key(to) => Ok(()),
        ChatTypeName::GroupChat => Err(format!(
            "`{step}.to` names group `{to}`, which is not in [world.groups]"
        )),
        ChatTypeName::ChatRoom if world.rooms.contains_key(to) => Ok(()),
        ChatTypeName::ChatRoom => Err(format!(
            "`{step}.to` names chat room `{to}`, which is not in [world.rooms]"
        )),
    }
}

/// The server's fault for a `fault` step, or which fields do not go together.
fn fault(f: FaultStep) -> Result<Fault, String> {
    let on = f.on.name();
    let action = f.action.name();
    if f.action == FaultKind::Truncate {
        if f.on != super::step::FaultOn::Download
            || f.code.is_some()
            || f.ms.is_some()
            || f.reason.is_some()
            || f.body.is_some()
        {
            return Err(
                "`fault` with action \"truncate\" takes on = \"download\" and user only".into(),
            );
        }
        return Ok(Fault {
            user: f.user,
            on: f.on.trigger(),
            action: FaultAction::Truncate,
        });
    }
    if f.on.is_http() {
        if f.action != FaultKind::Status {
            return Err(format!(
                "`fault` on {on} takes action \"status\" (an HTTP answer; \"truncate\" on download), not {action:?}"
            ));
        }
        let status = f
            .code
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("`fault` on {on} needs `code`, an HTTP status (100-599)"))?;
        if f.ms.is_some() || f.reason.is_some() {
            return Err(format!(
                "`fault` on {on} takes user, on, action, code and body"
            ));
        }
        return Ok(Fault {
            user: f.user,
            on: f.on.trigger(),
            action: FaultAction::Http {
                status: status as u16,
                body: f.body.unwrap_or(Value::Null),
            },
        });
    }
    if f.body.is_some() {
        return Err(format!(
            "`fault.body` goes with on = \"upload\" or \"download\", not {on:?}"
        ));
    }
    if f.ms.is_some() && f.action != FaultKind::Delay {
        return Err(format!(
            "`fault.ms` goes with action \"delay\", not {action:?}"
        ));
    }
    let action = match f.action {
        FaultKind::Status => FaultAction::Status {
            code: f
                .code
                .and_then(|c| i32::try_from(c).ok())
                .ok_or("`fault` with action \"status\" needs `code`, a Status.errorCode (an HTTP status for on = \"history\")")?,
            reason: f.reason,
        },
        FaultKind::Drop => FaultAction::Drop,
        FaultKind::Delay => {
            let ms = f.ms.filter(|_| f.on == super::step::FaultOn::Message).ok_or(
                "`fault` with action \"delay\" needs `on = \"message\"` and `ms` (virtual time the answer is held)",
            )?;
            FaultAction::Delay { ms: ms.0.as_millis() as u64 }
        }
        FaultKind::Close => FaultAction::Close {
            code: f
                .code
                .and_then(|c| u16::try_from(c).ok())
                .ok_or("`fault` with action \"close\" needs `code`, a close code (0-65535)")?,
            reason: f.reason.unwrap_or_else(|| "Go away!".into()),
        },
        // returned above
        FaultKind::Truncate => FaultAction::Truncate,
    };
    Ok(Fault {
        user: f.user,
        on: f.on.trigger(),
        action,
    })
}

fn check_templates(value: &Value, saved: &BTreeSet<String>) -> Result<(), String> {
    match value {
        Value::String(s) => {
            for name in super::template::references(s) {
                if !saved.contains(name) {
                    return Err(format!(
                        "`{{{{{name}...}}}}` refers to no earlier step; name a step with `as = \"{name}\"` first"
                    ));
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_templates(v, saved)),
        Value::Object(map) => map.values().try_for_each(|v| check_templates(v, saved)),
        _ => Ok(()),
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
