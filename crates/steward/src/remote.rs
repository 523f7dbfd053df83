//! `steward config export|apply`: configuration as code, against a running server's
//! `/resources/config` (so the server's engine sees the change at once).
//!
//! A plain HTTP/1.1 exchange over one connection: enough for a server on the same host or
//! network. For a server behind HTTPS, use curl against the same endpoint (docs/configuration.md).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

/// A server to talk to: `http://host:port` and an API key.
pub struct Remote {
    host_port: String,
    key: String,
}

impl Remote {
    pub fn new(url: &str, key: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("--url must be http://HOST:PORT (for https, use curl)"))?;
        let host_port = rest.trim_end_matches('/').to_owned();
        if host_port.is_empty() || host_port.contains('/') {
            bail!("--url must be http://HOST:PORT, without a path");
        }
        if key.is_empty() {
            bail!("an API key is needed (--api-key or STEWARD_API_KEY)");
        }
        Ok(Self {
            host_port,
            key: key.to_owned(),
        })
    }

    /// Sends one request; answers the status and the JSON body.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut stream = TcpStream::connect(&self.host_port)
            .with_context(|| format!("cannot reach {}", self.host_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let body = body.unwrap_or("");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.host_port,
            self.key,
            body.len()
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, payload) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("the server's answer is not HTTP"))?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("the server's answer has no status"))?;
        let json = serde_json::from_str(payload).unwrap_or(Value::String(payload.to_owned()));
        Ok((status, json))
    }

    fn expect_ok(&self, (status, body): (u16, Value)) -> anyhow::Result<Value> {
        if status == 200 {
            return Ok(body);
        }
        let message = body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| body.to_string());
        bail!("the server refused ({status}): {message}")
    }

    /// The workspace's configuration file, pretty-printed.
    pub fn export(&self) -> anyhow::Result<String> {
        let body = self.expect_ok(self.exchange("GET", "/resources/config", None)?)?;
        Ok(serde_json::to_string_pretty(&body)?)
    }

    /// Applies a configuration file; answers the configuration now in force.
    pub fn apply(&self, file: &Path) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        serde_json::from_str::<Value>(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let body = self.expect_ok(self.exchange("PUT", "/resources/config", Some(&text))?)?;
        Ok(serde_json::to_string_pretty(&body)?)
    }
}
