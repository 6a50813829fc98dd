//! `imspec list`: every selected scenario with its purpose and the guide line it checks.

use super::{CliError, Selection, Status};
use std::io::Write as _;

/// Examples shown by `imspec list --help`.
pub const AFTER_HELP: &str = "Examples:\n  imspec list\n  imspec list --filter 'messages/*'\n  imspec list --shard 1/2      # what the first of two CI machines runs";

/// Prints the selected scenarios.
pub fn run(selection: &Selection) -> Result<Status, CliError> {
    let mut out = std::io::stdout().lock();
    for scenario in selection.select()? {
        let written = writeln!(out, "{:<36} {}", scenario.id, scenario.purpose)
            .and_then(|()| writeln!(out, "{:<36}   guide: {}", "", scenario.guide_summary()));
        if written.is_err() {
            break; // the reader went away (`imspec list | head`)
        }
    }
    Ok(Status::Passed)
}
