//! Alert records: a circuit breaker opening writes one `breaker_opened` record to the audit
//! targets, right after the denial that opened it, chained like every decision; denials while
//! it is open write none; it alerts again when it opens again after its cool-down.

use act_core::audit::{verify_log, AuditRecord, MemorySink};
use act_core::policy::parse_source;
use act_core::{Engine, IssueRequest, ManualClock, Reason, Request, SigningKey};
use serde_json::{json, Map};
use std::sync::Arc;

fn setup(scope: &str) -> (Engine, MemorySink, Arc<ManualClock>) {
    let policy = format!(
        "agent: bot\npolicy:\n  actions: [read_order]\n  resources: [\"order://customer:{{{{authenticated_user_id}}}}/*\"]\n  \
         circuitBreaker:\n    maxDenials: 3\n    window: 1m\n    coolDown: 5m{scope}\n"
    );
    let sink = MemorySink::default();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let e = Engine::builder()
        .policies(parse_source("p.yaml", &policy).unwrap())
        .signing_key(SigningKey::generate().unwrap())
        .clock(clock.clone())
        .audit_sink(Box::new(sink.clone()))
        .build()
        .unwrap();
    (e, sink, clock)
}

fn read(e: &Engine, t: &str, owner: &str) -> act_core::Decision {
    let resource = format!("order://customer:{owner}/1");
    e.validate(&Request {
        token: t,
        action: "read_order",
        resource: &resource,
        context: &Map::new(),
        approval: None,
    })
}

fn alerts(records: &[AuditRecord]) -> Vec<&AuditRecord> {
    records.iter().filter(|r| r.event.is_some()).collect()
}

#[test]
fn a_breaker_opening_is_one_alert_record_per_opening() {
    let (e, sink, clock) = setup("");
    let t = e
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: json!({ "user_id": "42" }).as_object().unwrap().clone(),
            ..Default::default()
        })
        .unwrap();
    for _ in 0..2 {
        assert_eq!(read(&e, &t, "43").reason, Reason::ResourceNotAllowed);
    }
    e.flush_audit();
    assert!(alerts(&sink.records()).is_empty(), "two denials open nothing");
    assert_eq!(read(&e, &t, "43").reason, Reason::ResourceNotAllowed);
    for _ in 0..3 {
        assert_eq!(read(&e, &t, "42").reason, Reason::CircuitOpen);
    }
    e.flush_audit();
    let records = sink.records();
    let found = alerts(&records);
    assert_eq!(found.len(), 1, "one alert for one opening: {records:#?}");
    let a = found[0];
    assert_eq!(a.event.as_deref(), Some("breaker_opened"));
    assert_eq!((a.agent.as_deref(), a.subject.as_deref()), (Some("bot"), Some("42")));
    assert_eq!(a.reason, Reason::CircuitOpen);
    assert!(
        a.message.contains("opened for `42` after 3 denial(s) within 60 s"),
        "{}",
        a.message
    );
    // Right after the denial that opened it, and in the chain like any record.
    let at = records.iter().position(|r| r.event.is_some()).unwrap();
    assert_eq!(records[at - 1].reason, Reason::ResourceNotAllowed);
    let log: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    assert_eq!(verify_log(log.as_bytes(), None).unwrap(), records.len());
    // A decision record has no `event` field at all (hashes of older records are unchanged).
    assert!(!serde_json::to_string(&records[0]).unwrap().contains("\"event\""));

    // After the cool-down, three more denials open it again: a second alert.
    clock.advance_ms(5 * 60_000 + 1);
    for _ in 0..3 {
        assert_eq!(read(&e, &t, "43").reason, Reason::ResourceNotAllowed);
    }
    e.flush_audit();
    assert_eq!(alerts(&sink.records()).len(), 2);
}

#[test]
fn an_agent_wide_breaker_alert_names_every_user() {
    let (e, sink, _) = setup("\n    scope: agent");
    for user in ["1", "2", "3"] {
        let t = e
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: json!({ "user_id": user }).as_object().unwrap().clone(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(read(&e, &t, "999").reason, Reason::ResourceNotAllowed);
    }
    e.flush_audit();
    let records = sink.records();
    let found = alerts(&records);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject.as_deref(), Some("*"));
    assert!(found[0].message.contains("for `every user`"), "{}", found[0].message);
}

#[test]
fn a_kill_switch_change_is_one_alert_record() {
    let (e, sink, _) = setup("");
    let policy = "agent: bot\npolicy:\n  actions: [read_order]\n  resources: [\"order://*\"]\n";
    let mut set = parse_source("p.yaml", policy).unwrap();
    set.kill_switches.agents = vec!["bot".into()];
    e.reload(set.clone()).unwrap();
    e.reload(set.clone()).unwrap(); // unchanged switches: no alert
    set.kill_switches.agents.clear();
    set.kill_switches.all = true;
    e.reload(set).unwrap();
    e.flush_audit();
    let records = sink.records();
    let found = alerts(&records);
    assert_eq!(found.len(), 2, "{records:#?}");
    assert!(found.iter().all(|a| a.event.as_deref() == Some("kill_switch_changed")));
    assert_eq!(found[0].reason, Reason::KillSwitch);
    assert_eq!(found[0].message, "kill switches changed: agent `bot` on");
    assert_eq!(found[0].resource, "kill_switch:agent:bot");
    assert_eq!(found[1].message, "kill switches changed: global on, agent `bot` off");
    assert_eq!(found[1].resource, "kill_switch:all");
}
