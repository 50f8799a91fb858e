//! The console's rules over real HTTP on loopback: who can log in, what the session cookie is,
//! that every state-changing form needs the session's CSRF token, that roles are enforced by the
//! server on every action, and that decisions follow the API's rules (self-approval, decided once).

mod common;

use common::console::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn pending_request(s: &Server, agent_key: &str, amount: i64) -> String {
    let r = approval_request("42", &format!("jti-{amount}"), amount);
    let (status, b) = s.call(Some(agent_key), "POST", "/v1/approvals", Some(&r.to_string()));
    assert_eq!(status, 201, "{b}");
    b["id"].as_str().unwrap().to_string()
}

fn status_of(s: &Server, id: &str) -> Value {
    s.call(Some(ADMIN), "GET", &format!("/v1/approvals/{id}"), None).1
}

#[test]
fn only_approver_and_admin_keys_log_in_and_the_cookie_is_strict() {
    let s = Server::start(None, Duration::from_secs(60));
    for (key, status, says) in [
        (AGENT, 403, "role agent"),
        (ISSUER, 403, "role issuer"),
        ("no-such-key", 401, "Unknown key"),
    ] {
        let a = login_attempt(&s, key, &[]);
        assert_eq!(a.status, status, "{key}: {}", a.body);
        assert!(a.body.contains(says), "{key}: {}", a.body);
        assert!(a.cookie("act_console").is_none(), "{key} got a session");
    }
    let a = login_attempt(&s, APPROVER, &[]);
    assert_eq!((a.status, a.header("location")), (303, Some("/console/approvals")));
    let set = a
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("act_console="))
        .unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    // Behind a TLS-terminating proxy (and under `serve_tls`, see tests/tls.rs) the cookie is Secure.
    let a = login_attempt(&s, ADMIN, &[("x-forwarded-proto", "https")]);
    let set = a
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("act_console="))
        .unwrap();
    assert!(set.ends_with("; Secure"), "{set}");
    // The page is served with a CSP that allows no inline script.
    let (cookie, _) = login(&s, APPROVER);
    let page = req(&s, "GET", "/console/approvals", &cookie, &[], None);
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

#[test]
fn a_login_post_without_the_login_forms_token_is_refused() {
    let s = Server::start(None, Duration::from_secs(60));
    // A third-party page posting the attacker's key: no login cookie, no token.
    let a = req(&s, "POST", "/console/login", "", &[], Some(&format!("key={APPROVER}")));
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("CSRF"), "{}", a.body);
    assert!(a.cookie("act_console").is_none());
    // A token that is not the one bound to the cookie.
    let a = req(
        &s,
        "POST",
        "/console/login",
        "act_console_login=abc",
        &[],
        Some(&format!("csrf=xyz&key={APPROVER}")),
    );
    assert_eq!(a.status, 403);
}

#[test]
fn pages_need_a_session_and_logout_ends_it() {
    let s = Server::start(None, Duration::from_secs(60));
    for path in [
        "/console/approvals",
        "/console/switches",
        "/console/audit",
        "/console/fleet",
        "/console/policies",
    ] {
        let a = req(&s, "GET", path, "", &[], None);
        assert_eq!(
            (a.status, a.header("location")),
            (303, Some("/console/login")),
            "{path}"
        );
        let a = req(&s, "GET", path, "act_console=made-up", &[], None);
        assert_eq!(a.status, 303, "{path} with an unknown session");
    }
    assert_eq!(req(&s, "GET", "/console/approvals/pending", "", &[], None).status, 401);
    let missing = req(&s, "GET", "/console/nothing/here", "", &[], None);
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("No such page"));
    let (cookie, csrf) = login(&s, APPROVER);
    // Logout is a state change: without the token it is refused and the session lives on.
    assert_eq!(req(&s, "POST", "/console/logout", &cookie, &[], Some("")).status, 403);
    assert_eq!(req(&s, "GET", "/console/approvals", &cookie, &[], None).status, 200);
    let out = req(
        &s,
        "POST",
        "/console/logout",
        &cookie,
        &[],
        Some(&format!("csrf={}", enc(&csrf))),
    );
    assert_eq!(out.status, 303);
    assert!(out
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("act_console=;") && c.contains("Max-Age=0")));
    // The old cookie no longer opens anything.
    assert_eq!(req(&s, "GET", "/console/approvals", &cookie, &[], None).status, 303);
}

