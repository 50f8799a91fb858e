//! What every binding does with its constructor's arguments besides converting them, done once
//! here: the engine tunables a host may pass ([`EngineArgs`]) and whether `validate` may wait on the
//! host ([`ClientOptions::validate_may_wait`]). A host callback as an audit sink is
//! [`crate::audit::CallbackSink`].

use super::{AuditTarget, ClientOptions};
use crate::engine::EngineOptions;
use std::time::Duration;

/// The engine arguments of every binding's constructor; `None` keeps the core's default
/// ([`EngineOptions::default`]), and [`EngineOptions::check`] judges the rest when the client starts.
#[derive(Clone, Debug, Default)]
pub struct EngineArgs {
    /// `audience=`: tokens must name it, and issued tokens carry it.
    pub audience: Option<String>,
    /// `issuer=`: the `iss` of issued tokens.
    pub issuer: Option<String>,
    /// `leeway=`, seconds of clock skew tolerated.
    pub leeway_secs: Option<i64>,
    /// `max_staleness=`: the oldest snapshot that still decides.
    pub max_staleness: Option<Duration>,
}

impl EngineArgs {
    /// The engine options, defaults filled in.
    pub fn options(self) -> EngineOptions {
        let d = EngineOptions::default();
        EngineOptions {
            issuer: self.issuer.unwrap_or(d.issuer),
            audience: self.audience.or(d.audience),
            leeway_secs: self.leeway_secs.unwrap_or(d.leeway_secs),
            max_staleness_ms: self
                .max_staleness
                .map(|s| i64::try_from(s.as_millis()).unwrap_or(i64::MAX))
                .or(d.max_staleness_ms),
            ..d
        }
    }
}

impl ClientOptions {
    /// True when `validate` may wait on something outside the core: a host audit callback (when
    /// the audit queue is full it waits for the callback, which may need the host's interpreter
    /// lock) or a remote counter store. A host with such a lock releases it around `validate`
    /// then; otherwise `validate` never waits and keeps it (cheaper).
    pub fn validate_may_wait(&self) -> bool {
        self.audit.iter().any(|t| matches!(t, AuditTarget::Sink(_)))
            || self.counters.as_deref().is_some_and(|c| c.trim() != "memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditRecord, AuditSink, CallbackSink};
    use crate::client::PolicySource;

    #[test]
    fn engine_args_keep_the_defaults_they_do_not_name() {
        let d = EngineOptions::default();
        let o = EngineArgs::default().options();
        assert_eq!(
            (o.issuer, o.audience, o.leeway_secs, o.max_staleness_ms),
            (d.issuer, d.audience, d.leeway_secs, None)
        );
        let o = EngineArgs {
            audience: Some("shop".into()),
            leeway_secs: Some(5),
            max_staleness: Some(Duration::from_secs(60)),
            ..Default::default()
        }
        .options();
        assert_eq!(
            (o.audience.as_deref(), o.leeway_secs, o.max_staleness_ms),
            (Some("shop"), 5, Some(60_000))
        );
    }

    #[test]
    fn validate_waits_on_callbacks_and_remote_counters_only() {
        let mut opts = ClientOptions::new(PolicySource::None);
        assert!(!opts.validate_may_wait());
        opts.counters = Some(" memory ".into());
        assert!(!opts.validate_may_wait());
        opts.audit.push(AuditTarget::Jsonl("a.jsonl".into()));
        assert!(!opts.validate_may_wait());
        opts.counters = Some("redis://127.0.0.1:6379".into());
        assert!(opts.validate_may_wait());
        opts.counters = None;
        opts.audit
            .push(AuditTarget::Sink(Box::new(CallbackSink(|_: &AuditRecord| Ok(())))));
        assert!(opts.validate_may_wait());
    }

    #[test]
    fn a_failing_or_panicking_callback_is_the_sinks_error() {
        let record: AuditRecord = serde_json::from_value(serde_json::json!({
            "id": "a1", "time": "2026-01-01T00:00:00.000Z", "outcome": "allow", "reason": "allowed",
            "message": "", "agent": null, "subject": null, "jti": null, "action": "read", "resource": "doc://1",
            "context": {}, "rule": null, "constraint": null, "snapshot_version": 1, "latency_us": 0,
            "prev_hash": "", "hash": ""
        }))
        .unwrap();
        let mut failing = CallbackSink(|_: &AuditRecord| Err("the audit callback raised ValueError".to_string()));
        let e = failing.write(&record, "").unwrap_err();
        assert!(e.to_string().contains("raised ValueError"), "{e}");
        let mut panicking = CallbackSink(|_: &AuditRecord| -> Result<(), String> { panic!("boom") });
        let e = panicking.write(&record, "").unwrap_err();
        assert!(e.to_string().contains("the audit callback panicked"), "{e}");
    }
}
