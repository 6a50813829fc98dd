//! The `imspec` command line: run the suite, list scenarios, serve the fake server by hand, and
//! (hidden) act as the reference client's driver. `anyhow` lives only here, at the edge.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use imspec::report::{json, terminal::Terminal};
use imspec::runner::{self, ClientSpec, RunConfig, Summary, expected::ExpectedFailures};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Every scenario passed (expected failures allowed).
const EXIT_OK: u8 = 0;
/// A scenario failed, or a listed expected failure passed.
const EXIT_FAILED: u8 = 1;
/// The harness could not run: bad flags, a broken scenario file, a driver that will not start.
const EXIT_HARNESS: u8 = 2;

#[derive(Parser)]
#[command(
    name = "imspec",
    version,
    about = "Conformance harness for the Easemob / Agora WebIM chat protocol",
    long_about = "imspec drives a chat client (through a driver process) against a scripted fake \
                  msync server and checks its callbacks and the frames on the wire against \
                  scenario files and snapshots.",
    after_help = "Exit status:\n  0  every scenario passed (expected failures allowed)\n  1  a scenario failed, or a listed expected failure passed (XPASS)\n  2  the harness could not run (bad flags, a broken scenario or expected-failures file, a driver that will not start)\n\nExamples:\n  imspec run                                             # the suite against the reference client\n  imspec run --client \"node drivers/websdk/driver.mjs\"   # the real Web SDK 3.6.3\n  imspec run --filter 'login/*' --json report.json\n  imspec list\n  imspec fuzz --seed 1 --cases 2000\n  imspec serve --port 8080 --user alice --user bob"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against a client and report verdicts.
    Run(RunArgs),
    /// List scenarios with their purpose and the guide line they check.
    List {
        /// Scenarios folder.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Only scenarios whose id matches this glob (repeatable).
        #[arg(long)]
        filter: Vec<String>,
    },
    /// Fuzz message bodies in both directions against a client; findings are shrunk and
    /// written as scenarios under <scenarios>/fuzz-regressions/.
    #[command(after_help = imspec::fuzz::cli::AFTER_HELP)]
    Fuzz(imspec::fuzz::cli::FuzzArgs),
    /// Start the fake server alone, for testing an app by hand; prints every frame as JSON.
    Serve {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// A user of the world, `name` or `name:password` (repeatable; default alice, bob, carol
        /// with password "password").
        #[arg(long = "user")]
        users: Vec<String>,
        /// App key `org#app`.
        #[arg(long, default_value = "org#app")]
        app_key: String,
    },
    /// The reference client as a driver on stdin/stdout (used by `run` without --client).
    #[command(hide = true)]
    Driver {
        /// Fault switches, comma-separated (also read from IMSPEC_FAULTS).
        #[arg(long, env = "IMSPEC_FAULTS", default_value = "")]
        fault: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The driver command line of the client under test, run through `sh -c`. Without it the
    /// bundled reference client runs.
    #[arg(long)]
    client: Option<String>,
    /// Scenarios folder.
    #[arg(long, default_value = "scenarios")]
    scenarios: PathBuf,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Only scenarios whose id matches this glob, e.g. 'login/*' (repeatable).
    #[arg(long)]
    filter: Vec<String>,
    /// Write the JSON report (schema 1) here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The expected-failures file [default: `expected-failures.txt` beside the driver's file].
    #[arg(long)]
    expected_failures: Option<PathBuf>,
    /// Rewrite the snapshots from this run instead of comparing (review the diff before
    /// committing; CI never does this).
    #[arg(long)]
    update_snapshots: bool,
    /// Scenarios run at once [default: the number of cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// Default deadline of each step, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    step_timeout_ms: u64,
    /// Reference-client fault switches, comma-separated (only without --client); see
    /// `imspec run --list-faults`.
    #[arg(long, conflicts_with = "client")]
    fault: Option<String>,
    /// List the reference client's fault switches and exit.
    #[arg(long)]
    list_faults: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imspec: error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_HARNESS);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("imspec: error: {e:#}");
            ExitCode::from(EXIT_HARNESS)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::List { scenarios, filter } => list(&scenarios, &filter),
        Command::Fuzz(args) => {
            let exe = std::env::current_exe().context("cannot find the imspec executable")?;
            let found = imspec::fuzz::cli::run(&args, exe).await?;
            Ok(if found { EXIT_FAILED } else { EXIT_OK })
        }
        Command::Serve {
            port,
            users,
            app_key,
        } => serve(port, users, app_key).await,
        Command::Driver { fault } => {
            let faults = imspec::client::Faults::parse(&fault)?;
            imspec::client::serve_stdio(faults).await?;
            Ok(EXIT_OK)
        }
    }
}

