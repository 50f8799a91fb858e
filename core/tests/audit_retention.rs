//! Retention of a JSON Lines audit log: it rotates daily, rotated files past `retainFor` are
//! deleted (each deletion written, signed, to `<log>.pruned`), the hash chain and its signed
//! checkpoints carry across files, and the rotated, pruned log still verifies as one chain
//! whose gap is named. Records removed any other way are still caught.

use act_core::audit::retention::{pruned_path, rotated_files, rotated_path, verify_rotated_log, Retention};
use act_core::audit::JsonlSink;
use act_core::policy::parse_source;
use act_core::{Clock, Engine, IssueRequest, ManualClock, Request, SigningKey, SystemClock};
use serde_json::Map;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DAY: i64 = 86_400_000;

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "act-retention-{name}-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy(k: &SigningKey) -> SigningKey {
    SigningKey::from_pkcs8_der(&k.to_pkcs8_der()).unwrap()
}

/// `days` days of decisions, `per_day` a day, into `log` kept `retain_days` (a new engine over
/// the same log each run: the sink continues the chain and the rotation clock).
fn run_days(
    log: &Path,
    audit_key: &SigningKey,
    clock: &Arc<ManualClock>,
    days: usize,
    per_day: usize,
    retain_days: u64,
) {
    let policies = parse_source(
        "p.yaml",
        &format!("agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n  constraints:\n    audit:\n      retainFor: {retain_days}days\n"),
    )
    .unwrap();
    let retention = Retention::for_policies(policies.agents.iter().map(|a| a.audit.retain_days));
    assert_eq!(retention.retain_for_ms, Some(retain_days as i64 * DAY));
    let sink = JsonlSink::open_with_checkpoints(log.display().to_string(), copy(audit_key))
        .unwrap()
        .with_retention(retention)
        .unwrap();
    let e = Engine::builder()
        .policies(policies)
        .signing_key(SigningKey::from_seed(&[5; 32]).unwrap())
        .clock(clock.clone())
        .audit_sink(Box::new(sink))
        .build()
        .unwrap();
    for _ in 0..days {
        let token = e
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
                ..Default::default()
            })
            .unwrap();
        for i in 0..per_day {
            let resource = format!("doc://{i}");
            e.validate(&Request {
                token: &token,
                action: "read",
                resource: &resource,
                context: &Map::new(),
                approval: None,
            });
            clock.advance_ms(DAY / per_day as i64);
        }
        e.flush_audit();
    }
    assert_eq!(e.audit_status().2, None, "the sink never failed");
}

