//! One live fuzzing session: a fake server (alice, bob, group `g1`, room `r1`) and one driver
//! with alice and bob connected, through which every case of a campaign runs. A fresh session
//! is started only when the driver died or stopped answering.
//!
//! A callback is judged missing by the runner's absence rule (`runner::absence`), not by a
//! deadline: once the session is settled (bob has handled every frame the server sent) and a
//! grace has passed with nothing moving, what has not arrived will not, however busy the
//! machine. The case timeout only bounds a client that never settles (a hang).
//!
//! Owns running a case and checking its invariants; must not generate cases (`strategy.rs`) nor
//! decide about shrinking or files (`campaign.rs`, `regression.rs`).

use super::FuzzError;
use super::case::{Body, Case, HostileCase, ValidCase, Way};
use super::check::{self, CaseFailure, Stats};
use super::evidence;
use crate::driver::{Driver, DriverFailure};
use crate::runner::ClientSpec;
use crate::runner::absence::{Missing, Timer, Watch};
use crate::server::observe::{ObservationKind, TransportWhat};
use crate::server::{ChatType, FakeServer, GroupSpec, ScriptedMessage, UserSpec, WorldSpec};
use crate::wire::{Direction, frame, pb};
use prost::Message as _;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The password of the fuzz world's users.
const PASSWORD: &str = "password";

/// The world every case runs in.
pub fn world() -> WorldSpec {
    let user = || UserSpec {
        password: PASSWORD.into(),
        ..Default::default()
    };
    let conference = || GroupSpec {
        owner: "alice".into(),
        members: vec!["bob".into()],
        ..Default::default()
    };
    let mut spec = WorldSpec::default();
    spec.users.insert("alice".into(), user());
    spec.users.insert("bob".into(), user());
    spec.groups.insert("g1".into(), conference());
    spec.rooms.insert("r1".into(), conference());
    spec
}

/// A server and a driver with alice and bob logged in.
pub struct Live {
    server: FakeServer,
    driver: Driver,
    client: ClientSpec,
    timeout: Duration,
    probes: u64,
    /// Sessions started after a crash or hang.
    pub restarts: usize,
}

impl Live {
    /// Starts a server and the driver, and logs alice and bob in.
    pub async fn start(client: &ClientSpec, timeout: Duration) -> Result<Live, FuzzError> {
        let server = FakeServer::start(world()).await?;
        let driver = Self::driver(&server, client, timeout).await?;
        Ok(Live {
            server,
            driver,
            client: client.clone(),
            timeout,
            probes: 0,
            restarts: 0,
        })
    }

    async fn driver(
        server: &FakeServer,
        client: &ClientSpec,
        timeout: Duration,
    ) -> Result<Driver, FuzzError> {
        let mut driver = Driver::spawn(&client.command, "fuzz", &client.env)?;
        let deadline = Instant::now() + timeout.max(Duration::from_secs(30));
        driver.hello(deadline).await?;
        driver.probe_idle(deadline).await;
        let urls = server.urls();
        for user in ["alice", "bob"] {
            let args = json!({"password": PASSWORD, "appKey": "org#app", "url": urls.sockjs,
                "wsUrl": urls.websocket, "apiUrl": urls.api, "options": {}});
            let reply = driver.call("connect", Some(user), args, deadline).await?;
            if !reply.ok {
                return Err(FuzzError::Setup(format!(
                    "connect {user} failed: {:?}",
                    reply.error
                )));
            }
        }
        Ok(driver)
    }

    /// Ends the session: the driver is shut down, the server stopped.
    pub async fn stop(mut self) {
        let _ = self
            .driver
            .shutdown(Instant::now() + Duration::from_secs(3))
            .await;
        self.server.shutdown().await;
    }

    /// Replaces the server and driver by fresh ones.
    async fn restart(&mut self) -> Result<(), FuzzError> {
        self.driver.kill();
        let server = FakeServer::start(world()).await?;
        let driver = Self::driver(&server, &self.client, self.timeout).await?;
        let old = std::mem::replace(&mut self.server, server);
        old.shutdown().await;
        self.driver = driver;
        self.restarts += 1;
        Ok(())
    }

