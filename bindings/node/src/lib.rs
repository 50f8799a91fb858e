//! # act-node
//!
//! The Node.js binding of `act-core`, built with napi-rs as a cdylib and loaded
//! by the npm package `act-sdk` (`node/`). It is deliberately thin: it converts
//! JavaScript values to core types and back, and maps core errors to JS errors
//! with a stable `code` and `family`; every rule and default lives in the core.
//!
//! The JS package (`node/index.js`) is the public API: it checks argument
//! types, turns native errors into the `ActError` classes and adds `guard`.
//! Everything exported here is internal to that package.
//!
//! Module map: [`error`] (core errors to JS, the panic shield), [`keys`]
//! (`SigningKey`), [`clock`] (`ManualClock` for tests), [`client`] (the
//! engine, its waiting calls, audit records), [`decision`] (decisions as one string).

// napi methods take the host API's keyword arguments one parameter each.
#![allow(
    clippy::too_many_arguments,
    reason = "one parameter per keyword argument of the JS API"
)]

pub mod client;
pub mod clock;
pub mod decision;
pub mod error;
pub mod keys;

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Every decision reason code, in the core's order (`docs/reasons.md`): a decision's header
/// names its reason by index here.
#[napi(js_name = "reasonCodes")]
pub fn reason_codes() -> Vec<&'static str> {
    act_core::Reason::ALL.iter().map(|r| r.as_str()).collect()
}

/// The three outcomes, in the order a decision's header indexes them.
#[napi(js_name = "outcomeCodes")]
pub fn outcome_codes() -> Vec<&'static str> {
    use act_core::Outcome;
    [Outcome::Allow, Outcome::Deny, Outcome::ApprovalRequired]
        .iter()
        .map(|o| o.as_str())
        .collect()
}

/// Checks a JSON Lines audit log's hash chain (as `act audit verify` does); returns the record
/// count. `start` is the `prev_hash` the first record must carry (omit it for a log that may
/// continue an earlier one); `checkpoints` (the `<log>.checkpoints` text) and `audit_key` (its
/// public key) also check the signed checkpoints.
#[napi(js_name = "verifyAuditLog")]
pub fn verify_audit_log(
    env: &Env,
    text: String,
    start: Option<String>,
    checkpoints: Option<String>,
    audit_key: Option<String>,
) -> Result<u32> {
    error::shield(env, || {
        let (s, c, k) = (start.as_deref(), checkpoints.as_deref(), audit_key.as_deref());
        Ok(act_core::client::host::verify_audit_log(&text, s, c, k)? as u32)
    })
}

/// The core's status field names (snake_case; `status` shows them camelCase).
#[napi(js_name = "statusFields")]
pub fn status_fields() -> Vec<String> {
    act_core::client::STATUS_FIELDS.iter().map(|s| s.to_string()).collect()
}

/// The hash a new audit chain starts from.
#[napi(js_name = "GENESIS_HASH")]
pub const GENESIS_HASH: &str = act_core::audit::GENESIS_HASH;

/// Panics inside the shield, so tests can show a panic becomes an `internal` error.
#[napi(js_name = "_panicForTests")]
pub fn panic_for_tests(env: &Env) -> Result<()> {
    error::shield(env, || -> act_core::Result<()> {
        panic!("a deliberate panic for the test suite")
    })
}
