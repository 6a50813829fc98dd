//! Stopping a run early: SIGINT (Ctrl-C) or SIGTERM (a CI job's timeout) set an [`Interrupt`];
//! the runner then stops starting scenarios, drops the ones still going (which kills their
//! drivers' process groups), marks every unfinished scenario NOT RUN and lets the reports be
//! written. This module owns the signal handlers; it does not exit the process.

use tokio::sync::watch;

/// Whether, and by what, the run was asked to stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt {
    rx: watch::Receiver<Option<String>>,
}

/// Sets an [`Interrupt`] by hand (tests, and the signal task).
#[derive(Debug, Clone)]
pub struct Trigger {
    tx: std::sync::Arc<watch::Sender<Option<String>>>,
}

impl Trigger {
    /// Asks the run to stop, naming why (`"SIGINT"`); the first reason wins.
    pub fn fire(&self, why: &str) {
        self.tx.send_if_modified(|reason| {
            if reason.is_some() {
                return false;
            }
            *reason = Some(why.to_string());
            true
        });
    }
}

impl Interrupt {
    /// An interrupt and the trigger that sets it.
    pub fn new() -> (Trigger, Interrupt) {
        let (tx, rx) = watch::channel(None);
        (
            Trigger {
                tx: std::sync::Arc::new(tx),
            },
            Interrupt { rx },
        )
    }

    /// An interrupt set by SIGINT or SIGTERM (from then on those signals no longer end the
    /// process by themselves: the caller must stop).
    pub fn on_signals() -> std::io::Result<Interrupt> {
        use tokio::signal::unix::{SignalKind, signal};
        let (trigger, interrupt) = Interrupt::new();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            let why = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            trigger.fire(why);
        });
        Ok(interrupt)
    }

    /// Waits until the run is asked to stop; returns why.
    pub async fn wait(&mut self) -> String {
        match self.rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            // The trigger is gone without firing: never.
            Err(_) => std::future::pending().await,
        }
    }

    /// Why the run was asked to stop, if it was.
    pub fn reason(&self) -> Option<String> {
        self.rx.borrow().clone()
    }

    /// The conventional exit status of a process stopped by this signal (128 + its number).
    pub fn exit_status(&self) -> Option<u8> {
        self.reason().map(|why| match why.as_str() {
            "SIGINT" => 130,
            "SIGTERM" => 143,
            _ => 1,
        })
    }
}
