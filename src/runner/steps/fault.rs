//! `fault`: arm a fault for the next matching frame or REST request. The step arrives as the
//! server's own [`Fault`] (checked when the file was loaded).

use super::{Broken, State};
use crate::server::Fault;
use serde_json::Value;

pub(super) fn run(state: &mut State<'_>, fault: &Fault) -> Result<Option<Value>, Broken> {
    state.control.arm(fault.clone());
    Ok(None)
}
