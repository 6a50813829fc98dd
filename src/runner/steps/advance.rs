//! `advance`: move the server's virtual clock, releasing answers held by `delay` faults.

use super::{Broken, State};
use serde_json::Value;
use std::time::Duration;

pub(super) async fn run(state: &mut State<'_>, by: Duration) -> Result<Option<Value>, Broken> {
    state.control.advance(by.as_millis() as u64);
    state.control.release_held().await;
    Ok(None)
}
