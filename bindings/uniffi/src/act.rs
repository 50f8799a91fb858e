//! `Act`: a wrapper over `act_core::client::Client`, as Kotlin and Swift see it.
//!
//! Every method converts its arguments, calls the core and converts the result; option rules,
//! defaults, sources, the status shape, the reload lock and the control-plane calls live in core.

use crate::clock::ManualClock;
use crate::decision::{ApprovalRequest, Decision};
use crate::error::{shield, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::value::{to_json_object, to_map, Context};
use act_core::client::{positive_seconds, AuditTarget, Client, ClientOptions, EndpointOptions, Mode, PolicySource};
use act_core::token::DelegationSpec;
use act_core::{EngineOptions, IssueRequest, Request};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The ACT engine: loads a policy file (or a folder of them), or keeps signed snapshots current
/// from a control endpoint; issues tokens and decides every agent action. Thread-safe; share one.
#[derive(uniffi::Object)]
pub struct Act {
    client: Client,
}

/// HTTP audit shipping counters (endpoint mode).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AuditShipping {
    pub queued: u64,
    pub spilled: u64,
    pub dropped: u64,
    pub delivered: u64,
    pub spill_pending_bytes: u64,
    pub last_error: Option<String>,
}

/// An open circuit breaker: the agent, and the user (`None`: agent-wide).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OpenBreaker {
    pub agent: String,
    pub subject: Option<String>,
}

/// What `Act.status` reports: the core's `ClientStatus`, field for field (see `status_fields`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ActStatus {
    pub instance_id: String,
    /// `embedded` or `endpoint`.
    pub mode: String,
    /// Where snapshots come from: `file:<path>` or the control endpoint's snapshot URL.
    pub source: String,
    pub policy_file: Option<String>,
    /// The version serving (0: none yet).
    pub snapshot_version: u64,
    pub agents: Vec<String>,
    pub age_ms: Option<i64>,
    pub last_sync_ms: Option<i64>,
    /// The source's last error (cleared by the next success).
    pub last_error: Option<String>,
    pub sync_running: bool,
    pub updates: u64,
    pub closed: bool,
    pub audit_written: u64,
    pub audit_errors: u64,
    pub audit_last_error: Option<String>,
    pub audit: Option<AuditShipping>,
    pub open_breakers: Vec<OpenBreaker>,
}

impl From<act_core::client::ClientStatus> for ActStatus {
    fn from(s: act_core::client::ClientStatus) -> Self {
        ActStatus {
            instance_id: s.instance_id,
            mode: s.mode,
            source: s.source,
            policy_file: s.policy_file,
            snapshot_version: s.snapshot_version,
            agents: s.agents,
            age_ms: s.age_ms,
            last_sync_ms: s.last_sync_ms,
            last_error: s.last_error,
            sync_running: s.sync_running,
            updates: s.updates,
            closed: s.closed,
            audit_written: s.audit_written,
            audit_errors: s.audit_errors,
            audit_last_error: s.audit_last_error,
            audit: s.audit.map(|a| AuditShipping {
                queued: a.queued,
                spilled: a.spilled,
                dropped: a.dropped,
                delivered: a.delivered,
                spill_pending_bytes: a.spill_pending_bytes,
                last_error: a.last_error,
            }),
            open_breakers: s
                .open_breakers
                .into_iter()
                .map(|b| OpenBreaker {
                    agent: b.agent,
                    subject: b.subject,
                })
                .collect(),
        }
    }
}

/// A pending approval request at the control endpoint.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ApprovalHandle {
    pub id: String,
    /// `pending`, `granted`, `denied` or `expired`.
    pub status: String,
    pub expires_at_ms: Option<i64>,
}

/// The verified claims of a token.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TokenInfo {
    pub jti: String,
    pub agent: String,
    pub subject: String,
    /// The earliest `exp` of the chain, seconds since the epoch.
    pub expires_at: i64,
    /// Every link's claims as JSON text, root first.
    pub chain_json: Vec<String>,
}

/// The core's status field names (snake_case; Kotlin shows them camelCase).
#[uniffi::export]
pub fn status_fields() -> Vec<String> {
    act_core::client::STATUS_FIELDS.iter().map(|s| s.to_string()).collect()
}

/// Options shared by both constructors.
struct Common {
    signing_key: Option<Arc<SigningKey>>,
    trusted_keys: Vec<Arc<VerifyingKey>>,
    audit_files: Vec<String>,
    audit_key: Option<Arc<SigningKey>>,
    counters: Option<String>,
}

