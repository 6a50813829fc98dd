//! The `imspec` command line: run the suite, list scenarios, serve the fake server by hand, and
//! (hidden) act as the reference client's driver. `anyhow` lives only here, at the edge.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use imspec::report::html::{self, HtmlSink};
use imspec::report::json::{self, JsonSink};
use imspec::report::junit::JunitSink;
use imspec::report::{Reports, terminal::Terminal};
use imspec::runner::expected::{self, ExpectedFailures};
use imspec::runner::{self, ClientSpec, RunConfig, RunEvent, Shard, Verdict};
use imspec::scenario::Scenario;
use std::num::NonZeroUsize;
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
    after_help = concat!(
        "Exit status:\n  0  every scenario passed (expected failures allowed)\n  1  a scenario failed or was FLAKY, or a listed expected failure passed (XPASS)\n  2  the harness could not run (bad flags, a broken scenario or expected-failures file, a driver that will not start)\n  130, 143  `run` was interrupted by SIGINT, SIGTERM (its reports are written, unfinished scenarios NOT RUN)\n\n",
        "Examples:\n",
        "  imspec run                                             # the suite against the reference client\n",
        "  imspec run --client \"node drivers/websdk/driver.mjs\"   # the real Web SDK 3.6.3\n",
        "  imspec run --junit out.xml --html out.html --shard 1/2 # one CI machine of two\n",
        "  imspec run --filter 'login/*' --json report.json\n",
        "  imspec selftest                                        # prove every scenario can fail\n",
        "  imspec list\n",
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
    #[command(after_help = concat!(
        "Examples:\n",
        "  imspec run                                               # every scenario, reference client, jobs = 4 per core\n",
        "  imspec run --client \"node drivers/websdk/driver.mjs\"     # the real Web SDK (its expected failures are beside the driver)\n",
        "  imspec run --client ./my-driver --expected-failures known.txt --junit junit.xml --html report.html\n",
        "  imspec run --shard 2/3 --jobs 4                          # the second of three CI machines, 4 scenarios at once\n",
        "  imspec run --filter 'recall/*' --filter login/ok --update-snapshots   # then review the snapshot diff\n",
        "  imspec run --client ./my-driver --update-expected-failures            # then write the reasons\n",
        "  imspec run --fault no-server-receipt                     # the reference client with one behaviour broken\n\n",
        "Exit status: 0 all passed (XFAIL allowed), 1 a scenario failed or an expected failure passed (XPASS),\n",
        "2 the harness could not run (bad flags, broken scenario or expected-failures file, driver that will not start)."
    ))]
    Run(RunArgs),
    /// Run the suite against the reference client and each named client; print scenario ×
    /// client verdicts.
    Matrix(MatrixArgs),
    /// List scenarios with their purpose and the guide line they check.
    #[command(
        after_help = "Examples:\n  imspec list\n  imspec list --filter 'messages/*'\n  imspec list --shard 1/2      # what the first of two CI machines runs"
    )]
    List {
        #[command(flatten)]
        selection: Selection,
    },
    /// Prove that every verdict can fail: run the suite against the reference client clean and
    /// under each fault switch, and print the kill matrix.
    #[command(
        long_about = "Runs the suite against the reference client once clean (every scenario must \
        PASS) and once per fault switch, all runs through one job pool, and prints the kill matrix: \
        a scenario is killed by a switch when it does not PASS under it. Fails (exit 1) unless every \
        scenario is killed by some switch, every switch kills some scenario, and every switch a \
        scenario declares in `killed_by` kills it.",
        after_help = "Examples:\n  imspec selftest\n  imspec selftest --html matrix.html --json matrix.json\n  imspec selftest --filter 'login/*'     # a part of the suite (then switches may kill nothing)\n\nExit status: 0 the matrix proves every verdict can fail, 1 it does not (the survivors are listed), 2 the harness could not run."
    )]
    Selftest(SelftestArgs),
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

/// Which scenarios.
#[derive(clap::Args)]
struct Selection {
    /// Scenarios folder.
    #[arg(long, default_value = "scenarios")]
    scenarios: PathBuf,
    /// Only scenarios whose id matches this glob, e.g. 'login/*' (repeatable: any of them).
    #[arg(long, value_name = "GLOB")]
    filter: Vec<String>,
    /// Only part K of N of the suite (stable partition by scenario id: the N shards are
    /// disjoint and together make the suite), e.g. 1/4.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
}

impl Selection {
    fn select(&self) -> Result<Vec<Scenario>> {
        let mut scenarios = runner::select(&self.scenarios, &self.filter)?;
        if scenarios.is_empty() {
            anyhow::bail!(
                "no scenario in {} matches {}",
                self.scenarios.display(),
                if self.filter.is_empty() {
                    "(no filter)".to_string()
                } else {
                    self.filter.join(", ")
                }
            );
        }
        if let Some(shard) = self.shard {
            scenarios.retain(|s| shard.contains(&s.id));
        }
        Ok(scenarios)
    }

