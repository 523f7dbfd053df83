//! A minimal HTTP/1.1 keep-alive client: the load generator must cost as little CPU as
//! possible, because it shares the machine with the server it measures.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends one request (already encoded) and reads the whole response. Returns the status.
    pub async fn round_trip(&mut self, request: &[u8]) -> std::io::Result<u16> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let header_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buf[..header_end]).map_err(std::io::Error::other)?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.trim().parse().unwrap_or(0))
            })
            .ok_or_else(|| std::io::Error::other("response without content-length"))?;
        while self.buf.len() < header_end + length {
            self.read_more().await?;
        }
        Ok(status)
    }

    async fn read_more(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn get(path: &str, key: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n")
        .into_bytes()
}

pub fn post(path: &str, key: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Latencies and throughput of one load run.
pub struct Run {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies_us: Vec<u32>,
    /// CPU time the whole process (server and load generator) used during the run.
    pub cpu: Duration,
}

impl Run {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Process CPU time per completed request, in microseconds.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    pub fn percentile_us(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[idx] as f64
    }
}

impl Run {
    fn merge(mut self, other: Run) -> Run {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies_us.extend(other.latencies_us);
        self.cpu += other.cpu;
        self
    }
}

/// [`drive`] against two servers in turn, `rounds` slices of `duration / rounds` each, so that
/// both see the same phases of a machine whose speed drifts (a shared VM's does, by a third
/// within minutes). Each round continues the request sequence rather than repeating it, so a
/// round does not find what the last one cached. Returns the runs at `a` and at `b`.
pub async fn drive_interleaved<F>(
    a: std::net::SocketAddr,
    b: std::net::SocketAddr,
    clients: usize,
    duration: Duration,
    rounds: u32,
    request: F,
) -> (Run, Run)
where
    F: Fn(usize, usize) -> Vec<u8> + Send + Sync + 'static,
{
    let request = std::sync::Arc::new(request);
    let slice = duration / rounds.max(1);
    let mut runs: Option<(Run, Run)> = None;
    for round in 0..rounds.max(1) {
        let offset = round as usize * 100_000_000;
        let at = |addr| {
            let request = request.clone();
            drive(addr, clients, slice, move |c, n| request(c, offset + n))
        };
        let ra = at(a).await;
        let rb = at(b).await;
        runs = Some(match runs {
            None => (ra, rb),
            Some((sa, sb)) => (sa.merge(ra), sb.merge(rb)),
        });
    }
    runs.expect("at least one round")
}

/// `clients` keep-alive connections, each sending `request(client, n)` back to back for
/// `duration`.
pub async fn drive<F>(
    addr: std::net::SocketAddr,
    clients: usize,
    duration: Duration,
    request: F,
) -> Run
where
    F: Fn(usize, usize) -> Vec<u8> + Send + Sync + 'static,
{
    let request = std::sync::Arc::new(request);
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let cpu_before = super::cpu::process_cpu();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut conn = Connection::open(addr)
                    .await
                    .expect("connect to benchmark server");
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut n = 0;
                while Instant::now() < deadline {
                    let req = request(c, n);
                    let t = Instant::now();
                    match conn.round_trip(&req).await {
                        Ok(status) if status < 300 => {
                            latencies.push(t.elapsed().as_micros() as u32)
                        }
                        Ok(status) => {
                            if errors == 0 {
                                eprintln!("client {c}: a request was answered {status}");
                            }
                            errors += 1;
                        }
                        Err(cause) => {
                            if errors == 0 {
                                eprintln!("client {c}: a request failed: {cause}");
                            }
                            errors += 1;
                            conn = Connection::open(addr).await.expect("reconnect");
                        }
                    }
                    n += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        latencies_us.extend(l);
        errors += e;
    }
    Run {
        requests: latencies_us.len(),
        errors,
        elapsed: started.elapsed(),
        latencies_us,
        cpu: super::cpu::process_cpu().saturating_sub(cpu_before),
    }
}

/// Runs `work(task, n)` from `tasks` concurrent tasks for `duration`; returns completions/s.
pub async fn drive_tasks<F, Fut>(tasks: usize, duration: Duration, work: F) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let work = std::sync::Arc::new(work);
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let work = work.clone();
            tokio::spawn(async move {
                let mut done = 0usize;
                let mut n = 0;
                while Instant::now() < deadline {
                    if work(t, n).await {
                        done += 1;
                    }
                    n += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await.expect("task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}
