//! The harness side of the driver protocol (`DRIVER-PROTOCOL.md`): start a driver
//! process, say hello, send requests with deadlines, collect replies and events, shut it down.
//!
//! A driver that writes a line that is not a JSON object, exits early or hangs is reported as
//! a [`DriverFailure`] with the reason and its stderr tail, and its whole process group is
//! killed. `pool` keeps drivers that can be `reset` for the next scenario. This module knows
//! nothing of scenarios or the fake server.

pub mod check;
pub mod pool;
pub mod process;
pub mod protocol;

pub use pool::{ClientKey, DriverPool, Pooled};
pub use process::{Driver, DriverFailure, Hello, LogEntry};
