//! `act-server`: the ACT control plane behind `act server` and its development mode `act serve`.
//!
//! It publishes policies as numbered, tested versions ([`policies`]: a push, a rollback, or a change
//! of the watched folder), signs them as snapshots (re-signed on every publish, revocation or kill
//! switch), serves them with ETag and long poll, ingests audit records, mints tokens, keeps approval
//! requests and their decisions, records revocations and kill switches with who and why, manages
//! API keys ([`keys`]) and announces events to webhooks ([`webhooks`]).
//! Every route but `/healthz` needs an API key, and every key has one role ([`Role`]):
//! an agent's key can read snapshots and ask for approvals but never grant, revoke or mint.
//!
//! Built on axum/tokio (already the CLI's HTTP stack), rustls/tokio-rustls for HTTPS ([`tls`]),
//! sha2 for key digests and sqlx for storage.
//! All durable state (approvals, policy versions, managed keys, revocations and kill switches with
//! their history, the audit index) lives in one database ([`store`]): SQLite in the state folder
//! by default, or PostgreSQL shared by several replicas, which follow each other's changes
//! through LISTEN/NOTIFY ([`replicas`]).
#![forbid(unsafe_code)]

pub mod approvals;
pub mod audit_chains;
pub mod audit_index;
pub mod auth;
pub mod client;
mod console;
mod error;
pub mod fleet;
pub mod keys;
pub mod policies;
pub mod policy_store;
pub mod replicas;
pub mod revocation_store;
pub mod revocations;
mod routes;
pub mod state;
pub mod store;
pub mod suite;
pub mod tls;
pub mod webhooks;

pub use auth::{Credentials, Principal, Role};
pub use routes::{router, MAX_WAIT_SECS};
pub use state::{App, Config};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Serves `app` on `listener` until `shutdown` resolves; then long polls answer at once and the
/// server stops after the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, app, shutdown).await
}

/// Like [`serve`], over HTTPS with `tls` (see [`tls::load_config`]).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    tls: tls::TlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    app.tls.store(true, std::sync::atomic::Ordering::Relaxed);
    serve_on(tls::TlsListener::new(listener, tls)?, app, shutdown).await
}

async fn serve_on<L>(
    listener: L,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let stopping = app.clone();
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.stopping.send_replace(true);
        })
        .await
}

/// Watches the policy folder: a change is published as a new version by `dev`; a broken edit is
/// reported and the last good version keeps serving.
pub async fn watch(app: Arc<App>, path: PathBuf, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let p = path.clone();
        let loaded = match tokio::task::spawn_blocking(move || act_core::policy::load_path(&p)).await {
            Ok(r) => r,
            Err(_) => continue,
        };
        match loaded {
            Ok(set) if set != app.lock().folder => {
                let v = App::folder_version(set, "the policy folder changed".into());
                let published = app.publish_policies(v).await;
                let mut inner = app.lock();
                match published {
                    Ok((info, snapshot)) => {
                        inner.last_error = None;
                        eprintln!(
                            "policy change: policy version {}, snapshot version {snapshot}",
                            info.version
                        );
                    }
                    Err(state::PublishError::Rejected(policies::Rejected::Policy(d))) => {
                        let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
                        report(&mut inner, format!("policy change rejected:\n{}", lines.join("\n")))
                    }
                    Err(e) => report(&mut inner, format!("policy change rejected: {e:?}")),
                }
            }
            Ok(_) => {}
            Err(e) => {
                let mut inner = app.lock();
                let serving = inner.policy_version;
                report(
                    &mut inner,
                    format!("policy change rejected (still serving policy version {serving}):\n{e}"),
                );
            }
        }
    }
}

fn report(inner: &mut state::Inner, message: String) {
    if inner.last_error.as_deref() != Some(message.as_str()) {
        eprintln!("{message}");
        inner.last_error = Some(message);
    }
}