#[test]
fn a_decision_needs_the_csrf_token_and_follows_the_apis_rules() {
    let s = Server::start(None, Duration::from_secs(60));
    let id = pending_request(&s, AGENT, 300);
    let (alice, alice_csrf) = login(&s, APPROVER);
    let page = req(&s, "GET", "/console/approvals", &alice, &[], None);
    assert!(
        page.body.contains(&id) && page.body.contains(">300<"),
        "the amount is shown"
    );
    let path = format!("/console/approvals/{id}/decide");

    // The forged form: right session cookie (as a browser would attach it), no or wrong token.
    for form in [
        "decision=grant&reason=ok".to_string(),
        "decision=grant&reason=ok&csrf=guess".into(),
    ] {
        let a = req(&s, "POST", &path, &alice, &[], Some(&form));
        assert_eq!(a.status, 403, "{}", a.body);
        assert!(a.body.contains("CSRF"), "{}", a.body);
        assert_eq!(status_of(&s, &id)["status"], "pending", "nothing changed");
    }
    // No reason: the API's rule, shown on the page.
    let a = req(
        &s,
        "POST",
        &path,
        &alice,
        &[],
        Some(&format!("decision=grant&csrf={}", enc(&alice_csrf))),
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("`reason` is required"), "{}", a.body);
    // An admin can see the inbox but not decide (separation of duties, enforced in `decide_as`).
    let (root, root_csrf) = login(&s, ADMIN);
    let page = req(&s, "GET", "/console/approvals", &root, &[], None);
    assert!(
        page.body.contains(&id) && !page.body.contains(&path),
        "no decide form for admins"
    );
    let a = req(
        &s,
        "POST",
        &path,
        &root,
        &[],
        Some(&format!("decision=grant&reason=x&csrf={}", enc(&root_csrf))),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("forbidden_role"), "{}", a.body);
    // The approver grants.
    let form = format!(
        "decision=grant&reason={}&ttl=120&csrf={}",
        enc("refund checked"),
        enc(&alice_csrf)
    );
    let a = req(&s, "POST", &path, &alice, &[], Some(&form));
    assert_eq!(a.status, 303, "{}", a.body);
    let e = status_of(&s, &id);
    assert_eq!(
        (e["status"].as_str(), e["decided_by"].as_str()),
        (Some("granted"), Some("alice"))
    );
    assert_eq!(e["reason"], "refund checked");
    assert!(e["approval"].as_str().is_some_and(|t| !t.is_empty()));
    // Another approver sees it decided and cannot decide it again.
    let (bob, bob_csrf) = login(&s, APPROVER_BOB);
    let page = req(&s, "GET", "/console/approvals?status=granted", &bob, &[], None);
    assert!(page.body.contains(&format!("data-id=\"{id}\"")) && page.body.contains("refund checked"));
    let fragment = req(&s, "GET", "/console/approvals/pending", &bob, &[], None);
    assert!(!fragment.body.contains(&id), "no longer pending");
    let a = req(
        &s,
        "POST",
        &path,
        &bob,
        &[],
        Some(&format!("decision=deny&reason=no&csrf={}", enc(&bob_csrf))),
    );
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(a.body.contains("already_decided"), "{}", a.body);
}

#[test]
fn an_approver_cannot_decide_a_request_made_under_their_identity() {
    let s = Server::start(None, Duration::from_secs(60));
    let id = pending_request(&s, AGENT_ALICE, 250);
    let (alice, csrf) = login(&s, APPROVER);
    let page = req(&s, "GET", "/console/approvals", &alice, &[], None);
    assert!(page.body.contains("another approver must decide it"), "{}", page.body);
    assert!(
        !page
            .body
            .contains(&format!("action=\"/console/approvals/{id}/decide\"")),
        "no buttons for your own"
    );
    // The server refuses even when the form is sent anyway.
    let form = format!("decision=grant&reason=mine&csrf={}", enc(&csrf));
    let a = req(
        &s,
        "POST",
        &format!("/console/approvals/{id}/decide"),
        &alice,
        &[],
        Some(&form),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("self_approval"), "{}", a.body);
    assert_eq!(status_of(&s, &id)["status"], "pending");
}

#[test]
fn a_condition_the_agent_misstates_is_flagged_against_the_policy() {
    let s = Server::start(None, Duration::from_secs(60));
    // The id does not bind `condition`: an agent could make a big refund look routine.
    let mut r = approval_request("42", "jti-c", 400);
    r["condition"] = json!("amount > 100000");
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&r.to_string())).0,
        201
    );
    let mut r = approval_request("42", "jti-d", 410);
    r["constraint"] = json!("made-up/rule");
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&r.to_string())).0,
        201
    );
    let (alice, _) = login(&s, APPROVER);
    let page = req(&s, "GET", "/console/approvals", &alice, &[], None);
    assert!(
        page.body.contains("the policy serving now says `amount &#62; 100`")
            || page.body.contains("the policy serving now says `amount &gt; 100`"),
        "{}",
        page.body
    );
    assert!(page.body.contains("no such rule in the policy files"));
    assert!(!page.body.contains("matches the policy serving now"));
}

