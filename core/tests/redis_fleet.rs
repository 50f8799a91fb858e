//! Fleet-wide limits under stress and faults, on a real `redis-server` started by
//! this test on loopback (stopped by its pid):
//!
//! - several OS processes (this test binary re-executed) hammer one `maxPerDay: 5`
//!   at the same moment, over several rounds: exactly 5 allowed each round;
//! - the URL's query parameters (`prefix`, `timeout_ms`, `mark_grace_ms`) are parsed,
//!   stripped, honoured, and unknown ones are refused by name;
//! - the server stops in the middle of a run: limited rules deny
//!   `counter_store_unavailable`, unlimited rules keep working, and the store
//!   recovers by itself when the server is back.
#![cfg(feature = "redis")]

mod redis_server;

use act_core::limits::open_store;
use act_core::redis_store::{RedisCounterStore, RedisOptions};
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use redis_server::Redis;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
"#;

/// The issuer key every process shares (tests only).
const SEED: [u8; 32] = [7; 32];

fn engine_on(counters: &str) -> Engine {
    Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::from_seed(&SEED).unwrap())
        .counters(open_store(counters).unwrap())
        .build()
        .unwrap()
}

fn token(e: &Engine, user: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: "customer-support-bot".into(),
        user_context: json!({ "user_id": user }).as_object().unwrap().clone(),
        ..Default::default()
    })
    .unwrap()
}

fn ctx() -> Map<String, Value> {
    json!({ "amount": 20 }).as_object().unwrap().clone()
}

fn refund<'a>(token: &'a str, c: &'a Map<String, Value>) -> Request<'a> {
    Request {
        token,
        action: "process_refund",
        resource: "order://customer:42/1",
        context: c,
        approval: None,
    }
}

const CHILD_ENV: &str = "ACT_REDIS_FLEET_CHILD";
const PROCESSES: usize = 6;
const THREADS: usize = 4;
const ATTEMPTS: usize = 10;

/// Not a test on its own: the body of each child process of
/// `several_processes_share_one_limit` (run with `--ignored` and the env set).
#[test]
#[ignore = "child process body of several_processes_share_one_limit"]
fn fleet_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (url, token, go) = {
        let mut parts = spec.splitn(3, '\n');
        (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        )
    };
    let e = Arc::new(engine_on(&url));
    let token = Arc::new(token);
    println!("READY");
    // Every process starts hammering at the same moment: when the parent creates `go`.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::path::Path::new(&go).exists() {
        assert!(Instant::now() < deadline, "the parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (e, t) = (e.clone(), token.clone());
            std::thread::spawn(move || {
                let c = ctx();
                let mut allowed = 0;
                let mut other = Vec::new();
                for _ in 0..ATTEMPTS {
                    let d = e.validate(&refund(&t, &c));
                    match d.reason {
                        Reason::Allowed => allowed += 1,
                        Reason::RateLimited => {}
                        r => other.push(format!("{r:?}: {}", d.message)),
                    }
                }
                (allowed, other)
            })
        })
        .collect();
    let mut allowed = 0;
    for t in threads {
        let (a, other) = t.join().unwrap();
        allowed += a;
        for o in other {
            println!("UNEXPECTED {o}");
        }
    }
    println!("ALLOWED {allowed}");
}

