//! Contract C2 over real HTTP: SDK instances report status (agent) and appear, with the version
//! they serve, in the admin's fleet view; snapshot poll headers count too.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const INSTANCE: &str = "aW5zdGFuY2UtaWQtMDAwMQ";

#[test]
fn instances_report_status_and_the_admin_sees_which_version_each_serves() {
    let s = Server::start(None, Duration::from_secs(60));
    let body = json!({
        "instance_id": INSTANCE, "snapshot_version": 7, "last_sync_ms": 1000, "last_error": null,
        "audit": {"queued": 1, "spilled": 0, "dropped": 0, "delivered": 5, "last_error": null},
        "open_breakers": [{"agent": "a", "subject": "42"}], "a_future_member": true
    });
    let url = format!("{}/v1/status", s.url);
    let ua = ("user-agent", "act-sdk/python/0.1.0");
    let (status, b) = http_with(
        "POST",
        &url,
        Some(AGENT),
        &[ua, ("x-act-instance", INSTANCE)],
        Some(&body.to_string()),
    );
    assert_eq!(status, 204, "{b}");
    // A snapshot poll from another instance, carrying the C2 headers.
    let other = "b3RoZXItaW5zdGFuY2UtMDI";
    let snap = format!("{}/v1/snapshot", s.url);
    let headers = [
        ("x-act-instance", other),
        ("x-act-snapshot-version", "0"),
        ("user-agent", "act-sdk/node/0.1.0"),
    ];
    assert_eq!(http_with("GET", &snap, Some(AGENT), &headers, None).0, 200);

    let (status, view) = s.call(Some(ADMIN), "GET", "/v1/fleet", None);
    assert_eq!(status, 200);
    let find = |id: &str| -> Value {
        view["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance_id"] == id)
            .cloned()
            .unwrap()
    };
    let me = find(INSTANCE);
    assert_eq!(
        (me["snapshot_version"].as_u64(), me["identity"].as_str()),
        (Some(7), Some("bot-host"))
    );
    assert_eq!(
        (me["user_agent"].as_str(), me["audit"]["delivered"].as_u64()),
        (Some("act-sdk/python/0.1.0"), Some(5))
    );
    assert_eq!(find(other)["user_agent"], "act-sdk/node/0.1.0");
    assert_eq!(view["versions"], json!({"0": 1, "7": 1}));

    // Roles and bad input.
    assert_eq!(
        s.call(Some(AGENT), "GET", "/v1/fleet", None).1["error"],
        "forbidden_role"
    );
    assert_eq!(
        s.call(Some(ADMIN), "POST", "/v1/status", Some(&body.to_string())).1["error"],
        "forbidden_role"
    );
    let bad = json!({"instance_id": "short"}).to_string();
    assert_eq!(s.call(Some(AGENT), "POST", "/v1/status", Some(&bad)).0, 400);
    let (status, _) = http_with(
        "POST",
        &url,
        Some(AGENT),
        &[("x-act-instance", other)],
        Some(&body.to_string()),
    );
    assert_eq!(status, 400, "header and body name different instances");
}