#[test]
fn argument_values_are_escaped() {
    let s = Server::start(None, Duration::from_secs(60));
    let ctx = json!({"amount": 200, "note": "<script>alert(1)</script>"});
    let hash = act_core::approval::context_hash(ctx.as_object().unwrap());
    let resource = "order://customer:42/1";
    let rid = act_core::approval::request_id("jti-x", "customer-support-bot", "42", "process_refund", resource, &hash);
    let r = json!({"id": rid, "agent": "customer-support-bot", "subject": "42", "action": "process_refund",
        "resource": resource, "constraint": "c", "condition": "amount > 100", "token_id": "jti-x",
        "context_hash": hash, "context": ctx});
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&r.to_string())).0,
        201
    );
    let (alice, _) = login(&s, APPROVER);
    let page = req(&s, "GET", "/console/approvals", &alice, &[], None);
    assert!(!page.body.contains("<script>alert"), "raw markup reached the page");
    assert!(page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"));
}

#[test]
fn kill_switches_and_revocations_are_admin_only_confirmed_and_recorded() {
    let s = Server::start(None, Duration::from_secs(60));
    let v0 = s.app.lock().version;
    let (alice, alice_csrf) = login(&s, APPROVER);
    assert_eq!(req(&s, "GET", "/console/switches", &alice, &[], None).status, 403);
    let on = |csrf: &str, confirm: bool| {
        format!(
            "on=true&scope=agent&name=customer-support-bot&reason={}&csrf={}{}",
            enc("runaway refunds"),
            enc(csrf),
            if confirm { "&confirm=yes" } else { "" }
        )
    };
    // An approver's valid session and token still do not give an admin's power.
    let a = req(
        &s,
        "POST",
        "/console/switches/kill",
        &alice,
        &[],
        Some(&on(&alice_csrf, true)),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let (root, csrf) = login(&s, ADMIN);
    let forged = req(&s, "POST", "/console/switches/kill", &root, &[], Some(&on("", true)));
    assert_eq!(forged.status, 403);
    let unconfirmed = req(
        &s,
        "POST",
        "/console/switches/kill",
        &root,
        &[],
        Some(&on(&csrf, false)),
    );
    assert_eq!(unconfirmed.status, 400);
    assert!(unconfirmed.body.contains("confirmation"), "{}", unconfirmed.body);
    assert!(
        s.app.lock().revocations.kill_switches.is_none(),
        "nothing changed so far"
    );
    assert_eq!(s.app.lock().version, v0);

    let a = req(&s, "POST", "/console/switches/kill", &root, &[], Some(&on(&csrf, true)));
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/console/switches")),
        "{}",
        a.body
    );
    let (_, state) = s.call(Some(ADMIN), "GET", "/v1/kill-switches", None);
    assert_eq!(state["kill_switches"]["agents"], json!(["customer-support-bot"]));
    let last = state["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["by"].as_str(), last["reason"].as_str()),
        (Some("root"), Some("runaway refunds"))
    );
    assert!(s.app.lock().version > v0, "published as a new version");
    let page = req(&s, "GET", "/console/switches", &root, &[], None);
    assert!(page.body.contains("runaway refunds") && page.body.contains("Lift"));

    let revoke = format!(
        "kind=grant&grant_agent=customer-support-bot&grant_action=process_refund&reason={}&confirm=yes&csrf={}",
        enc("refunds paused"),
        enc(&csrf)
    );
    assert_eq!(
        req(&s, "POST", "/console/switches/revoke", &root, &[], Some(&revoke)).status,
        303
    );
    let lift = format!(
        "on=false&scope=agent&name=customer-support-bot&reason=fixed&confirm=yes&csrf={}",
        enc(&csrf)
    );
    assert_eq!(
        req(&s, "POST", "/console/switches/kill", &root, &[], Some(&lift)).status,
        303
    );
    let (_, state) = s.call(Some(ADMIN), "GET", "/v1/revocations", None);
    assert_eq!(state["grants"][0]["action"], "process_refund");
    assert_eq!(state["kill_switches"]["agents"], json!([]));
    assert_eq!(state["history"].as_array().unwrap().len(), 3);
}

#[test]
fn the_card_shows_the_delegation_chain_and_every_approval_rule_that_fired() {
    let s = Server::start(None, Duration::from_secs(60));
    let mut r = approval_request("42", "jti-chain", 420);
    r["chain"] = json!(["customer-support-bot", "refund-helper"]);
    r["conditions"] = json!([
        {"constraint": r["constraint"], "condition": r["condition"]},
        {"constraint": "customer-support-bot/process_refund/requireApproval", "condition": "risk > 5"}
    ]);
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&r.to_string())).0,
        201
    );
    let plain = approval_request("42", "jti-plain", 430);
    assert_eq!(
        s.call(Some(AGENT), "POST", "/v1/approvals", Some(&plain.to_string())).0,
        201
    );
    let (alice, _) = login(&s, APPROVER);
    let page = req(&s, "GET", "/console/approvals", &alice, &[], None);
    assert!(
        page.body.contains("customer-support-bot → refund-helper"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Also asked by"), "{}", page.body);
    assert!(
        page.body.contains("risk &#62; 5") || page.body.contains("risk &gt; 5"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("the agent&#39;s SDK sent no delegation chain")
            || page.body.contains("the agent's SDK sent no delegation chain")
            || page.body.contains("the agent&#x27;s SDK sent no delegation chain"),
        "{}",
        page.body
    );
}
