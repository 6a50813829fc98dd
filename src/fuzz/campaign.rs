//! A fuzz campaign: proptest generates cases from a seed and runs each against one live
//! session; a failing case is shrunk against the same session (restarted only if it died), and
//! the campaign goes on with a derived seed, counting failures of a kind already found as
//! known, until the cases are spent.
//!
//! Before it is reported, each finding's shrunk case runs again in [`RERUNS`] fresh sessions: a
//! finding that does not fail the same way in every one is reported as not reproduced, with
//! what each rerun gave, never as a plain finding.
//!
//! Owns the proptest runner and the bookkeeping; running one case is `live.rs`, writing the
//! regression scenario is `regression.rs`.

use super::FuzzError;
use super::case::Case;
use super::check::{CaseFailure, Stats};
use super::live::Live;
use super::strategy::{self, Mode};
use crate::runner::ClientSpec;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run a campaign.
#[derive(Debug, Clone)]
pub struct Options {
    /// The client.
    pub client: ClientSpec,
    /// The seed: the same seed gives the same cases.
    pub seed: u64,
    /// How many cases to generate.
    pub cases: u32,
    /// Valid or hostile bodies.
    pub mode: Mode,
    /// How long to wait for a callback or reply.
    pub case_timeout: Duration,
    /// At most this many shrinking steps per finding.
    pub max_shrink_iters: u32,
    /// Stop after this many findings.
    pub max_findings: usize,
}

/// A failure found, shrunk.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The kind of failure.
    pub signature: String,
    /// What happened with the shrunk case.
    pub message: String,
    /// The shrunk case.
    pub case: Case,
    /// The case number (from 1) of the campaign at which it was first seen.
    pub at_case: u64,
    /// Whether the shrunk case failed the same way again in fresh sessions.
    pub reproduced: Reproduction,
}

/// Fresh sessions a finding's shrunk case runs in before it is reported.
pub const RERUNS: usize = 2;

/// What the reruns of a finding gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reproduction {
    /// Not rerun yet.
    Pending,
    /// Every rerun failed with the same signature.
    Reproduced,
    /// Some rerun did not: what each gave ("passed", or the other failure).
    NotReproduced(Vec<String>),
}

impl Finding {
    /// Whether it is a finding proper: seen, shrunk and reproduced.
    pub fn is_reproduced(&self) -> bool {
        self.reproduced == Reproduction::Reproduced
    }
}

/// What a campaign found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Cases generated.
    pub cases: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The findings, in order.
    pub findings: Vec<Finding>,
    /// Sessions restarted after a crash or hang.
    pub restarts: usize,
    /// Counters.
    pub stats: Stats,
}

struct State {
    live: Live,
    known: BTreeSet<String>,
    stats: Stats,
    /// Cases generated in this round before its first new failure.
    round_cases: u64,
    first_failure: Option<u64>,
    fatal: Option<String>,
}

/// The proptest RNG for round `round` of seed `seed`.
fn rng(seed: u64, round: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&round.to_le_bytes());
    bytes[16..24].copy_from_slice(b"imspec-f");
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Runs a campaign.
pub async fn run(options: &Options) -> Result<Report, FuzzError> {
    let started = Instant::now();
    let live = Live::start(&options.client, options.case_timeout).await?;
    let state = Arc::new(Mutex::new(State {
        live,
        known: BTreeSet::new(),
        stats: Stats::default(),
        round_cases: 0,
        first_failure: None,
        fatal: None,
    }));
    let handle = tokio::runtime::Handle::current();
    let options2 = options.clone();
    let state2 = state.clone();
    let (findings, cases) =
        tokio::task::spawn_blocking(move || campaign(&options2, &state2, &handle))
            .await
            .map_err(|e| FuzzError::Setup(format!("the campaign thread failed: {e}")))??;
    let state = Arc::try_unwrap(state)
        .map_err(|_| FuzzError::Setup("the campaign state is still shared".into()))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let restarts = state.live.restarts;
    state.live.stop().await;
    let mut findings = findings;
    for finding in &mut findings {
        finding.reproduced = rerun(options, finding).await?;
    }
    Ok(Report {
        cases,
        elapsed: started.elapsed(),
        findings,
        restarts,
        stats: state.stats,
    })
}

/// Runs a finding's shrunk case in [`RERUNS`] fresh sessions.
async fn rerun(options: &Options, finding: &Finding) -> Result<Reproduction, FuzzError> {
    let mut seen = Vec::new();
    for _ in 0..RERUNS {
        let mut live = Live::start(&options.client, options.case_timeout).await?;
        let outcome = live.run(&finding.case, &mut Stats::default()).await;
        live.stop().await;
        seen.push(match outcome {
            Ok(()) => "passed".to_string(),
            Err(f) if f.signature == finding.signature => "the same failure".to_string(),
            Err(f) => format!("{}: {}", f.signature, f.message),
        });
    }
    Ok(if seen.iter().all(|s| s == "the same failure") {
        Reproduction::Reproduced
    } else {
        Reproduction::NotReproduced(seen)
    })
}

fn campaign(
    options: &Options,
    state: &Arc<Mutex<State>>,
    handle: &tokio::runtime::Handle,
) -> Result<(Vec<Finding>, u64), FuzzError> {
    let strategy = strategy::case(options.mode, super::live::world().message_limit_bytes);
    let mut done: u64 = 0;
    let mut findings = Vec::new();
    let mut round = 0;
    while done < u64::from(options.cases) && findings.len() < options.max_findings {
        let config = Config {
            cases: options.cases - done as u32,
            max_shrink_iters: options.max_shrink_iters,
            failure_persistence: None,
            source_file: None,
            max_global_rejects: 1_000_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(config, rng(options.seed, round));
        {
            let mut s = lock(state);
            s.round_cases = 0;
            s.first_failure = None;
        }
        let result = runner.run(&strategy, |case| {
            let mut s = lock(state);
            if let Some(fatal) = &s.fatal {
                return Err(TestCaseError::fail(fatal.clone()));
            }
            if s.first_failure.is_none() {
                s.round_cases += 1;
            }
            s.stats.executions += 1;
            let State { live, stats, .. } = &mut *s;
            let outcome: Result<(), CaseFailure> = handle.block_on(live.run(&case, stats));
            match outcome {
                Ok(()) => Ok(()),
                Err(f) if f.fatal => {
                    s.fatal = Some(f.message.clone());
                    Err(TestCaseError::fail(f.message))
                }
                Err(f) if s.known.contains(&f.signature) => Ok(()),
                Err(f) => {
                    if s.first_failure.is_none() {
                        s.first_failure = Some(s.round_cases);
                    }
                    Err(TestCaseError::fail(format!(
                        "{}\n{}",
                        f.signature, f.message
                    )))
                }
            }
        });
        let mut s = lock(state);
        if let Some(fatal) = s.fatal.take() {
            return Err(FuzzError::Setup(fatal));
        }
        match result {
            Ok(()) => {
                done = u64::from(options.cases);
            }
            Err(TestError::Fail(reason, case)) => {
                let at = s.first_failure.unwrap_or(s.round_cases).max(1);
                let (signature, message) = reason
                    .message()
                    .split_once('\n')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap_or_else(|| (reason.message().to_string(), String::new()));
                s.known.insert(signature.clone());
                findings.push(Finding {
                    signature,
                    message,
                    case,
                    at_case: done + at,
                    reproduced: Reproduction::Pending,
                });
                done += at;
            }
            Err(TestError::Abort(reason)) => {
                return Err(FuzzError::Setup(format!("proptest aborted: {reason}")));
            }
        }
        round += 1;
    }
    Ok((findings, done))
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}
