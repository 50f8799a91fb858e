//! N long-polling SDK connections against one server, then publish-to-all rounds.
//!
//! Each simulated SDK holds one keep-alive connection and loops like `act_core::sync::http`:
//! `GET /v1/snapshot?wait=30` with `Accept: application/jose, */*;q=0.1`, its agent key,
//! `X-Act-Instance`, `X-Act-Snapshot-Version` (the version it serves), a `User-Agent`, and
//! `If-None-Match` with the ETag it serves; a `304` polls again, a `200` takes the new version and
//! polls again at once. (It does not verify the JWS: the client's CPU is not what is measured, and
//! it shares the 2 cores with the server.)

use crate::http::{connect, request, send};
use crate::servers::Server;
use crate::stats::{summary, Summary};
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// The SDK's default long-poll wait (`HttpSyncOptions::new`).
const WAIT_SECS: u64 = 30;

enum Event {
    /// Connection `i` received a `200` with `version` (and a body of `bytes`) at `at`.
    Got {
        i: usize,
        version: u64,
        bytes: usize,
        at: Instant,
    },
    Error(String),
}

struct Cfg {
    server_addr: std::net::SocketAddr,
    auth: Option<String>,
    run_id: String,
}

async fn poller(i: usize, cfg: Arc<Cfg>, tx: mpsc::UnboundedSender<Event>, connects: Arc<Semaphore>) {
    let instance = format!("bench{}{i:08}", cfg.run_id);
    let path = format!("/v1/snapshot?wait={WAIT_SECS}");
    let mut etag: Option<String> = None;
    let mut serving = 0u64;
    loop {
        let permit = connects.acquire().await;
        let mut conn = match connect(cfg.server_addr).await {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Event::Error(e));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        drop(permit);
        loop {
            let serving_s = serving.to_string();
            let mut headers: Vec<(&str, &str)> = vec![
                ("accept", "application/jose, */*;q=0.1"),
                ("user-agent", "act-sdk/bench"),
                ("x-act-instance", instance.as_str()),
                ("x-act-snapshot-version", serving_s.as_str()),
            ];
            if let Some(a) = &cfg.auth {
                headers.push(("authorization", a.as_str()));
            }
            if let (Some(t), true) = (&etag, serving > 0) {
                headers.push(("if-none-match", t.as_str()));
            }
            let req = match request(cfg.server_addr, "GET", &path, &headers, Bytes::new()) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Event::Error(e));
                    return;
                }
            };
            match send(&mut conn, req).await {
                Ok((status, h, body)) if status.as_u16() == 200 => {
                    let at = Instant::now();
                    let version = h
                        .get("x-act-snapshot-version")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    etag = h.get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
                    serving = version;
                    let _ = tx.send(Event::Got {
                        i,
                        version,
                        bytes: body.len(),
                        at,
                    });
                }
                Ok((status, _, _)) if status.as_u16() == 304 => {}
                Ok((status, _, body)) => {
                    let _ = tx.send(Event::Error(format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                    )));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    let _ = tx.send(Event::Error(e));
                    break; // reconnect
                }
            }
        }
    }
}

/// Waits until every connection has received `version` (or newer); returns each one's arrival.
async fn await_all(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    n: usize,
    version: u64,
    latest: &mut [u64],
    errors: &mut Vec<String>,
    limit: Duration,
) -> Result<(Vec<Instant>, usize), String> {
    let deadline = Instant::now() + limit;
    let mut arrived: Vec<Option<Instant>> = latest.iter().map(|_| None).collect();
    let mut count = latest.iter().filter(|&&v| v >= version).count();
    let mut bytes = 0;
    while count < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(Event::Got {
                i,
                version: v,
                bytes: b,
                at,
            })) => {
                bytes = b;
                if v >= version && latest[i] < version {
                    arrived[i] = Some(at);
                    count += 1;
                }
                latest[i] = latest[i].max(v);
            }
            Ok(Some(Event::Error(e))) => {
                if errors.len() < 20 {
                    errors.push(e);
                }
            }
            Ok(None) => return Err("pollers ended".into()),
            Err(_) => {
                return Err(format!(
                    "after {limit:?} only {count} of {n} connections had version {version} (errors: {errors:?})"
                ))
            }
        }
    }
    Ok((arrived.into_iter().flatten().collect(), bytes))
}

