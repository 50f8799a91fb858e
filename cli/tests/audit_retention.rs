//! `act audit verify` on a log that rotated and lost its oldest files to `retainFor`: it
//! verifies the files left as one chain, each against its signed checkpoints, and says what
//! retention deleted; a file removed by hand fails it.
mod common;

use act_core::audit::retention::{rotated_files, rotated_path, Retention};
use act_core::{Engine, IssueRequest, ManualClock, Request, SigningKey};
use common::{run, text, TempDir};
use std::sync::Arc;

const DAY: i64 = 86_400_000;

#[test]
fn audit_verify_checks_a_rotated_pruned_log_and_names_the_gap() {
    let d = TempDir::new("audit-retention");
    let log = d.join("audit.jsonl");
    let audit_key = SigningKey::generate().unwrap();
    let public = audit_key.verifying_key().to_string();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    {
        let policies = act_core::policy::parse_source(
            "p.yaml",
            "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n  constraints:\n    audit:\n      retainFor: 2days\n",
        )
        .unwrap();
        let retention = Retention::for_policies(policies.agents.iter().map(|a| a.audit.retain_days));
        let sink = act_core::audit::JsonlSink::open_with_checkpoints(log.display().to_string(), audit_key)
            .unwrap()
            .with_retention(retention)
            .unwrap();
        let e = Engine::builder()
            .policies(policies)
            .signing_key(SigningKey::generate().unwrap())
            .clock(clock.clone())
            .audit_sink(Box::new(sink))
            .build()
            .unwrap();
        for _ in 0..6 {
            let t = e
                .issue_token(&IssueRequest {
                    agent: "bot".into(),
                    user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
                    ..Default::default()
                })
                .unwrap();
            for i in 0..3 {
                let r = format!("doc://{i}");
                e.validate(&Request {
                    token: &t,
                    action: "read",
                    resource: &r,
                    context: &Default::default(),
                    approval: None,
                });
                clock.advance_ms(DAY / 3);
            }
            e.flush_audit();
        }
    }
    let path = log.display().to_string();
    let o = run(&["audit", "verify", &path, "--audit-key", &public]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out} {err}");
    assert!(
        out.contains("chain intact") && out.contains("signed checkpoint(s) match"),
        "{out}"
    );
    assert!(out.contains("retention deleted the "), "the gap is named: {out}");

    let kept = rotated_files(&log).unwrap();
    std::fs::remove_file(rotated_path(&log, kept[0])).unwrap();
    let o = run(&["audit", "verify", &path, "--audit-key", &public]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out} {err}");
    assert!(err.contains("is missing"), "{err}");
}
