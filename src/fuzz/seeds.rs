//! Seed corpora of the `cargo fuzz` targets (`targets.rs`), made from the bundled snapshots'
//! frames and driver lines and from the scenario files, in each target's input format. They
//! are committed under `fuzz/corpus/<target>/`, one file per seed named after its content;
//! `cargo test --lib -- --ignored write_the_seed_corpora` writes them again.
//!
//! A snapshot holds frames as canonical views with placeholders (`<id-1>`, `<token-1>`), so
//! each view is made concrete and encoded back (`canonical::encode_msync`); the frames of one
//! user go through one inbound connection, compressed as that connection negotiated. Reads
//! `snapshots/` and `scenarios/`; writes nothing but `fuzz/corpus/`.

use super::targets::{self, BINARY, LZ4_FRAME, TEXT};
use crate::server::inbound::{Inbound, Incoming};
use crate::server::observe::Transport;
use crate::wire::frame::BASE64;
use crate::wire::{canonical, lz4, sockjs};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most seeds a target gets (the corpora stay small).
const MAX_SEEDS: usize = 400;

/// Why the corpora could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A file or folder cannot be read or written.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One frame line of a snapshot: `c2s SYNC {view}` in a user's lane.
#[derive(Debug, Clone)]
struct SnapshotFrame {
    user: String,
    client_to_server: bool,
    view: Value,
}

/// What one snapshot file holds for the seeds.
#[derive(Debug, Default)]
struct Snapshot {
    /// Raw WebSocket (4.x generations) or SockJS (3.x).
    websocket: bool,
    frames: Vec<SnapshotFrame>,
    /// Driver lines, rebuilt as the driver wrote them.
    driver_lines: Vec<String>,
}

/// The seeds of every target, by target name: sorted, without duplicates.
pub fn corpora(
    snapshots: &Path,
    scenarios: &Path,
) -> Result<BTreeMap<&'static str, BTreeSet<Vec<u8>>>, SeedError> {
    let mut out: BTreeMap<&'static str, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for path in files(snapshots, Some("snap"))? {
        let snapshot = parse_snapshot(&path, &read(&path)?);
        add_frame_seeds(&snapshot, &mut out);
        let lines = out.entry("driver_line").or_default();
        lines.extend(snapshot.driver_lines.iter().map(|l| l.clone().into_bytes()));
    }
    for path in files(scenarios, Some("toml"))? {
        let text = read(&path)?;
        out.entry("scenario_file")
            .or_default()
            .insert(text.into_bytes());
    }
    for seeds in out.values_mut() {
        while seeds.len() > MAX_SEEDS {
            seeds.pop_last();
        }
    }
    Ok(out)
}

/// Writes the corpora under `root/<target>/`, replacing the files there.
pub fn write(
    root: &Path,
    corpora: &BTreeMap<&'static str, BTreeSet<Vec<u8>>>,
) -> Result<(), SeedError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SeedError::Io { path, source }
    };
    for (target, seeds) in corpora {
        let folder = root.join(target);
        if folder.is_dir() {
            std::fs::remove_dir_all(&folder).map_err(io(&folder))?;
        }
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        for seed in seeds {
            let path = folder.join(name(seed));
            std::fs::write(&path, seed).map_err(io(&path))?;
        }
    }
    Ok(())
}

/// A seed's file name: the start of its SHA-256.
pub fn name(seed: &[u8]) -> String {
    Sha256::digest(seed)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).map_err(|source| SeedError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The files under `root` ending in `.extension` (every file for `None`), sorted.
fn files(root: &Path, extension: Option<&str>) -> Result<Vec<PathBuf>, SeedError> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|source| SeedError::Io {
            path: folder.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if extension.is_none_or(|x| path.extension().is_some_and(|e| e == x)) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn parse_snapshot(path: &Path, text: &str) -> Snapshot {
    let websocket = path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c.starts_with("easemob-websdk-") || c.starts_with("agora-chat-")
    });
    let mut snapshot = Snapshot {
        websocket,
        ..Default::default()
    };
    let mut user = String::new();
    let mut next_id = 1;
    for line in text.lines() {
        if let Some(lane) = line.strip_prefix("== ") {
            user = lane.split(':').next().unwrap_or_default().to_string();
            continue;
        }
        let (head, json) = match line.find(" {") {
            Some(at) => (&line[..at], serde_json::from_str(&line[at + 1..]).ok()),
            None => (line, None),
        };
        let words: Vec<&str> = head.split(' ').collect();
        match (words.as_slice(), json) {
            (["c2s" | "s2c", _command], Some(view)) => snapshot.frames.push(SnapshotFrame {
                user: user.clone(),
                client_to_server: head.starts_with("c2s"),
                view,
            }),
            (["*", event], data) => {
                let mut line = json!({"event": event, "user": user});
                if let Some(data) = data {
                    line["data"] = data;
                }
                snapshot.driver_lines.push(line.to_string());
            }
            (["<", outcome @ ("ok" | "error")], Some(data)) => {
                let ok = *outcome == "ok";
                let field = if ok { "result" } else { "error" };
                let line = json!({"id": next_id, "ok": ok, field: data});
                next_id += 1;
                snapshot.driver_lines.push(line.to_string());
            }
            _ => {}
        }
    }
    snapshot
}

