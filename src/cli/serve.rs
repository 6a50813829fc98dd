//! `imspec serve`: the fake server alone, for testing an app by hand; prints every frame and
//! HTTP exchange as a JSON line until Ctrl-C.

use super::{CliError, Status};
use crate::server::{FakeServer, UserSpec, WorldSpec};

/// Flags of `imspec serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// A user of the world, `name` or `name:password` (repeatable; default alice, bob, carol
    /// with password "password").
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// App key `org#app`.
    #[arg(long, default_value = "org#app")]
    pub app_key: String,
}

/// The world of `imspec serve`: the given users (`name` or `name:password`), or alice, bob
/// and carol, all with the default password.
pub fn world(users: &[String], app_key: &str) -> WorldSpec {
    let defaults = ["alice", "bob", "carol"].map(String::from);
    let users = if users.is_empty() {
        &defaults[..]
    } else {
        users
    };
    WorldSpec {
        app_key: app_key.to_string(),
        users: users
            .iter()
            .map(|u| {
                let (name, password) = u
                    .split_once(':')
                    .unwrap_or((u, crate::scenario::DEFAULT_PASSWORD));
                (
                    name.to_string(),
                    UserSpec {
                        password: password.to_string(),
                        ..Default::default()
                    },
                )
            })
            .collect(),
        ..Default::default()
    }
}

/// Runs `imspec serve` until Ctrl-C.
pub async fn run(args: ServeArgs) -> Result<Status, CliError> {
    let world = world(&args.users, &args.app_key);
    let server = FakeServer::start_on_port(world.clone(), args.port)
        .await
        .map_err(|e| CliError::Harness(format!("the fake server did not start: {e}")))?;
    let urls = server.urls();
    eprintln!(
        "fake server on 127.0.0.1; SockJS url {}, WebSocket {}, REST {}",
        urls.sockjs, urls.websocket, urls.api
    );
    let names: Vec<&String> = world.users.keys().collect();
    eprintln!(
        "users: {names:?}; every frame and HTTP exchange follows on stdout as JSON; Ctrl-C stops it"
    );
    let recorder = server.recorder();
    let mut seen = 0;
    loop {
        tokio::select! {
            _ = recorder.wait_beyond(seen) => {
                for o in recorder.since(seen) {
                    let line = serde_json::to_string(&o)
                        .map_err(|e| CliError::Harness(format!("cannot print a frame: {e}")))?;
                    println!("{line}");
                }
                seen = recorder.len();
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown().await;
    Ok(Status::Passed)
}
