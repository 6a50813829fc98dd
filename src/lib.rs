//! imspec: a conformance harness for the Easemob / Agora WebIM chat protocol.
//!
//! A scripted fake chat server (`server`) and a scenario runner (`runner`) drive any client
//! through a driver process (`driver`) and check the frames on the wire against snapshots.
//! The bundled reference client (`client`) behaves as the documented 3.x Web SDK does.

pub mod cli;
pub mod client;
pub mod driver;
pub mod fuzz;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod wire;
