//! The control endpoint source against a real loopback server that misbehaves on purpose.

mod common;

use act_core::policy::parse_source;
use act_core::snapshot::{encode_snapshot, SnapshotDocument};
use act_core::sync::{start_http, HttpSyncOptions, SyncHandle};
use act_core::{Clock, Engine, IssueRequest, Reason, Request, SigningKey, SystemClock};
use common::{Mode, TestServer};
use serde_json::Map;
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLICY: &str = "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n";

fn doc(key: &SigningKey, version: u64) -> String {
    let policies = parse_source("p.yaml", POLICY).unwrap();
    let d = SnapshotDocument {
        version,
        issued_at: SystemClock.now_ms(),
        expires_at: None,
        policies,
    };
    encode_snapshot(key, &d).unwrap()
}

fn engine(issuer: &SigningKey) -> Arc<Engine> {
    let k = SigningKey::from_pkcs8_der(&issuer.to_pkcs8_der()).unwrap();
    Arc::new(Engine::builder().without_snapshot().signing_key(k).build().unwrap())
}

fn fast(url: &str, trust: &SigningKey, cache: Option<&std::path::Path>) -> HttpSyncOptions {
    let mut o = HttpSyncOptions::new(url, trust.verifying_key().clone());
    o.api_key = Some("k".into());
    o.cache_dir = cache.map(|p| p.to_path_buf());
    o.long_poll = Duration::ZERO;
    o.poll_interval = Duration::from_millis(30);
    o.connect_timeout = Duration::from_millis(300);
    o.read_timeout = Duration::from_millis(300);
    o.request_timeout = Duration::from_millis(600);
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(100);
    o
}

fn read_allowed(e: &Engine) -> (bool, Reason, u64) {
    let token = e
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap_or_default();
    let d = e.check(&Request {
        token: &token,
        action: "read",
        resource: "doc://a",
        context: &Map::new(),
        approval: None,
    });
    (d.allowed(), d.reason, d.snapshot_version)
}

