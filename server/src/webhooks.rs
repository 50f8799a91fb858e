//! Webhooks: the server tells other systems when something needs a human or went wrong —
//! `approval.requested`, `approval.decided`, `kill_switch.changed`, `breaker.opened` (an SDK's
//! fleet status reports a circuit breaker it did not report before), `audit.chain_gap` (an ingested
//! batch had records flagged as a gap or fork).
//!
//! Configured by `<state-dir>/webhooks.json` (read at start):
//! `{"webhooks": [{"url", "secret", "events"?: [...], "format"?: "act"|"slack"}]}`.
//! Every delivery is a `POST` of JSON signed with HMAC-SHA256 over `"<timestamp>.<body>"` with the
//! hook's secret (`X-Act-Signature: v1=<hex>`, `X-Act-Timestamp: <unix seconds>`, so a receiver can
//! refuse replays), retried with exponential backoff (0.5 s doubling, 6 attempts) on a failure or a
//! non-2xx answer. Events wait in a bounded queue ([`QUEUE`]); when it is full an event is dropped
//! and counted, never blocking the request that caused it. `format: "slack"` sends
//! `{"text": ...}`, what Slack's incoming webhooks take.

use ring::hmac;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

/// Most events waiting for delivery.
pub const QUEUE: usize = 1000;
/// Attempts per delivery.
pub const ATTEMPTS: u32 = 6;
/// Most deliveries in flight at once.
const IN_FLIGHT: usize = 16;
/// The event names.
pub const EVENTS: [&str; 8] = [
    "approval.requested",
    "approval.decided",
    "kill_switch.changed",
    "breaker.opened",
    "audit.chain_gap",
    ALERT_EVENTS[0],
    ALERT_EVENTS[1],
    ALERT_EVENTS[2],
];
/// Alert audit records (an `event` field; see `act_core::alerts`) that SDKs ship are forwarded
/// under their own event name, the whole record as `data`.
pub const ALERT_EVENTS: [&str; 3] = ["breaker_opened", "kill_switch_changed", "budget_threshold"];

/// One configured hook.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Where to `POST`.
    pub url: String,
    /// The HMAC key.
    pub secret: String,
    /// The events it wants (none = all).
    #[serde(default)]
    pub events: Vec<String>,
    /// `act` (default) or `slack`.
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    webhooks: Vec<Hook>,
}

/// Reads and checks a webhooks file.
pub fn parse(text: &str) -> Result<Vec<Hook>, String> {
    let f: File = serde_json::from_str(text).map_err(|e| format!("invalid webhooks file: {e}"))?;
    for (i, h) in f.webhooks.iter().enumerate() {
        if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
            return Err(format!("webhook {i}: `url` must be http:// or https://"));
        }
        if h.secret.len() < 16 {
            return Err(format!("webhook {i}: `secret` must be at least 16 characters"));
        }
        if let Some(e) = h.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(format!(
                "webhook {i}: unknown event `{e}` (known: {})",
                EVENTS.join(", ")
            ));
        }
        if !matches!(h.format.as_deref(), None | Some("act") | Some("slack")) {
            return Err(format!("webhook {i}: `format` is `act` or `slack`"));
        }
    }
    Ok(f.webhooks)
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: what `X-Act-Signature` carries.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", crate::auth::hex(tag.as_ref()))
}

/// A one-line summary for chat.
fn summary(event: &str, data: &Value) -> String {
    let s = |k: &str| data[k].as_str().unwrap_or("?").to_string();
    match event {
        "approval.requested" => format!(
            "Approval requested: {} wants {} on {} (request {})",
            s("agent"),
            s("action"),
            s("resource"),
            s("id")
        ),
        "approval.decided" => format!(
            "Approval {} {} by {}: {}",
            s("id"),
            s("status"),
            s("decided_by"),
            s("reason")
        ),
        "kill_switch.changed" => format!(
            "Kill switch {} by {}: {} ({})",
            s("action"),
            s("by"),
            data["target"],
            s("reason")
        ),
        "breaker.opened" => format!(
            "Circuit breaker opened on SDK instance {} ({}): {}",
            s("instance_id"),
            s("identity"),
            data["breaker"]
        ),
        "audit.chain_gap" => format!(
            "Audit chain gap: {} record(s) flagged from instance {} ({})",
            data["gaps"],
            s("instance"),
            s("credential")
        ),
        alert if ALERT_EVENTS.contains(&alert) => format!(
            "Alert {alert} from agent {} (user {}): {}",
            s("agent"),
            s("subject"),
            s("message")
        ),
        other => other.to_string(),
    }
}

struct Event {
    id: String,
    event: &'static str,
    at_ms: i64,
    data: Value,
}

/// The delivery queue (no hooks = every emit is a no-op).
#[derive(Default)]
pub struct Webhooks {
    tx: Option<mpsc::Sender<Event>>,
    /// Events dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Deliveries given up after every attempt failed.
    pub failed: Arc<AtomicU64>,
}

