//! `imspec review`: walks the pending snapshots (`<name>.snap.new`, written by a run whose
//! transcript is new or changed) with their diffs, and accepts or rejects each, like
//! `cargo insta review`; `--accept` / `--reject` do all of them without asking (no terminal
//! needed).

use super::{CliError, Status};
use crate::runner::snapshot::{self, Pending};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

/// Examples shown by `imspec review --help`.
pub const AFTER_HELP: &str = "\
A run whose transcript differs from its snapshot (or has none) writes it beside the snapshot as
<name>.snap.new and fails (never when CI is set). Review walks them with the diff.

Exit status: 0 nothing is left pending, 1 some are (listed without --accept/--reject and no
terminal), 2 the harness could not run.

Examples:
  imspec review                          # on a terminal: a accept, r reject, s skip, for each
  imspec review --accept                 # accept every pending snapshot
  imspec review --reject --snapshots my-snapshots";

/// Flags of `imspec review`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReviewArgs {
    /// Snapshots folder (its snapshot sets included).
    #[arg(long, default_value = "snapshots")]
    pub snapshots: PathBuf,
    /// Accept every pending snapshot.
    #[arg(long, conflicts_with = "reject")]
    pub accept: bool,
    /// Reject (delete) every pending snapshot.
    #[arg(long)]
    pub reject: bool,
}

/// What to do with one pending snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Accept,
    Reject,
    Skip,
}

/// Runs `imspec review`.
pub fn run(args: &ReviewArgs) -> Result<Status, CliError> {
    let pending = snapshot::pending(&args.snapshots)
        .map_err(|e| CliError::io(&args.snapshots, "cannot list pending snapshots", e))?;
    if pending.is_empty() {
        println!("no pending snapshot under {}", args.snapshots.display());
        return Ok(Status::Passed);
    }
    let interactive = !args.accept && !args.reject && std::io::stdin().is_terminal();
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    for (index, item) in pending.iter().enumerate() {
        let diff = item
            .diff()
            .map_err(|e| CliError::io(&item.new, "cannot read", e))?;
        println!(
            "\n[{}/{}] {}{}",
            index + 1,
            pending.len(),
            name(&args.snapshots, item),
            if item.snapshot.is_file() {
                ""
            } else {
                " (new)"
            }
        );
        print!("{diff}");
        let choice = if args.accept {
            Choice::Accept
        } else if args.reject {
            Choice::Reject
        } else if interactive {
            ask()?
        } else {
            Choice::Skip
        };
        match choice {
            Choice::Accept => {
                item.accept()
                    .map_err(|e| CliError::io(&item.snapshot, "cannot write", e))?;
                println!("accepted: {}", item.snapshot.display());
                accepted += 1;
            }
            Choice::Reject => {
                item.reject()
                    .map_err(|e| CliError::io(&item.new, "cannot remove", e))?;
                println!("rejected: {}", item.new.display());
                rejected += 1;
            }
            Choice::Skip => skipped += 1,
        }
    }
    println!("\n{accepted} accepted, {rejected} rejected, {skipped} still pending");
    if skipped > 0 && !interactive {
        println!("no terminal: give --accept or --reject to decide them all");
    }
    Ok(Status::failed_if(skipped > 0))
}

fn name(base: &Path, item: &Pending) -> String {
    item.snapshot
        .strip_prefix(base)
        .unwrap_or(&item.snapshot)
        .display()
        .to_string()
}

fn ask() -> Result<Choice, CliError> {
    let stdin = std::io::stdin();
    loop {
        print!("a accept, r reject, s skip: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let read = stdin
            .lock()
            .read_line(&mut answer)
            .map_err(|e| CliError::Harness(format!("cannot read the answer: {e}")))?;
        if read == 0 {
            return Ok(Choice::Skip);
        }
        match answer.trim() {
            "a" | "accept" => return Ok(Choice::Accept),
            "r" | "reject" => return Ok(Choice::Reject),
            "s" | "skip" | "" => return Ok(Choice::Skip),
            _ => continue,
        }
    }
}
