//! `http`: wait for a REST exchange the fake server recorded (of a user, or anyone's) whose view
//! `{method, path, query, user, request, status, response}` matches: the transcript's `http`
//! lane, where an upload shows its file's size and sha256, never its bytes. Each exchange
//! satisfies one step only. Absence is decided by the settle rule (`runner::absence`), which
//! waits for attachment requests in flight.

use super::{Broken, State};
use crate::driver::Driver;
use crate::runner::matching;
use crate::scenario::step::HttpStep;
use crate::server::observe::ObservationKind;
use serde_json::Value;
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
        let found = recorder.read_since(0, |observed| {
            observed.iter().find_map(|o| {
                let ObservationKind::Http(h) = &o.kind else {
                    return None;
                };
                if state.used_http.contains(&o.seq)
                    || user.is_some_and(|u| h.user.as_deref() != Some(u))
                {
                    return None;
                }
                let view = serde_json::to_value(h).unwrap_or(Value::Null);
                match matching::check(&matches, &view, "http") {
                    Ok(()) => Some((o.seq, view)),
                    Err(m) => {
                        closest = Some(m.to_string());
                        None
                    }
                }
            })
        });
        if let Some((seq, view)) = found {
            state.used_http.insert(seq);
            return Ok(Some(view));
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
