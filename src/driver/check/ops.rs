//! The sequence `driver-check` drives after `hello`: both users connect, alice sends bob a text
//! and an attachment, then recall, history, sessions, download, an unknown op, a malformed
//! request, disconnect, `reset` when announced, and `shutdown` with the stdout verdict.

use super::{CheckVerdict, Checker, Shape, TEXT, UNKNOWN_OP, object, preview, string_fields};
use crate::driver::protocol::Capability;
use crate::server::{FakeServer, WorldSpec};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

pub(super) async fn run_ops(checker: &mut Checker, server: &FakeServer, world: &WorldSpec) {
    let urls = server.urls();
    let connect_args = || {
        json!({
            "password": crate::scenario::DEFAULT_PASSWORD,
            "appKey": world.app_key,
            "url": urls.sockjs,
            "wsUrl": urls.websocket,
            "apiUrl": urls.api,
            "options": {},
        })
    };
    let mut connected = true;
    for user in ["alice", "bob"] {
        let from = checker.process.events.len();
        let name = format!("connect ({user})");
        let ok = checker
            .op(&name, "connect", Some(user), connect_args(), object)
            .await
            .is_some();
        if ok {
            checker
                .expect_event(&name, from, user, "onOpened", |_| true)
                .await;
        }
        connected &= ok;
    }
    let from = checker.process.events.len();
    let args = json!({"type": "txt", "to": "bob", "chatType": "singleChat", "msg": TEXT});
    let sent = if connected {
        let sent = checker
            .op("send", "send", Some("alice"), args, |r| {
                string_fields(r, &["localId", "serverMsgId"])
            })
            .await;
        if sent.is_some() {
            checker
                .expect_event("send", from, "bob", "onTextMessage", |d| {
                    d["data"] == TEXT && d["from"] == "alice"
                })
                .await;
        }
        sent
    } else {
        checker.push(
            "send",
            CheckVerdict::Skipped,
            vec!["needs both users connected".into()],
        );
        None
    };
    let mid = sent
        .as_ref()
        .and_then(|s| s["serverMsgId"].as_str())
        .unwrap_or("1")
        .to_string();
    let download_args = if connected {
        attachment(checker, &urls.api).await
    } else {
        Value::Null
    };
    let checks: [(&str, &str, Value, Shape); 4] = [
        (
            "recall",
            "alice",
            json!({"mid": mid, "to": "bob", "chatType": "chat"}),
            object,
        ),
        (
            "history",
            "bob",
            json!({"queue": "alice", "isGroup": false, "count": 10}),
            |r| {
                let mut findings = object(r);
                if findings.is_empty() && !r["messages"].is_array() {
                    findings.push(format!(
                        "`result.messages` must be an array, not {}",
                        r["messages"]
                    ));
                }
                findings
            },
        ),
        ("sessions", "bob", json!({}), |_| Vec::new()),
        ("download", "bob", download_args, |r| {
            let mut findings = object(r);
            if findings.is_empty() && !r["base64"].is_string() {
                findings.push(format!(
                    "`result.base64` must be a string, not {}",
                    r["base64"]
                ));
            }
            findings
        }),
    ];
    for (op, user, args, shape) in checks {
        if connected {
            checker.op(op, op, Some(user), args, shape).await;
        } else {
            checker.push(op, CheckVerdict::Skipped, vec!["needs a connection".into()]);
        }
    }
    if !checker.announces(Capability::Timers) {
        checker.push(
            "fire-timer",
            CheckVerdict::Skipped,
            vec!["hello announces no `timers` capability".into()],
        );
    } else if connected {
        // `{"fired": null}` or `{"fired": "<timer>", "dueInMs": N}` ("Timers")
        let shape = |r: &Value| {
            let mut findings = object(r);
            match (&r["fired"], &r["dueInMs"]) {
                (Value::Null, _) if r.get("fired").is_some() => {}
                (Value::String(_), due) if due.is_u64() => {}
                (Value::String(_), due) => findings.push(format!(
                    "`result.dueInMs` must be a whole number of milliseconds, not {due}"
                )),
                (fired, _) => findings.push(format!(
                    "`result.fired` must be a timer's name or null, not {}",
                    if r.get("fired").is_some() {
                        fired.to_string()
                    } else {
                        "missing".into()
                    }
                )),
            }
            findings
        };
        let args = json!({ "withinMs": 0 });
        checker
            .op("fire-timer", "fire-timer", Some("bob"), args, shape)
            .await;
    } else {
        checker.push(
            "fire-timer",
            CheckVerdict::Skipped,
            vec!["needs a connection".into()],
        );
    }
    if checker.announces(Capability::Sync) {
        // `{}` once every callback made so far is written ("Settling")
        checker.op("sync", "sync", None, json!({}), object).await;
    } else {
        checker.push(
            "sync",
            CheckVerdict::Skipped,
            vec!["hello announces no `sync` capability".into()],
        );
    }
    unknown_op(checker).await;
    malformed(checker).await;
    if connected {
        let from = checker.process.events.len();
        if checker
            .op("disconnect", "disconnect", Some("alice"), json!({}), object)
            .await
            .is_some()
        {
            checker
                .expect_event("disconnect", from, "alice", "onClosed", |_| true)
                .await;
        }
    } else {
        checker.push(
            "disconnect",
            CheckVerdict::Skipped,
            vec!["needs a connection".into()],
        );
    }
    if checker.announces(Capability::Reset) {
        reset(checker, connect_args()).await;
    } else {
        checker.push(
            "reset",
            CheckVerdict::Skipped,
            vec!["hello announces no `reset` capability".into()],
        );
    }
}

