//! A lying control endpoint cannot keep an SDK "fresh": only a signed freshness statement for the
//! version the SDK serves resets its staleness clock (docs/protocol.md §2a).
//!
//! Every test runs a real HTTP server on loopback that answers what the attacker wants, and an
//! engine on a manual clock with `max_staleness` of 1 s.

mod common;

use act_core::policy::parse_source;
use act_core::snapshot::{encode_snapshot, sign_freshness, SnapshotDocument};
use act_core::sync::{start_http, HttpSyncOptions, SyncHandle};
use act_core::{Engine, EngineOptions, IssueRequest, ManualClock, Reason, Request, SigningKey};
use common::{Mode, TestServer};
use serde_json::Map;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T0: i64 = 1_800_000_000_000;
const MAX_STALENESS_MS: i64 = 1_000;

fn policy(revoke_u: bool) -> String {
    let mut p = "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n".to_string();
    if revoke_u {
        p.push_str("revocations:\n  subjects: [u]\n");
    }
    p
}

fn doc(key: &SigningKey, version: u64, issued_at: i64, revoke_u: bool) -> String {
    let d = SnapshotDocument {
        version,
        issued_at,
        expires_at: None,
        policies: parse_source("p.yaml", &policy(revoke_u)).unwrap(),
    };
    encode_snapshot(key, &d).unwrap()
}

struct Sdk {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    handle: SyncHandle,
}

fn sdk(server: &TestServer, cp: &SigningKey) -> Sdk {
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Arc::new(
        Engine::builder()
            .without_snapshot()
            .signing_key(SigningKey::generate().unwrap())
            .clock(clock.clone())
            .options(EngineOptions {
                max_staleness_ms: Some(MAX_STALENESS_MS),
                ..EngineOptions::default()
            })
            .build()
            .unwrap(),
    );
    let mut o = HttpSyncOptions::new(server.url(), cp.verifying_key().clone());
    o.long_poll = Duration::ZERO;
    o.poll_interval = Duration::from_millis(20);
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(50);
    let handle = start_http(engine.clone(), o).unwrap();
    assert!(
        handle.wait_for_version(5, Duration::from_secs(5)),
        "{:?}",
        handle.status()
    );
    Sdk { engine, clock, handle }
}

