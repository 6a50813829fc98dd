//! Request steps (`connect`, `send`, `recall`, `history`, `sessions`, `download`,
//! `disconnect`, `request`): send the op to the driver and check its reply. `connect` gets the
//! world's password and the server's URLs unless the step sets them, and the scenario's
//! `[emoji]` map for a driver that announces `emoji` (a scenario with a map is unsupported by
//! one that does not); it waits for the client to settle once it is in.

use super::{Broken, State};
use crate::driver::protocol::{self, Capability, Reply};
use crate::driver::{Driver, Hello};
use crate::runner::matching;
use crate::scenario::{ReplyExpectation, template};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tokio::time::Instant;

#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    state: &mut State<'_>,
    driver: &mut Driver,
    hello: &Hello,
    op: &str,
    user: Option<&str>,
    args: &Value,
    reply: &ReplyExpectation,
    deadline: Instant,
) -> Result<Option<Value>, Broken> {
    if !hello.ops.is_empty() && !hello.ops.iter().any(|o| o == op) {
        return Err(Broken::Unsupported(format!(
            "the driver does not list op `{op}` in hello"
        )));
    }
    let mut args = state.fill(args)?;
    if op == "connect" {
        args = connect_args(state, hello, user.unwrap_or_default(), args)?;
    }
    if op == "send" {
        generated_file(hello, &mut args)?;
    }
    if *reply == ReplyExpectation::None {
        driver.request(op, user, args).await?;
        return Ok(None);
    }
    let answer = driver.call(op, user, args, deadline).await?;
    let result = check_reply(op, &answer, reply, &state.saved)?;
    if op == "connect"
        && answer.ok
        && let Some(user) = user
    {
        state.settle(user).await;
    }
    Ok(result)
}

/// A `send`'s generated attachment (`file = {name, mime, size}`, protocol 3): a driver older
/// than version 3 gets the bytes themselves, as `base64`.
fn generated_file(hello: &Hello, args: &mut Value) -> Result<(), Broken> {
    let Some(file) = args.get_mut("file") else {
        return Ok(());
    };
    let Some(size) = protocol::generated_size(file) else {
        return Ok(());
    };
    let size = size.map_err(Broken::Expectation)?;
    if hello.protocol < 3
        && let Some(file) = file.as_object_mut()
    {
        file.remove("size");
        let bytes = protocol::generated_file(size);
        file.insert("base64".into(), json!(BASE64.encode(bytes)));
    }
    Ok(())
}

/// The `connect` arguments: the world's password and the server's URLs unless the step sets
/// them, and the scenario's emoji map (DRIVER-PROTOCOL.md, "Emoji").
fn connect_args(
    state: &State<'_>,
    hello: &Hello,
    user: &str,
    args: Value,
) -> Result<Value, Broken> {
    let urls = state.server.urls();
    let world = &state.scenario.world;
    let password = world
        .users
        .get(user)
        .map(|u| u.password.clone())
        .unwrap_or_default();
    let mut full = json!({
        "password": password,
        "appKey": world.app_key,
        "url": urls.sockjs,
        "wsUrl": urls.websocket,
        "apiUrl": urls.api,
        "options": {},
    });
    if let Some(emoji) = &state.scenario.emoji {
        if !hello.can(Capability::Emoji) {
            return Err(Broken::Unsupported(
                "the scenario installs WebIM.Emoji ([emoji]) and the driver does not announce the `emoji` capability".into(),
            ));
        }
        full["emoji"] = serde_json::to_value(emoji).unwrap_or(Value::Null);
    }
    if let (Some(full), Value::Object(given)) = (full.as_object_mut(), args) {
        full.extend(given);
    }
    Ok(full)
}

fn check_reply(
    op: &str,
    reply: &Reply,
    expected: &ReplyExpectation,
    saved: &BTreeMap<String, Value>,
) -> Result<Option<Value>, Broken> {
    if let Some(error) = &reply.error
        && error.is_unsupported()
    {
        return Err(Broken::Unsupported(format!(
            "the driver does not support `{op}`: {}",
            error.message.clone().unwrap_or_default()
        )));
    }
    let error_value = || serde_json::to_value(&reply.error).unwrap_or(Value::Null);
    let fill = |v: &Value| template::fill(v, saved).map_err(|e| Broken::Expectation(e.to_string()));
    match (expected, reply.ok) {
        (ReplyExpectation::Ok(result), true) => {
            let actual = reply.result.clone().unwrap_or(Value::Null);
            if let Some(result) = result {
                matching::check(&fill(result)?, &actual, "result")
                    .map_err(|m| Broken::Expectation(format!("`{op}` reply {m}")))?;
            }
            Ok(Some(actual))
        }
        (ReplyExpectation::Err(error), false) => {
            let actual = error_value();
            if let Some(error) = error {
                matching::check(&fill(error)?, &actual, "error")
                    .map_err(|m| Broken::Expectation(format!("`{op}` error {m}")))?;
            }
            Ok(Some(actual))
        }
        (ReplyExpectation::None, _) => Ok(None),
        (ReplyExpectation::Ok(_), false) => Err(Broken::Expectation(format!(
            "`{op}` failed but should succeed: {}",
            error_value()
        ))),
        (ReplyExpectation::Err(_), true) => Err(Broken::Expectation(format!(
            "`{op}` succeeded but should fail: {}",
            reply.result.clone().unwrap_or(Value::Null)
        ))),
    }
}