#[test]
fn a_rotated_pruned_log_verifies_and_names_its_gap() {
    let dir = tempdir("prune");
    let log = dir.join("audit.jsonl");
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    // Two days: one rotation, nothing old enough to delete; verifies from the genesis hash.
    run_days(&log, &key, &clock, 2, 4, 3);
    assert_eq!(rotated_files(&log).unwrap(), vec![1]);
    let r = verify_rotated_log(&log, Some(key.verifying_key())).unwrap();
    assert_eq!((r.records, r.files, r.pruned), (8, 2, None), "{r:?}");
    assert!(r.checkpoints >= 2, "each file has its signed checkpoints: {r:?}");

    // Eight more days, by another engine on the same log: files older than 3 days are deleted.
    run_days(&log, &key, &clock, 8, 4, 3);
    let kept = rotated_files(&log).unwrap();
    assert!(
        kept.len() >= 3 && kept.len() <= 5,
        "about retainFor's worth of daily files: {kept:?}"
    );
    assert!(!rotated_path(&log, 1).exists(), "the oldest file is gone");
    let pruned = std::fs::read_to_string(pruned_path(&log)).unwrap();
    assert_eq!(
        pruned.lines().count() as u64,
        kept[0] - 1,
        "one signed entry per deleted file"
    );
    let r = verify_rotated_log(&log, Some(key.verifying_key())).unwrap();
    let (deleted, last_file) = r.pruned.expect("the gap is named");
    assert_eq!(last_file, kept[0] - 1);
    assert_eq!(
        deleted as usize + r.records,
        40,
        "deleted + kept = every decision: {r:?}"
    );

    // Removing the oldest kept file by hand is not retention: caught, and named.
    let tampered = dir.join("aside");
    std::fs::rename(rotated_path(&log, kept[0]), &tampered).unwrap();
    let e = verify_rotated_log(&log, Some(key.verifying_key())).unwrap_err();
    assert!(e.message.contains("is missing"), "{}", e.message);
    std::fs::rename(&tampered, rotated_path(&log, kept[0])).unwrap();

    // An edited record in a rotated file breaks the chain there.
    let f = rotated_path(&log, kept[1]);
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replacen("doc://1", "doc://9", 1)).unwrap();
    let e = verify_rotated_log(&log, Some(key.verifying_key())).unwrap_err();
    assert!(e.message.contains("was edited"), "{}", e.message);
    std::fs::write(&f, text).unwrap();

    // A forged `.pruned` entry (not signed by the audit key) is refused.
    let other = SigningKey::generate().unwrap();
    assert!(verify_rotated_log(&log, Some(other.verifying_key())).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_retain_for_keeps_everything() {
    let r = Retention::for_policies([Some(30), None]);
    assert_eq!(
        r.retain_for_ms, None,
        "one agent without retainFor keeps the shared log"
    );
    let r = Retention::for_policies([Some(30), Some(90)]);
    assert_eq!(r.retain_for_ms, Some(90 * DAY), "the longest wins");
    assert_eq!(r.rotate_after_ms, 9 * DAY, "a file covers a tenth of retainFor");
    assert_eq!(
        Retention::for_policies([Some(3)]).rotate_after_ms,
        DAY,
        "and at least a day"
    );
}

#[test]
fn the_sdk_client_applies_retain_for_to_its_jsonl_log() {
    use act_core::client::{AuditTarget, Client, ClientOptions, PolicySource};
    let dir = tempdir("client");
    let log = dir.join("audit.jsonl");
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let mut opts = ClientOptions::new(PolicySource::Text {
        name: "p.yaml".into(),
        text: "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n  constraints:\n    audit:\n      retainFor: 1day\n"
            .into(),
    });
    opts.signing_key = Some(SigningKey::from_seed(&[5; 32]).unwrap());
    opts.audit = vec![AuditTarget::Jsonl(log.clone())];
    opts.clock = Some(clock.clone());
    let client = Client::start(opts).unwrap();
    for _ in 0..5 {
        let token = client
            .issue_token(&IssueRequest {
                agent: "bot".into(),
                user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
                ..Default::default()
            })
            .unwrap();
        let d = client
            .validate(&Request {
                token: &token,
                action: "read",
                resource: "doc://1",
                context: &Map::new(),
                approval: None,
            })
            .unwrap();
        assert!(d.allowed());
        client.engine().unwrap().flush_audit();
        clock.advance_ms(DAY + 1);
    }
    // It rotated daily, and every rotated file was past `retainFor: 1day` by the next rotation.
    let entries = std::fs::read_to_string(pruned_path(&log)).unwrap();
    assert_eq!(entries.lines().count(), 4, "{entries}");
    assert!(rotated_files(&log).unwrap().is_empty());
    let r = verify_rotated_log(&log, None).unwrap();
    let (deleted, _) = r.pruned.expect("records past retainFor: 1day were deleted");
    assert_eq!(deleted as usize + r.records, 5, "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rotated_file_that_no_longer_verifies_is_kept_and_reported_and_the_log_goes_on() {
    let dir = tempdir("stuck");
    let log = dir.join("audit.jsonl");
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    run_days(&log, &key, &clock, 2, 2, 1);
    // Someone edits the oldest rotated file: retention will not delete what it cannot verify.
    let oldest = rotated_path(&log, rotated_files(&log).unwrap()[0]);
    let text = std::fs::read_to_string(&oldest).unwrap();
    std::fs::write(&oldest, text.replacen("doc://0", "doc://7", 1)).unwrap();
    let sink = JsonlSink::open_with_checkpoints(log.display().to_string(), copy(&key))
        .unwrap()
        .with_retention(Retention::for_policies([Some(1)]))
        .unwrap();
    let e = Engine::builder()
        .policies(
            parse_source(
                "p.yaml",
                "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n",
            )
            .unwrap(),
        )
        .signing_key(SigningKey::from_seed(&[5; 32]).unwrap())
        .clock(clock.clone())
        .audit_sink(Box::new(sink))
        .build()
        .unwrap();
    clock.advance_ms(3 * DAY);
    let token = e
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap();
    e.validate(&Request {
        token: &token,
        action: "read",
        resource: "doc://1",
        context: &Map::new(),
        approval: None,
    });
    e.flush_audit();
    let (_, errors, last) = e.audit_status();
    assert_eq!(errors, 1, "{last:?}");
    assert!(last.unwrap().contains("not deleting it"));
    assert!(oldest.exists(), "kept for someone to look at");
    // The record was still written: the live file holds it, and its checkpoint matches.
    let live = std::fs::read_to_string(&log).unwrap();
    assert_eq!(live.lines().count(), 1);
    let cps = act_core::audit::checkpoint::checkpoints_path(&log);
    let f = std::fs::File::open(&cps).unwrap();
    let cp = act_core::audit::checkpoint::read_checkpoints(std::io::BufReader::new(f), key.verifying_key()).unwrap();
    assert_eq!(cp.last().unwrap().count, 1);
    let _ = std::fs::remove_dir_all(&dir);
}
