//! Core errors to `ActError`, and the panic shield around every entry point.
//!
//! One variant per [`ErrorFamily`] (plus `Audit` for a broken audit chain,
//! as in Python), each carrying the core's stable `code` and its sentence.
//! Kotlin sees `ActException.Policy(code, msg, diagnostics)`, Swift
//! `ActError.policy(code:msg:diagnostics:)`. The text field is `msg`, not
//! `message`: Kotlin exceptions already have a `message` (uniffi fills it
//! with every field, so `e.message` still reads `code=..., msg=...`).

use act_core::{Error, ErrorFamily};

/// One problem in a policy document.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Diagnostic {
    /// The file the policy came from.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// The dotted path of the key at fault, e.g. `policy.constraints.refunds.maxAmont`.
    pub key: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// Every error ACT raises. An agent's bad input (a forged token, a resource
/// outside the grant) is never an error: it is a deny `Decision`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ActError {
    /// A policy document does not compile (code `policy_invalid`); every problem is in `diagnostics`.
    #[error("{msg}")]
    Policy {
        code: String,
        msg: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// A token could not be issued or delegated (code `token_invalid`); `reason` is the decision code.
    #[error("{msg}")]
    Token { code: String, msg: String, reason: String },
    /// A key could not be generated, parsed or used (code `key_invalid`).
    #[error("{msg}")]
    Key { code: String, msg: String },
    /// An option, argument or call is invalid, e.g. on a closed `Act` (code `invalid_argument`).
    #[error("{msg}")]
    Config { code: String, msg: String },
    /// A snapshot was rejected or a counter store failed (codes `snapshot_rejected`, `counter_store_failed`).
    #[error("{msg}")]
    Snapshot { code: String, msg: String },
    /// The counter store (Redis) failed (code `counter_store_failed`): an outage, not a bad snapshot.
    #[error("{msg}")]
    Store { code: String, msg: String },
    /// The control endpoint refused a request (`status`, `endpoint_code`) or could not be reached
    /// (`status` null, `cause_message` the transport error's text) (code `endpoint_failed`).
    #[error("{msg}")]
    Endpoint {
        code: String,
        msg: String,
        status: Option<u16>,
        endpoint_code: String,
        url: String,
        cause_message: Option<String>,
    },
    /// A human denied the approval, or it expired undecided (code `approval_denied`).
    #[error("{msg}")]
    ApprovalDenied {
        code: String,
        msg: String,
        approval_id: String,
        reason: String,
        decided_by: Option<String>,
    },
    /// No one decided the approval within the wait (code `approval_timeout`).
    #[error("{msg}")]
    ApprovalTimeout {
        code: String,
        msg: String,
        approval_id: String,
    },
    /// A file could not be read or written (code `io_error`); `path` names it.
    #[error("{msg}")]
    Io { code: String, msg: String, path: String },
    /// An audit log's hash chain is broken at `line` (code `audit_chain_broken`).
    #[error("{msg}")]
    Audit { code: String, msg: String, line: u64 },
    /// A bug in ACT, such as a caught panic (code `internal`); please report it.
    #[error("{msg}")]
    Internal { code: String, msg: String },
}

impl ActError {
    /// The stable machine code, whatever the variant.
    pub fn code(&self) -> &str {
        match self {
            ActError::Policy { code, .. }
            | ActError::Token { code, .. }
            | ActError::Key { code, .. }
            | ActError::Config { code, .. }
            | ActError::Snapshot { code, .. }
            | ActError::Store { code, .. }
            | ActError::Endpoint { code, .. }
            | ActError::ApprovalDenied { code, .. }
            | ActError::ApprovalTimeout { code, .. }
            | ActError::Io { code, .. }
            | ActError::Audit { code, .. }
            | ActError::Internal { code, .. } => code,
        }
    }

    /// `Config` (code `invalid_argument`) for an argument the caller got wrong.
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        ActError::Config {
            code: "invalid_argument".into(),
            msg: msg.into(),
        }
    }

    /// `Internal` (code `internal`).
    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        ActError::Internal {
            code: "internal".into(),
            msg: msg.into(),
        }
    }
}

impl From<Error> for ActError {
    fn from(err: Error) -> Self {
        let code = err.code().to_string();
        let msg = err.to_string();
        match (err.family(), err) {
            (_, Error::Policy(p)) => ActError::Policy {
                code,
                msg,
                diagnostics: p
                    .diagnostics
                    .into_iter()
                    .map(|d| Diagnostic {
                        file: d.file,
                        line: d.line as u64,
                        column: d.column as u64,
                        key: d.key,
                        message: d.message,
                    })
                    .collect(),
            },
            (_, Error::Token { reason, .. }) => ActError::Token {
                code,
                msg,
                reason: reason.as_str().into(),
            },
            (_, Error::Io { path, .. }) => ActError::Io { code, msg, path },
            (ErrorFamily::Policy, _) => ActError::Policy {
                code,
                msg,
                diagnostics: Vec::new(),
            },
            (ErrorFamily::Token, _) => ActError::Token {
                code,
                msg,
                reason: String::new(),
            },
            (ErrorFamily::Key, _) => ActError::Key { code, msg },
            (ErrorFamily::Config, _) => ActError::Config { code, msg },
            (_, Error::AuditChain { line, .. }) => ActError::Audit {
                code,
                msg,
                line: line as u64,
            },
            (
                _,
                ref e @ Error::Endpoint {
                    ref url,
                    status,
                    code: ref endpoint_code,
                    ..
                },
            ) => ActError::Endpoint {
                cause_message: std::error::Error::source(e).map(|s| s.to_string()),
                code,
                msg,
                status,
                endpoint_code: endpoint_code.clone(),
                url: url.clone(),
            },
            (
                _,
                Error::ApprovalDenied {
                    id, reason, decided_by, ..
                },
            ) => ActError::ApprovalDenied {
                code,
                msg,
                approval_id: id,
                reason,
                decided_by,
            },
            (_, Error::ApprovalTimeout { id, .. }) => ActError::ApprovalTimeout {
                code,
                msg,
                approval_id: id,
            },
            (ErrorFamily::Store, _) => ActError::Store { code, msg },
            (ErrorFamily::Snapshot | ErrorFamily::Audit | ErrorFamily::Endpoint | ErrorFamily::Approval, _) => {
                ActError::Snapshot { code, msg }
            }
            (ErrorFamily::Io, _) => ActError::Io {
                code,
                msg,
                path: String::new(),
            },
            (ErrorFamily::Internal, _) => ActError::Internal { code, msg },
        }
    }
}

/// `Result` with [`ActError`].
pub type Result<T, E = ActError> = std::result::Result<T, E>;

/// Runs an entry point; a panic inside becomes `ActError::Internal` instead of
/// crossing the FFI boundary (where uniffi would raise its own generic error).
pub(crate) fn shield<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    act_core::client::catch_panic(f, ActError::internal)
}
