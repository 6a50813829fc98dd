//! `imspec coverage`: the guide's testable statements (`docs/guide-statements.toml`), each with
//! the scenarios whose citations cover it and how strongly, and the statements no scenario
//! covers. Reads scenarios and the statements file; runs nothing.

use super::{CliError, Selection, Status};
use crate::coverage::{self, Coverage, Statement};
use std::path::PathBuf;

/// Examples shown by `imspec coverage --help`.
pub const AFTER_HELP: &str = "Examples:\n  imspec coverage\n  imspec coverage --json coverage.json\n  imspec coverage --filter 'messages/*'          # what part of the suite covers\n  imspec coverage --statements my-statements.toml\n\nStrength: exact (a guide-level step checks a concrete value), fired (guide-level steps check only that\nsomething happened), wire (wire-level steps only). Untestable statements are listed, never counted.";

/// Flags of `imspec coverage`.
#[derive(Debug, Clone, clap::Args)]
pub struct CoverageArgs {
    /// Which scenarios count.
    #[command(flatten)]
    pub selection: Selection,
    /// The statements file [default: docs/guide-statements.toml beside the scenarios folder,
    /// else the one bundled with imspec].
    #[arg(long, value_name = "PATH")]
    pub statements: Option<PathBuf>,
    /// Also write the coverage as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

/// Prints the coverage of the selected scenarios.
pub fn run(args: CoverageArgs) -> Result<Status, CliError> {
    let scenarios = args.selection.select()?;
    let statements = statements(&args.selection, args.statements.as_ref())?;
    let coverage = Coverage::of(&statements, &scenarios);
    print!("{}", coverage.text());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&coverage.json()).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| CliError::io(path, "cannot write", e))?;
    }
    Ok(Status::Passed)
}

/// The statements: the given file, else `docs/guide-statements.toml` beside the scenarios
/// folder, else the bundled ones.
pub fn statements(
    selection: &Selection,
    given: Option<&PathBuf>,
) -> Result<Vec<Statement>, CliError> {
    if let Some(path) = given {
        return Ok(coverage::load(path)?);
    }
    let root = selection.root()?;
    let beside = root
        .parent()
        .map(|p| p.join(coverage::BUNDLED_PATH))
        .filter(|p| p.exists());
    Ok(match beside {
        Some(path) => coverage::load(&path)?,
        None => coverage::bundled()?,
    })
}