/// Waits until the server holds `n` polls at `version` (asked every 250 ms), at most `limit`.
async fn await_held(server: &Server, n: usize, version: u64, limit: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let held = server.held_at(version).await?;
        if held >= n {
            // The count is taken as a request reaches its handler; let the last ones park.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Ok(start.elapsed());
        }
        if start.elapsed() > limit {
            return Err(format!(
                "{}: only {held} of {n} polls held at version {version} after {limit:?}",
                server.name
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `n` SDK connections long-polling one server, and what was measured on them so far.
pub struct Fleet {
    n: usize,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    rx: mpsc::UnboundedReceiver<Event>,
    latest: Vec<u64>,
    errors: Vec<String>,
    pub snapshot_bytes: usize,
    open_s: f64,
    rss_idle: u64,
    rss_held: u64,
    all: Vec<f64>,
    per_round: Vec<Summary>,
    publish_ms: Vec<f64>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Measures `server`'s idle memory, opens `n` long polls, waits until it holds them all, and
/// measures its memory again.
pub async fn open(server: &Server, n: usize, run_id: &str) -> Result<Fleet, String> {
    // Warm-up: one snapshot fetch (and so one answer of every kind of work) before the baseline.
    let mut warm_headers = vec![("accept", "application/jose, */*;q=0.1")];
    let auth = server.agent_auth();
    if let Some(a) = &auth {
        warm_headers.push(("authorization", a.as_str()));
    }
    let (status, _, _) = crate::http::once(server.addr, "GET", "/v1/snapshot", &warm_headers, Bytes::new()).await?;
    if status.as_u16() != 200 {
        return Err(format!("{}: GET /v1/snapshot: HTTP {status}", server.name));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_idle, _) = server.rss_kib()?;
    let cfg = Arc::new(Cfg {
        server_addr: server.addr,
        auth,
        run_id: run_id.to_string(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    // At most 128 handshakes at once, so the listen backlog never overflows into SYN retries.
    let connects = Arc::new(Semaphore::new(128));
    let open_start = Instant::now();
    let tasks = (0..n)
        .map(|i| tokio::spawn(poller(i, cfg.clone(), tx.clone(), connects.clone())))
        .collect();
    let mut f = Fleet {
        n,
        tasks,
        rx,
        latest: vec![0; n],
        errors: Vec::new(),
        snapshot_bytes: 0,
        open_s: 0.0,
        rss_idle,
        rss_held: 0,
        all: Vec::new(),
        per_round: Vec::new(),
        publish_ms: Vec::new(),
    };
    let (_, bytes) = await_all(&mut f.rx, n, 1, &mut f.latest, &mut f.errors, Duration::from_secs(120)).await?;
    f.snapshot_bytes = bytes;
    let v0 = *f.latest.iter().max().unwrap_or(&0);
    await_all(&mut f.rx, n, v0, &mut f.latest, &mut f.errors, Duration::from_secs(60)).await?;
    await_held(server, n, v0, Duration::from_secs(120)).await?;
    f.open_s = open_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    f.rss_held = server.rss_kib()?.0;
    Ok(f)
}

impl Fleet {
    /// One publish, timed until every poll has answered with the new version; then waits until
    /// the server holds them all again.
    pub async fn round(&mut self, server: &Server, r: usize) -> Result<(), String> {
        let t0 = Instant::now();
        let v = server.publish(r).await?;
        self.publish_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        let (arrived, _) = await_all(
            &mut self.rx,
            self.n,
            v,
            &mut self.latest,
            &mut self.errors,
            Duration::from_secs(60),
        )
        .await?;
        let mut ms: Vec<f64> = arrived
            .iter()
            .map(|a| a.duration_since(t0).as_secs_f64() * 1e3)
            .collect();
        self.per_round.push(summary(&mut ms));
        self.all.extend(ms);
        await_held(server, self.n, v, Duration::from_secs(120)).await?;
        Ok(())
    }

    /// Everything measured, as JSON; the polls end when the fleet drops.
    pub fn finish(mut self, server: &Server) -> Result<Value, String> {
        let (rss_end, hwm) = server.rss_kib()?;
        let n = self.n;
        Ok(json!({
            "connections": n,
            "snapshot_bytes": self.snapshot_bytes,
            "open_and_hold_s": self.open_s,
            "rss_idle_kib": self.rss_idle,
            "rss_held_kib": self.rss_held,
            "rss_end_kib": rss_end,
            "rss_peak_kib": hwm,
            "bytes_per_held_connection": (self.rss_held.saturating_sub(self.rss_idle) as f64 * 1024.0) / n as f64,
            "rounds": self.per_round.len(),
            "publish_request_ms": self.publish_ms,
            "publish_to_all_ms": summary(&mut self.all),
            "publish_to_all_ms_by_round": self.per_round,
            "errors": self.errors,
        }))
    }
}
