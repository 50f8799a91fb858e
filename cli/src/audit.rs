//! `act audit verify`: checks the hash chain of a JSON Lines audit log.

use crate::exit::{CmdResult, Failure, CHECK_FAILED, IO};
use act_core::audit::{verify_log, verify_merged_log, GENESIS_HASH};
use std::path::PathBuf;

/// `act audit ...`
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verifies a JSON Lines audit log: exit 1 naming the first line that was removed, reordered or edited.
    Verify(VerifyArgs),
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
}

/// Runs an audit command.
pub fn run(c: AuditCommand) -> CmdResult {
    match c {
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