    /// Whether this is the whole suite.
    fn whole(&self) -> bool {
        self.filter.is_empty() && self.shard.is_none_or(|s| s.count == 1)
    }

    fn snapshots(&self, given: &Option<PathBuf>) -> PathBuf {
        given.clone().unwrap_or_else(|| {
            self.scenarios
                .parent()
                .unwrap_or(Path::new("."))
                .join("snapshots")
        })
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// The driver command line of the client under test, run through `sh -c`. Without it the
    /// bundled reference client runs.
    #[arg(long, value_name = "COMMAND")]
    client: Option<String>,
    #[command(flatten)]
    selection: Selection,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Write the JSON report (schema 1) here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report here (one test case per scenario, classname = area).
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write a self-contained HTML report here (steps, frames, diffs; no network needed).
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// The expected-failures file [default: `expected-failures.txt` beside the driver's file].
    #[arg(long, value_name = "PATH")]
    expected_failures: Option<PathBuf>,
    /// Rewrite the expected-failures file from this run: entries of scenarios that now pass
    /// go, new failures come in with a placeholder reason (replace it), comments and other
    /// reasons stay.
    #[arg(long)]
    update_expected_failures: bool,
    /// Rewrite the snapshots from this run instead of comparing (review the diff before
    /// committing; CI never does this).
    #[arg(long)]
    update_snapshots: bool,
    /// Scenarios run at once [default: 4 per core: runs mostly wait, they do not compute].
    #[arg(long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
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
    /// Run each scenario N times; a scenario whose verdict or transcript changes between runs
    /// is FLAKY (with the differences shown) and fails the run.
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::MIN)]
    repeat: NonZeroUsize,
    /// Start a fresh driver for every scenario even when it can be `reset`.
    #[arg(long)]
    fresh_drivers: bool,
}

#[derive(clap::Args)]
struct SelftestArgs {
    #[command(flatten)]
    selection: Selection,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Runs at once [default: 32 × the number of cores, at most 128: the reference client needs
    /// little CPU, and a broken one mostly waits for a step's deadline].
    #[arg(long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
    /// Default deadline of each step, in milliseconds (a broken client often makes a step wait
    /// for all of it; the clean reference client answers in milliseconds).
    #[arg(long, default_value_t = 3_000)]
    step_timeout_ms: u64,
    /// Switches excused from killing a scenario, one per line with `# reason` [default:
    /// `unkilled-switches.txt` in the scenarios folder, if there]. A listed switch that kills a
    /// scenario fails the gate: remove its line.
    #[arg(long, value_name = "PATH")]
    waivers: Option<PathBuf>,
    /// Write the kill matrix as JSON here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the kill matrix as a self-contained HTML page here.
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
}

#[derive(clap::Args)]
struct MatrixArgs {
    /// A client column, `NAME=COMMAND` (repeatable, in order; the reference client is always
    /// the first column). Its expected failures are `expected-failures.txt` beside the driver.
    #[arg(long = "client", value_name = "NAME=CMD")]
    clients: Vec<String>,
    #[command(flatten)]
    selection: Selection,
    /// Snapshots folder [default: `snapshots` beside the scenarios folder].
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Write the matrix as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the matrix as a self-contained HTML page here.
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// Scenarios run at once within a column [default: 4 per core].
    #[arg(long)]
    jobs: Option<usize>,
    /// Default deadline of each step, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    step_timeout_ms: u64,
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
            eprintln!("imspec: error: {}", chain(&e));
            ExitCode::from(EXIT_HARNESS)
        }
    }
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

async fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::List { selection } => list(&selection),
        Command::Selftest(args) => selftest(args).await,
        Command::Matrix(args) => matrix(args).await,
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

/// The bundled reference client (`imspec driver`), with fault switches when given.
fn reference_client(fault: Option<&str>) -> Result<ClientSpec> {
    if let Some(faults) = fault {
        imspec::client::Faults::parse(faults)?;
    }
    let exe = std::env::current_exe().context("cannot find the imspec executable")?;
    let exe = exe.to_string_lossy();
    Ok(ClientSpec {
        command: format!("exec {} driver", shell_words::quote(&exe)),
        env: fault
            .iter()
            .map(|f| ("IMSPEC_FAULTS".to_string(), f.to_string()))
            .collect(),
        label: match fault {
            Some(f) => format!("reference client (faults: {f})"),
            None => "reference client".to_string(),
        },
    })
}

