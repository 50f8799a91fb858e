//! Policy test suites (`*_test.yaml`): requests and the decisions they must get. One
//! implementation for `act policy test` (which reads the suites from disk and prints) and for
//! `POST /v1/policies` (which refuses to publish a folder whose suites fail).
//!
//! Every case runs against a fresh engine (fresh rate-limit counters) built from the suite's
//! policies, a throwaway issuer key and the suite's clock, so cases are independent and their
//! order does not matter.

use act_core::error::Diagnostic;
use act_core::policy::source::{parse_documents, Node, NodeValue};
use act_core::policy::PolicySet;
use act_core::{Engine, IssueRequest, ManualClock, Outcome, Request, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Whether a file name is a test suite's.
pub fn is_suite_name(name: &str) -> bool {
    name.ends_with("_test.yaml") || name.ends_with("_test.yml")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    agent: String,
    user: Map<String, Value>,
    #[serde(default)]
    agent_context: Map<String, Value>,
    #[serde(default)]
    capability: Option<Value>,
}

/// One test case as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in results.
    pub name: String,
    token: String,
    action: String,
    resource: String,
    #[serde(default)]
    context: Map<String, Value>,
    expect: Outcome,
    #[serde(default)]
    reason: Option<String>,
    /// Send the request this many times and judge the last (rate limits).
    #[serde(default)]
    pub repeat: Option<u32>,
    #[serde(default)]
    approve: bool,
}

/// A parsed suite.
pub struct Suite {
    /// `name:` or the file's name.
    pub name: String,
    /// `policies:` as written, with its line (none = the suite's own folder).
    pub policies: Option<(usize, String)>,
    now_ms: i64,
    tokens: Map<String, Value>,
    /// The cases by line; a case that does not parse is a failure when the suite runs.
    pub cases: Vec<(usize, Result<Case, String>)>,
}

/// Why a suite cannot run at all.
#[derive(Debug)]
pub enum SuiteError {
    /// Not YAML.
    Syntax(Vec<Diagnostic>),
    /// A problem at a line of the suite.
    At(usize, String),
}

/// One case's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The suite's name.
    pub suite: String,
    /// The case's name (none when it did not parse).
    pub case: Option<String>,
    /// Its line in the suite file.
    pub line: usize,
    /// `None` = passed; otherwise why it failed.
    pub failure: Option<String>,
}

/// Parses a suite; `file` names it (its last path segment is the default suite name).
pub fn parse_suite(file: &str, text: &str) -> Result<Suite, SuiteError> {
    let docs = parse_documents(file, text).map_err(SuiteError::Syntax)?;
    let bad = |line: usize, m: &str| SuiteError::At(line, m.to_string());
    let Some(root) = docs.first().and_then(Node::as_map) else {
        return Err(bad(1, "a test suite is a map with `tests:`"));
    };
    let mut suite = Suite {
        name: file.rsplit(['/', '\\']).next().unwrap_or("suite").to_string(),
        policies: None,
        now_ms: act_core::Clock::now_ms(&act_core::SystemClock),
        tokens: Map::new(),
        cases: Vec::new(),
    };
    for (key, node) in root {
        let text = node.scalar_text();
        match key.name.as_str() {
            "name" => suite.name = text.ok_or_else(|| bad(key.line, "`name` must be a string"))?,
            "policies" => {
                suite.policies = Some((
                    key.line,
                    text.ok_or_else(|| bad(key.line, "`policies` must be a path"))?,
                ))
            }
            "now" => {
                let t = text.ok_or_else(|| bad(key.line, "`now` must be an RFC 3339 time"))?;
                suite.now_ms = chrono::DateTime::parse_from_rfc3339(&t)
                    .map(|d| d.timestamp_millis())
                    .map_err(|_| {
                        SuiteError::At(
                            key.line,
                            format!("`now`: `{t}` is not an RFC 3339 time such as 2026-01-05T12:00:00Z"),
                        )
                    })?;
            }
            "tokens" => match node.to_json() {
                Value::Object(m) => suite.tokens = m,
                _ => {
                    return Err(bad(
                        key.line,
                        "`tokens` must map names to {agent, user, agent_context?, capability?}",
                    ))
                }
            },
            "tests" => {
                let NodeValue::Seq(items) = &node.value else {
                    return Err(bad(key.line, "`tests` must be a list"));
                };
                for item in items {
                    let case = serde_json::from_value::<Case>(item.to_json()).map_err(|e| e.to_string());
                    suite.cases.push((item.line, case));
                }
            }
            other => {
                return Err(SuiteError::At(
                    key.line,
                    format!("unknown key `{other}` (expected name, policies, now, tokens, tests)"),
                ))
            }
        }
    }
    if suite.cases.is_empty() {
        return Err(bad(1, "the suite has no `tests`"));
    }
    Ok(suite)
}

