//! The decision engine: tokens in, decisions out, everything recorded.

pub(crate) mod canonical;
pub(crate) mod eval;
mod issue;
mod issuers;
mod layers;
pub(crate) mod request;
mod shadow;
mod swap;
mod token_cache;
pub(crate) mod vars;

pub use issue::IssueRequest;
pub use request::{empty_context, validate_resource, Request};
pub use token_cache::TokenCacheStats;
pub use vars::{to_cel, RESERVED};

use crate::approval::{self, ApprovalRequest};
use crate::audit::{AuditSink, Auditor, Pending};
use crate::breaker::Breakers;
use crate::clock::{Clock, SystemClock};
use crate::decision::{Decision, Outcome, TraceStep};
use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::limits::{CounterStore, LimitKey, MemoryCounterStore};
use crate::policy::{compile_capability, parse_capability, CompiledPolicy, PolicySet};
use crate::reason::Reason;
use crate::snapshot::Snapshot;
use crate::token::{check_time, verify_chain, VerifiedChain, VerifyOptions};
use arc_swap::ArcSwap;
use eval::{evaluate, trace, Denial};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use vars::Vars;

static ROOT_CONTEXT: LazyLock<cel::Context<'static, 'static>> =
    LazyLock::new(|| cel::Context::with_env(crate::policy::compile::CEL_ENV.clone()));

pub(crate) fn root_context() -> &'static cel::Context<'static, 'static> {
    &ROOT_CONTEXT
}

/// Tunables, with safe defaults.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// `iss` of tokens this engine issues.
    pub issuer: String,
    /// When set, tokens must name it in `aud`, and issued tokens carry it.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, seconds (default 30).
    pub leeway_secs: i64,
    /// Longest delegation chain, root included (default 4).
    pub max_delegation_depth: usize,
    /// Most verified tokens kept in the cache (default 100 000).
    pub token_cache_capacity: usize,
    /// Bytes the verified-token cache may hold, by an estimate of each entry's memory
    /// (default 128 MiB); each entry is charged at least `token_cache_bytes /
    /// token_cache_capacity`, so both bounds hold. Rejected tokens are kept apart, in at most 1 MiB.
    pub token_cache_bytes: u64,
    /// Audit queue length before `validate` waits for the writer (default 65 536).
    pub audit_queue: usize,
    /// Time without a fresh snapshot after which every validation denies `snapshot_stale`
    /// (default: never). Measured from the later of the snapshot's issue time and the last
    /// time a source confirmed it is still current ([`Engine::confirm_fresh`]).
    pub max_staleness_ms: Option<i64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            issuer: "act".into(),
            audience: None,
            leeway_secs: 30,
            max_delegation_depth: 4,
            token_cache_capacity: 100_000,
            token_cache_bytes: 128 * 1024 * 1024,
            audit_queue: 65_536,
            max_staleness_ms: None,
        }
    }
}

impl EngineOptions {
    /// Refuses options that cannot work (called by [`EngineBuilder::build`]).
    pub fn check(&self) -> Result<()> {
        if self.issuer.trim().is_empty() {
            return Err(Error::Config("issuer must not be empty".into()));
        }
        if self.audience.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(Error::Config(
                "audience must not be empty (leave it unset to accept tokens without `aud`)".into(),
            ));
        }
        if !(0..=86_400).contains(&self.leeway_secs) {
            return Err(Error::Config(format!(
                "leeway must be between 0 and 86400 seconds, got {}",
                self.leeway_secs
            )));
        }
        if self.token_cache_bytes < 64 * 1024 {
            return Err(Error::Config("token_cache_bytes must be at least 65536".into()));
        }
        if self.max_delegation_depth == 0 {
            return Err(Error::Config("max_delegation_depth must be at least 1".into()));
        }
        Ok(())
    }
}

/// A token as verified once and reused from the cache.
struct CachedToken {
    keys_epoch: u64,
    /// Estimated bytes held, charged against the cache's byte bound.
    weight: u64,
    result: std::result::Result<Arc<VerifiedChain>, (Reason, String)>,
    /// Compiled inline capabilities, one per link (`None`: the link has none).
    caps: Vec<Option<Arc<CompiledPolicy>>>,
    agent: Option<Arc<str>>,
    root_agent: Option<Arc<str>>,
    /// Every agent of a delegation chain, root first, each once (`None` for a plain token).
    chain_agents: Option<Arc<[Arc<str>]>>,
    /// The root's capability stands in for its agent's policy (its issuer's scope says `grant`).
    root_cap_grants: bool,
    subject: Option<Arc<str>>,
    jti: Option<Arc<str>>,
}

