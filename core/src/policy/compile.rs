//! Canonical policies to executable form: CEL programs and patterns, built once.

use super::cel_budget::CelBudget;
use super::model::*;
use super::pattern::Pattern;
use crate::error::{Diagnostic, PolicyError};
use cel::common::types::CelString;
use cel::{Env, Program};
use std::sync::{Arc, LazyLock};

/// The CEL environment: the standard library plus string extensions (`lowerAscii`, ...).
#[expect(
    clippy::expect_used,
    reason = "a fixed extension on the standard library; tests load it"
)]
pub(crate) static CEL_ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("the strings extension declares cleanly");
    cel::add_member_overload!(env, fn cel_fold: (CelString) -> CelString, name = "actFold")
        .expect("actFold is not a standard function");
    Arc::new(env)
});

/// `s.actFold()`: the form two names are compared in when letter case and look-alike forms must
/// not tell them apart (`excludeFolders`, `requireKeywords`): Unicode NFKC (fullwidth `Ｃ` and `／`
/// become `C` and `/`, ligatures split), then Unicode lowercase (`É` → `é`, not only ASCII). The
/// compiler folds the policy's names with the same function, [`fold_text`].
fn cel_fold(this: &CelString<'_>) -> CelString<'static> {
    fold_text(this).into()
}

/// The Rust side of `actFold()`, for names in a policy.
pub(crate) fn fold_text(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect::<String>().to_lowercase()
}

/// A compiled CEL condition.
pub struct Cel {
    /// The source, as canonical CEL.
    pub source: String,
    pub(crate) program: Program,
    /// The top-level names it reads (context fields, `user`, `now`, ...).
    pub fields: Vec<String>,
    /// `field <op> number` conditions are also compiled to a native comparison,
    /// used only when the field holds a number; anything else (missing, wrong
    /// type) goes through CEL, so results and errors are CEL's either way.
    pub(crate) fast: Option<FastCompare>,
}

/// A native form of `field <op> number`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FastCompare {
    pub field: String,
    pub op: CmpOp,
    pub value: f64,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl FastCompare {
    fn parse(source: &str) -> Option<FastCompare> {
        let mut parts = source.split_whitespace();
        let (field, op, value) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || !field.chars().next()?.is_ascii_alphabetic()
            || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || crate::engine::RESERVED.contains(&field)
        {
            return None;
        }
        let op = match op {
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        };
        let value: f64 = value.parse().ok().filter(|v: &f64| v.is_finite() && v.abs() < 9.0e15)?;
        Some(FastCompare {
            field: field.to_string(),
            op,
            value,
        })
    }

    /// `Some(result)` when the field is a number CEL would compare the same way; `None` defers to CEL.
    pub(crate) fn eval(&self, context: &serde_json::Map<String, serde_json::Value>) -> Option<bool> {
        let n = context.get(&self.field)?.as_number()?;
        let x = match n.as_i64() {
            Some(i) if i.unsigned_abs() < (1 << 53) => i as f64,
            Some(_) => return None,
            None => n.as_f64().filter(|f| f.is_finite())?,
        };
        Some(match self.op {
            CmpOp::Lt => x < self.value,
            CmpOp::Le => x <= self.value,
            CmpOp::Gt => x > self.value,
            CmpOp::Ge => x >= self.value,
        })
    }
}

impl std::fmt::Debug for Cel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cel({})", self.source)
    }
}

impl Cel {
    /// Compiles `source` in ACT's CEL environment, within the policy budget.
    pub fn compile(source: &str) -> Result<Cel, String> {
        Cel::compile_with(source, &CelBudget::POLICY)
    }

    /// Compiles `source` in ACT's CEL environment, refusing it beyond `budget`.
    pub fn compile_with(source: &str, budget: &CelBudget) -> Result<Cel, String> {
        let program = CEL_ENV
            .compile(source)
            .map_err(|e| format!("invalid CEL condition `{source}`: {e}"))?;
        budget.check(program.expression(), source)?;
        let mut fields: Vec<String> = program
            .references()
            .variables()
            .into_iter()
            .map(str::to_string)
            .collect();
        fields.sort();
        Ok(Cel {
            source: source.to_string(),
            program,
            fields,
            fast: FastCompare::parse(source),
        })
    }
}

/// What a compiled constraint does.
#[derive(Debug)]
pub enum CompiledKind {
    /// Deny unless true.
    Require(Cel),
    /// Approval required when true.
    ApprovalIf(Cel),
    /// Rolling-window limit.
    RateLimit {
        /// Allowed per window.
        limit: u64,
        /// Window in milliseconds.
        window_ms: u64,
        /// Counter sharing.
        scope: LimitScope,
        /// `None` counts requests; a budget weighs each one (then `limit` is in millionths,
        /// see [`super::budget`]).
        weight: Option<Weight>,
    },
}

