//! Webhooks against a real loopback HTTP receiver: every event kind is delivered, signed with
//! HMAC-SHA256 over the timestamp and body, retried after a failed answer, and sent as Slack's
//! `{"text"}` to a hook that asks for it.

mod common;

use act_core::audit::{AuditRecord, GENESIS_HASH};
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec-0123456789abcdef";

struct Delivery {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// Answers `500` to the first request, `200` after; keeps every request.
fn receiver() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let n: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; n];
            reader.read_exact(&mut body).unwrap();
            let first = keep.lock().unwrap().is_empty();
            keep.lock().unwrap().push(Delivery {
                path,
                headers,
                body: String::from_utf8(body).unwrap(),
            });
            let status = if first { "500 Internal Server Error" } else { "200 OK" };
            let _ = conn
                .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes());
        }
    });
    (url, got)
}

fn record(seq: u64, prev: &str) -> AuditRecord {
    let mut r: AuditRecord = serde_json::from_value(json!({
        "id": format!("wh-{seq:x}"), "time": "2026-12-01T22:00:00.000Z", "outcome": "allow",
        "reason": "allowed", "message": "allowed", "agent": "customer-support-bot", "subject": "42",
        "jti": "t1", "action": "read_order", "resource": "order://customer:42/1", "context": {},
        "rule": null, "constraint": null, "snapshot_version": 1, "latency_us": 3,
        "prev_hash": prev, "hash": ""
    }))
    .unwrap();
    r.hash = r.compute_hash();
    r
}

fn wait_for(got: &Arc<Mutex<Vec<Delivery>>>, what: &str, f: impl Fn(&[Delivery]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f(&got.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_event_is_delivered_signed_retried_and_slack_formatted() {
    let (url, got) = receiver();
    let dir = TempDir::new("webhooks");
    std::fs::write(
        dir.0.join("webhooks.json"),
        json!({"webhooks": [
            {"url": format!("{url}/act"), "secret": SECRET},
            {"url": format!("{url}/slack"), "secret": SECRET, "events": ["kill_switch.changed"], "format": "slack"}
        ]})
        .to_string(),
    )
    .unwrap();
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));

    let req = approval_request("42", "jti-1", 900);
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&req.to_string())).0,
        201
    );
    let grant = format!("/v1/approvals/{}/grant", req["id"].as_str().unwrap());
    assert_eq!(
        s.call(Some(APPROVER), "POST", &grant, Some(r#"{"reason":"verified"}"#))
            .0,
        200
    );
    let ks = json!({"on": true, "agents": ["customer-support-bot"], "reason": "incident 7"});
    assert_eq!(
        s.call(Some(ADMIN), "POST", "/v1/kill-switches", Some(&ks.to_string()))
            .0,
        200
    );
    let status = json!({"instance_id": "AAAAAAAAAAAAAAAAAAAAAA", "snapshot_version": 1,
        "open_breakers": [{"agent": "customer-support-bot", "subject": "42"}]});
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/status", Some(&status.to_string())).0,
        204
    );
    // Reported again: not a new opening.
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/status", Some(&status.to_string())).0,
        204
    );
    let r0 = record(0, GENESIS_HASH);
    let r1 = record(1, &r0.hash);
    let r2 = record(2, &r1.hash);
    let body = serde_json::to_string(&[r0, r2]).unwrap();
    let (status, b) = s.call_with(
        Some(AGENT),
        "POST",
        "/v1/audit",
        &[("x-act-instance", "BBBBBBBBBBBBBBBBBBBBBB")],
        Some(&body),
    );
    assert_eq!((status, b["gaps"].as_u64()), (200, Some(1)), "{b}");

    let events = [
        "approval.requested",
        "approval.decided",
        "kill_switch.changed",
        "breaker.opened",
        "audit.chain_gap",
    ];
    wait_for(&got, "every event on /act and one on /slack", |d| {
        events.iter().all(|e| {
            d.iter()
                .any(|x| x.path == "/act" && x.headers["x-act-event"] == *e && d.len() > 1)
        }) && d.iter().any(|x| x.path == "/slack")
            && d.iter()
                .filter(|x| x.headers["x-act-delivery"] == d[0].headers["x-act-delivery"])
                .count()
                >= 2
    });
    let d = got.lock().unwrap();
    // The first delivery was answered 500 and is delivered again (same delivery id and body).
    let first = &d[0];
    let again = d[1..]
        .iter()
        .filter(|x| x.headers["x-act-delivery"] == first.headers["x-act-delivery"])
        .count();
    assert!(again >= 1, "a failed delivery is retried");
    for x in d.iter() {
        let ts: i64 = x.headers["x-act-timestamp"].parse().unwrap();
        assert!((ts - act_server::state::now_ms() / 1000).abs() < 60);
        assert_eq!(
            x.headers["x-act-signature"],
            act_server::webhooks::signature(SECRET, ts, &x.body),
            "signed"
        );
        assert_ne!(
            x.headers["x-act-signature"],
            act_server::webhooks::signature("another-secret-123", ts, &x.body)
        );
    }
    let by_event = |e: &str| -> Value {
        let x = d
            .iter()
            .find(|x| x.path == "/act" && x.headers["x-act-event"] == e)
            .unwrap();
        serde_json::from_str(&x.body).unwrap()
    };
    let decided = by_event("approval.decided");
    assert_eq!(
        (
            decided["data"]["status"].as_str(),
            decided["data"]["decided_by"].as_str()
        ),
        (Some("granted"), Some("alice"))
    );
    assert!(
        decided["data"].get("approval").is_none(),
        "the approval token is never sent: {decided}"
    );
    assert_eq!(by_event("approval.requested")["data"]["context"]["amount"], 900);
    assert_eq!(by_event("kill_switch.changed")["data"]["reason"], "incident 7");
    assert_eq!(by_event("breaker.opened")["data"]["breaker"]["subject"], "42");
    assert_eq!(by_event("audit.chain_gap")["data"]["gaps"], 1);
    let breakers = d
        .iter()
        .filter(|x| x.path == "/act" && x.headers["x-act-event"] == "breaker.opened")
        .count();
    assert_eq!(breakers, 1, "a breaker still open is announced once");
    let slack: Vec<Value> = d
        .iter()
        .filter(|x| x.path == "/slack")
        .map(|x| serde_json::from_str(&x.body).unwrap())
        .collect();
    assert_eq!(slack.len(), 1, "only the events the hook asked for");
    let text = slack[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Kill switch kill_switch_on by root") && text.contains("incident 7"),
        "{text}"
    );
}

#[test]
fn a_bad_webhooks_file_stops_the_start_with_a_clear_message() {
    let dir = TempDir::new("webhooks-bad");
    std::fs::write(
        dir.0.join("webhooks.json"),
        r#"{"webhooks":[{"url":"http://x","secret":"short"}]}"#,
    )
    .unwrap();
    let config = act_server::Config {
        key: act_core::SigningKey::generate().unwrap(),
        policies: act_core::policy::parse_source("support.yaml", SUPPORT).unwrap(),
        credentials: credentials(),
        state_dir: Some(dir.0.clone()),
        database_url: None,
        audit_log: None,
        approval_ttl: Duration::from_secs(60),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(act_server::App::new(config)).err().unwrap();
    assert!(err.contains("webhooks.json") && err.contains("secret"), "{err}");
}