/// The `download` arguments for an attachment alice sends bob (its `url` and `secret` from
/// bob's `onFileMessage`), or for a file the server does not have when none arrives.
async fn attachment(checker: &mut Checker, api: &str) -> Value {
    let missing = json!({"url": format!("{api}/org/app/chatfiles/driver-check-missing"), "secret": "", "headers": {}});
    if !checker.listed("send") {
        return missing;
    }
    let from = checker.process.events.len();
    let args = json!({"type": "file", "to": "bob", "chatType": "singleChat",
                      "file": {"name": "driver-check.txt", "mime": "text/plain", "base64": "ZHJpdmVyLWNoZWNrCg=="}});
    let deadline = checker.deadline();
    if checker
        .process
        .call("send", Some("alice"), args, deadline)
        .await
        .is_err()
    {
        return missing;
    }
    let deadline = checker.deadline();
    match checker
        .process
        .event(from, deadline, |e| {
            e["event"] == "onFileMessage" && e["user"] == "bob" && e["data"]["url"].is_string()
        })
        .await
    {
        Some((_, event)) => {
            json!({"url": event["data"]["url"], "secret": event["data"]["secret"], "headers": {}})
        }
        None => missing,
    }
}

async fn unknown_op(checker: &mut Checker) {
    let deadline = checker.deadline();
    let findings = match checker
        .process
        .call(UNKNOWN_OP, Some("alice"), json!({}), deadline)
        .await
    {
        Err(e) => vec![e],
        Ok((line, reply)) if reply["ok"] == false && reply["error"]["type"] == "unsupported" => {
            let _ = line;
            Vec::new()
        }
        Ok((line, reply)) => vec![format!(
            "stdout line {line}: `{UNKNOWN_OP}` must be answered {{\"ok\": false, \"error\": {{\"type\": \"unsupported\"}}}}, not {}",
            preview(&reply.to_string())
        )],
    };
    checker.conclude("unknown op", findings, Vec::new());
}

