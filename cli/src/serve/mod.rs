//! `act serve`: the development control endpoint.
//!
//! Compiles and signs a policy folder as a snapshot, re-signs it with a higher
//! version when a file changes (polled) or a revocation is posted, and answers
//! protocol v1: `GET /v1/snapshot` (ETag, 304, long poll), `POST /v1/audit`,
//! `POST /v1/tokens`, `/v1/approvals`, `POST /v1/revocations`. For development
//! and tests; state other than the audit log and revocations lives in memory.

mod routes;
mod state;

use crate::exit::{CmdResult, Failure, IO, USAGE};
use crate::keys::load_signing;
use act_core::{Engine, SigningKey};
use state::{App, Current, Inner};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Arguments of `act serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Policy file or folder to serve (re-signed when it changes).
    #[arg(long)]
    pub policy: PathBuf,
    /// The control plane's private key, which signs snapshots, tokens and approvals
    /// (default: a fresh key for this run; its public key is printed).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Address to listen on. Loopback by default: this is a development server.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// The API key every request must present as `Authorization: Bearer <key>`
    /// (default: $ACT_API_KEY, else a random key printed at start).
    #[arg(long, env = "ACT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Append ingested audit records (de-duplicated by id) to this JSON Lines file.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// Keep posted revocations here across restarts.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// How often to look for policy file changes, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
}

/// Starts the server and runs until Ctrl-C / SIGTERM.
pub fn run(a: ServeArgs) -> CmdResult {
    let key = match &a.key {
        Some(p) => load_signing(p)?,
        None => SigningKey::generate()?,
    };
    let generated_api_key = a.api_key.is_none();
    let api_key = match a.api_key.clone() {
        Some(k) => k,
        None => act_core::token::new_jti()?,
    };
    if api_key.trim().is_empty() || api_key.contains(char::is_whitespace) {
        return Err(Failure::usage("--api-key must be non-empty and without spaces"));
    }
    let files = act_core::policy::load_path(&a.policy).map_err(crate::policy::report)?;
    let api = match &a.state_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Failure::new(IO, format!("{}: {e}", d.display())))?;
            state::load_revocations(d).map_err(|m| Failure::new(IO, m))?
        }
        None => Default::default(),
    };
    let audit = match &a.audit_log {
        Some(p) => Some(state::open_audit(p).map_err(|e| Failure::new(IO, format!("{}: {e}", p.display())))?),
        None => None,
    };
    let engine_key = SigningKey::from_pkcs8_der(&key.to_pkcs8_der())?;
    let engine = Engine::builder()
        .policies(files.clone())
        .signing_key(engine_key)
        .build()?;
    let (tx, _) = tokio::sync::watch::channel(Arc::new(Current {
        version: 0,
        etag: String::new(),
        jws: String::new(),
    }));
    let app = Arc::new(App {
        key,
        api_key: api_key.clone(),
        engine,
        state_dir: a.state_dir.clone(),
        inner: Mutex::new(Inner {
            files,
            api,
            version: 0,
            approvals: Default::default(),
            audit,
            last_error: None,
        }),
        current: tx,
    });
    let version = {
        let mut inner = app.lock();
        app.publish(&mut inner)
            .map_err(|m| Failure::new(crate::exit::POLICY_INVALID, m))?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(crate::exit::INTERNAL, format!("cannot start the runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.addr)
            .await
            .map_err(|e| Failure::new(USAGE, format!("cannot listen on {}: {e}", a.addr)))?;
        let local = listener.local_addr().map_err(|e| Failure::new(IO, e.to_string()))?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "act serve: listening on http://{local}");
        let _ = writeln!(out, "snapshot key: {}", app.key.verifying_key());
        if generated_api_key {
            let _ = writeln!(out, "api key: {api_key}");
        }
        let _ = writeln!(out, "snapshot version {version}");
        let _ = out.flush();
        drop(out);
        tokio::spawn(watch(
            app.clone(),
            a.policy.clone(),
            Duration::from_millis(a.poll_ms.max(50)),
        ));
        axum::serve(listener, routes::router(app))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| Failure::new(IO, format!("server failed: {e}")))
    })
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Re-signs when the policy files change; a broken edit is reported and the last good version keeps serving.
async fn watch(app: Arc<App>, path: PathBuf, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let p = path.clone();
        let loaded = match tokio::task::spawn_blocking(move || act_core::policy::load_path(&p)).await {
            Ok(r) => r,
            Err(_) => continue,
        };
        let mut inner = app.lock();
        match loaded {
            Ok(set) if set != inner.files => {
                if let Err(e) = app.engine.reload(set.clone()) {
                    report(&mut inner, format!("policy change rejected: {e}"));
                    continue;
                }
                inner.files = set;
                match app.publish(&mut inner) {
                    Ok(v) => {
                        inner.last_error = None;
                        eprintln!("policy change: snapshot version {v}");
                    }
                    Err(m) => report(&mut inner, format!("policy change rejected: {m}")),
                }
            }
            Ok(_) => {}
            Err(e) => {
                let serving = inner.version;
                report(
                    &mut inner,
                    format!("policy change rejected (still serving version {serving}):\n{e}"),
                );
            }
        }
    }
}

fn report(inner: &mut Inner, message: String) {
    if inner.last_error.as_deref() != Some(message.as_str()) {
        eprintln!("{message}");
        inner.last_error = Some(message);
    }
}
