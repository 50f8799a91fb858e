//! What a host passes to [`Client::start`](super::Client::start), checked once here for every
//! language: bindings convert their arguments into [`ClientOptions`] and nothing else.

use crate::audit::AuditSink;
use crate::clock::Clock;
use crate::engine::EngineOptions;
use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Environment variable read for [`EndpointOptions::endpoint`] when it is not given.
pub const ENV_ENDPOINT: &str = "ACT_ENDPOINT";
/// Environment variable read for [`EndpointOptions::trust_key`] when it is not given.
pub const ENV_TRUST_KEY: &str = "ACT_TRUST_KEY";
/// Environment variable read for [`EndpointOptions::api_key`] when it is not given.
pub const ENV_API_KEY: &str = "ACT_API_KEY";
/// Environment variable read for [`EndpointOptions::issuer_api_key`] when it is not given.
pub const ENV_ISSUER_API_KEY: &str = "ACT_ISSUER_API_KEY";

/// Default wait for the first snapshot in endpoint mode (then validations deny `no_snapshot`).
pub const DEFAULT_INITIAL_SYNC: Duration = Duration::from_secs(5);
/// Default (and shortest) pause between two `POST /v1/status` of one instance.
pub const DEFAULT_STATUS_INTERVAL: Duration = Duration::from_secs(10);

/// Where policies come from.
#[derive(Clone, Debug)]
pub enum PolicySource {
    /// No policies: tokens carry their own inline capability (`policy=` when issuing). Only
    /// tokens signed by the local signing key or a `trusted_keys` entry are accepted, so whoever
    /// holds such a key decides what tokens grant.
    None,
    /// A YAML/JSON policy file or a folder of them, trusted as-is; `watch` re-reads it on change.
    File {
        /// The file or folder.
        path: PathBuf,
        /// Poll it and swap in changes that compile.
        watch: bool,
    },
    /// Policy text given directly (e.g. from a secret store); `name` appears in diagnostics.
    Text {
        /// Shown as the file name in diagnostics.
        name: String,
        /// The YAML or JSON document.
        text: String,
    },
    /// Signed snapshots from a control endpoint.
    Endpoint(EndpointOptions),
}

/// What a host passed that decides where policies come from (each binding's keyword arguments).
#[derive(Clone, Debug, Default)]
pub struct SourceArgs {
    /// `policy_file=`: a file or folder.
    pub policy_file: Option<PathBuf>,
    /// `policy_text=`: the policy document itself.
    pub policy_text: Option<String>,
    /// The name `policy_text` is reported under in diagnostics (default `<inline>`).
    pub policy_name: Option<String>,
    /// `watch=`: re-read the policy file on change.
    pub watch: bool,
    /// `endpoint=`.
    pub endpoint: Option<String>,
    /// `api_key=`.
    pub api_key: Option<String>,
    /// `trust_key=`.
    pub trust_key: Option<VerifyingKey>,
    /// `issuer_api_key=`.
    pub issuer_api_key: Option<String>,
    /// `cache_dir=`.
    pub cache_dir: Option<PathBuf>,
    /// `initial_sync=`, when given.
    pub initial_sync: Option<Duration>,
}

