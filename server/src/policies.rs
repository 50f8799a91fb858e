//! Policies as published versions (protocol: policies). A push is a policy folder's files, sent as
//! `{"files": {name: text}, "reason"}`: the server compiles them with core, runs the folder's
//! `*_test.yaml` suites with the one suite runner ([`crate::suite`], which `act policy test` runs
//! too), and publishes a numbered version only when everything compiles and every case passes.
//! Versions are kept with who, when and why ([`crate::policy_store`]); a rollback publishes an
//! old version's content as a new version.

use crate::suite::{is_suite_name, parse_suite, run_suite, CaseResult, SuiteError};
use act_core::policy::{merge, parse_source, PolicySet};
use act_core::{Diagnostic, Error, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most files in one push.
pub const MAX_FILES: usize = 200;
/// Largest file, bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Largest push (all files), bytes.
pub const MAX_TOTAL_BYTES: usize = 4 * 1024 * 1024;
/// Most test cases in one push (every case builds an engine: the cost of a push is bounded).
pub const MAX_CASES: usize = 5_000;
/// Largest `repeat:` of one case in a push.
pub const MAX_REPEAT: u32 = 10_000;
/// Most decisions all the cases of one push may ask for (their `repeat:`s added up).
pub const MAX_DECISIONS: u64 = 200_000;

/// `POST /v1/policies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushBody {
    /// The folder's files by name (policies `.yaml`/`.yml`/`.json`, suites `*_test.yaml`).
    pub files: BTreeMap<String, String>,
    /// Why (required).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The suites' results, as stored with a version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Suites run.
    pub suites: usize,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed (0 for every published version).
    pub failed: usize,
    /// Every case.
    pub results: Vec<CaseResult>,
}

/// Why a push is not published; nothing was stored.
#[derive(Debug)]
pub enum Rejected {
    /// The body is malformed: names, sizes (`400 bad_request`).
    Invalid(String),
    /// The policies do not parse or compile (`422 policy_invalid`).
    Policy(Vec<Diagnostic>),
    /// A suite cannot run (`422 suite_invalid`).
    Suite(String),
    /// A case failed (`422 tests_failed`).
    Tests(TestReport),
}

/// Whether a pushed file name is acceptable: one path segment of letters, digits, `.`, `_`, `-`,
/// not hidden, ending in `.yaml`, `.yml` or `.json`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

fn check_sizes(files: &BTreeMap<String, String>) -> Result<(), Rejected> {
    if files.len() > MAX_FILES {
        return Err(Rejected::Invalid(format!(
            "{} files: at most {MAX_FILES} per push",
            files.len()
        )));
    }
    let mut total = 0;
    for (name, text) in files {
        if !valid_name(name) {
            return Err(Rejected::Invalid(format!(
                "file name `{name}`: a policy folder's files are named like `support.yaml` or `support_test.yaml` \
                 (letters, digits, `.`, `_`, `-`; no folders; ending in .yaml, .yml or .json)"
            )));
        }
        if text.len() > MAX_FILE_BYTES {
            return Err(Rejected::Invalid(format!(
                "`{name}` is {} bytes: at most {MAX_FILE_BYTES}",
                text.len()
            )));
        }
        total += text.len();
    }
    if total > MAX_TOTAL_BYTES {
        return Err(Rejected::Invalid(format!(
            "the files hold {total} bytes: at most {MAX_TOTAL_BYTES} per push"
        )));
    }
    Ok(())
}