    /// Runs one case; on a crash or a hang the session is restarted before returning.
    pub async fn run(&mut self, case: &Case, stats: &mut Stats) -> Result<(), CaseFailure> {
        let result = match case {
            Case::Valid(v) if v.way == Way::ServerToClient => self.deliver(v, stats).await,
            Case::Valid(v) => self.send(v, stats).await,
            Case::Hostile(h) => self.hostile(h, stats).await,
        };
        // An exception the SDK threw during the case fails it even when every callback came
        // (a step is given one only when what it waits for does not come); none is left for
        // the next case.
        let result = match (result, self.driver.take_unclaimed_exception()) {
            (Ok(()), Some(exception)) => Err(driver_failure(exception)),
            (result, _) => result,
        };
        if let Err(failure) = &result
            && failure.restart
        {
            let mut restarted = self.restart().await;
            if restarted.is_err() {
                restarted = self.restart().await;
            }
            if let Err(e) = restarted {
                return Err(CaseFailure::fatal(format!(
                    "{}; the session could not be restarted (twice): {e}",
                    failure.message
                )));
            }
        }
        result
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Server → client: the body goes to bob, whose callback must carry every value.
    async fn deliver(&mut self, case: &ValidCase, stats: &mut Stats) -> Result<(), CaseFailure> {
        let body = case.message_body();
        let msg = ScriptedMessage {
            from: case.from.clone(),
            to: case.chat.to().to_string(),
            chat_type: case.chat.server(),
            body: body.clone(),
        };
        let (seen, from) = (self.server.recorder().len(), self.driver.events().len());
        let id = self.server.control().deliver(msg).await.map_err(|e| {
            CaseFailure::new("harness", format!("the server refused the delivery: {e}"))
        })?;
        stats.note_values(&body.ext, &body.contents[0].custom_exts);
        let custom = &body.contents[0].custom_exts;
        let expected = case
            .expected_event(&body.ext, custom)
            .map_err(|e| CaseFailure::new("harness", e))?;
        let event = self
            .bob_event(seen, from, &id.to_string(), &case.body)
            .await?;
        check::event(&case.body, &event.0, &event.1, &expected)
    }

    /// Client → server: alice sends, the frame must type every value as the SDK does, and
    /// bob's callback must carry them.
    async fn send(&mut self, case: &ValidCase, stats: &mut Stats) -> Result<(), CaseFailure> {
        let seen = self.server.recorder().len();
        let from = self.driver.events().len();
        let deadline = self.deadline();
        let request = self
            .driver
            .request("send", Some("alice"), case.send_args())
            .await
            .map_err(driver_failure)?;
        if let Body::File { .. } = case.body {
            // an upload error never settles the send in 3.6.3: wait for either
            let upload = self
                .driver
                .event(from, deadline, "the upload's outcome", |_, e| {
                    e.user.as_deref() == Some("alice")
                        && matches!(
                            e.event.as_str(),
                            "onFileUploadError" | "onFileUploadComplete"
                        )
                })
                .await
                .map_err(driver_failure)?;
            let e = &self.driver.events()[upload];
            if e.event == "onFileUploadError" {
                return Err(CaseFailure::new(
                    "upload refused",
                    format!(
                        "the upload of file {:?} failed: onFileUploadError {}",
                        case.body
                            .options()
                            .get("file")
                            .and_then(|f| f.get("name"))
                            .cloned()
                            .unwrap_or_default(),
                        e.data
                    ),
                ));
            }
        }
        let reply = self
            .driver
            .reply(request, deadline)
            .await
            .map_err(driver_failure)?;
        if !reply.ok {
            return Err(CaseFailure::new(
                "send refused",
                format!("send failed: {}", json!(reply.error)),
            ));
        }
        let server_id = reply
            .result
            .as_ref()
            .and_then(|r| r.get("serverMsgId"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_default();
        let body = self.uplink_body(seen).ok_or_else(|| {
            CaseFailure::new("no uplink frame", "no CHAT meta from alice on the wire")
        })?;
        stats.note_values(
            &body.ext,
            body.contents.first().map_or(&[][..], |c| &c.custom_exts),
        );
        check::uplink(case, &body, stats)?;
        let custom = body.contents.first().map_or(&[][..], |c| &c.custom_exts);
        let expected = case
            .expected_event(&body.ext, custom)
            .map_err(|e| CaseFailure::new("uplink ext", e))?;
        let event = self.bob_event(seen, from, &server_id, &case.body).await?;
        check::event(&case.body, &event.0, &event.1, &expected)
    }

    /// A hostile body to bob: he may get `onError` or nothing, but must survive and still get
    /// the next normal message.
    async fn hostile(&mut self, case: &HostileCase, stats: &mut Stats) -> Result<(), CaseFailure> {
        let seen = self.server.recorder().len();
        let from = self.driver.events().len();
        let control = self.server.control();
        let id = control
            .deliver_payload(
                case.base.sender(),
                case.base.chat.to(),
                case.base.chat.server(),
                case.payload(),
            )
            .await
            .map_err(|e| CaseFailure::new("harness", e.to_string()))?
            .to_string();
        // bob is done with the hostile body before the probe is delivered, as in the regression
        // scenario (which waits for his key ack): otherwise, on a busy machine, both may come in
        // one sync answer, where a client that stops at a body it cannot decode (3.6.3's loop over
        // the metas does: `fuzz-regressions/hostile-then-good-in-one-answer`) never reaches the
        // probe, and the case's verdict would depend on timing
        if let Err(e) = control.settle_all(self.deadline()).await {
            return Err(CaseFailure::restarting(
                "hang after hostile body",
                format!("bob's client never settled after the hostile body: {e}"),
            ));
        }
        self.probe(from).await?;
        if let Some(delivered) = case.as_delivered() {
            self.intact_if_handed_over(&delivered, from, &id)?;
        }
        let closed = self.server.recorder().read_since(seen, |observed| {
            observed.iter().any(|o| {
                matches!(&o.kind, ObservationKind::Transport(t)
                if t.user.as_deref() == Some("bob") && matches!(t.what, TransportWhat::ClosedByClient))
            })
        });
        if closed {
            return Err(CaseFailure::new(
                "closed after hostile body",
                "bob's client closed its connection after a hostile body",
            ));
        }
        let errors = self.driver.events()[from..]
            .iter()
            .filter(|e| e.user.as_deref() == Some("bob") && e.event == "onError")
            .count();
        stats.hostile(errors > 0);
        Ok(())
    }

    /// A text past the limit that bob's client handed to the app must be intact (the probe
    /// after it has arrived, so the run is past it).
    fn intact_if_handed_over(
        &self,
        delivered: &ValidCase,
        from: usize,
        id: &str,
    ) -> Result<(), CaseFailure> {
        let Some(e) = self.driver.events()[from..].iter().find(|e| {
            e.user.as_deref() == Some("bob") && e.data.get("id").and_then(Value::as_str) == Some(id)
        }) else {
            return Ok(());
        };
        let body = delivered.message_body();
        let expected = delivered
            .expected_event(&body.ext, &body.contents[0].custom_exts)
            .map_err(|e| CaseFailure::new("harness", e))?;
        check::event(&delivered.body, &e.event, &e.data, &expected)
    }

    /// A normal text to bob must still arrive.
    async fn probe(&mut self, from: usize) -> Result<(), CaseFailure> {
        self.probes += 1;
        let text = format!("probe {}", self.probes);
        let msg = ScriptedMessage {
            from: "probe".into(),
            to: "bob".into(),
            chat_type: ChatType::Single,
            body: pb::MessageBody {
                r#type: Some(pb::message_body::Type::Chat as i32),
                from: Some(crate::wire::jid::name_only("probe")),
                to: Some(crate::wire::jid::name_only("bob")),
                contents: vec![pb::message_body::Content {
                    r#type: Some(0),
                    text: Some(text.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            },
        };
        let id = self
            .server
            .control()
            .deliver(msg)
            .await
            .map_err(|e| CaseFailure::new("harness", e.to_string()))?
            .to_string();
        match self.bob_callback(from, &id, "the probe message").await {
            Ok(_) => Ok(()),
            Err(Missing::Absent) => Err(CaseFailure::restarting(
                "lost after hostile body",
                "a normal message sent after the hostile body never reached bob's app, though his client handled every frame",
            )),
            Err(missing) => Err(hang(
                missing,
                "hang after hostile body",
                "the probe message",
            )),
        }
    }

    /// Bob's callback for message `id` (its name and data); when it is missing, the failure
    /// says what the server saw of bob from observation `seen` on and which callbacks bob got
    /// from event `from` on.
    async fn bob_event(
        &mut self,
        seen: usize,
        from: usize,
        id: &str,
        body: &Body,
    ) -> Result<(String, Value), CaseFailure> {
        match self.bob_callback(from, id, "bob's callback").await {
            Ok(i) => {
                let e = &self.driver.events()[i];
                Ok((e.event.clone(), e.data.clone()))
            }
            Err(Missing::Absent) => {
                let errors: Vec<String> = self.driver.events()[from..]
                    .iter()
                    .filter(|e| e.user.as_deref() == Some("bob") && e.event == "onError")
                    .map(|e| e.data.to_string())
                    .collect();
                let frames = self
                    .server
                    .recorder()
                    .read_since(seen, |observed| evidence::user_frames(observed, "bob", id));
                let events: Vec<String> = self.driver.events()[from..]
                    .iter()
                    .filter(|e| e.user.as_deref() == Some("bob"))
                    .map(|e| match e.data.get("id").and_then(Value::as_str) {
                        Some(id) => format!("{} {id}", e.event),
                        None => e.event.clone(),
                    })
                    .collect();
                Err(CaseFailure::new(
                    "no callback",
                    format!(
                        "bob got no {} for message {id}, though his client handled every frame{}\n  {frames}\n  bob's callbacks since the case began: {}",
                        body.events().join(" / "),
                        if errors.is_empty() {
                            String::new()
                        } else {
                            format!("; onError: {}", errors.join(", "))
                        },
                        if events.is_empty() {
                            "none".to_string()
                        } else {
                            events.join(", ")
                        }
                    ),
                ))
            }
            Err(missing) => Err(hang(missing, "driver hang", "bob's callback")),
        }
    }

    /// The index of bob's callback for message `id` from event `from` on, or why it is missing
    /// (the absence rule: settled and graced without it, or the session never settled).
    async fn bob_callback(&mut self, from: usize, id: &str, what: &str) -> Result<usize, Missing> {
        let deadline = self.deadline();
        let (control, recorder) = (self.server.control(), self.server.recorder());
        Watch::new(&control, &recorder)
            .event(
                &mut self.driver,
                Some("bob"),
                from,
                Timer::No,
                deadline,
                what,
                |_, e| {
                    e.user.as_deref() == Some("bob")
                        && e.data.get("id").and_then(Value::as_str) == Some(id)
                },
            )
            .await
    }

    /// The last CHAT-like `MessageBody` alice sent since observation `seen`.
    fn uplink_body(&self, seen: usize) -> Option<pb::MessageBody> {
        self.server.recorder().read_since(seen, |observed| {
            observed
                .iter()
                .filter_map(|o| match &o.kind {
                    ObservationKind::Frame(f)
                        if f.direction == Direction::ClientToServer
                            && f.user.as_deref() == Some("alice") =>
                    {
                        let msync = frame::decode_msync(&f.bytes).ok()?;
                        let ul = pb::CommSyncUl::decode(msync.payload.as_deref()?).ok()?;
                        let body = pb::MessageBody::decode(ul.meta?.payload.as_deref()?).ok()?;
                        (body.r#type.unwrap_or(0) <= 3 && !body.contents.is_empty()).then_some(body)
                    }
                    _ => None,
                })
                .next_back()
        })
    }
}

/// A wait that ended without the absence rule deciding: the client never settled, the case
/// timeout passed, or the driver broke.
fn hang(missing: Missing, signature: &str, what: &str) -> CaseFailure {
    match missing {
        Missing::Driver(e) => driver_failure(e),
        Missing::Unsettled(e) => CaseFailure::restarting(
            signature,
            format!("waiting for {what}, the client never settled: {e}"),
        ),
        Missing::Deadline | Missing::Absent => CaseFailure::restarting(
            signature,
            format!("{what} did not come and the session kept moving until the case timeout"),
        ),
    }
}

fn driver_failure(e: DriverFailure) -> CaseFailure {
    match e {
        DriverFailure::Timeout { what } => CaseFailure::restarting(
            "driver hang",
            format!("the driver did not answer: timed out waiting for {what}"),
        ),
        DriverFailure::Protocol(line) => CaseFailure::restarting(
            "driver protocol",
            format!(
                "the driver wrote a line that is not JSON (a value the SDK handed over that JSON cannot carry, such as a lone surrogate): {line}"
            ),
        ),
        other => CaseFailure::restarting("driver crash", other.to_string()),
    }
}
