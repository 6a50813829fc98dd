//! A shrunk finding written as a regular scenario file (`scenarios/fuzz-regressions/`), its
//! snapshot recorded with the reference client, and its `killed_by` found by running it
//! against the reference client's fault switches, so it runs in every later suite and reads
//! like any other case.
//!
//! Owns the TOML text and that bookkeeping; must not run fuzz cases.

use super::FuzzError;
use super::campaign::Finding;
use super::case::{Body, Case, HostileCase, ValidCase, Way};
use crate::runner::{self, ClientSpec, RunConfig, Verdict, expected::ExpectedFailures};
use crate::wire::keyvalue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Switches tried for `killed_by` of a valid case (those a value-carrying case can catch).
pub const CANDIDATE_FAULTS: [&str; 3] = ["wrong-ext-type", "drop-ext", "wrong-text"];
/// Switches tried for `killed_by` of a hostile case (those a message after it can catch).
pub const HOSTILE_CANDIDATE_FAULTS: [&str; 2] = ["stall-on-bad-payload", "wrong-text"];

/// Where and how a regression is written.
#[derive(Debug, Clone)]
pub struct Target {
    /// The scenarios root (`scenarios`); files go to `<root>/fuzz-regressions/`.
    pub scenarios: PathBuf,
    /// The snapshots folder.
    pub snapshots: PathBuf,
    /// The `imspec` executable, for the reference client.
    pub exe: PathBuf,
    /// The command line that found it, for the comment.
    pub command: String,
}

/// A written regression.
#[derive(Debug, Clone)]
pub struct Written {
    /// The scenario id.
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// The switches that make it fail.
    pub killed_by: Vec<String>,
    /// Whether it passes against the reference client without faults.
    pub passes_reference: bool,
    /// Whether it fails on its own against the client the campaign ran (a finding that needs
    /// the campaign session's history does not).
    pub fails_against_client: bool,
}

/// The reference client, with `faults`.
pub fn reference(exe: &Path, faults: &str) -> ClientSpec {
    ClientSpec {
        command: format!("exec {} driver", shell_words::quote(&exe.to_string_lossy())),
        env: vec![("IMSPEC_FAULTS".into(), faults.into())],
        label: format!("reference client (faults: {faults})"),
    }
}

/// Writes `finding` as `<name>.toml`, records its snapshot with the reference client, fills in
/// `killed_by`, and runs it against `client` (the campaign's).
pub async fn write(
    finding: &Finding,
    name: &str,
    target: &Target,
    client: &ClientSpec,
) -> Result<Written, FuzzError> {
    let id = format!("fuzz-regressions/{name}");
    let path = target.scenarios.join(format!("{id}.toml"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| FuzzError::Io(dir.to_path_buf(), e))?;
    }
    let text = |killed_by: &[String]| match &finding.case {
        Case::Valid(case) => scenario_text(finding, case, killed_by, &target.command),
        Case::Hostile(case) => match case.as_delivered() {
            // past the limit, and handed to the app: the values are what is checked
            Some(delivered) => scenario_text(finding, &delivered, killed_by, &target.command),
            None => hostile_text(finding, case, killed_by, &target.command),
        },
    };
    let candidates: &[&str] = match &finding.case {
        Case::Valid(_) => &CANDIDATE_FAULTS,
        Case::Hostile(_) => &HOSTILE_CANDIDATE_FAULTS,
    };
    let save = |t: String| std::fs::write(&path, t).map_err(|e| FuzzError::Io(path.clone(), e));
    save(text(&[])?)?;
    let run = |client: ClientSpec, update: bool| {
        let config = RunConfig {
            level: crate::scenario::Level::Wire,
            client,
            step_timeout: Duration::from_secs(5),
            snapshots: target.snapshots.clone(),
            update_snapshots: update,
            pending_snapshots: false,
            require_snapshots: false,
            jobs: 1,
            expected: ExpectedFailures::default(),
        };
        let scenarios = runner::select(&target.scenarios, std::slice::from_ref(&id));
        async move {
            let scenarios = scenarios.map_err(|e| FuzzError::Setup(e.to_string()))?;
            let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
            let runs = runner::run_all(scenarios, &config, tx).await;
            Ok::<_, FuzzError>(runs.first().map(|r| r.verdict))
        }
    };
    let reference = |faults: &str| reference(&target.exe, faults);
    run(reference(""), true).await?;
    let passes_reference = run(reference(""), false).await? == Some(Verdict::Pass);
    let mut killed_by = Vec::new();
    for fault in candidates {
        if run(reference(fault), false).await? == Some(Verdict::Fail) {
            killed_by.push(fault.to_string());
        }
    }
    save(text(&killed_by)?)?;
    let fails_against_client = run(client.clone(), false).await? == Some(Verdict::Fail);
    Ok(Written {
        id,
        path,
        killed_by,
        passes_reference,
        fails_against_client,
    })
}