fn wait_error(h: &SyncHandle, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = h.status();
        if let Some(e) = &s.last_error {
            if e.contains(needle) {
                return e.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no error containing `{needle}`; status: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "act-sync-{name}-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bad_answers_keep_the_previous_snapshot_serving_and_say_why() {
    let cp = SigningKey::generate().unwrap();
    let issuer = SigningKey::generate().unwrap();
    let good = doc(&cp, 5);
    let server = TestServer::start(Mode::Doc {
        body: good.clone(),
        etag: "\"5\"".into(),
    });
    let e = engine(&issuer);
    let cache = tempdir("bad");
    let h = start_http(e.clone(), fast(&server.url(), &cp, Some(&cache))).unwrap();
    assert!(h.wait_for_version(5, Duration::from_secs(5)), "{:?}", h.status());
    // The cache is written right after the swap, on the sync thread.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !cache.join("snapshot.jws").exists() {
        assert!(Instant::now() < deadline, "the verified snapshot is cached");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(read_allowed(&e), (true, Reason::Allowed, 5));

    let stranger = SigningKey::generate().unwrap();
    let mut tampered: Vec<String> = doc(&cp, 9).split('.').map(str::to_string).collect();
    tampered[1] = doc(&cp, 10).split('.').nth(1).unwrap().to_string();
    let cases: Vec<(Mode, &str)> = vec![
        (
            Mode::Raw {
                status: 200,
                body: "{not a jws".into(),
            },
            "not a valid signed document",
        ),
        (
            Mode::Doc {
                body: tampered.join("."),
                etag: "\"t\"".into(),
            },
            "signature does not verify",
        ),
        (
            Mode::Doc {
                body: doc(&stranger, 6),
                etag: "\"u\"".into(),
            },
            "unknown key",
        ),
        (
            Mode::Doc {
                body: doc(&cp, 3),
                etag: "\"3\"".into(),
            },
            "older than the serving version 5",
        ),
        (Mode::Truncated { body: doc(&cp, 7) }, "reading the body failed"),
        (
            Mode::Raw {
                status: 500,
                body: "boom".into(),
            },
            "HTTP 500",
        ),
        (
            Mode::Raw {
                status: 429,
                body: "slow down".into(),
            },
            "HTTP 429",
        ),
        (Mode::Hang, "timed out"),
    ];
    for (mode, needle) in cases {
        // Back to healthy first, so each case's error is its own.
        server.set(Mode::Doc {
            body: good.clone(),
            etag: "\"5\"".into(),
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while h.status().last_error.is_some() {
            assert!(Instant::now() < deadline, "{:?}", h.status());
            std::thread::sleep(Duration::from_millis(10));
        }
        server.set(mode);
        let err = wait_error(&h, needle);
        eprintln!("{needle}: {err}");
        assert!(err.contains("keeps serving"), "{err}");
        assert_eq!(read_allowed(&e), (true, Reason::Allowed, 5), "after: {err}");
        assert!(h.status().running);
    }

    // Recovery resets the error; then a 401 stops the source for good.
    server.set(Mode::Doc {
        body: doc(&cp, 8),
        etag: "\"8\"".into(),
    });
    assert!(h.wait_for_version(8, Duration::from_secs(5)), "{:?}", h.status());
    server.set(Mode::Raw {
        status: 401,
        body: "no".into(),
    });
    let err = wait_error(&h, "HTTP 401");
    assert!(err.contains("sync stopped"), "{err}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while h.status().running && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!h.status().running);
    assert_eq!(read_allowed(&e).2, 8);
    drop(h);
    let _ = std::fs::remove_dir_all(cache);
}

#[test]
fn a_restart_with_the_endpoint_down_serves_the_cache_and_without_one_fails_closed() {
    let cp = SigningKey::generate().unwrap();
    let issuer = SigningKey::generate().unwrap();
    let cache = tempdir("restart");
    {
        let server = TestServer::start(Mode::Doc {
            body: doc(&cp, 4),
            etag: "\"4\"".into(),
        });
        let e = engine(&issuer);
        let h = start_http(e.clone(), fast(&server.url(), &cp, Some(&cache))).unwrap();
        assert!(h.wait_for_version(4, Duration::from_secs(5)));
    }
    // The endpoint is gone (nothing listens on that port any more).
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let e = engine(&issuer);
    let h = start_http(e.clone(), fast(&down, &cp, Some(&cache))).unwrap();
    assert_eq!(
        read_allowed(&e),
        (true, Reason::Allowed, 4),
        "served from the cache at once"
    );
    wait_error(&h, "cannot connect");
    assert_eq!(h.status().version, 4);

    // A cache signed by another key is not trusted.
    let other = SigningKey::generate().unwrap();
    let e2 = engine(&issuer);
    let err = act_core::sync::load_cached(&e2, &cache, other.verifying_key())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown key"), "{err}");
    let h2 = start_http(e2.clone(), fast(&down, &other, Some(&cache))).unwrap();
    assert_eq!(read_allowed(&e2).1, Reason::NoSnapshot);

    // No cache at all: fail closed.
    let e3 = engine(&issuer);
    let h3 = start_http(e3.clone(), fast(&down, &cp, None)).unwrap();
    wait_error(&h3, "cannot connect");
    let (allowed, reason, version) = read_allowed(&e3);
    assert_eq!((allowed, reason, version), (false, Reason::NoSnapshot, 0));
    drop((h, h2, h3));
    let _ = std::fs::remove_dir_all(cache);
}

#[test]
fn etag_avoids_refetching_and_stop_is_prompt() {
    let cp = SigningKey::generate().unwrap();
    let issuer = SigningKey::generate().unwrap();
    let server = TestServer::start(Mode::Doc {
        body: doc(&cp, 2),
        etag: "\"2\"".into(),
    });
    let e = engine(&issuer);
    let mut o = fast(&server.url(), &cp, None);
    o.poll_interval = Duration::from_millis(100);
    let mut h = start_http(e.clone(), o).unwrap();
    assert!(h.wait_for_version(2, Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(400));
    let s = h.status();
    assert_eq!((s.version, s.updates, s.last_error.clone()), (2, 1, None), "{s:?}");
    assert!(s.last_success_ms.is_some());
    let started = Instant::now();
    h.stop();
    assert!(started.elapsed() < Duration::from_secs(1), "stop is prompt");
    assert!(!h.status().running);
}
