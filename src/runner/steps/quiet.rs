//! `quiet`: nothing more may arrive for a user. Judged once the run is settled (plus the grace,
//! `runner::absence`), or, for a `timer = true` step, during the step's window.

use super::{Broken, Missing, State};
use crate::driver::Driver;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

pub(super) async fn run(
    state: &mut State<'_>,
    driver: &mut Driver,
    user: &str,
    window: Duration,
    timer: bool,
    deadline: Instant,
) -> Result<Option<Value>, Broken> {
    let before = driver.events().len();
    if timer {
        driver.drain_until(Instant::now() + window).await?;
    } else {
        match state.stand_still(driver, deadline).await {
            Ok(()) | Err(Missing::Absent | Missing::Deadline) => {}
            Err(Missing::Unsettled(e)) => return Err(Broken::Expectation(e.to_string())),
            Err(Missing::Driver(e)) => return Err(e.into()),
        }
    }
    if let Some(exception) = driver.take_exception(Some(user)) {
        return Err(exception.into());
    }
    let late: Vec<String> = driver.events()[before..]
        .iter()
        .filter(|e| e.user.as_deref() == Some(user))
        .map(|e| format!("{} {}", e.event, e.data))
        .collect();
    if late.is_empty() {
        Ok(None)
    } else {
        Err(Broken::Expectation(format!(
            "expected nothing more for {user}{}, got: {}",
            if timer {
                format!(" within {} ms", window.as_millis())
            } else {
                " once the run settled".to_string()
            },
            late.join("; ")
        )))
    }
}
