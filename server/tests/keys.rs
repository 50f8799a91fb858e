//! Managed API keys over real HTTP: made by an admin and shown once, stored hashed, working at
//! once, revocable (a revoked key and its console sessions stop at once), rotatable, and kept
//! across restarts.

mod common;

use common::console::{login, req};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn create(s: &Server, key: &str, body: Value) -> (u16, Value) {
    s.call(Some(key), "POST", "/v1/admin/keys", Some(&body.to_string()))
}

#[test]
fn a_managed_key_works_at_once_is_listed_without_its_secret_and_is_revoked_and_rotated() {
    let dir = TempDir::new("keys");
    let (agent_id, agent_key, rotated_key) = {
        let s = Server::start(Some(&dir.0), Duration::from_secs(60));
        for k in [AGENT, ISSUER, APPROVER] {
            let (status, b) = create(&s, k, json!({"role": "agent", "identity": "x"}));
            assert_eq!((status, b["error"].as_str()), (403, Some("forbidden_role")), "{b}");
        }
        let (status, b) = create(&s, ADMIN, json!({"role": "issuer", "identity": "minter"}));
        assert_eq!(
            (status, b["error"].as_str()),
            (400, Some("bad_request")),
            "issuers name agents: {b}"
        );
        let (status, b) = create(&s, ADMIN, json!({"role": "wizard", "identity": "x"}));
        assert_eq!(status, 400, "{b}");

        let (status, made) = create(&s, ADMIN, json!({"role": "agent", "identity": "billing-host"}));
        assert_eq!(status, 201, "{made}");
        let key = made["key"].as_str().unwrap().to_string();
        let id = made["id"].as_str().unwrap().to_string();
        assert!(key.starts_with("act_agent_") && key.len() > 40, "{key}");
        assert_eq!(
            (made["created_by"].as_str(), made["role"].as_str()),
            (Some("root"), Some("agent"))
        );
        assert_eq!(s.call(Some(&key), "GET", "/v1/snapshot", None).0, 200, "works at once");
        assert_eq!(
            s.call(Some(&key), "POST", "/v1/revocations", Some("{}")).0,
            403,
            "with its role only"
        );

        let (status, list) = s.call(Some(ADMIN), "GET", "/v1/admin/keys", None);
        assert_eq!(status, 200);
        assert_eq!(list["keys"][0]["id"], id.as_str());
        assert!(!list.to_string().contains(&key), "the key is shown once, never listed");
        assert!(list["bootstrap"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["identity"] == "root"));

        // A managed admin key can manage keys; a managed approver logs in to the console, and
        // revoking its key ends the session at once.
        let (_, admin2) = create(&s, ADMIN, json!({"role": "admin", "identity": "ops"}));
        let admin2_key = admin2["key"].as_str().unwrap().to_string();
        let (status, approver) = create(&s, &admin2_key, json!({"role": "approver", "identity": "carol"}));
        assert_eq!(status, 201, "{approver}");
        let (cookie, _) = login(&s, approver["key"].as_str().unwrap());
        let path = format!("/v1/admin/keys/{}/revoke", approver["id"].as_str().unwrap());
        let (status, b) = s.call(Some(ADMIN), "POST", &path, None);
        assert_eq!((status, b["revoked_by"].as_str()), (200, Some("root")), "{b}");
        let page = req(&s, "GET", "/console/approvals", &cookie, &[], None);
        assert_eq!((page.status, page.header("location")), (303, Some("/console/login")));
        assert_eq!(
            s.call(Some(approver["key"].as_str().unwrap()), "GET", "/v1/approvals", None)
                .0,
            401
        );
        let (status, b) = s.call(Some(ADMIN), "POST", &path, None);
        assert_eq!((status, b["error"].as_str()), (409, Some("key_revoked")));
        let (status, b) = s.call(Some(ADMIN), "POST", "/v1/admin/keys/key_nope/revoke", None);
        assert_eq!((status, b["error"].as_str()), (404, Some("key_not_found")));

        let (status, r) = s.call(Some(ADMIN), "POST", &format!("/v1/admin/keys/{id}/rotate"), None);
        assert_eq!(status, 201, "{r}");
        assert_eq!(
            (r["rotated_from"].as_str(), r["identity"].as_str()),
            (Some(id.as_str()), Some("billing-host"))
        );
        let new_key = r["key"].as_str().unwrap().to_string();
        assert_eq!(
            s.call(Some(&key), "GET", "/v1/snapshot", None).0,
            401,
            "the old key stops"
        );
        assert_eq!(s.call(Some(&new_key), "GET", "/v1/snapshot", None).0, 200);
        let (status, _) = s.call(Some(ADMIN), "POST", &format!("/v1/admin/keys/{id}/rotate"), None);
        assert_eq!(status, 409, "a revoked key cannot be rotated");
        (id, key, new_key)
    };
    let s = Server::start(Some(&dir.0), Duration::from_secs(60));
    assert_eq!(
        s.call(Some(&agent_key), "GET", "/v1/snapshot", None).0,
        401,
        "revoked stays revoked"
    );
    assert_eq!(
        s.call(Some(&rotated_key), "GET", "/v1/snapshot", None).0,
        200,
        "kept across a restart"
    );
    let (_, list) = s.call(Some(ADMIN), "GET", "/v1/admin/keys", None);
    let old = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == agent_id.as_str())
        .unwrap()
        .clone();
    assert!(old["revoked_at_ms"].as_i64().is_some(), "{old}");
}
