//! Long polls (snapshot and approvals) end at once when the server starts shutting down, instead
//! of holding the process for up to a minute; bodies over a route's cap are refused.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn long_polls_answer_at_once_when_the_server_stops() {
    let s = Server::start(None, Duration::from_secs(60));
    let etag = format!("\"{}\"", s.app.current.borrow().version);
    let snap = format!("{}/v1/snapshot?wait=30", s.url);
    let req = approval_request("42", "jti-1", 900);
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string())).0,
        201
    );
    let appr = format!("{}/v1/approvals/{}?wait=30", s.url, req["id"].as_str().unwrap());
    let polls = [
        std::thread::spawn(move || http_with("GET", &snap, Some(AGENT), &[("if-none-match", &etag)], None).0),
        std::thread::spawn(move || http_with("GET", &appr, Some(AGENT), &[], None).0),
    ];
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    drop(s);
    let statuses: Vec<u16> = polls.into_iter().map(|p| p.join().unwrap()).collect();
    assert_eq!(statuses, [304, 200]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        started.elapsed()
    );
}

#[test]
fn a_body_over_the_cap_is_refused_before_it_is_parsed() {
    let s = Server::start(None, Duration::from_secs(60));
    let big = format!("{{\"reason\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(s.call(Some(AGENT), "POST", "/v1/approvals", Some(&big)).0, 413);
    assert_eq!(s.call(Some(ADMIN), "POST", "/v1/revocations", Some(&big)).0, 413);
}
