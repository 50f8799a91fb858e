//! Every `GET /v1/snapshot` answer, 200 and 304, carries a signed freshness statement for the
//! version it serves (docs/protocol.md §2a): the only thing that resets an SDK's staleness clock.

mod common;

use act_core::snapshot::verify_freshness;
use common::*;
use std::io::{Read, Write};
use std::time::Duration;

/// GET `path` with extra headers; returns the status and the response headers (lower-cased names).
fn get(url: &str, extra: &str) -> (u16, Vec<(String, String)>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {AGENT}\r\n{extra}connection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let head = resp.split("\r\n\r\n").next().unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {h:?}"))
}

#[test]
fn every_snapshot_answer_carries_a_signed_statement_for_the_version_served() {
    let s = Server::start(None, Duration::from_secs(60));
    let trusted = s.app.key.verifying_key().clone();
    let version = s.app.current.borrow().version;
    let now = act_core::Clock::now_ms(&act_core::SystemClock);

    let (status, h) = get(&format!("{}/v1/snapshot", s.url), "");
    assert_eq!(status, 200);
    let first = verify_freshness(header(&h, "x-act-freshness"), &trusted).unwrap();
    assert_eq!(first.version, version);
    assert!((first.issued_at - now).abs() < 5_000, "{first:?} vs now {now}");

    std::thread::sleep(Duration::from_millis(20));
    let etag = header(&h, "etag").to_string();
    let (status, h) = get(&format!("{}/v1/snapshot", s.url), &format!("if-none-match: {etag}\r\n"));
    assert_eq!(status, 304);
    let second = verify_freshness(header(&h, "x-act-freshness"), &trusted).unwrap();
    assert_eq!(second.version, version);
    assert!(
        second.issued_at > first.issued_at,
        "each answer is signed when it is sent"
    );
    // Signed by the snapshot key, never by anything else.
    let stranger = act_core::SigningKey::generate().unwrap();
    assert!(verify_freshness(header(&h, "x-act-freshness"), stranger.verifying_key()).is_err());
}
