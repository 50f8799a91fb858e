//! Fleet status (protocol: SDK instance identity): which SDK instances run which snapshot version, from the headers of
//! snapshot polls (`X-Act-Instance`, `X-Act-Snapshot-Version`, `User-Agent`) and from
//! `POST /v1/status`. In memory; bounded.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Most instances remembered; beyond it the one seen longest ago is forgotten.
pub const MAX_INSTANCES: usize = 10_000;

/// Longest `last_error` / `User-Agent` kept, in characters.
const MAX_TEXT: usize = 1000;

/// The body of `POST /v1/status`; unknown members are ignored (forward compatible).
#[derive(Clone, Debug, Deserialize)]
pub struct StatusBody {
    /// The SDK instance (random, base64url).
    pub instance_id: String,
    /// The snapshot version it serves (0 = none).
    #[serde(default)]
    pub snapshot_version: u64,
    /// Its last successful sync, ms.
    #[serde(default)]
    pub last_sync_ms: Option<i64>,
    /// Its last sync error.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Its audit shipping counters, as sent.
    #[serde(default)]
    pub audit: Option<Value>,
    /// Its open circuit breakers, as sent.
    #[serde(default)]
    pub open_breakers: Option<Value>,
}

/// What the server knows about one instance.
#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    /// Its id.
    pub instance_id: String,
    /// The identity of the agent credential it uses.
    pub identity: String,
    /// `act-sdk/<lang>/<version>`, when sent.
    pub user_agent: Option<String>,
    /// The version it serves.
    pub snapshot_version: u64,
    /// Its last successful sync, ms (status reports only).
    pub last_sync_ms: Option<i64>,
    /// Its last sync error (status reports only).
    pub last_error: Option<String>,
    /// Its audit counters (status reports only).
    pub audit: Option<Value>,
    /// Its open breakers (status reports only).
    pub open_breakers: Option<Value>,
    /// When the server last heard from it, ms.
    pub last_seen_ms: i64,
}

/// Whether `id` looks like an instance id: 16 to 128 base64url characters.
pub fn valid_instance_id(id: &str) -> bool {
    (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

/// Every instance, by id.
#[derive(Default)]
pub struct Fleet {
    by_id: HashMap<String, Instance>,
}

impl Fleet {
    fn entry(&mut self, id: &str, identity: &str, now_ms: i64) -> &mut Instance {
        if !self.by_id.contains_key(id) && self.by_id.len() >= MAX_INSTANCES {
            let oldest = self
                .by_id
                .values()
                .min_by_key(|i| i.last_seen_ms)
                .map(|i| i.instance_id.clone());
            if let Some(o) = oldest {
                self.by_id.remove(&o);
            }
        }
        let e = self.by_id.entry(id.to_string()).or_insert_with(|| Instance {
            instance_id: id.to_string(),
            identity: identity.to_string(),
            user_agent: None,
            snapshot_version: 0,
            last_sync_ms: None,
            last_error: None,
            audit: None,
            open_breakers: None,
            last_seen_ms: now_ms,
        });
        e.identity = identity.to_string();
        e.last_seen_ms = now_ms;
        e
    }

    /// A snapshot poll carrying `X-Act-Instance`.
    pub fn polled(&mut self, id: &str, identity: &str, user_agent: Option<&str>, version: Option<u64>, now_ms: i64) {
        let e = self.entry(id, identity, now_ms);
        if let Some(ua) = user_agent {
            e.user_agent = Some(clip(ua));
        }
        if let Some(v) = version {
            e.snapshot_version = v;
        }
    }

    /// A status report; returns the breakers it reports open that this instance's last report did not.
    pub fn reported(&mut self, s: StatusBody, identity: &str, user_agent: Option<&str>, now_ms: i64) -> Vec<Value> {
        let e = self.entry(&s.instance_id, identity, now_ms);
        let before = e
            .open_breakers
            .as_ref()
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let opened: Vec<Value> = s
            .open_breakers
            .as_ref()
            .and_then(Value::as_array)
            .map(|now| now.iter().filter(|b| !before.contains(b)).take(100).cloned().collect())
            .unwrap_or_default();
        if let Some(ua) = user_agent {
            e.user_agent = Some(clip(ua));
        }
        e.snapshot_version = s.snapshot_version;
        e.last_sync_ms = s.last_sync_ms;
        e.last_error = s.last_error.as_deref().map(clip);
        e.audit = s.audit;
        e.open_breakers = s.open_breakers;
        opened
    }

    /// Every instance (most recently seen first) and how many serve each version.
    pub fn view(&self) -> Value {
        let mut instances: Vec<&Instance> = self.by_id.values().collect();
        instances.sort_by_key(|i| std::cmp::Reverse(i.last_seen_ms));
        let mut versions: BTreeMap<String, usize> = BTreeMap::new();
        for i in &instances {
            *versions.entry(i.snapshot_version.to_string()).or_default() += 1;
        }
        serde_json::json!({"instances": instances, "versions": versions})
    }
}
