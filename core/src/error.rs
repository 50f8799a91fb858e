//! Errors for misuse and bad configuration.
//!
//! An agent's bad input (a tampered token, a resource outside the grant) is
//! not an error: it is a deny [`Decision`](crate::Decision) with a
//! [`Reason`](crate::Reason). `Error` is for the host application's mistakes:
//! a broken policy file, an unreadable key, an impossible option. Every
//! variant has a stable [`code`](Error::code) and belongs to one
//! [`ErrorFamily`], which bindings map to their own exception types.

use std::fmt;

/// The family of an [`Error`]; bindings map each to one host exception type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorFamily {
    /// A policy document failed to parse or compile.
    Policy,
    /// A token could not be issued or inspected.
    Token,
    /// A key could not be generated, parsed or used.
    Key,
    /// An option, argument or request is invalid.
    Config,
    /// A snapshot was rejected, or an audit record could not be queued.
    Snapshot,
    /// The counter store (Redis) failed: an outage, not a bad snapshot.
    Store,
    /// The control endpoint refused a request or could not be reached.
    Endpoint,
    /// A human denied an approval, or none decided in time.
    Approval,
    /// An audit log's hash chain is broken.
    Audit,
    /// A file could not be read or written.
    Io,
    /// A bug in ACT (a caught panic, a broken invariant).
    Internal,
}

/// One problem in a policy document, located as precisely as the source allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the policy came from, or `<inline>`.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// The dotted path of the key at fault, e.g. `policy.constraints.refunds.maxAmont`.
    pub key: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// A policy document that does not compile. Holds every problem found, not just the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// The problems, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// Every error ACT returns to a host application.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy does not compile; see [`PolicyError::diagnostics`].
    #[error("invalid policy:\n{0}")]
    Policy(#[from] PolicyError),
    /// A token could not be issued or decoded; `reason` is the decision code it maps to.
    #[error("{message}")]
    Token {
        /// The decision code a validation would report for this token.
        reason: crate::Reason,
        /// What is wrong with it.
        message: String,
    },
    /// A key could not be parsed, generated or used.
    #[error("invalid key: {0}")]
    Key(String),
    /// An option or argument is invalid.
    #[error("invalid argument: {0}")]
    Config(String),
    /// A snapshot was rejected; the previous one keeps serving.
    #[error("snapshot rejected: {0}")]
    Snapshot(String),
    /// The counter store failed.
    #[error("counter store failed: {0}")]
    Store(String),
    /// The control endpoint answered an error, or could not be reached (`status` is `None` then).
    #[error("{method} {url}: {}", endpoint_detail(*status, code, message))]
    Endpoint {
        /// `GET`, `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The HTTP status, `None` when no answer arrived.
        status: Option<u16>,
        /// The endpoint's stable error code (`forbidden_role`, `not_found`, ...), or
        /// `unreachable` / `bad_answer` when there is no usable answer.
        code: String,
        /// The endpoint's message, or what went wrong on the way.
        message: String,
        /// The transport error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A human denied the approval (or it expired undecided): the action must not run.
    #[error("approval `{id}` was {status} by {}: {reason}", decided_by.as_deref().unwrap_or("nobody"))]
    ApprovalDenied {
        /// The approval request id.
        id: String,
        /// `denied` or `expired`.
        status: String,
        /// The approver's reason (or why it expired).
        reason: String,
        /// The approver's identity, when someone decided.
        decided_by: Option<String>,
    },
    /// No one decided the approval within the wait.
    #[error("approval `{id}` is still pending after {waited_ms} ms")]
    ApprovalTimeout {
        /// The approval request id.
        id: String,
        /// How long was waited.
        waited_ms: u64,
    },
    /// An audit log's hash chain breaks at `line` (removed, reordered or edited record).
    #[error("line {line}: {message}")]
    AuditChain {
        /// 1-based line of the first record that does not follow (0: the log as a whole).
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A bug in ACT; please report it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Policy(_) => "policy_invalid",
            Error::Token { .. } => "token_invalid",
            Error::Key(_) => "key_invalid",
            Error::Config(_) => "invalid_argument",
            Error::Snapshot(_) => "snapshot_rejected",
            Error::Store(_) => "counter_store_failed",
            Error::Endpoint { .. } => "endpoint_failed",
            Error::ApprovalDenied { .. } => "approval_denied",
            Error::ApprovalTimeout { .. } => "approval_timeout",
            Error::AuditChain { .. } => "audit_chain_broken",
            Error::Io { .. } => "io_error",
            Error::Internal(_) => "internal",
        }
    }

    /// The family bindings map to a host exception type.
    pub fn family(&self) -> ErrorFamily {
        match self {
            Error::Policy(_) => ErrorFamily::Policy,
            Error::Token { .. } => ErrorFamily::Token,
            Error::Key(_) => ErrorFamily::Key,
            Error::Config(_) => ErrorFamily::Config,
            Error::Snapshot(_) => ErrorFamily::Snapshot,
            Error::Store(_) => ErrorFamily::Store,
            Error::Endpoint { .. } => ErrorFamily::Endpoint,
            Error::ApprovalDenied { .. } | Error::ApprovalTimeout { .. } => ErrorFamily::Approval,
            Error::AuditChain { .. } => ErrorFamily::Audit,
            Error::Io { .. } => ErrorFamily::Io,
            Error::Internal(_) => ErrorFamily::Internal,
        }
    }

    pub(crate) fn token(reason: crate::Reason, message: impl Into<String>) -> Self {
        Error::Token {
            reason,
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn endpoint_detail(status: Option<u16>, code: &str, message: &str) -> String {
    match status {
        Some(s) => format!("HTTP {s} {code}: {message}"),
        None => format!("{code}: {message}"),
    }
}

impl From<crate::audit::ChainError> for Error {
    fn from(e: crate::audit::ChainError) -> Self {
        Error::AuditChain {
            line: e.line,
            message: e.message,
        }
    }
}

/// Every stable error code, minted here once; bindings expose the list and test they map each.
pub const ERROR_CODES: &[&str] = &[
    "policy_invalid",
    "token_invalid",
    "key_invalid",
    "invalid_argument",
    "snapshot_rejected",
    "counter_store_failed",
    "endpoint_failed",
    "approval_denied",
    "approval_timeout",
    "audit_chain_broken",
    "io_error",
    "internal",
];

/// `Result` with ACT's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
