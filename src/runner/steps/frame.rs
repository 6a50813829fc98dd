//! `frame`: wait for a frame on the wire (of a user, in a direction) whose canonical JSON view
//! matches. Each frame satisfies one step only. Absence is decided by the settle rule
//! (`runner::absence`), or by the deadline for a `timer = true` step.

use super::{Broken, State, take_first_match};
use crate::driver::Driver;
use crate::scenario::step::FrameStep;
use crate::server::observe::ObservationKind;
use serde_json::Value;
use std::borrow::Cow;
use tokio::time::Instant;

pub(super) async fn run(
    state: &mut State<'_>,
    driver: &mut Driver,
    step: &FrameStep,
    timer: bool,
    deadline: Instant,
) -> Result<Option<Value>, Broken> {
    let matches = state.fill(&step.matches)?;
    let user = step.user.as_deref();
    let direction = step.dir;
    let recorder = state.server.recorder();
    let mut closest: Option<String> = None;
    let mut last_look = false;
    loop {
        let seen = recorder.len();
        let found = take_first_match(
            &recorder,
            &mut state.used_frames,
            &matches,
            "frame",
            &mut closest,
            |kind| match kind {
                ObservationKind::Frame(f)
                    if f.direction == direction
                        && user.is_none_or(|u| f.user.as_deref() == Some(u)) =>
                {
                    Some(Cow::Borrowed(&f.view))
                }
                _ => None,
            },
        );
        if found.is_some() {
            return Ok(found);
        }
        let gone = if timer && !last_look {
            tokio::time::timeout_at(deadline, recorder.wait_beyond(seen))
                .await
                .is_err()
        } else {
            state
                .gone_after_look(&recorder, driver, deadline, &mut last_look, "a frame")
                .await?
        };
        if gone {
            let who = user.map(|u| format!(" for {u}")).unwrap_or_default();
            return Err(Broken::Expectation(format!(
                "no {} frame{who} matched {matches}{}",
                direction.as_str(),
                closest
                    .map(|c| format!("; the last candidate differs {c}"))
                    .unwrap_or_default()
            )));
        }
    }
}
