//! `act serve` (development mode) and `act server` (the control plane): thin fronts over the
//! `act-server` crate, which holds the one implementation of the routes and their state.

use crate::exit::{CmdResult, Failure, IO, USAGE};
use crate::keys::load_signing;
use act_core::SigningKey;
use act_server::{App, Config, Credentials, Principal, Role};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
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
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The agent key (snapshot, audit, approval requests) as `Authorization: Bearer <key>`
    /// (default: $ACT_API_KEY, else a random key printed at start).
    #[arg(long, env = "ACT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The issuer key (`POST /v1/tokens`, any agent); default: random, printed at start.
    #[arg(long)]
    pub issuer_api_key: Option<String>,
    /// The approver key (grant/deny, identity `dev-approver`); default: random, printed at start.
    #[arg(long)]
    pub approver_api_key: Option<String>,
    /// The admin key (revocations, kill switches, approval list); default: random, printed at start.
    #[arg(long)]
    pub admin_api_key: Option<String>,
    /// Append ingested audit records (de-duplicated by id) to this JSON Lines file.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// Keep the SQLite database (approvals, policy versions, keys, revocations and kill switches
    /// with their history, the audit index) here across restarts (default: in memory).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// How long an approval request waits for a decision, in seconds.
    #[arg(long, default_value_t = 900)]
    pub approval_ttl: u64,
    /// How often to look for policy file changes, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
}

/// Arguments of `act server`.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// Policy file or folder to serve (re-signed when it changes).
    #[arg(long)]
    pub policy: PathBuf,
    /// The control plane's private key (PKCS#8 PEM from `act keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// JSON file `{"credentials": [{"identity", "role", "key_sha256", "agents"?}]}` (keys stored hashed).
    #[arg(long)]
    pub credentials: PathBuf,
    /// Where the SQLite database (`act.sqlite`: approvals, policy versions, keys, revocations and
    /// kill switches with their history, the audit index) and `webhooks.json` are kept.
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Keep the state in this PostgreSQL database instead (`postgres://user@host:port/db`),
    /// which several replicas may share; `webhooks.json` stays in --state-dir.
    #[arg(long, env = "ACT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow a non-loopback address without TLS because a TLS-terminating proxy sits in front.
    #[arg(long)]
    pub behind_proxy: bool,
    /// Append ingested audit records (de-duplicated by id) to this JSON Lines file.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// How long an approval request waits for a decision, in seconds.
    #[arg(long, default_value_t = 900)]
    pub approval_ttl: u64,
    /// How often to look for policy file changes, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
}

fn dev_credentials(a: &ServeArgs) -> Result<(Credentials, Vec<(Role, String)>), Failure> {
    let mut c = Credentials::default();
    let mut generated = Vec::new();
    let given = [&a.api_key, &a.issuer_api_key, &a.approver_api_key, &a.admin_api_key];
    for (role, key) in Role::ALL.into_iter().zip(given) {
        let key = match key {
            Some(k) => k.clone(),
            None => {
                let k = act_core::token::new_jti()?;
                generated.push((role, k.clone()));
                k
            }
        };
        let principal = Principal {
            identity: format!("dev-{}", role.name()),
            role,
            agents: vec!["*".into()],
        };
        c.add_key(&key, principal)
            .map_err(|m| Failure::usage(format!("--{}: {m}", flag(role))))?;
    }
    Ok((c, generated))
}

fn flag(role: Role) -> &'static str {
    match role {
        Role::Agent => "api-key",
        Role::Issuer => "issuer-api-key",
        Role::Approver => "approver-api-key",
        Role::Admin => "admin-api-key",
    }
}

