//! Client and call arguments as plain values, for hosts that hand objects over as JSON text and
//! numbers as doubles (JavaScript, or any host without typed keyword arguments). Each is read into
//! the core's types here, with the core's rules (whole numbers, positive seconds, key text, the
//! context limits), so such a binding converts and nothing else. Names in messages are the JSON
//! form's (camelCase), the names such a host's caller wrote.

use super::host::{json_object, json_optional, public_key, whole, whole_unsigned};
use super::{positive_seconds, timeout_secs, AuditTarget, ClientOptions, EngineArgs, PolicySource, SourceArgs};
use crate::engine::IssueRequest;
use crate::error::{Error, Result};
use crate::token::DelegationSpec;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The client's options that are plain values (keys, a clock and audit callbacks are host
/// objects: the binding sets those on the [`ClientOptions`] this returns). The JSON form has
/// camelCase names; an unknown name is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientArgs {
    /// A policy file or folder.
    pub policy_file: Option<String>,
    /// Policy text (YAML or JSON), instead of a file.
    pub policy: Option<String>,
    /// The name `policy` text is reported under in diagnostics (default `<inline>`).
    pub policy_name: Option<String>,
    /// Tokens must name this audience, and issued tokens carry it.
    pub audience: Option<String>,
    /// `iss` of issued tokens.
    pub issuer: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, whole seconds.
    pub leeway: Option<f64>,
    /// Longest delegation chain, root included.
    pub max_delegation_depth: Option<f64>,
    /// Further trusted issuer keys (`ed25519:<base64url>` or public JWK text).
    #[serde(default)]
    pub trust: Vec<String>,
    /// JSON Lines audit files (appended to, hash chain continued).
    #[serde(default)]
    pub audit_files: Vec<String>,
    /// A control endpoint base URL (instead of a policy file).
    pub endpoint: Option<String>,
    /// The agent credential for the endpoint.
    pub api_key: Option<String>,
    /// The control plane's public key (text as [`public_key`] reads it).
    pub trust_key: Option<String>,
    /// Where the last verified snapshot is kept across restarts.
    pub cache_dir: Option<String>,
    /// Whole seconds without a confirmed-current snapshot after which validations deny `snapshot_stale`.
    pub max_staleness: Option<f64>,
    /// Re-read `policyFile` when it changes.
    pub watch: Option<bool>,
    /// `"memory"` (default) or a `redis://` URL.
    pub counters: Option<String>,
    /// The issuer credential for minting tokens through the endpoint.
    pub issuer_api_key: Option<String>,
    /// Ship audit records to the endpoint (default: on in endpoint mode).
    pub ship_audit: Option<bool>,
    /// How long [`Client::start`](super::Client::start) waits for the first snapshot (not in the
    /// JSON: a host with an event loop sets zero and waits with `ready` off that loop).
    #[serde(skip)]
    pub initial_sync: Option<Duration>,
}

impl ClientArgs {
    /// The JSON form (`JSON.stringify` of the host's options object).
    pub fn from_json(text: &str) -> Result<ClientArgs> {
        serde_json::from_str(text).map_err(|e| Error::Config(format!("options: {e}")))
    }

    /// The options with every rule applied; what is missing for an endpoint comes from `env`
    /// ([`PolicySource::select`]).
    pub fn into_options(self, env: &dyn Fn(&str) -> Option<String>) -> Result<ClientOptions> {
        let source = SourceArgs {
            policy_file: self.policy_file.map(PathBuf::from),
            policy_text: self.policy,
            policy_name: self.policy_name,
            watch: self.watch == Some(true),
            endpoint: self.endpoint,
            api_key: self.api_key,
            trust_key: self.trust_key.as_deref().map(public_key).transpose()?,
            issuer_api_key: self.issuer_api_key,
            cache_dir: self.cache_dir.map(PathBuf::from),
            initial_sync: self.initial_sync,
        };
        let mut engine = EngineArgs {
            audience: self.audience,
            issuer: self.issuer,
            leeway_secs: self.leeway.map(|l| whole("leeway", l)).transpose()?,
            max_staleness: self
                .max_staleness
                .map(|s| seconds("maxStaleness", s).map(Duration::from_secs))
                .transpose()?,
        }
        .options();
        if let Some(d) = self.max_delegation_depth {
            engine.max_delegation_depth = usize::try_from(whole_unsigned("maxDelegationDepth", d)?)
                .map_err(|_| Error::Config(format!("`maxDelegationDepth` is out of range, got {d}")))?;
        }
        if let Some(s) = self.max_staleness {
            engine.max_staleness_ms = Some(seconds("maxStaleness", s)?.saturating_mul(1000) as i64);
        }
        let mut opts = ClientOptions::new(PolicySource::select(source, env)?);
        opts.engine = engine;
        opts.counters = self.counters;
        opts.ship_audit = self.ship_audit;
        opts.trusted_keys = self.trust.iter().map(|t| public_key(t)).collect::<Result<_>>()?;
        opts.audit = self
            .audit_files
            .into_iter()
            .map(|f| AuditTarget::Jsonl(f.into()))
            .collect();
        Ok(opts)
    }
}