/// Scenarios at once by default: a run mostly waits (on sockets, on the driver), not computes;
/// measured in README "Speed".
fn default_jobs() -> usize {
    imspec::runner::JOBS_PER_CORE * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Feeds `reports` every event sent on the returned channel; the handle gives them back once
/// the channel's senders are all gone.
fn spawn_reports(
    mut reports: Reports,
) -> (
    tokio::sync::mpsc::UnboundedSender<RunEvent>,
    tokio::task::JoinHandle<Reports>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            reports.event(&event);
        }
        reports
    });
    (tx, handle)
}

async fn run(args: RunArgs) -> Result<u8> {
    if args.list_faults {
        for (name, description) in imspec::client::Faults::ALL {
            println!("{name:<28} {description}");
        }
        return Ok(EXIT_OK);
    }
    let scenarios = args.selection.select()?;
    let client = match &args.client {
        Some(command) => ClientSpec {
            command: command.clone(),
            env: Vec::new(),
            label: command.clone(),
        },
        None => reference_client(args.fault.as_deref())?,
    };
    let expected_path = args
        .expected_failures
        .clone()
        .or_else(|| beside_driver(args.client.as_deref()));
    let (expected, expected_text) = match &expected_path {
        Some(path) if args.update_expected_failures && !path.exists() => (
            ExpectedFailures {
                path: Some(path.clone()),
                entries: Vec::new(),
            },
            expected::NEW_FILE_HEADER.to_string(),
        ),
        Some(path) => {
            eprintln!("expected failures: {}", path.display());
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            (ExpectedFailures::parse(path, &text)?, text)
        }
        None if args.update_expected_failures => anyhow::bail!(
            "--update-expected-failures needs the file to rewrite: give --expected-failures PATH"
        ),
        None => (ExpectedFailures::default(), String::new()),
    };
    let config = RunConfig {
        client,
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        snapshots: args.selection.snapshots(&args.snapshots),
        update_snapshots: args.update_snapshots,
        jobs: args.jobs.map_or_else(default_jobs, NonZeroUsize::get),
        expected,
    };
    if scenarios.is_empty() {
        println!(
            "shard {} holds no scenario of this selection; nothing to run",
            args.selection
                .shard
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
        return Ok(EXIT_OK);
    }

    let mut reports = Reports::default();
    reports.add(Terminal::new());
    if let Some(path) = &args.json {
        reports.add(JsonSink::new(path));
    }
    if let Some(path) = &args.junit {
        reports.add(JunitSink::new(path));
    }
    if let Some(path) = &args.html {
        reports.add(HtmlSink::new(path));
    }
    let (tx, handle) = spawn_reports(reports);
    let interrupt = runner::interrupt::Interrupt::on_signals()
        .context("cannot listen for SIGINT and SIGTERM")?;
    let control = runner::RunControl {
        repeat: args.repeat.get(),
        interrupt: Some(interrupt.clone()),
        reuse_drivers: !args.fresh_drivers,
    };
    let runs = runner::run_all_with(scenarios, &config, &control, tx).await;
    handle.await.context("the reports stopped")?.finish()?;
    if let Some(status) = interrupt.exit_status() {
        eprintln!(
            "imspec: interrupted ({}): the reports hold the scenarios finished so far, the rest NOT RUN",
            interrupt.reason().unwrap_or_default()
        );
        return Ok(status);
    }

    let errors: Vec<&runner::ScenarioRun> = runs
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .collect();
    if let Some(first) = errors.first() {
        eprintln!(
            "imspec: error: the harness could not run {} scenario(s); {}: {}",
            errors.len(),
            first.id,
            first.failure_message().unwrap_or_default()
        );
        return Ok(EXIT_HARNESS);
    }
    if args.update_expected_failures
        && let Some(path) = &expected_path
    {
        update_expected_failures(path, &config.expected, &expected_text, &runs)?;
        return Ok(EXIT_OK);
    }
    Ok(if runs.iter().any(|r| r.verdict.fails_run()) {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Rewrites the expected-failures file from `runs` and says what changed.
fn update_expected_failures(
    path: &Path,
    list: &ExpectedFailures,
    text: &str,
    runs: &[runner::ScenarioRun],
) -> Result<()> {
    let observed = runs.iter().map(|r| (r.id.clone(), r.observed())).collect();
    let rewrite = list.rewrite(text, &observed);
    std::fs::write(path, &rewrite.text)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!("\nexpected failures rewritten: {}", path.display());
    for pattern in &rewrite.removed {
        println!("  removed {pattern} (passes now)");
    }
    for pattern in &rewrite.narrowed {
        println!("  {pattern} replaced by the scenarios it lists that still fail");
    }
    for id in &rewrite.added {
        println!("  added {id}");
    }
    if !rewrite.added.is_empty() {
        eprintln!(
            "imspec: warning: {} new entr{} in {} carry the placeholder reason `{}`: write the real one (cite the guide)",
            rewrite.added.len(),
            if rewrite.added.len() == 1 { "y" } else { "ies" },
            path.display(),
            expected::PLACEHOLDER_REASON
        );
    }
    Ok(())
}

async fn selftest(args: SelftestArgs) -> Result<u8> {
    let scenarios = args.selection.select()?;
    let waivers = match &args.waivers {
        Some(path) => Some(ExpectedFailures::load(path)?),
        None => {
            let path = args.selection.scenarios.join("unkilled-switches.txt");
            path.is_file()
                .then(|| ExpectedFailures::load(&path))
                .transpose()?
        }
    };
    let config = RunConfig {
        client: reference_client(None)?,
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        snapshots: args.selection.snapshots(&args.snapshots),
        update_snapshots: false,
        jobs: args
            .jobs
            .map_or_else(|| (32 * default_jobs()).min(128), NonZeroUsize::get),
        expected: ExpectedFailures::default(),
    };
    let switches: Vec<String> = imspec::client::Faults::ALL
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let mut reports = Reports::default();
    reports.add(Terminal::progress_only());
    let (tx, handle) = spawn_reports(reports);
    let mut matrix =
        runner::selftest::run(&scenarios, &config, &switches, args.selection.whole(), tx).await;
    handle.await.context("the reports stopped")?.finish()?;
    if let Some(waivers) = &waivers {
        matrix.waive(waivers);
    }
    print!("{}", imspec::report::terminal::kill_matrix(&matrix));
    if let Some(path) = &args.json {
        json::write_selftest(path, &matrix)?;
    }
    if let Some(path) = &args.html {
        html::write_selftest(path, &matrix)?;
    }
    let errors = matrix.harness_errors();
    if !errors.is_empty() {
        eprintln!(
            "imspec: error: the harness could not run {} of the runs:",
            errors.len()
        );
        for error in errors.iter().take(5) {
            eprintln!("  {error}");
        }
        return Ok(EXIT_HARNESS);
    }
    Ok(if matrix.problems().is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

async fn matrix(args: MatrixArgs) -> Result<u8> {
    use imspec::report::matrix as report;
    use imspec::runner::matrix::{Column, MatrixEvent, run_matrix};
    let scenarios = args.selection.select()?;
    let mut columns = vec![Column {
        name: "reference".to_string(),
        client: reference_client(None)?,
        expected: ExpectedFailures::default(),
    }];
    for spec in &args.clients {
        let Some((name, command)) = spec
            .split_once('=')
            .filter(|(n, c)| !n.is_empty() && !c.is_empty())
        else {
            anyhow::bail!("--client {spec:?} is not NAME=COMMAND");
        };
        if columns.iter().any(|c| c.name == name) {
            anyhow::bail!("--client {name:?} is named twice");
        }
        let expected = match beside_driver(Some(command)) {
            Some(path) => ExpectedFailures::load(&path)?,
            None => ExpectedFailures::default(),
        };
        columns.push(Column {
            name: name.to_string(),
            client: ClientSpec {
                command: command.to_string(),
                env: Vec::new(),
                label: command.to_string(),
            },
            expected,
        });
    }
    let base = RunConfig {
        client: columns[0].client.clone(),
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        snapshots: args.selection.snapshots(&args.snapshots),
        update_snapshots: false,
        jobs: args.jobs.unwrap_or_else(default_jobs),
        expected: ExpectedFailures::default(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = tokio::spawn(async move {
        let (mut done, mut total) = (0, 0);
        while let Some(event) = rx.recv().await {
            match event {
                MatrixEvent::ColumnStarted { name, total: t } => {
                    (done, total) = (0, t);
                    eprintln!("matrix: {name}: {t} scenarios");
                }
                MatrixEvent::Finished { column, run } => {
                    done += 1;
                    if run.verdict.fails_run() {
                        eprintln!(
                            "matrix: {column}: {} {} ({done}/{total})",
                            run.verdict.label(),
                            run.id
                        );
                    }
                }
            }
        }
    });
    let result = run_matrix(scenarios, &base, columns, tx).await;
    let _ = progress.await;
    print!("{}", report::table(&result));
    if let Some(path) = &args.json {
        report::write_json(path, &result)
            .with_context(|| format!("cannot write the JSON matrix to {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        html::write_version_matrix(path, &result)?;
    }
    Ok(if result.has_errors() {
        EXIT_HARNESS
    } else if result.fails() {
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

fn list(selection: &Selection) -> Result<u8> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for scenario in selection.select()? {
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
