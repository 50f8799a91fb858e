//! Evaluating one policy layer (an agent policy or a token capability) against a request.

use super::vars::Vars;
use crate::decision::TraceStep;
use crate::limits::{encode_key, LimitKey};
use crate::policy::pattern::Match;
use crate::policy::pattern::{TemplateRef, TemplateValues};
use crate::policy::{Cel, CompiledConstraint, CompiledKind, CompiledPolicy, LimitScope};
use crate::reason::Reason;
use cel::{ExecutionError, Value as CelValue};
use std::borrow::Cow;
use std::sync::Arc;

/// Template values with letter case folded, for matching exclusions against the folded resource.
struct Folded<'a>(&'a dyn TemplateValues);

impl TemplateValues for Folded<'_> {
    fn value(&self, t: &TemplateRef) -> Option<Cow<'_, str>> {
        self.0.value(t).map(|v| Cow::Owned(v.to_lowercase()))
    }
}

/// A denial found while evaluating.
#[derive(Debug)]
pub(crate) struct Denial {
    pub reason: Reason,
    pub message: String,
    pub rule: Option<Arc<str>>,
    pub constraint: Option<Arc<str>>,
}

/// What a layer that covers the request still asks for.
pub(crate) struct Covered<'p> {
    /// Borrowed, not cloned: the grant id is shared by every thread deciding for it.
    pub rule: &'p Arc<str>,
    pub approvals: Vec<&'p CompiledConstraint>,
    pub limits: Vec<(&'p CompiledConstraint, LimitKey)>,
}

pub(crate) fn trace(t: &mut Option<Vec<TraceStep>>, stage: &str, detail: impl FnOnce() -> String) {
    if let Some(steps) = t {
        steps.push(TraceStep {
            stage: stage.to_string(),
            detail: detail(),
        });
    }
}

/// Evaluates a condition to a boolean; anything else names the field at fault.
pub(crate) fn eval_bool(cel: &Cel, vars: &Vars<'_>) -> Result<bool, String> {
    if let Some(b) = cel.fast.as_ref().and_then(|f| f.eval(vars.context)) {
        return Ok(b);
    }
    eval_cel_only(cel, vars)
}

/// Evaluates through the CEL interpreter only.
pub(crate) fn eval_cel_only(cel: &Cel, vars: &Vars<'_>) -> Result<bool, String> {
    let mut ctx = super::root_context().new_inner_scope();
    ctx.set_variable_resolver(vars);
    match cel.program.execute(&ctx) {
        Ok(CelValue::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "condition `{}` gave {:?}, not true or false",
            cel.source,
            other.type_of()
        )),
        Err(ExecutionError::UndeclaredReference(name)) => Err(format!(
            "context field `{name}` is missing (needed by `{}`)",
            cel.source
        )),
        Err(ExecutionError::NoSuchKey(name)) => Err(format!("field `{name}` is missing (needed by `{}`)", cel.source)),
        Err(e) => {
            if let Some(m) = cel.fast.as_ref().and_then(|f| not_a_number(&f.field, vars.context)) {
                return Err(format!("{m} (needed by `{}`)", cel.source));
            }
            let fields: Vec<&str> = cel.fields.iter().map(String::as_str).collect();
            Err(format!(
                "condition `{}` cannot be evaluated on this request ({e}); check the type of {}",
                cel.source,
                fields.join(", ")
            ))
        }
    }
}

/// "`amount` must be a number; got the string \"120\"" when a compared field holds something else.
fn not_a_number(field: &str, context: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    use serde_json::Value;
    let got = match context.get(field)? {
        Value::Number(_) => return None,
        Value::String(s) if s.chars().count() <= 40 => format!("the string {}", Value::from(s.as_str())),
        Value::String(_) => "a long string".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Null => "null".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    };
    Some(format!("`{field}` must be a number; got {got}"))
}

fn applies(c: &CompiledConstraint, action: &str) -> bool {
    c.applies_to(action)
}

