//! `event`: wait for an SDK callback of a user whose data matches. Each event satisfies one
//! step only; events need not arrive in step order. Absence is decided by the settle rule
//! (`runner::absence`); a `timer = true` step by firing the client's timers when its driver
//! can, else by the deadline.

use super::{Broken, Missing, State};
use crate::driver::Driver;
use crate::runner::absence::Timer;
use crate::runner::matching;
use crate::scenario::step::EventStep;
use serde_json::Value;
use tokio::time::Instant;

pub(super) async fn run(
    state: &mut State<'_>,
    driver: &mut Driver,
    step: &EventStep,
    timer: Timer,
    deadline: Instant,
) -> Result<Option<Value>, Broken> {
    let EventStep { user, name, data } = step;
    let started = Instant::now();
    let data = data.as_ref().map(|d| state.fill(d)).transpose()?;
    let used = &state.used_events;
    let recorder = state.server.recorder();
    let what = format!("event {name} for {user}");
    let found = state
        .watch(&recorder)
        .event(driver, Some(user), 0, timer, deadline, &what, |i, e| {
            !used.contains(&i)
                && e.event == *name
                && e.user.as_deref() == Some(user)
                && data
                    .as_ref()
                    .is_none_or(|d| matching::check(d, &e.data, "data").is_ok())
        })
        .await;
    match found {
        Ok(index) => {
            state.used_events.insert(index);
            Ok(Some(driver.events()[index].data.clone()))
        }
        Err(missing @ (Missing::Absent | Missing::Deadline)) => {
            let when = match missing {
                Missing::Absent => "once the run settled".to_string(),
                _ => format!("within {} ms", (deadline - started).as_millis()),
            };
            Err(Broken::Expectation(explain_missing(
                state,
                driver,
                user,
                name,
                data.as_ref(),
                &when,
            )))
        }
        Err(Missing::Unsettled(e)) => Err(Broken::Expectation(format!("waiting for {what}: {e}"))),
        Err(Missing::Driver(other)) => Err(other.into()),
    }
}

/// Why no event matched: the closest candidate's difference, or the events that came.
fn explain_missing(
    state: &State<'_>,
    driver: &Driver,
    user: &str,
    name: &str,
    data: Option<&Value>,
    when: &str,
) -> String {
    let candidates: Vec<String> = driver
        .events()
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            !state.used_events.contains(i) && e.event == name && e.user.as_deref() == Some(user)
        })
        .filter_map(|(_, e)| data.and_then(|d| matching::check(d, &e.data, "data").err()))
        .map(|m| m.to_string())
        .collect();
    if let Some(first) = candidates.first() {
        return format!("{name} for {user} arrived but does not match: {first}");
    }
    let seen: Vec<&str> = driver
        .events()
        .iter()
        .filter(|e| e.user.as_deref() == Some(user))
        .map(|e| e.event.as_str())
        .collect();
    format!(
        "no {name} for {user} arrived {when}; events seen for {user}: {}",
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.join(", ")
        }
    )
}
