//! `act policy check` and `act policy test`.

use crate::exit::{diagnostic_line, is_syntax, CmdResult, Failure, IO, POLICY_INVALID, POLICY_SYNTAX};
use act_core::policy::load_path;
use act_core::snapshot::Snapshot;
use act_core::Error;
use std::path::PathBuf;

/// `act policy ...`
#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Parses and compiles a policy file or folder; prints every problem as `file:line:col: key: message`.
    ///
    /// Exit 0 when it compiles, 3 on YAML/JSON syntax errors, 4 on invalid policies
    /// (unknown keys, wrong types, bad CEL or patterns, duplicate agents), 5 when a file cannot be read.
    Check(CheckArgs),
    /// Runs the `*_test.yaml` suites in a folder (or one suite file) against its policies.
    ///
    /// A suite names tokens (principals) and test cases (request + expected outcome and reason).
    /// Prints PASS/FAIL per case and `N passed, M failed`; exit 1 when a case fails,
    /// 9 when a suite is invalid, 3/4 when the policies do not compile.
    ///
    /// Suite format:
    ///
    ///   name: refunds                      # optional
    ///   policies: ../policies              # optional; default: the suite's folder
    ///   now: 2026-01-05T12:00:00Z          # optional fixed clock (RFC 3339)
    ///   tokens:
    ///     alice: {agent: customer-support-bot, user: {user_id: "42"}}
    ///   tests:
    ///     - name: small refund
    ///       token: alice
    ///       action: process_refund
    ///       resource: order://customer:42/1001
    ///       context: {amount: 50}
    ///       expect: allow                  # allow | deny | approval_required
    ///       reason: allowed                # optional reason code
    ///       repeat: 1                      # optional: send N times, judge the last (rate limits)
    ///       approve: false                 # optional: approve the approval request, then retry
    #[command(verbatim_doc_comment)]
    Test(TestArgs),
    /// Publishes a policy folder on a running control plane (admin key): the server compiles it,
    /// runs its `*_test.yaml` suites and publishes a new version only when every case passes.
    ///
    /// Exit 0 when published, 1 when a case failed, 4 when the policies do not compile, 9 when a
    /// suite is invalid, 11 when the server refused otherwise or cannot be reached.
    Push(crate::push::PushArgs),
}

/// Arguments of `act policy check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// A policy file, or a folder of `.yaml`/`.yml`/`.json` policies (`*_test.yaml` are skipped).
    pub path: PathBuf,
    /// Print the canonical form (JSON) of what the policies mean.
    #[arg(long)]
    pub print: bool,
}

/// Arguments of `act policy test`.
#[derive(clap::Args)]
pub struct TestArgs {
    /// A folder with policies and `*_test.yaml` suites, or one suite file.
    pub path: PathBuf,
    /// Print every case, not only failures.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Runs a policy command.
pub fn run(c: PolicyCommand) -> CmdResult {
    match c {
        PolicyCommand::Check(a) => check(a),
        PolicyCommand::Test(a) => crate::suite::run(&a.path, a.verbose),
        PolicyCommand::Push(a) => crate::push::run(a),
    }
}

fn check(a: CheckArgs) -> CmdResult {
    let set = match load_path(&a.path) {
        Ok(set) => set,
        Err(e) => return Err(report(e)),
    };
    let agents: Vec<String> = set.agents.iter().map(|p| p.agent.clone()).collect();
    if a.print {
        println!("{}", serde_json::to_string_pretty(&set).unwrap_or_default());
    }
    Snapshot::compile(set, 1, 0, &[]).map_err(report)?;
    eprintln!("ok: {} agent(s): {}", agents.len(), agents.join(", "));
    Ok(())
}

/// Prints every diagnostic on stdout (one per line) and picks the exit code.
pub fn report(e: Error) -> Failure {
    match e {
        Error::Policy(p) => {
            for d in &p.diagnostics {
                println!("{}", diagnostic_line(d));
            }
            let n = p.diagnostics.len();
            if p.diagnostics.iter().any(is_syntax) {
                Failure::new(POLICY_SYNTAX, format!("{n} problem(s): syntax error"))
            } else {
                Failure::new(POLICY_INVALID, format!("{n} problem(s): invalid policy"))
            }
        }
        Error::Io { .. } => Failure::new(IO, e.to_string()),
        // A bad `trusted_issuers` key is a policy problem too.
        Error::Config(m) => Failure::new(POLICY_INVALID, m),
        other => Failure::from(other),
    }
}
