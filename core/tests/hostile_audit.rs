//! Audit that shows what was removed: signed checkpoints of the chain head catch tail truncation
//! and edit-and-rehash, and an engine never silently continues a log that lost records.

use act_core::audit::checkpoint::{checkpoints_path, read_checkpoints, verify_log_with_checkpoints};
use act_core::audit::{verify_log, AuditRecord, JsonlSink, GENESIS_HASH};
use act_core::policy::parse_source;
use act_core::{Clock, Engine, IssueRequest, Request, SigningKey, SystemClock};
use serde_json::Map;
use std::path::{Path, PathBuf};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "act-audit-{name}-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy(k: &SigningKey) -> SigningKey {
    SigningKey::from_pkcs8_der(&k.to_pkcs8_der()).unwrap()
}

/// An engine writing `n` decisions to `log` with checkpoints signed by `audit_key`, flushing
/// after every `flush_every`.
fn write_decisions(log: &Path, audit_key: &SigningKey, n: usize, flush_every: usize) {
    let sink = JsonlSink::open_with_checkpoints(log.display().to_string(), copy(audit_key)).unwrap();
    let policies = parse_source(
        "p.yaml",
        "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n",
    )
    .unwrap();
    let e = Engine::builder()
        .policies(policies)
        .signing_key(SigningKey::generate().unwrap())
        .audit_sink(Box::new(sink))
        .build()
        .unwrap();
    let token = e
        .issue_token(&IssueRequest {
            agent: "bot".into(),
            user_context: [("user_id".to_string(), "u".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap();
    for i in 0..n {
        let resource = format!("doc://{i}");
        e.validate(&Request {
            token: &token,
            action: "read",
            resource: &resource,
            context: &Map::new(),
            approval: None,
        });
        if (i + 1) % flush_every == 0 {
            e.flush_audit();
        }
    }
    e.flush_audit();
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(log: &Path, lines: &[String]) {
    std::fs::write(log, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn check(log: &Path, key: &SigningKey) -> Result<usize, String> {
    let cps = read_checkpoints(
        std::io::BufReader::new(std::fs::File::open(checkpoints_path(log)).unwrap()),
        key.verifying_key(),
    )
    .map_err(|e| e.to_string())?;
    let f = std::io::BufReader::new(std::fs::File::open(log).unwrap());
    verify_log_with_checkpoints(f, Some(GENESIS_HASH), &cps).map_err(|e| format!("line {}: {}", e.line, e.message))
}

#[test]
fn removing_the_last_records_is_detected_by_the_signed_checkpoint() {
    let (dir, key) = (tempdir("trunc"), SigningKey::generate().unwrap());
    let log = dir.join("audit.jsonl");
    write_decisions(&log, &key, 20, 5);
    assert_eq!(check(&log, &key), Ok(20));
    let mut l = lines(&log);
    l.truncate(17);
    write_lines(&log, &l);
    // The chain alone still verifies: this is what the old `act audit verify` accepted.
    let f = std::io::BufReader::new(std::fs::File::open(&log).unwrap());
    assert_eq!(verify_log(f, Some(GENESIS_HASH)).unwrap(), 17);
    let err = check(&log, &key).unwrap_err();
    assert!(
        err.contains("holds 17 record(s)") && err.contains("last 3 record(s) were removed"),
        "{err}"
    );
}

#[test]
fn an_edit_rehashed_from_the_edited_record_on_is_detected() {
    let (dir, key) = (tempdir("rehash"), SigningKey::generate().unwrap());
    let log = dir.join("audit.jsonl");
    write_decisions(&log, &key, 12, 4);
    // The attacker changes record 6's outcome message and re-hashes the chain from there.
    let mut records: Vec<AuditRecord> = lines(&log).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    records[5].resource = "doc://innocent".into();
    for i in 5..records.len() {
        if i > 5 {
            records[i].prev_hash = records[i - 1].hash.clone();
        }
        records[i].hash = records[i].compute_hash();
    }
    write_lines(
        &log,
        &records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect::<Vec<_>>(),
    );
    let f = std::io::BufReader::new(std::fs::File::open(&log).unwrap());
    assert_eq!(
        verify_log(f, Some(GENESIS_HASH)).unwrap(),
        12,
        "the re-hashed chain is a valid chain"
    );
    let err = check(&log, &key).unwrap_err();
    assert!(err.contains("line 8") && err.contains("edited and re-hashed"), "{err}");
}

#[test]
fn a_checkpoint_signed_by_another_key_or_altered_is_refused() {
    let (dir, key) = (tempdir("forged"), SigningKey::generate().unwrap());
    let log = dir.join("audit.jsonl");
    write_decisions(&log, &key, 4, 4);
    let stranger = SigningKey::generate().unwrap();
    let err = check(&log, &stranger).unwrap_err();
    assert!(err.contains("checkpoint rejected"), "{err}");
    // The attacker truncates both the log and the checkpoints, then signs a fresh checkpoint with
    // their own key: it does not verify against the audit key.
    let cps = checkpoints_path(&log);
    let forged = act_core::audit::checkpoint::sign_checkpoint(
        &stranger,
        &act_core::audit::checkpoint::Checkpoint {
            count: 1,
            head: "00".repeat(32),
            offset: 1,
            issued_at: 1,
        },
    )
    .unwrap();
    std::fs::write(&cps, format!("{forged}\n")).unwrap();
    assert!(check(&log, &key).unwrap_err().contains("line 1"));
}

#[test]
fn after_a_truncation_the_engine_refuses_to_continue_the_chain() {
    let (dir, key) = (tempdir("restart"), SigningKey::generate().unwrap());
    let log = dir.join("audit.jsonl");
    write_decisions(&log, &key, 10, 10);
    let mut l = lines(&log);
    l.truncate(7);
    write_lines(&log, &l);
    let err = match JsonlSink::open_with_checkpoints(log.display().to_string(), copy(&key)) {
        Ok(_) => panic!("a truncated log must not be continued"),
        Err(e) => e,
    };
    assert_eq!(err.code(), "audit_chain_broken", "{err}");
    assert!(err.to_string().contains("removed from its end"), "{err}");

    // An untouched log continues across restarts, and the checkpoints keep verifying.
    let (dir, key) = (tempdir("restart-ok"), SigningKey::generate().unwrap());
    let log = dir.join("audit.jsonl");
    write_decisions(&log, &key, 6, 3);
    write_decisions(&log, &key, 6, 3);
    assert_eq!(check(&log, &key), Ok(12));
    // Editing the last checkpointed record in place (same length) is caught at open too.
    let mut l = lines(&log);
    let last = l.len() - 1;
    l[last] = l[last].replace("doc://5", "doc://9");
    write_lines(&log, &l);
    let err = JsonlSink::open_with_checkpoints(log.display().to_string(), copy(&key))
        .err()
        .unwrap();
    assert_eq!(err.code(), "audit_chain_broken", "{err}");
}