impl Webhooks {
    /// Starts delivering to `hooks` (on the current tokio runtime).
    pub fn start(hooks: Vec<Hook>) -> Result<Webhooks, String> {
        if hooks.is_empty() {
            return Ok(Webhooks::default());
        }
        let client = crate::client::http_client(Duration::from_secs(10))?;
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        let failed = Arc::new(AtomicU64::new(0));
        let gave_up = failed.clone();
        let hooks = Arc::new(hooks);
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            while let Some(e) = rx.recv().await {
                let e = Arc::new(e);
                for hook in hooks
                    .iter()
                    .filter(|h| h.events.is_empty() || h.events.iter().any(|x| x == e.event))
                {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let (client, hook, e, gave_up) = (client.clone(), hook.clone(), e.clone(), gave_up.clone());
                    tokio::spawn(async move {
                        if !deliver(&client, &hook, &e).await {
                            gave_up.fetch_add(1, Ordering::Relaxed);
                            eprintln!("webhook {}: gave up on {} after {ATTEMPTS} attempts", hook.url, e.event);
                        }
                        drop(permit);
                    });
                }
            }
        });
        Ok(Webhooks {
            tx: Some(tx),
            dropped: AtomicU64::new(0),
            failed,
        })
    }

    /// Forwards the alert records of an accepted audit batch (records whose `event` is one of
    /// [`ALERT_EVENTS`]); decisions and unknown events are not forwarded.
    pub fn forward_alerts(&self, records: &[Value]) {
        for r in records {
            let event = r.get("event").and_then(Value::as_str);
            if let Some(name) = ALERT_EVENTS.iter().find(|n| Some(**n) == event) {
                self.emit(name, r.clone());
            }
        }
    }

    /// Queues `event` with `data`; never waits (a full queue drops it and counts it).
    pub fn emit(&self, event: &'static str, data: Value) {
        let Some(tx) = &self.tx else {
            return;
        };
        let e = Event {
            id: act_core::token::new_jti().unwrap_or_default(),
            event,
            at_ms: crate::state::now_ms(),
            data,
        };
        if tx.try_send(e).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            eprintln!("webhooks: queue full, {event} dropped");
        }
    }
}

async fn deliver(client: &reqwest::Client, hook: &Hook, e: &Event) -> bool {
    let body = if hook.format.as_deref() == Some("slack") {
        json!({"text": summary(e.event, &e.data)})
    } else {
        json!({"id": e.id, "event": e.event, "at_ms": e.at_ms, "data": e.data})
    }
    .to_string();
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=ATTEMPTS {
        let ts = crate::state::now_ms() / 1000;
        let sent = client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-act-event", e.event)
            .header("x-act-delivery", &e.id)
            .header("x-act-timestamp", ts.to_string())
            .header("x-act-signature", signature(&hook.secret, ts, &body))
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => eprintln!(
                "webhook {}: {} answered {} (attempt {attempt})",
                hook.url,
                e.event,
                r.status()
            ),
            Err(err) => eprintln!("webhook {}: {} failed: {err} (attempt {attempt})", hook.url, e.event),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_refused_and_the_signature_is_hmac_sha256() {
        assert!(parse(r#"{"webhooks":[{"url":"ftp://x","secret":"0123456789abcdef"}]}"#).is_err());
        assert!(parse(r#"{"webhooks":[{"url":"http://x","secret":"short"}]}"#).is_err());
        assert!(parse(r#"{"webhooks":[{"url":"http://x","secret":"0123456789abcdef","events":["nope"]}]}"#).is_err());
        assert_eq!(
            parse(r#"{"webhooks":[{"url":"http://x","secret":"0123456789abcdef","format":"slack"}]}"#)
                .unwrap()
                .len(),
            1
        );
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let tag = hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(
            crate::auth::hex(tag.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(signature("s", 1, "b").starts_with("v1="));
    }

    #[test]
    fn alert_records_are_forwarded_under_their_event_name_and_decisions_are_not() {
        let (tx, mut rx) = mpsc::channel::<Event>(8);
        let hooks = Webhooks {
            tx: Some(tx),
            ..Webhooks::default()
        };
        let alert = serde_json::json!({"event": "breaker_opened", "agent": "bot", "subject": "42",
            "message": "circuit breaker of agent `bot` opened"});
        let decision = serde_json::json!({"reason": "allowed", "agent": "bot"});
        let unknown = serde_json::json!({"event": "made_up", "agent": "bot"});
        hooks.forward_alerts(&[decision, alert.clone(), unknown]);
        let e = rx.try_recv().unwrap();
        assert_eq!((e.event, &e.data), ("breaker_opened", &alert));
        assert!(rx.try_recv().is_err(), "only the alert record");
        assert!(summary(e.event, &e.data).contains("Alert breaker_opened from agent bot (user 42)"));
        // Hooks may subscribe to alert events by name.
        assert!(parse(
            r#"{"webhooks":[{"url":"http://x","secret":"0123456789abcdef","events":["budget_threshold"]}]}"#
        )
        .is_ok());
    }
}
