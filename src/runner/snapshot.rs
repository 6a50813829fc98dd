//! Snapshot files (`snapshots/<area>__<name>.snap`, insta's file format: a `---` header, then
//! the transcript), compared with a run's transcript the way insta does it: a new or changed
//! transcript is written beside the snapshot as `<name>.snap.new` (never in CI) and the run
//! fails until `imspec review` accepts or rejects it; `--update-snapshots` rewrites the
//! snapshots in place in bulk. Only the file format is used, not insta's internals.
//!
//! Also which snapshot set (wire baseline) a client is compared with, by its `hello`.

use similar::TextDiff;
use std::path::{Path, PathBuf};

/// What comparing a transcript with its snapshot gave.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotOutcome {
    /// The transcript is the snapshot.
    Matches,
    /// There is no snapshot file; `pending` says whether `<name>.snap.new` was written.
    Missing {
        /// Whether the transcript was written as `<name>.snap.new`.
        pending: bool,
    },
    /// They differ; the unified diff (snapshot → run).
    Differs {
        /// The diff.
        diff: String,
        /// Whether the transcript was written as `<name>.snap.new`.
        pending: bool,
    },
    /// The snapshot was (re)written in place (`--update-snapshots`).
    Written,
    /// The snapshot file exists but cannot be read, or cannot be written.
    Unreadable(String),
}

/// What to do with a transcript that is not the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Nothing: only compare (CI, the selftest, the bundled suite).
    Never,
    /// Write it as `<name>.snap.new` for `imspec review`.
    Pending,
    /// Overwrite the snapshot (`--update-snapshots`).
    Update,
}

/// Whether the environment says this is CI (`CI` set to anything but empty, `0` or `false`):
/// there, nothing is ever written as pending.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The wire generations that have a snapshot set: `(sdk, major version, folder)`, the folder
/// relative to the snapshots folder (`""` is the folder itself). The SDK's `hello` (`sdk`,
/// `sdkVersion`) picks the set. The 3.x set is the one the guide was written for; the 4.x
/// generation speaks another bootstrap (raw WebSocket, no SockJS `/info`, a PROVISION with
/// `authToken`/`sessionId`, `traceId` on every frame, LOGOUT), and agora-chat 1.x differs from
/// easemob 4.x on the wire (no `traceId`, LZ4 or LOGOUT), so each has its own set. Any other SDK
/// has a baseline only if `<snapshots>/<sdk>-<major>/` exists (see [`baseline_for`]).
pub const GENERATIONS: &[(&str, &str, &str)] = &[
    ("imspec reference client", "3", ""),
    ("easemob-websdk", "3", ""),
    ("easemob-websdk", "4", "easemob-websdk-4"),
    ("agora-chat", "1", "agora-chat-1"),
];

/// The snapshot set a client is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The folder of its snapshots.
    pub folder: PathBuf,
    /// Whether the folder holds a baseline (a known generation, or a recorded folder).
    pub exists: bool,
    /// How reports name the generation: `<sdk> <major>`.
    pub generation: String,
}

/// The major version: what comes before the first `.`.
fn major(sdk_version: &str) -> &str {
    sdk_version.split('.').next().unwrap_or_default()
}

