//! `act audit verify`: checks the hash chain of a JSON Lines audit log (`act audit shadow`:
//! see `audit_shadow.rs`).

use crate::exit::{CmdResult, Failure, CHECK_FAILED, IO};
use act_core::audit::checkpoint::Checkpoint;
use act_core::audit::checkpoint::{checkpoints_path, read_checkpoints, verify_checkpoint, verify_log_with_checkpoints};
use act_core::audit::{verify_log, verify_merged_log, GENESIS_HASH};
use act_core::VerifyingKey;
use std::path::{Path, PathBuf};

/// `act audit ...`
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verifies a JSON Lines audit log: exit 1 naming the first line that was removed, reordered or edited.
    Verify(VerifyArgs),
    /// Lists the decisions where an agent's shadow policy disagreed with what was enforced.
    Shadow(crate::audit_shadow::ShadowArgs),
}

/// Arguments of `act audit verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The log file.
    pub file: PathBuf,
    /// The expected `prev_hash` of the first record (default: the genesis hash; `any` accepts a log
    /// that continues an earlier, rotated file).
    #[arg(long, default_value = GENESIS_HASH, conflicts_with = "merged")]
    pub start: String,
    /// The log interleaves several chains (one per SDK process), as `act serve --audit-log` writes.
    #[arg(long)]
    pub merged: bool,
    /// Signed checkpoints to check the log against: a checkpoints file (one JWS per line, e.g.
    /// `<log>.checkpoints` or a copy kept elsewhere) or one checkpoint JWS. Catches removed last
    /// records and edits re-hashed from the edit on. Needs --audit-key.
    #[arg(long, conflicts_with = "merged", requires = "audit_key")]
    pub checkpoint: Option<String>,
    /// The public audit key that signs the checkpoints (`ed25519:...`, a JWK, a PEM file, or a file
    /// holding one). With it alone, `<log>.checkpoints` is used.
    #[arg(long, conflicts_with = "merged")]
    pub audit_key: Option<String>,
}

/// Runs an audit command.
pub fn run(c: AuditCommand) -> CmdResult {
    match c {
        AuditCommand::Shadow(a) => crate::audit_shadow::run(&a),
        AuditCommand::Verify(a) => {
            let f = std::fs::File::open(&a.file).map_err(|e| Failure::new(IO, format!("{}: {e}", a.file.display())))?;
            let reader = std::io::BufReader::new(f);
            if a.merged {
                return match verify_merged_log(reader) {
                    Ok((n, chains)) => {
                        println!("ok: {n} record(s) in {chains} chain(s), intact");
                        Ok(())
                    }
                    Err(e) => Err(Failure::new(
                        CHECK_FAILED,
                        format!("{}:{}: {}", a.file.display(), e.line, e.message),
                    )),
                };
            }
            let start = (a.start != "any").then_some(a.start.as_str());
            if a.checkpoint.is_none() && is_rotated(&a.file) {
                return verify_rotated(&a);
            }
            if let Some(key) = &a.audit_key {
                let key = crate::keys::parse_public(key)?;
                let cps = load_checkpoints(&a.file, a.checkpoint.as_deref(), &key)?;
                return match verify_log_with_checkpoints(reader, start, &cps) {
                    Ok(n) => {
                        let covered = cps.iter().map(|c| c.count).max().unwrap_or(0);
                        println!(
                            "ok: {n} record(s), chain intact, {} signed checkpoint(s) match (the last covers {covered})",
                            cps.len()
                        );
                        Ok(())
                    }
                    Err(e) => Err(Failure::new(CHECK_FAILED, located(&a.file, e.line, &e.message))),
                };
            }
            if checkpoints_path(&a.file).exists() {
                eprintln!(
                    "note: {} exists; pass --audit-key to check the log against it (a chain alone cannot show \
                     that its last records were removed)",
                    checkpoints_path(&a.file).display()
                );
            }
            match verify_log(reader, start) {
                Ok(n) => {
                    println!("ok: {n} record(s), chain intact");
                    Ok(())
                }
                Err(e) => Err(Failure::new(
                    CHECK_FAILED,
                    format!("{}:{}: {}", a.file.display(), e.line, e.message),
                )),
            }
        }
    }
}

/// Whether `log` has rotated files or a `<log>.pruned` (see `act_core::audit::retention`).
fn is_rotated(log: &Path) -> bool {
    use act_core::audit::retention::{pruned_path, rotated_files};
    pruned_path(log).exists() || rotated_files(log).is_ok_and(|n| !n.is_empty())
}

/// A rotated (maybe pruned) log, verified as one chain across its files.
fn verify_rotated(a: &VerifyArgs) -> CmdResult {
    let key = a.audit_key.as_deref().map(crate::keys::parse_public).transpose()?;
    match act_core::audit::retention::verify_rotated_log(&a.file, key.as_ref()) {
        Ok(r) => {
            let signed = if key.is_some() {
                format!(", {} signed checkpoint(s) match", r.checkpoints)
            } else {
                String::new()
            };
            let gap = match r.pruned {
                Some((n, file)) => format!(
                    "; retention deleted the {n} record(s) before them (rotated files up to {file:06}, as {} records)",
                    act_core::audit::retention::pruned_path(&a.file).display()
                ),
                None => "; it starts at the genesis hash".to_string(),
            };
            println!(
                "ok: {} record(s) in {} file(s), chain intact{signed}{gap}",
                r.records, r.files
            );
            Ok(())
        }
        // The message names the file (one of several); the line is that file's.
        Err(e) if e.line == 0 => Err(Failure::new(CHECK_FAILED, e.message)),
        Err(e) => Err(Failure::new(CHECK_FAILED, format!("{} (line {})", e.message, e.line))),
    }
}

/// The checkpoints named by `--checkpoint` (a file, or one JWS), default `<log>.checkpoints`.
fn load_checkpoints(log: &Path, given: Option<&str>, key: &VerifyingKey) -> Result<Vec<Checkpoint>, Failure> {
    let path = match given {
        Some(g) if !Path::new(g).exists() && g.trim().split('.').count() == 3 => {
            let cp = verify_checkpoint(g, key).map_err(|e| Failure::new(CHECK_FAILED, format!("--checkpoint: {e}")))?;
            return Ok(vec![cp]);
        }
        Some(g) => PathBuf::from(g),
        None => checkpoints_path(log),
    };
    let f = std::fs::File::open(&path).map_err(|e| Failure::new(IO, format!("{}: {e}", path.display())))?;
    let cps = read_checkpoints(std::io::BufReader::new(f), key)
        .map_err(|e| Failure::new(CHECK_FAILED, format!("{}: {e}", path.display())))?;
    if cps.is_empty() {
        return Err(Failure::new(
            CHECK_FAILED,
            format!("{}: no checkpoint to check against", path.display()),
        ));
    }
    Ok(cps)
}

fn located(file: &Path, line: usize, message: &str) -> String {
    if line == 0 {
        format!("{}: {message}", file.display())
    } else {
        format!("{}:{line}: {message}", file.display())
    }
}
