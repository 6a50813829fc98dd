//! `imspec driver-check --client CMD`: a driver checked against the driver protocol, op by op
//! (`driver::check`), with a verdict per op and the line and field of each problem.

use super::{CliError, Status};
use std::time::Duration;

/// Examples and exit codes shown by `imspec driver-check --help`.
pub const AFTER_HELP: &str = "\
Starts the driver against a fake server with users alice and bob, and checks hello (fields,
protocol version, ops, capabilities), connect, send (and bob's onTextMessage), recall, history,
sessions, download, fire-timer (when `timers` is announced), sync (when announced), disconnect
(and onClosed), reset (when announced), an unknown op (must be answered unsupported), a malformed
request (must not stop the driver), that every stdout line is a reply or an event, and shutdown
(answered, then exit 0 within 2 s). An op answered with a well-formed error passes: that is the
SDK's outcome, which the scenarios judge.

Exit status: 0 every check passed (UNSUPPORTED and SKIP allowed), 1 a check failed (including a
driver that does not start), 2 the harness could not run.

Examples:
  imspec driver-check --client \"node drivers/websdk/driver.mjs\"
  imspec driver-check --client ./my-driver --timeout-ms 20000";

/// Flags of `imspec driver-check`.
#[derive(Debug, Clone, clap::Args)]
pub struct DriverCheckArgs {
    /// The driver command line, run through `sh -c`.
    #[arg(long, value_name = "COMMAND")]
    pub client: String,
    /// How long each reply and event may take, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
}

/// Runs `imspec driver-check`.
pub async fn run(args: &DriverCheckArgs) -> Result<Status, CliError> {
    let report =
        crate::driver::check::check(&args.client, Duration::from_millis(args.timeout_ms)).await;
    print!("{}", report.text());
    Ok(Status::failed_if(!report.passed()))
}
