//! The `act` commands, run as a user would run them.

mod common;

use common::{run, text, TempDir, SUPPORT};

const SUITE: &str = "\
name: support
tokens:
  alice: {agent: customer-support-bot, user: {user_id: \"42\"}}
tests:
  - name: small refund
    token: alice
    action: process_refund
    resource: order://customer:42/1001
    context: {amount: 50}
    expect: allow
  - name: large refund asks a human
    token: alice
    action: process_refund
    resource: order://customer:42/1001
    context: {amount: 150}
    expect: approval_required
  - name: approved once
    token: alice
    action: process_refund
    resource: order://customer:42/1001
    context: {amount: 150}
    approve: true
    expect: allow
    reason: approved
  - name: someone else's order
    token: alice
    action: read_order
    resource: order://customer:43/1
    expect: deny
    reason: resource_not_allowed
";

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn keygen_token_issue_and_inspect() {
    let d = TempDir::new("keys");
    std::fs::write(d.join("support.yaml"), SUPPORT).unwrap();
    let o = run(&["keygen", "--out", &d.s("k.pem")]);
    let (out, _) = text(&o);
    assert!(o.status.success() && out.starts_with("ed25519:"), "{out}");
    assert!(std::fs::read_to_string(d.join("k.pem"))
        .unwrap()
        .contains("BEGIN PRIVATE KEY"));
    let again = run(&["keygen", "--out", &d.s("k.pem")]);
    assert_eq!(code(&again), 5, "refuses to overwrite");
    assert!(text(&again).1.contains("--force"));

    let o = run(&[
        "token",
        "issue",
        "--key",
        &d.s("k.pem"),
        "--agent",
        "customer-support-bot",
        "--user-id",
        "42",
        "--policy",
        &d.s("support.yaml"),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let token = text(&o).0.trim().to_string();
    let o = run(&["token", "inspect", &token, "--trust", &d.s("k.pem")]);
    let (out, err) = text(&o);
    assert!(
        o.status.success() && out.contains("\"sub\": \"42\"") && err.contains("signatures: valid"),
        "{out}{err}"
    );
    let stranger = act_core::SigningKey::generate().unwrap().verifying_key().to_string();
    let o = run(&["token", "inspect", &token, "--trust", &stranger]);
    assert_eq!(code(&o), 7, "{:?}", text(&o));
    assert!(text(&o).1.contains("token_unknown_key"), "{:?}", text(&o));
    let o = run(&[
        "token",
        "issue",
        "--key",
        &d.s("k.pem"),
        "--agent",
        "nobody",
        "--user-id",
        "42",
        "--policy",
        &d.s("support.yaml"),
    ]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("no policy for agent `nobody`"));
}

#[test]
fn policy_check_prints_every_diagnostic_with_distinct_exit_codes() {
    let d = TempDir::new("check");
    std::fs::write(d.join("ok.yaml"), SUPPORT).unwrap();
    let o = run(&["policy", "check", &d.s("ok.yaml")]);
    assert!(o.status.success(), "{:?}", text(&o));

    std::fs::write(
        d.join("bad.yaml"),
        "agent: x\npolicy:\n  actions: [a]\n  resources: [\"r://*\"]\n  constraints:\n    maxAmont: 5\n",
    )
    .unwrap();
    let o = run(&["policy", "check", &d.s("bad.yaml")]);
    let (out, _) = text(&o);
    assert_eq!(code(&o), 4, "{out}");
    let line = out.lines().next().unwrap();
    assert!(
        line.starts_with(&format!("{}:6:5: ", d.s("bad.yaml"))) && line.contains("maxAmont"),
        "{line}"
    );

    std::fs::write(d.join("syntax.yaml"), "agent: [x\n").unwrap();
    let o = run(&["policy", "check", &d.s("syntax.yaml")]);
    assert_eq!(code(&o), 3, "{:?}", text(&o));
    assert!(text(&o).0.contains("invalid YAML"));

    assert_eq!(code(&run(&["policy", "check", &d.s("missing.yaml")])), 5);
}

/// Each construct the engine could not enforce as written is refused: exit 4, `file:line:col: `key`: sentence`.
#[test]
fn policy_check_refuses_inert_constructs() {
    let d = TempDir::new("inert");
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "glob_group.yaml",
            "agent: x\npolicy:\n  actions: [read_order]\n  resources: [\"r://**\"]\n  constraints:\n    \"refund_*\":\n      maxAmount: 5\n",
            ":6:5: policy.constraints.refund_*:",
            "covers no action",
        ),
        (
            "only_own.yaml",
            "agent: x\npolicy:\n  actions: [read_order]\n  resources: [\"order://customer:{{authenticated_user_id}}*/*\"]\n  constraints:\n    - onlyOwnOrders: true\n",
            ":6:22: policy.constraints[0].onlyOwnOrders:",
            "wildcard after the user id",
        ),
        (
            "empty_segment.yaml",
            "agent: x\npolicy:\n  actions: [read_file]\n  resources: [\"repo://a//b/**\"]\n",
            ":4:",
            "can never match",
        ),
        (
            "action_case.yaml",
            "agent: x\npolicy:\n  actions: [Send_Email]\n  resources: [\"mail://**\"]\n",
            ":3:13: policy.actions:",
            "write `send_email`",
        ),
    ];
    for (file, policy, at, sentence) in cases {
        std::fs::write(d.join(file), policy).unwrap();
        let o = run(&["policy", "check", &d.s(file)]);
        let (out, _) = text(&o);
        assert_eq!(code(&o), 4, "{file}: {out}");
        let line = out.lines().next().unwrap_or_default();
        assert!(
            line.starts_with(&format!("{}{at}", d.s(file))) && line.contains(sentence),
            "{file}: {line}"
        );
    }
}

#[test]
fn policy_test_suites_pass_fail_and_reject_bad_suites() {
    let d = TempDir::new("suite");
    std::fs::write(d.join("support.yaml"), SUPPORT).unwrap();
    std::fs::write(d.join("support_test.yaml"), SUITE).unwrap();
    let o = run(&["policy", "test", &d.0.display().to_string(), "-v"]);
    let (out, _) = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("PASS support › approved once") && out.contains("4 passed, 0 failed"),
        "{out}"
    );

    std::fs::write(
        d.join("support_test.yaml"),
        SUITE.replace("expect: deny", "expect: allow"),
    )
    .unwrap();
    let o = run(&["policy", "test", &d.0.display().to_string()]);
    let (out, _) = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("FAIL support › someone else's order") && out.contains("3 passed, 1 failed"),
        "{out}"
    );

    std::fs::write(d.join("support_test.yaml"), "tests: []\nwhatever: 1\n").unwrap();
    let o = run(&["policy", "test", &d.0.display().to_string()]);
    assert_eq!(code(&o), 9, "{:?}", text(&o));
    assert!(text(&o).1.contains("unknown key `whatever`"));
}