#[test]
fn several_processes_share_one_limit() {
    let redis = Redis::start();
    let exe = std::env::current_exe().unwrap();
    let dir = std::env::temp_dir().join(format!("act-redis-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for round in 0..4 {
        // A fresh prefix per round: each round is a new fleet with an empty window.
        let url = format!("{}?prefix=fleet{round}:&timeout_ms=2000", redis.url());
        let token = token(&engine_on("memory"), "42");
        let go = dir.join(format!("go-{round}"));
        let children: Vec<Child> = (0..PROCESSES)
            .map(|_| {
                Command::new(&exe)
                    .args(["--exact", "fleet_child", "--ignored", "--nocapture", "--test-threads=1"])
                    .env(CHILD_ENV, format!("{url}\n{token}\n{}", go.display()))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Wait until every process is connected, then release them together.
        let mut readers: Vec<_> = children
            .into_iter()
            .map(|mut c| {
                let out = BufReader::new(c.stdout.take().unwrap());
                (c, out.lines())
            })
            .collect();
        for (_, lines) in readers.iter_mut() {
            let ready = lines.by_ref().map_while(|l| l.ok()).find(|l| l.ends_with("READY"));
            assert!(ready.is_some(), "a child process did not start");
        }
        std::fs::write(&go, b"go").unwrap();
        let mut total = 0;
        for (mut child, lines) in readers {
            let out: Vec<String> = lines.map_while(|l| l.ok()).collect();
            assert!(child.wait().unwrap().success(), "child failed: {out:?}");
            assert!(
                !out.iter().any(|l| l.contains("UNEXPECTED")),
                "unexpected decisions: {out:?}"
            );
            let n: usize = out
                .iter()
                .find_map(|l| l.split_once("ALLOWED ").map(|(_, n)| n.trim().parse().unwrap()))
                .unwrap_or_else(|| panic!("no count from a child: {out:?}"));
            total += n;
        }
        assert_eq!(
            total, 5,
            "round {round}: {PROCESSES} processes x {THREADS} threads x {ATTEMPTS} attempts share maxPerDay: 5"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn url_parameters_are_parsed_stripped_and_checked() {
    let o =
        RedisOptions::from_url("redis://127.0.0.1:6379/0?prefix=myapp%3Aprod:&timeout_ms=500&mark_grace_ms=3600000")
            .unwrap();
    assert_eq!(o.url, "redis://127.0.0.1:6379/0");
    assert_eq!(o.prefix, "myapp:prod:");
    assert_eq!(o.timeout, Duration::from_millis(500));
    assert_eq!(o.mark_grace, Duration::from_secs(3600));
    let d = RedisOptions::from_url("redis://127.0.0.1:6379/").unwrap();
    assert_eq!(
        (d.url.as_str(), d.prefix.as_str(), d.timeout),
        ("redis://127.0.0.1:6379/", "act:", Duration::from_secs(1))
    );

    let err = |spec: &str| open_store(spec).err().map(|e| (e.code(), e.to_string())).expect(spec);
    for (spec, needle) in [
        (
            "redis://127.0.0.1:1/?prefx=a:",
            "unknown parameter `prefx` (known: prefix, timeout_ms, mark_grace_ms)",
        ),
        ("redis://127.0.0.1:1/?protocol=resp3", "unknown parameter `protocol`"),
        (
            "redis://127.0.0.1:1/?timeout_ms=0",
            "`timeout_ms`: expected milliseconds between 1 and 60000, got `0`",
        ),
        ("redis://127.0.0.1:1/?timeout_ms=soon", "`timeout_ms`"),
        (
            "redis://127.0.0.1:1/?mark_grace_ms=10",
            "`mark_grace_ms`: expected milliseconds between 60000",
        ),
        ("redis://127.0.0.1:1/?prefix=", "`prefix`: expected 1 to 128 characters"),
        ("redis://127.0.0.1:1/?prefix=a%20b", "`prefix`"),
        ("redis://127.0.0.1:1/?prefix=%zz", "not valid percent-encoding"),
        ("redis://127.0.0.1:1/?prefix=a&prefix=b", "`prefix`: given twice"),
        // A brace would start a Redis Cluster hash tag of its own.
        (
            "redis+cluster://127.0.0.1:1/?prefix=%7Bt%7D:",
            "without spaces or braces",
        ),
        ("redis+cluster:///?prefix=a:", "names no host"),
        ("redis+cluster://127.0.0.1:1/0", "a cluster has no database number"),
        ("redis+sentinel://127.0.0.1:1/", "names no master"),
    ] {
        let (code, message) = err(spec);
        assert_eq!(code, "invalid_argument", "{spec}: {message}");
        assert!(
            message.contains(needle),
            "{spec}: `{message}` should contain `{needle}`"
        );
    }
    // A password never reaches an error message.
    let (_, message) = err("redis://:hunter2@127.0.0.1:1/?timeout_ms=100");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn prefix_and_timeout_are_honoured() {
    let redis = Redis::start();
    let e = engine_on(&format!("{}?prefix=tenant-a:&timeout_ms=300", redis.url()));
    let t = token(&e, "42");
    let c = ctx();
    assert!(e.validate(&refund(&t, &c)).allowed());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert!(
        !keys.is_empty()
            && keys
                .iter()
                .all(|k| k.starts_with("tenant-a:win:") || k.starts_with("tenant-a:seq:")),
        "{keys:?}"
    );
    // A second tenant on the same server has its own counters.
    let other = engine_on(&format!("{}?prefix=tenant-b:", redis.url()));
    for _ in 0..5 {
        assert!(other.validate(&refund(&t, &c)).allowed());
    }
    assert_eq!(other.validate(&refund(&t, &c)).reason, Reason::RateLimited);
    for _ in 0..4 {
        assert!(e.validate(&refund(&t, &c)).allowed(), "tenant-a still has room");
    }

    // A server that accepts but never answers: the timeout bounds the wait, and it fails closed.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/?timeout_ms=200", silent.local_addr().unwrap());
    let started = Instant::now();
    let err = open_store(&url).err().expect("a silent server is refused");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.code(), "counter_store_failed", "{err}");
    drop(silent);
}

#[test]
fn redis_stopping_mid_run_fails_closed_and_recovers() {
    let redis = Redis::start();
    let port = redis.port;
    let url = format!("{}?prefix=outage:&timeout_ms=300", redis.url());
    let store = open_store(&url).unwrap();
    let e = Arc::new(
        Engine::builder()
            .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
            .signing_key(SigningKey::from_seed(&SEED).unwrap())
            .counters(store)
            .build()
            .unwrap(),
    );
    let t = token(&e, "42");
    let c = ctx();
    for _ in 0..2 {
        assert!(e.validate(&refund(&t, &c)).allowed());
    }
    // Threads keep deciding while the server goes away under them.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (e, t, stop) = (e.clone(), t.clone(), stop.clone());
            std::thread::spawn(move || {
                let c = ctx();
                let mut seen = std::collections::BTreeMap::<String, usize>::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let d = e.validate(&refund(&t, &c));
                    *seen.entry(format!("{:?}", d.reason)).or_default() += 1;
                    let read = e.validate(&Request {
                        action: "read_order",
                        ..refund(&t, &c)
                    });
                    assert!(read.allowed(), "reads have no limit and never need the store: {read:?}");
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    drop(redis); // SIGKILL to the server, by pid
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut unavailable = 0;
    for w in workers {
        let seen = w.join().unwrap();
        for (reason, n) in &seen {
            assert!(
                ["Allowed", "RateLimited", "CounterStoreUnavailable"].contains(&reason.as_str()),
                "only these outcomes are possible: {seen:?}"
            );
            if reason == "CounterStoreUnavailable" {
                unavailable += n;
            }
        }
    }
    assert!(unavailable > 0, "the outage was noticed");
    let d = e.validate(&refund(&t, &c));
    assert_eq!(d.reason, Reason::CounterStoreUnavailable, "{d:?}");
    assert!(d.message.contains("rate limits cannot be checked"), "{}", d.message);

    // The server comes back (empty: it kept no data): the store reconnects by itself.
    let redis = Redis::start_on(port);
    let d = redis_server::until_store_answers(Duration::from_secs(10), || e.validate(&refund(&t, &c)));
    assert!(d.allowed(), "after recovery: {d:?}");
    drop(redis);
}

#[test]
fn opening_redis_that_is_not_there_is_an_error_not_a_silent_memory_store() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = open_store(&format!("redis://127.0.0.1:{port}/?timeout_ms=200"))
        .err()
        .expect("nothing listens");
    assert_eq!(err.code(), "counter_store_failed", "{err}");
    assert!(err.to_string().contains("redis"), "{err}");
    assert!(RedisCounterStore::open(RedisOptions {
        mark_grace: Duration::from_secs(1),
        ..RedisOptions::new("redis://127.0.0.1:1/")
    })
    .is_err());
}
