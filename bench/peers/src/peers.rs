//! The same decision, asked of ACT and of each peer.

use crate::timing::measure;
use act_core::{Engine, EngineOptions, IssueRequest, Request, SigningKey};
use serde_json::{json, Map, Value};
use std::hint::black_box;

pub const POLICY: &str = r#"
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 1000000000
      requireSecondApproval: amount > 100
    orders:
      onlyOwnOrders: true
      maxRowsPerQuery: 50
"#;

pub fn engine(cache: usize) -> Engine {
    Engine::builder()
        .policies(act_core::policy::parse_source("policies.yaml", POLICY).unwrap())
        .signing_key(SigningKey::from_seed(&[7u8; 32]).unwrap())
        .options(EngineOptions {
            token_cache_capacity: cache,
            ..Default::default()
        })
        .build()
        .unwrap()
}

pub fn token(e: &Engine, user: &str) -> String {
    e.issue_token(&IssueRequest {
        agent: "customer-support-bot".into(),
        user_context: json!({"user_id": user, "roles": ["customer"]})
            .as_object()
            .unwrap()
            .clone(),
        ttl_secs: 3600,
        ..Default::default()
    })
    .unwrap()
}

pub fn context() -> Map<String, Value> {
    json!({"amount": 80, "currency": "USD", "reason": "damaged"})
        .as_object()
        .unwrap()
        .clone()
}

const CEDAR_POLICY: &str = r#"
permit(principal == Agent::"customer-support-bot", action == Action::"process_refund", resource is Order)
when { resource.owner == context.user_id && context.amount <= 500 };
forbid(principal, action == Action::"process_refund", resource) when { context.amount > 100 };
"#;

const REGO_POLICY: &str = r#"
package act
default allow := false
allow if {
    input.agent == "customer-support-bot"
    input.action == "process_refund"
    startswith(input.resource, concat("", ["order://customer:", input.user_id, "/"]))
    input.context.amount <= 500
    input.context.amount <= 100
}
"#;

const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.sub == p.sub && keyMatch(r.obj, p.obj) && r.act == p.act
"#;