/// A regression's keys before its steps: `purpose`, `killed_by`, the citations and the world.
fn head(purpose: &str, killed_by: &[String], citations: &str) -> Result<String, FuzzError> {
    let mut out = String::new();
    let mut head = toml::Table::new();
    head.insert("purpose".into(), purpose.into());
    head.insert(
        "killed_by".into(),
        toml::Value::Array(killed_by.iter().map(|k| k.as_str().into()).collect()),
    );
    out.push_str(&toml::to_string(&head).map_err(|e| FuzzError::Toml(e.to_string()))?);
    out.push_str(citations);
    out.push_str(WORLD);
    Ok(out)
}

/// The comment that opens a regression: the command, the case, what happened.
fn found_by(finding: &Finding, command: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Found by `{command}` at case {} (shrunk by proptest); the seed alone reproduces it.\n",
        finding.at_case
    ));
    for line in format!("{}: {}", finding.signature, finding.message).lines() {
        out.push_str(&format!("# {}\n", truncate(line, 300)));
    }
    out
}

/// The text of a `[[step]]` table with these keys.
fn step_table(pairs: &[(&str, Value)]) -> Result<String, FuzzError> {
    let mut out = String::from("\n[[step]]\n");
    for (k, v) in pairs {
        out.push_str(&format!("{k} = {}\n", inline(v)?));
    }
    Ok(out)
}

/// The text of a probe: a plain text from the scripted peer `probe` to bob, which must reach
/// the app after whatever came before it.
const PROBE_TEXT: &str = "probe after the hostile body";

/// The scenario file of a hostile case: bob gets the body as it is (`deliver_raw`), then a
/// plain text, which must still reach him. What the SDK does with the body itself (`onError`,
/// nothing) is the transcript's, compared with the snapshot.
fn hostile_text(
    finding: &Finding,
    case: &HostileCase,
    killed_by: &[String],
    command: &str,
) -> Result<String, FuzzError> {
    let purpose = format!(
        "Fuzz regression: after a hostile {} body ({}, {}), the next message still reaches the app",
        case.base.body.kind(),
        truncate(&format!("{:?}", case.kind), 60),
        case.base.chat.sdk_name()
    );
    let mut out = found_by(finding, command);
    out.push_str(&head(&purpose, killed_by, HOSTILE_CITATIONS)?);
    out.push_str(&step_table(&[("connect", json!("bob"))])?);
    let payload = BASE64.encode(case.payload());
    out.push_str(&step_table(&[
        (
            "deliver_raw",
            json!({"from": case.base.sender(), "to": case.base.chat.to(),
                   "chatType": case.base.chat.sdk_name(), "payload": payload}),
        ),
        ("as", json!("hostile")),
    ])?);
    // bob is done with it (he acks its key, wire notes 3.8) before the probe comes: the two
    // messages' frames then come in one order
    out.push_str(&step_table(&[(
        "frame",
        json!({"user": "bob", "dir": "c2s",
               "match": {"payload": {"CommSyncUL": {"key": "{{hostile.serverMsgId}}"}}}}),
    )])?);
    out.push_str(&step_table(&[
        (
            "deliver",
            json!({"from": "probe", "to": "bob", "type": "txt", "msg": PROBE_TEXT}),
        ),
        ("as", json!("probe")),
    ])?);
    out.push_str(&step_table(&[(
        "event",
        json!({"user": "bob", "name": "onTextMessage", "data": {
            "id": "{{probe.serverMsgId}}", "from": "probe", "to": "bob", "data": PROBE_TEXT}}),
    )])?);
    Ok(out)
}

/// What a hostile regression checks: the wire notes' rule that a message which does not decode
/// gives an error and leaves the connection as it was, and the guide's text callback.
const HOSTILE_CITATIONS: &str = "guide = [{ lines = \"568\", quote = \"//Receive text message\" }]\nwire = [{ section = \"7\", quote = \"The connection stays open.\" }, { section = \"3\", quote = \"then sends `CommSyncUL{queue, key:nextKey}`\" }]\n";

