//! SIGKILL at random moments, many rounds: a child process (this test binary re-executed)
//! writes in a loop and is killed; the next start must find
//!
//! - a snapshot cache that verifies (the old or the new version, never a torn file);
//! - every audit record the child acknowledged (it prints ids only after `flush_audit`
//!   returned), in a JSON Lines log whose hash chain verifies, with a torn last line moved
//!   aside rather than read as data;
//! - every acknowledged record delivered by the HTTP audit sink after a restart (from its
//!   spill file), each process's chain verifying at the endpoint.

mod common;

use act_core::audit::{verify_log, verify_merged_log, JsonlSink};
use act_core::snapshot::{encode_snapshot, SnapshotDocument};
use act_core::sync::{start_http, HttpAuditOptions, HttpAuditSink, HttpSyncOptions};
use act_core::{Clock, Engine, IssueRequest, Request, SigningKey, SystemClock};
use common::{Mode, TestServer};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHILD_ENV: &str = "ACT_CRASH_CHILD";
const SEED: [u8; 32] = [9; 32];

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "act-crash-{name}-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A cheap random number per round (no extra dependency): nanoseconds of the clock.
fn random_below(n: u64) -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        % n.max(1)
}

/// Spawns `child_body` in a new process with `mode` and `dir`, returns it with its stdout lines.
fn spawn(mode: &str, dir: &Path, extra: &str) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_body", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{mode}\n{}\n{extra}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Waits for the READY line, lets the child work for a random moment, SIGKILLs it (by its pid),
/// and returns every line it printed.
fn kill_at_random(
    mut child: Child,
    mut lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    max_ms: u64,
) -> Vec<String> {
    let ready = lines.by_ref().map_while(|l| l.ok()).find(|l| l.ends_with("READY"));
    assert!(ready.is_some(), "the child did not start");
    std::thread::sleep(Duration::from_millis(5 + random_below(max_ms)));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    lines.map_while(|l| l.ok()).collect()
}

fn acked(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.split_once("ACK ").map(|(_, ids)| ids.to_string()))
        .flat_map(|ids| ids.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect()
}

const POLICY: &str = "agent: bot\npolicy:\n  actions: [read, write]\n  resources: [\"doc://*\"]\n";

/// A policy set big enough that writing its snapshot takes a while (more chances to die mid-write).
fn big_policies() -> act_core::policy::PolicySet {
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!(
            "---\nagent: bot-{i}\npolicy:\n  actions: [read, write, delete_{i}]\n  resources: [\"doc://team-{i}/**\", \"!doc://team-{i}/secrets/**\"]\n  constraints:\n    - maxAmount: {i}\n    - requireApproval: amount > {}\n",
            i / 2
        ));
    }
    text.push_str("---\n");
    text.push_str(POLICY);
    act_core::policy::parse_source("big.yaml", &text).unwrap()
}

fn engine_with_sink(sink: Box<dyn act_core::audit::AuditSink>) -> Engine {
    Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::from_seed(&SEED).unwrap())
        .audit_sink(sink)
        .build()
        .unwrap()
}

/// Decides in a loop; after each flush prints the ids now durable.
fn decide_and_ack(e: &Engine) -> ! {
    let token = e
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: json!({"user_id": "u"}).as_object().unwrap().clone(),
            ..Default::default()
        })
        .unwrap();
    let c: Map<String, Value> = json!({"note": "x".repeat(300)}).as_object().unwrap().clone();
    println!("READY");
    let mut i = 0u64;
    loop {
        let mut ids = Vec::new();
        for _ in 0..(1 + i % 7) {
            let action = if i % 3 == 0 { "delete" } else { "read" };
            let d = e.validate(&Request {
                token: &token,
                action,
                resource: "doc://a",
                context: &c,
                approval: None,
            });
            ids.push(d.audit_id.to_string());
            i += 1;
        }
        e.flush_audit();
        let (_, errors, last) = e.audit_status();
        assert_eq!(errors, 0, "audit sink errors: {last:?}");
        println!("ACK {}", ids.join(" "));
    }
}

