//! The Redis store on a real Redis Cluster: 3 masters and 3 replicas, `redis-server
//! --cluster-enabled yes` processes on free loopback ports joined by `redis-cli --cluster
//! create`, started by this test and stopped by their pids.
//!
//! - several OS processes and engines share limits of two agents (whose counters live on
//!   different masters): exactly the limit is allowed;
//! - a decision whose limits come from two agents (two hash slots) never exceeds either, and a
//!   refusal by the second takes the first one's charge back;
//! - the master holding an agent's counters is killed mid-run: its limited rules deny with
//!   `counter_store_unavailable` (unlimited ones keep working), then recover on their own once
//!   the replica has taken over, with the counts it had replicated.
#![cfg(feature = "redis")]

use act_core::limits::{encode_key, open_store, LimitKey};
use act_core::{Engine, IssueRequest, Reason, Request, SigningKey};
use redis_server::{cli, until_store_answers, Redis};
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod redis_server;

/// Node timeout of the test cluster: a dead master is failed over after about twice this.
const NODE_TIMEOUT_MS: u64 = 500;

struct Cluster {
    /// Every node by port; `None` once killed.
    nodes: Vec<(u16, Option<Redis>)>,
    dir: PathBuf,
}

/// A loopback port that is free, and whose cluster bus port (+10000) is free too.
fn free_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl Cluster {
    fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("act-redis-cluster-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = free_port();
            let mut cmd = Command::new("redis-server");
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
                // A replica may take over however long it was cut off (the test kills at will).
                .args(["--cluster-replica-validity-factor", "0"])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
                .arg("--dir")
                .arg(&dir);
            nodes.push((port, Some(Redis::run(port, cmd))));
        }
        let addrs: Vec<String> = nodes.iter().map(|(port, _)| format!("127.0.0.1:{port}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster { nodes, dir };
        cluster.wait_healthy(Duration::from_secs(20));
        cluster
    }

    /// Every live node says the cluster is ok, and every live replica's link to its master is up.
    fn wait_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ok = self.nodes.iter().filter(|(_, r)| r.is_some()).all(|(port, _)| {
                let info = cli(*port, &["cluster", "info"]);
                let repl = cli(*port, &["info", "replication"]);
                info.contains("cluster_state:ok")
                    && (repl.contains("role:master") || repl.contains("master_link_status:up"))
            });
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not become healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, params: &str) -> String {
        let hosts: Vec<String> = self.nodes.iter().map(|(port, _)| format!("127.0.0.1:{port}")).collect();
        format!("redis+cluster://{}/?{params}", hosts.join(","))
    }

    /// The port of the master serving `key`'s slot.
    fn master_of(&self, key: &str) -> u16 {
        let live = self.nodes.iter().find(|(_, r)| r.is_some()).unwrap().0;
        let slot: u16 = cli(live, &["cluster", "keyslot", key]).trim().parse().unwrap();
        for line in cli(live, &["cluster", "nodes"]).lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            for range in &f[8..] {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    if (a..=b).contains(&slot) {
                        let port = f[1].split('@').next().unwrap().rsplit(':').next().unwrap();
                        return port.parse().unwrap();
                    }
                }
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// Kills the node on `port` (its pid), after its replica has acknowledged every write.
    fn kill(&mut self, port: u16) {
        assert_eq!(cli(port, &["wait", "1", "2000"]).trim(), "1", "the replica caught up");
        let node = self.nodes.iter_mut().find(|(p, _)| *p == port).unwrap();
        drop(node.1.take().unwrap()); // its pid
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear(); // each node stopped by its pid, before its folder goes
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxPerDay: 5
---
agent: payments-bot
policy:
  actions: [charge]
  resources: ["invoice://*"]
  constraints:
    charge:
      budget: {sum: amount, max: 100, window: 1d, per: agent}
"#;

const SEED: [u8; 32] = [9; 32];

fn engine_on(counters: &str) -> Engine {
    Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(SigningKey::from_seed(&SEED).unwrap())
        .counters(open_store(counters).unwrap())
        .build()
        .unwrap()
}

fn token(e: &Engine, agent: &str, user: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: agent.into(),
        user_context: json!({ "user_id": user }).as_object().unwrap().clone(),
        ..Default::default()
    })
    .unwrap()
}

fn ctx(amount: i64) -> Map<String, Value> {
    json!({ "amount": amount }).as_object().unwrap().clone()
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

fn charge<'a>(token: &'a str, c: &'a Map<String, Value>) -> Request<'a> {
    Request {
        token,
        action: "charge",
        resource: "invoice://7",
        context: c,
        approval: None,
    }
}

const CHILD_ENV: &str = "ACT_REDIS_CLUSTER_CHILD";
const PROCESSES: usize = 3;
const THREADS: usize = 3;
const ATTEMPTS: usize = 6;

/// One process's share of the hammering: refunds and charges of 10, counting allows.
fn hammer(url: &str, refund_token: &str, charge_token: &str) -> (usize, usize, Vec<String>) {
    let e = Arc::new(engine_on(url));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (e, rt, ct) = (e.clone(), refund_token.to_string(), charge_token.to_string());
            std::thread::spawn(move || {
                let c = ctx(10);
                let (mut refunds, mut charges, mut other) = (0, 0, Vec::new());
                for _ in 0..ATTEMPTS {
                    for (d, n) in [
                        (e.validate(&refund(&rt, &c)), &mut refunds),
                        (e.validate(&charge(&ct, &c)), &mut charges),
                    ] {
                        match d.reason {
                            Reason::Allowed => *n += 1,
                            Reason::RateLimited => {}
                            r => other.push(format!("{r:?}: {}", d.message)),
                        }
                    }
                }
                (refunds, charges, other)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .fold((0, 0, Vec::new()), |(r, c, mut o), (r2, c2, o2)| {
            o.extend(o2);
            (r + r2, c + c2, o)
        })
}

/// Not a test on its own: the body of each child process of `limits_are_exact_across_processes`.
#[test]
#[ignore = "child process body of limits_are_exact_across_processes"]
fn cluster_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let parts: Vec<&str> = spec.split('\n').collect();
    let (url, rt, ct, go) = (parts[0], parts[1], parts[2], Path::new(parts[3]));
    println!("READY");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(Instant::now() < deadline, "the parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (refunds, charges, other) = hammer(url, rt, ct);
    for o in other {
        println!("UNEXPECTED {o}");
    }
    println!("ALLOWED {refunds} {charges}");
}

#[test]
fn limits_are_exact_across_processes() {
    let cluster = Cluster::start();
    // The two agents' counters are on different masters (else this test would prove less).
    assert_ne!(
        cluster.master_of("{customer-support-bot}"),
        cluster.master_of("{payments-bot}"),
        "pick agent names whose hash tags land on different masters"
    );
    let exe = std::env::current_exe().unwrap();
    let url = cluster.url("prefix=exact:&timeout_ms=2000");
    let issuer = engine_on("memory");
    let (rt, ct) = (
        token(&issuer, "customer-support-bot", "42"),
        token(&issuer, "payments-bot", "7"),
    );
    let go = cluster.dir.join("go");
    let children: Vec<Child> = (0..PROCESSES)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "cluster_child",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, format!("{url}\n{rt}\n{ct}\n{}", go.display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
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
    let (mut refunds, mut charges) = (0, 0);
    for (mut child, lines) in readers {
        let out: Vec<String> = lines.map_while(|l| l.ok()).collect();
        assert!(child.wait().unwrap().success(), "child failed: {out:?}");
        assert!(!out.iter().any(|l| l.contains("UNEXPECTED")), "{out:?}");
        let counts = out
            .iter()
            .find_map(|l| l.split_once("ALLOWED ").map(|(_, n)| n.trim().to_string()))
            .unwrap_or_else(|| panic!("no count from a child: {out:?}"));
        let (r, c) = counts.split_once(' ').unwrap();
        refunds += r.parse::<usize>().unwrap();
        charges += c.parse::<usize>().unwrap();
    }
    assert_eq!(
        refunds, 5,
        "maxPerDay: 5 across {PROCESSES} processes x {THREADS} threads"
    );
    assert_eq!(charges, 10, "a budget of 100 in charges of 10 across the fleet");
    // Another engine (its own connections) sees the same full windows.
    let e = engine_on(&url);
    assert_eq!(e.validate(&refund(&rt, &ctx(1))).reason, Reason::RateLimited);
    assert_eq!(e.validate(&charge(&ct, &ctx(1))).reason, Reason::RateLimited);
}

#[test]
fn limits_of_two_agents_in_one_decision_are_never_exceeded() {
    let cluster = Cluster::start();
    let store = open_store(&cluster.url("prefix=two:")).unwrap();
    let a = LimitKey {
        key: encode_key(&["customer-support-bot/process_refund/maxPerDay", "global"]),
        limit: 3,
        window_ms: 60_000,
        weight: None,
    };
    let b = LimitKey {
        key: encode_key(&["payments-bot/charge/budget", "global"]),
        limit: 2_000_000,
        window_ms: 60_000,
        weight: Some(1_000_000),
    };
    let now = 1_000_000;
    // b has room for 2: two decisions pass, the third is refused by b (index 1) ...
    assert_eq!(store.try_acquire(&[a.clone(), b.clone()], now).unwrap(), None);
    assert_eq!(store.try_acquire(&[a.clone(), b.clone()], now).unwrap(), None);
    assert_eq!(store.try_acquire(&[a.clone(), b.clone()], now).unwrap(), Some(1));
    // ... and did not keep a's charge: a has exactly one request of room left.
    assert_eq!(store.try_acquire(std::slice::from_ref(&a), now).unwrap(), None);
    assert_eq!(store.try_acquire(std::slice::from_ref(&a), now).unwrap(), Some(0));
    // Concurrent two-agent decisions never exceed either limit.
    let c = LimitKey {
        key: encode_key(&["customer-support-bot/process_refund/maxPerHour", "global"]),
        limit: 4,
        window_ms: 60_000,
        weight: None,
    };
    let d = LimitKey {
        key: encode_key(&["payments-bot/charge/budget2", "global"]),
        limit: 6_000_000,
        window_ms: 60_000,
        weight: Some(1_000_000),
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (store, c, d) = (store.clone(), c.clone(), d.clone());
            std::thread::spawn(move || {
                let mut ok = 0;
                for i in 0..5 {
                    // Half the decisions touch both agents, half only the budget.
                    let keys = if i % 2 == 0 {
                        vec![c.clone(), d.clone()]
                    } else {
                        vec![d.clone()]
                    };
                    if store.try_acquire(&keys, now).unwrap().is_none() {
                        ok += usize::from(keys.len() == 2) * 100 + 1;
                    }
                }
                ok
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let (both, all) = (total / 100, total % 100);
    assert!(both <= 4, "the count of 4 held: {both}");
    assert_eq!(
        all, 6,
        "the budget of 6 is spent exactly (refused pairs gave theirs back)"
    );
}

#[test]
fn a_master_killed_mid_run_fails_closed_then_recovers_after_failover() {
    let mut cluster = Cluster::start();
    let e = Arc::new(engine_on(&cluster.url("prefix=failover:&timeout_ms=300")));
    let issuer = engine_on("memory");
    let t = token(&issuer, "customer-support-bot", "42");
    let c = ctx(10);
    for _ in 0..2 {
        assert!(e.validate(&refund(&t, &c)).allowed());
    }
    let master = cluster.master_of("{customer-support-bot}");
    let started = Instant::now();
    cluster.kill(master);
    // Until the replica takes over, the agent's limited rule fails closed; reads need no store.
    let d = e.validate(&refund(&t, &c));
    assert_eq!(d.reason, Reason::CounterStoreUnavailable, "{d:?}");
    assert!(d.message.contains("rate limits cannot be checked"), "{}", d.message);
    let read = e.validate(&Request {
        action: "read_order",
        ..refund(&t, &c)
    });
    assert!(read.allowed(), "{read:?}");
    // The replica is promoted after about two node timeouts; the store finds it by itself.
    let d = until_store_answers(Duration::from_secs(20), || e.validate(&refund(&t, &c)));
    assert!(d.allowed(), "after failover: {d:?}");
    eprintln!("failover took {:?}", started.elapsed());
    assert_ne!(
        cluster.master_of("{customer-support-bot}"),
        master,
        "a replica took over"
    );
    // The promoted replica had the two earlier requests: 5 in all, then the limit holds.
    for _ in 0..2 {
        assert!(e.validate(&refund(&t, &c)).allowed());
    }
    assert_eq!(e.validate(&refund(&t, &c)).reason, Reason::RateLimited);
}