/// How a request is run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Consume limits and approvals, write audit, feed breakers.
    Enforce,
    /// Decide only.
    DryRun,
    /// Decide only, with a trace.
    Explain,
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    options: EngineOptions,
    signing_key: Option<SigningKey>,
    policies: PolicySet,
    extra_keys: Vec<VerifyingKey>,
    counters: Option<Arc<dyn CounterStore>>,
    clock: Arc<dyn Clock>,
    sinks: Vec<Box<dyn AuditSink>>,
    version: u64,
}

impl EngineBuilder {
    /// Engine options.
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }
    /// The key that issues tokens and approvals; its public key is trusted.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }
    /// The policies (from [`crate::policy::load_path`] or [`crate::policy::parse_source`]).
    pub fn policies(mut self, set: PolicySet) -> Self {
        self.policies = set;
        self
    }
    /// Also trust this issuer key.
    pub fn trust(mut self, key: VerifyingKey) -> Self {
        self.extra_keys.push(key);
        self
    }
    /// Where rate-limit counters and approval marks live (default: in memory).
    pub fn counters(mut self, store: Arc<dyn CounterStore>) -> Self {
        self.counters = Some(store);
        self
    }
    /// The clock (default: system time).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Adds an audit sink.
    pub fn audit_sink(mut self, sink: Box<dyn AuditSink>) -> Self {
        self.sinks.push(sink);
        self
    }
    /// The version of the initial snapshot (default 1).
    pub fn version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }
    /// Starts with no snapshot (version 0): every validation denies `no_snapshot`
    /// until a source (see [`crate::sync`]) swaps a real one in. Any policies given are ignored.
    pub fn without_snapshot(mut self) -> Self {
        self.policies = PolicySet::default();
        self.version = 0;
        self
    }

    /// Compiles the policies and starts the audit thread.
    pub fn build(self) -> Result<Engine> {
        self.options.check()?;
        let mut keys = self.extra_keys;
        if let Some(k) = &self.signing_key {
            keys.push(k.verifying_key().clone());
        }
        let now = self.clock.now_ms();
        let snapshot = Snapshot::compile(self.policies, self.version, now, &keys)?;
        let counters = self.counters.unwrap_or_else(|| Arc::new(MemoryCounterStore::new()));
        Ok(Engine {
            snapshot: ArcSwap::from_pointee(snapshot),
            local_keys: keys,
            signing_key: self.signing_key,
            tokens: token_cache::new_cache(self.options.token_cache_capacity, self.options.token_cache_bytes),
            rejected: token_cache::new_cache(1024, token_cache::REJECTED_BYTES),
            caps: quick_cache::sync::Cache::new(1024),
            breakers: Breakers::new(&counters),
            counters,
            clock: self.clock,
            auditor: Auditor::start(self.sinks, self.options.audit_queue)?,
            audit_prefix: format!("{:08x}", rand_u32()).into(),
            audit_seq: AtomicU64::new(0),
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            confirmed_at_ms: AtomicI64::new(i64::MIN),
            options: self.options,
        })
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u32::from_le_bytes(b)
}

/// The ACT engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    snapshot: ArcSwap<Snapshot>,
    local_keys: Vec<VerifyingKey>,
    signing_key: Option<SigningKey>,
    /// Tokens that verified, by digest.
    tokens: token_cache::TokenCache<CachedToken>,
    /// Tokens that did not, by digest (a small set of its own, so a flood cannot evict good ones).
    rejected: token_cache::TokenCache<CachedToken>,
    caps: quick_cache::sync::Cache<String, Arc<CompiledPolicy>>,
    counters: Arc<dyn CounterStore>,
    clock: Arc<dyn Clock>,
    auditor: Auditor,
    breakers: Breakers,
    audit_prefix: Arc<str>,
    audit_seq: AtomicU64,
    /// Unique per engine in this process (never reused, unlike an address).
    instance: u64,
    /// When a source last confirmed the serving snapshot is current (ms); see [`Engine::confirm_fresh`].
    confirmed_at_ms: AtomicI64,
    options: EngineOptions,
}

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// A decision in progress: who is asking, once the token was read.
#[derive(Default)]
struct Who {
    agent: Option<Arc<str>>,
    /// The chain's root agent (the one the issuer named), whose breaker counts denials.
    root_agent: Option<Arc<str>>,
    /// Every agent of a delegation chain (see [`CachedToken`]); audit and redaction answer to all.
    chain_agents: Option<Arc<[Arc<str>]>>,
    subject: Option<Arc<str>>,
    jti: Option<Arc<str>>,
}

