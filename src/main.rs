//! The `imspec` command line: parses the arguments and calls the library's command
//! (`imspec::cli`), then maps its result to the exit status in one place ([`exit`]). `anyhow`
//! lives only here, at the edge.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use imspec::cli::{self, Status};
use std::process::ExitCode;

/// The harness allocates and frees many small frame views and transcript lines across threads;
/// mimalloc does that with fewer page faults and no arena trimming (measured: README, "Speed").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "imspec",
    version,
    about = "Conformance harness for the Easemob / Agora WebIM chat protocol",
    long_about = "imspec drives a chat client (through a driver process) against a scripted fake \
                  msync server and checks its callbacks and the frames on the wire against \
                  scenario files and snapshots.",
    after_help = concat!(
        "Exit status:\n  0  every scenario passed (expected failures allowed)\n  1  a scenario failed or was FLAKY, or a listed expected failure passed (XPASS)\n  2  the harness could not run (bad flags, a broken scenario or expected-failures file, a driver that will not start)\n  130, 143  `run` was interrupted by SIGINT, SIGTERM (its reports are written, unfinished scenarios NOT RUN)\n\n",
        "Examples:\n",
        "  imspec run                                             # the suite against the reference client\n",
        "  imspec run --client \"node drivers/websdk/driver.mjs\"   # the real Web SDK 3.6.3\n",
        "  imspec run --junit out.xml --html out.html --shard 1/2 # one CI machine of two\n",
        "  imspec run --filter 'login/*' --json report.json\n",
        "  imspec selftest                                        # prove every scenario can fail\n",
        "  imspec list\n",
        "  imspec coverage                                        # which guide statements the scenarios check\n",
        "  imspec review --accept                                # accept every pending .snap.new\n",
        "  imspec driver-check --client ./my-driver              # a driver against the protocol\n",
        "  imspec suite export my-suite                          # the bundled suite, to extend\n",
        "  imspec fuzz --seed 1 --cases 2000                     # fuzz message bodies both ways\n",
        "  imspec serve --port 8080 --user alice --user bob"
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against a client and report verdicts.
    #[command(after_help = cli::run::AFTER_HELP)]
    Run(cli::run::RunArgs),
    /// Run the suite against the reference client and each named client; print scenario ×
    /// client verdicts.
    Matrix(cli::matrix::MatrixArgs),
    /// List scenarios with their purpose and the guide line they check.
    #[command(after_help = cli::list::AFTER_HELP)]
    List {
        #[command(flatten)]
        selection: cli::Selection,
    },
    /// Prove that every verdict can fail: run the suite against the reference client clean and
    /// under each fault switch, and print the kill matrix.
    #[command(long_about = cli::selftest::LONG_ABOUT, after_help = cli::selftest::AFTER_HELP)]
    Selftest(cli::selftest::SelftestArgs),
    /// Fuzz message bodies in both directions against a client; findings are shrunk and
    /// written as scenarios under <scenarios>/fuzz-regressions/.
    #[command(after_help = imspec::fuzz::cli::AFTER_HELP)]
    Fuzz(imspec::fuzz::cli::FuzzArgs),
    /// Start the fake server alone, for testing an app by hand; prints every frame as JSON.
    Serve(cli::serve::ServeArgs),
    /// The guide's testable statements with the scenarios that cover them and how strongly,
    /// and the statements no scenario covers.
    #[command(after_help = cli::coverage::AFTER_HELP)]
    Coverage(cli::coverage::CoverageArgs),
    /// Review pending snapshots (`<name>.snap.new`): show each diff, accept or reject it.
    #[command(after_help = cli::review::AFTER_HELP)]
    Review(cli::review::ReviewArgs),
    /// Check a driver against the driver protocol, op by op, against a fake server.
    #[command(after_help = cli::driver_check::AFTER_HELP)]
    DriverCheck(cli::driver_check::DriverCheckArgs),
    /// The suite bundled in the binary: scenarios, snapshots and the documents they cite.
    #[command(after_help = cli::export::SUITE_AFTER_HELP)]
    Suite {
        #[command(subcommand)]
        command: cli::export::ExportCommand,
    },
    /// The Node drivers bundled in the binary, with their package.json and lockfile.
    #[command(after_help = cli::export::DRIVERS_AFTER_HELP)]
    Drivers {
        #[command(subcommand)]
        command: cli::export::ExportCommand,
    },
    /// The reference client as a driver on stdin/stdout (used by `run` without --client).
    #[command(hide = true)]
    Driver {
        /// Fault switches, comma-separated (also read from IMSPEC_FAULTS).
        #[arg(long, env = "IMSPEC_FAULTS", default_value = "")]
        fault: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The reference client waits on its sockets: one thread serves it best (no cross-thread
    // wake-ups; eight of them run beside the harness by default).
    let runtime = match cli.command {
        Command::Driver { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Runtime::new(),
    };
    let result = runtime
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(dispatch(cli)));
    exit(result)
}

/// The one place a command's result becomes the exit status (`imspec::cli::exit_code`); a
/// harness error is printed with its causes.
fn exit(result: Result<Status>) -> ExitCode {
    if let Err(e) = &result {
        eprintln!("imspec: error: {}", chain(e));
    }
    ExitCode::from(cli::exit_code(&result))
}

/// The error and its causes, each once: library errors often name their cause in their own
/// message already.
fn chain(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    message
}

async fn dispatch(cli: Cli) -> Result<Status> {
    Ok(match cli.command {
        Command::Run(args) => cli::run::run(args).await?,
        Command::List { selection } => cli::list::run(&selection)?,
        Command::Selftest(args) => cli::selftest::run(args).await?,
        Command::Matrix(args) => cli::matrix::run(args).await?,
        Command::Fuzz(args) => {
            let exe = std::env::current_exe().context("cannot find the imspec executable")?;
            Status::failed_if(imspec::fuzz::cli::run(&args, exe).await?)
        }
        Command::Serve(args) => cli::serve::run(args).await?,
        Command::Coverage(args) => cli::coverage::run(args)?,
        Command::Review(args) => cli::review::run(&args)?,
        Command::DriverCheck(args) => cli::driver_check::run(&args).await?,
        Command::Suite { command } => cli::export::suite(&command)?,
        Command::Drivers { command } => cli::export::drivers(&command)?,
        Command::Driver { fault } => {
            let faults = imspec::client::Faults::parse(&fault)?;
            imspec::client::serve_stdio(faults).await?;
            Status::Passed
        }
    })
}
