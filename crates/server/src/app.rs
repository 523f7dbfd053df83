//! Building and running the server.

use std::future::Future;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Instant;

use axum::Router;
use steward_engine::ids::WorkspaceId;
use steward_engine::{Clock, DerivedChange, Engine};
use steward_store::Store;
use tokio::net::TcpListener;

use crate::auth::KeyCache;
use crate::body_cache::BodyCache;
use crate::rate_limit::RateLimiter;
use crate::trait_types::Definitions;
use crate::writer::Writer;

/// Everything a handler can reach. Cheap to clone: handlers take it by value (axum's `State`)
/// on every request, so it is one shared allocation (one reference count to bump) rather than
/// a dozen `Arc`s bumped and dropped per request, their counts bouncing between cores.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub store: Store,
    pub engine: Arc<RwLock<Engine>>,
    /// The visibility gate: the writer holds it from changing the engine until its commit is
    /// over, readers take it before reading the engine (see `writer/mod.rs`).
    pub gate: Arc<tokio::sync::RwLock<()>>,
    pub writer: Writer,
    pub keys: Arc<KeyCache>,
    pub clock: Arc<dyn Clock>,
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Custom field definitions, for checking trait types without a query.
    pub definitions: Arc<Definitions>,
    /// Key roles, trait mappings and import filters, per workspace.
    pub config: Arc<crate::config::cache::ConfigCache>,
    /// Rendered records, for reads (the writer forgets what it changes).
    pub bodies: Arc<BodyCache>,
}

impl Shared {
    /// Read access to derived state, once no commit is in flight and every commit it holds is
    /// durable (the engine never shows what could still be lost); never held across an
    /// `.await`.
    pub async fn engine(&self) -> EngineRead<'_> {
        let gate = self.gate.read().await;
        // The gate opens once a batch is in the engine, before its fsync ends (so that the
        // writer's next commit need not wait for the disk): the engine may hold commits a power
        // cut could still take back. Nothing is read from it before they are durable. No commit
        // starts while the gate is held, so this wait ends with the fsync under way (nothing
        // to wait for when none is). A writer queued for the gate meanwhile waits with it:
        // under reads and writes at once, commits wait for the disk again, as they all did.
        self.store.durable_through(self.store.commit_mark()).await;
        EngineRead {
            engine: self.engine.read().expect("engine lock"),
            _gate: gate,
        }
    }
}

/// The engine, read between commits.
pub struct EngineRead<'a> {
    engine: RwLockReadGuard<'a, Engine>,
    _gate: tokio::sync::RwLockReadGuard<'a, ()>,
}

impl std::ops::Deref for EngineRead<'_> {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

/// What the server needs to start.
pub struct ServerConfig {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Requests a minute allowed per API key; `None` for no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Memory for cached record bodies (see `body_cache`); 0 turns the cache off.
    pub read_cache_bytes: usize,
}

impl ServerConfig {
    /// The default budget of the read cache: `--read-cache-mb`'s default.
    pub const DEFAULT_READ_CACHE_MB: usize = 64;

    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            rate_limit_per_minute: None,
            read_cache_bytes: Self::DEFAULT_READ_CACHE_MB << 20,
        }
    }
}

/// Rebuilds the engine from storage (start-up, and after a failed commit): graphs, key roles
/// and owners, sticky lifecycle state, the event replay, then each configured workspace's
/// derived values. Answers the engine and what the derivation reported while rebuilding
/// (transitions that happened while the server was down), for storage.
#[allow(clippy::type_complexity)]
pub async fn load_engine(
    store: &Store,
    now: steward_engine::time::Millis,
) -> anyhow::Result<(Engine, Vec<(WorkspaceId, Vec<DerivedChange>)>)> {
    let started = Instant::now();
    let mut engine = Engine::new();
    store.load_engine(&mut engine).await?;
    // Sticky lifecycle state before the event replay, so replayed events count as they did.
    let mut states: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
    for (ws, state) in store.lifecycle_states().await? {
        states.entry(ws).or_default().push(state);
    }
    for (ws, records) in &states {
        engine.restore(*ws, records);
    }
    // The event log on both cores: one scans, the other applies (see `event_replay.rs`).
    let (mut engine, events) = crate::event_replay::replay_event_log(store, engine).await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        events,
        "engine rebuilt from storage"
    );
    // Derived values: each configured workspace computes them from its stored records.
    let mut reported = Vec::new();
    for ws in store.list_workspaces().await? {
        let context = |e: crate::error::ApiError| {
            anyhow::anyhow!("derived values of workspace {}: {}", ws.name, e.message)
        };
        let stored = crate::derived::stored(store, ws.id)
            .await
            .map_err(context)?;
        if stored.is_some() {
            let changes =
                crate::derived::configure(store, &mut engine, ws.id, stored.as_ref(), now)
                    .await
                    .map_err(context)?;
            reported.push((ws.id, changes));
        }
    }
    Ok((engine, reported))
}

/// Rebuilds the engine from storage and starts the writer.
pub async fn build_state(config: ServerConfig) -> anyhow::Result<AppState> {
    let now = config.clock.now();
    let (engine, reported) = load_engine(&config.store, now).await?;
    // Transitions found at start-up (a trial that ended while the server was down) are
    // stored before the server takes any write.
    crate::derived::persist(&config.store, now, reported).await;
    let engine = Arc::new(RwLock::new(engine));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let definitions = Arc::new(Definitions::default());
    let bodies = Arc::new(BodyCache::new(config.read_cache_bytes));
    let writer = Writer::spawn(
        config.store.clone(),
        engine.clone(),
        gate.clone(),
        config.clock.clone(),
        definitions.clone(),
        bodies.clone(),
    );
    tokio::spawn(crate::derived::run_timers(
        engine.clone(),
        config.clock.clone(),
        writer.clone(),
    ));
    let rate_limiter = config
        .rate_limit_per_minute
        .filter(|n| *n > 0)
        .map(|n| Arc::new(RateLimiter::new(n)));
    Ok(AppState(Arc::new(Shared {
        store: config.store,
        engine,
        gate,
        writer,
        keys: Arc::new(KeyCache::default()),
        clock: config.clock,
        rate_limiter,
        definitions,
        config: Arc::default(),
        bodies,
    })))
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    crate::routes::router(state)
}

/// Serves on an already-bound listener until `shutdown` completes (atuin's
/// `launch_with_tcp_listener`): tests bind port 0 and pass the listener in.
pub async fn launch_with_tcp_listener(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
