//! Building and running the server.

use std::future::Future;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Instant;

use axum::Router;
use steward_engine::{Clock, Engine};
use steward_store::Store;
use tokio::net::TcpListener;

use crate::auth::KeyCache;
use crate::body_cache::BodyCache;
use crate::rate_limit::RateLimiter;
use crate::trait_types::Definitions;
use crate::writer::Writer;

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub engine: Arc<RwLock<Engine>>,
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

impl AppState {
    /// Read access to derived state; never held across an `.await`.
    pub fn engine(&self) -> RwLockReadGuard<'_, Engine> {
        self.engine.read().expect("engine lock")
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

/// Rebuilds the engine from storage and starts the writer.
pub async fn build_state(config: ServerConfig) -> anyhow::Result<AppState> {
    let started = Instant::now();
    let mut engine = Engine::new();
    config.store.load_engine(&mut engine).await?;
    // Sticky lifecycle state before the event replay, so replayed events count as they did.
    let mut states: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
    for (ws, state) in config.store.lifecycle_states().await? {
        states.entry(ws).or_default().push(state);
    }
    for (ws, records) in &states {
        engine.restore(*ws, records);
    }
    let mut events = 0u64;
    config
        .store
        .for_each_event(&mut |workspace, event| {
            engine.record_event(workspace, &crate::usage::usage_input(event));
            events += 1;
        })
        .await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        events,
        "engine rebuilt from storage"
    );
    let engine = Arc::new(RwLock::new(engine));
    // Derived values: each configured workspace computes them from its stored records.
    for ws in config.store.list_workspaces().await? {
        let stored = crate::derived::stored(&config.store, ws.id)
            .await
            .map_err(|e| {
                anyhow::anyhow!("derived values of workspace {}: {}", ws.name, e.message)
            })?;
        if stored.is_some() {
            crate::derived::configure(
                &config.store,
                &engine,
                ws.id,
                stored.as_ref(),
                config.clock.now(),
            )
            .await
            .map_err(|e| {
                anyhow::anyhow!("derived values of workspace {}: {}", ws.name, e.message)
            })?;
        }
    }
    tokio::spawn(crate::derived::run_timers(
        config.store.clone(),
        engine.clone(),
        config.clock.clone(),
    ));
    let definitions = Arc::new(Definitions::default());
    let bodies = Arc::new(BodyCache::new(config.read_cache_bytes));
    let writer = Writer::spawn(
        config.store.clone(),
        engine.clone(),
        config.clock.clone(),
        definitions.clone(),
        bodies.clone(),
    );
    let rate_limiter = config
        .rate_limit_per_minute
        .filter(|n| *n > 0)
        .map(|n| Arc::new(RateLimiter::new(n)));
    Ok(AppState {
        store: config.store,
        engine,
        writer,
        keys: Arc::new(KeyCache::default()),
        clock: config.clock,
        rate_limiter,
        definitions,
        config: Arc::default(),
        bodies,
    })
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
