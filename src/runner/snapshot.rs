//! Snapshot files (`snapshots/<area>__<name>.snap`, insta's format): read with insta, compared
//! with the run's transcript, rewritten only when asked (`--update-snapshots`; CI never does).

use insta::internals::{SnapshotContents, TextSnapshotContents};
use insta::{Snapshot, TextSnapshotKind};
use similar::TextDiff;
use std::path::{Path, PathBuf};

/// What comparing a transcript with its snapshot gave.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotOutcome {
    /// The transcript is the snapshot.
    Matches,
    /// There is no snapshot file.
    Missing,
    /// They differ; the unified diff (snapshot → run).
    Differs(String),
    /// The snapshot was (re)written.
    Written,
    /// The snapshot file exists but cannot be read.
    Unreadable(String),
}

/// The wire generations that have a snapshot set of their own: `(sdk, major version, folder)`.
/// The SDK's `hello` (`sdk`, `sdkVersion`) picks the set; everything else (the reference client,
/// `easemob-websdk` 3.x, any other driver) uses the snapshots folder itself, the 3.x set the guide
/// was written for. The 4.x generation speaks another bootstrap (raw WebSocket, no SockJS `/info`,
/// a PROVISION with `authToken`/`sessionId`, `traceId` on every frame, LOGOUT), and agora-chat 1.x
/// differs from easemob 4.x on the wire (no `traceId`, LZ4 or LOGOUT), so each has its own set.
pub const GENERATIONS: &[(&str, &str, &str)] = &[
    ("easemob-websdk", "4", "easemob-websdk-4"),
    ("agora-chat", "1", "agora-chat-1"),
];

/// The folder of the snapshot set for a client that said `sdk` / `sdk_version` in `hello`:
/// `base` itself or `base/<generation>` (see [`GENERATIONS`]).
pub fn folder_for(base: &Path, sdk: &str, sdk_version: &str) -> PathBuf {
    let major = sdk_version.split('.').next().unwrap_or_default();
    GENERATIONS
        .iter()
        .find(|(name, m, _)| *name == sdk && *m == major)
        .map_or_else(|| base.to_path_buf(), |(_, _, folder)| base.join(folder))
}

/// The snapshot path of a scenario id.
pub fn path_for(folder: &Path, id: &str) -> PathBuf {
    folder.join(format!("{}.snap", id.replace('/', "__")))
}

/// Compares `transcript` with the snapshot at `path`; writes it instead when `update`.
pub fn check(path: &Path, source: &str, transcript: &str, update: bool) -> SnapshotOutcome {
    let new = TextSnapshotContents::new(transcript.to_string(), TextSnapshotKind::File);
    let old = path.exists().then(|| Snapshot::from_file(path));
    let old_text = match old {
        Some(Ok(snapshot)) => match snapshot.contents() {
            SnapshotContents::Text(text) => Some(text.clone()),
            _ => {
                return SnapshotOutcome::Unreadable(format!(
                    "{}: not a text snapshot",
                    path.display()
                ));
            }
        },
        Some(Err(e)) if !update => {
            return SnapshotOutcome::Unreadable(format!("{}: {e}", path.display()));
        }
        _ => None,
    };
    if let Some(old) = &old_text
        && new.matches_latest(old)
    {
        return SnapshotOutcome::Matches;
    }
    if update {
        return match write(path, source, transcript) {
            Ok(()) => SnapshotOutcome::Written,
            Err(e) => SnapshotOutcome::Unreadable(format!("{}: cannot write: {e}", path.display())),
        };
    }
    match old_text {
        None => SnapshotOutcome::Missing,
        Some(old) => SnapshotOutcome::Differs(diff(&old.to_string(), &new.to_string())),
    }
}

/// A unified diff of two transcripts, snapshot first.
pub fn diff(old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header("snapshot", "this run")
        .to_string()
}

/// Writes a snapshot in insta's file format.
fn write(path: &Path, source: &str, transcript: &str) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let body = transcript.trim_end();
    std::fs::write(
        path,
        format!("---\nsource: {source}\nexpression: transcript\n---\n{body}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_4x_generations_have_snapshot_sets_of_their_own() {
        let base = Path::new("snapshots");
        assert_eq!(folder_for(base, "imspec reference client", "3.6.3"), base);
        assert_eq!(folder_for(base, "easemob-websdk", "3.6.3"), base);
        assert_eq!(
            folder_for(base, "easemob-websdk", "4.21.1"),
            base.join("easemob-websdk-4")
        );
        assert_eq!(
            folder_for(base, "agora-chat", "1.4.0"),
            base.join("agora-chat-1")
        );
        assert_eq!(folder_for(base, "my-sdk", "4.0.0"), base);
    }

    #[test]
    fn written_snapshots_read_back_with_insta_and_match() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "login/ok");
        assert!(path.ends_with("login__ok.snap"));
        let transcript = "== http\nPOST /org/app/token {}\n\n";
        assert_eq!(
            check(&path, "scenarios/login/ok.toml", transcript, false),
            SnapshotOutcome::Missing
        );
        assert_eq!(
            check(&path, "scenarios/login/ok.toml", transcript, true),
            SnapshotOutcome::Written
        );
        assert_eq!(
            check(&path, "scenarios/login/ok.toml", transcript, false),
            SnapshotOutcome::Matches
        );
        match check(
            &path,
            "scenarios/login/ok.toml",
            "== http\nPOST /org/app/token {\"x\":1}\n",
            false,
        ) {
            SnapshotOutcome::Differs(diff) => {
                assert!(diff.contains("+POST /org/app/token {\"x\":1}"), "{diff}")
            }
            other => panic!("{other:?}"),
        }
    }
}