/// The snapshot set for a client that said `sdk` / `sdk_version` in `hello`: a known generation
/// (see [`GENERATIONS`]), else `base/<sdk>-<major>` (its name made safe for a file system), which
/// is a baseline only once recorded (`--snapshots DIR --update-snapshots`).
pub fn baseline_for(base: &Path, sdk: &str, sdk_version: &str) -> Baseline {
    let major = major(sdk_version);
    let generation = format!("{sdk} {major}");
    if let Some((_, _, folder)) = GENERATIONS
        .iter()
        .find(|(name, m, _)| *name == sdk && *m == major)
    {
        return Baseline {
            folder: base.join(folder),
            exists: true,
            generation,
        };
    }
    let safe: String = format!("{sdk}-{major}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let folder = base.join(safe);
    Baseline {
        exists: folder.is_dir(),
        folder,
        generation,
    }
}

/// The folder of the snapshot set for `sdk` / `sdk_version` (see [`baseline_for`]).
pub fn folder_for(base: &Path, sdk: &str, sdk_version: &str) -> PathBuf {
    baseline_for(base, sdk, sdk_version).folder
}

/// The snapshot path of a scenario id.
pub fn path_for(folder: &Path, id: &str) -> PathBuf {
    folder.join(format!("{}.snap", id.replace('/', "__")))
}

/// The pending path of a snapshot: `<name>.snap.new`.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The transcript in a snapshot file's text: what follows the `---` header (insta's format),
/// or the whole text when there is no header.
pub fn body(text: &str) -> Result<&str, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text.strip_prefix("---\n") else {
        return Ok(text);
    };
    match rest.find("\n---\n") {
        Some(end) => Ok(&rest[end + 5..]),
        None if rest.ends_with("\n---") => Ok(""),
        None => Err("the `---` header is not closed".to_string()),
    }
}

/// Two transcripts compare equal when they differ only in line endings and trailing blank
/// lines (as insta compares).
fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_string()
}

/// Compares `transcript` with the snapshot at `path`, and writes it as `write` says when it is
/// not the snapshot. A match removes a stale `<name>.snap.new`.
pub fn check(path: &Path, source: &str, transcript: &str, write: Write) -> SnapshotOutcome {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => match body(&text) {
            Ok(body) => Some(normalise(body)),
            Err(why) if write != Write::Update => {
                return SnapshotOutcome::Unreadable(format!("{}: {why}", path.display()));
            }
            Err(_) => None,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return SnapshotOutcome::Unreadable(format!("{}: {e}", path.display())),
    };
    let new = normalise(transcript);
    let pending = pending_path(path);
    if old.as_deref() == Some(new.as_str()) {
        if write != Write::Never && pending.is_file() {
            let _ = std::fs::remove_file(&pending);
        }
        return SnapshotOutcome::Matches;
    }
    let target = match write {
        Write::Never => None,
        Write::Pending => Some(&pending),
        Write::Update => Some(&path.to_path_buf()),
    };
    if let Some(target) = target
        && let Err(e) = write_file(target, source, &new)
    {
        return SnapshotOutcome::Unreadable(format!("{}: cannot write: {e}", target.display()));
    }
    if write == Write::Update {
        let _ = std::fs::remove_file(&pending);
        return SnapshotOutcome::Written;
    }
    let pending = write == Write::Pending;
    match old {
        None => SnapshotOutcome::Missing { pending },
        Some(old) => SnapshotOutcome::Differs {
            diff: diff(&old, &new),
            pending,
        },
    }
}

/// A unified diff of two transcripts, snapshot first.
pub fn diff(old: &str, new: &str) -> String {
    TextDiff::from_lines(format!("{old}\n").as_str(), format!("{new}\n").as_str())
        .unified_diff()
        .context_radius(2)
        .header("snapshot", "this run")
        .to_string()
}

/// Writes a snapshot in insta's file format.
fn write_file(path: &Path, source: &str, transcript: &str) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let body = transcript.trim_end();
    std::fs::write(
        path,
        format!("---\nsource: {source}\nexpression: transcript\n---\n{body}\n"),
    )
}

/// A pending snapshot (`<name>.snap.new`) waiting for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The `.snap.new` file.
    pub new: PathBuf,
    /// The snapshot it would replace (which may not exist yet).
    pub snapshot: PathBuf,
}

impl Pending {
    /// The diff from the snapshot (empty when there is none) to the pending transcript.
    pub fn diff(&self) -> std::io::Result<String> {
        let read = |path: &Path| -> std::io::Result<String> {
            let text = std::fs::read_to_string(path)?;
            Ok(normalise(body(&text).map_err(std::io::Error::other)?))
        };
        let old = if self.snapshot.is_file() {
            read(&self.snapshot)?
        } else {
            String::new()
        };
        Ok(diff(&old, &read(&self.new)?))
    }

