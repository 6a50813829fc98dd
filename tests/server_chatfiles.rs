//! The fake server's attachment routes over real HTTP: multipart upload with the token check,
//! the answer's shape, download with token and `share-secret` checks, the same bytes back,
//! scripted HTTP faults, and what the recorder keeps (a summary with the sha256, never bytes).

use imspec::server::observe::ObservationKind;
use imspec::server::{
    FakeServer, Fault, FaultAction, FaultTrigger, UserSpec, WorldSpec, sha256_hex,
};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

fn world() -> WorldSpec {
    let mut spec = WorldSpec::default();
    for name in ["alice", "bob"] {
        let user = UserSpec {
            password: "pw".into(),
            ..Default::default()
        };
        spec.users.insert(name.to_string(), user);
    }
    spec
}

async fn token(server: &FakeServer, user: &str) -> String {
    let url = format!("{}/org/app/token", server.urls().api);
    let body = json!({"grant_type": "password", "username": user, "password": "pw"});
    let reply: Value = client()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().unwrap().to_string()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn upload(server: &FakeServer, token: Option<&str>, bytes: &[u8]) -> (u16, Value) {
    let part = Part::bytes(bytes.to_vec())
        .file_name("pic.png")
        .mime_str("image/png")
        .unwrap();
    let mut request = client()
        .post(format!("{}/org/app/chatfiles", server.urls().api))
        .header("restrict-access", "true")
        .multipart(Form::new().part("file", part));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn download(url: &str, token: Option<&str>, secret: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(secret) = secret {
        request = request.header("share-secret", secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn upload_then_download_gives_the_same_bytes_with_token_and_secret_only() {
    let server = FakeServer::start(world()).await.unwrap();
    let alice = token(&server, "alice").await;
    let bob = token(&server, "bob").await;
    let bytes: Vec<u8> = (0..=255).collect();

    let (status, answer) = upload(&server, Some(&alice), &bytes).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["uri"],
        format!("{}/org/app/chatfiles", server.urls().api)
    );
    let entity = &answer["entities"][0];
    let uuid = entity["uuid"].as_str().unwrap();
    let secret = entity["share-secret"].as_str().unwrap();
    assert_eq!(entity["type"], "chatfile");
    let url = format!("{}/{uuid}", answer["uri"].as_str().unwrap());

    assert_eq!(
        download(&url, Some(&bob), Some(secret)).await,
        (200, bytes.clone())
    );
    // the URL the SDK rebuilds carries the secret as a parameter
    let with_query = format!("{url}?em-redirect=true&share-secret={secret}");
    assert_eq!(download(&with_query, Some(&bob), None).await.0, 200);
    assert_eq!(download(&url, None, Some(secret)).await.0, 401);
    assert_eq!(download(&url, Some("forged"), Some(secret)).await.0, 401);
    // a user without the file's secret: 403 "chatfile no permission", the answer 4.x reads as
    // its no-permission download error (wire-4.x §1)
    assert_eq!(download(&url, Some(&bob), Some("wrong")).await.0, 403);
    assert_eq!(download(&url, Some(&bob), None).await.0, 403);
    let missing = format!("{}/org/app/chatfiles/nope", server.urls().api);
    assert_eq!(download(&missing, Some(&bob), Some(secret)).await.0, 404);

    // recorded as summaries: name, type, size, sha256
    let exchanges: Vec<_> = server
        .recorder()
        .observations()
        .into_iter()
        .filter_map(|o| match o.kind {
            ObservationKind::Http(h) if h.path.contains("chatfiles") => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(
        exchanges[0].request,
        json!({"file": {"filename": "pic.png", "type": "image/png", "size": 256, "sha256": sha256_hex(&bytes)}})
    );
    assert_eq!(exchanges[0].user.as_deref(), Some("alice"));
    assert_eq!(
        exchanges[1].response,
        json!({"size": 256, "sha256": sha256_hex(&bytes)})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn uploads_need_a_token_and_a_non_empty_file() {
    let server = FakeServer::start(world()).await.unwrap();
    let alice = token(&server, "alice").await;
    let (status, answer) = upload(&server, None, b"x").await;
    assert_eq!(
        (status, answer["error"].clone()),
        (401, json!("unauthorized"))
    );
    assert_eq!(upload(&server, Some("YWMt-zed-9"), b"x").await.0, 401);
    let (status, answer) = upload(&server, Some(&alice), b"").await;
    assert_eq!(
        (status, answer["error"].clone()),
        (400, json!("illegal_argument"))
    );
    let not_multipart = client()
        .post(format!("{}/org/app/chatfiles", server.urls().api))
        .bearer_auth(&alice)
        .body("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status().as_u16(), 400);
    server.shutdown().await;
}

#[tokio::test]
async fn a_scripted_answer_replaces_the_next_matching_request_once() {
    let server = FakeServer::start(world()).await.unwrap();
    let alice = token(&server, "alice").await;
    server.control().arm(Fault {
        user: Some("alice".into()),
        on: FaultTrigger::Upload,
        action: FaultAction::Http {
            status: 400,
            body: json!({"error": "content improper"}),
        },
    });
    server.control().arm(Fault {
        user: None,
        on: FaultTrigger::Upload,
        action: FaultAction::Http {
            status: 503,
            body: json!("<html>busy</html>"),
        },
    });
    assert_eq!(
        upload(&server, Some(&alice), b"x").await,
        (400, json!({"error": "content improper"}))
    );
    assert_eq!(
        upload(&server, Some(&alice), b"x").await,
        (503, json!("<html>busy</html>"))
    );
    assert_eq!(upload(&server, Some(&alice), b"x").await.0, 200);
    server.shutdown().await;
}