/// The scenario file of a valid case.
fn scenario_text(
    finding: &Finding,
    case: &ValidCase,
    killed_by: &[String],
    command: &str,
) -> Result<String, FuzzError> {
    let mut out = found_by(finding, command);
    if !case.wire_only.is_empty() {
        out.push_str("# Left out: ext entries JSON cannot express (NaN, FLOAT, UINT, LLINT).\n");
    }
    let direction = match case.way {
        Way::ServerToClient => "delivered by the server",
        Way::ClientToServer => "sent by the client",
    };
    let past_limit = match finding.case {
        // no real server delivers it: the client may refuse it, but not corrupt it
        Case::Hostile(_) => " past the service's message limit (hostile input)",
        Case::Valid(_) => "",
    };
    let purpose = format!(
        "Fuzz regression: a {} message{past_limit} {direction} ({}) reaches the app with every value intact",
        case.body.kind(),
        case.chat.sdk_name()
    );
    out.push_str(&head(&purpose, killed_by, CITATIONS)?);
    let step = |out: &mut String, pairs: &[(&str, Value)]| -> Result<(), FuzzError> {
        out.push_str(&step_table(pairs)?);
        Ok(())
    };
    step(&mut out, &[("connect", json!("alice"))])?;
    step(&mut out, &[("connect", json!("bob"))])?;
    let body = case.message_body();
    let content = &body.contents[0];
    let expected = case
        .expected_event(&body.ext, &content.custom_exts)
        .map_err(FuzzError::NotExpressible)?;
    let mut event = json!({"user": "bob", "name": case.body.events()[0], "data": expected});
    match case.way {
        Way::ServerToClient => {
            let mut deliver = case.body.options();
            deliver.insert("from".into(), json!(case.from));
            deliver.insert("to".into(), json!(case.chat.to()));
            deliver.insert("chatType".into(), json!(case.chat.sdk_name()));
            deliver.insert("ext".into(), Value::Object(case.ext.clone()));
            step(
                &mut out,
                &[("deliver", Value::Object(deliver)), ("as", json!("sent"))],
            )?;
        }
        Way::ClientToServer => {
            let mut send = Map::new();
            send.insert("user".into(), json!("alice"));
            send.extend(case.send_args().as_object().cloned().unwrap_or_default());
            step(
                &mut out,
                &[("send", Value::Object(send)), ("as", json!("sent"))],
            )?;
            let mut mb = Map::new();
            if !body.ext.is_empty() {
                mb.insert("ext".into(), kv_types(&case.ext));
            }
            if let Body::Custom { exts, .. } = &case.body
                && !exts.is_empty()
            {
                mb.insert("contents".into(), json!([{"customExts": kv_types(exts)}]));
            }
            let matcher =
                json!({"payload": {"CommSyncUL": {"meta": {"payload": {"MessageBody": mb}}}}});
            step(
                &mut out,
                &[(
                    "frame",
                    json!({"user": "alice", "dir": "c2s", "match": matcher}),
                )],
            )?;
        }
    }
    if let Some(data) = event.get_mut("data").and_then(Value::as_object_mut) {
        data.insert("id".into(), json!("{{sent.serverMsgId}}"));
    }
    step(&mut out, &[("event", event)])?;
    Ok(out)
}

/// What a regression checks: the guide's `ext` of a send, and the wire notes' typing of
/// `ext` (and `customExts`) as KeyValue.
const CITATIONS: &str = "guide = [{ lines = \"75-80\", quote = \"Extend message\" }]\nwire = [{ section = \"4\", quote = \"same typing as ext\" }]\n";

const WORLD: &str = "\n[world.users]\nalice = {}\nbob = {}\n\n[world.groups.g1]\nowner = \"alice\"\nmembers = [\"bob\"]\n\n[world.rooms.r1]\nowner = \"alice\"\nmembers = [\"bob\"]\n";

/// `[{key, type}]` of an object typed as the SDK types it.
fn kv_types(object: &Map<String, Value>) -> Value {
    Value::Array(
        keyvalue::encode_object(object)
            .iter()
            .map(|kv| {
                let t = kv
                    .r#type
                    .and_then(|t| crate::wire::pb::key_value::ValueType::try_from(t).ok())
                    .map_or("", |t| t.as_str_name());
                json!({"key": kv.key, "type": t})
            })
            .collect(),
    )
}

/// A JSON value as an inline TOML value (`null` as `"<null>"`).
fn inline(value: &Value) -> Result<String, FuzzError> {
    Ok(to_toml(value)?.to_string())
}

fn to_toml(value: &Value) -> Result<toml::Value, FuzzError> {
    Ok(match value {
        Value::Null => toml::Value::String("<null>".into()),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(to_toml).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => {
            let mut t = toml::Table::new();
            for (k, v) in map {
                t.insert(k.clone(), to_toml(v)?);
            }
            toml::Value::Table(t)
        }
    })
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