/// `act serve`: development mode (generated keys, one per role, printed at start).
pub fn run(a: ServeArgs) -> CmdResult {
    let key = match &a.key {
        Some(p) => load_signing(p)?,
        None => SigningKey::generate()?,
    };
    let (credentials, generated) = dev_credentials(&a)?;
    let mut lines = Vec::new();
    for (role, k) in &generated {
        // `api key:` is what scripts read since before roles existed: it stays the agent key.
        let label = if *role == Role::Agent {
            "api key".to_string()
        } else {
            format!("{} key", role.name())
        };
        lines.push(format!("{label}: {k}"));
    }
    let config = Config {
        key,
        policies: act_core::policy::load_path(&a.policy).map_err(crate::policy::report)?,
        credentials,
        state_dir: a.state_dir.clone(),
        database_url: None,
        audit_log: a.audit_log.clone(),
        approval_ttl: Duration::from_secs(a.approval_ttl.max(1)),
    };
    let tls = tls_config(a.tls_cert.as_deref(), a.tls_key.as_deref())?;
    start("act serve", config, a.addr, tls, a.policy.clone(), a.poll_ms, lines)
}

/// `act server`: credentials from a file, a persistent key and state folder, loopback unless behind a proxy.
pub fn run_server(a: ServerArgs) -> CmdResult {
    let tls = tls_config(a.tls_cert.as_deref(), a.tls_key.as_deref())?;
    if !a.addr.ip().is_loopback() && !a.behind_proxy && tls.is_none() {
        return Err(Failure::usage(format!(
            "refusing to listen on {} without TLS: pass --tls-cert and --tls-key, or put a TLS-terminating \
             proxy in front and pass --behind-proxy, or listen on loopback",
            a.addr
        )));
    }
    let text = std::fs::read_to_string(&a.credentials)
        .map_err(|e| Failure::new(IO, format!("{}: {e}", a.credentials.display())))?;
    let credentials =
        Credentials::from_json(&text).map_err(|m| Failure::usage(format!("{}: {m}", a.credentials.display())))?;
    let counts: Vec<String> = Role::ALL
        .iter()
        .map(|r| format!("{} {}", credentials.count(*r), r.name()))
        .collect();
    let config = Config {
        key: load_signing(&a.key)?,
        policies: act_core::policy::load_path(&a.policy).map_err(crate::policy::report)?,
        credentials,
        state_dir: Some(a.state_dir.clone()),
        database_url: a.database_url.clone(),
        audit_log: a.audit_log.clone(),
        approval_ttl: Duration::from_secs(a.approval_ttl.max(1)),
    };
    let lines = vec![format!("credentials: {}", counts.join(", "))];
    start("act server", config, a.addr, tls, a.policy.clone(), a.poll_ms, lines)
}

fn tls_config(
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<Option<act_server::tls::TlsConfig>, Failure> {
    match (cert, key) {
        (Some(c), Some(k)) => act_server::tls::load_config(c, k).map(Some).map_err(Failure::usage),
        (None, None) => Ok(None),
        _ => Err(Failure::usage("--tls-cert and --tls-key go together")),
    }
}

fn start(
    name: &str,
    config: Config,
    addr: SocketAddr,
    tls: Option<act_server::tls::TlsConfig>,
    policy: PathBuf,
    poll_ms: u64,
    lines: Vec<String>,
) -> CmdResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(crate::exit::INTERNAL, format!("cannot start the runtime: {e}")))?;
    rt.block_on(async move {
        let app = App::new(config).await.map_err(|m| Failure::new(IO, m))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::new(USAGE, format!("cannot listen on {addr}: {e}")))?;
        let local = listener.local_addr().map_err(|e| Failure::new(IO, e.to_string()))?;
        let mut out = std::io::stdout().lock();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let _ = writeln!(out, "{name}: listening on {scheme}://{local}");
        let _ = writeln!(out, "snapshot key: {}", app.key.verifying_key());
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "snapshot version {}", app.current.borrow().version);
        let _ = out.flush();
        drop(out);
        tokio::spawn(act_server::watch(
            app.clone(),
            policy,
            Duration::from_millis(poll_ms.max(50)),
        ));
        let served = match tls {
            Some(tls) => act_server::serve_tls(listener, app, tls, shutdown()).await,
            None => act_server::serve(listener, app, shutdown()).await,
        };
        served.map_err(|e| Failure::new(IO, format!("server failed: {e}")))
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
