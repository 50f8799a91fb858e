//! `act replay`: what a candidate policy folder would have decided for recorded traffic, printed
//! as a diff, with `--fail-on` so CI can refuse a policy change that turns denials into allows.

use crate::exit::{CmdResult, Failure, CHECK_FAILED, IO};
use act_core::audit::AuditRecord;
use act_core::replay::{replay, ReplayReport};
use std::io::BufRead;
use std::path::PathBuf;

/// Arguments of `act replay`.
#[derive(clap::Args)]
#[command(after_help = "\
Each record of the audit log is decided again by the candidate policies, in time order, on a clock
set to the record's time (limits and breakers see the recorded sequence). Records with redacted
values, or that need user context the record lacks, are reported as \"cannot replay\", never guessed;
token errors are skipped. A decision allowed by a human's approval counts as approval_required.

--fail-on takes OLD->NEW with outcomes allow, deny, approval_required or *, e.g.
  --fail-on '*->allow'                 any decision the candidate newly allows
  --fail-on 'approval_required->allow' an approval the candidate drops
  --fail-on any                        any change at all
Exit 1 when a change matches; 0 otherwise.")]
pub struct ReplayArgs {
    /// The candidate policy file or folder.
    #[arg(long)]
    pub policy: PathBuf,
    /// A JSON Lines audit log (as the JSONL sink or `act serve --audit-log` writes it).
    #[arg(long)]
    pub audit: PathBuf,
    /// Exit 1 if a change matches OLD->NEW (repeatable).
    #[arg(long = "fail-on", value_name = "OLD->NEW")]
    pub fail_on: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `act replay`.
pub fn run(a: ReplayArgs) -> CmdResult {
    let rules = a
        .fail_on
        .iter()
        .map(|s| FailOn::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let policies = act_core::policy::load_path(&a.policy).map_err(crate::policy::report)?;
    let (records, other) = read_records(&a.audit)?;
    let report = replay(records, policies)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print_report(&report, other);
    }
    let failing: Vec<&str> = rules
        .iter()
        .filter(|r| {
            report
                .changed
                .iter()
                .any(|c| r.matches(c.old.outcome.as_str(), c.new.outcome.as_str()))
        })
        .map(|r| r.text.as_str())
        .collect();
    if failing.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            CHECK_FAILED,
            format!("replay: changes match --fail-on {}", failing.join(", ")),
        ))
    }
}

/// The decision records of a JSONL log, and how many other lines (checkpoints, blank) it held.
fn read_records(path: &std::path::Path) -> Result<(Vec<AuditRecord>, usize), Failure> {
    let at = |n: usize, e: String| Failure::new(IO, format!("{}:{n}: {e}", path.display()));
    let f = std::fs::File::open(path).map_err(|e| Failure::new(IO, format!("{}: {e}", path.display())))?;
    let mut records = Vec::new();
    let mut other = 0;
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| at(i + 1, e.to_string()))?;
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) if line.trim().is_empty() => {
                other += 1;
                continue;
            }
            Err(e) => return Err(at(i + 1, format!("not JSON: {e}"))),
        };
        // Lines that are not decisions (e.g. signed chain checkpoints) have no outcome.
        if value.get("outcome").is_none() {
            other += 1;
            continue;
        }
        records.push(serde_json::from_value(value).map_err(|e| at(i + 1, format!("not an audit record: {e}")))?);
    }
    Ok((records, other))
}

fn print_report(r: &ReplayReport, other_lines: usize) {
    for c in &r.changed {
        println!(
            "{} {} {} {} {}: {} ({}) -> {} ({}): {}",
            c.time,
            c.agent,
            c.subject,
            c.action,
            c.resource,
            c.old.outcome.as_str(),
            c.old.reason,
            c.new.outcome.as_str(),
            c.new.reason,
            c.new.message
        );
    }
    for n in &r.cannot_replay {
        println!("cannot replay {}: {}", n.id, n.why);
    }
    println!();
    println!("changes by rule:");
    if r.by_rule.is_empty() {
        println!("  (none)");
    }
    for (rule, changes) in &r.by_rule {
        let list: Vec<String> = changes.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        println!("  {rule}: {}", list.join(", "));
    }
    println!(
        "replayed {}, changed {}, cannot replay {}, skipped {} (token errors){}",
        r.replayed,
        r.changed.len(),
        r.cannot_replay.len(),
        r.skipped.len(),
        if other_lines > 0 {
            format!(", {other_lines} non-decision line(s) ignored")
        } else {
            String::new()
        }
    );
}

/// One `--fail-on OLD->NEW` rule.
struct FailOn {
    text: String,
    old: Option<String>,
    new: Option<String>,
}

impl FailOn {
    fn parse(text: &str) -> Result<Self, Failure> {
        const OUTCOMES: [&str; 3] = ["allow", "deny", "approval_required"];
        if text == "any" {
            return Ok(Self {
                text: text.into(),
                old: None,
                new: None,
            });
        }
        let side = |s: &str| -> Result<Option<String>, Failure> {
            let s = s.trim();
            match s {
                "*" => Ok(None),
                _ if OUTCOMES.contains(&s) => Ok(Some(s.to_string())),
                _ => Err(Failure::usage(format!(
                    "--fail-on {text}: `{s}` is not an outcome; use allow, deny, approval_required or *"
                ))),
            }
        };
        let Some((old, new)) = text.split_once("->") else {
            return Err(Failure::usage(format!(
                "--fail-on {text}: write OLD->NEW (e.g. '*->allow') or `any`"
            )));
        };
        Ok(Self {
            text: text.into(),
            old: side(old)?,
            new: side(new)?,
        })
    }

    fn matches(&self, old: &str, new: &str) -> bool {
        self.old.as_deref().is_none_or(|o| o == old) && self.new.as_deref().is_none_or(|n| n == new)
    }
}
