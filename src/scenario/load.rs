//! Reading scenario files: TOML into the model, with errors that name file, line and field.

use super::{Action, DEFAULT_APP_KEY, DEFAULT_PASSWORD, ReplyExpectation, Scenario, Step, World};
use crate::server::{DEFAULT_RECALL_WINDOW_MS, GroupSpec, UserSpec};
use crate::wire::Direction;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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
    /// The file is not valid TOML or does not have the scenario's shape.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (it names line and column).
        message: String,
    },
    /// A step or field is wrong.
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

/// The action keys a step may have, exactly one per step.
const ACTIONS: &[&str] = &[
    "connect",
    "send",
    "recall",
    "history",
    "sessions",
    "download",
    "disconnect",
    "request",
    "event",
    "frame",
    "deliver",
    "advance",
    "server_close",
    "kick",
    "fault",
    "quiet",
];
/// Keys that modify a step.
const MODIFIERS: &[&str] = &["reply", "as", "timeout_ms"];

/// A scenario's `guide`, as text: the string itself, or each citation as `L<lines> "<quote>"`.
fn guide_text(guide: &toml::Value) -> String {
    match guide {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(list) => list
            .iter()
            .map(|c| {
                let field = |k: &str| c.get(k).and_then(toml::Value::as_str).unwrap_or_default();
                format!("L{} {:?}", field("lines"), field("quote"))
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    purpose: String,
    /// The old free text, or the citation list of PLAN's shared format
    /// (`[{ lines = "267", quote = "..." }]`), shown as `L267 "..."`.
    guide: toml::Value,
    #[serde(default)]
    killed_by: Vec<String>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    world: WorldModel,
    #[serde(default, rename = "step")]
    steps: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorldModel {
    app_key: Option<String>,
    #[serde(default)]
    users: BTreeMap<String, UserModel>,
    #[serde(default)]
    groups: BTreeMap<String, GroupModel>,
    #[serde(default)]
    rooms: BTreeMap<String, GroupModel>,
    #[serde(default)]
    sensitive_words: Vec<String>,
    #[serde(default)]
    callback_rejects: Vec<String>,
    recall_window_s: Option<u64>,
    recall_enabled: Option<bool>,
    roaming_page_size: Option<usize>,
    #[serde(default)]
    lz4: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserModel {
    password: Option<String>,
    #[serde(default)]
    token_expired: bool,
    #[serde(default)]
    blocks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupModel {
    owner: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    muted: Vec<String>,
    white_list: Option<Vec<String>>,
}

impl WorldModel {
    /// The server's world, or what is wrong with this description.
    fn into_spec(self) -> Result<World, String> {
        let users: BTreeMap<String, UserSpec> = self
            .users
            .into_iter()
            .map(|(name, u)| {
                let user = UserSpec {
                    password: u.password.unwrap_or_else(|| DEFAULT_PASSWORD.to_string()),
                    token_expired: u.token_expired,
                    blocks: u.blocks,
                };
                (name, user)
            })
            .collect();
        let known = |who: &str, field: &str| -> Result<(), String> {
            if users.contains_key(who) {
                Ok(())
            } else {
                Err(format!(
                    "{field} names `{who}`, who is not in [world.users] (known: {})",
                    users.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            }
        };
        for (name, user) in &users {
            for blocked in &user.blocks {
                known(blocked, &format!("world.users.{name}.blocks"))?;
            }
        }
        let convert = |kind: &str, models: BTreeMap<String, GroupModel>| {
            let mut specs = BTreeMap::new();
            for (id, g) in models {
                let field = format!("world.{kind}.{id}");
                known(&g.owner, &format!("{field}.owner"))?;
                for who in g
                    .members
                    .iter()
                    .chain(&g.muted)
                    .chain(g.white_list.iter().flatten())
                {
                    known(who, &field)?;
                }
                specs.insert(
                    id,
                    GroupSpec {
                        owner: g.owner,
                        members: g.members,
                        muted: g.muted,
                        white_list: g.white_list,
                    },
                );
            }
            Ok::<_, String>(specs)
        };
        let groups = convert("groups", self.groups)?;
        let rooms = convert("rooms", self.rooms)?;
        if let Some(id) = groups.keys().find(|id| rooms.contains_key(*id)) {
            return Err(format!(
                "`{id}` is both in [world.groups] and [world.rooms]; ids share one namespace"
            ));
        }
        let app_key = self.app_key.unwrap_or_else(|| DEFAULT_APP_KEY.to_string());
        if !app_key.contains('#') {
            return Err(format!(
                "world.app_key {app_key:?} is not of the form org#app"
            ));
        }
        Ok(World {
            app_key,
            users,
            groups,
            rooms,
            sensitive_words: self.sensitive_words,
            callback_rejects: self.callback_rejects,
            recall_window_ms: self
                .recall_window_s
                .map_or(DEFAULT_RECALL_WINDOW_MS, |s| s.saturating_mul(1000)),
            recall_enabled: self.recall_enabled.unwrap_or(true),
            roaming_page_size: self
                .roaming_page_size
                .unwrap_or(crate::server::DEFAULT_ROAMING_PAGE_SIZE),
            lz4: self.lz4,
        })
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

/// Loads and validates one scenario file.
pub fn load_file(id: &str, path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(id, path, &text)
}

/// Loads and validates a scenario from its text; `path` is used in errors.
pub fn load_str(id: &str, path: &Path, text: &str) -> Result<Scenario, LoadError> {
    let file: FileModel = toml::from_str(text).map_err(|e| LoadError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let invalid = |line: usize, message: String| LoadError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };

    if file.purpose.trim().is_empty() {
        return Err(invalid(
            1,
            "`purpose` is empty: say in one line what this checks".into(),
        ));
    }
    let world = file
        .world
        .into_spec()
        .map_err(|message| invalid(line_of(text.find("[world").unwrap_or(0)), message))?;

    let mut steps = Vec::new();
    let mut saved = BTreeSet::new();
    for (index, spanned) in file.steps.iter().enumerate() {
        // The span starts at the step's `[[step]]` header.
        let line = line_of(spanned.span().start);
        let step = parse_step(spanned.get_ref(), &world, &saved)
            .map_err(|message| invalid(line, format!("step {}: {message}", index + 1)))?;
        if let Some(name) = &step.save_as {
            saved.insert(name.clone());
        }
        steps.push(Step { line, ..step });
    }
    if steps.is_empty() {
        return Err(invalid(1, "no steps: add at least one [[step]]".into()));
    }
    Ok(Scenario {
        id: id.to_string(),
        path: path.to_path_buf(),
        purpose: file.purpose,
        guide: guide_text(&file.guide),
        killed_by: file.killed_by,
        world,
        step_timeout: file.timeout_ms.map(Duration::from_millis),
        steps,
    })
}

fn parse_step(
    table: &toml::Table,
    world: &World,
    saved: &BTreeSet<String>,
) -> Result<Step, String> {
    for key in table.keys() {
        if !ACTIONS.contains(&key.as_str()) && !MODIFIERS.contains(&key.as_str()) {
            return Err(format!(
                "unknown key `{key}`; a step has one of {} and optionally {}",
                ACTIONS.join(", "),
                MODIFIERS.join(", ")
            ));
        }
    }
    let actions: Vec<&str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| table.contains_key(*a))
        .collect();
    let kind = match actions.as_slice() {
        [one] => *one,
        [] => return Err(format!("no action; expected one of {}", ACTIONS.join(", "))),
        many => {
            return Err(format!(
                "more than one action ({}); split it into steps",
                many.join(", ")
            ));
        }
    };
    let value = json(&table[kind]);
    check_templates(&value, saved)?;
    let user_exists = |user: &str| -> Result<(), String> {
        if world.users.contains_key(user) {
            Ok(())
        } else {
            let known = world.users.keys().cloned().collect::<Vec<_>>().join(", ");
            Err(if known.is_empty() {
                format!("user `{user}` is not in [world.users], which is empty")
            } else {
                format!("user `{user}` is not in [world.users] (known: {known})")
            })
        }
    };
    let timeout = match table.get("timeout_ms") {
        None => None,
        Some(toml::Value::Integer(ms)) if *ms > 0 => Some(Duration::from_millis(*ms as u64)),
        Some(_) => return Err("`timeout_ms` must be a positive integer (milliseconds)".into()),
    };
    let save_as = match table.get("as") {
        None => None,
        Some(toml::Value::String(name)) if is_name(name) => Some(name.clone()),
        Some(_) => return Err("`as` must be a name of letters, digits and `_`".into()),
    };
    let reply = match table.get("reply") {
        None => None,
        Some(reply) => Some(parse_reply(&json(reply))?),
    };
    if reply.is_some() && !is_request(kind) {
        return Err(format!(
            "`reply` only goes with a request step, not `{kind}`"
        ));
    }

    let action = match kind {
        "connect" | "disconnect" | "sessions" if value.is_string() => {
            let user = value.as_str().unwrap_or_default().to_string();
            user_exists(&user)?;
            request(kind, Some(user), Value::Object(Default::default()), reply)
        }
        "connect" | "send" | "recall" | "history" | "sessions" | "download" | "disconnect" => {
            let mut args = object(&value, kind)?;
            let user = take_string(&mut args, "user", kind)?;
            user_exists(&user)?;
            request(kind, Some(user), Value::Object(args), reply)
        }
        "request" => {
            let mut args = object(&value, kind)?;
            let op = take_string(&mut args, "op", kind)?;
            let user = args.remove("user").and_then(|u| u.as_str().map(String::from));
            if let Some(user) = &user {
                user_exists(user)?;
            }
            let inner = args.remove("args").unwrap_or(Value::Object(Default::default()));
            if let Some(extra) = args.keys().next() {
                return Err(format!("`request` takes op, user and args, not `{extra}`"));
            }
            request(&op, user, inner, reply)
        }
        "event" => {
            let mut args = object(&value, kind)?;
            let user = take_string(&mut args, "user", kind)?;
            user_exists(&user)?;
            let name = take_string(&mut args, "name", kind)?;
            let data = args.remove("data");
            no_more(&args, kind, "user, name and data")?;
            Action::Event { user, name, data }
        }
        "frame" => {
            let mut args = object(&value, kind)?;
            let user = args.remove("user").and_then(|u| u.as_str().map(String::from));
            if let Some(user) = &user {
                user_exists(user)?;
            }
            let direction = match take_string(&mut args, "dir", kind)?.as_str() {
                "c2s" => Direction::ClientToServer,
                "s2c" => Direction::ServerToClient,
                other => return Err(format!("`frame.dir` is {other:?}; expected \"c2s\" or \"s2c\"")),
            };
            let matches = args
                .remove("match")
                .ok_or("`frame` needs `match`, a partial canonical view of the frame")?;
            no_more(&args, kind, "user, dir and match")?;
            Action::Frame { user, direction, matches }
        }
        "deliver" => {
            let args = object(&value, kind)?;
            for key in ["from", "to", "type"] {
                if !args.get(key).is_some_and(Value::is_string) {
                    return Err(format!("`deliver` needs `{key}` (a string)"));
                }
            }
            let to = args["to"].as_str().unwrap_or_default();
            match args.get("chatType").and_then(Value::as_str).unwrap_or("singleChat") {
                "singleChat" => user_exists(to)?,
                "groupChat" if world.groups.contains_key(to) => {}
                "chatRoom" if world.rooms.contains_key(to) => {}
                "groupChat" => return Err(format!("`deliver.to` names group `{to}`, which is not in [world.groups]")),
                "chatRoom" => return Err(format!("`deliver.to` names chat room `{to}`, which is not in [world.rooms]")),
                other => return Err(format!("`deliver.chatType` is {other:?}; expected \"singleChat\", \"groupChat\" or \"chatRoom\"")),
            }
            Action::Deliver { message: Value::Object(args) }
        }
        "advance" => Action::Advance { by: duration(&value).ok_or(
            "`advance` takes a duration: milliseconds as an integer, or a string like \"120s\", \"2m\", \"500ms\"",
        )? },
        "server_close" => {
            let mut args = object(&value, kind)?;
            let user = take_string(&mut args, "user", kind)?;
            user_exists(&user)?;
            let code = match args.remove("code") {
                None => 3000,
                Some(code) => code.as_u64().filter(|c| *c <= u16::MAX as u64).ok_or("`code` must be a SockJS close code")? as u16,
            };
            let reason = args.remove("reason").and_then(|r| r.as_str().map(String::from)).unwrap_or_else(|| "Go away!".into());
            no_more(&args, kind, "user, code and reason")?;
            Action::ServerClose { user, code, reason }
        }
        "kick" => {
            let mut args = object(&value, kind)?;
            let user = take_string(&mut args, "user", kind)?;
            user_exists(&user)?;
            let operation = take_string(&mut args, "operation", kind)?;
            no_more(&args, kind, "user and operation")?;
            Action::Kick { user, operation }
        }
        "fault" => {
            let mut args = object(&value, kind)?;
            let user = args.remove("user").and_then(|u| u.as_str().map(String::from));
            if let Some(user) = &user {
                user_exists(user)?;
            }
            let on = take_string(&mut args, "on", kind)?;
            if !["provision", "unread", "message", "history", "upload", "download"].contains(&on.as_str()) {
                return Err(format!(
                    "`fault.on` is {on:?}; expected provision, unread, message, history, upload or download"
                ));
            }
            let http = on == "upload" || on == "download";
            let action = take_string(&mut args, "action", kind)?;
            if !["status", "drop", "delay", "close"].contains(&action.as_str()) {
                return Err(format!(
                    "`fault.action` is {action:?}; expected status, drop, delay or close"
                ));
            }
            let code = args.remove("code").and_then(|c| c.as_i64());
            if (action == "status" || action == "close") && code.is_none() {
                return Err(format!("`fault` with action {action:?} needs an integer `code`"));
            }
            let delay = match args.remove("ms") {
                Some(ms) => Some(duration(&ms).ok_or(
                    "`fault.ms` takes a duration: milliseconds as an integer, or a string like \"5s\"",
                )?),
                None => None,
            };
            if action == "delay" && (delay.is_none() || on != "message") {
                return Err("`fault` with action \"delay\" needs `on = \"message\"` and `ms` (virtual time the answer is held)".into());
            }
            let reason = args.remove("reason").and_then(|r| r.as_str().map(String::from));
            let body = args.remove("body");
            if http && action != "status" {
                return Err(format!("`fault` on {on} takes action \"status\" (an HTTP answer), not {action:?}"));
            }
            if http && !code.is_some_and(|c| (100..=599).contains(&c)) {
                return Err(format!("`fault` on {on} needs `code`, an HTTP status (100-599)"));
            }
            if !http && body.is_some() {
                return Err(format!("`fault.body` goes with on = \"upload\" or \"download\", not {on:?}"));
            }
            no_more(&args, kind, "user, on, action, code, ms, reason and body")?;
            Action::Fault { user, on, action, code, reason, delay, body }
        }
        "quiet" => {
            let mut args = object(&value, kind)?;
            let user = take_string(&mut args, "user", kind)?;
            user_exists(&user)?;
            let window = match args.remove("ms") {
                None => Duration::from_millis(300),
                Some(ms) => Duration::from_millis(ms.as_u64().ok_or("`quiet.ms` must be an integer")?),
            };
            no_more(&args, kind, "user and ms")?;
            Action::Quiet { user, window }
        }
        other => unreachable!("action list and match disagree on {other}"),
    };
    Ok(Step {
        line: 0,
        action,
        timeout,
        save_as,
    })
}

fn request(op: &str, user: Option<String>, args: Value, reply: Option<ReplyExpectation>) -> Action {
    Action::Request {
        op: op.to_string(),
        user,
        args,
        reply: reply.unwrap_or(ReplyExpectation::Ok(None)),
    }
}

fn is_request(kind: &str) -> bool {
    matches!(
        kind,
        "connect"
            | "send"
            | "recall"
            | "history"
            | "sessions"
            | "download"
            | "disconnect"
            | "request"
    )
}

fn parse_reply(reply: &Value) -> Result<ReplyExpectation, String> {
    if reply.as_str() == Some("none") {
        return Ok(ReplyExpectation::None);
    }
    let object = reply
        .as_object()
        .ok_or("`reply` must be a table like { ok = true }, or \"none\"")?;
    for key in object.keys() {
        if !["ok", "result", "error"].contains(&key.as_str()) {
            return Err(format!(
                "`reply` has `{key}`; it takes ok, result and error"
            ));
        }
    }
    match object.get("ok").and_then(Value::as_bool) {
        Some(true) if object.contains_key("error") => {
            Err("`reply` with ok = true cannot have `error`".into())
        }
        Some(true) => Ok(ReplyExpectation::Ok(object.get("result").cloned())),
        Some(false) if object.contains_key("result") => {
            Err("`reply` with ok = false cannot have `result`".into())
        }
        Some(false) => Ok(ReplyExpectation::Err(object.get("error").cloned())),
        None => Err("`reply` needs `ok = true` or `ok = false`".into()),
    }
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

fn json(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn object(value: &Value, kind: &str) -> Result<serde_json::Map<String, Value>, String> {
    value.as_object().cloned().ok_or_else(|| {
        format!("`{kind}` must be a table, like {kind} = {{ user = \"alice\", ... }}")
    })
}

fn take_string(
    args: &mut serde_json::Map<String, Value>,
    key: &str,
    kind: &str,
) -> Result<String, String> {
    match args.remove(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("`{kind}.{key}` must be a string")),
        None => Err(format!("`{kind}` needs `{key}`")),
    }
}

fn no_more(args: &serde_json::Map<String, Value>, kind: &str, allowed: &str) -> Result<(), String> {
    match args.keys().next() {
        Some(extra) => Err(format!("`{kind}` takes {allowed}, not `{extra}`")),
        None => Ok(()),
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `120000`, `"120s"`, `"2m"`, `"500ms"`.
fn duration(value: &Value) -> Option<Duration> {
    if let Some(ms) = value.as_u64() {
        return Some(Duration::from_millis(ms));
    }
    let text = value.as_str()?.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Scenario, LoadError> {
        load_str("area/name", Path::new("scenarios/area/name.toml"), text)
    }

    const HEAD: &str = "purpose = \"p\"\nguide = \"g\"\n[world.users]\nalice = {}\n";

    #[test]
    fn a_minimal_scenario_loads() {
        let s = load(&format!(
            "{HEAD}[[step]]\nconnect = \"alice\"\n\n[[step]]\ndisconnect = \"alice\"\n"
        ))
        .unwrap();
        assert_eq!(s.steps.len(), 2);
        assert_eq!((s.steps[0].line, s.steps[1].line), (5, 8));
        assert_eq!(s.world.users["alice"].password, DEFAULT_PASSWORD);
    }

    #[test]
    fn groups_rooms_and_rules_load() {
        let s = load(&format!(
            "{HEAD}bob = {{ blocks = [\"alice\"] }}\n[world]\nsensitive_words = [\"x\"]\nrecall_window_s = 5\n\
             [world.groups.g1]\nowner = \"alice\"\nmembers = [\"bob\"]\n\
             [world.rooms.r1]\nowner = \"bob\"\nwhite_list = [\"alice\"]\n\
             [[step]]\nconnect = \"alice\"\n"
        ))
        .unwrap();
        assert_eq!(s.world.users["bob"].blocks, ["alice"]);
        assert!(s.world.groups["g1"].has_member("bob"));
        assert_eq!(s.world.rooms["r1"].white_list, Some(vec!["alice".into()]));
        assert_eq!(
            (s.world.recall_window_ms, s.world.recall_enabled),
            (5000, true)
        );

        let err = load(&format!(
            "{HEAD}[world.groups.g1]\nowner = \"alice\"\nmembers = [\"zed\"]\n[[step]]\nconnect = \"alice\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("world.groups.g1 names `zed`"), "{err}");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let err = load(&format!("{HEAD}[[step]]\nconnect = \"bob\"\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "scenarios/area/name.toml:5: step 1: user `bob` is not in [world.users] (known: alice)"
        );
        let err = load(&format!("{HEAD}[[step]]\nconect = \"alice\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("scenarios/area/name.toml:5: step 1: unknown key `conect`"),
            "{err}"
        );
        let err = load("purpose = \"p\"\n").unwrap_err().to_string();
        assert!(
            err.contains("scenarios/area/name.toml") && err.contains("guide"),
            "{err}"
        );
        let err = load(&format!(
            "{HEAD}[[step]]\nsend = {{ user = \"alice\", msg = \"{{{{m.id}}}}\" }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("refers to no earlier step"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(
            duration(&Value::from("120s")),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            duration(&Value::from("500ms")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(duration(&Value::from(5)), Some(Duration::from_millis(5)));
        assert_eq!(duration(&Value::from("soon")), None);
    }
}