pub fn run(budget: f64) -> Value {
    let mut results = Map::new();
    let ctx = context();
    let resource = "order://customer:42/1001";

    // ACT, already-seen token: the full decision (and the audit record for validate).
    let act = engine(100_000);
    let t = token(&act, "42");
    let req = Request {
        token: &t,
        action: "process_refund",
        resource,
        context: &ctx,
        approval: None,
    };
    assert!(act.validate(&req).allowed());
    results.insert(
        "act_validate_seen".into(),
        measure(budget, || drop(black_box(act.validate(black_box(&req))))).json(),
    );
    results.insert(
        "act_check_seen".into(),
        measure(budget, || drop(black_box(act.check(black_box(&req))))).json(),
    );

    // ACT, first-seen token: a cache too small for the rotation, so every call verifies.
    let cold = engine(16);
    let fresh: Vec<String> = (0..2048).map(|i| token(&cold, &i.to_string())).collect();
    let resources: Vec<String> = (0..2048).map(|i| format!("order://customer:{i}/1001")).collect();
    let mut i = 0;
    results.insert(
        "act_check_first_seen".into(),
        measure(budget, || {
            i = (i + 1) % fresh.len();
            let r = Request {
                token: &fresh[i],
                action: "process_refund",
                resource: &resources[i],
                context: &ctx,
                approval: None,
            };
            drop(black_box(cold.check(&r)));
        })
        .json(),
    );

    // jsonwebtoken: verifying the same token's EdDSA signature and claims, nothing else.
    {
        use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
        let jwk: Value = serde_json::from_str(&act.signing_key().unwrap().verifying_key().to_jwk()).unwrap();
        let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.validate_aud = false;
        assert!(decode::<Value>(&t, &key, &v).is_ok());
        results.insert(
            "jsonwebtoken_decode".into(),
            measure(budget, || drop(black_box(decode::<Value>(black_box(&t), &key, &v)))).json(),
        );
    }

    // Cedar: is_authorized with the context built per call, as a host would.
    {
        use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request as CReq};
        let policies: PolicySet = CEDAR_POLICY.parse().unwrap();
        let entities = Entities::from_json_value(
            json!([{"uid": {"type": "Order", "id": "1001"}, "attrs": {"owner": "42"}, "parents": []}]),
            None,
        )
        .unwrap();
        let principal: EntityUid = r#"Agent::"customer-support-bot""#.parse().unwrap();
        let action: EntityUid = r#"Action::"process_refund""#.parse().unwrap();
        let res: EntityUid = r#"Order::"1001""#.parse().unwrap();
        let authz = Authorizer::new();
        let ask = || {
            let c = Context::from_json_value(
                json!({"user_id": "42", "amount": 80, "currency": "USD", "reason": "damaged"}),
                None,
            )
            .unwrap();
            let r = CReq::new(principal.clone(), action.clone(), res.clone(), c, None).unwrap();
            authz.is_authorized(&r, &policies, &entities).decision()
        };
        assert_eq!(ask(), Decision::Allow);
        results.insert(
            "cedar_is_authorized".into(),
            measure(budget, || {
                black_box(ask());
            })
            .json(),
        );
    }

    // Rego (regorus): the input document set per call, then the rule evaluated.
    {
        let mut engine = regorus::Engine::new();
        engine.add_policy("act.rego".into(), REGO_POLICY.into()).unwrap();
        let input =
            json!({"agent": "customer-support-bot", "action": "process_refund", "resource": resource, "user_id": "42",
                           "context": {"amount": 80, "currency": "USD", "reason": "damaged"}})
            .to_string();
        let mut ask = || {
            engine.set_input(regorus::Value::from_json_str(&input).unwrap());
            engine.eval_rule("data.act.allow".into()).unwrap()
        };
        assert_eq!(ask(), regorus::Value::from(true));
        results.insert("regorus_eval".into(), measure(budget, || drop(black_box(ask()))).json());
    }

    // Biscuit: parse + verify the token, then authorize with the request's facts.
    {
        use biscuit_auth::{builder::AuthorizerBuilder, Biscuit, KeyPair};
        let root = KeyPair::new();
        let token = Biscuit::builder()
            .fact(r#"agent("customer-support-bot")"#)
            .unwrap()
            .fact(r#"user("42")"#)
            .unwrap()
            .build(&root)
            .unwrap()
            .to_base64()
            .unwrap();
        let public = root.public();
        let ask = || {
            let b = Biscuit::from_base64(&token, public).unwrap();
            let mut a = AuthorizerBuilder::new()
                .code(
                    r#"operation("process_refund"); owner("42"); amount(80);
                       allow if agent("customer-support-bot"), user($u), owner($u), operation("process_refund"), amount($a), $a <= 500, $a <= 100;"#,
                )
                .unwrap()
                .build(&b)
                .unwrap();
            a.authorize().is_ok()
        };
        assert!(ask());
        results.insert(
            "biscuit_parse_authorize".into(),
            measure(budget, || {
                black_box(ask());
            })
            .json(),
        );
    }

    // casbin: enforce with keyMatch on the resource (no amounts: casbin's model is RBAC/ABAC-lite).
    {
        use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut e = rt.block_on(async {
            let m = DefaultModel::from_str(CASBIN_MODEL).await.unwrap();
            let mut e = Enforcer::new(m, MemoryAdapter::default()).await.unwrap();
            e.add_policy(vec![
                "customer-support-bot".into(),
                "order://customer:42/*".into(),
                "process_refund".into(),
            ])
            .await
            .unwrap();
            e
        });
        assert!(e.enforce(("customer-support-bot", resource, "process_refund")).unwrap());
        let _ = &mut e;
        results.insert(
            "casbin_enforce".into(),
            measure(budget, || {
                drop(black_box(e.enforce((
                    "customer-support-bot",
                    black_box(resource),
                    "process_refund",
                ))))
            })
            .json(),
        );
    }
    Value::Object(results)
}