/// A compiled constraint.
#[derive(Debug)]
pub struct CompiledConstraint {
    /// Stable id (see [`Constraint::id`]).
    pub id: Arc<str>,
    /// The key as written.
    pub key: String,
    /// The action it applies to, `None` for all.
    pub action: Option<String>,
    /// `action` compiled when it is a glob (`refund_*`): the constraint applies to every action it matches.
    pub(crate) action_glob: Option<Pattern>,
    /// What it does.
    pub kind: CompiledKind,
    /// Where it was written.
    pub source: Location,
}

/// A compiled grant.
#[derive(Debug)]
pub struct CompiledGrant {
    /// Stable id.
    pub id: Arc<str>,
    /// Action patterns.
    pub actions: Vec<Pattern>,
    /// Resource patterns.
    pub resources: Vec<Pattern>,
    /// Exclusions; they beat `resources`.
    pub excludes: Vec<Pattern>,
    /// Constraints in source order.
    pub constraints: Vec<CompiledConstraint>,
}

impl CompiledConstraint {
    /// A limit in words for a denial: `5 per day`, `2000.5 of amount per day`, `100 of to, cc per hour`.
    pub fn limit_words(&self) -> Option<String> {
        let CompiledKind::RateLimit {
            limit,
            window_ms,
            scope,
            weight,
        } = &self.kind
        else {
            return None;
        };
        let window = match (scope, window_ms / 1000) {
            (LimitScope::Token, _) if weight.is_none() => "token".to_string(),
            (_, 60) => "minute".into(),
            (_, 3600) => "hour".into(),
            (_, 86_400) => "day".into(),
            (_, 604_800) => "week".into(),
            (_, s) => format!("{s}s"),
        };
        let whom = match scope {
            LimitScope::Subject => "",
            LimitScope::Agent => " for the agent",
            LimitScope::Global => " for everyone",
            LimitScope::Token if weight.is_some() => " for the token",
            LimitScope::Token => "",
        };
        Some(match weight {
            None => format!("{limit} per {window}{whom}"),
            Some(Weight::Sum { field }) => {
                format!("{} of `{field}` per {window}{whom}", super::budget::micros_text(*limit))
            }
            Some(Weight::Count { fields }) => format!(
                "{} items of `{}` per {window}{whom}",
                super::budget::micros_text(*limit),
                fields.join("`, `")
            ),
        })
    }

    /// True when this constraint applies to a request for `action`.
    pub fn applies_to(&self, action: &str) -> bool {
        match (&self.action_glob, &self.action) {
            (Some(glob), _) => glob.matches_name(action),
            (None, Some(a)) => a == action,
            (None, None) => true,
        }
    }
}

impl CompiledGrant {
    /// True when an action pattern matches `action`.
    pub fn covers_action(&self, action: &str) -> bool {
        self.actions.iter().any(|p| p.matches_name(action))
    }
}

/// A compiled agent policy.
#[derive(Debug)]
pub struct CompiledPolicy {
    /// The agent id.
    pub agent: Arc<str>,
    /// Grants.
    pub grants: Vec<CompiledGrant>,
    /// Audit settings.
    pub audit: AuditSettings,
    /// Circuit breaker.
    pub breaker: Option<BreakerSettings>,
    /// `audit.redact` as shared once, so audited decisions do not copy the list; `None` when empty.
    pub redact: Option<Arc<[String]>>,
    /// The canonical form it was compiled from.
    pub canonical: AgentPolicy,
}

/// The patterns an exclusion is matched as: letter case folded outside templates (the engine folds
/// the request's resource the same way), and both a folder and what is inside it, so `secrets/**`
/// also excludes `secrets` and `.env` also excludes `.env/prod`.
fn exclusion_forms(text: &str) -> Vec<String> {
    let folded = fold_case(text);
    match folded.strip_suffix("/**") {
        Some(dir) if !dir.is_empty() => vec![dir.to_string(), folded],
        _ if folded.ends_with("**") => vec![folded],
        _ => {
            let inside = format!("{folded}/**");
            vec![folded, inside]
        }
    }
}

/// Lowercases a pattern outside its `{{...}}` templates (template names are case-sensitive).
pub(crate) fn fold_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open].to_lowercase());
        let close = rest[open..].find("}}").map_or(rest.len(), |c| open + c + 2);
        out.push_str(&rest[open..close]);
        rest = &rest[close..];
    }
    out.push_str(&rest.to_lowercase());
    out
}

/// Compiles one agent policy; every problem found is reported with its location.
pub fn compile_agent(policy: &AgentPolicy) -> Result<CompiledPolicy, PolicyError> {
    compile_agent_with(policy, &CelBudget::POLICY)
}

/// Compiles a capability carried in a token, under the tighter [`CelBudget::TOKEN`].
pub fn compile_capability(policy: &AgentPolicy) -> Result<CompiledPolicy, PolicyError> {
    compile_agent_with(policy, &CelBudget::TOKEN)
}