impl PolicySource {
    /// The one rule for every language: a policy file or text runs embedded; `endpoint`,
    /// `api_key` or `trust_key` select endpoint mode (what is missing comes from the
    /// environment, see [`EndpointOptions::resolve`]); nothing selects [`PolicySource::None`].
    pub fn select(args: SourceArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<PolicySource> {
        let endpointish = args.endpoint.is_some() || args.api_key.is_some() || args.trust_key.is_some();
        let local = match (args.policy_file, args.policy_text) {
            (Some(_), Some(_)) => return Err(Error::Config("pass either policy_file or policy_text, not both".into())),
            (Some(path), None) => Some(PolicySource::File {
                path,
                watch: args.watch,
            }),
            (None, Some(text)) => Some(PolicySource::Text {
                name: args.policy_name.unwrap_or_else(|| "<inline>".into()),
                text,
            }),
            (None, None) => None,
        };
        if args.watch && !matches!(local, Some(PolicySource::File { .. })) {
            return Err(Error::Config("watch= re-reads a policy_file; pass one".into()));
        }
        match local {
            Some(_) if endpointish => Err(Error::Config(
                "pass either policy_file or endpoint, not both (policy_file / policy_text run embedded; \
                 endpoint= / api_key= / trust_key= select a control endpoint)"
                    .into(),
            )),
            Some(_) if args.cache_dir.is_some() || args.issuer_api_key.is_some() => Err(Error::Config(
                "cache_dir and issuer_api_key only apply with a control endpoint (endpoint=)".into(),
            )),
            Some(source) => Ok(source),
            None if endpointish => {
                let mut e =
                    EndpointOptions::resolve(args.endpoint, args.api_key, args.trust_key, args.issuer_api_key, env)?;
                e.cache_dir = args.cache_dir;
                if let Some(w) = args.initial_sync {
                    e.initial_sync = w;
                }
                Ok(PolicySource::Endpoint(e))
            }
            None if args.cache_dir.is_some() || args.issuer_api_key.is_some() => Err(Error::Config(
                "cache_dir and issuer_api_key only apply with a control endpoint (endpoint=)".into(),
            )),
            None => Ok(PolicySource::None),
        }
    }
}

/// A control endpoint (`act serve`, `act server`, or a static file server for snapshots only).
#[derive(Clone)]
pub struct EndpointOptions {
    /// Base URL, e.g. `http://127.0.0.1:8787` (env `ACT_ENDPOINT`).
    pub endpoint: String,
    /// The agent credential (env `ACT_API_KEY`): snapshots, audit, status, approval requests.
    pub api_key: Option<String>,
    /// The pinned snapshot key, `ed25519:...` (env `ACT_TRUST_KEY`).
    pub trust_key: VerifyingKey,
    /// The issuer credential for `issue_token` through `POST /v1/tokens` (env `ACT_ISSUER_API_KEY`).
    pub issuer_api_key: Option<String>,
    /// Keeps the last verified snapshot (and the audit spill file) across restarts.
    pub cache_dir: Option<PathBuf>,
    /// How long `start` waits for the first snapshot (default 5 s; zero: do not wait).
    pub initial_sync: Duration,
    /// Shortest pause between two status reports (default 10 s).
    pub status_interval: Duration,
}

impl EndpointOptions {
    /// Options with the defaults above.
    pub fn new(endpoint: impl Into<String>, trust_key: VerifyingKey) -> Self {
        EndpointOptions {
            endpoint: endpoint.into(),
            api_key: None,
            trust_key,
            issuer_api_key: None,
            cache_dir: None,
            initial_sync: DEFAULT_INITIAL_SYNC,
            status_interval: DEFAULT_STATUS_INTERVAL,
        }
    }

    /// Builds endpoint options from what the host passed, filling what it did not from the
    /// environment (`env` is `std::env::var` in production). Without an endpoint or trust key
    /// the error says exactly what to set and how to start a development endpoint.
    pub fn resolve(
        endpoint: Option<String>,
        api_key: Option<String>,
        trust_key: Option<VerifyingKey>,
        issuer_api_key: Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let from_env = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let endpoint = endpoint.or_else(|| from_env(ENV_ENDPOINT));
        let trust = match trust_key {
            Some(k) => Some(k),
            None => match from_env(ENV_TRUST_KEY) {
                Some(text) => {
                    Some(VerifyingKey::parse(&text).map_err(|e| Error::Config(format!("{ENV_TRUST_KEY}: {e}")))?)
                }
                None => None,
            },
        };
        let (endpoint, trust) = match (endpoint, trust) {
            (Some(e), Some(t)) => (e, t),
            (e, t) => {
                let mut missing = Vec::new();
                if e.is_none() {
                    missing.push(format!("the endpoint URL (endpoint, or {ENV_ENDPOINT})"));
                }
                if t.is_none() {
                    missing.push(format!("the snapshot key (trust_key / trustKey, or {ENV_TRUST_KEY})"));
                }
                return Err(Error::Config(format!(
                    "endpoint mode needs {}. For development run `act serve --policy policies/`: it prints \
                     `listening on http://ADDR` (set {ENV_ENDPOINT}), `snapshot key: ed25519:...` (set \
                     {ENV_TRUST_KEY}) and `api key: ...` (set {ENV_API_KEY}). Or pass a policy file to run embedded",
                    missing.join(" and ")
                )));
            }
        };
        let mut opts = EndpointOptions::new(endpoint, trust);
        opts.api_key = api_key.or_else(|| from_env(ENV_API_KEY));
        opts.issuer_api_key = issuer_api_key.or_else(|| from_env(ENV_ISSUER_API_KEY));
        Ok(opts)
    }

