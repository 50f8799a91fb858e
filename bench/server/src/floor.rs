//! The floor peer: the least a long-poll snapshot server can do per connection, on the same
//! HTTP stack as `act server` (axum on hyper, tokio with 2 worker threads). No credentials, no
//! signing, no fleet bookkeeping: a request whose `If-None-Match` names the current version waits
//! on a `watch` channel and answers with the new body; a publish swaps the body and wakes them.
//! Its audit route parses the batch and appends it to a file with one fsync per batch (the least a
//! durable ingest does), without checking hashes or chains.
//!
//! Run by the benchmark as `act-server-bench floor --body-bytes N --dir DIR`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

struct Floor {
    current: watch::Sender<(u64, Bytes)>,
    parked: AtomicUsize,
    body_bytes: usize,
    audit: Mutex<std::fs::File>,
}

type Shared = State<Arc<Floor>>;

/// Counts a parked request for as long as it waits.
struct Parked<'a>(&'a AtomicUsize);

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn body_of(version: u64, len: usize) -> Bytes {
    let mut b = format!("v{version}.").into_bytes();
    b.resize(len.max(b.len()), b'x');
    Bytes::from(b)
}

async fn snapshot(State(f): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let wait = q.get("wait").and_then(|w| w.parse::<u64>().ok()).unwrap_or(0).min(60);
    let mut rx = f.current.subscribe();
    let mut cur = rx.borrow_and_update().clone();
    let known = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    let etag = |v: u64| format!("\"{v}\"");
    if known == Some(etag(cur.0).as_str()) && wait > 0 {
        f.parked.fetch_add(1, Ordering::Relaxed);
        let _parked = Parked(&f.parked);
        if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(wait), rx.changed()).await {
            cur = rx.borrow_and_update().clone();
        }
    }
    let tag = etag(cur.0);
    let mut r = if known == Some(tag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, cur.1).into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert("x-act-snapshot-version", HeaderValue::from(cur.0));
    r
}

async fn publish(State(f): Shared) -> Response {
    let mut version = 0;
    f.current.send_modify(|c| {
        c.0 += 1;
        version = c.0;
        c.1 = body_of(c.0, f.body_bytes);
    });
    json(format!("{{\"version\":{version}}}"))
}

async fn parked(State(f): Shared) -> Response {
    json(format!("{{\"parked\":{}}}", f.parked.load(Ordering::Relaxed)))
}

async fn audit(State(f): Shared, bytes: Bytes) -> Response {
    let records: Vec<serde_json::Value> = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut text = Vec::with_capacity(bytes.len() + records.len());
    for r in &records {
        if serde_json::to_writer(&mut text, r).is_err() {
            return StatusCode::BAD_REQUEST.into_response();
        }
        text.push(b'\n');
    }
    let f = f.clone();
    let done = tokio::task::spawn_blocking(move || {
        let mut file = f.audit.lock().map_err(|_| "poisoned".to_string())?;
        file.write_all(&text)
            .and_then(|()| file.sync_data())
            .map_err(|e| e.to_string())
    })
    .await;
    match done {
        Ok(Ok(())) => json(format!(
            "{{\"accepted\":{},\"duplicates\":0,\"gaps\":0}}",
            records.len()
        )),
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn json(s: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s).into_response()
}

/// `floor --body-bytes N --dir DIR`: serves on 127.0.0.1 (a free port) until killed.
pub fn main(args: &[String]) -> Result<(), String> {
    let mut body_bytes = 1024usize;
    let mut dir = std::env::temp_dir();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--body-bytes" => body_bytes = it.next().and_then(|v| v.parse().ok()).ok_or("--body-bytes N")?,
            "--dir" => dir = it.next().ok_or("--dir DIR")?.into(),
            other => return Err(format!("floor: unknown argument `{other}`")),
        }
    }
    let audit_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("audit.jsonl"))
        .map_err(|e| e.to_string())?;
    let (current, _) = watch::channel((1, body_of(1, body_bytes)));
    let floor = Arc::new(Floor {
        current,
        parked: AtomicUsize::new(0),
        body_bytes,
        audit: Mutex::new(audit_file),
    });
    let app = Router::new()
        .route("/v1/snapshot", get(snapshot))
        .route("/v1/audit", post(audit))
        .route("/publish", post(publish))
        .route("/parked", get(parked))
        .with_state(floor);
    // The same runtime shape as `act server` (cli/src/serve: multi-thread, 2 workers).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("floor: listening on http://{addr}");
        axum::serve(listener, app).await.map_err(|e| e.to_string())
    })
}
