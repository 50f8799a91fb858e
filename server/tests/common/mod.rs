//! A real `act-server` on 127.0.0.1 (its own tokio runtime on a thread, stopped on drop) and a
//! minimal HTTP/1.1 client over a real socket.
#![allow(dead_code, reason = "each test binary uses a different part of these shared helpers")]

pub mod console;
pub mod pg;

use act_server::{App, Config, Credentials, Principal, Role};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const AGENT: &str = "agent-key-bot-host";
/// An agent credential of the same identity as the approver (for self-approval).
pub const AGENT_ALICE: &str = "agent-key-alice";
pub const ISSUER: &str = "issuer-key-support-only";
pub const APPROVER: &str = "approver-key-alice";
pub const APPROVER_BOB: &str = "approver-key-bob";
pub const ADMIN: &str = "admin-key-root";

pub const SUPPORT: &str = "\
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: [\"order://customer:{{authenticated_user_id}}/*\"]
  constraints:
    process_refund:
      maxAmount: 500
      requireSecondApproval: amount > 100
";

pub fn credentials() -> Credentials {
    let mut c = Credentials::default();
    let p = |identity: &str, role, agents: &[&str]| Principal {
        identity: identity.into(),
        role,
        agents: agents.iter().map(|a| a.to_string()).collect(),
    };
    c.add_key(AGENT, p("bot-host", Role::Agent, &[])).unwrap();
    c.add_key(AGENT_ALICE, p("alice", Role::Agent, &[])).unwrap();
    c.add_key(ISSUER, p("support-minter", Role::Issuer, &["customer-support-bot"]))
        .unwrap();
    c.add_key(APPROVER, p("alice", Role::Approver, &[])).unwrap();
    c.add_key(APPROVER_BOB, p("bob", Role::Approver, &[])).unwrap();
    c.add_key(ADMIN, p("root", Role::Admin, &[])).unwrap();
    c
}

/// A fresh temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("act-server-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Server {
    pub url: String,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(state_dir: Option<&Path>, approval_ttl: Duration) -> Server {
        Server::start_with(state_dir, approval_ttl, None)
    }

    /// Like [`Server::start`], appending ingested audit records to `audit_log`.
    pub fn start_with(state_dir: Option<&Path>, approval_ttl: Duration, audit_log: Option<&Path>) -> Server {
        Server::start_policies(state_dir, approval_ttl, audit_log, SUPPORT)
    }

    /// Like [`Server::start_with`], with `policy` (YAML) as the policy folder's content.
    pub fn start_policies(
        state_dir: Option<&Path>,
        approval_ttl: Duration,
        audit_log: Option<&Path>,
        policy: &str,
    ) -> Server {
        let config = Config {
            key: act_core::SigningKey::generate().unwrap(),
            policies: act_core::policy::parse_source("support.yaml", policy).unwrap(),
            credentials: credentials(),
            state_dir: state_dir.map(Path::to_path_buf),
            database_url: None,
            audit_log: audit_log.map(Path::to_path_buf),
            approval_ttl,
        };
        Server::start_config(config)
    }

    /// A server on `database_url` (PostgreSQL) signing with `key`.
    pub fn start_db(database_url: &str, key: &act_core::SigningKey) -> Server {
        Server::start_config(Config {
            key: act_core::SigningKey::from_pkcs8_der(&key.to_pkcs8_der()).unwrap(),
            policies: act_core::policy::parse_source("support.yaml", SUPPORT).unwrap(),
            credentials: credentials(),
            state_dir: None,
            database_url: Some(database_url.to_string()),
            audit_log: None,
            approval_ttl: Duration::from_secs(60),
        })
    }

    /// A server started with `config`.
    pub fn start_config(config: Config) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = rt.block_on(App::new(config)).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = app.clone();
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                act_server::serve(listener, served, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        Server {
            url,
            app,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// A request with `key` (or none); returns (status, body as JSON or a string).
    pub fn call(&self, key: Option<&str>, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, text) = http(method, &format!("{}{path}", self.url), key, body);
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    /// Like [`Server::call`], with extra request headers.
    pub fn call_with(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        let (status, text) = http_with(method, &format!("{}{path}", self.url), key, headers, body);
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn http(method: &str, url: &str, bearer: Option<&str>, body: Option<&str>) -> (u16, String) {
    http_with(method, url, bearer, &[], body)
}

/// Like [`http`], with extra request headers.
pub fn http_with(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(70))).unwrap();
    let body = body.unwrap_or("");
    let auth = bearer
        .map(|b| format!("authorization: Bearer {b}\r\n"))
        .unwrap_or_default();
    let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\n{auth}{extra}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// An approval request as core would make it for (agent, subject, amount), with a correct id.
pub fn approval_request(subject: &str, token_id: &str, amount: i64) -> Value {
    let ctx = serde_json::json!({"amount": amount});
    let hash = act_core::approval::context_hash(ctx.as_object().unwrap());
    let resource = format!("order://customer:{subject}/1");
    let id = act_core::approval::request_id(
        token_id,
        "customer-support-bot",
        subject,
        "process_refund",
        &resource,
        &hash,
    );
    serde_json::json!({
        "id": id, "agent": "customer-support-bot", "subject": subject, "action": "process_refund",
        "resource": resource, "constraint": "customer-support-bot/process_refund/requireSecondApproval",
        "condition": "amount > 100", "token_id": token_id, "context_hash": hash, "context": ctx
    })
}
