//! `act-uniffi`: the Kotlin and Swift binding of `act-core`, through uniffi
//! proc macros (library mode: the bindings are generated from this cdylib).
//!
//! Thin by design, like the Python binding: every module converts arguments
//! and results and maps errors; rules and defaults live in the core. The
//! nouns match `act_sdk`: [`Act`](act::Act), [`SigningKey`](keys::SigningKey),
//! [`Decision`](decision::Decision), [`ActError`](error::ActError).
//! Nothing panics across the FFI boundary: every fallible entry point runs
//! inside [`error::shield`], which turns a panic into `ActError::Internal`.

mod act;
mod clock;
mod decision;
mod error;
mod keys;
mod value;

pub use act::{Act, ActStatus};
pub use clock::ManualClock;
pub use decision::{outcome_code, ApprovalCondition, ApprovalRequest, Decision, Outcome, ShadowOutcome, TraceStep};
pub use error::{ActError, Diagnostic};
pub use keys::{SigningKey, VerifyingKey};
pub use value::{context_from_json, context_to_json, Context, ContextValue};

use error::{shield, Result};

uniffi::setup_scaffolding!();

/// Checks the hash chain of a JSON Lines audit log; returns the number of records.
///
/// `start_hash` is the `prev_hash` the first record must carry (default: the
/// genesis hash of a log that starts a chain; `None` accepts any). Fails with
/// `ActError.Audit` (with `line`) at the first removed, reordered or edited record.
#[uniffi::export(default(start_hash = Some("0000000000000000000000000000000000000000000000000000000000000000")))]
pub fn verify_audit_log(path: String, start_hash: Option<String>) -> Result<u64> {
    shield(|| {
        let file = std::fs::File::open(&path).map_err(|e| act_core::Error::Io {
            path: path.clone(),
            source: e,
        })?;
        act_core::audit::verify_log(std::io::BufReader::new(file), start_hash.as_deref())
            .map(|n| n as u64)
            .map_err(|chain| ActError::from(act_core::Error::from(chain)))
    })
}

/// Every decision reason code, in the core's order (the stable contract).
#[uniffi::export]
pub fn reason_codes() -> Vec<String> {
    act_core::Reason::ALL.iter().map(|r| r.as_str().to_string()).collect()
}

/// The `prev_hash` of the first record of an audit chain.
#[uniffi::export]
pub fn genesis_hash() -> String {
    act_core::audit::GENESIS_HASH.to_string()
}

/// The version of this library.
#[uniffi::export]
pub fn act_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Panics inside the shield, so test suites can prove a panic arrives as
/// `ActError.Internal`. Not for use outside tests.
#[uniffi::export]
pub fn panic_for_tests() -> Result<()> {
    shield(|| panic!("deliberate panic from act_uniffi::panic_for_tests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_start_hash_is_the_genesis_hash() {
        assert_eq!(
            genesis_hash(),
            "0000000000000000000000000000000000000000000000000000000000000000"
        );
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        match panic_for_tests() {
            Err(ActError::Internal { code, msg }) => {
                assert_eq!(code, "internal");
                assert!(msg.contains("deliberate panic"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
}
