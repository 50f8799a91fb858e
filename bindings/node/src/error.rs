//! Core errors to JavaScript errors, and the panic shield around every entry point.
//!
//! A thrown error is a plain JS `Error` carrying `code` (the core's stable machine code, e.g.
//! `policy_invalid`), `family` (the core's `family_name`), the fields of its variant (the core's
//! `error_fields`, camelCase: `diagnostics`, `reason`, `path`, `line`, `url`, `status`,
//! `endpointCode`, `approvalId`, `decidedBy`, `waitedMs`) and `causes`, the texts of its source
//! chain. `node/errors.js` turns it into the matching `ActError` subclass with `cause` set. A Rust
//! panic never unwinds into Node: [`shield`] reports it as code `internal`.

use act_core::client::host::camel_case_keys;
use act_core::client::{catch_panic, cause_chain, error_fields, family_name};
use act_core::Error;
use napi::bindgen_prelude::*;
use serde_json::Value;

/// Builds the JS error object for `err` and wraps it so napi throws it as is.
pub fn to_js(env: &Env, err: &Error) -> napi::Error {
    build(env, err).unwrap_or_else(|e| e)
}

fn build(env: &Env, err: &Error) -> Result<napi::Error> {
    let mut obj = env.create_error(napi::Error::from_reason(err.to_string()))?;
    obj.set("code", err.code())?;
    obj.set("family", family_name(err.family()))?;
    if let Value::Object(fields) = camel_case_keys(Value::Object(error_fields(err))) {
        for (k, v) in fields {
            obj.set(k.as_str(), v)?;
        }
    }
    let causes = cause_chain(err);
    if !causes.is_empty() {
        obj.set("causes", causes)?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// Runs `f`, mapping its error to a JS error and a panic to an `internal` one.
pub fn shield<T>(env: &Env, f: impl FnOnce() -> act_core::Result<T>) -> Result<T> {
    catch_panic(f, Error::Internal).map_err(|e| to_js(env, &e))
}
