//! `act audit shadow LOG`: the decisions where an agent's shadow policy disagreed with what
//! was enforced, read from a JSON Lines audit log.

use crate::exit::{CmdResult, Failure, CHECK_FAILED, IO};
use act_core::audit::AuditRecord;
use std::io::BufRead;
use std::path::PathBuf;

/// Arguments of `act audit shadow`.
#[derive(clap::Args)]
pub struct ShadowArgs {
    /// The log file.
    pub file: PathBuf,
    /// List every record that carries a shadow outcome, not only disagreements.
    #[arg(long)]
    pub all: bool,
    /// Exit 1 when any decision disagrees (to gate enforcing a shadow policy in CI).
    #[arg(long)]
    pub fail_on_disagreement: bool,
}

/// Lists shadow disagreements, then totals by rule.
pub fn run(a: &ShadowArgs) -> CmdResult {
    let f = std::fs::File::open(&a.file).map_err(|e| Failure::new(IO, format!("{}: {e}", a.file.display())))?;
    let (mut shadowed, mut disagree) = (0usize, 0usize);
    let mut by_rule: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Failure::new(IO, format!("{}: {e}", a.file.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: AuditRecord = serde_json::from_str(&line).map_err(|e| {
            Failure::new(
                CHECK_FAILED,
                format!("{}:{}: not an audit record: {e}", a.file.display(), i + 1),
            )
        })?;
        let Some(s) = &r.shadow else { continue };
        shadowed += 1;
        let differs = s.outcome != r.outcome || s.reason != r.reason;
        if differs {
            disagree += 1;
            let rule = s.rule.clone().or_else(|| r.rule.clone()).unwrap_or_else(|| "-".into());
            *by_rule.entry(rule).or_default() += 1;
        }
        if differs || a.all {
            println!(
                "{} {} {} {} {}: enforced {} ({}) {} shadow {} ({}): {}",
                r.time,
                r.agent.as_deref().unwrap_or("-"),
                r.subject.as_deref().unwrap_or("-"),
                r.action,
                r.resource,
                r.outcome.as_str(),
                r.reason.as_str(),
                if differs { "!=" } else { "==" },
                s.outcome.as_str(),
                s.reason.as_str(),
                s.message
            );
        }
    }
    for (rule, n) in &by_rule {
        println!("rule `{rule}`: {n} disagreement(s)");
    }
    println!("{shadowed} decision(s) with a shadow outcome, {disagree} disagree");
    if a.fail_on_disagreement && disagree > 0 {
        return Err(Failure::new(CHECK_FAILED, format!("{disagree} shadow disagreement(s)")));
    }
    Ok(())
}
