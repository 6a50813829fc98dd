//! Reports of a run: the terminal and the `--json` file. Every report is fed by the runner's
//! [`RunEvent`](crate::runner::RunEvent)s and finished runs; none recomputes a verdict.

pub mod json;
pub mod matrix;
pub mod terminal;