/// Compiles one agent policy with CEL conditions bounded by `budget`.
pub fn compile_agent_with(policy: &AgentPolicy, budget: &CelBudget) -> Result<CompiledPolicy, PolicyError> {
    let mut diagnostics = Vec::new();
    let mut diag = |loc: &Location, key: &str, message: String| {
        diagnostics.push(Diagnostic {
            file: loc.file.clone(),
            line: loc.line,
            column: loc.column,
            key: key.into(),
            message,
        })
    };
    let mut grants = Vec::new();
    // Shadow rules are left out of the enforced policy; `super::shadow` compiles them apart.
    for g in policy.grants.iter().filter(|g| !g.shadow) {
        for bad in g
            .actions
            .iter()
            .filter_map(|a| crate::engine::request::check_action_name(a, true).err())
        {
            diag(&policy.source, "actions", format!("the action {bad}"));
        }
        let mut compile_all = |list: &[String], what: &str| -> Vec<Pattern> {
            list.iter()
                .filter_map(|p| Pattern::compile(p).map_err(|e| diag(&policy.source, what, e)).ok())
                .collect()
        };
        let actions = compile_all(&g.actions, "actions");
        let resources = compile_all(&g.resources, "resources");
        let exclusions: Vec<String> = g.exclude_resources.iter().flat_map(|e| exclusion_forms(e)).collect();
        let excludes = compile_all(&exclusions, "excludeResources");
        let mut constraints = Vec::new();
        for c in &g.constraints {
            let kind = match &c.kind {
                ConstraintKind::Require { cel } => Cel::compile_with(cel, budget).map(CompiledKind::Require),
                ConstraintKind::ApprovalIf { cel } => Cel::compile_with(cel, budget).map(CompiledKind::ApprovalIf),
                ConstraintKind::RateLimit {
                    limit,
                    window_secs,
                    scope,
                } => Ok(CompiledKind::RateLimit {
                    limit: *limit,
                    window_ms: window_secs * 1000,
                    scope: *scope,
                    weight: None,
                }),
                ConstraintKind::Budget {
                    weight,
                    max,
                    window_secs,
                    scope,
                } => Ok(CompiledKind::RateLimit {
                    limit: super::budget::to_micros(*max, false),
                    window_ms: window_secs * 1000,
                    scope: *scope,
                    weight: Some(weight.clone()),
                }),
            };
            let action_glob = match c.action.as_deref().filter(|a| a.contains('*')).map(Pattern::compile) {
                Some(Ok(p)) => Some(p),
                Some(Err(e)) => {
                    diag(&c.source, &c.key, e);
                    None
                }
                None => None,
            };
            match kind {
                Ok(kind) => constraints.push(CompiledConstraint {
                    id: c.id.as_str().into(),
                    key: c.key.clone(),
                    action: c.action.clone(),
                    action_glob,
                    kind,
                    source: c.source.clone(),
                }),
                Err(e) => diag(&c.source, &c.key, e),
            }
        }
        grants.push(CompiledGrant {
            id: g.id.as_str().into(),
            actions,
            resources,
            excludes,
            constraints,
        });
    }
    if !diagnostics.is_empty() {
        return Err(PolicyError { diagnostics });
    }
    Ok(CompiledPolicy {
        agent: policy.agent.as_str().into(),
        grants,
        audit: policy.audit.clone(),
        breaker: policy.circuit_breaker.clone(),
        redact: (!policy.audit.redact.is_empty()).then(|| policy.audit.redact.clone().into()),
        canonical: policy.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fast_path_agrees_with_cel() {
        let ctxs = [
            json!({"amount": 100}),
            json!({"amount": 100.5}),
            json!({"amount": 99.99}),
            json!({"amount": -3}),
            json!({"amount": 101}),
            json!({"amount": 1e300}),
            json!({"amount": "100"}),
            json!({}),
            json!({"amount": null}),
            json!({"amount": 9007199254740993u64}),
        ];
        for src in [
            "amount > 100",
            "amount >= 100",
            "amount < 100",
            "amount <= 100.5",
            "amount > -1",
        ] {
            let cel = Cel::compile(src).unwrap();
            assert!(cel.fast.is_some(), "{src}");
            for c in &ctxs {
                let map = c.as_object().unwrap();
                let vars_claims = crate::token::Claims::from_json(
                    &json!({"iss":"i","sub":"s","act":{"sub":"a"},"iat":0,"exp":1,"jti":"j"}),
                )
                .unwrap();
                let vars = crate::engine::vars::Vars {
                    context: map,
                    user: &vars_claims,
                    agent: &vars_claims,
                    resource: "r",
                    action: "a",
                    now_ms: 0,
                };
                let slow = crate::engine::eval::eval_cel_only(&cel, &vars);
                if let Some(fast) = cel.fast.as_ref().unwrap().eval(map) {
                    assert_eq!(Ok(fast), slow, "{src} on {c}");
                }
            }
        }
        assert!(Cel::compile("now > 3").unwrap().fast.is_none());
        assert!(Cel::compile("amount > 1 && x").unwrap().fast.is_none());
        assert!(Cel::compile("user.id > 3").unwrap().fast.is_none());
    }
}
