//! Reports of a run: the terminal, `--json`, `--junit` and `--html`. Every report is a [`Sink`]
//! fed the same [`RunEvent`]s, in the order the runner sends them; none recomputes a verdict,
//! each only draws what the runner decided. The kill matrix of `imspec selftest` is drawn by the
//! `selftest` functions of the same modules.
//!
//! Reports own their files and stdout; they do not touch scenarios, snapshots or the
//! expected-failures list.

pub mod html;
pub mod json;
pub mod junit;
pub mod matrix;
pub mod terminal;

use crate::runner::{RunEvent, ScenarioRun};
use std::path::{Path, PathBuf};

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be written.
    #[error("cannot write the {what} report to {path}: {source}")]
    Write {
        /// Which report.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The JUnit document could not be serialised.
    #[error("cannot serialise the JUnit report for {path}: {why}")]
    Junit {
        /// Where it was going.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// Writes `text` to `path`, naming the report in the error.
fn write_file(what: &'static str, path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Each remark of the runs once, in order of first appearance (a remark such as "no wire
/// baseline" holds for every scenario of a run).
pub fn distinct_remarks(runs: &[ScenarioRun]) -> Vec<String> {
    let mut remarks: Vec<String> = Vec::new();
    for remark in runs.iter().flat_map(|r| &r.remarks) {
        if !remarks.contains(remark) {
            remarks.push(remark.clone());
        }
    }
    remarks
}

/// One report, fed every event of the run, then finished once the run is over.
pub trait Sink: Send {
    /// Takes one event as it happens.
    fn event(&mut self, event: &RunEvent);
    /// The run is over: print or write what is left.
    fn finish(&mut self) -> Result<(), ReportError>;
}

/// What a report keeps of the events: the client's name and every finished scenario.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    /// How the run named the client.
    pub client: String,
    /// The finished scenarios, in id order once [`Collected::runs`] was called.
    runs: Vec<ScenarioRun>,
}

impl Collected {
    /// Files one event.
    pub fn record(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started { client, .. } => self.client = client.clone(),
            RunEvent::Finished(run) => self.runs.push((**run).clone()),
        }
    }

    /// The finished scenarios in id order.
    pub fn runs(&mut self) -> &[ScenarioRun] {
        self.runs.sort_by(|a, b| a.id.cmp(&b.id));
        &self.runs
    }
}

/// Several sinks fed as one.
#[derive(Default)]
pub struct Reports {
    sinks: Vec<Box<dyn Sink>>,
}

impl Reports {
    /// Adds a sink.
    pub fn add(&mut self, sink: impl Sink + 'static) {
        self.sinks.push(Box::new(sink));
    }

    /// Feeds every sink one event.
    pub fn event(&mut self, event: &RunEvent) {
        for sink in &mut self.sinks {
            sink.event(event);
        }
    }

    /// Finishes every sink (all of them, even after one failed); the first error, if any.
    pub fn finish(&mut self) -> Result<(), ReportError> {
        let mut first = Ok(());
        for sink in &mut self.sinks {
            if let Err(e) = sink.finish()
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }
}
