use std::sync::Arc;

use serde_json::Value;
use steward_engine::FixedClock;
use steward_engine::time::Millis;
use steward_server::{AppState, ServerConfig, build_state, keys, launch_with_tcp_listener};
use steward_store::rows::KeyRole;
use steward_store::test_support::{self, Backend, TestStore};
use tokio::sync::oneshot;

/// 2026-01-01T00:00:00Z
pub const START: Millis = Millis(1_767_225_600_000);

/// A running server on port 0 with a fresh store and a workspace `acme` with an admin key.
pub struct TestApp {
    pub base: String,
    pub key: String,
    pub client: reqwest::Client,
    pub clock: FixedClock,
    pub state: AppState,
    pub backend: Backend,
    _store: TestStore,
    _shutdown: oneshot::Sender<()>,
}

pub async fn spawn(backend: Backend) -> TestApp {
    let test_store = test_support::fresh(backend).await;
    let clock = FixedClock::at(START);
    let state = build_state(ServerConfig::new(
        test_store.store.clone(),
        Arc::new(clock.clone()),
    ))
    .await
    .expect("state");
    let ws = keys::find_or_create_workspace(&state.store, "acme", START)
        .await
        .expect("workspace");
    let key = steward_server::auth::generate_key();
    keys::register_key(&state.store, &ws, &key, None, KeyRole::Admin, START)
        .await
        .expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(launch_with_tcp_listener(
        state.clone(),
        listener,
        async move {
            let _ = stop.await;
        },
    ));
    TestApp {
        base,
        key,
        client: reqwest::Client::new(),
        clock,
        state,
        backend,
        _store: test_store,
        _shutdown: shutdown,
    }
}

/// Runs `scenario` once per backend.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, |$app:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in steward_store::test_support::backends() {
                let $app = $crate::api::helpers::spawn(backend).await;
                $body
            }
        }
    };
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A second server state built from the same storage: what a restart does.
    pub async fn restarted_state(&self) -> AppState {
        build_state(ServerConfig::new(
            self.state.store.clone(),
            Arc::new(self.clock.clone()),
        ))
        .await
        .expect("state rebuilt from storage")
    }

    /// The id of the workspace `acme` the app's key belongs to.
    pub async fn workspace_id(&self) -> steward_engine::ids::WorkspaceId {
        self.state
            .store
            .find_workspace("acme")
            .await
            .unwrap()
            .expect("workspace acme")
            .id
    }

    /// Another workspace with its own key, of the given role.
    pub async fn other_workspace_key(&self, name: &str, role: KeyRole) -> String {
        let ws = keys::find_or_create_workspace(&self.state.store, name, START)
            .await
            .unwrap();
        let key = steward_server::auth::generate_key();
        keys::register_key(&self.state.store, &ws, &key, None, role, START)
            .await
            .unwrap();
        key
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send_as(&self.key, method, path, body).await
    }

    pub async fn send_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .basic_auth(key, Some(""));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// POST that must succeed; returns the body.
    pub async fn ok_post(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.post(path, body).await;
        assert_eq!(status, 200, "{} POST {path}: {value}", self.backend_name());
        value
    }

    pub async fn ok_get(&self, path: &str) -> Value {
        let (status, value) = self.get(path).await;
        assert_eq!(status, 200, "{} GET {path}: {value}", self.backend_name());
        value
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Every page of a list, following `next`.
    pub async fn walk(&self, path: &str, limit: usize) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let url = match &next {
                Some(c) => format!("{path}{sep}limit={limit}&from={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let page = self.ok_get(&url).await;
            out.extend(page["results"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(c) => next = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

/// The `field` and `error` of an error body.
pub fn error_of(body: &Value) -> (&str, Option<&str>) {
    (
        body["error"].as_str().unwrap_or("<none>"),
        body["field"].as_str(),
    )
}
