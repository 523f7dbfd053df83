//! Command-line interface: `serve`, `workspace`, `api-key`, `config`, `bench`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use steward_engine::{Clock, SystemClock};
use steward_server::{ServerConfig, build_state, launch_with_tcp_listener};
use steward_store::Store;

use crate::control::{self, Request};

#[derive(Parser)]
#[command(
    name = "steward",
    version,
    about = "Steward: an open-source customer success platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Write a consistent copy of the embedded database to a new file, while Steward runs or
    /// not (PostgreSQL: use pg_dump).
    Backup {
        /// The copy to write; must not exist yet.
        out: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Configuration as code: export a workspace's configuration, apply a file (against a
    /// running server).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the benchmarks and print figures (see docs/benchmarks.md).
    Bench(crate::cli::BenchArgs),
}

/// The running server a command talks to, and the workspace's key.
#[derive(Args)]
struct RemoteArgs {
    #[arg(long, env = "STEWARD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API key of the workspace (an admin key to apply).
    #[arg(
        long,
        env = "STEWARD_API_KEY",
        hide_env_values = true,
        default_value = ""
    )]
    api_key: String,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the workspace's configuration file (custom fields, key roles, mappings, import
    /// filters) as JSON.
    Export {
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Make the workspace's configuration the file's: refused whole, with every problem
    /// named, if anything in it is wrong.
    Apply {
        file: PathBuf,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

/// Where the data lives; shared by every command that opens storage.
#[derive(Args, Clone)]
struct StorageArgs {
    /// Directory of the embedded SQLite database (created on first run).
    #[arg(long, env = "STEWARD_DATA_DIR", default_value = "./steward-data")]
    data_dir: PathBuf,
    /// A `postgres://` URL selects PostgreSQL instead of the embedded database.
    #[arg(long, env = "STEWARD_DATABASE_URL")]
    database_url: Option<String>,
}

impl StorageArgs {
    fn postgres_url(&self) -> Option<&str> {
        self.database_url.as_deref().filter(|url| !url.is_empty())
    }

    async fn open(&self) -> anyhow::Result<Store> {
        Ok(match self.postgres_url() {
            Some(url) => Store::open_url(url).await?,
            None => Store::open_sqlite_dir(&self.data_dir).await?,
        })
    }

    /// Runs a command on storage and prints its output: on the embedded database through the
    /// server that owns it, if one does (see `control.rs`).
    async fn execute(&self, request: Request) -> anyhow::Result<()> {
        let output = match self.postgres_url() {
            Some(url) => {
                let store = Store::open_url(url).await?;
                let output = control::execute(&store, request).await;
                store.close().await;
                output?
            }
            None => control::execute_embedded(&self.data_dir, request).await?,
        };
        if !output.is_empty() {
            println!("{output}");
        }
        Ok(())
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STEWARD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    storage: StorageArgs,
    /// Ensures a workspace named `default` exists with this admin API key.
    #[arg(long, env = "STEWARD_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Requests a minute allowed per API key (0: no limit). Beyond it: 429 with Retry-After.
    #[arg(long, env = "STEWARD_RATE_LIMIT")]
    rate_limit: Option<u32>,
    /// Memory for cached rendered records, in MiB (0: no cache). Reads of cached records skip
    /// storage; writes drop what they change.
    #[arg(long, env = "STEWARD_READ_CACHE_MB", default_value_t = ServerConfig::DEFAULT_READ_CACHE_MB)]
    read_cache_mb: usize,
    /// Keep every organization, account and user in memory, so that reading one costs no
    /// round trip to storage (about 150 bytes a user beside its traits). `auto`: on for
    /// PostgreSQL, off for the embedded database, whose reads are in-process already.
    #[arg(long, env = "STEWARD_RESIDENT_RECORDS", default_value = "auto", value_parser = ["auto", "on", "off"])]
    resident_records: String,
    /// Load the demo workspace and print a key for it.
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace.
    Create {
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List workspaces.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key and print it (it is shown only once).
    Create {
        #[arg(long)]
        workspace: String,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        /// admin (everything), write (read and write data) or read (read only).
        #[arg(long, default_value = "admin", value_parser = ["admin", "write", "read"])]
        role: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

pub use crate::bench::BenchArgs;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STEWARD_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Workspace(WorkspaceCommand::Create { name, storage }) => {
            storage.execute(Request::WorkspaceCreate { name }).await
        }
        Command::Workspace(WorkspaceCommand::List { storage }) => {
            storage.execute(Request::WorkspaceList).await
        }
        Command::ApiKey(ApiKeyCommand::Create {
            workspace,
            name,
            role,
            storage,
        }) => {
            storage
                .execute(Request::ApiKeyCreate {
                    workspace,
                    name,
                    role,
                })
                .await
        }
        Command::Backup { out, storage } => {
            let path = std::path::absolute(&out)?;
            anyhow::ensure!(!path.exists(), "{} exists already", path.display());
            storage.execute(Request::Backup { path }).await
        }
        Command::Config(command) => {
            let output = tokio::task::spawn_blocking(move || match command {
                ConfigCommand::Export { remote } => {
                    crate::remote::Remote::new(&remote.url, &remote.api_key)?.export()
                }
                ConfigCommand::Apply { file, remote } => {
                    crate::remote::Remote::new(&remote.url, &remote.api_key)?.apply(&file)
                }
            })
            .await??;
            println!("{output}");
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(args).await,
    }
}

/// `--resident-records`: `on` or `off`, else (`auto`) the backend's default.
pub(crate) fn resident_records(store: Store, choice: &str) -> Store {
    match choice {
        "on" => store.with_resident_records(true),
        "off" => store.with_resident_records(false),
        _ => store,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = resident_records(args.storage.open().await?, &args.resident_records);
    tracing::info!(backend = store.backend(), "storage ready");
    if let Some(key) = args.api_key.as_deref().filter(|k| !k.is_empty()) {
        steward_server::keys::bootstrap_key(&store, key, clock.now()).await?;
        tracing::info!("workspace `default` has the key from STEWARD_API_KEY");
    }
    let state = build_state(ServerConfig {
        store: store.clone(),
        clock,
        rate_limit_per_minute: args.rate_limit,
        read_cache_bytes: args.read_cache_mb << 20,
    })
    .await?;
    if args.storage.postgres_url().is_none() {
        // Not fatal: without it, commands on storage wait for the server to stop.
        if let Err(e) = control::listen(store.clone(), &args.storage.data_dir) {
            tracing::warn!(error = %e, "no control socket in the data directory");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    if args.demo {
        let key = steward_server::demo::load(&state).await?;
        println!("Demo workspace `demo` is loaded. Its API key (shown once):\n\n    {key}\n");
        println!("Try:\n    curl -u {key}: http://{address}/resources/organizations\n");
    }
    tracing::info!(%address, "listening");
    launch_with_tcp_listener(state, listener, shutdown_signal()).await?;
    store.close().await;
    if args.storage.postgres_url().is_none() {
        let _ = std::fs::remove_file(control::socket_path(&args.storage.data_dir));
    }
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
