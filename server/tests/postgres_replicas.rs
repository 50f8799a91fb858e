//! Two server processes on one PostgreSQL database (started by the test, see `common::pg`):
//! a change made on either reaches the other at once through LISTEN/NOTIFY, including after the
//! listener's connection was killed. Each replica is this test binary run again as a child
//! process ([`replica_process`]), serving `act_server` exactly as `act server --database-url` does.

mod common;

use act_core::client::{Client, ClientOptions, EndpointOptions, PolicySource};
use act_core::{Reason, Request, SigningKey};
use common::pg::{postgres, Postgres};
use common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DB_ENV: &str = "ACT_TEST_REPLICA_DATABASE";
const KEY_ENV: &str = "ACT_TEST_REPLICA_KEY";

/// Not a test: the body of a replica process (runs only with `ACT_TEST_REPLICA_DATABASE` set, in
/// a child started by [`Replica::start`]); prints its URL, then serves until killed.
#[test]
#[ignore = "a replica process started by the replica tests themselves"]
fn replica_process() {
    let (Ok(db), Ok(pem)) = (std::env::var(DB_ENV), std::env::var(KEY_ENV)) else {
        return;
    };
    let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    let s = Server::start_db(&db, &key);
    println!("replica-url: {}", s.url);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A replica process, killed (by its pid) on drop.
struct Replica {
    url: String,
    child: Child,
}

impl Replica {
    fn start(db: &str, key: &SigningKey) -> Replica {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["replica_process", "--exact", "--ignored", "--nocapture"])
            .env(DB_ENV, db)
            .env(KEY_ENV, key.to_pkcs8_pem().as_str())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut r = Replica {
            url: String::new(),
            child,
        };
        for line in lines.by_ref() {
            // libtest may print `test replica_process ... ` before it on the same line.
            if let Some((_, u)) = line.unwrap().split_once("replica-url: ") {
                r.url = u.trim().to_string();
                break;
            }
        }
        assert!(!r.url.is_empty(), "the replica process did not start");
        // Keep reading, so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        r
    }

    fn call(&self, key: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        let (status, text) = http(method, &format!("{}{path}", self.url), Some(key), body.as_deref());
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sdk(on: &Replica, key: &SigningKey) -> Client {
    let mut e = EndpointOptions::new(on.url.clone(), key.verifying_key().clone());
    e.api_key = Some(AGENT.into());
    let mut o = ClientOptions::new(PolicySource::Endpoint(e));
    o.ship_audit = Some(false);
    let c = Client::start(o).unwrap();
    assert!(
        c.ready(Duration::from_secs(10)),
        "the SDK got no snapshot from {}",
        on.url
    );
    c
}

fn mint(on: &Replica) -> (String, String) {
    let (status, v) = on.call(
        ISSUER,
        "POST",
        "/v1/tokens",
        Some(json!({"agent": "customer-support-bot", "user_context": {"user_id": "42"}})),
    );
    assert_eq!(status, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let claims: Value = {
        use base64::Engine as _;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    (token, claims["jti"].as_str().unwrap().to_string())
}

fn reason_for(c: &Client, token: &str) -> Reason {
    let req = Request {
        token,
        action: "read_order",
        resource: "order://customer:42/1",
        context: act_core::engine::empty_context(),
        approval: None,
    };
    c.validate(&req).unwrap().reason
}

/// Polls `done` until it holds or `within` passed; returns how long it took (None: never).
fn until(within: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if done() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done().then(|| start.elapsed())
}

fn revoke_on(r: &Replica, jti: &str) {
    let (status, v) = r.call(
        ADMIN,
        "POST",
        "/v1/revocations",
        Some(json!({"tokens": [jti], "reason": "leaked"})),
    );
    assert_eq!(status, 200, "{v}");
}

fn listeners(pg: &Postgres, rt: &tokio::runtime::Runtime, db: &str, kill: bool) -> i64 {
    let db_name = db.rsplit('/').next().unwrap().to_string();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&pg.url).await.unwrap();
        let sql = if kill {
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'"
        } else {
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'"
        };
        let (n,): (i64,) = sqlx::query_as(sql).bind(db_name).fetch_one(&mut c).await.unwrap();
        n
    })
}

#[test]
fn a_revocation_posted_to_one_replica_reaches_an_sdk_polling_the_other_within_a_second() {
    let Some(pg) = postgres() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = pg.database(&rt);
    let key = SigningKey::generate().unwrap();
    let a = Replica::start(&db, &key);
    let b = Replica::start(&db, &key);
    let client = sdk(&b, &key);
    let (token, jti) = mint(&a);
    assert_eq!(reason_for(&client, &token), Reason::Allowed);

    revoke_on(&a, &jti);
    let took = until(Duration::from_secs(5), || {
        reason_for(&client, &token) == Reason::TokenRevoked
    });
    let took = took.expect("the revocation never reached the SDK polling the other replica");
    eprintln!("the revocation reached the SDK polling the other replica in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Both replicas serve the same version for the same state.
    let snap = |r: &Replica| {
        let (status, text) = http("GET", &format!("{}/v1/snapshot", r.url), Some(AGENT), None);
        assert_eq!(status, 200);
        let claims = text.split('.').nth(1).map(str::to_string).unwrap_or_default();
        use base64::Engine as _;
        let doc: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        (doc["version"].clone(), doc["policies"]["revocations"].clone())
    };
    assert!(until(Duration::from_secs(2), || snap(&a) == snap(&b)).is_some());

    // The listener's connection is killed: the replica reconnects and still follows.
    assert_eq!(listeners(&pg, &rt, &db, true), 2);
    assert!(
        until(Duration::from_secs(10), || listeners(&pg, &rt, &db, false) == 2).is_some(),
        "the listeners did not reconnect"
    );
    let (token2, jti2) = mint(&b);
    assert!(until(Duration::from_secs(2), || reason_for(&client, &token2)
        == Reason::Allowed)
    .is_some());
    revoke_on(&a, &jti2);
    let took = until(Duration::from_secs(5), || {
        reason_for(&client, &token2) == Reason::TokenRevoked
    })
    .expect("after a reconnect the revocation never reached the other replica");
    assert!(took < Duration::from_secs(1), "after a reconnect took {took:?}");
    client.close();
}

#[test]
fn kill_switches_approvals_policies_and_keys_made_on_one_replica_hold_on_the_other() {
    let Some(pg) = postgres() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = pg.database(&rt);
    let key = SigningKey::generate().unwrap();
    let a = Replica::start(&db, &key);
    let b = Replica::start(&db, &key);

    // A kill switch turned on at A is on at B, and lifted at B is lifted at A (with its history).
    let (status, _) = a.call(
        ADMIN,
        "POST",
        "/v1/kill-switches",
        Some(json!({"on": true, "agents": ["customer-support-bot"], "reason": "incident 7"})),
    );
    assert_eq!(status, 200);
    let on_at = |r: &Replica| r.call(ADMIN, "GET", "/v1/kill-switches", None).1;
    assert!(until(Duration::from_secs(2), || on_at(&b)["kill_switches"]["agents"]
        == json!(["customer-support-bot"]))
    .is_some());
    let (status, _) = b.call(
        ADMIN,
        "POST",
        "/v1/kill-switches",
        Some(json!({"on": false, "agents": ["customer-support-bot"], "reason": "fixed"})),
    );
    assert_eq!(status, 200);
    assert!(until(Duration::from_secs(2), || on_at(&a)["kill_switches"]["agents"]
        == json!([]))
    .is_some());
    let history = on_at(&a)["history"].clone();
    assert_eq!(history[0]["by"], "root");
    assert_eq!(history[0]["reason"], "incident 7");
    assert_eq!(history[1]["action"], "kill_switch_off");

    // An approval asked at A, long-polled at B, granted at A: B's poll answers granted; a second
    // decision at B is refused (decided once, across replicas).
    let req = approval_request("42", "jti-approval", 900);
    let id = req["id"].as_str().unwrap().to_string();
    assert_eq!(a.call(AGENT, "POST", "/v1/approvals", Some(req)).0, 201);
    assert!(until(Duration::from_secs(2), || b
        .call(AGENT, "GET", &format!("/v1/approvals/{id}"), None)
        .0
        == 200)
    .is_some());
    let poll_url = format!("{}/v1/approvals/{id}?wait=20", b.url);
    let poll = std::thread::spawn(move || {
        let started = Instant::now();
        let (status, text) = http("GET", &poll_url, Some(AGENT), None);
        (status, serde_json::from_str::<Value>(&text).unwrap(), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let (status, v) = a.call(
        APPROVER_BOB,
        "POST",
        &format!("/v1/approvals/{id}/grant"),
        Some(json!({"reason": "ok"})),
    );
    assert_eq!(status, 200, "{v}");
    let (status, polled, took) = poll.join().unwrap();
    assert_eq!((status, polled["status"].as_str()), (200, Some("granted")));
    assert!(took < Duration::from_secs(5), "the poll at B took {took:?}");
    let (status, v) = b.call(
        APPROVER,
        "POST",
        &format!("/v1/approvals/{id}/deny"),
        Some(json!({"reason": "no"})),
    );
    assert_eq!((status, v["error"].as_str()), (409, Some("already_decided")), "{v}");

    // A policy version pushed at A serves at B.
    let files = json!({"support.yaml": SUPPORT.replace("maxAmount: 500", "maxAmount: 400")});
    let (status, v) = a.call(
        ADMIN,
        "POST",
        "/v1/policies",
        Some(json!({"files": files, "reason": "lower the cap"})),
    );
    assert_eq!(status, 201, "{v}");
    let pushed = v["version"].clone();
    let latest = |r: &Replica| r.call(ADMIN, "GET", "/v1/policies", None).1["versions"][0]["version"].clone();
    assert_eq!(latest(&b), pushed);
    let served = |r: &Replica| r.call(ADMIN, "GET", "/v1/policies", None).1["current"].clone();
    assert!(
        until(Duration::from_secs(2), || served(&b) == pushed).is_some(),
        "{}",
        served(&b)
    );

    // A managed key made at A works at B at once; revoked at A, B refuses it.
    let (status, v) = a.call(
        ADMIN,
        "POST",
        "/v1/admin/keys",
        Some(json!({"identity": "ops-2", "role": "admin"})),
    );
    assert_eq!(status, 201, "{v}");
    let new_key = v["key"].as_str().unwrap().to_string();
    let key_id = v["id"].as_str().unwrap().to_string();
    let works_at_b = || b.call(&new_key, "GET", "/v1/kill-switches", None).0;
    assert!(until(Duration::from_secs(2), || works_at_b() == 200).is_some());
    assert_eq!(
        a.call(ADMIN, "POST", &format!("/v1/admin/keys/{key_id}/revoke"), None)
            .0,
        200
    );
    assert!(until(Duration::from_secs(2), || works_at_b() == 401).is_some());
}