/// Evaluates `policy` for the request in `vars`.
pub(crate) fn evaluate<'p>(
    policy: &'p CompiledPolicy,
    vars: &Vars<'_>,
    segments: &[&str],
    limit_subject: &str,
    t: &mut Option<Vec<TraceStep>>,
) -> Result<Covered<'p>, Denial> {
    let action = vars.action;
    let resource = vars.resource;
    let mut saw_action = false;
    let mut excluded: Option<(&Arc<str>, &str)> = None;
    let mut unresolved: Option<String> = None;
    let mut covered: Option<Covered<'p>> = None;
    // Exclusions are matched case-insensitively (`SECRETS/key` stays excluded): against the resource
    // folded to lower case, computed only when it has upper-case letters.
    let folded: Cow<'_, str> = if resource.bytes().any(|b| b.is_ascii_uppercase()) || !resource.is_ascii() {
        Cow::Owned(resource.to_lowercase())
    } else {
        Cow::Borrowed(resource)
    };
    let folded_segments: Cow<'_, [&str]> = match &folded {
        Cow::Borrowed(_) => Cow::Borrowed(segments),
        Cow::Owned(f) => Cow::Owned(f.split('/').collect()),
    };
    let folded_vars = Folded(vars);
    for g in &policy.grants {
        if !g.covers_action(action) {
            continue;
        }
        saw_action = true;
        if let Some(p) = g
            .excludes
            .iter()
            // An exclusion whose template cannot be resolved excludes too: fail closed.
            .find(|p| p.matches(&folded, &folded_segments, &folded_vars) != Match::No)
        {
            trace(t, "grant", || {
                format!("rule `{}`: resource matches exclusion `{}`", g.id, p.as_str())
            });
            excluded.get_or_insert((&g.id, p.as_str()));
            continue;
        }
        let mut hit = false;
        for p in &g.resources {
            match p.matches(resource, segments, vars) {
                Match::Yes => {
                    hit = true;
                    break;
                }
                Match::Unresolved(name) => {
                    unresolved.get_or_insert(format!("template {name} of `{}` has no value in the token", p.as_str()));
                }
                Match::No => {}
            }
        }
        if !hit {
            trace(t, "grant", || {
                format!("rule `{}`: resource is outside its patterns", g.id)
            });
            continue;
        }
        trace(t, "grant", || {
            format!("rule `{}` covers `{action}` on `{resource}`", g.id)
        });
        let entry = covered.get_or_insert_with(|| Covered {
            rule: &g.id,
            approvals: Vec::new(),
            limits: Vec::new(),
        });
        for c in g.constraints.iter().filter(|c| applies(c, action)) {
            let deny = |reason, message| Denial {
                reason,
                message,
                rule: Some(g.id.clone()),
                constraint: Some(c.id.clone()),
            };
            match &c.kind {
                CompiledKind::Require(cel) => match eval_bool(cel, vars) {
                    Ok(true) => trace(t, "constraint", || format!("`{}` holds: {}", c.key, cel.source)),
                    Ok(false) => {
                        trace(t, "constraint", || format!("`{}` fails: {}", c.key, cel.source));
                        return Err(deny(
                            Reason::ConstraintFailed,
                            format!("constraint `{}` failed: {}", c.key, cel.source),
                        ));
                    }
                    Err(m) => {
                        trace(t, "constraint", || format!("`{}` cannot be evaluated: {m}", c.key));
                        return Err(deny(Reason::ContextInvalid, m));
                    }
                },
                CompiledKind::ApprovalIf(cel) => match eval_bool(cel, vars) {
                    Ok(true) => {
                        trace(t, "constraint", || {
                            format!("`{}` asks for approval: {}", c.key, cel.source)
                        });
                        entry.approvals.push(c);
                    }
                    Ok(false) => trace(t, "constraint", || {
                        format!("`{}` needs no approval: {}", c.key, cel.source)
                    }),
                    Err(m) => return Err(deny(Reason::ContextInvalid, m)),
                },
                CompiledKind::RateLimit {
                    limit,
                    window_ms,
                    scope,
                    weight,
                } => {
                    let weight = match weight {
                        None => None,
                        Some(w) => match crate::policy::budget::weigh(w, vars.context) {
                            Ok(w) => Some(w),
                            Err(m) => {
                                trace(t, "constraint", || format!("`{}` cannot weigh the request: {m}", c.key));
                                return Err(deny(Reason::ContextInvalid, m));
                            }
                        },
                    };
                    // Length-prefixed parts: no subject or agent id can spell another key.
                    let key = match scope {
                        LimitScope::Subject => {
                            encode_key(&[&c.id, "subject", vars.agent.agent.as_str(), limit_subject])
                        }
                        LimitScope::Agent => encode_key(&[&c.id, "agent", vars.agent.agent.as_str()]),
                        LimitScope::Global => encode_key(&[&c.id, "global"]),
                        LimitScope::Token => encode_key(&[&c.id, "token", vars.user.jti.as_str()]),
                    };
                    entry.limits.push((
                        c,
                        LimitKey {
                            key,
                            limit: *limit,
                            window_ms: *window_ms,
                            weight,
                        },
                    ));
                }
            }
        }
    }
    if let Some(c) = covered {
        return Ok(c);
    }
    let agent = &policy.agent;
    Err(if !saw_action {
        Denial {
            reason: Reason::ActionNotAllowed,
            message: format!("agent `{agent}` is not granted action `{action}`"),
            rule: None,
            constraint: None,
        }
    } else if let Some((rule, p)) = excluded {
        Denial {
            reason: Reason::ResourceNotAllowed,
            message: format!("`{resource}` is excluded by `{p}`"),
            rule: Some(rule.clone()),
            constraint: None,
        }
    } else if let Some(m) = unresolved {
        Denial {
            reason: Reason::TemplateUnresolved,
            message: m,
            rule: None,
            constraint: None,
        }
    } else {
        Denial {
            reason: Reason::ResourceNotAllowed,
            message: format!("agent `{agent}` may `{action}` but not on `{resource}`"),
            rule: None,
            constraint: None,
        }
    })
}
