//! `act serve` with real SDK engines on loopback: policy changes, revocations,
//! approvals and audit shipping end to end.

mod common;

use act_core::sync::{start_http, HttpAuditOptions, HttpAuditSink, HttpSyncOptions};
use act_core::{Engine, Outcome, Reason, Request, VerifyingKey};
use common::{Serve, TempDir, ADMIN_KEY, APPROVER_KEY, ISSUER_KEY, SUPPORT};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn client(serve: &Serve) -> (Arc<Engine>, act_core::sync::SyncHandle) {
    let engine = Arc::new(Engine::builder().without_snapshot().build().unwrap());
    let mut o = HttpSyncOptions::new(&serve.url, VerifyingKey::parse(&serve.key).unwrap());
    o.api_key = Some(serve.api_key.clone());
    o.long_poll = Duration::from_secs(20);
    let h = start_http(engine.clone(), o).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while engine.snapshot().version == 0 {
        assert!(Instant::now() < deadline, "no snapshot: {:?}", h.status());
        std::thread::sleep(Duration::from_millis(10));
    }
    (engine, h)
}

fn token(serve: &Serve) -> String {
    let (status, body) = serve.call_as(
        ISSUER_KEY,
        "POST",
        "/v1/tokens",
        Some(r#"{"agent":"customer-support-bot","user_context":{"user_id":"42"}}"#),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ctx(amount: i64) -> Map<String, Value> {
    json!({"amount": amount}).as_object().unwrap().clone()
}

/// Polls until `f` holds, returning how long it took (panics after 5 s).
fn within(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < Duration::from_secs(5), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

#[test]
fn policy_changes_and_revocations_reach_a_running_client_within_two_seconds() {
    let dir = TempDir::new("serve-change");
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(dir.join("policies/support.yaml"), SUPPORT).unwrap();
    let serve = Serve::start(&dir.join("policies"), "127.0.0.1:0", &[]);
    assert_eq!(
        common::http("GET", &format!("{}/v1/snapshot", serve.url), None, None).0,
        401
    );
    let (engine, sync) = client(&serve);
    let t = token(&serve);
    let req = |action: &'static str, amount: i64| {
        let c = ctx(amount);
        engine.check(&Request {
            token: &t,
            action,
            resource: "order://customer:42/1001",
            context: &c,
            approval: None,
        })
    };
    assert_eq!(req("process_refund", 50).outcome, Outcome::Allow);

    // Lower the limit in the file: the running client denies within 2 s (long poll, no restart).
    std::fs::write(
        dir.join("policies/support.yaml"),
        SUPPORT.replace("maxAmount: 500", "maxAmount: 20"),
    )
    .unwrap();
    let took = within("the policy change", || {
        req("process_refund", 50).reason == Reason::ConstraintFailed
    });
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // A broken edit is rejected by the server; clients keep the last good version.
    let before = engine.snapshot().version;
    std::fs::write(
        dir.join("policies/support.yaml"),
        "agent: customer-support-bot\npolicy:\n  actionz: [x]\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(engine.snapshot().version, before);

    // Revoking the token through the endpoint reaches the client within 2 s.
    let jti = act_core::token::decode_unverified(&t).unwrap()[0].jti.clone();
    let (status, body) = serve.call_as(
        ADMIN_KEY,
        "POST",
        "/v1/revocations",
        Some(&json!({"tokens": [jti], "reason": "test"}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let took = within("the revocation", || req("read_order", 0).reason == Reason::TokenRevoked);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let s = sync.status();
    assert!(s.running && s.last_error.is_none(), "{s:?}");
}

#[test]
fn signed_freshness_statements_keep_an_sdk_fresh_past_max_staleness() {
    // The snapshot is signed once at start; only `X-Act-Freshness` on each long-poll answer can
    // keep an SDK with a 3 s max_staleness fresh for 5 s (a bare 304 no longer counts; the margin
    // over the 1 s long poll absorbs a loaded machine).
    let dir = TempDir::new("serve-fresh");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let serve = Serve::start(&dir.join("support.yaml"), "127.0.0.1:0", &[]);
    let engine = Arc::new(
        Engine::builder()
            .without_snapshot()
            .options(act_core::EngineOptions {
                max_staleness_ms: Some(3_000),
                ..Default::default()
            })
            .build()
            .unwrap(),
    );
    let mut o = HttpSyncOptions::new(&serve.url, VerifyingKey::parse(&serve.key).unwrap());
    o.api_key = Some(serve.api_key.clone());
    o.long_poll = Duration::from_secs(1);
    let sync = start_http(engine.clone(), o).unwrap();
    within("the first snapshot", || engine.snapshot().version > 0);
    let t = token(&serve);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let c = ctx(0);
        let d = engine.check(&Request {
            token: &t,
            action: "read_order",
            resource: "order://customer:42/1001",
            context: &c,
            approval: None,
        });
        assert_eq!(
            d.reason,
            Reason::Allowed,
            "after {:?}: {} {:?}",
            started.elapsed(),
            d.message,
            sync.status()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sync.status().last_error.is_none(), "{:?}", sync.status());
}

#[test]
fn approvals_are_requested_granted_by_a_human_and_used_once() {
    let dir = TempDir::new("serve-approval");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let serve = Serve::start(&dir.join("support.yaml"), "127.0.0.1:0", &[]);
    let (engine, _sync) = client(&serve);
    let t = token(&serve);
    let c = ctx(150);
    let mut r = Request {
        token: &t,
        action: "process_refund",
        resource: "order://customer:42/7",
        context: &c,
        approval: None,
    };
    let d = engine.validate(&r);
    assert_eq!(d.outcome, Outcome::ApprovalRequired);
    let request = serde_json::to_string(d.approval_request.as_ref().unwrap()).unwrap();
    let (status, _) = serve.call("POST", "/v1/approvals", Some(&request));
    assert_eq!(status, 201);
    let (_, pending) = serve.call_as(APPROVER_KEY, "GET", "/v1/approvals?status=pending", None);
    let id = d.approval_request.as_ref().unwrap().id.clone();
    assert!(pending.contains(&id));
    // The agent's key cannot grant its own request; the approver's can.
    let (status, _) = serve.call("POST", &format!("/v1/approvals/{id}/grant"), Some(r#"{"reason":"me"}"#));
    assert_eq!(status, 403);
    let (status, granted) = serve.call_as(
        APPROVER_KEY,
        "POST",
        &format!("/v1/approvals/{id}/grant"),
        Some(r#"{"reason":"customer verified"}"#),
    );
    assert_eq!(status, 200, "{granted}");
    let approval = serde_json::from_str::<Value>(&granted).unwrap()["approval"]
        .as_str()
        .unwrap()
        .to_string();
    r.approval = Some(&approval);
    assert_eq!(engine.validate(&r).reason, Reason::Approved);
    assert_eq!(engine.validate(&r).reason, Reason::ApprovalReplayed);
    let (status, _) = serve.call_as(
        APPROVER_KEY,
        "POST",
        &format!("/v1/approvals/{id}/grant"),
        Some(r#"{"reason":"again"}"#),
    );
    assert_eq!(status, 409);
}

#[test]
fn audit_records_survive_an_endpoint_outage_and_arrive_exactly_once() {
    let dir = TempDir::new("serve-audit");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    // A port with nothing behind it yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut o = HttpAuditOptions::new(format!("http://{addr}"));
    o.api_key = Some("test-api-key".into());
    o.spill_path = Some(dir.join("spill.jsonl"));
    o.queue_capacity = 8; // small, so the outage spills to disk
    o.batch_size = 16;
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(200);
    let sink = HttpAuditSink::start(o).unwrap();
    let ship = sink.handle();
    let key = act_core::SigningKey::generate().unwrap();
    let policies = act_core::policy::parse_source("s.yaml", SUPPORT).unwrap();
    let engine = Engine::builder()
        .policies(policies)
        .signing_key(key)
        .audit_sink(Box::new(sink))
        .build()
        .unwrap();
    let t = engine
        .issue_token(&act_core::IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: [("user_id".to_string(), "42".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap();
    let c = ctx(10);
    let mut ids = Vec::new();
    for i in 0..60 {
        let resource = format!("order://customer:42/{i}");
        let d = engine.validate(&Request {
            token: &t,
            action: "read_order",
            resource: &resource,
            context: &c,
            approval: None,
        });
        ids.push(d.audit_id);
    }
    engine.flush_audit();
    within("a failed delivery", || {
        ship.stats().last_error.is_some_and(|e| e.contains("cannot connect"))
    });
    let s = ship.stats();
    assert!(s.spilled > 0 && s.delivered == 0 && s.dropped == 0, "{s:?}");

    // The endpoint comes back on that port.
    let log = dir.join("audit.jsonl");
    let serve = Serve::start(
        &dir.join("support.yaml"),
        &addr,
        &["--audit-log", &log.display().to_string()],
    );
    assert!(ship.wait_idle(Duration::from_secs(10)), "{:?}", ship.stats());
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<String> = lines.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, ids, "every record exactly once, in order");
    assert_eq!(ship.stats().dropped, 0);

    // Re-sending a batch (at-least-once) adds nothing.
    let batch = format!(
        "[{}]",
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join(",")
    );
    let (status, body) = serve.call("POST", "/v1/audit", Some(&batch));
    assert_eq!((status, body.contains("\"duplicates\":5")), (200, true), "{body}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 60);
    let out = common::run(&["audit", "verify", "--merged", &log.display().to_string()]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    drop(engine);
}

#[test]
fn a_spill_left_by_a_stopped_process_is_delivered_by_the_next_one() {
    let dir = TempDir::new("serve-respill");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let options = || {
        let mut o = HttpAuditOptions::new(format!("http://{addr}"));
        o.api_key = Some("test-api-key".into());
        o.spill_path = Some(dir.join("spill.jsonl"));
        o.queue_capacity = 4;
        o.backoff_min = Duration::from_millis(20);
        o.backoff_max = Duration::from_millis(100);
        o.shutdown_grace = Duration::from_millis(100);
        o
    };
    let mut ids = Vec::new();
    {
        // The first process decides while the endpoint is down, then exits.
        let sink = HttpAuditSink::start(options()).unwrap();
        let policies = act_core::policy::parse_source("s.yaml", SUPPORT).unwrap();
        let engine = Engine::builder()
            .policies(policies)
            .signing_key(act_core::SigningKey::generate().unwrap())
            .audit_sink(Box::new(sink))
            .build()
            .unwrap();
        let t = engine
            .issue_token(&act_core::IssueRequest {
                agent: "customer-support-bot".into(),
                user_context: [("user_id".to_string(), "42".into())].into_iter().collect(),
                ..Default::default()
            })
            .unwrap();
        for i in 0..10 {
            let r = format!("order://customer:42/{i}");
            ids.push(
                engine
                    .validate(&Request {
                        token: &t,
                        action: "read_order",
                        resource: &r,
                        context: &Map::new(),
                        approval: None,
                    })
                    .audit_id,
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("spill.jsonl"))
            .unwrap()
            .lines()
            .count(),
        10,
        "all ten kept on disk"
    );
    let log = dir.join("audit.jsonl");
    let _serve = Serve::start(
        &dir.join("support.yaml"),
        &addr,
        &["--audit-log", &log.display().to_string()],
    );
    let sink = HttpAuditSink::start(options()).unwrap();
    assert!(
        sink.handle().wait_idle(Duration::from_secs(10)),
        "{:?}",
        sink.handle().stats()
    );
    let got: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(got, ids);
}

/// Reads `act serve`/`act server` start-up lines until the snapshot version line.
fn startup_lines(child: &mut std::process::Child) -> Vec<String> {
    use std::io::BufRead;
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(out).lines() {
        let line = line.unwrap();
        let done = line.starts_with("snapshot version");
        lines.push(line);
        if done {
            break;
        }
    }
    lines
}

#[test]
fn dev_mode_prints_one_key_per_role_and_each_key_keeps_its_role() {
    let dir = TempDir::new("serve-roles");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let mut child = common::act()
        .args(["serve", "--policy", &dir.s("support.yaml"), "--addr", "127.0.0.1:0"])
        .env_remove("ACT_API_KEY")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = startup_lines(&mut child);
    let value = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {lines:?}"))
            .to_string()
    };
    let url = value("act serve: listening on ");
    let (agent, issuer, admin) = (value("api key: "), value("issuer key: "), value("admin key: "));
    value("approver key: ");
    let body = r#"{"agent":"customer-support-bot","user_context":{"user_id":"42"}}"#;
    let tokens = format!("{url}/v1/tokens");
    let (status, b) = common::http("POST", &tokens, Some(&agent), Some(body));
    assert_eq!(status, 403, "the agent key cannot mint: {b}");
    assert!(b.contains("forbidden_role"), "{b}");
    assert_eq!(common::http("POST", &tokens, Some(&issuer), Some(body)).0, 201);
    assert_eq!(common::http("POST", &tokens, Some(&admin), Some(body)).0, 403);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn act_server_takes_hashed_credentials_and_refuses_a_public_address_without_tls() {
    let dir = TempDir::new("server-creds");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    assert!(common::run(&["keygen", "--out", &dir.s("cp.pem")]).status.success());
    // sha256("ops-admin-secret") and sha256("host-agent-secret"), computed by the shell's sha256sum.
    let sha = |s: &str| {
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(s.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    let creds = json!({"credentials": [
        {"identity": "ops@example.com", "role": "admin", "key_sha256": sha("ops-admin-secret")},
        {"identity": "host-1", "role": "agent", "key_sha256": sha("host-agent-secret")},
    ]});
    std::fs::write(dir.join("creds.json"), creds.to_string()).unwrap();
    let args = |addr: &str| {
        vec![
            "server".to_string(),
            "--policy".into(),
            dir.s("support.yaml"),
            "--key".into(),
            dir.s("cp.pem"),
            "--credentials".into(),
            dir.s("creds.json"),
            "--state-dir".into(),
            dir.s("state"),
            "--addr".into(),
            addr.into(),
        ]
    };
    let public = common::act().args(args("0.0.0.0:0")).output().unwrap();
    assert_eq!(public.status.code(), Some(2));
    assert!(
        common::text(&public).1.contains("without TLS"),
        "{:?}",
        common::text(&public)
    );

    let mut child = common::act()
        .args(args("127.0.0.1:0"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = startup_lines(&mut child);
    let url = lines
        .iter()
        .find_map(|l| l.strip_prefix("act server: listening on "))
        .unwrap()
        .to_string();
    assert!(
        lines
            .iter()
            .any(|l| l == "credentials: 1 agent, 0 issuer, 0 approver, 1 admin"),
        "{lines:?}"
    );
    let snap = format!("{url}/v1/snapshot");
    assert_eq!(common::http("GET", &snap, Some("host-agent-secret"), None).0, 200);
    assert_eq!(
        common::http("GET", &snap, Some(&sha("host-agent-secret")), None).0,
        401,
        "the digest is not a key"
    );
    let revoke = format!("{url}/v1/revocations");
    let body = r#"{"agents":["customer-support-bot"],"reason":"drill"}"#;
    assert_eq!(
        common::http("POST", &revoke, Some("host-agent-secret"), Some(body)).0,
        403
    );
    assert_eq!(
        common::http("POST", &revoke, Some("ops-admin-secret"), Some(body)).0,
        200
    );
    // Kept in the state folder's database (no JSON file any more), with who and why.
    let (_, saved) = common::http("GET", &revoke, Some("ops-admin-secret"), None);
    assert!(saved.contains("ops@example.com") && saved.contains("drill"), "{saved}");
    assert!(dir.join("state/act.sqlite").exists() && !dir.join("state/revocations.json").exists());
    let _ = child.kill();
    let _ = child.wait();
}