impl token_cache::Weighed for CachedToken {
    fn weight(&self) -> u64 {
        self.weight
    }
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            options: EngineOptions::default(),
            signing_key: None,
            policies: PolicySet::default(),
            extra_keys: Vec::new(),
            counters: None,
            clock: Arc::new(SystemClock),
            sinks: Vec::new(),
            version: 1,
        }
    }

    /// Decides and enforces: consumes rate limits and approvals, writes the audit record.
    pub fn validate(&self, req: &Request<'_>) -> Decision {
        self.decide(req, Mode::Enforce)
    }

    /// Decides without side effects (no counters, approvals, audit or breaker).
    pub fn check(&self, req: &Request<'_>) -> Decision {
        self.decide(req, Mode::DryRun)
    }

    /// Like [`check`](Self::check), with a trace of every rule and constraint looked at.
    pub fn explain(&self, req: &Request<'_>) -> Decision {
        self.decide(req, Mode::Explain)
    }

    /// The snapshot serving now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Replaces the snapshot atomically (compare-and-swap); refused, and the current one kept,
    /// unless it supersedes the serving one. Safe to call from any number of threads.
    pub fn swap_snapshot(&self, next: Snapshot) -> Result<u64> {
        let before = self.snapshot.load().kill_switches();
        let version = swap::swap_if_newer(&self.snapshot, next)?;
        self.alert_kill_switch_change(before, version);
        Ok(version)
    }

    /// Writes a `kill_switch_changed` alert when the snapshot now serving has other kill
    /// switches on than `before` (those of the snapshot it replaced).
    fn alert_kill_switch_change(&self, before: (bool, Vec<String>, Vec<String>), version: u64) {
        let after = self.snapshot.load().kill_switches();
        if let Some(alert) = crate::alerts::kill_switch_changed(&before, &after) {
            let seq = self.next_audit_seq();
            let now_ms = self.clock.now_ms();
            self.auditor.submit(|p: &mut Pending| {
                alert.fill_plain(p, &self.audit_prefix, seq, now_ms, version);
            });
        }
    }

    /// Records that a source confirmed, at `at_ms`, that the serving snapshot is current
    /// (an unchanged poll); `max_staleness_ms` counts from the latest confirmation.
    pub fn confirm_fresh(&self, at_ms: i64) {
        self.confirmed_at_ms.fetch_max(at_ms, Ordering::Relaxed);
    }

    /// Compiles `set` into the next version and swaps it in (a local policy reload).
    pub fn reload(&self, set: PolicySet) -> Result<u64> {
        let now = self.clock.now_ms();
        let before = self.snapshot.load().kill_switches();
        let version = swap::reload_with(&self.snapshot, |version| {
            Snapshot::compile(set.clone(), version, now, &self.local_keys)
        })?;
        self.alert_kill_switch_change(before, version);
        Ok(version)
    }

    /// Keys trusted besides the snapshot's (the local signing key, `trust`ed keys).
    pub fn local_keys(&self) -> &[VerifyingKey] {
        &self.local_keys
    }

    /// The local signing key, if any.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signing_key.as_ref()
    }

    /// Waits until every audit record so far reached its sinks.
    pub fn flush_audit(&self) {
        self.auditor.flush()
    }

    /// Audit pipeline counters: (records written, sink errors, last error).
    pub fn audit_status(&self) -> (u64, u64, Option<String>) {
        (
            self.auditor.stats().written.load(Ordering::Relaxed),
            self.auditor.stats().sink_errors.load(Ordering::Relaxed),
            self.auditor.last_error(),
        )
    }

    /// Now, by the engine's clock (ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Signs an approval for the request with id `request_id` (from [`ApprovalRequest::id`]).
    pub fn approve(&self, request_id: &str, approver: &str, ttl_secs: u64) -> Result<String> {
        let key = self.signing_key.as_ref().ok_or_else(|| {
            Error::Config("approving needs a signing key; approvals come from the control endpoint otherwise".into())
        })?;
        if request_id.len() != 43
            || !request_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::Config(format!(
                "`{}` is not an approval request id",
                crate::keys::truncate(request_id, 60)
            )));
        }
        if approver.trim().is_empty() {
            return Err(Error::Config("approver must name the human who approved".into()));
        }
        if ttl_secs == 0 || ttl_secs > approval::MAX_APPROVAL_TTL_SECS {
            return Err(Error::Config(format!(
                "approval ttl must be 1..={} seconds",
                approval::MAX_APPROVAL_TTL_SECS
            )));
        }
        approval::sign_approval(key, request_id, approver, self.clock.now_ms() / 1000, ttl_secs)
    }

    fn key_lookup(snap: &Snapshot) -> impl Fn(&str) -> Option<VerifyingKey> + '_ {
        move |kid| snap.key(kid).cloned()
    }

    fn compile_cap(&self, agent: &str, cap: &serde_json::Value) -> std::result::Result<Arc<CompiledPolicy>, String> {
        let mut canonical = String::new();
        approval::canonical_json(cap, &mut canonical);
        let key = format!("{agent}\u{0}{canonical}");
        if let Some(c) = self.caps.get(&key) {
            return Ok(c);
        }
        let policy = parse_capability(agent, cap).map_err(|e| e.to_string())?;
        let compiled = Arc::new(compile_capability(&policy).map_err(|e| e.to_string())?);
        self.caps.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// The circuit breakers open now: (root agent, user; `None` for an agent-wide breaker).
    pub fn open_breakers(&self) -> Vec<(String, Option<String>)> {
        self.breakers.open_breakers(self.clock.now_ms())
    }

    /// Sizes of the token caches (for monitoring, and for tests of their bounds).
    pub fn token_cache_stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            verified_entries: self.tokens.len(),
            verified_bytes: self.tokens.weight(),
            verified_capacity_bytes: self.tokens.capacity(),
            rejected_entries: self.rejected.len(),
            rejected_bytes: self.rejected.weight(),
            rejected_capacity_bytes: self.rejected.capacity(),
        }
    }

    fn token(&self, token: &str, snap: &Snapshot) -> Arc<CachedToken> {
        let opts = VerifyOptions {
            audience: self.options.audience.clone(),
            max_depth: self.options.max_delegation_depth,
        };
        if token.len() > crate::token::MAX_TOKEN_BYTES {
            // Refused on its length alone: neither hashed nor cached.
            let refused = verify_chain(token, &Self::key_lookup(snap), &opts).err();
            return Arc::new(CachedToken {
                keys_epoch: snap.keys_epoch,
                weight: 0,
                result: Err(refused.unwrap_or((Reason::TokenTooLarge, String::new()))),
                caps: Vec::new(),
                agent: None,
                root_agent: None,
                chain_agents: None,
                root_cap_grants: false,
                subject: None,
                jti: None,
            });
        }
        let digest = token_cache::digest(token);
        if let Some(hit) = self.tokens.get(&digest).or_else(|| self.rejected.get(&digest)) {
            if hit.keys_epoch == snap.keys_epoch {
                return hit;
            }
        }
        let lookup = Self::key_lookup(snap);
        let result = verify_chain(token, &lookup, &opts);
        let mut entry = CachedToken {
            keys_epoch: snap.keys_epoch,
            weight: 0,
            result: Err((Reason::TokenMalformed, String::new())),
            caps: Vec::new(),
            agent: None,
            root_agent: None,
            chain_agents: None,
            root_cap_grants: false,
            subject: None,
            jti: None,
        };
        match result {
            Ok(chain) => {
                let mut caps = Vec::with_capacity(chain.links.len());
                let mut bad_cap = None;
                for link in &chain.links {
                    match &link.cap {
                        None => caps.push(None),
                        Some(cap) => match self.compile_cap(&link.agent, cap) {
                            Ok(c) => caps.push(Some(c)),
                            Err(e) => {
                                bad_cap = Some(e);
                                caps.push(None);
                            }
                        },
                    }
                }
                entry.agent = Some(chain.leaf().agent.as_str().into());
                entry.root_agent = Some(chain.root().agent.as_str().into());
                if chain.links.len() > 1 {
                    let mut agents: Vec<Arc<str>> = Vec::with_capacity(chain.links.len());
                    for link in &chain.links {
                        if !agents.iter().any(|a| **a == *link.agent) {
                            agents.push(link.agent.as_str().into());
                        }
                    }
                    entry.chain_agents = Some(agents.into());
                }
                entry.subject = Some(chain.root().sub.as_str().into());
                entry.jti = Some(chain.leaf().jti.as_str().into());
                entry.caps = caps;
                let authority = issuers::authority(snap, &chain);
                entry.root_cap_grants =
                    chain.root().cap.is_some() && matches!(authority, Ok(crate::policy::CapabilityAuthority::Grant));
                entry.result = match (bad_cap, authority) {
                    (Some(e), _) => Err((
                        Reason::TokenClaimInvalid,
                        format!("the token's capability does not compile: {e}"),
                    )),
                    (None, Err(m)) => Err((Reason::IssuerNotAllowed, m)),
                    (None, Ok(_)) => Ok(Arc::new(chain)),
                };
            }
            Err(e) => {
                // An unsealed chain verified link by link (the seal is checked last), so its
                // claims are genuine: name who tried it in the decision and the audit record.
                if e.0 == Reason::DelegationUnsealed {
                    if let Ok(links) = crate::token::decode_unverified(token) {
                        if let (Some(root), Some(leaf)) = (links.first(), links.last()) {
                            entry.agent = Some(leaf.agent.as_str().into());
                            entry.root_agent = Some(root.agent.as_str().into());
                            entry.subject = Some(root.sub.as_str().into());
                            entry.jti = Some(leaf.jti.as_str().into());
                        }
                    }
                }
                entry.result = Err(e)
            }
        }
        match &entry.result {
            Ok(_) => {
                // The floor makes `token_cache_capacity` an entry bound as well.
                let floor = self.options.token_cache_bytes / self.options.token_cache_capacity.max(1) as u64;
                entry.weight = token_cache::verified_weight(token.len()).max(floor);
                let entry = Arc::new(entry);
                self.rejected.remove(&digest);
                self.tokens.insert(digest, entry.clone());
                entry
            }
            Err((_, message)) => {
                entry.weight = token_cache::rejected_weight(message.len());
                let entry = Arc::new(entry);
                self.tokens.remove(&digest);
                self.rejected.insert(digest, entry.clone());
                entry
            }
        }
    }

    fn decide(&self, req: &Request<'_>, mode: Mode) -> Decision {
        let started = std::time::Instant::now();
        let now_ms = self.clock.now_ms();
        let snap = self.snapshot.load();
        let mut steps = (mode == Mode::Explain).then(Vec::new);
        let mut who = Who::default();
        let result = self.evaluate(req, &snap, now_ms, mode, &mut steps, &mut who);
        let (outcome, reason, message, rule, constraint, approval_request) = match result {
            Ok(Verdict::Allow { reason, rule, message }) => (Outcome::Allow, reason, message, Some(rule), None, None),
            Ok(Verdict::Approval {
                rule,
                constraint,
                request,
                message,
            }) => (
                Outcome::ApprovalRequired,
                Reason::ApprovalRequired,
                message,
                Some(rule),
                Some(constraint),
                Some(*request),
            ),
            Err(d) => (Outcome::Deny, d.reason, d.message, d.rule, d.constraint, None),
        };
        trace(&mut steps, "decision", || {
            format!("{} ({}): {message}", outcome.as_str(), reason.as_str())
        });
        let shadow = self.shadow_outcome(req, &snap, now_ms, &who);
        let mut decision = Decision {
            shadow,
            outcome,
            reason,
            message,
            rule,
            constraint,
            audit_id: String::new(),
            snapshot_version: snap.version,
            agent: who.agent.clone(),
            subject: who.subject.clone(),
            approval_request,
            trace: steps,
        };
        if mode == Mode::Enforce {
            self.record(req, &snap, &mut decision, &who, now_ms, started);
        }
        decision
    }

    fn record(
        &self,
        req: &Request<'_>,
        snap: &Snapshot,
        d: &mut Decision,
        who: &Who,
        now_ms: i64,
        started: std::time::Instant,
    ) {
        let policy = who.agent.as_deref().and_then(|a| snap.agent(a));
        let mut opened = None;
        if d.outcome == Outcome::Deny && d.reason != Reason::CircuitOpen {
            // The breaker is the root agent's (named by the issuer), never the one a
            // sub-agent names itself after.
            let root = who.root_agent.as_deref().and_then(|a| snap.agent(a));
            if let (Some(p), Some(b), Some(sub)) = (root, root.and_then(|p| p.breaker.as_ref()), who.subject.as_deref())
            {
                if self.breakers.record_denial(&p.agent, sub, b, now_ms) {
                    opened = Some(crate::alerts::breaker_opened(&p.agent, sub, b));
                }
            }
        }
        // Audit and redaction settings protect the owner: for a chain they come from the root and
        // every link can only tighten them (an allowed decision is skipped only when every agent
        // of the chain says so; redacted fields add up).
        let (log_allowed, redact) = match who.chain_agents.as_deref() {
            Some(agents) => (layers::log_allowed(snap, agents), layers::redaction(snap, agents)),
            None => (
                policy.is_none_or(|p| p.audit.log_all_actions),
                policy.and_then(|p| p.redact.clone()),
            ),
        };
        if d.outcome == Outcome::Allow && !log_allowed {
            return;
        }
        let seq = self.next_audit_seq();
        d.audit_id = crate::audit::audit_id(&self.audit_prefix, seq);
        self.auditor.submit(|p: &mut Pending| {
            if p.id_prefix.as_str() != &*self.audit_prefix {
                p.id_prefix.clear();
                p.id_prefix.push_str(&self.audit_prefix);
            }
            p.seq = seq;
            p.time_ms = now_ms;
            p.outcome = d.outcome;
            p.reason = d.reason;
            p.message.clear();
            p.message.push_str(&d.message);
            crate::audit::set_text(&mut p.agent, who.agent.as_deref());
            crate::audit::set_text(&mut p.subject, who.subject.as_deref());
            crate::audit::set_text(&mut p.jti, who.jti.as_deref());
            p.action.clear();
            p.action.push_str(req.action);
            p.resource.clear();
            p.resource.push_str(req.resource);
            p.context_json.clear();
            // A Map of JSON values always serializes.
            let _ = serde_json::to_writer(&mut p.context_json, req.context);
            p.redact = redact;
            crate::audit::set_text(&mut p.rule, d.rule.as_deref());
            crate::audit::set_text(&mut p.constraint, d.constraint.as_deref());
            p.snapshot_version = d.snapshot_version;
            p.latency_us = started.elapsed().as_micros() as u64;
            p.shadow.clone_from(&d.shadow);
            p.event = None;
        });
        if let Some(alert) = opened {
            // After the denial that opened it, so the log reads in order.
            let seq = self.next_audit_seq();
            let (agent, subject) = (who.root_agent.as_deref(), who.subject.as_deref());
            self.auditor.submit(|p: &mut Pending| {
                alert.fill(p, &self.audit_prefix, seq, now_ms, agent, subject, req, snap.version);
            });
        }
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one decision, read top to bottom in the documented order"
    )]
    fn evaluate(
        &self,
        req: &Request<'_>,
        snap: &Snapshot,
        now_ms: i64,
        mode: Mode,
        t: &mut Option<Vec<TraceStep>>,
        who: &mut Who,
    ) -> std::result::Result<Verdict, Denial> {
        let deny = |reason: Reason, message: String| Denial {
            reason,
            message,
            rule: None,
            constraint: None,
        };
        if snap.version == 0 {
            return Err(deny(Reason::NoSnapshot, "no policy snapshot is loaded".into()));
        }
        if let Some(max) = self.options.max_staleness_ms {
            let fresh_at = snap.issued_at_ms.max(self.confirmed_at_ms.load(Ordering::Relaxed));
            if now_ms - fresh_at > max {
                return Err(deny(
                    Reason::SnapshotStale,
                    format!(
                        "the policy snapshot (version {}) was last confirmed current {}s ago, over the {}s allowed",
                        snap.version,
                        (now_ms - fresh_at) / 1000,
                        max / 1000
                    ),
                ));
            }
        }
        if let Some(exp) = snap.expires_at_ms {
            if now_ms >= exp {
                return Err(deny(
                    Reason::SnapshotStale,
                    format!("the policy snapshot (version {}) has expired", snap.version),
                ));
            }
        }
        request::check_action(req.action).map_err(|m| deny(Reason::RequestInvalid, m))?;
        let segments = validate_resource(req.resource).map_err(|m| deny(Reason::ResourceInvalid, m))?;

        // Token: verified once, then served from the cache; times are checked on every call.
        let cached = self.token(req.token, snap);
        who.agent = cached.agent.clone();
        who.root_agent = cached.root_agent.clone();
        who.chain_agents = cached.chain_agents.clone();
        who.subject = cached.subject.clone();
        who.jti = cached.jti.clone();
        let chain = match &cached.result {
            Ok(c) => c,
            Err((reason, message)) => {
                trace(t, "token", || format!("rejected: {message}"));
                let message = request::token_hint(req.token).map_or_else(|| message.clone(), str::to_string);
                return Err(deny(*reason, message));
            }
        };
        check_time(chain, now_ms.div_euclid(1000), self.options.leeway_secs).map_err(|(r, m)| deny(r, m))?;
        let root = chain.root();
        let leaf = chain.leaf();
        trace(t, "token", || {
            format!(
                "valid: agent `{}` for subject `{}`, {} link(s)",
                leaf.agent,
                root.sub,
                chain.links.len()
            )
        });

        for link in &chain.links {
            if snap.token_revoked(&link.jti) {
                let what = if std::ptr::eq(link, leaf) {
                    "the token"
                } else {
                    "a parent token in its delegation chain"
                };
                return Err(deny(
                    Reason::TokenRevoked,
                    format!("{what} (jti `{}`) was revoked", link.jti),
                ));
            }
            if snap.agent_revoked(&link.agent) {
                return Err(deny(
                    Reason::AgentRevoked,
                    format!("agent `{}` was revoked", link.agent),
                ));
            }
            if snap.grant_revoked(&link.agent, req.action, &root.sub) {
                return Err(deny(
                    Reason::GrantRevoked,
                    format!("the grant of `{}` to agent `{}` was revoked", req.action, link.agent),
                ));
            }
            if let Some(m) = snap.killed(&link.agent, req.action) {
                return Err(deny(Reason::KillSwitch, m));
            }
        }
        if snap.subject_revoked(&root.sub) {
            return Err(deny(
                Reason::SubjectRevoked,
                format!("subject `{}` was revoked", root.sub),
            ));
        }
        trace(t, "revocation", || "no revocation or kill switch applies".into());

        // The root agent's breaker (named by the issuer, never by a sub-agent) pauses the chain.
        let root_policy = snap.agent(&root.agent);
        if let Some(p) = root_policy {
            if let Some(b) = &p.breaker {
                if mode == Mode::Enforce || mode == Mode::DryRun {
                    if let Some(ms) = self.breakers.open_for(&p.agent, &root.sub, b, now_ms) {
                        let whom = match b.scope {
                            crate::policy::BreakerScope::Subject => format!(" for user `{}`", root.sub),
                            crate::policy::BreakerScope::Agent => String::new(),
                        };
                        return Err(deny(
                            Reason::CircuitOpen,
                            format!(
                                "agent `{}` is paused{whom} for {}s after too many denials",
                                p.agent,
                                (ms + 999) / 1000
                            ),
                        ));
                    }
                }
            }
        }
        // Every link is a layer: its agent's policy and its capability; the grant is their intersection.
        let layers = layers::build(snap, root_policy, &chain.links, &cached.caps, cached.root_cap_grants)
            .map_err(|m| deny(Reason::UnknownAgent, m))?;

        let mut approvals = Vec::new();
        let mut limits: Vec<LimitKey> = Vec::new();
        let mut limit_ids = Vec::new();
        let mut rule = None;
        for (i, layer) in layers.iter().enumerate() {
            let vars = Vars {
                context: req.context,
                user: root,
                agent: layer.claims,
                resource: req.resource,
                action: req.action,
                now_ms,
            };
            let mut covered = evaluate(layer.policy, &vars, &segments, &root.sub, t).map_err(|mut d| {
                if i > 0 && matches!(d.reason, Reason::ActionNotAllowed | Reason::ResourceNotAllowed) {
                    d.message = format!("{} ({})", d.message, layer.words());
                }
                d
            })?;
            rule.get_or_insert(covered.rule);
            approvals.append(&mut covered.approvals);
            for (c, mut k) in covered.limits {
                // Keyed by identity, never by the layer's position: a capability's counters by
                // the root token too (it compiles to the same constraint ids as the agent's
                // policy when it repeats a limit, and must not share or double-spend its counter).
                if let Some(prefix) = layers::limit_key_prefix(layer, root) {
                    k.key.insert_str(0, &prefix);
                }
                // One counter reached through two layers (a capability repeated down the chain)
                // is spent once, at the tighter limit.
                if let Some(j) = limits.iter().position(|l| l.key == k.key && l.window_ms == k.window_ms) {
                    if k.limit < limits[j].limit {
                        limits[j].limit = k.limit;
                        limit_ids[j] = c;
                    }
                    continue;
                }
                limit_ids.push(c);
                limits.push(k);
            }
        }
        // `rule` and `limit_ids` borrow the snapshot's ids; cloning those shared `Arc`s on
        // every decision made threads contend on their reference counts (2 threads ran at
        // half the speed of 1). Denials clone them; an allow copies the id once.
        let Some(rule): Option<&Arc<str>> = rule else {
            // Unreachable: `layers` is not empty and every layer either covered the request or
            // returned its denial above. Fail closed all the same.
            return Err(deny(
                Reason::UnknownAgent,
                "no policy layer covered the request".to_string(),
            ));
        };
        let limit_denial = |i: usize| Denial {
            reason: Reason::RateLimited,
            message: match limit_ids[i].limit_words() {
                Some(words) if limits[i].weight.is_some() => format!("budget used up: {words}"),
                Some(words) => format!("rate limit reached: {words}"),
                None => "rate limit reached".to_string(),
            },
            rule: Some(Arc::clone(rule)),
            constraint: Some(Arc::clone(&limit_ids[i].id)),
        };
        let store_denial = |e: Error| Denial {
            reason: Reason::CounterStoreUnavailable,
            message: format!("rate limits cannot be checked, so this limited action is denied: {e}"),
            rule: Some(Arc::clone(rule)),
            constraint: None,
        };
        // A full window denies even a request that would need approval (deny beats approval);
        // enforced requests without approvals check and consume in one atomic step below.
        if !limits.is_empty() && (mode != Mode::Enforce || !approvals.is_empty()) {
            if let Some(i) = self.counters.exhausted(&limits, now_ms).map_err(store_denial)? {
                trace(t, "limit", || format!("`{}` is used up", limit_ids[i].id));
                return Err(limit_denial(i));
            }
            trace(t, "limit", || format!("{} limit(s) have room", limits.len()));
        }

        let mut reason = Reason::Allowed;
        if let Some(first) = approvals.first() {
            let redact = match cached.chain_agents.as_deref() {
                Some(agents) => layers::redaction(snap, agents),
                None => snap.agent(&chain.leaf().agent).and_then(|p| p.redact.clone()),
            };
            let request = self.approval_request(req, chain, &approvals, redact.as_deref().unwrap_or_default());
            match req.approval {
                None => {
                    let mut message = format!(
                        "`{}` asks a human to approve this request ({})",
                        first.key,
                        condition_text(first)
                    );
                    for also in &approvals[1..] {
                        message.push_str(&format!("; so does `{}` ({})", also.key, condition_text(also)));
                    }
                    return Ok(Verdict::Approval {
                        rule: Arc::clone(rule),
                        constraint: first.id.clone(),
                        message,
                        request: Box::new(request),
                    });
                }
                Some(a) => {
                    let approval =
                        approval::verify_approval(a, &Self::key_lookup(snap), now_ms / 1000).map_err(|m| Denial {
                            reason: Reason::ApprovalInvalid,
                            message: m,
                            rule: Some(Arc::clone(rule)),
                            constraint: Some(first.id.clone()),
                        })?;
                    if approval.request_id != request.id {
                        return Err(Denial {
                            reason: Reason::ApprovalInvalid,
                            message:
                                "the approval is for a different request (token, action, resource or context differ)"
                                    .into(),
                            rule: Some(Arc::clone(rule)),
                            constraint: Some(first.id.clone()),
                        });
                    }
                    if mode == Mode::Enforce
                        && !self
                            .counters
                            .mark_once(&format!("approval|{}", approval.jti), approval.exp * 1000)
                            .map_err(store_denial)?
                    {
                        return Err(Denial {
                            reason: Reason::ApprovalReplayed,
                            message: format!("approval `{}` was already used", approval.jti),
                            rule: Some(Arc::clone(rule)),
                            constraint: Some(first.id.clone()),
                        });
                    }
                    trace(t, "approval", || format!("approved by `{}`", approval.approver));
                    reason = Reason::Approved;
                }
            }
        }

        if mode == Mode::Enforce && !limits.is_empty() {
            if let Some(i) = self.counters.try_acquire(&limits, now_ms).map_err(store_denial)? {
                return Err(limit_denial(i));
            }
        }
        let message = match reason {
            Reason::Approved => format!("allowed by rule `{rule}` with a human approval"),
            _ => {
                let mut m = String::with_capacity(rule.len() + 18);
                for part in ["allowed by rule `", rule, "`"] {
                    m.push_str(part);
                }
                m
            }
        };
        Ok(Verdict::Allow {
            reason,
            rule: Arc::from(&**rule),
            message,
        })
    }

    /// A unique record sequence number. Threads take blocks of numbers so they
    /// do not all increment one shared counter (a contended cache line) per decision.
    fn next_audit_seq(&self) -> u64 {
        const BLOCK: u64 = 1024;
        thread_local! {
            // (engine instance, next, end of block)
            static BLOCK_OF: std::cell::Cell<(u64, u64, u64)> = const { std::cell::Cell::new((0, 0, 0)) };
        }
        let me = self.instance;
        BLOCK_OF.with(|b| {
            let (owner, next, end) = b.get();
            let (next, end) = if owner == me && next < end {
                (next, end)
            } else {
                let start = self.audit_seq.fetch_add(BLOCK, Ordering::Relaxed);
                (start, start + BLOCK)
            };
            b.set((me, next + 1, end));
            next
        })
    }

    fn approval_request(
        &self,
        req: &Request<'_>,
        chain: &VerifiedChain,
        fired: &[&crate::policy::CompiledConstraint],
        redact: &[String],
    ) -> ApprovalRequest {
        let c = fired[0];
        let leaf = chain.leaf();
        let context = approval::approver_context(req.context, redact, &leaf.jti);
        let ctx_hash = approval::context_hash(&context);
        let id = approval::request_id(
            &leaf.jti,
            &leaf.agent,
            &chain.root().sub,
            req.action,
            req.resource,
            &ctx_hash,
        );
        ApprovalRequest {
            id,
            agent: leaf.agent.clone(),
            subject: chain.root().sub.clone(),
            action: req.action.to_string(),
            resource: req.resource.to_string(),
            constraint: c.id.to_string(),
            condition: condition_text(c),
            token_id: leaf.jti.clone(),
            context_hash: ctx_hash,
            context,
            conditions: fired
                .iter()
                .map(|c| approval::ApprovalCondition {
                    constraint: c.id.to_string(),
                    condition: condition_text(c),
                })
                .collect(),
            chain: {
                let mut agents: Vec<String> = chain.links.iter().map(|l| l.agent.clone()).collect();
                agents.dedup();
                agents
            },
        }
    }
}

fn condition_text(c: &crate::policy::CompiledConstraint) -> String {
    match &c.kind {
        crate::policy::CompiledKind::ApprovalIf(cel) | crate::policy::CompiledKind::Require(cel) => cel.source.clone(),
        crate::policy::CompiledKind::RateLimit { limit, window_ms, .. } => {
            format!("{limit} per {}", window_words(c, *window_ms))
        }
    }
}

fn window_words(c: &crate::policy::CompiledConstraint, ms: u64) -> String {
    if matches!(
        c.kind,
        crate::policy::CompiledKind::RateLimit {
            scope: crate::policy::LimitScope::Token,
            ..
        }
    ) {
        return "token".into();
    }
    match ms / 1000 {
        60 => "minute".into(),
        3600 => "hour".into(),
        86_400 => "day".into(),
        604_800 => "week".into(),
        s => format!("{s}s"),
    }
}

enum Verdict {
    Allow {
        reason: Reason,
        rule: Arc<str>,
        message: String,
    },
    Approval {
        rule: Arc<str>,
        constraint: Arc<str>,
        request: Box<ApprovalRequest>,
        message: String,
    },
}