/// Parses and merges `files` (sorted by name, as `load_path` reads a folder) and compiles the set.
fn load<'a>(files: impl Iterator<Item = (&'a String, &'a String)>) -> Result<PolicySet, Rejected> {
    let mut set = PolicySet::default();
    let mut diagnostics = Vec::new();
    for (name, text) in files {
        match parse_source(name, text) {
            Ok(part) => merge(&mut set, part, &mut diagnostics),
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    if !diagnostics.is_empty() {
        return Err(Rejected::Policy(diagnostics));
    }
    compile(&set)?;
    Ok(set)
}

/// Compiles `set` as a snapshot would be (CEL, patterns, issuer keys).
pub fn compile(set: &PolicySet) -> Result<(), Rejected> {
    match Snapshot::compile(set.clone(), 1, 0, &[]) {
        Ok(_) => Ok(()),
        Err(Error::Policy(p)) => Err(Rejected::Policy(p.diagnostics)),
        Err(e) => Err(Rejected::Policy(vec![Diagnostic {
            file: String::new(),
            line: 0,
            column: 0,
            key: String::new(),
            message: e.to_string(),
        }])),
    }
}

/// Checks a push: sizes and names, the policies compile, every suite passes. `Ok` is the policy
/// set to publish and the suites' report.
pub fn check_push(files: &BTreeMap<String, String>) -> Result<(PolicySet, TestReport), Rejected> {
    check_sizes(files)?;
    let policy_files = || files.iter().filter(|(n, _)| !is_suite_name(n));
    if policy_files().next().is_none() {
        return Err(Rejected::Invalid(
            "no policy file in the push (only test suites, or nothing)".into(),
        ));
    }
    let set = load(policy_files())?;
    let mut report = TestReport::default();
    let mut cases = 0usize;
    let mut decisions = 0u64;
    for (name, text) in files.iter().filter(|(n, _)| is_suite_name(n)) {
        let suite = parse_suite(name, text).map_err(|e| match e {
            SuiteError::Syntax(d) => Rejected::Suite(
                d.iter()
                    .map(|d| format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            SuiteError::At(line, m) => Rejected::Suite(format!("{name}:{line}: {m}")),
        })?;
        cases += suite.cases.len();
        if cases > MAX_CASES {
            return Err(Rejected::Suite(format!("more than {MAX_CASES} test cases in one push")));
        }
        if let Some((line, _)) = suite
            .cases
            .iter()
            .find(|(_, c)| c.as_ref().is_ok_and(|c| c.repeat.unwrap_or(1) > MAX_REPEAT))
        {
            return Err(Rejected::Suite(format!(
                "{name}:{line}: `repeat` is at most {MAX_REPEAT} in a push"
            )));
        }
        decisions += suite
            .cases
            .iter()
            .filter_map(|(_, c)| c.as_ref().ok())
            .map(|c| u64::from(c.repeat.unwrap_or(1).max(1)))
            .sum::<u64>();
        if decisions > MAX_DECISIONS {
            return Err(Rejected::Suite(format!(
                "the suites ask for more than {MAX_DECISIONS} decisions (`repeat:` added up) in one push"
            )));
        }
        // A suite's `policies:` may name the folder itself or one of its files, nothing outside it.
        let suite_set = match suite.policies.as_ref().map(|(l, p)| (l, p.trim_start_matches("./"))) {
            None | Some((_, "" | ".")) => set.clone(),
            Some((_, p)) if files.contains_key(p) && !is_suite_name(p) => load(files.get_key_value(p).into_iter())?,
            Some((line, p)) => {
                return Err(Rejected::Suite(format!(
                    "{name}:{line}: `policies: {p}` is not a policy file of the pushed folder (a pushed suite tests \
                     the folder's own files)"
                )))
            }
        };
        report.suites += 1;
        for r in run_suite(&suite, &suite_set) {
            if r.failure.is_none() {
                report.passed += 1;
            } else {
                report.failed += 1;
            }
            report.results.push(r);
        }
    }
    if report.failed > 0 {
        return Err(Rejected::Tests(report));
    }
    Ok((set, report))
}

/// The canonical text of a policy set: what versions are compared by and what a diff shows.
pub fn canonical(set: &PolicySet) -> String {
    serde_json::to_string_pretty(set).unwrap_or_default()
}

/// A unified line diff of two versions' canonical policy sets (`similar`, the maintained diff
/// crate behind `insta` and `cargo`'s test output; Myers' algorithm, linear memory).
pub fn diff(from: (u64, &str), to: (u64, &str)) -> String {
    similar::TextDiff::from_lines(from.1, to.1)
        .unified_diff()
        .context_radius(3)
        .header(&format!("version {}", from.0), &format!("version {}", to.0))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n";

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn names_outside_the_folder_and_suites_pointing_out_are_refused() {
        for bad in ["../x.yaml", "a/b.yaml", ".hidden.yaml", "x.txt", ""] {
            let r = check_push(&files(&[(bad, POLICY)]));
            assert!(matches!(r, Err(Rejected::Invalid(_))), "{bad}: {r:?}");
        }
        let suite = "policies: ../../etc\ntokens: {a: {agent: bot, user: {user_id: \"1\"}}}\ntests:\n  - {name: t, token: a, action: read, resource: \"doc://1\", expect: allow}\n";
        let r = check_push(&files(&[("p.yaml", POLICY), ("p_test.yaml", suite)]));
        assert!(
            matches!(&r, Err(Rejected::Suite(m)) if m.contains("not a policy file")),
            "{r:?}"
        );
    }

    #[test]
    fn the_cost_of_a_push_is_bounded() {
        let case = |repeat: u32| {
            format!("  - {{name: t, token: a, action: read, resource: \"doc://1\", expect: allow, repeat: {repeat}}}\n")
        };
        let head = "tokens: {a: {agent: bot, user: {user_id: \"1\"}}}\ntests:\n";
        let too_many = format!("{head}{}", case(MAX_REPEAT + 1));
        let r = check_push(&files(&[("p.yaml", POLICY), ("p_test.yaml", &too_many)]));
        assert!(matches!(&r, Err(Rejected::Suite(m)) if m.contains("`repeat`")), "{r:?}");
        let many: String = std::iter::repeat_n(case(MAX_REPEAT), 21).collect();
        let r = check_push(&files(&[("p.yaml", POLICY), ("p_test.yaml", &format!("{head}{many}"))]));
        assert!(
            matches!(&r, Err(Rejected::Suite(m)) if m.contains("decisions")),
            "{r:?}"
        );
    }

    #[test]
    fn the_diff_shows_changed_lines() {
        let d = diff((1, "a\nb\n"), (2, "a\nc\n"));
        assert!(
            d.contains("--- version 1") && d.contains("-b") && d.contains("+c"),
            "{d}"
        );
    }
}
