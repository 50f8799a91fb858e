//! The one status shape every language shows (Python and Kotlin snake_case, Node camelCase),
//! and the body of `POST /v1/status` (protocol: fleet status).

use serde::Serialize;

/// What a host (and the fleet view) sees about one client.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClientStatus {
    /// This SDK instance (random, base64url; sent as `X-Act-Instance`).
    pub instance_id: String,
    /// `embedded` (policy file or text, or none) or `endpoint`.
    pub mode: String,
    /// Where snapshots come from: `file:<path>`, `inline:<name>`, the snapshot URL, or `none`.
    pub source: String,
    /// The policy file or folder in embedded mode.
    pub policy_file: Option<String>,
    /// The version serving (0: none yet; validations deny `no_snapshot`).
    pub snapshot_version: u64,
    /// The agents the serving snapshot has a policy for.
    pub agents: Vec<String>,
    /// Age of the serving snapshot (now minus its issue time), ms.
    pub age_ms: Option<i64>,
    /// When the source last succeeded, ms since the epoch.
    pub last_sync_ms: Option<i64>,
    /// The source's last error; cleared by its next success.
    pub last_error: Option<String>,
    /// Whether a background source (watch or endpoint) runs.
    pub sync_running: bool,
    /// Snapshots swapped in by the source.
    pub updates: u64,
    /// True once `close` ran.
    pub closed: bool,
    /// Records the audit pipeline wrote to every sink.
    pub audit_written: u64,
    /// Sink failures (a record a sink refused).
    pub audit_errors: u64,
    /// The last sink failure.
    pub audit_last_error: Option<String>,
    /// HTTP audit shipping (endpoint mode), `None` when off.
    pub audit: Option<AuditShipping>,
    /// Circuit breakers open now.
    pub open_breakers: Vec<OpenBreaker>,
}

/// Counters of the HTTP audit shipper.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditShipping {
    /// Records waiting in memory.
    pub queued: u64,
    /// Records written to the spill file, ever.
    pub spilled: u64,
    /// Records lost (neither queued nor spilled), each reported.
    pub dropped: u64,
    /// Records the endpoint acknowledged.
    pub delivered: u64,
    /// Bytes of spill file not yet delivered.
    pub spill_pending_bytes: u64,
    /// The last delivery error, cleared by the next delivery.
    pub last_error: Option<String>,
}

/// One open breaker: the agent, and the user (`None`: agent-wide).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpenBreaker {
    /// The agent.
    pub agent: String,
    /// The user it acts for, or `None` for a breaker over the whole agent.
    pub subject: Option<String>,
}

/// The top-level field names of [`ClientStatus`], in order: each binding's test asserts its
/// status has exactly these (case convention aside).
pub const STATUS_FIELDS: &[&str] = &[
    "instance_id",
    "mode",
    "source",
    "policy_file",
    "snapshot_version",
    "agents",
    "age_ms",
    "last_sync_ms",
    "last_error",
    "sync_running",
    "updates",
    "closed",
    "audit_written",
    "audit_errors",
    "audit_last_error",
    "audit",
    "open_breakers",
];

impl ClientStatus {
    /// The status as JSON (snake_case), what `POST /v1/status` sends.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// What the fleet view cares about, to post only on change (age and counters of delivered
    /// records move all the time).
    pub(crate) fn report_key(&self) -> ReportKey<'_> {
        ReportKey {
            version: self.snapshot_version,
            last_error: self.last_error.as_deref(),
            running: self.sync_running,
            breakers: &self.open_breakers,
            audit: self.audit.as_ref().map(|a| (a.dropped, a.last_error.as_deref())),
        }
    }
}

/// The part of a status whose change is worth a report.
#[derive(PartialEq)]
pub(crate) struct ReportKey<'a> {
    version: u64,
    last_error: Option<&'a str>,
    running: bool,
    breakers: &'a [OpenBreaker],
    audit: Option<(u64, Option<&'a str>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_list_is_the_struct() {
        let v = ClientStatus::default().to_json();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = STATUS_FIELDS.to_vec();
        let mut got = keys.clone();
        expected.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, expected);
    }
}