    /// Makes the pending transcript the snapshot.
    pub fn accept(&self) -> std::io::Result<()> {
        std::fs::rename(&self.new, &self.snapshot)
    }

    /// Throws the pending transcript away.
    pub fn reject(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.new)
    }
}

/// Every `.snap.new` under `folder` (and its snapshot sets), in path order.
pub fn pending(folder: &Path) -> std::io::Result<Vec<Pending>> {
    let mut found = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(dir) = folders.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir != folder => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if let Some(name) = path.to_str().and_then(|p| p.strip_suffix(".new"))
                && name.ends_with(".snap")
            {
                found.push(Pending {
                    snapshot: PathBuf::from(name),
                    new: path,
                });
            }
        }
    }
    found.sort_by(|a, b| a.new.cmp(&b.new));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_generation_has_its_snapshot_set_and_an_unknown_sdk_has_none_until_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let reference = baseline_for(base, "imspec reference client", "3.6.3");
        assert_eq!((reference.folder.as_path(), reference.exists), (base, true));
        assert_eq!(folder_for(base, "easemob-websdk", "3.6.3"), base);
        assert_eq!(
            folder_for(base, "easemob-websdk", "4.21.1"),
            base.join("easemob-websdk-4")
        );
        assert_eq!(
            folder_for(base, "agora-chat", "1.4.0"),
            base.join("agora-chat-1")
        );
        let unknown = baseline_for(base, "my sdk", "4.0.0");
        assert_eq!(unknown.folder, base.join("my_sdk-4"));
        assert!(!unknown.exists);
        assert_eq!(unknown.generation, "my sdk 4");
        std::fs::create_dir(base.join("my_sdk-4")).unwrap();
        assert!(baseline_for(base, "my sdk", "4.0.0").exists);
    }

    #[test]
    fn a_changed_transcript_is_pending_until_accepted_or_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "login/ok");
        assert!(path.ends_with("login__ok.snap"));
        let first = "== http\nPOST /org/app/token {}\n\n";
        let source = "scenarios/login/ok.toml";
        assert_eq!(
            check(&path, source, first, Write::Never),
            SnapshotOutcome::Missing { pending: false }
        );
        assert!(pending(dir.path()).unwrap().is_empty());
        assert_eq!(
            check(&path, source, first, Write::Pending),
            SnapshotOutcome::Missing { pending: true }
        );
        let list = pending(dir.path()).unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].diff().unwrap().contains("+POST /org/app/token {}"));
        list[0].accept().unwrap();
        // What insta itself reads back is what was written.
        let read = insta::Snapshot::from_file(&path).unwrap();
        assert_eq!(read.metadata().source(), Some(source));
        assert_eq!(
            check(&path, source, first, Write::Pending),
            SnapshotOutcome::Matches
        );

        let second = "== http\nPOST /org/app/token {\"x\":1}\n";
        match check(&path, source, second, Write::Pending) {
            SnapshotOutcome::Differs {
                diff,
                pending: true,
            } => {
                assert!(diff.contains("+POST /org/app/token {\"x\":1}"), "{diff}");
                assert!(diff.contains("-POST /org/app/token {}"), "{diff}");
            }
            other => panic!("{other:?}"),
        }
        let list = pending(dir.path()).unwrap();
        list[0].reject().unwrap();
        assert!(pending(dir.path()).unwrap().is_empty());
        assert_eq!(
            check(&path, source, first, Write::Never),
            SnapshotOutcome::Matches
        );
        assert_eq!(
            check(&path, source, second, Write::Update),
            SnapshotOutcome::Written
        );
        assert_eq!(
            check(&path, source, second, Write::Never),
            SnapshotOutcome::Matches
        );
    }

    #[test]
    fn the_body_is_what_follows_the_header() {
        assert_eq!(body("---\nsource: x\n---\nabc\n").unwrap(), "abc\n");
        assert_eq!(body("abc").unwrap(), "abc");
        assert!(body("---\nsource: x\nabc").is_err());
    }
}
