//! The console's policies page over real HTTP: versions with who/why and test results, a diff,
//! and rollback (admin only, CSRF-checked, reason and confirmation required; nothing changes
//! otherwise).

mod common;

use common::console::{enc, login, req};
use common::*;
use serde_json::json;
use std::time::Duration;

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

fn current(s: &Server) -> u64 {
    s.call(Some(ADMIN), "GET", "/v1/policies", None).1["current"]
        .as_u64()
        .unwrap()
}

#[test]
fn the_policies_page_lists_versions_diffs_and_rolls_back_with_a_confirmed_reason() {
    let s = Server::start(None, Duration::from_secs(60));
    let strict = SUPPORT.replace("maxAmount: 500", "maxAmount: 200");
    let body = json!({"files": {"support.yaml": strict, "support_test.yaml": SUITE}, "reason": "tighten <refunds>"});
    let (status, b) = s.call(Some(ADMIN), "POST", "/v1/policies", Some(&body.to_string()));
    assert_eq!(status, 201, "{b}");

    let (approver, _) = login(&s, APPROVER);
    assert_eq!(req(&s, "GET", "/console/policies", &approver, &[], None).status, 403);

    let (cookie, csrf) = login(&s, ADMIN);
    let page = req(&s, "GET", "/console/policies", &cookie, &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"versions\""), "{}", page.body);
    assert!(
        page.body.contains("tighten &#60;refunds&#62;") && !page.body.contains("<refunds>"),
        "escaped reason: {}",
        page.body
    );
    assert!(
        page.body.contains("own order") && page.body.contains("1 passed, 0 failed"),
        "test results shown"
    );
    assert!(page.body.contains("/console/policies/diff?from=1&amp;to=2"));
    assert!(
        !page.body.contains("rollback-form"),
        "no rollback of the serving version"
    );

    let diff = req(&s, "GET", "/console/policies/diff?from=1&to=2", &cookie, &[], None);
    assert_eq!(diff.status, 200);
    assert!(
        diff.body.contains("class=\"diff-del\"") && diff.body.contains("class=\"diff-add\""),
        "{}",
        diff.body
    );
    assert_eq!(
        req(&s, "GET", "/console/policies/diff?from=1&to=9", &cookie, &[], None).status,
        404
    );

    let v1 = req(&s, "GET", "/console/policies?v=1", &cookie, &[], None);
    assert!(v1.body.contains("rollback-form"), "{}", v1.body);
    let path = "/console/policies/1/rollback";
    let forged = "csrf=wrong&reason=x&confirm=yes";
    assert_eq!(req(&s, "POST", path, &cookie, &[], Some(forged)).status, 403);
    let unconfirmed = format!("csrf={}&reason=x", enc(&csrf));
    let a = req(&s, "POST", path, &cookie, &[], Some(&unconfirmed));
    assert_eq!(a.status, 400);
    assert!(a.body.contains("confirmation"), "{}", a.body);
    let no_reason = format!("csrf={}&confirm=yes", enc(&csrf));
    assert_eq!(req(&s, "POST", path, &cookie, &[], Some(&no_reason)).status, 400);
    assert_eq!(current(&s), 2, "nothing published");

    let ok = format!("csrf={}&reason={}&confirm=yes", enc(&csrf), enc("finance not ready"));
    let a = req(&s, "POST", path, &cookie, &[], Some(&ok));
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(current(&s), 3);
    let (_, v3) = s.call(Some(ADMIN), "GET", "/v1/policies/3", None);
    assert_eq!(
        (v3["published_by"].as_str(), v3["rolled_back_from"].as_u64()),
        (Some("root"), Some(1))
    );
    // Rolling back to what serves already is refused with the server's reason.
    let a = req(&s, "POST", path, &cookie, &[], Some(&ok));
    assert_eq!(a.status, 400);
    assert!(a.body.contains("policy_unchanged"), "{}", a.body);
}
