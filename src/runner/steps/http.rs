//! `http`: wait for a REST exchange the fake server recorded (of a user, or anyone's) whose view
//! `{method, path, query, user, request, status, response}` matches: the transcript's `http`
//! lane, where an upload shows its file's size and sha256, never its bytes. Each exchange
//! satisfies one step only. Absence is decided by the settle rule (`runner::absence`), which
//! waits for attachment requests in flight.

use super::{Broken, State, take_first_match};
use crate::driver::Driver;
use crate::scenario::step::HttpStep;
use crate::server::observe::ObservationKind;
use serde_json::Value;
use std::borrow::Cow;
use tokio::time::Instant;

pub(super) async fn run(
    state: &mut State<'_>,
    driver: &mut Driver,
    step: &HttpStep,
    deadline: Instant,
) -> Result<Option<Value>, Broken> {
    let matches = state.fill(&step.matches)?;
    let user = step.user.as_deref();
    let recorder = state.server.recorder();
    let mut closest: Option<String> = None;
    let mut last_look = false;
    loop {
        let found = take_first_match(
            &recorder,
            &mut state.used_http,
            &matches,
            "http",
            &mut closest,
            |kind| match kind {
                ObservationKind::Http(h) if user.is_none_or(|u| h.user.as_deref() == Some(u)) => {
                    Some(Cow::Owned(serde_json::to_value(h).unwrap_or(Value::Null)))
                }
                _ => None,
            },
        );
        if found.is_some() {
            return Ok(found);
        }
        let gone = state
            .gone_after_look(
                &recorder,
                driver,
                deadline,
                &mut last_look,
                "an HTTP exchange",
            )
            .await?;
        if gone {
            let who = user.map(|u| format!(" of {u}")).unwrap_or_default();
            return Err(Broken::Expectation(format!(
                "no HTTP exchange{who} matched {matches}{}",
                closest
                    .map(|c| format!("; the last candidate differs {c}"))
                    .unwrap_or_default()
            )));
        }
    }
}
