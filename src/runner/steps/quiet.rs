//! `quiet`: nothing more may arrive for a user during a short window.

use super::Broken;
use crate::driver::Driver;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

pub(super) async fn run(
    driver: &mut Driver,
    user: &str,
    window: Duration,
) -> Result<Option<Value>, Broken> {
    let before = driver.events().len();
    driver.drain_until(Instant::now() + window).await?;
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
            "expected nothing more for {user} within {} ms, got: {}",
            window.as_millis(),
            late.join("; ")
        )))
    }
}
