//! `server_close`: the server drops a user's sockets with a close code and reason.

use super::{Broken, State};
use crate::scenario::step::ServerCloseStep;
use serde_json::Value;

pub(super) async fn run(
    state: &mut State<'_>,
    close: &ServerCloseStep,
) -> Result<Option<Value>, Broken> {
    let ServerCloseStep { user, code, reason } = close;
    state
        .control
        .close(user, *code, reason)
        .await
        .map_err(|e| {
            Broken::Expectation(format!("the server could not close {user}'s socket: {e}"))
        })?;
    Ok(None)
}
