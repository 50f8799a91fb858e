use super::*;
use crate::{Outcome, Reason, SigningKey};
use serde_json::{json, Map, Value};

const POLICY: &str = "agent: bot\npolicy:\n  actions: [read, refund]\n  resources: [\"doc://*\"]\n  constraints:\n    refund:\n      requireSecondApproval: amount > 100\n";

fn text_options() -> ClientOptions {
    let mut o = ClientOptions::new(PolicySource::Text {
        name: "inline.yaml".into(),
        text: POLICY.into(),
    });
    o.signing_key = Some(SigningKey::generate().unwrap());
    o
}

fn user() -> Map<String, Value> {
    json!({"user_id": "42"}).as_object().unwrap().clone()
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn nothing_to_trust_is_a_config_error_naming_the_options() {
    let err = Client::start(ClientOptions::new(PolicySource::None)).err().unwrap();
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("policy_file="), "{err}");
}

#[test]
fn ship_audit_without_an_endpoint_is_refused() {
    let mut o = text_options();
    o.ship_audit = Some(true);
    let err = Client::start(o).err().unwrap();
    assert!(err.to_string().contains("ship_audit needs endpoint="), "{err}");
}

#[test]
fn endpoint_options_come_from_the_environment_or_say_what_to_set() {
    let err = EndpointOptions::resolve(None, Some("k".into()), None, None, &no_env)
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("ACT_ENDPOINT") && text.contains("ACT_TRUST_KEY"),
        "{text}"
    );
    assert!(text.contains("act serve --policy"), "{text}");
    let key = SigningKey::generate().unwrap();
    let trust = key.verifying_key().to_string();
    let env = move |name: &str| match name {
        "ACT_ENDPOINT" => Some("http://127.0.0.1:9".to_string()),
        "ACT_TRUST_KEY" => Some(trust.clone()),
        "ACT_ISSUER_API_KEY" => Some("iss".to_string()),
        _ => None,
    };
    let o = EndpointOptions::resolve(None, Some("agent".into()), None, None, &env).unwrap();
    assert_eq!(o.endpoint, "http://127.0.0.1:9");
    assert_eq!(o.trust_key, *key.verifying_key());
    assert_eq!(o.api_key.as_deref(), Some("agent"));
    assert_eq!(o.issuer_api_key.as_deref(), Some("iss"));
    // A passed value wins over the environment.
    let o = EndpointOptions::resolve(Some("https://x".into()), None, None, None, &env).unwrap();
    assert_eq!(o.endpoint, "https://x");
    // Credentials never show in Debug.
    let shown = format!("{o:?}");
    assert!(!shown.contains("iss\""), "{shown}");
}

#[test]
fn bad_endpoint_options_fail_before_anything_starts() {
    let key = SigningKey::generate().unwrap();
    let mut e = EndpointOptions::new("ftp://x", key.verifying_key().clone());
    let err = Client::start(ClientOptions::new(PolicySource::Endpoint(e.clone())))
        .err()
        .unwrap();
    assert!(err.to_string().contains("http:// or https://"), "{err}");
    e.endpoint = "http://127.0.0.1:9".into();
    e.api_key = Some("has space".into());
    let err = Client::start(ClientOptions::new(PolicySource::Endpoint(e)))
        .err()
        .unwrap();
    assert!(err.to_string().contains("api_key"), "{err}");
}

#[test]
fn text_source_serves_reloads_one_at_a_time_and_closes() {
    let client = Arc::new(Client::start(text_options()).unwrap());
    assert!(client.ready(Duration::ZERO));
    let st = client.status();
    assert_eq!((st.mode.as_str(), st.snapshot_version), ("embedded", 1));
    assert_eq!(st.source, "inline:inline.yaml");
    assert_eq!(st.agents, vec!["bot".to_string()]);
    assert!(st.instance_id.len() >= 22, "{}", st.instance_id);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || c.reload().unwrap())
        })
        .collect();
    let mut versions: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    versions.sort_unstable();
    // Serialised: every reload got its own version, none was refused as "not newer".
    assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    client.close();
    assert!(client.is_closed() && client.status().closed);
    assert_eq!(client.reload().err().unwrap().code(), "invalid_argument");
    client.close(); // idempotent
}

#[test]
fn inspect_token_gives_verified_claims_and_refuses_foreign_ones() {
    let client = Client::start(text_options()).unwrap();
    let token = client
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: user(),
            ttl_secs: 600,
            ..Default::default()
        })
        .unwrap();
    let info = client.inspect_token(&token).unwrap();
    assert_eq!((info.agent(), info.subject()), ("bot", "42"));
    assert_eq!(info.chain.len(), 1);
    assert!(!info.jti().is_empty() && info.expires_at() > 0);
    let other = Client::start(text_options()).unwrap();
    let foreign = other
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: user(),
            ..Default::default()
        })
        .unwrap();
    let err = client.inspect_token(&foreign).err().unwrap();
    assert_eq!(err.code(), "token_invalid");
}

