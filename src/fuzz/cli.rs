//! `imspec fuzz`: its flags, and the run behind them (campaign, regression files, summary).
//! `main.rs` only parses and maps the outcome to an exit status.
//!
//! Owns what the command prints; must not hold fuzzing logic.

use super::campaign::{self, Options};
use super::case::Case;
use super::regression::{self, Target};
use super::{FuzzError, Mode, Reproduction};
use crate::runner::ClientSpec;
use std::path::PathBuf;
use std::time::Duration;

/// Examples shown by `imspec fuzz --help`.
pub const AFTER_HELP: &str = "\
Server → client, each generated body is delivered to bob and must reach the right callback with
every value intact, typed back as the SDK types KeyValues (integers above 2^53 lose precision as
a JavaScript Number does: counted and reported, not hidden). Client → server, alice sends
generated options; the frame must type every value as message.set does, and bob must get them.
Hostile bodies (unknown enums, bad JSON_STRING, truncated, oversized, wrongly nested payloads)
must give onError or be dropped, and a normal message must still arrive afterwards.

Valid bodies stay within the service's 5 KB limit for a message; texts past it are hostile
input (the client may refuse them, but one it hands to the app must be intact).

A callback is missing once bob's client has handled every frame and a grace has passed with
nothing moving (the suite's settle rule), not after a deadline: a busy machine is slower, not
wrong. A failure is shrunk (proptest, against the same live session), then run again in two
fresh sessions: one that does not fail the same way each time is reported as NOT REPRODUCED,
with what each rerun gave, and is not written. A reproduced one is written as a scenario under
<scenarios>/fuzz-regressions/ with its snapshot (recorded with the reference client), the
fault switches that kill it, and whether it fails on its own against the client; the seed
alone reproduces it too.

Exit status: 0 nothing found, 1 findings (reproduced or not), 2 the harness could not run.

Examples:
  imspec fuzz --seed 1 --cases 2000                                   # the reference client
  imspec fuzz --fault wrong-ext-type --seed 1 --cases 2000            # finds the broken typing
  imspec fuzz --client \"node drivers/websdk/driver.mjs\" --seed 1 --cases 2000
  imspec fuzz --mode hostile --seed 3 --cases 500 --no-write          # just report
  imspec fuzz --frames 1000000 --seed 1                               # the server's own decoder";

/// Flags of `imspec fuzz`.
#[derive(Debug, Clone, clap::Args)]
pub struct FuzzArgs {
    /// The driver command line of the client under test (through `sh -c`); without it the
    /// bundled reference client runs.
    #[arg(long)]
    pub client: Option<String>,
    /// Reference-client fault switches, comma-separated (only without --client).
    #[arg(long, conflicts_with = "client")]
    pub fault: Option<String>,
    /// The seed: the same seed generates the same cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many cases to generate.
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// valid: bodies a real server delivers; hostile: bodies none does.
    #[arg(long, value_enum, default_value_t = Mode::Valid)]
    pub mode: Mode,
    /// How long one case may run before the client is judged hung, in ms (a missing callback
    /// is judged by the settle rule, not by this).
    #[arg(long, default_value_t = 30_000)]
    pub case_timeout_ms: u64,
    /// At most this many shrinking steps per finding.
    #[arg(long, default_value_t = 256)]
    pub max_shrink_iters: u32,
    /// Stop after this many distinct findings.
    #[arg(long, default_value_t = 8)]
    pub max_findings: usize,
    /// Live sessions (a server and a driver each) running cases side by side [default: one per
    /// core]. The cases are the same for any number; so are the findings, unless the client
    /// keeps state from one case to the next.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Scenarios folder; regressions go to its `fuzz-regressions/`.
    #[arg(long, default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Do not write regression scenarios; only report.
    #[arg(long)]
    pub no_write: bool,
    /// Instead of a campaign, feed this many generated and mutated frames (seeded) to the
    /// server's own decoding path (SockJS text, base64, MSync, nested payloads) and report
    /// panics and oversized answers.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
}

/// Runs `imspec fuzz`; `Ok(true)` when something was found.
pub async fn run(args: &FuzzArgs, exe: PathBuf) -> Result<bool, FuzzError> {
    if let Some(count) = args.frames {
        let seed = args.seed;
        let report = tokio::task::spawn_blocking(move || {
            super::frames::run(seed, count, Duration::from_secs(24 * 3600))
        })
        .await
        .map_err(|e| FuzzError::Setup(format!("the decoder fuzzer failed: {e}")))?;
        println!(
            "{} messages in {:.1} s ({:.0}/s): {} frames handled, {} refused as bad, {} closes, {} panics, {} oversized answers",
            report.messages,
            report.elapsed_ms as f64 / 1000.0,
            report.messages as f64 * 1000.0 / (report.elapsed_ms.max(1) as f64),
            report.handled,
            report.bad,
            report.closed,
            report.panics,
            report.oversized_answers
        );
        if let Some(first) = &report.first_panic {
            println!("first panicking message: {first}");
        }
        return Ok(report.panics > 0 || report.oversized_answers > 0);
    }
    let client = match &args.client {
        Some(command) => ClientSpec {
            command: command.clone(),
            env: Vec::new(),
            label: command.clone(),
        },
        None => {
            if let Some(f) = &args.fault {
                crate::client::Faults::parse(f).map_err(|e| FuzzError::Setup(e.to_string()))?;
            }
            regression::reference(&exe, args.fault.as_deref().unwrap_or(""))
        }
    };
    let options = Options {
        client: client.clone(),
        seed: args.seed,
        cases: args.cases,
        mode: args.mode,
        case_timeout: Duration::from_millis(args.case_timeout_ms),
        max_shrink_iters: args.max_shrink_iters,
        max_findings: args.max_findings,
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
    };
    eprintln!(
        "fuzzing {} with {} {:?} cases, seed {}, {} sessions",
        client.label, args.cases, args.mode, args.seed, options.jobs
    );
    let report = campaign::run(&options).await?;
    let secs = report.elapsed.as_secs_f64();
    println!(
        "{} cases ({} runs with shrinking) in {:.1} s: {:.0} cases/s; {} session restarts",
        report.cases,
        report.stats.executions,
        secs,
        report.cases as f64 / secs.max(1e-9),
        report.restarts
    );
    println!(
        "integers beyond 2^53 sent: {} (documented: received as the nearest double); rounded on the uplink wire: {}",
        report.stats.beyond_2_53, report.stats.rounded_on_wire
    );
    if args.mode == Mode::Hostile {
        println!(
            "hostile bodies: {} answered with onError, {} dropped",
            report.stats.hostile_on_error, report.stats.hostile_dropped
        );
    }
    let target = Target {
        snapshots: args.snapshots.clone().unwrap_or_else(|| {
            args.scenarios
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("snapshots")
        }),
        scenarios: args.scenarios.clone(),
        exe,
        command: command_line(args),
    };
    for (i, finding) in report.findings.iter().enumerate() {
        if let Reproduction::NotReproduced(reruns) = &finding.reproduced {
            println!(
                "\nNOT REPRODUCED {}: {} (seen at case {})\n  what was seen: {}\n  shrunk case: {:?}\n  in {} fresh sessions: {}\n  not written as a scenario",
                i + 1,
                finding.signature,
                finding.at_case,
                finding.message,
                finding.case,
                reruns.len(),
                reruns.join("; ")
            );
            continue;
        }
        println!(
            "\nFINDING {}: {} (first at case {}; reproduced in {} fresh sessions)\n  {}\n  shrunk case: {:?}",
            i + 1,
            finding.signature,
            finding.at_case,
            super::campaign::RERUNS,
            finding.message,
            finding.case
        );
        if args.no_write {
            continue;
        }
        let name = format!("{}-seed{}-{}", kind(&finding.case), args.seed, i + 1);
        let existing = target
            .scenarios
            .join(format!("fuzz-regressions/{name}.toml"));
        if existing.is_file() {
            println!("  already saved: {} (left as it is)", existing.display());
            continue;
        }
        match regression::write(finding, &name, &target, &client).await {
            Ok(w) => println!(
                "  written: {} (killed_by {:?}; passes against the reference client: {}; fails on its own against {}: {})",
                w.path.display(),
                w.killed_by,
                w.passes_reference,
                client.label,
                if w.fails_against_client {
                    "yes"
                } else {
                    "no, it needs the campaign session's history"
                }
            ),
            Err(e) => println!("  not written: {e}"),
        }
    }
    if report.findings.is_empty() {
        println!("no failure");
    }
    Ok(!report.findings.is_empty())
}

fn kind(case: &Case) -> String {
    match case {
        Case::Valid(v) => format!(
            "{}-{}-{}",
            match v.way {
                super::case::Way::ServerToClient => "s2c",
                super::case::Way::ClientToServer => "c2s",
            },
            v.body.kind(),
            v.chat.to()
        ),
        Case::Hostile(_) => "hostile".into(),
    }
}

fn command_line(args: &FuzzArgs) -> String {
    let mut s = String::from("imspec fuzz");
    if let Some(c) = &args.client {
        s.push_str(&format!(" --client {}", shell_words::quote(c)));
    }
    if let Some(f) = &args.fault {
        s.push_str(&format!(" --fault {f}"));
    }
    s.push_str(&format!(
        " --seed {} --cases {} --mode {}",
        args.seed,
        args.cases,
        match args.mode {
            Mode::Valid => "valid",
            Mode::Hostile => "hostile",
        }
    ));
    s
}