fn start(
    policy: PolicySource,
    engine: EngineOptions,
    common: Common,
    clock: Option<Arc<ManualClock>>,
) -> Result<Arc<Act>> {
    let mut opts = ClientOptions::new(policy);
    opts.engine = engine;
    opts.signing_key = common.signing_key.map(|k| k.inner.clone());
    opts.trusted_keys = common.trusted_keys.iter().map(|k| k.inner.clone()).collect();
    opts.audit = common
        .audit_files
        .into_iter()
        .map(|f| AuditTarget::Jsonl(PathBuf::from(f)))
        .collect();
    opts.audit_key = common.audit_key.map(|k| k.inner.clone());
    opts.counters = common.counters;
    opts.clock = clock.map(|c| c.inner.clone() as Arc<dyn act_core::Clock>);
    opts.sdk_language = "kotlin".into();
    opts.sdk_version = env!("CARGO_PKG_VERSION").into();
    Ok(Arc::new(Act {
        client: Client::start(opts)?,
    }))
}

impl Act {
    fn decide(
        &self,
        mode: Mode,
        token: &str,
        action: &str,
        resource: &str,
        context: &Context,
        approval: Option<&str>,
    ) -> Result<Decision> {
        shield(|| {
            let context = to_map(context, "context")?;
            let req = Request {
                token,
                action,
                resource,
                context: &context,
                approval,
            };
            Ok(self.client.decide(mode, &req)?.into())
        })
    }
}

#[uniffi::export]
impl Act {
    /// Loads `policy_file` (a YAML/JSON file or a folder of them) and starts the engine.
    ///
    /// `signing_key` issues tokens and approvals (its public key is trusted);
    /// `audience` is required in tokens' `aud` when set; `leeway` is the clock
    /// skew tolerated on `exp`/`nbf` in seconds (default 30); `trusted_keys` are
    /// further issuer keys; `audit_files` are JSON Lines files that receive every
    /// audit record; `audit_key` (opt-in) signs checkpoints of those logs, so a log cut short
    /// or replaced is detected on reopening; `clock` replaces the system clock (tests); `counters` is where
    /// rate limits and approval marks live: `"memory"` (default, this process) or a
    /// `redis://` URL shared by every process that names it (see `act_core::limits::open_store`).
    #[uniffi::constructor(default(
        signing_key = None,
        audience = None,
        leeway = None,
        issuer = None,
        trusted_keys = [],
        audit_files = [],
        clock = None,
        counters = None,
        audit_key = None
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn new(
        policy_file: String,
        signing_key: Option<Arc<SigningKey>>,
        audience: Option<String>,
        leeway: Option<i64>,
        issuer: Option<String>,
        trusted_keys: Vec<Arc<VerifyingKey>>,
        audit_files: Vec<String>,
        clock: Option<Arc<ManualClock>>,
        counters: Option<String>,
        audit_key: Option<Arc<SigningKey>>,
    ) -> Result<Arc<Self>> {
        shield(|| {
            let mut options = EngineOptions::default();
            if let Some(aud) = audience {
                options.audience = Some(aud);
            }
            if let Some(iss) = issuer {
                options.issuer = iss;
            }
            if let Some(l) = leeway {
                options.leeway_secs = l;
            }
            let policy = PolicySource::File {
                path: PathBuf::from(&policy_file),
                watch: false,
            };
            let common = Common {
                signing_key,
                trusted_keys,
                audit_files,
                audit_key,
                counters,
            };
            start(policy, options, common, clock)
        })
    }

