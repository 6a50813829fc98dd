//! The suite and the Node drivers, bundled in the binary at build time (`rust-embed`), so that an
//! installed `imspec` runs its own suite anywhere: the scenarios, their snapshots, and the
//! documents the scenarios cite (`docs/`), laid out as in the repository.
//!
//! [`bundled_root`] writes the suite once into a folder under the system's temporary folder,
//! named after its content's hash, and the runner reads it there like any other suite folder;
//! [`export_suite`] and [`export_drivers`] write them where a vendor wants to extend them. This
//! module only holds and writes files; it knows nothing of their format.

use rust_embed::Embed;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

#[derive(Embed)]
#[folder = "scenarios/"]
struct Scenarios;

#[derive(Embed)]
#[folder = "snapshots/"]
#[exclude = "*.snap.new"]
struct Snapshots;

#[derive(Embed)]
#[folder = "docs/"]
struct Docs;

#[derive(Embed)]
#[folder = "drivers/"]
#[exclude = "*/node_modules/*"]
#[exclude = "node_modules/*"]
struct Drivers;

/// A bundled file set could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write: {source}")]
pub struct SuiteError {
    /// The file or folder.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SuiteError + '_ {
    move |source| SuiteError {
        path: path.to_path_buf(),
        source,
    }
}

/// One bundled file: its path relative to the repository and its content.
struct File {
    path: String,
    data: std::borrow::Cow<'static, [u8]>,
}

fn files_of<E: Embed>(folder: &str) -> Vec<File> {
    let mut names: Vec<String> = E::iter().map(|n| n.to_string()).collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let file = E::get(&name)?;
            Some(File {
                path: format!("{folder}/{name}"),
                data: file.data,
            })
        })
        .collect()
}

/// The suite's files: `scenarios/…`, `snapshots/…`, `docs/…`.
fn suite_files() -> Vec<File> {
    let mut files = files_of::<Scenarios>("scenarios");
    files.extend(files_of::<Snapshots>("snapshots"));
    files.extend(files_of::<Docs>("docs"));
    files
}

/// How many scenario files the binary holds.
pub fn scenario_count() -> usize {
    Scenarios::iter().filter(|n| n.ends_with(".toml")).count()
}

/// The driver folders the binary holds (`websdk`, `websdk4`, …).
pub fn driver_folders() -> Vec<String> {
    let mut folders: Vec<String> = Drivers::iter()
        .filter_map(|n| n.split_once('/').map(|(folder, _)| folder.to_string()))
        .collect();
    folders.dedup();
    folders
}

fn write_all(files: &[File], dir: &Path, strip: &str) -> Result<Vec<PathBuf>, SuiteError> {
    let mut written = Vec::new();
    for file in files {
        let relative = file.path.strip_prefix(strip).unwrap_or(&file.path);
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, &file.data).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes the bundled suite under `dir` (`dir/scenarios`, `dir/snapshots`, `dir/docs`), over
/// files of the same name; returns the files written.
pub fn export_suite(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    write_all(&suite_files(), dir, "")
}

/// Writes the bundled Node drivers under `dir` (`dir/websdk/driver.mjs`, its `package.json`
/// and `package-lock.json`, …), ready for `npm ci --prefix dir/websdk`; returns the files
/// written.
pub fn export_drivers(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let files = files_of::<Drivers>("drivers");
    let written = write_all(&files, dir, "drivers/")?;
    for path in &written {
        if path.extension().is_some_and(|e| e == "sh") {
            make_executable(path)?;
        }
    }
    Ok(written)
}

fn make_executable(path: &Path) -> Result<(), SuiteError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io(path))
}

/// The hash of the bundled suite's paths and contents (hex, 16 digits).
fn suite_hash(files: &[File]) -> String {
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.path.as_bytes());
        hash.update([0]);
        hash.update((file.data.len() as u64).to_le_bytes());
        hash.update(&file.data);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bundled suite as a folder on disk: `<tmp>/imspec-suite-<hash>/` with `scenarios/`,
/// `snapshots/` and `docs/`, written on first use and read-only by convention (the runner never
/// writes snapshots there). Returns its `scenarios` folder.
pub fn bundled_root() -> Result<PathBuf, SuiteError> {
    let files = suite_files();
    let root = std::env::temp_dir().join(format!("imspec-suite-{}", suite_hash(&files)));
    let done = root.join(".complete");
    if !done.is_file() {
        // Written beside it and renamed, so that two runs starting at once never read half a
        // suite.
        let partial = root.with_extension(format!("partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        write_all(&files, &partial, "")?;
        std::fs::write(partial.join(".complete"), b"").map_err(io(&partial))?;
        if std::fs::rename(&partial, &root).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
            if !done.is_file() {
                // Left over from a run that died: replace it.
                let _ = std::fs::remove_dir_all(&root);
                write_all(&files, &root, "")?;
                std::fs::write(&done, b"").map_err(io(&root))?;
            }
        }
    }
    Ok(root.join("scenarios"))
}

/// Whether `path` lies in a folder written by [`bundled_root`].
pub fn is_bundled(path: &Path) -> bool {
    let temp = std::env::temp_dir();
    path.strip_prefix(&temp).ok().is_some_and(|rest| {
        rest.components()
            .next()
            .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with("imspec-suite-"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_holds_the_suite_the_guide_and_every_driver_without_node_modules() {
        assert!(scenario_count() > 50, "{}", scenario_count());
        let files = suite_files();
        assert!(
            files
                .iter()
                .any(|f| f.path == "docs/webim-message-guide.md")
        );
        assert!(files.iter().any(|f| f.path == "snapshots/login__ok.snap"));
        let drivers = driver_folders();
        for folder in ["websdk", "websdk4", "agora-chat"] {
            assert!(drivers.iter().any(|d| d == folder), "{drivers:?}");
        }
        assert!(
            Drivers::iter().all(|n| !n.contains("node_modules")),
            "node_modules must not be bundled"
        );
    }

    #[test]
    fn exported_drivers_come_with_their_lockfiles() {
        let dir = tempfile::tempdir().unwrap();
        export_drivers(dir.path()).unwrap();
        for folder in ["websdk", "websdk4", "agora-chat"] {
            for file in ["driver.mjs", "package.json", "package-lock.json"] {
                assert!(
                    dir.path().join(folder).join(file).is_file(),
                    "{folder}/{file}"
                );
            }
        }
    }

    #[test]
    fn the_bundled_root_is_written_once_and_recognised() {
        let root = bundled_root().unwrap();
        assert!(root.join("login/ok.toml").is_file());
        assert!(
            root.parent()
                .unwrap()
                .join("snapshots/login__ok.snap")
                .is_file()
        );
        assert!(is_bundled(&root));
        assert_eq!(bundled_root().unwrap(), root);
        assert!(!is_bundled(Path::new("scenarios")));
    }
}
