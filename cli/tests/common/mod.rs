//! Helpers for running the built `act` binary, and `act serve` on loopback.
#![allow(dead_code, reason = "each test binary uses a different part of these shared helpers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn act() -> Command {
    Command::new(env!("CARGO_BIN_EXE_act"))
}

pub fn run(args: &[&str]) -> Output {
    act().args(args).output().expect("act runs")
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A fresh temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("act-cli-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
    pub fn s(&self, p: &str) -> String {
        self.join(p).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

/// `act serve` on 127.0.0.1, killed (by its process handle) and reaped on drop.
pub struct Serve {
    pub child: Child,
    pub url: String,
    pub key: String,
    pub api_key: String,
}

/// The dev-mode keys of the other roles (`act serve --issuer-api-key ...`).
pub const ISSUER_KEY: &str = "test-issuer-key";
pub const APPROVER_KEY: &str = "test-approver-key";
pub const ADMIN_KEY: &str = "test-admin-key";

impl Serve {
    pub fn start(policy: &Path, addr: &str, extra: &[&str]) -> Serve {
        let api_key = "test-api-key".to_string();
        let mut child = act()
            .args([
                "serve",
                "--policy",
                &policy.display().to_string(),
                "--addr",
                addr,
                "--api-key",
                &api_key,
                "--poll-ms",
                "100",
                "--issuer-api-key",
                ISSUER_KEY,
                "--approver-api-key",
                APPROVER_KEY,
                "--admin-api-key",
                ADMIN_KEY,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("act serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut url, mut key) = (String::new(), String::new());
        while url.is_empty() || key.is_empty() {
            let line = lines.next().expect("act serve prints its address").unwrap();
            if let Some(u) = line.strip_prefix("act serve: listening on ") {
                url = u.to_string();
            } else if let Some(k) = line.strip_prefix("snapshot key: ") {
                key = k.to_string();
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            url,
            key,
            api_key,
        }
    }

    /// A request with the (agent) API key; returns (status, body).
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        self.call_as(&self.api_key, method, path, body)
    }

    /// A request with `key`; returns (status, body).
    pub fn call_as(&self, key: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(method, &format!("{}{path}", self.url), Some(key), body)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client over a real socket (`Connection: close`).
pub fn http(method: &str, url: &str, bearer: Option<&str>, body: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let body = body.unwrap_or("");
    let auth = bearer
        .map(|b| format!("authorization: Bearer {b}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
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