/// A lifetime in seconds from a double: whole and at least 1 ([`positive_seconds`]).
pub fn seconds(name: &str, v: f64) -> Result<u64> {
    positive_seconds(whole(name, v)?, name)
}

/// A timeout in milliseconds from a double: `None` is `default`; negative or not a number is
/// refused; past [`MAX_WAIT`](super::MAX_WAIT) it is cut to it ([`timeout_secs`]).
pub fn timeout_ms(value: Option<f64>, default: Duration) -> Result<Duration> {
    match value {
        Some(ms) if ms.is_nan() || ms < 0.0 => Err(Error::Config(format!(
            "`timeoutMs` must be a non-negative number of milliseconds, got {ms}"
        ))),
        ms => timeout_secs(ms.map(|ms| ms / 1000.0), default),
    }
}

/// A token request; the three objects come as JSON text (absent or `null`: none).
pub fn issue_request(
    agent: String,
    user_context: Option<&str>,
    agent_context: Option<&str>,
    policy: Option<&str>,
    ttl: Option<f64>,
    holder_key: Option<&str>,
) -> Result<IssueRequest> {
    Ok(IssueRequest {
        agent,
        user_context: json_object("userContext", user_context)?,
        agent_context: json_object("agentContext", agent_context)?,
        policy: json_optional("policy", policy)?,
        // 0: the engine's default lifetime.
        ttl_secs: ttl.map(|t| seconds("ttl", t)).transpose()?.unwrap_or(0),
        holder_key: holder_key.map(public_key).transpose()?,
    })
}

/// A delegation to a sub-agent; the objects come as JSON text (absent or `null`: none).
pub fn delegation_spec(
    agent: String,
    agent_context: Option<&str>,
    policy: Option<&str>,
    ttl: f64,
    next_holder_key: Option<&str>,
) -> Result<DelegationSpec> {
    Ok(DelegationSpec {
        agent,
        agent_context: json_object("agentContext", agent_context)?,
        capability: json_optional("policy", policy)?,
        ttl_secs: seconds("ttl", ttl)?,
        holder_key: next_holder_key.map(public_key).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn options_from_json_follow_the_core_rules() {
        let args = ClientArgs::from_json(r#"{"policy":"agent: a","leeway":10,"maxStaleness":60}"#).unwrap();
        let opts = args.into_options(&no_env).unwrap();
        assert_eq!(opts.engine.leeway_secs, 10);
        assert_eq!(opts.engine.max_staleness_ms, Some(60_000));
        assert!(matches!(opts.policy, PolicySource::Text { ref name, .. } if name == "<inline>"));
        let bad = |json: &str| {
            ClientArgs::from_json(json)
                .and_then(|a| a.into_options(&no_env))
                .unwrap_err()
                .to_string()
        };
        assert!(bad(r#"{"polcy":"x"}"#).contains("unknown field `polcy`"));
        assert!(bad(r#"{"policy":"x","leeway":1.5}"#).contains("`leeway` must be a whole number"));
        assert!(bad(r#"{"policy":"x","maxStaleness":0}"#).contains("maxStaleness must be a positive"));
        assert!(bad(r#"{"policy":"x","maxDelegationDepth":-1}"#).contains("must not be negative"));
        assert!(bad(r#"{"policy":"x","trust":["nope"]}"#).contains("ed25519"));
        assert!(bad(r#"{"endpoint":"http://e"}"#).contains("ACT_TRUST_KEY"));
        assert!(bad(r#"{"policy":"x","endpoint":"http://e"}"#).contains("not both"));
    }

    #[test]
    fn timeouts_and_lifetimes() {
        let d = Duration::from_secs(5);
        assert_eq!(timeout_ms(None, d).unwrap(), d);
        assert_eq!(timeout_ms(Some(250.0), d).unwrap(), Duration::from_millis(250));
        assert_eq!(timeout_ms(Some(1e300), d).unwrap(), super::super::MAX_WAIT);
        assert!(timeout_ms(Some(-1.0), d).is_err());
        assert!(timeout_ms(Some(f64::NAN), d).is_err());
        assert!(seconds("ttl", 0.0).is_err());
        assert!(seconds("ttl", 60.5).is_err());
        let req = issue_request("bot".into(), Some(r#"{"user_id":"7"}"#), None, Some("null"), None, None).unwrap();
        assert_eq!((req.ttl_secs, req.policy), (0, None));
        assert!(issue_request("bot".into(), Some("[1]"), None, None, None, None).is_err());
        assert!(delegation_spec("sub".into(), None, None, 0.0, None).is_err());
    }
}
