//! `deliver`: a scripted peer's message, built by `runner::scripted` and sent by the server;
//! `deliver_raw`: one whose payload bytes the scenario gives. The result (`as`) of either is
//! `{ serverMsgId }`.

use super::{Broken, State};
use crate::scenario::step::{ChatTypeName, DeliverStep};
use serde_json::{Value, json};

pub(super) async fn run(
    state: &mut State<'_>,
    message: &DeliverStep,
) -> Result<Option<Value>, Broken> {
    let fields = state.fill(&Value::Object(message.fields.clone()))?;
    let scripted =
        crate::runner::scripted::message(message, &fields).map_err(Broken::Expectation)?;
    let id = state
        .control
        .deliver(scripted)
        .await
        .map_err(|e| Broken::Expectation(format!("the server could not deliver: {e}")))?;
    Ok(Some(json!({"serverMsgId": id.to_string()})))
}

pub(super) async fn run_raw(
    state: &mut State<'_>,
    (from, to, chat_type): (&str, &str, ChatTypeName),
    payload: &[u8],
) -> Result<Option<Value>, Broken> {
    let id = state
        .control
        .deliver_payload(from, to, chat_type.server(), payload.to_vec())
        .await
        .map_err(|e| Broken::Expectation(format!("the server could not deliver: {e}")))?;
    Ok(Some(json!({"serverMsgId": id.to_string()})))
}