/// Not a test on its own: the body of the child processes below.
#[test]
#[ignore = "child process body of the crash tests"]
fn child_body() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let mut parts = spec.splitn(3, '\n');
    let (mode, dir, extra) = (
        parts.next().unwrap(),
        PathBuf::from(parts.next().unwrap()),
        parts.next().unwrap_or(""),
    );
    match mode {
        "snapshot" => {
            // A control endpoint serving a new version every few milliseconds; the sync thread
            // verifies, swaps and persists each one to the cache.
            let cp = SigningKey::from_seed(&SEED).unwrap();
            let policies = big_policies();
            let doc = |v: u64| {
                let d = SnapshotDocument {
                    version: v,
                    issued_at: SystemClock.now_ms(),
                    expires_at: None,
                    policies: policies.clone(),
                };
                encode_snapshot(&cp, &d).unwrap()
            };
            let base = SystemClock.now_ms() as u64;
            let server = TestServer::start(Mode::Doc {
                body: doc(base),
                etag: format!("\"{base}\""),
            });
            let e = Arc::new(Engine::builder().without_snapshot().build().unwrap());
            let mut o = HttpSyncOptions::new(server.url(), cp.verifying_key().clone());
            o.cache_dir = Some(dir.clone());
            o.long_poll = Duration::ZERO;
            o.poll_interval = Duration::from_millis(1);
            o.backoff_min = Duration::from_millis(1);
            o.backoff_max = Duration::from_millis(5);
            let _h = start_http(e, o).unwrap();
            while !dir.join(act_core::sync::CACHE_FILE).exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
            println!("READY");
            for v in base + 1.. {
                server.set(Mode::Doc {
                    body: doc(v),
                    etag: format!("\"{v}\""),
                });
            }
        }
        "jsonl" => {
            let sink = JsonlSink::open(dir.join("audit.jsonl").display().to_string()).unwrap();
            decide_and_ack(&engine_with_sink(Box::new(sink)));
        }
        "ship" => {
            let (endpoint, spill) = extra.split_once(' ').expect("endpoint and spill file name");
            let mut o = HttpAuditOptions::new(endpoint);
            o.spill_path = Some(dir.join(spill));
            o.queue_capacity = 16;
            o.batch_size = 8;
            o.backoff_min = Duration::from_millis(5);
            o.backoff_max = Duration::from_millis(20);
            o.request_timeout = Duration::from_millis(500);
            decide_and_ack(&engine_with_sink(Box::new(HttpAuditSink::start(o).unwrap())));
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn sigkill_while_caching_snapshots_leaves_a_valid_cache() {
    let dir = tempdir("snapshot");
    let cp = SigningKey::from_seed(&SEED).unwrap();
    let mut last = 0;
    for round in 0..25 {
        let (child, lines) = spawn("snapshot", &dir, "");
        kill_at_random(child, lines, 300);
        // The next start: the cache must verify against the pinned key and compile.
        let e = Engine::builder().without_snapshot().build().unwrap();
        let v = act_core::sync::load_cached(&e, &dir, cp.verifying_key())
            .unwrap_or_else(|err| panic!("round {round}: the cache is unusable after SIGKILL: {err}"))
            .expect("a cache file exists");
        assert!(v >= last, "round {round}: the cache went back from {last} to {v}");
        assert!(e.snapshot().agent("bot-299").is_some(), "the whole snapshot is there");
        last = v;
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(leftovers.contains(&"snapshot.jws".to_string()), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_while_writing_the_jsonl_audit_log_loses_no_acknowledged_record() {
    let dir = tempdir("jsonl");
    let log = dir.join("audit.jsonl");
    let mut acknowledged: Vec<String> = Vec::new();
    let mut torn_rounds = 0;
    for round in 0..25 {
        let (child, lines) = spawn("jsonl", &dir, "");
        let out = kill_at_random(child, lines, 150);
        acknowledged.extend(acked(&out));
        let bytes = std::fs::read(&log).unwrap();
        if bytes.last().is_some_and(|b| *b != b'\n') {
            torn_rounds += 1;
            // A torn last line is never valid data: verification stops there.
            assert!(
                verify_log(&bytes[..], Some(act_core::audit::GENESIS_HASH)).is_err(),
                "round {round}: a torn line verified"
            );
        }
        // The next start repairs the tail (opening is what a restarted process does).
        drop(JsonlSink::open(log.display().to_string()).unwrap());
        let n = verify_log(
            BufReader::new(std::fs::File::open(&log).unwrap()),
            Some(act_core::audit::GENESIS_HASH),
        )
        .unwrap_or_else(|e| panic!("round {round}: the chain does not verify after restart: {e:?}"));
        let ids: HashSet<String> = BufReader::new(std::fs::File::open(&log).unwrap())
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(&l.unwrap()).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids.len(), n, "ids are unique");
        let missing: Vec<_> = acknowledged.iter().filter(|id| !ids.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged records missing: {missing:?}"
        );
    }
    assert!(!acknowledged.is_empty(), "the children acknowledged records");
    println!(
        "jsonl: {} acknowledged records over 25 kills; {torn_rounds} kills tore the last line",
        acknowledged.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A control endpoint's audit intake on loopback: keeps every posted record, answers 503 to
/// every third request so the sink retries and spills.
struct Collector {
    addr: std::net::SocketAddr,
    records: Arc<Mutex<Vec<Value>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Collector {
    fn start() -> Collector {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, s) = (records.clone(), stop.clone());
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, count) = (r.clone(), count.clone());
                std::thread::spawn(move || serve_audit(conn, &r, &count));
            }
        });
        Collector { addr, records, stop }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn serve_audit(mut conn: std::net::TcpStream, records: &Mutex<Vec<Value>>, count: &std::sync::atomic::AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    loop {
        // Head, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 65536];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer: &[u8] = if n % 3 == 2 {
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"
        } else {
            if let Ok(Value::Array(batch)) = serde_json::from_slice::<Value>(&body) {
                records.lock().unwrap().extend(batch);
            }
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        };
        if conn.write_all(answer).is_err() {
            return;
        }
    }
}

#[test]
fn sigkill_while_shipping_and_spilling_audit_loses_no_acknowledged_record() {
    let dir = tempdir("ship");
    let collector = Collector::start();
    let endpoint = format!("http://{}", collector.addr);
    // Half the rounds ship to a live (flaky) endpoint, half to one that is down: records spill.
    // Rounds alternate between a spill file shared by every round (a restart finds what the
    // previous process left) and a fresh one per round (the process starts delivering from memory).
    let down = format!(
        "http://{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    );
    let mut acknowledged: Vec<String> = Vec::new();
    let mut spills = vec!["spill-shared.jsonl".to_string()];
    for round in 0..16 {
        let target = if round % 2 == 0 { &endpoint } else { &down };
        let spill = if round % 4 < 2 {
            "spill-shared.jsonl".to_string()
        } else {
            format!("spill-{round}.jsonl")
        };
        if !spills.contains(&spill) {
            spills.push(spill.clone());
        }
        let (child, lines) = spawn("ship", &dir, &format!("{target} {spill}"));
        acknowledged.extend(acked(&kill_at_random(child, lines, 250)));
    }
    assert!(!acknowledged.is_empty());
    // The next start replays each spill file to the live endpoint.
    for spill in &spills {
        let mut o = HttpAuditOptions::new(endpoint.clone());
        o.spill_path = Some(dir.join(spill));
        o.backoff_min = Duration::from_millis(5);
        o.backoff_max = Duration::from_millis(20);
        let sink = HttpAuditSink::start(o).unwrap();
        assert!(
            sink.handle().wait_idle(Duration::from_secs(30)),
            "{spill} was delivered: {:?}",
            sink.handle().stats()
        );
        drop(sink);
    }
    let received = collector.records.lock().unwrap().clone();
    // At-least-once: the endpoint de-duplicates by id, then every process's chain must verify.
    let mut seen = HashSet::new();
    let mut lines = String::new();
    for r in &received {
        let id = r["id"].as_str().unwrap().to_string();
        if seen.insert(id) {
            lines.push_str(&serde_json::to_string(r).unwrap());
            lines.push('\n');
        }
    }
    let missing: Vec<_> = acknowledged.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let (n, chains) =
        verify_merged_log(lines.as_bytes()).unwrap_or_else(|e| panic!("the merged chains do not verify: {e:?}"));
    println!(
        "ship: {} acknowledged, {n} distinct records delivered in {chains} chains ({} posts incl. re-sends)",
        acknowledged.len(),
        received.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_last_line_is_moved_aside_never_read_as_data() {
    let dir = tempdir("torn");
    let log = dir.join("audit.jsonl");
    {
        let e = engine_with_sink(Box::new(JsonlSink::open(log.display().to_string()).unwrap()));
        let t = e
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: json!({"user_id": "u"}).as_object().unwrap().clone(),
                ..Default::default()
            })
            .unwrap();
        for _ in 0..3 {
            e.validate(&Request {
                token: &t,
                action: "read",
                resource: "doc://a",
                context: &Map::new(),
                approval: None,
            });
        }
        e.flush_audit();
    }
    // A crash mid-write: half a record, no newline.
    let whole = std::fs::read_to_string(&log).unwrap();
    let fragment = &whole.lines().next().unwrap()[..40];
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(fragment.as_bytes())
        .unwrap();
    let err = verify_log(BufReader::new(std::fs::File::open(&log).unwrap()), None).unwrap_err();
    assert_eq!(err.line, 4, "{err:?}");
    // The next start moves the fragment aside and continues the chain from record 3.
    {
        let e = engine_with_sink(Box::new(JsonlSink::open(log.display().to_string()).unwrap()));
        let t = e
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: json!({"user_id": "u"}).as_object().unwrap().clone(),
                ..Default::default()
            })
            .unwrap();
        e.validate(&Request {
            token: &t,
            action: "read",
            resource: "doc://a",
            context: &Map::new(),
            approval: None,
        });
        e.flush_audit();
    }
    assert_eq!(
        verify_log(
            BufReader::new(std::fs::File::open(&log).unwrap()),
            Some(act_core::audit::GENESIS_HASH)
        ),
        Ok(4)
    );
    let aside = std::fs::read_to_string(dir.join("audit.jsonl.torn")).unwrap();
    assert_eq!(aside, format!("{fragment}\n"));
    // Blank lines after the last record are skipped: the chain continues from record 4.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"\n  \n")
        .unwrap();
    {
        let e = engine_with_sink(Box::new(JsonlSink::open(log.display().to_string()).unwrap()));
        let t = e
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: json!({"user_id": "u"}).as_object().unwrap().clone(),
                ..Default::default()
            })
            .unwrap();
        e.validate(&Request {
            token: &t,
            action: "read",
            resource: "doc://a",
            context: &Map::new(),
            approval: None,
        });
        e.flush_audit();
    }
    assert_eq!(
        verify_log(
            BufReader::new(std::fs::File::open(&log).unwrap()),
            Some(act_core::audit::GENESIS_HASH)
        ),
        Ok(5)
    );
    // A last complete line that is not a record: opening refuses to continue the chain.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"garbage\n")
        .unwrap();
    let err = JsonlSink::open(log.display().to_string()).err().expect("refused");
    assert!(err.to_string().contains("refusing to continue its hash chain"), "{err}");

    // The HTTP sink's spill file: the same repair at start, so the next record is not glued to the fragment.
    let spill = dir.join("spill.jsonl");
    std::fs::write(&spill, format!("{}\n{fragment}", whole.lines().next().unwrap())).unwrap();
    let down = format!(
        "http://{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    );
    let mut o = HttpAuditOptions::new(down);
    o.spill_path = Some(spill.clone());
    o.shutdown_grace = Duration::from_millis(10);
    let sink = HttpAuditSink::start(o).unwrap();
    assert_eq!(
        sink.handle().stats().spill_pending_bytes,
        whole.lines().next().unwrap().len() as u64 + 1
    );
    drop(sink);
    assert_eq!(
        std::fs::read_to_string(dir.join("spill.jsonl.torn")).unwrap(),
        format!("{fragment}\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