#[test]
fn snapshot_build_inspect_and_validate_explain() {
    let d = TempDir::new("snap");
    std::fs::write(d.join("support.yaml"), SUPPORT).unwrap();
    assert!(run(&["keygen", "--out", &d.s("cp.pem")]).status.success());
    let o = run(&[
        "snapshot",
        "build",
        &d.s("support.yaml"),
        "--key",
        &d.s("cp.pem"),
        "--version",
        "7",
        "--out",
        &d.s("s.jws"),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = run(&["snapshot", "inspect", &d.s("s.jws"), "--trust", &d.s("cp.pem")]);
    assert!(text(&o).0.contains("version: 7"), "{:?}", text(&o));
    assert!(run(&["keygen", "--out", &d.s("other.pem")]).status.success());
    let o = run(&["snapshot", "inspect", &d.s("s.jws"), "--trust", &d.s("other.pem")]);
    assert_eq!(code(&o), 8);
    assert!(text(&o).1.contains("unknown key"));

    let token = text(&run(&[
        "token",
        "issue",
        "--key",
        &d.s("cp.pem"),
        "--agent",
        "customer-support-bot",
        "--user-id",
        "42",
        "--policy",
        &d.s("support.yaml"),
    ]))
    .0;
    let token = token.trim();
    let base = [
        "validate",
        "--snapshot",
        &d.s("s.jws"),
        "--snapshot-key",
        &d.s("cp.pem"),
        "--key",
        &d.s("cp.pem"),
        "--token",
        token,
        "--action",
        "process_refund",
        "--resource",
        "order://customer:42/9",
    ];
    let o = run(&[&base[..], &["--context", r#"{"amount": 600}"#, "--explain"]].concat());
    let (out, _) = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.starts_with("deny (constraint_failed)") && out.contains("constraint") && out.contains("maxAmount"),
        "{out}"
    );
    let o = run(&[&base[..], &["--context", r#"{"amount": 60}"#, "--json"]].concat());
    assert!(
        o.status.success() && text(&o).0.contains("\"snapshot_version\": 7"),
        "{:?}",
        text(&o)
    );
    let o = run(&[&base[..], &["--context", "[1]"]].concat());
    assert_eq!(code(&o), 2);
}

#[test]
fn audit_verify_names_the_edited_or_removed_line() {
    let d = TempDir::new("audit");
    let log = d.join("audit.jsonl");
    {
        let policies = act_core::policy::parse_source("s.yaml", SUPPORT).unwrap();
        let sink = act_core::audit::JsonlSink::open(log.display().to_string()).unwrap();
        let engine = act_core::Engine::builder()
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
        for i in 0..5 {
            let r = format!("order://customer:42/{i}");
            engine.validate(&act_core::Request {
                token: &t,
                action: "read_order",
                resource: &r,
                context: &Default::default(),
                approval: None,
            });
        }
        engine.flush_audit();
    }
    let path = log.display().to_string();
    let o = run(&["audit", "verify", &path]);
    assert!(
        o.status.success() && text(&o).0.contains("5 record(s)"),
        "{:?}",
        text(&o)
    );

    let original = std::fs::read_to_string(&log).unwrap();
    let edited = original.replacen("order://customer:42/2", "order://customer:42/99", 1);
    std::fs::write(&log, &edited).unwrap();
    let o = run(&["audit", "verify", &path]);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o).1.contains(&format!("{path}:3: ")) && text(&o).1.contains("edited"),
        "{:?}",
        text(&o)
    );

    let removed: Vec<&str> = original
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&log, removed.join("\n")).unwrap();
    let o = run(&["audit", "verify", &path]);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o).1.contains(&format!("{path}:2: ")) && text(&o).1.contains("removed"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn audit_verify_with_checkpoints_catches_a_removed_tail_and_a_rehashed_edit() {
    let d = TempDir::new("audit-cp");
    let log = d.join("audit.jsonl");
    let audit_key = act_core::SigningKey::generate().unwrap();
    let public = audit_key.verifying_key().to_string();
    {
        let policies = act_core::policy::parse_source("s.yaml", SUPPORT).unwrap();
        let sink = act_core::audit::JsonlSink::open_with_checkpoints(log.display().to_string(), audit_key).unwrap();
        let engine = act_core::Engine::builder()
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
        for i in 0..6 {
            let r = format!("order://customer:42/{i}");
            engine.validate(&act_core::Request {
                token: &t,
                action: "read_order",
                resource: &r,
                context: &Default::default(),
                approval: None,
            });
            engine.flush_audit();
        }
    }
    let path = log.display().to_string();
    let cps = format!("{path}.checkpoints");
    let o = run(&["audit", "verify", &path, "--audit-key", &public]);
    assert!(
        o.status.success() && text(&o).0.contains("6 record(s)"),
        "{:?}",
        text(&o)
    );
    let original = std::fs::read_to_string(&log).unwrap();

    // The last two records removed: the chain alone still verifies, the checkpoint does not.
    let kept: String = original.lines().take(4).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, &kept).unwrap();
    let o = run(&["audit", "verify", &path]);
    assert!(o.status.success(), "a chain alone cannot see a removed tail");
    assert!(
        text(&o).1.contains("pass --audit-key"),
        "it points at the checkpoints: {:?}",
        text(&o)
    );
    // A copy of the checkpoints kept elsewhere works the same; so does one checkpoint given inline.
    let elsewhere = d.join("copy.checkpoints");
    std::fs::copy(&cps, &elsewhere).unwrap();
    let last_cp = std::fs::read_to_string(&cps)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    for given in [elsewhere.display().to_string(), last_cp] {
        let o = run(&["audit", "verify", &path, "--checkpoint", &given, "--audit-key", &public]);
        assert_eq!(code(&o), 1, "{:?}", text(&o));
        assert!(
            text(&o).1.contains("the last 2 record(s) were removed"),
            "{:?}",
            text(&o)
        );
    }

    // A checkpoint checked against another key is refused, not trusted.
    let other = act_core::SigningKey::generate().unwrap().verifying_key().to_string();
    std::fs::write(&log, &original).unwrap();
    let o = run(&["audit", "verify", &path, "--checkpoint", &cps, "--audit-key", &other]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).1.contains("checkpoint rejected"), "{:?}", text(&o));

    // An edit re-hashed from the edited record on: a valid chain, caught at the next checkpoint.
    let mut records: Vec<act_core::audit::AuditRecord> =
        original.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    records[2].resource = "order://customer:42/99".into();
    for i in 2..records.len() {
        if i > 2 {
            records[i].prev_hash = records[i - 1].hash.clone();
        }
        records[i].hash = records[i].compute_hash();
    }
    let rehashed: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&log, rehashed).unwrap();
    assert!(run(&["audit", "verify", &path]).status.success());
    let o = run(&["audit", "verify", &path, "--audit-key", &public]);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o).1.contains(&format!("{path}:3: ")) && text(&o).1.contains("edited and re-hashed"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn help_documents_every_command_and_the_exit_codes() {
    let (out, _) = text(&run(&["--help"]));
    for c in [
        "keygen",
        "token",
        "policy",
        "snapshot",
        "validate",
        "audit",
        "serve",
        "Exit codes",
        "9   a policy test suite is invalid",
    ] {
        assert!(out.contains(c), "{c} missing from:\n{out}");
    }
    let (out, _) = text(&run(&["policy", "test", "--help"]));
    assert!(
        out.contains("expect: allow") && out.contains("N passed, M failed"),
        "{out}"
    );
}
