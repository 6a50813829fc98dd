//! `kick`: the server sends a STATISTIC meta with a `StatisticsBody.Operation` to a user.

use super::{Broken, State};
use crate::wire::pb::statistics_body::Operation;
use serde_json::Value;

pub(super) async fn run(
    state: &mut State<'_>,
    user: &str,
    operation: Operation,
) -> Result<Option<Value>, Broken> {
    state
        .control
        .kick(user, operation)
        .await
        .map_err(|e| Broken::Expectation(format!("the server could not kick {user}: {e}")))?;
    Ok(None)
}