/// The seeds of the frame targets (inbound, canonical view, LZ4 uplink) from one snapshot.
fn add_frame_seeds(snapshot: &Snapshot, out: &mut BTreeMap<&'static str, BTreeSet<Vec<u8>>>) {
    let (_, tokens) = Inbound::new(targets::world(), targets::USERS);
    let token_of = |user: &str| {
        let at = targets::USERS.iter().position(|u| *u == user);
        at.map_or_else(|| format!("YWMt-{user}-0"), |at| tokens[at].clone())
    };
    let mut users: Vec<&str> = snapshot.frames.iter().map(|f| f.user.as_str()).collect();
    users.sort();
    users.dedup();
    for user in users {
        let token = token_of(user);
        let mut uplink = Vec::new();
        for frame in snapshot.frames.iter().filter(|f| f.user == user) {
            let Ok(bytes) = canonical::encode_msync(&concrete(&frame.view, &token)) else {
                continue;
            };
            let direction = u8::from(!frame.client_to_server);
            let seed = [&[direction][..], &bytes].concat();
            out.entry("canonical_view").or_default().insert(seed);
            if frame.client_to_server {
                uplink.push(bytes);
            }
        }
        out.entry("inbound")
            .or_default()
            .insert(inbound_seed(snapshot.websocket, &uplink));
        out.entry("lz4_uplink")
            .or_default()
            .insert(lz4_seed(&uplink));
    }
}

/// A user's uplink frames through one inbound connection, compressed once it negotiated LZ4.
fn inbound_seed(websocket: bool, frames: &[Vec<u8>]) -> Vec<u8> {
    let transport = if websocket {
        Transport::Websocket
    } else {
        Transport::Sockjs
    };
    let mut seed = vec![u8::from(websocket)];
    assert_eq!(targets::transport_of(seed[0]), transport);
    let (mut connection, _) = Inbound::new(targets::world(), targets::USERS);
    let mut history = lz4::Lz4Uplink::default();
    for bytes in frames {
        let bytes = if connection.lz4_uplink() {
            let frame = lz4::encode_frame_with_history(bytes, history.history());
            let _ = history.decode(&frame);
            frame
        } else {
            bytes.clone()
        };
        let (kind, message) = match transport {
            Transport::Sockjs => {
                let text = sockjs::encode_client(&[BASE64.encode(&bytes)]);
                (TEXT, text.into_bytes())
            }
            Transport::Websocket => (BINARY, bytes),
        };
        let incoming = match kind {
            TEXT => Incoming::Text(std::str::from_utf8(&message).unwrap_or_default()),
            _ => Incoming::Binary(&message),
        };
        connection.message(transport, incoming);
        targets::write_record(&mut seed, kind, &message);
    }
    seed
}

/// A user's uplink frames as one connection's LZ4 stream, each block referring back into the
/// frames before it.
fn lz4_seed(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut seed = Vec::new();
    let mut history = lz4::Lz4Uplink::default();
    for bytes in frames {
        let frame = lz4::encode_frame_with_history(bytes, history.history());
        let _ = history.decode(&frame);
        targets::write_record(&mut seed, LZ4_FRAME, &frame);
    }
    seed
}

/// A snapshot's view with its placeholders made concrete: ids, timestamps and trace ids become
/// numbers, the OS type an enum value, a token the user's own.
fn concrete(view: &Value, token: &str) -> Value {
    match view {
        Value::String(s) => Value::String(concrete_string(s, token)),
        Value::Array(items) => Value::Array(items.iter().map(|v| concrete(v, token)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), concrete(v, token)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn concrete_string(s: &str, token: &str) -> String {
    let numbered = |prefix: &str, base: u64| {
        let n = s
            .strip_prefix(prefix)?
            .strip_suffix('>')?
            .parse::<u64>()
            .ok()?;
        Some((base + n).to_string())
    };
    if let Some(n) = numbered("<id-", 1_000).or_else(|| numbered("<ts-", 1_795_626_764_000)) {
        return n;
    }
    match s {
        "<statistic>" => "11".into(),
        "<statistic-ack>" => "12".into(),
        "<now>" => "1795626764299".into(),
        "<trace>" => "42".into(),
        "<os-type>" => "OS_OTHER".into(),
        _ => replace_tokens(s, token),
    }
}

/// `$t$<token-1>` → `$t$YWMt-alice-1`.
fn replace_tokens(s: &str, token: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("<token-") {
        out.push_str(&rest[..at]);
        match rest[at..].find('>') {
            Some(end) => {
                out.push_str(token);
                rest = &rest[at + end + 1..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn placeholders_become_concrete_values() {
        let view = json!({"auth": "$t$<token-1>", "id": "<id-3>", "osType": "<os-type>",
            "resource": "<device-name>_<ms>"});
        assert_eq!(
            concrete(&view, "YWMt-alice-1"),
            json!({"auth": "$t$YWMt-alice-1", "id": "1003", "osType": "OS_OTHER",
                "resource": "<device-name>_<ms>"})
        );
    }

    #[test]
    fn every_committed_seed_runs_through_its_target() {
        let root = repo().join("fuzz/corpus");
        for (target, run) in targets::TARGETS {
            let seeds = files(&root.join(target), None).unwrap();
            assert!(!seeds.is_empty(), "no seeds for {target}");
            for path in seeds {
                run(&std::fs::read(&path).unwrap());
            }
        }
    }

    /// Writes `fuzz/corpus/` again from `snapshots/` and `scenarios/`.
    #[test]
    #[ignore = "writes fuzz/corpus/: run with --ignored after the snapshots or scenarios change"]
    fn write_the_seed_corpora() {
        let corpora = corpora(&repo().join("snapshots"), &repo().join("scenarios")).unwrap();
        for (target, seeds) in &corpora {
            let bytes: usize = seeds.iter().map(Vec::len).sum();
            eprintln!("{target}: {} seeds, {bytes} bytes", seeds.len());
        }
        write(&repo().join("fuzz/corpus"), &corpora).unwrap();
    }
}
