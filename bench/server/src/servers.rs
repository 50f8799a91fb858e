//! The servers under test, each a child process on loopback with its own temporary folder:
//! the built `act server` (SQLite, or PostgreSQL with `--database-url`), and the floor peers
//! (this binary's `floor` subcommand; the Go one when `go` is installed). Each is measured from
//! outside, through `/proc/<pid>/status`, and stopped by its process id.

use crate::http::{json_u64, once};
use hyper::body::Bytes;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a server is, and so how to publish to it and ask how many polls it holds.
pub enum Kind {
    Act { agent_key: String, admin_key: String },
    Floor,
}

pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    pub kind: Kind,
    child: Child,
    /// The server's folder, removed when the server is dropped.
    _dir: TempDir,
}

/// A folder under the system temp folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<TempDir, String> {
        let p = std::env::temp_dir().join(format!("act-server-bench-{label}-{}", random_hex(6)?));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn random_hex(bytes: usize) -> Result<String, String> {
    let mut b = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Whether this `act` build's `act server` takes `--database-url` (PostgreSQL support).
pub fn act_supports_postgres(act: &Path) -> Result<bool, String> {
    let out = Command::new(act)
        .args(["server", "--help"])
        .output()
        .map_err(|e| format!("{}: {e}", act.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).contains("--database-url"))
}

/// Starts `act server` on 127.0.0.1 (a free port) with a fresh key, credentials, state folder
/// and audit log; on PostgreSQL when `database_url` is given.
pub fn start_act(act: &Path, policy: &Path, database_url: Option<&str>, name: &str) -> Result<Server, String> {
    let dir = TempDir::new("act")?;
    let d = &dir.0;
    let policies = d.join("policies");
    std::fs::create_dir_all(&policies).map_err(|e| e.to_string())?;
    std::fs::copy(policy, policies.join("policies.yaml")).map_err(|e| format!("{}: {e}", policy.display()))?;
    let key = d.join("key.pem");
    let kg = Command::new(act)
        .arg("keygen")
        .arg("--out")
        .arg(&key)
        .output()
        .map_err(|e| format!("{}: {e}", act.display()))?;
    if !kg.status.success() {
        return Err(format!("act keygen: {}", String::from_utf8_lossy(&kg.stderr)));
    }
    let agent_key = random_hex(24)?;
    let admin_key = random_hex(24)?;
    let creds = serde_json::json!({"credentials": [
        {"identity": "bench-host", "role": "agent", "key_sha256": sha256_hex(&agent_key)},
        {"identity": "bench-admin", "role": "admin", "key_sha256": sha256_hex(&admin_key)},
    ]});
    std::fs::write(d.join("credentials.json"), creds.to_string()).map_err(|e| e.to_string())?;
    let state = d.join("state");
    let mut cmd = Command::new(act);
    cmd.arg("server")
        .arg("--policy")
        .arg(&policies)
        .arg("--key")
        .arg(&key)
        .arg("--credentials")
        .arg(d.join("credentials.json"))
        .arg("--state-dir")
        .arg(&state)
        .arg("--audit-log")
        .arg(d.join("audit.jsonl"))
        .args(["--addr", "127.0.0.1:0"]);
    // `act server` also reads ACT_DATABASE_URL: the SQLite runs must not pick one up from the environment.
    cmd.env_remove("ACT_DATABASE_URL");
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    spawn(cmd, dir, name, Kind::Act { agent_key, admin_key })
}

/// Starts this binary's floor peer (`floor` subcommand), answering with bodies of `body_bytes`.
pub fn start_floor(body_bytes: usize) -> Result<Server, String> {
    let dir = TempDir::new("floor")?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg("floor")
        .arg("--body-bytes")
        .arg(body_bytes.to_string())
        .arg("--dir")
        .arg(&dir.0);
    spawn(cmd, dir, "floor (axum)", Kind::Floor)
}

/// Starts a prebuilt Go floor peer (bench/server/go-floor), same routes as the Rust floor.
pub fn start_go_floor(exe: &Path, body_bytes: usize) -> Result<Server, String> {
    let dir = TempDir::new("gofloor")?;
    let mut cmd = Command::new(exe);
    cmd.arg("-body-bytes")
        .arg(body_bytes.to_string())
        .arg("-dir")
        .arg(&dir.0);
    spawn(cmd, dir, "floor (Go net/http)", Kind::Floor)
}

/// Runs `cmd` and waits for its `listening on http://ADDR` line (at most 60 s).
fn spawn(mut cmd: Command, dir: TempDir, name: &str, kind: Kind) -> Result<Server, String> {
    let log = std::fs::File::create(dir.0.join("stderr.log")).map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the start lines, then drains stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(a) => a,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(dir.0.join("stderr.log")).unwrap_or_default();
            return Err(format!("{name} did not start: {}", err.trim()));
        }
    };
    let addr = addr.parse().map_err(|e| format!("{name}: address `{addr}`: {e}"))?;
    Ok(Server {
        name: name.to_string(),
        addr,
        kind,
        child,
        _dir: dir,
    })
}

/// Resident and peak resident memory of a process, KiB (`VmRSS`, `VmHWM`).
pub fn rss_kib(pid: u32) -> Result<(u64, u64), String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss_kib(&self) -> Result<(u64, u64), String> {
        rss_kib(self.pid())
    }

    /// The agent credential an SDK sends (none for the floor peers).
    pub fn agent_auth(&self) -> Option<String> {
        match &self.kind {
            Kind::Act { agent_key, .. } => Some(format!("Bearer {agent_key}")),
            Kind::Floor => None,
        }
    }

    /// Publishes a change and returns the new snapshot version: for `act server` a token
    /// revocation through the admin API (signed into a new snapshot, one transaction).
    pub async fn publish(&self, round: usize) -> Result<u64, String> {
        let (path, body, auth) = match &self.kind {
            Kind::Act { admin_key, .. } => {
                let body = serde_json::json!({
                    "tokens": [format!("bench-revoked-{round}-{}", random_hex(4)?)],
                    "reason": format!("benchmark publish round {round}"),
                });
                ("/v1/revocations", body.to_string(), Some(format!("Bearer {admin_key}")))
            }
            Kind::Floor => ("/publish", String::new(), None),
        };
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let (status, _, body) = once(self.addr, "POST", path, &headers, Bytes::from(body)).await?;
        if !status.is_success() {
            return Err(format!(
                "{}: publish: HTTP {status}: {}",
                self.name,
                String::from_utf8_lossy(&body)
            ));
        }
        json_u64(&body, "version")
    }

    /// How many long polls the server holds at `version`: for `act server` the instances whose
    /// last poll reported serving `version` (`GET /v1/fleet`); for a floor, its parked count.
    pub async fn held_at(&self, version: u64) -> Result<usize, String> {
        match &self.kind {
            Kind::Act { admin_key, .. } => {
                let auth = format!("Bearer {admin_key}");
                let (status, _, body) = once(
                    self.addr,
                    "GET",
                    "/v1/fleet",
                    &[("authorization", auth.as_str())],
                    Bytes::new(),
                )
                .await?;
                if !status.is_success() {
                    return Err(format!("GET /v1/fleet: HTTP {status}"));
                }
                let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                Ok(v["versions"][version.to_string()].as_u64().unwrap_or(0) as usize)
            }
            Kind::Floor => {
                let (_, _, body) = once(self.addr, "GET", "/parked", &[], Bytes::new()).await?;
                Ok(json_u64(&body, "parked")? as usize)
            }
        }
    }

    /// SIGTERM by process id, then SIGKILL after 5 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
