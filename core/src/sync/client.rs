//! The HTTP plumbing shared by the snapshot source and the audit sink.
//!
//! Each background thread owns a current-thread tokio runtime and a `reqwest`
//! client (HTTP/1.1, rustls with the `ring` provider, the platform's trust
//! store): one OS thread per source, nothing shared across threads or
//! processes, and every request can be cancelled at once by [`Stop`].

use super::Stop;
use crate::error::{Error, Result};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A runtime plus client, owned by one background thread.
pub(crate) struct Http {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) client: reqwest::Client,
}

/// Timeouts of a client.
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    /// Longest silence while reading a response.
    pub(crate) read: Duration,
}

impl Http {
    pub(crate) fn new(t: &Timeouts) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the HTTP runtime: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup: {e}")))?;
        let tls = rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier(tls)
            .map_err(|e| Error::Config(format!("TLS setup: cannot load the platform trust store: {e}")))?
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(t.connect)
            .read_timeout(t.read)
            .pool_idle_timeout(Duration::from_secs(50))
            .user_agent(concat!("act-sdk/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http { rt, client })
    }

    /// Runs `fut` unless `stop` fires first (`None` then).
    pub(crate) fn run<F: Future>(&self, stop: &Stop, fut: F) -> Option<F::Output> {
        self.rt.block_on(async {
            tokio::select! {
                biased;
                _ = stop.stopped() => None,
                out = fut => Some(out),
            }
        })
    }
}

/// Reads a response body, refusing more than `cap` bytes (checked before and while reading).
pub(crate) async fn read_capped(mut resp: reqwest::Response, cap: usize) -> std::result::Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length() {
        if len > cap as u64 {
            return Err(format!("the body is {len} bytes, over the {cap}-byte cap"));
        }
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > cap {
                    return Err(format!("the body is over the {cap}-byte cap"));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(format!("reading the body failed: {}", describe(&e))),
        }
    }
}

/// A one-line description of a transport error, with its cause chain.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "broken body"
    } else {
        "request failed"
    };
    let mut out = what.to_string();
    let mut last = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        // Layers often repeat their inner error's words; say each once.
        if text != last && !last.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        source = s.source();
    }
    out
}

/// The message of a snapshot error without its `snapshot rejected:` prefix.
pub(crate) fn inner(e: Error) -> String {
    match e {
        Error::Snapshot(m) => m,
        other => other.to_string(),
    }
}

/// `Retry-After` in seconds, when present and sane.
pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)))
}