    /// Keeps signed snapshots current from a control endpoint (`GET /v1/snapshot`), pinned to
    /// `trust_key`. Returns at once; until the first snapshot arrives (see `wait_for_snapshot`)
    /// validations deny `no_snapshot`. `cache_dir` keeps the last verified snapshot across restarts.
    /// `counters` is as in the constructor (`"memory"` or a `redis://` URL). Audit records ship
    /// to the endpoint; `issuer_api_key` lets `issue_token` mint through `POST /v1/tokens`;
    /// `audit_key` is as in the constructor.
    #[uniffi::constructor(default(
        api_key = None,
        cache_dir = None,
        signing_key = None,
        trusted_keys = [],
        audit_files = [],
        counters = None,
        issuer_api_key = None,
        audit_key = None
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the named arguments of the Kotlin/Swift constructor, one parameter each"
    )]
    pub fn connect(
        endpoint: String,
        trust_key: Arc<VerifyingKey>,
        api_key: Option<String>,
        cache_dir: Option<String>,
        signing_key: Option<Arc<SigningKey>>,
        trusted_keys: Vec<Arc<VerifyingKey>>,
        audit_files: Vec<String>,
        counters: Option<String>,
        issuer_api_key: Option<String>,
        audit_key: Option<Arc<SigningKey>>,
    ) -> Result<Arc<Self>> {
        shield(|| {
            let mut e = EndpointOptions::new(endpoint, trust_key.inner.clone());
            e.api_key = api_key;
            e.cache_dir = cache_dir.map(PathBuf::from);
            e.issuer_api_key = issuer_api_key;
            e.initial_sync = Duration::ZERO; // returns at once; see `wait_for_snapshot`
            let common = Common {
                signing_key,
                trusted_keys,
                audit_files,
                audit_key,
                counters,
            };
            start(PolicySource::Endpoint(e), EngineOptions::default(), common, None)
        })
    }

    /// Blocks until a snapshot serves or `timeout_ms` passes; returns the serving version (0: none yet).
    pub fn wait_for_snapshot(&self, timeout_ms: u64) -> Result<u64> {
        shield(|| {
            self.client.ready(Duration::from_millis(timeout_ms));
            Ok(self.client.engine()?.snapshot().version)
        })
    }

    /// Decides and enforces: consumes rate limits and approvals, writes the audit record.
    /// A bad, expired or foreign token is a deny with its own reason, never an error.
    #[uniffi::method(default(approval = None, context))]
    pub fn validate(
        &self,
        token: String,
        action: String,
        resource: String,
        context: Context,
        approval: Option<String>,
    ) -> Result<Decision> {
        self.decide(
            Mode::Validate,
            &token,
            &action,
            &resource,
            &context,
            approval.as_deref(),
        )
    }

    /// Decides without side effects: no counters, approvals, audit or circuit breaker.
    #[uniffi::method(default(approval = None, context))]
    pub fn check(
        &self,
        token: String,
        action: String,
        resource: String,
        context: Context,
        approval: Option<String>,
    ) -> Result<Decision> {
        self.decide(Mode::Check, &token, &action, &resource, &context, approval.as_deref())
    }

    /// Like `check`, with `Decision.trace` listing every rule and constraint looked at.
    #[uniffi::method(default(approval = None, context))]
    pub fn explain(
        &self,
        token: String,
        action: String,
        resource: String,
        context: Context,
        approval: Option<String>,
    ) -> Result<Decision> {
        self.decide(Mode::Explain, &token, &action, &resource, &context, approval.as_deref())
    }

    /// Issues a token for `agent` acting for the user in `user_context` (which needs `user_id`).
    /// `policy` is an inline capability (default: the agent's policy from the file);
    /// `ttl` is the lifetime in seconds (default 3600); `holder_key` may delegate.
    #[uniffi::method(default(policy = None, ttl = None, holder_key = None, agent_context))]
    pub fn issue_token(
        &self,
        agent: String,
        user_context: Context,
        agent_context: Context,
        policy: Option<Context>,
        ttl: Option<i64>,
        holder_key: Option<Arc<VerifyingKey>>,
    ) -> Result<String> {
        shield(|| {
            let req = IssueRequest {
                agent,
                user_context: to_map(&user_context, "user_context")?,
                agent_context: to_map(&agent_context, "agent_context")?,
                policy: policy.as_ref().map(|p| to_json_object(p, "policy")).transpose()?,
                // 0 asks the core for its default lifetime.
                ttl_secs: ttl.map(|t| positive_seconds(t, "ttl")).transpose()?.unwrap_or(0),
                holder_key: holder_key.map(|k| k.inner.clone()),
            };
            // In endpoint mode without a signing key: minted by `POST /v1/tokens`.
            Ok(self.client.issue_token(&req)?)
        })
    }

    /// Asks the control endpoint's approvers about `request` (`Decision.approval_request` of an
    /// approval-required decision); returns the handle to wait on.
    pub fn request_approval(&self, request: ApprovalRequest) -> Result<ApprovalHandle> {
        shield(|| {
            let h = self.client.submit_approval_request(&request.to_core()?)?;
            Ok(ApprovalHandle {
                id: h.id,
                status: h.status,
                expires_at_ms: h.expires_at_ms,
            })
        })
    }

    /// Long-polls the endpoint up to `timeout_ms` for a decision on approval `id`: the approval
    /// (pass it as `approval`), or `ActError.ApprovalDenied` (the approver's `reason`) or
    /// `ActError.ApprovalTimeout`.
    pub fn wait_for_approval(&self, id: String, timeout_ms: u64) -> Result<String> {
        shield(|| Ok(self.client.wait_for_approval(&id, Duration::from_millis(timeout_ms))?))
    }

    /// Verifies `token` against the keys trusted now and returns its claims.
    pub fn inspect_token(&self, token: String) -> Result<TokenInfo> {
        shield(|| {
            let info = self.client.inspect_token(&token)?;
            Ok(TokenInfo {
                jti: info.jti().into(),
                agent: info.agent().into(),
                subject: info.subject().into(),
                expires_at: info.expires_at(),
                chain_json: info.chain.iter().map(|c| c.to_json().to_string()).collect(),
            })
        })
    }

    /// Waits up to `timeout_ms` until shipped audit records were acknowledged (true at once when
    /// nothing ships).
    pub fn wait_audit_delivered(&self, timeout_ms: u64) -> bool {
        self.client.wait_audit_delivered(Duration::from_millis(timeout_ms))
    }

    /// This SDK instance's id (`X-Act-Instance`).
    pub fn instance_id(&self) -> String {
        self.client.instance_id().to_string()
    }

    /// Appends a narrower child token for sub-agent `agent`, signed by `holder_key`
    /// (the private key whose public half the parent names as its holder key).
    #[uniffi::method(default(policy = None, next_holder_key = None, agent_context))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the host-language API, one parameter each"
    )]
    pub fn delegate(
        &self,
        token: String,
        holder_key: Arc<SigningKey>,
        agent: String,
        ttl: i64,
        policy: Option<Context>,
        agent_context: Context,
        next_holder_key: Option<Arc<VerifyingKey>>,
    ) -> Result<String> {
        shield(|| {
            let engine = self.client.engine()?;
            let spec = DelegationSpec {
                agent,
                agent_context: to_map(&agent_context, "agent_context")?,
                capability: policy.as_ref().map(|p| to_json_object(p, "policy")).transpose()?,
                ttl_secs: positive_seconds(ttl, "ttl")?,
                holder_key: next_holder_key.map(|k| k.inner.clone()),
            };
            Ok(engine.delegate(&token, &holder_key.inner, &spec)?)
        })
    }

    /// Seals `token` (whose last link names `holder_key`'s public key as its holder) so the
    /// sub-agent holding that key can present it, valid `ttl` seconds at most.
    pub fn seal(&self, token: String, holder_key: Arc<SigningKey>, ttl: i64) -> Result<String> {
        shield(|| {
            Ok(self
                .client
                .engine()?
                .seal(&token, &holder_key.inner, positive_seconds(ttl, "ttl")?)?)
        })
    }

    /// Signs an approval of the request with id `request_id` (`Decision.approval_request.id`)
    /// by `approver`, valid `ttl` seconds. Pass the result as `approval` with the same request.
    pub fn approve(&self, request_id: String, approver: String, ttl: i64) -> Result<String> {
        shield(|| {
            let engine = self.client.engine()?;
            Ok(engine.approve(&request_id, &approver, positive_seconds(ttl, "ttl")?)?)
        })
    }

    /// Re-reads the policy file and swaps the new policies in; returns the new snapshot version.
    /// One at a time (the core serialises reloads); on any error the current policies keep serving.
    pub fn reload(&self) -> Result<u64> {
        shield(|| Ok(self.client.reload()?))
    }

    /// Waits until every audit record so far reached its sinks.
    pub fn flush_audit(&self) -> Result<()> {
        shield(|| {
            self.client.engine()?.flush_audit();
            Ok(())
        })
    }

    /// Flushes the audit trail and stops the engine; later calls fail with
    /// `ActError.Config`. Idempotent. (Kotlin: `AutoCloseable.close()` does this.)
    pub fn close(&self) -> Result<()> {
        shield(|| {
            self.client.close();
            Ok(())
        })
    }

    /// The core's status: the same fields as every other language.
    pub fn status(&self) -> ActStatus {
        self.client.status().into()
    }

    /// The public key tokens are issued with, when a signing key was given.
    pub fn public_key(&self) -> Option<Arc<VerifyingKey>> {
        let engine = self.client.engine().ok()?;
        engine.signing_key().map(|k| {
            Arc::new(VerifyingKey {
                inner: k.verifying_key().clone(),
            })
        })
    }
}
