//! `act validate`: one request, decided (and optionally explained) against local policies.

use crate::exit::{json_object, read, CmdResult, Failure, CHECK_FAILED};
use crate::keys::{load_signing, parse_public};
use act_core::{Engine, Request};
use std::path::PathBuf;

/// Arguments of `act validate`.
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Policy file or folder.
    #[arg(long, required_unless_present = "snapshot")]
    pub policy: Option<PathBuf>,
    /// A signed snapshot document instead of --policy (needs --snapshot-key).
    #[arg(long, requires = "snapshot_key", conflicts_with = "policy")]
    pub snapshot: Option<PathBuf>,
    /// The pinned key of --snapshot.
    #[arg(long)]
    pub snapshot_key: Option<String>,
    /// The token (or a file holding it).
    #[arg(long)]
    pub token: String,
    /// The action, e.g. process_refund.
    #[arg(long)]
    pub action: String,
    /// The resource, e.g. order://customer:42/1001.
    #[arg(long)]
    pub resource: String,
    /// Request context as a JSON object, e.g. '{"amount": 120}'.
    #[arg(long)]
    pub context: Option<String>,
    /// An approval token for exactly this request.
    #[arg(long)]
    pub approval: Option<String>,
    /// Trust this token issuer key (`ed25519:...`, JWK or key file); repeatable.
    #[arg(long)]
    pub trust: Vec<String>,
    /// Trust the public half of this private key file (the key tokens were issued with).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Print every rule and constraint looked at.
    #[arg(long)]
    pub explain: bool,
    /// Print the decision as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Decides without side effects (no rate-limit consumption, no audit); exit 0 only for `allow`.
pub fn run(a: ValidateArgs) -> CmdResult {
    let mut builder = Engine::builder();
    for t in &a.trust {
        builder = builder.trust(parse_public(t)?);
    }
    if let Some(k) = &a.key {
        builder = builder.trust(load_signing(k)?.verifying_key().clone());
    }
    let engine = match (&a.policy, &a.snapshot, &a.snapshot_key) {
        (Some(p), _, _) => builder
            .policies(act_core::policy::load_path(p).map_err(crate::policy::report)?)
            .build()?,
        (None, Some(s), Some(k)) => {
            let engine = builder.without_snapshot().build()?;
            let key = parse_public(k)?;
            let snap = act_core::snapshot::decode_snapshot_with(read(s)?.as_bytes(), &key, engine.local_keys())?;
            engine.swap_snapshot(snap)?;
            engine
        }
        _ => {
            return Err(Failure::usage(
                "pass --policy <path>, or --snapshot <file> with --snapshot-key",
            ))
        }
    };
    let token = if std::path::Path::new(&a.token).is_file() {
        read(std::path::Path::new(&a.token))?
    } else {
        a.token.clone()
    };
    let context = match &a.context {
        Some(t) => json_object("--context", t)?,
        None => Default::default(),
    };
    let req = Request {
        token: token.trim(),
        action: &a.action,
        resource: &a.resource,
        context: &context,
        approval: a.approval.as_deref(),
    };
    let d = if a.explain {
        engine.explain(&req)
    } else {
        engine.check(&req)
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
    } else {
        println!("{} ({}): {}", d.outcome.as_str(), d.reason, d.message);
        if let Some(r) = &d.rule {
            println!("rule: {r}");
        }
        if let Some(c) = &d.constraint {
            println!("constraint: {c}");
        }
        if let Some(r) = &d.approval_request {
            println!("approval request: {}", r.id);
        }
        for step in d.trace.iter().flatten() {
            println!("  {:<10} {}", step.stage, step.detail);
        }
    }
    if d.allowed() {
        Ok(())
    } else {
        Err(Failure::new(CHECK_FAILED, String::new()))
    }
}
