//! Rollback and lock-out: a version high-water mark outside the cache file refuses an older signed
//! snapshot after a restart, and one mistaken huge version cannot lock out later snapshots.

mod common;

use act_core::policy::parse_source;
use act_core::snapshot::{encode_snapshot, SnapshotDocument};
use act_core::sync::{start_http, HttpSyncOptions, SyncHandle, CACHE_FILE, MARK_FILE};
use act_core::{Clock, Engine, SigningKey, SystemClock};
use common::{Mode, TestServer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn doc(key: &SigningKey, version: u64, kill: bool) -> String {
    let mut policies = parse_source(
        "p.yaml",
        "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n",
    )
    .unwrap();
    policies.kill_switches.all = kill;
    let d = SnapshotDocument {
        version,
        issued_at: SystemClock.now_ms(),
        expires_at: None,
        policies,
    };
    encode_snapshot(key, &d).unwrap()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "act-hwm-{name}-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn serving(mode: Mode) -> TestServer {
    TestServer::start(mode)
}

fn doc_mode(body: &str, etag: &str) -> Mode {
    Mode::Doc {
        body: body.to_string(),
        etag: format!("\"{etag}\""),
    }
}

/// A URL nothing listens on: the endpoint is down.
fn down_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// An endpoint that accepts and never answers: the status keeps the start-up (cache) error.
fn silent() -> TestServer {
    serving(Mode::Hang)
}

fn start(url: &str, cp: &SigningKey, cache: &Path, mark: Option<&Path>) -> (Arc<Engine>, SyncHandle) {
    let e = Arc::new(Engine::builder().without_snapshot().build().unwrap());
    let mut o = HttpSyncOptions::new(url, cp.verifying_key().clone());
    o.cache_dir = Some(cache.to_path_buf());
    o.version_mark = mark.map(Path::to_path_buf);
    o.long_poll = Duration::ZERO;
    o.poll_interval = Duration::from_millis(20);
    o.connect_timeout = Duration::from_millis(200);
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(50);
    let h = start_http(e.clone(), o).unwrap();
    (e, h)
}

fn wait_error(h: &SyncHandle, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = h.status();
        if let Some(e) = s.last_error.as_ref().filter(|e| e.contains(needle)) {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no error containing `{needle}`: {s:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Serves v5 then v6 to an SDK with `cache` (and `mark`), then stops it: the host has served v6.
fn serve_5_then_6(cp: &SigningKey, cache: &Path, mark: Option<&Path>) -> String {
    let v5 = doc(cp, 5, false);
    let server = serving(doc_mode(&v5, "5"));
    let (_e, h) = start(&server.url(), cp, cache, mark);
    assert!(h.wait_for_version(5, Duration::from_secs(5)), "{:?}", h.status());
    server.set(doc_mode(&doc(cp, 6, false), "6"));
    assert!(h.wait_for_version(6, Duration::from_secs(5)), "{:?}", h.status());
    drop(h);
    v5
}

#[test]
fn an_older_signed_snapshot_copied_into_the_cache_is_refused_after_a_restart() {
    let cp = SigningKey::generate().unwrap();
    let cache = tempdir("copy");
    let v5 = serve_5_then_6(&cp, &cache, None);
    // The attacker replaces the cache file with the older signed document.
    std::fs::write(cache.join(CACHE_FILE), &v5).unwrap();
    let down = silent();
    let (e, h) = start(&down.url(), &cp, &cache, None);
    let err = wait_error(&h, "older than version 6");
    assert_eq!(e.snapshot().version, 0, "the rolled-back cache must not serve: {err}");
}

#[test]
fn an_endpoint_replaying_an_older_snapshot_after_a_restart_is_refused() {
    let cp = SigningKey::generate().unwrap();
    let cache = tempdir("replay");
    let v5 = serve_5_then_6(&cp, &cache, None);
    std::fs::remove_file(cache.join(CACHE_FILE)).unwrap();
    let liar = serving(doc_mode(&v5, "5"));
    let (e, h) = start(&liar.url(), &cp, &cache, None);
    wait_error(&h, "older than version 6");
    assert_eq!(e.snapshot().version, 0);
}

#[test]
fn a_mark_kept_outside_the_cache_folder_survives_an_attacker_who_owns_the_cache_folder() {
    let cp = SigningKey::generate().unwrap();
    let (cache, private) = (tempdir("shared-cache"), tempdir("private-state"));
    let mark = private.join("act.version");
    let v5 = serve_5_then_6(&cp, &cache, Some(&mark));
    assert!(
        !cache.join(MARK_FILE).exists(),
        "the mark lives where it was configured"
    );
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join(CACHE_FILE), &v5).unwrap();
    let down = silent();
    let (e, h) = start(&down.url(), &cp, &cache, Some(&mark));
    wait_error(&h, "older than version 6");
    assert_eq!(e.snapshot().version, 0);
}

#[test]
fn an_unreadable_mark_fails_closed_and_names_the_file() {
    let cp = SigningKey::generate().unwrap();
    let cache = tempdir("garbled");
    std::fs::write(cache.join(MARK_FILE), "six\n").unwrap();
    let mut o = HttpSyncOptions::new(down_url(), cp.verifying_key().clone());
    o.cache_dir = Some(cache.clone());
    let e = Arc::new(Engine::builder().without_snapshot().build().unwrap());
    let err = start_http(e, o).err().expect("a garbled mark is refused").to_string();
    assert!(err.contains(MARK_FILE) && err.contains("six"), "{err}");
}

#[test]
fn one_mistaken_huge_version_cannot_lock_out_later_snapshots_or_the_kill_switch() {
    let cp = SigningKey::generate().unwrap();
    let cache = tempdir("huge");
    let now = SystemClock.now_ms() as u64;
    let server = serving(doc_mode(&doc(&cp, now, false), "a"));
    let (e, h) = start(&server.url(), &cp, &cache, None);
    assert!(h.wait_for_version(now, Duration::from_secs(5)), "{:?}", h.status());
    // A build signed with a typo'd version, far past anything real.
    server.set(doc_mode(&doc(&cp, u64::MAX - 1, false), "b"));
    wait_error(&h, "jumps more than 2^32");
    assert_eq!(e.snapshot().version, now);
    // The next real snapshot (the global kill switch) is accepted and serves.
    server.set(doc_mode(&doc(&cp, now + 1_000, true), "c"));
    assert!(
        h.wait_for_version(now + 1_000, Duration::from_secs(5)),
        "{:?}",
        h.status()
    );
    assert!(e.snapshot().version == now + 1_000);
}

#[test]
fn processes_sharing_a_mark_never_lower_it() {
    // Two SDKs (as two worker processes would) share one cache folder. B serves v5; A then serves
    // v7; B's endpoint now offers v6. Without re-reading the shared mark, B would install v6 and
    // write 6 over A's 7.
    let cp = SigningKey::generate().unwrap();
    let cache = tempdir("shared-mark");
    let for_b = serving(doc_mode(&doc(&cp, 5, false), "5"));
    let (b, hb) = start(&for_b.url(), &cp, &cache, None);
    assert!(hb.wait_for_version(5, Duration::from_secs(5)), "{:?}", hb.status());
    let for_a = serving(doc_mode(&doc(&cp, 7, false), "7"));
    let (_a, ha) = start(&for_a.url(), &cp, &cache, None);
    assert!(ha.wait_for_version(7, Duration::from_secs(5)), "{:?}", ha.status());
    let deadline = Instant::now() + Duration::from_secs(2);
    while std::fs::read_to_string(cache.join(MARK_FILE))
        .unwrap_or_default()
        .trim()
        != "7"
    {
        assert!(Instant::now() < deadline, "A records its mark");
        std::thread::sleep(Duration::from_millis(5));
    }
    for_b.set(doc_mode(&doc(&cp, 6, false), "6"));
    wait_error(&hb, "older than version 7, which this host already served");
    assert_eq!(b.snapshot().version, 5);
    assert_eq!(std::fs::read_to_string(cache.join(MARK_FILE)).unwrap().trim(), "7");
}
