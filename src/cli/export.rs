//! `imspec suite export DIR` and `imspec drivers export DIR`: the suite and the Node drivers
//! bundled in the binary, written out for a vendor to extend or install.

use super::{CliError, Status};
use std::path::{Path, PathBuf};

/// Examples shown by `imspec suite --help`.
pub const SUITE_AFTER_HELP: &str = "\
The binary holds the whole suite: scenarios, snapshots and the documents they cite. Without
--scenarios, `imspec run` uses ./scenarios when there is one, else this bundled suite.

Examples:
  imspec suite export my-suite           # my-suite/scenarios, my-suite/snapshots, my-suite/docs
  imspec run --scenarios my-suite/scenarios --client ./my-driver";

/// Examples shown by `imspec drivers --help`.
pub const DRIVERS_AFTER_HELP: &str = "\
The binary holds the Node drivers of the real SDKs (each with its package.json and lockfile).

Examples:
  imspec drivers export drivers
  npm ci --prefix drivers/websdk
  imspec run --client \"node drivers/websdk/driver.mjs\"";

/// What to do with a bundled file set.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ExportCommand {
    /// Write the bundled files into DIR (created if needed; files of the same name are
    /// overwritten).
    Export {
        /// The folder to write into.
        dir: PathBuf,
    },
}

/// Runs `imspec suite export DIR`.
pub fn suite(command: &ExportCommand) -> Result<Status, CliError> {
    let ExportCommand::Export { dir } = command;
    let written = crate::suite::export_suite(dir).map_err(|e| CliError::Harness(e.to_string()))?;
    println!(
        "wrote the suite ({} scenarios, {} files) to {}; run it with `imspec run --scenarios {}`",
        crate::suite::scenario_count(),
        written.len(),
        dir.display(),
        dir.join("scenarios").display()
    );
    Ok(Status::Passed)
}

/// Runs `imspec drivers export DIR`.
pub fn drivers(command: &ExportCommand) -> Result<Status, CliError> {
    let ExportCommand::Export { dir } = command;
    let written =
        crate::suite::export_drivers(dir).map_err(|e| CliError::Harness(e.to_string()))?;
    let folders = crate::suite::driver_folders();
    println!(
        "wrote {} drivers ({} files) to {}: {}",
        folders.len(),
        written.len(),
        dir.display(),
        folders.join(", ")
    );
    for folder in &folders {
        let path: &Path = &dir.join(folder);
        if path.join("package-lock.json").is_file() {
            println!(
                "  npm ci --prefix {0} && imspec run --client \"node {0}/driver.mjs\"",
                path.display()
            );
        }
    }
    Ok(Status::Passed)
}
