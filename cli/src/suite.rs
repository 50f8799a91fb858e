//! `act policy test`: YAML suites of requests and expected decisions.
//!
//! Every case runs against a fresh engine (fresh rate-limit counters) built
//! from the suite's policies, a throwaway issuer key and the suite's clock, so
//! cases are independent and their order does not matter.

use crate::exit::{CmdResult, Failure, CHECK_FAILED, SUITE};
use act_core::policy::source::{parse_documents, Node, NodeValue};
use act_core::policy::PolicySet;
use act_core::{Engine, IssueRequest, ManualClock, Outcome, Request, SigningKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    token: String,
    action: String,
    resource: String,
    #[serde(default)]
    context: Map<String, Value>,
    expect: Outcome,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    repeat: Option<u32>,
    #[serde(default)]
    approve: bool,
}

struct Suite {
    file: PathBuf,
    name: String,
    policies: PathBuf,
    now_ms: i64,
    tokens: Map<String, Value>,
    cases: Vec<(usize, Result<Case, String>)>,
}

fn bad(file: &Path, line: usize, message: impl std::fmt::Display) -> Failure {
    Failure::new(SUITE, format!("{}:{line}: {message}", file.display()))
}

fn load_suite(file: &Path) -> Result<Suite, Failure> {
    let text = crate::exit::read(file)?;
    let docs = parse_documents(&file.display().to_string(), &text).map_err(|d| {
        Failure::new(
            SUITE,
            d.iter()
                .map(crate::exit::diagnostic_line)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let Some(root) = docs.first().and_then(Node::as_map) else {
        return Err(bad(file, 1, "a test suite is a map with `tests:`"));
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut suite = Suite {
        file: file.to_path_buf(),
        name: file.file_name().and_then(|n| n.to_str()).unwrap_or("suite").to_string(),
        policies: dir.to_path_buf(),
        now_ms: act_core::Clock::now_ms(&act_core::SystemClock),
        tokens: Map::new(),
        cases: Vec::new(),
    };
    for (key, node) in root {
        let text = node.scalar_text();
        match key.name.as_str() {
            "name" => suite.name = text.ok_or_else(|| bad(file, key.line, "`name` must be a string"))?,
            "policies" => {
                suite.policies = dir.join(text.ok_or_else(|| bad(file, key.line, "`policies` must be a path"))?)
            }
            "now" => {
                let t = text.ok_or_else(|| bad(file, key.line, "`now` must be an RFC 3339 time"))?;
                suite.now_ms = chrono_ms(&t).ok_or_else(|| {
                    bad(
                        file,
                        key.line,
                        format!("`now`: `{t}` is not an RFC 3339 time such as 2026-01-05T12:00:00Z"),
                    )
                })?;
            }
            "tokens" => match node.to_json() {
                Value::Object(m) => suite.tokens = m,
                _ => {
                    return Err(bad(
                        file,
                        key.line,
                        "`tokens` must map names to {agent, user, agent_context?, capability?}",
                    ))
                }
            },
            "tests" => {
                let NodeValue::Seq(items) = &node.value else {
                    return Err(bad(file, key.line, "`tests` must be a list"));
                };
                for item in items {
                    let case = serde_json::from_value::<Case>(item.to_json()).map_err(|e| e.to_string());
                    suite.cases.push((item.line, case));
                }
            }
            other => {
                return Err(bad(
                    file,
                    key.line,
                    format!("unknown key `{other}` (expected name, policies, now, tokens, tests)"),
                ))
            }
        }
    }
    if suite.cases.is_empty() {
        return Err(bad(file, 1, "the suite has no `tests`"));
    }
    Ok(suite)
}

fn chrono_ms(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Finds the suites under `path` (a folder, or one suite file).
fn suites(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| Failure::new(crate::exit::IO, format!("{}: {e}", path.display())))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_test.yaml") || n.ends_with("_test.yml"))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(Failure::new(
            SUITE,
            format!("{}: no *_test.yaml suites found", path.display()),
        ));
    }
    Ok(found)
}

/// Runs every suite; prints PASS/FAIL lines and a `N passed, M failed` summary.
pub fn run(path: &Path, verbose: bool) -> CmdResult {
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in suites(path)? {
        let suite = load_suite(&file)?;
        let set = act_core::policy::load_path(&suite.policies).map_err(crate::policy::report)?;
        for (line, case) in &suite.cases {
            let where_ = format!("{}:{line}", suite.file.display());
            let verdict = match case {
                Ok(c) => run_case(&suite, &set, c).map(|r| (c.name.clone(), r)),
                Err(e) => Err(format!("invalid test case: {e}")),
            };
            match verdict {
                Ok((name, None)) => {
                    passed += 1;
                    if verbose {
                        println!("PASS {} › {name}", suite.name);
                    }
                }
                Ok((name, Some(why))) => {
                    failed += 1;
                    println!("FAIL {} › {name} ({where_}): {why}", suite.name);
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {} › ({where_}): {e}", suite.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(Failure::new(CHECK_FAILED, String::new()));
    }
    Ok(())
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
