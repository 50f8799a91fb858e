//! Random and mutated input never panics: token verification, policy parsing,
//! and whole decisions. (Coverage-guided fuzzing with `cargo fuzz` goes further;
//! this runs everywhere in seconds.)

use act_core::{Engine, IssueRequest, Request, SigningKey};
use serde_json::{json, Map, Value};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(8) {
        if bytes.is_empty() {
            break;
        }
        let i = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[i] = rng.next() as u8,
            1 => {
                bytes.remove(i);
            }
            2 => bytes.insert(i, b"{}[]:-.~\"'*%/\n #&!|>"[rng.below(20)]),
            _ => {
                let j = rng.below(bytes.len());
                let chunk: Vec<u8> = bytes[i.min(j)..i.max(j)].to_vec();
                bytes.splice(i..i, chunk);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*", "!order://customer:{{user.id}}/secret/**"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
      requireSecondApproval: amount > 100
    orders:
      - ifTime: between 9am-5pm EST
      - ifUser: has role "agent"
      - allowedDomains: ["@company.com"]
"#;

#[test]
fn mutated_policies_never_panic() {
    let mut rng = Rng(0x5eed);
    let mut compiled = 0;
    for _ in 0..10_000 {
        let text = mutate(&mut rng, POLICY);
        if let Ok(set) = act_core::policy::parse_source("fuzz.yaml", &text) {
            if act_core::Snapshot::compile(set, 1, 0, &[]).is_ok() {
                compiled += 1;
            }
        }
        let json = mutate(
            &mut rng,
            r#"{"agent": "a", "policy": {"actions": ["x"], "resources": ["a://{{user.id}}/*"], "constraints": {"maxAmount": 5}}}"#,
        );
        let _ = act_core::policy::parse_source("fuzz.json", &json);
    }
    assert!(compiled > 0, "some mutations should still compile");
}

#[test]
fn mutated_tokens_and_requests_never_panic() {
    let key = SigningKey::generate().unwrap();
    let act = Engine::builder()
        .policies(act_core::policy::parse_source("p.yaml", POLICY).unwrap())
        .signing_key(key)
        .build()
        .unwrap();
    let token = act
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: json!({"user_id": "42", "roles": ["agent"]})
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        })
        .unwrap();
    let mut rng = Rng(42);
    let contexts: Vec<Map<String, Value>> = [
        json!({"amount": 80}),
        json!({"amount": f64::MAX}),
        json!({"amount": -0.0}),
        json!({"amount": [1, 2]}),
        json!({"amount": {"nested": {"deep": [null]}}}),
        json!({"to": ["a@company.com", 7, null]}),
        json!({"amount": 9_223_372_036_854_775_807i64}),
        json!({"amount": 18_446_744_073_709_551_615u64}),
    ]
    .iter()
    .map(|v| v.as_object().unwrap().clone())
    .collect();
    for i in 0..10_000 {
        let t = if i % 3 == 0 {
            token.clone()
        } else {
            mutate(&mut rng, &token)
        };
        let resource = mutate(&mut rng, "order://customer:42/1001");
        let action = ["read_order", "process_refund", "", "read_*", "x y"][rng.below(5)];
        let ctx = &contexts[rng.below(contexts.len())];
        let approval = (i % 7 == 0).then(|| mutate(&mut rng, &token));
        let d = act.validate(&Request {
            token: &t,
            action,
            resource: &resource,
            context: ctx,
            approval: approval.as_deref(),
        });
        assert!(!d.message.is_empty());
        if t != token {
            assert!(
                !d.allowed() || t.split('~').next() == Some(token.as_str()),
                "a mutated token was allowed: {t}"
            );
        }
    }
    // Giant and deeply nested inputs.
    let huge = "a".repeat(1 << 20);
    let ctx = &contexts[0];
    let d = act.validate(&Request {
        token: &huge,
        action: "read_order",
        resource: &huge,
        context: ctx,
        approval: Some(&huge),
    });
    assert_eq!(d.reason.as_str(), "resource_invalid");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(act_core::policy::parse_source("deep.yaml", &deep).is_err());
    assert!(act_core::json::parse_strict(deep.as_bytes(), 32).is_err());
}