async fn malformed(checker: &mut Checker) {
    let mut findings = Vec::new();
    let nulls = checker.process.null_replies.len();
    if let Err(e) = checker.process.write_line("{\"id\": 9999, \"op\": ").await {
        findings.push(e);
    }
    // The next request must still be answered.
    let deadline = checker.deadline();
    match checker
        .process
        .call(UNKNOWN_OP, Some("alice"), json!({}), deadline)
        .await
    {
        Ok(_) => {}
        Err(e) => findings.push(format!(
            "after a line that is not JSON the driver must go on: {e}"
        )),
    }
    for (line, reply) in checker.process.null_replies[nulls..].iter() {
        if reply["ok"] != false {
            findings.push(format!(
                "stdout line {line}: an answer to a malformed request must have \"ok\": false: {}",
                preview(&reply.to_string())
            ));
        }
    }
    checker.conclude(
        "malformed request",
        findings,
        vec![
            if checker.process.null_replies.len() > nulls {
                "answered {\"id\": null, \"ok\": false, ...} and went on"
            } else {
                "ignored it and went on"
            }
            .to_string(),
        ],
    );
}

async fn reset(checker: &mut Checker, connect: Value) {
    let deadline = checker.deadline();
    let mut findings = match checker
        .process
        .call(
            "reset",
            None,
            json!({"scenario": "driver-check/reset"}),
            deadline,
        )
        .await
    {
        Err(e) => vec![e],
        Ok((line, reply)) if reply["ok"] == true => object(&reply["result"])
            .into_iter()
            .map(|f| format!("stdout line {line}: reply to `reset`: {f}"))
            .collect(),
        Ok((line, reply)) => vec![format!(
            "stdout line {line}: `reset` is announced in capabilities but failed: {}",
            reply["error"]
        )],
    };
    if findings.is_empty() {
        // As fresh as a new process: a connect works again.
        let deadline = checker.deadline();
        match checker
            .process
            .call("connect", Some("alice"), connect, deadline)
            .await
        {
            Ok((_, reply)) if reply["ok"] == true => {}
            Ok((line, reply)) => findings.push(format!(
                "stdout line {line}: a connect after `reset` failed: {}",
                reply["error"]
            )),
            Err(e) => findings.push(format!("a connect after `reset`: {e}")),
        }
    }
    checker.conclude("reset", findings, Vec::new());
}

pub(super) async fn shutdown(checker: &mut Checker) {
    if checker.process.closed {
        checker.push(
            "shutdown",
            CheckVerdict::Skipped,
            vec!["the driver is not running any more".into()],
        );
        let stdout = std::mem::take(&mut checker.process.all_hygiene);
        checker.conclude(
            "stdout",
            stdout,
            vec!["every line a reply or an event".into()],
        );
        return;
    }
    let deadline = checker.deadline();
    let mut findings = match checker
        .process
        .call("shutdown", None, json!({}), deadline)
        .await
    {
        Err(e) => vec![e],
        Ok((line, reply)) if reply["ok"] != true => vec![format!(
            "stdout line {line}: `shutdown` must be answered ok, not {}",
            preview(&reply.to_string())
        )],
        Ok(_) => Vec::new(),
    };
    if findings.is_empty() {
        checker.process.stdin = None;
        match tokio::time::timeout(Duration::from_secs(2), checker.process.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => findings.push(format!(
                "the driver exited with {status} after shutdown (the protocol asks for 0)"
            )),
            Ok(Err(e)) => findings.push(format!("waiting for the driver failed: {e}")),
            Err(_) => {
                findings.push("the driver is still running 2 s after answering shutdown".into())
            }
        }
        // Whatever it wrote before exiting is still checked.
        while checker
            .process
            .pump(Instant::now() + Duration::from_millis(200))
            .await
        {}
    }
    checker.conclude("shutdown", findings, Vec::new());
    let stdout = std::mem::take(&mut checker.process.all_hygiene);
    checker.conclude(
        "stdout",
        stdout,
        vec!["every line a reply or an event".into()],
    );
}
