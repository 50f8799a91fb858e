//! `act policy push`, `act revoke` and `act kill-switch` against a real `act serve` subprocess on
//! loopback: what they publish, and that refusals name the server's code with a clear exit code.

mod common;

use common::{act, text, Serve, TempDir, ADMIN_KEY, SUPPORT};
use serde_json::Value;
use std::process::Output;

const SUITE: &str = "\
tokens:
  alice: {agent: customer-support-bot, user: {user_id: \"42\"}}
tests:
  - name: own order
    token: alice
    action: read_order
    resource: order://customer:42/1
    expect: allow
";

fn remote(serve: &Serve, key: &str, args: &[&str]) -> Output {
    act()
        .args(args)
        .env("ACT_SERVER", &serve.url)
        .env("ACT_ADMIN_API_KEY", key)
        .output()
        .unwrap()
}

fn get(serve: &Serve, path: &str) -> Value {
    let (status, body) = serve.call_as(ADMIN_KEY, "GET", path, None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn policy_push_publishes_a_tested_folder_and_refuses_a_failing_one() {
    let dir = TempDir::new("push");
    std::fs::create_dir_all(dir.join("served")).unwrap();
    std::fs::write(dir.join("served/support.yaml"), SUPPORT).unwrap();
    let serve = Serve::start(&dir.join("served"), "127.0.0.1:0", &[]);

    std::fs::create_dir_all(dir.join("next")).unwrap();
    std::fs::write(
        dir.join("next/support.yaml"),
        SUPPORT.replace("maxAmount: 500", "maxAmount: 200"),
    )
    .unwrap();
    std::fs::write(dir.join("next/support_test.yaml"), SUITE).unwrap();
    let folder = dir.s("next");
    let o = act()
        .args(["policy", "push", &folder, "--reason", "lower refunds"])
        .args(["--server", &serve.url, "--api-key", ADMIN_KEY])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("published policy version 2") && out.contains("1 case(s) passed"),
        "{out}"
    );
    let v = get(&serve, "/v1/policies");
    assert_eq!(
        (v["current"].as_u64(), v["versions"][0]["reason"].as_str()),
        (Some(2), Some("lower refunds"))
    );

    // A failing case: nothing published, exit 1, the failure shown.
    std::fs::write(
        dir.join("next/support_test.yaml"),
        SUITE.replace("customer:42/1", "customer:43/1"),
    )
    .unwrap();
    std::fs::write(dir.join("next/support.yaml"), SUPPORT).unwrap();
    let o = remote(&serve, ADMIN_KEY, &["policy", "push", &folder, "--reason", "x"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("422 tests_failed") && err.contains("FAIL") && err.contains("own order"),
        "{err}"
    );
    assert_eq!(get(&serve, "/v1/policies")["current"], 2);

    // The agent's key cannot publish: the server's code, exit 11.
    let o = remote(&serve, &serve.api_key, &["policy", "push", &folder, "--reason", "x"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(11), "{err}");
    assert!(err.contains("403 forbidden_role"), "{err}");

    // Dev mode keeps watching its folder: an edit there is the next version, published by `dev`.
    std::fs::write(
        dir.join("served/support.yaml"),
        SUPPORT.replace("maxAmount: 500", "maxAmount: 300"),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let v = loop {
        let v = get(&serve, "/v1/policies");
        if v["current"] == 3 || std::time::Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(
        (
            v["current"].as_u64(),
            v["versions"][0]["published_by"].as_str(),
            v["versions"][0]["source"].as_str()
        ),
        (Some(3), Some("dev"), Some("folder")),
        "{v}"
    );
}

#[test]
fn revoke_and_kill_switch_change_the_server_and_refusals_are_clear() {
    let dir = TempDir::new("revoke");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let serve = Serve::start(&dir.join("support.yaml"), "127.0.0.1:0", &[]);

    let o = remote(
        &serve,
        ADMIN_KEY,
        &[
            "revoke",
            "--token",
            "jti-1",
            "--grant",
            "customer-support-bot:process_refund:user:42",
            "--reason",
            "laptop stolen",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let r = get(&serve, "/v1/revocations");
    assert_eq!(r["tokens"][0], "jti-1");
    assert_eq!(r["grants"][0]["subject"], "user:42", "{r}");
    assert_eq!(
        (r["history"][0]["by"].as_str(), r["history"][0]["reason"].as_str()),
        (Some("dev-admin"), Some("laptop stolen"))
    );

    let o = remote(&serve, ADMIN_KEY, &["revoke", "--grant", "bot", "--reason", "x"]);
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    let o = remote(&serve, ADMIN_KEY, &["revoke", "--reason", "x"]);
    assert_eq!(o.status.code(), Some(2), "nothing to revoke is a usage error");

    let ks = |state: &str| {
        remote(
            &serve,
            ADMIN_KEY,
            &[
                "kill-switch",
                state,
                "--agent",
                "customer-support-bot",
                "--reason",
                "incident 7",
            ],
        )
    };
    assert!(ks("on").status.success());
    assert_eq!(
        get(&serve, "/v1/kill-switches")["kill_switches"]["agents"][0],
        "customer-support-bot"
    );
    assert!(ks("off").status.success());
    let o = ks("off");
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("400 bad_request") && err.contains("not on"), "{err}");

    let o = act()
        .args([
            "kill-switch",
            "on",
            "--all",
            "--reason",
            "x",
            "--server",
            "http://127.0.0.1:1",
            "--api-key",
            "k",
        ])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(11), "{err}");
    assert!(err.contains("cannot reach http://127.0.0.1:1"), "{err}");
}

#[test]
fn admin_keys_are_created_once_listed_rotated_and_revoked() {
    let dir = TempDir::new("keys");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let serve = Serve::start(&dir.join("support.yaml"), "127.0.0.1:0", &[]);
    let o = remote(
        &serve,
        ADMIN_KEY,
        &["admin", "keys", "create", "--role", "issuer", "--name", "minter"],
    );
    assert_eq!(o.status.code(), Some(2), "an issuer names its agents: {:?}", text(&o));
    assert!(text(&o).1.contains("400 bad_request"));
    let o = remote(
        &serve,
        ADMIN_KEY,
        &["admin", "keys", "create", "--role", "agent", "--name", "billing-host"],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(err.contains("shown once"), "{err}");
    let field = |out: &str, name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap()
            .to_string()
    };
    let (id, key) = (field(&out, "id"), field(&out, "key"));
    assert_eq!(
        common::http("GET", &format!("{}/v1/snapshot", serve.url), Some(&key), None).0,
        200
    );

    let o = remote(&serve, ADMIN_KEY, &["admin", "keys", "list"]);
    let (out, _) = text(&o);
    assert!(
        out.contains(&id) && out.contains("billing-host") && out.contains("live") && !out.contains(&key),
        "{out}"
    );
    assert!(out.contains("(bootstrap)  admin"), "{out}");

    let o = remote(&serve, ADMIN_KEY, &["admin", "keys", "rotate", &id]);
    let (out, _) = text(&o);
    assert!(o.status.success(), "{out}");
    let new_key = field(&out, "key");
    assert_eq!(
        common::http("GET", &format!("{}/v1/snapshot", serve.url), Some(&key), None).0,
        401
    );
    let new_id = field(&out, "id");
    let o = remote(&serve, ADMIN_KEY, &["admin", "keys", "revoke", &new_id]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        common::http("GET", &format!("{}/v1/snapshot", serve.url), Some(&new_key), None).0,
        401
    );
    let o = remote(&serve, ADMIN_KEY, &["admin", "keys", "revoke", &new_id]);
    assert_eq!(o.status.code(), Some(11));
    assert!(text(&o).1.contains("409 key_revoked"), "{:?}", text(&o));
    let o = remote(&serve, &serve.api_key, &["admin", "keys", "list"]);
    assert!(text(&o).1.contains("403 forbidden_role"));
}