/// Runs every case of `suite` against `set`.
pub fn run_suite(suite: &Suite, set: &PolicySet) -> Vec<CaseResult> {
    suite
        .cases
        .iter()
        .map(|(line, case)| {
            let (name, failure) = match case {
                Ok(c) => match run_case(suite, set, c) {
                    Ok(f) => (Some(c.name.clone()), f),
                    Err(e) => (Some(c.name.clone()), Some(e)),
                },
                Err(e) => (None, Some(format!("invalid test case: {e}"))),
            };
            CaseResult {
                suite: suite.name.clone(),
                case: name,
                line: *line,
                failure,
            }
        })
        .collect()
}

/// `Ok(None)` on pass, `Ok(Some(why))` on a wrong decision, `Err` when the case cannot run.
fn run_case(suite: &Suite, set: &PolicySet, c: &Case) -> Result<Option<String>, String> {
    let spec = suite
        .tokens
        .get(&c.token)
        .ok_or_else(|| format!("no token named `{}` in `tokens:`", c.token))?;
    let spec: TokenSpec = serde_json::from_value(spec.clone()).map_err(|e| format!("token `{}`: {e}", c.token))?;
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let clock = Arc::new(ManualClock::new(suite.now_ms));
    let engine = Engine::builder()
        .policies(set.clone())
        .signing_key(key)
        .clock(clock)
        .build()
        .map_err(|e| e.to_string())?;
    let token = engine
        .issue_token(&IssueRequest {
            agent: spec.agent,
            user_context: spec.user,
            agent_context: spec.agent_context,
            policy: spec.capability,
            ttl_secs: 3600,
            holder_key: None,
        })
        .map_err(|e| format!("token `{}`: {e}", c.token))?;
    let mut req = Request {
        token: &token,
        action: &c.action,
        resource: &c.resource,
        context: &c.context,
        approval: None,
    };
    let mut d = engine.validate(&req);
    for _ in 1..c.repeat.unwrap_or(1).max(1) {
        d = engine.validate(&req);
    }
    let approval;
    if c.approve {
        let r = d.approval_request.as_ref().ok_or_else(|| {
            format!(
                "`approve: true` but the decision was {} ({})",
                d.outcome.as_str(),
                d.reason
            )
        })?;
        approval = engine
            .approve(&r.id, "act-policy-test", 600)
            .map_err(|e| e.to_string())?;
        req.approval = Some(&approval);
        d = engine.validate(&req);
    }
    let reason_ok = c.reason.as_deref().is_none_or(|r| r == d.reason.as_str());
    if d.outcome == c.expect && reason_ok {
        return Ok(None);
    }
    let want = match &c.reason {
        Some(r) => format!("{} ({r})", c.expect.as_str()),
        None => c.expect.as_str().to_string(),
    };
    Ok(Some(format!(
        "expected {want}, got {} ({}): {}",
        d.outcome.as_str(),
        d.reason,
        d.message
    )))
}
