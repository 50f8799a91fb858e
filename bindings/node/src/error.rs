//! Core errors to JavaScript errors, and the panic shield around every entry point.
//!
//! A thrown error is a plain JS `Error` carrying `code` (the core's stable
//! machine code, e.g. `policy_invalid`), `family` (`policy`, `token`, `key`,
//! `config`, `snapshot`, `io`, `internal`, `audit`) and, for policies, the
//! `diagnostics` (file, line, column, key, message). `node/index.js` turns it
//! into the matching `ActError` subclass. A Rust panic never unwinds into
//! Node: [`shield`] reports it as family `internal`, code `internal`.

use act_core::{Error, ErrorFamily};
use napi::bindgen_prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What went wrong on the Rust side of a call.
#[derive(Debug)]
pub enum Failure {
    /// A core error.
    Core(Error),
    /// A Node-API call failed (its error is thrown as is).
    Napi(napi::Error),
}

impl From<napi::Error> for Failure {
    fn from(e: napi::Error) -> Self {
        Failure::Napi(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

/// The result of Rust-side work.
pub type Fallible<T> = std::result::Result<T, Failure>;

fn family_name(f: ErrorFamily) -> &'static str {
    match f {
        ErrorFamily::Policy => "policy",
        ErrorFamily::Token => "token",
        ErrorFamily::Key => "key",
        ErrorFamily::Config => "config",
        ErrorFamily::Snapshot => "snapshot",
        ErrorFamily::Store => "store",
        ErrorFamily::Audit => "audit",
        ErrorFamily::Endpoint => "endpoint",
        ErrorFamily::Approval => "approval",
        ErrorFamily::Io => "io",
        ErrorFamily::Internal => "internal",
    }
}

/// Builds the JS error object for `failure` and wraps it so napi throws it as is.
pub fn to_js(env: &Env, failure: Failure) -> napi::Error {
    match build(env, failure) {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn build(env: &Env, failure: Failure) -> Result<napi::Error> {
    let failure = match failure {
        Failure::Napi(e) => return Ok(e),
        other => other,
    };
    let (message, code, family) = match &failure {
        Failure::Core(e @ Error::ApprovalDenied { .. }) => (e.to_string(), e.code(), "approval_denied"),
        Failure::Core(e @ Error::ApprovalTimeout { .. }) => (e.to_string(), e.code(), "approval_timeout"),
        Failure::Core(e) => (e.to_string(), e.code(), family_name(e.family())),
        Failure::Napi(_) => unreachable!("thrown as is above"),
    };
    let mut obj = env.create_error(napi::Error::from_reason(message))?;
    obj.set("code", code)?;
    obj.set("family", family)?;
    match failure {
        Failure::Core(Error::Policy(p)) => {
            let mut list = env.create_array(p.diagnostics.len() as u32)?;
            for (i, d) in p.diagnostics.iter().enumerate() {
                let mut o = Object::new(env)?;
                o.set("file", d.file.as_str())?;
                o.set("line", d.line as u32)?;
                o.set("column", d.column as u32)?;
                o.set("key", d.key.as_str())?;
                o.set("message", d.message.as_str())?;
                list.set(i as u32, o)?;
            }
            obj.set("diagnostics", list)?;
        }
        Failure::Core(Error::Token { reason, .. }) => obj.set("reason", reason.as_str())?,
        Failure::Core(Error::Io { path, .. }) => obj.set("path", path.as_str())?,
        Failure::Core(Error::AuditChain { line, .. }) => obj.set("line", line as u32)?,
        Failure::Core(
            ref e @ Error::Endpoint {
                ref url,
                status,
                ref code,
                ..
            },
        ) => {
            obj.set("url", url.as_str())?;
            obj.set("status", status.map(u32::from))?;
            obj.set("endpointCode", code.as_str())?;
            if let Some(source) = std::error::Error::source(e) {
                obj.set("causeMessage", source.to_string())?;
            }
        }
        Failure::Core(Error::ApprovalDenied {
            ref id,
            ref status,
            ref reason,
            ref decided_by,
        }) => {
            obj.set("approvalId", id.as_str())?;
            obj.set("status", status.as_str())?;
            obj.set("reason", reason.as_str())?;
            obj.set("decidedBy", decided_by.as_deref())?;
        }
        Failure::Core(Error::ApprovalTimeout { ref id, waited_ms }) => {
            obj.set("approvalId", id.as_str())?;
            obj.set("waitedMs", waited_ms as f64)?;
        }
        _ => {}
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`, mapping its error to a JS error and a panic to an `internal` one.
pub fn shield<T>(env: &Env, f: impl FnOnce() -> Fallible<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_js(env, e)),
        Err(payload) => Err(to_js(
            env,
            Failure::Core(Error::Internal(format!(
                "a bug in ACT (please report it): {}",
                panic_message(&*payload)
            ))),
        )),
    }
}

/// Like [`shield`] for work that also needs `env` to build its result.
pub fn shield_env<T>(env: &Env, f: impl FnOnce(&Env) -> Fallible<T>) -> Result<T> {
    shield(env, || f(env))
}
