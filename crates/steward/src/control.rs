//! The commands that work on storage itself (workspaces, API keys, backups), run where the
//! database is.
//!
//! `steward serve` holds its embedded database for itself (two processes writing one file would
//! each keep an engine blind to the other's writes; see `steward_store`'s `EXCLUSIVE_VFS`). So
//! while it runs, `steward workspace create` and the like cannot open the file: they ask the
//! server instead, over a Unix socket in the data directory (`steward.sock`), and the server
//! runs the same [`execute`] on its own store. Whoever may open the socket may open the
//! database file: the directory's permissions decide both, as they did before.
//!
//! The protocol is one JSON [`Request`] per connection, one line each way; the answer is
//! `{"output": "..."}` (what the command prints) or `{"error": "..."}`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use steward_engine::{Clock, SystemClock};
use steward_store::rows::KeyRole;
use steward_store::{Store, StoreError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// A command on storage, as the CLI parsed it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    WorkspaceCreate {
        name: String,
    },
    WorkspaceList,
    ApiKeyCreate {
        workspace: String,
        name: Option<String>,
        role: String,
    },
    /// `path` is absolute: the server resolves it, not the caller's working directory.
    Backup {
        path: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Output(String),
    Error(String),
}

/// The socket of the server that owns the embedded database in `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("steward.sock")
}

/// Runs `request` on `store`; returns what the command prints.
pub async fn execute(store: &Store, request: Request) -> anyhow::Result<String> {
    let now = SystemClock.now();
    Ok(match request {
        Request::WorkspaceCreate { name } => {
            let name = steward_engine::domain::RecordName::parse("name", &name)
                .map_err(|e| anyhow::anyhow!("workspace {e}"))?;
            let ws = store.create_workspace(name.as_str(), now).await?;
            format!("created workspace {} ({})", ws.name, ws.id)
        }
        Request::WorkspaceList => store
            .list_workspaces()
            .await?
            .iter()
            .map(|ws| format!("{}\t{}", ws.name, ws.id))
            .collect::<Vec<_>>()
            .join("\n"),
        Request::ApiKeyCreate {
            workspace,
            name,
            role,
        } => {
            let role = KeyRole::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("unknown role `{role}` (admin, write, read)"))?;
            steward_server::keys::create_key(store, &workspace, name.as_deref(), role, now).await?
        }
        Request::Backup { path } => {
            store.backup_into(&path).await?;
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            format!("backed up to {} ({bytes} bytes)", path.display())
        }
    })
}

/// Runs `request` on the embedded database in `data_dir`: opened here, or, when a server owns
/// it, by that server.
pub async fn execute_embedded(data_dir: &Path, request: Request) -> anyhow::Result<String> {
    match Store::open_sqlite_dir(data_dir).await {
        Ok(store) => {
            let output = execute(&store, request).await;
            store.close().await;
            output
        }
        Err(StoreError::InUse(file)) => ask(data_dir, &request).await.map_err(|cause| {
            anyhow::anyhow!(
                "{}; its server did not answer: {cause:#}",
                StoreError::InUse(file)
            )
        }),
        Err(e) => Err(e.into()),
    }
}

/// Asks the server that owns `data_dir` to run `request`.
async fn ask(data_dir: &Path, request: &Request) -> anyhow::Result<String> {
    let mut stream = UnixStream::connect(socket_path(data_dir)).await?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line).await?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).await?;
    match serde_json::from_str(&answer)? {
        Answer::Output(output) => Ok(output),
        Answer::Error(message) => Err(anyhow::anyhow!(message)),
    }
}

/// Serves requests for `store` on `data_dir`'s socket until the process ends. A socket file
/// left by a server that died is replaced: the caller owns the database, so no other server
/// can be listening on it.
pub fn listen(store: Store, data_dir: &Path) -> std::io::Result<()> {
    let path = socket_path(data_dir);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(answer(store.clone(), stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

async fn answer(store: Store, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    // One request a connection, of a few hundred bytes at most.
    let bounded = tokio::io::AsyncReadExt::take(read, 64 * 1024);
    if let Err(e) = BufReader::new(bounded).read_line(&mut line).await {
        tracing::warn!(error = %e, "control socket: unreadable request");
        return;
    }
    let answer = match serde_json::from_str::<Request>(&line) {
        Ok(request) => {
            tracing::info!(?request, "control socket");
            match execute(&store, request).await {
                Ok(output) => Answer::Output(output),
                Err(e) => Answer::Error(format!("{e:#}")),
            }
        }
        Err(e) => Answer::Error(format!("not a request: {e}")),
    };
    let mut out = serde_json::to_vec(&answer).expect("answers serialize");
    out.push(b'\n');
    if let Err(e) = write.write_all(&out).await {
        tracing::warn!(error = %e, "control socket: could not answer");
    }
}