async fn run(args: RunArgs) -> Result<u8> {
    if args.list_faults {
        for (name, description) in imspec::client::Faults::ALL {
            println!("{name:<28} {description}");
        }
        return Ok(EXIT_OK);
    }
    let scenarios = runner::select(&args.scenarios, &args.filter)?;
    if scenarios.is_empty() {
        anyhow::bail!(
            "no scenario in {} matches {}",
            args.scenarios.display(),
            if args.filter.is_empty() {
                "(no filter)".to_string()
            } else {
                args.filter.join(", ")
            }
        );
    }
    let client = match &args.client {
        Some(command) => ClientSpec {
            command: command.clone(),
            env: Vec::new(),
            label: command.clone(),
        },
        None => {
            if let Some(faults) = &args.fault {
                imspec::client::Faults::parse(faults)?;
            }
            let exe = std::env::current_exe().context("cannot find the imspec executable")?;
            let exe = exe.to_string_lossy();
            ClientSpec {
                command: format!("exec {} driver", shell_words::quote(&exe)),
                env: args
                    .fault
                    .iter()
                    .map(|f| ("IMSPEC_FAULTS".to_string(), f.clone()))
                    .collect(),
                label: match &args.fault {
                    Some(f) => format!("reference client (faults: {f})"),
                    None => "reference client".to_string(),
                },
            }
        }
    };
    let expected = match args
        .expected_failures
        .clone()
        .or_else(|| beside_driver(args.client.as_deref()))
    {
        Some(path) => {
            eprintln!("expected failures: {}", path.display());
            ExpectedFailures::load(&path)?
        }
        None => ExpectedFailures::default(),
    };
    let snapshots = args.snapshots.clone().unwrap_or_else(|| {
        args.scenarios
            .parent()
            .unwrap_or(Path::new("."))
            .join("snapshots")
    });
    let config = RunConfig {
        client,
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        snapshots,
        update_snapshots: args.update_snapshots,
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        expected,
    };

    let terminal = Terminal::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            Terminal::default().event(&event);
        }
    });
    let runs = runner::run_all(scenarios, &config, tx).await;
    let _ = printer.await;
    terminal.finish(&runs);
    if let Some(path) = &args.json {
        json::write(path, &runs, &config.client.label)
            .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
    }
    let summary = Summary::of(&runs);
    Ok(if summary.errors > 0 {
        EXIT_HARNESS
    } else if runs.iter().any(|r| r.verdict.fails_run()) {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// `expected-failures.txt` in the folder of the first existing file named in the command.
fn beside_driver(command: Option<&str>) -> Option<PathBuf> {
    let words = shell_words::split(command?).ok()?;
    words
        .iter()
        .map(Path::new)
        .filter(|p| p.is_file())
        .find_map(|p| {
            let candidate = p.parent()?.join("expected-failures.txt");
            candidate.is_file().then_some(candidate)
        })
}

fn list(root: &Path, filter: &[String]) -> Result<u8> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for scenario in runner::select(root, filter)? {
        let written = writeln!(out, "{:<36} {}", scenario.id, scenario.purpose)
            .and_then(|()| writeln!(out, "{:<36}   guide: {}", "", scenario.guide));
        if written.is_err() {
            break; // the reader went away (`imspec list | head`)
        }
    }
    Ok(EXIT_OK)
}

async fn serve(port: u16, users: Vec<String>, app_key: String) -> Result<u8> {
    use imspec::server::{FakeServer, UserSpec, WorldSpec};
    let users = if users.is_empty() {
        vec!["alice".into(), "bob".into(), "carol".into()]
    } else {
        users
    };
    let world = WorldSpec {
        app_key,
        users: users
            .iter()
            .map(|u| {
                let (name, password) = u
                    .split_once(':')
                    .unwrap_or((u, imspec::scenario::DEFAULT_PASSWORD));
                (
                    name.to_string(),
                    UserSpec {
                        password: password.to_string(),
                        ..Default::default()
                    },
                )
            })
            .collect(),
        ..Default::default()
    };
    let server = FakeServer::start_on_port(world.clone(), port).await?;
    let urls = server.urls();
    eprintln!(
        "fake server on 127.0.0.1; SockJS url {}, WebSocket {}, REST {}",
        urls.sockjs, urls.websocket, urls.api
    );
    let names: Vec<&String> = world.users.keys().collect();
    eprintln!(
        "users: {names:?}; every frame and HTTP exchange follows on stdout as JSON; Ctrl-C stops it"
    );
    let recorder = server.recorder();
    let mut seen = 0;
    loop {
        tokio::select! {
            _ = recorder.wait_beyond(seen) => {
                for o in recorder.since(seen) {
                    println!("{}", serde_json::to_string(&o)?);
                }
                seen = recorder.len();
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown().await;
    Ok(EXIT_OK)
}