impl Sdk {
    /// Moves the clock, then lets the source process at least two full answers at that time.
    fn advance_and_poll(&self, server: &TestServer, ms: i64) {
        self.clock.advance_ms(ms);
        let seen = server.hits.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.hits.load(Ordering::SeqCst) < seen + 3 {
            assert!(
                Instant::now() < deadline,
                "the source stopped polling: {:?}",
                self.handle.status()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn read(&self) -> (Reason, u64) {
        let token = self
            .engine
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
                ..Default::default()
            })
            .unwrap();
        let d = self.engine.check(&Request {
            token: &token,
            action: "read",
            resource: "doc://a",
            context: &Map::new(),
            approval: None,
        });
        (d.reason, d.snapshot_version)
    }
}

fn with_statement(body: &str, statement: Option<String>) -> Mode {
    Mode::DocWith {
        body: body.to_string(),
        etag: "\"5\"".into(),
        headers: statement
            .map(|s| format!("x-act-freshness: {s}\r\n"))
            .unwrap_or_default(),
    }
}

#[test]
fn an_honest_endpoint_keeps_the_sdk_fresh_with_signed_statements() {
    let cp = SigningKey::generate().unwrap();
    let v5 = doc(&cp, 5, T0, false);
    let server = TestServer::start(with_statement(&v5, Some(sign_freshness(&cp, 5, T0).unwrap())));
    let s = sdk(&server, &cp);
    for step in 1..=4 {
        let now = T0 + step * 800;
        server.set(with_statement(&v5, Some(sign_freshness(&cp, 5, now).unwrap())));
        s.advance_and_poll(&server, 800);
        assert_eq!(s.read(), (Reason::Allowed, 5), "step {step}: {:?}", s.handle.status());
        assert_eq!(s.handle.status().last_fresh_ms, Some(now));
    }
}

#[test]
fn bare_304s_after_a_revocation_was_published_do_not_keep_the_sdk_fresh() {
    let cp = SigningKey::generate().unwrap();
    let v5 = doc(&cp, 5, T0, false);
    let server = TestServer::start(with_statement(&v5, Some(sign_freshness(&cp, 5, T0).unwrap())));
    let s = sdk(&server, &cp);
    assert_eq!(s.read(), (Reason::Allowed, 5));
    // Version 6 revokes subject `u`; the endpoint hides it and keeps answering 304 with no statement.
    let _v6 = doc(&cp, 6, T0 + 100, true);
    server.set(with_statement(&v5, None));
    s.advance_and_poll(&server, 3 * MAX_STALENESS_MS);
    assert_eq!(s.read(), (Reason::SnapshotStale, 5), "{:?}", s.handle.status());
    assert_eq!(
        s.handle.status().last_fresh_ms,
        Some(T0),
        "the status shows how old the last proof is"
    );
}

#[test]
fn a_replayed_older_statement_resets_nothing() {
    let cp = SigningKey::generate().unwrap();
    let v5 = doc(&cp, 5, T0, false);
    let old = sign_freshness(&cp, 5, T0 + 200).unwrap();
    let server = TestServer::start(with_statement(&v5, Some(old.clone())));
    let s = sdk(&server, &cp);
    s.advance_and_poll(&server, 200);
    assert_eq!(s.read(), (Reason::Allowed, 5));
    // The revocation is published; the endpoint replays the last statement it signed before it.
    s.advance_and_poll(&server, 3 * MAX_STALENESS_MS);
    assert_eq!(s.read(), (Reason::SnapshotStale, 5), "{:?}", s.handle.status());
}

#[test]
fn foreign_or_other_version_statements_and_replayed_documents_reset_nothing() {
    let cp = SigningKey::generate().unwrap();
    let stranger = SigningKey::generate().unwrap();
    let v5 = doc(&cp, 5, T0, false);
    let later = T0 + 3 * MAX_STALENESS_MS;
    let cases: Vec<(&str, Mode)> = vec![
        (
            "a statement by another key",
            with_statement(&v5, Some(sign_freshness(&stranger, 5, later).unwrap())),
        ),
        (
            "a statement for a newer version",
            with_statement(&v5, Some(sign_freshness(&cp, 6, later).unwrap())),
        ),
        (
            "a statement for an older version",
            with_statement(&v5, Some(sign_freshness(&cp, 4, later).unwrap())),
        ),
        ("a garbled statement", with_statement(&v5, Some("e30.e30.AAAA".into()))),
        (
            "the current document replayed with 200 and no statement",
            Mode::Doc {
                body: v5.clone(),
                etag: "\"other\"".into(),
            },
        ),
    ];
    for (what, mode) in cases {
        let server = TestServer::start(with_statement(&v5, None));
        let s = sdk(&server, &cp);
        server.set(mode);
        s.advance_and_poll(&server, 3 * MAX_STALENESS_MS);
        let status = s.handle.status();
        assert_eq!(s.read(), (Reason::SnapshotStale, 5), "{what}: {status:?}");
        if !what.contains("no statement") {
            assert!(
                status
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("staleness not reset")),
                "{what}: a statement that is present but wrong is reported: {status:?}"
            );
        }
    }
}

#[test]
fn a_static_server_counts_staleness_from_the_snapshots_signed_issue_time() {
    let cp = SigningKey::generate().unwrap();
    // Signed half the allowed staleness ago: fresh now, stale once the clock passes issued_at + max.
    let v5 = doc(&cp, 5, T0 - MAX_STALENESS_MS / 2, false);
    let server = TestServer::start(Mode::Doc {
        body: v5,
        etag: "\"5\"".into(),
    });
    let s = sdk(&server, &cp);
    assert_eq!(s.read(), (Reason::Allowed, 5));
    s.advance_and_poll(&server, MAX_STALENESS_MS);
    assert_eq!(s.read(), (Reason::SnapshotStale, 5), "{:?}", s.handle.status());
}