#[test]
fn approvals_over_http_need_an_endpoint_and_an_approval_required_decision() {
    let client = Client::start(text_options()).unwrap();
    let token = client
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: user(),
            ..Default::default()
        })
        .unwrap();
    let ctx = json!({"amount": 500}).as_object().unwrap().clone();
    let d = client
        .validate(&Request {
            token: &token,
            action: "refund",
            resource: "doc://1",
            context: &ctx,
            approval: None,
        })
        .unwrap();
    assert_eq!(d.outcome, Outcome::ApprovalRequired);
    let err = client.request_approval(&d).err().unwrap();
    assert!(err.to_string().contains("endpoint="), "{err}");
    let read = client
        .validate(&Request {
            token: &token,
            action: "read",
            resource: "doc://1",
            context: &Map::new(),
            approval: None,
        })
        .unwrap();
    assert_eq!(read.reason, Reason::Allowed);
    assert!(client
        .request_approval(&read)
        .err()
        .unwrap()
        .to_string()
        .contains("approval_required decision"));
}

#[test]
fn signing_key_alone_serves_tokens_with_inline_capability() {
    let mut o = ClientOptions::new(PolicySource::None);
    o.signing_key = Some(SigningKey::generate().unwrap());
    let client = Client::start(o).unwrap();
    let token = client
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: user(),
            policy: Some(json!({"actions": ["read"], "resources": ["doc://*"]})),
            ..Default::default()
        })
        .unwrap();
    let ok = |action: &str| {
        client
            .validate(&Request {
                token: &token,
                action,
                resource: "doc://1",
                context: &Map::new(),
                approval: None,
            })
            .unwrap()
            .reason
    };
    assert_eq!(ok("read"), Reason::Allowed);
    assert_ne!(ok("delete"), Reason::Allowed);
}

#[test]
fn endpoint_mode_without_an_issuer_key_names_the_option_and_an_unreachable_endpoint_fails_typed() {
    let key = SigningKey::generate().unwrap();
    let mut e = EndpointOptions::new("http://127.0.0.1:9", key.verifying_key().clone());
    e.initial_sync = Duration::ZERO;
    let client = Client::start(ClientOptions::new(PolicySource::Endpoint(e.clone()))).unwrap();
    assert!(!client.ready(Duration::from_millis(50)));
    // Huge timeouts are cut, never an overflowing deadline (a panic across FFI).
    assert!(client.wait_audit_delivered(Duration::MAX) || client.status().audit.is_some());
    let req = IssueRequest {
        agent: "bot".into(),
        user_context: user(),
        ..Default::default()
    };
    let err = client.issue_token(&req).err().unwrap();
    assert!(
        err.to_string().contains("issuer_api_key") && err.to_string().contains("ACT_ISSUER_API_KEY"),
        "{err}"
    );
    assert!(client.status().audit.is_some(), "endpoint mode ships audit by default");
    e.issuer_api_key = Some("iss".into());
    let client = Client::start(ClientOptions::new(PolicySource::Endpoint(e))).unwrap();
    let err = client.issue_token(&req).err().unwrap();
    assert_eq!(err.family(), crate::ErrorFamily::Endpoint);
    assert!(
        matches!(&err, Error::Endpoint { status: None, code, .. } if code == "unreachable"),
        "{err:?}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the transport error is the source"
    );
    client.close();
    let err = client.wait_for_approval("abc", Duration::from_secs(1)).err().unwrap();
    assert!(err.to_string().contains("closed"), "{err}");
}

#[test]
fn a_jsonl_log_is_checkpointed_with_the_audit_key_and_a_truncated_tail_is_refused() {
    let dir = std::env::temp_dir().join(format!("act-client-checkpoints-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.jsonl");
    let key = SigningKey::generate().unwrap();
    let options = || {
        let mut o = text_options();
        o.audit_key = Some(key.clone());
        o.audit = vec![AuditTarget::Jsonl(log.clone())];
        o
    };
    let client = Client::start(options()).unwrap();
    let token = client
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: user(),
            ..Default::default()
        })
        .unwrap();
    for _ in 0..3 {
        let d = client
            .validate(&Request {
                token: &token,
                action: "read",
                resource: "doc://1",
                context: crate::engine::empty_context(),
                approval: None,
            })
            .unwrap();
        assert_eq!(d.outcome, Outcome::Allow);
    }
    client.close();
    let checkpoints = crate::audit::checkpoint::checkpoints_path(&log);
    assert!(checkpoints.is_file(), "no {}", checkpoints.display());
    // Removing the last record is not silently continued on the next start.
    let body = std::fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = body.lines().take(2).collect();
    std::fs::write(&log, format!("{}\n", kept.join("\n"))).unwrap();
    let err = Client::start(options()).err().expect("a truncated log must be refused");
    assert_eq!(err.code(), "audit_chain_broken", "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