    pub(crate) fn check(&self) -> Result<()> {
        let e = &self.endpoint;
        if !(e.starts_with("http://") || e.starts_with("https://")) || e.len() > 2048 {
            return Err(Error::Config(format!(
                "endpoint `{}` must be an http:// or https:// URL",
                crate::keys::truncate(e, 80)
            )));
        }
        for (name, key) in [("api_key", &self.api_key), ("issuer_api_key", &self.issuer_api_key)] {
            if let Some(k) = key {
                if k.is_empty() || k.len() > 4096 || k.chars().any(|c| c.is_control() || c == ' ') {
                    return Err(Error::Config(format!(
                        "{name} must be non-empty, without spaces or control characters"
                    )));
                }
            }
        }
        if self.status_interval < Duration::from_millis(100) {
            return Err(Error::Config("status_interval must be at least 100 ms".into()));
        }
        Ok(())
    }
}

impl std::fmt::Debug for EndpointOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials never reach logs.
        f.debug_struct("EndpointOptions")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("trust_key", &self.trust_key.kid())
            .field("issuer_api_key", &self.issuer_api_key.as_ref().map(|_| "<redacted>"))
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

/// Where audit records go, besides what the engine keeps counting.
pub enum AuditTarget {
    /// A JSON Lines file (hash-chained, `act audit verify` checks it).
    Jsonl(PathBuf),
    /// A host sink (a language callback, a logger), built by the binding.
    Sink(Box<dyn AuditSink>),
}

impl std::fmt::Debug for AuditTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditTarget::Jsonl(p) => write!(f, "Jsonl({})", p.display()),
            AuditTarget::Sink(_) => f.write_str("Sink(..)"),
        }
    }
}

/// Everything a client is made of. Build with [`ClientOptions::new`] and set fields.
pub struct ClientOptions {
    /// Where policies come from.
    pub policy: PolicySource,
    /// Issues tokens locally; its public half is trusted.
    pub signing_key: Option<SigningKey>,
    /// More issuer keys whose tokens are accepted.
    pub trusted_keys: Vec<VerifyingKey>,
    /// Engine tunables (audience, leeway, staleness, caches).
    pub engine: EngineOptions,
    /// Audit targets.
    pub audit: Vec<AuditTarget>,
    /// Signs checkpoints of every JSONL audit log (`<log>.checkpoints`), which make a removed tail
    /// or a re-hashed edit detectable (`act audit verify --audit-key`) and make the sink refuse to
    /// continue a log that lost records it had checkpointed. `None` (the default): logs are chained
    /// but not checkpointed. Opt-in, because a checkpoints file binds the log to this key: a process
    /// that generates a fresh key at each start could not reopen its own log.
    pub audit_key: Option<SigningKey>,
    /// Ship audit records to the endpoint's `POST /v1/audit`. `None` (the default): on in
    /// endpoint mode, off otherwise. `Some(true)` without an endpoint is a config error.
    pub ship_audit: Option<bool>,
    /// `"memory"` (default, per process) or a `redis://` URL shared by every process.
    pub counters: Option<String>,
    /// A clock for tests.
    pub clock: Option<Arc<dyn Clock>>,
    /// The host language, for `User-Agent: act-sdk/<lang>/<version>` (default `rust`).
    pub sdk_language: String,
    /// The host SDK's version (default: the core's).
    pub sdk_version: String,
}

impl ClientOptions {
    /// Options for `policy` with every default.
    pub fn new(policy: PolicySource) -> Self {
        ClientOptions {
            policy,
            signing_key: None,
            trusted_keys: Vec::new(),
            engine: EngineOptions::default(),
            audit: Vec::new(),
            audit_key: None,
            ship_audit: None,
            counters: None,
            clock: None,
            sdk_language: "rust".into(),
            sdk_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// `act-sdk/<lang>/<version>`.
    pub fn user_agent(&self) -> String {
        format!("act-sdk/{}/{}", self.sdk_language, self.sdk_version)
    }

    /// Every rule that does not need I/O, so a bad option fails before anything starts.
    pub(crate) fn check(&self) -> Result<()> {
        let endpoint = match &self.policy {
            PolicySource::Endpoint(e) => {
                e.check()?;
                true
            }
            PolicySource::None if self.signing_key.is_none() && self.trusted_keys.is_empty() => {
                return Err(Error::Config(
                    "pass policy_file= (embedded), endpoint= (control endpoint), or at least signing_key= \
                     (tokens then carry their own inline policy)"
                        .into(),
                ))
            }
            _ => false,
        };
        if self.ship_audit == Some(true) && !endpoint {
            return Err(Error::Config(
                "ship_audit needs endpoint= (it posts to <endpoint>/v1/audit)".into(),
            ));
        }
        let lang_ok = |s: &str| {
            !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if !lang_ok(&self.sdk_language) || !lang_ok(&self.sdk_version) {
            return Err(Error::Config(
                "sdk_language and sdk_version must be short [A-Za-z0-9._-] words".into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("policy", &self.policy)
            .field("signing_key", &self.signing_key.as_ref().map(|_| "<redacted>"))
            .field("trusted_keys", &self.trusted_keys.len())
            .field("audit", &self.audit)
            .field("ship_audit", &self.ship_audit)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}
