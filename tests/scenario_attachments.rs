//! Loading the scenario forms attachments need: HTTP faults on `upload` / `download`, and
//! `reply = "none"` for a send the SDK never settles. Errors name the file, line and field.

use imspec::scenario::{Action, ReplyExpectation, load_str};
use imspec::server::{FaultAction, FaultTrigger};
use serde_json::json;
use std::path::Path;

const HEAD: &str = "purpose = \"p\"\nguide = [{ lines = \"12\", quote = \"Message is one of\" }]\n[world.users]\nalice = {}\n";

fn load(steps: &str) -> Result<imspec::scenario::Scenario, String> {
    load_str(
        "messages/x",
        Path::new("scenarios/messages/x.toml"),
        &format!("{HEAD}{steps}"),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn http_faults_and_unawaited_requests_load() {
    let s = load(
        "[[step]]\nfault = { on = \"upload\", action = \"status\", code = 400, body = { error = \"content improper\" } }\n\
         [[step]]\nfault = { user = \"alice\", on = \"download\", action = \"status\", code = 503, body = \"busy\" }\n\
         [[step]]\nsend = { user = \"alice\", type = \"img\", to = \"bob\" }\nreply = \"none\"\n",
    )
    .unwrap();
    match &s.steps[0].action {
        Action::Fault(fault) => {
            assert_eq!(fault.on, FaultTrigger::Upload);
            assert_eq!(
                fault.action,
                FaultAction::Http {
                    status: 400,
                    body: json!({"error": "content improper"})
                }
            );
        }
        other => panic!("{other:?}"),
    }
    match &s.steps[2].action {
        Action::Request { reply, .. } => assert_eq!(reply, &ReplyExpectation::None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_http_faults_are_refused_with_file_and_line() {
    let err = load("[[step]]\nfault = { on = \"upload\", action = \"drop\" }\n").unwrap_err();
    assert!(
        err.starts_with("scenarios/messages/x.toml:5: step 1:")
            && err.contains("takes action \"status\""),
        "{err}"
    );
    let err = load("[[step]]\nfault = { on = \"upload\", action = \"status\", code = 42 }\n")
        .unwrap_err();
    assert!(err.contains("an HTTP status"), "{err}");
    let err =
        load("[[step]]\nfault = { on = \"message\", action = \"status\", code = 1, body = {} }\n")
            .unwrap_err();
    assert!(err.contains("`fault.body` goes with"), "{err}");
    let err = load("[[step]]\nfault = { on = \"uplod\", action = \"status\", code = 400 }\n")
        .unwrap_err();
    assert!(
        err.contains("`fault.on`: unknown variant `uplod`") && err.contains("`upload`, `download`"),
        "{err}"
    );
}
