//! Command failures and their exit codes (the table is in `act --help`).

use act_core::{Diagnostic, Error};

/// A check failed (tests, a non-allow decision, a broken audit chain).
pub const CHECK_FAILED: i32 = 1;
/// Bad arguments.
pub const USAGE: i32 = 2;
/// Policy text is not valid YAML/JSON.
pub const POLICY_SYNTAX: i32 = 3;
/// Policy parses but is not valid.
pub const POLICY_INVALID: i32 = 4;
/// A file cannot be read or written.
pub const IO: i32 = 5;
/// A key is invalid.
pub const KEY: i32 = 6;
/// A token is invalid.
pub const TOKEN: i32 = 7;
/// A snapshot is rejected.
pub const SNAPSHOT: i32 = 8;
/// A test suite is invalid.
pub const SUITE: i32 = 9;
/// A bug.
pub const INTERNAL: i32 = 10;

/// Why a command failed: the exit code and what to print on stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(USAGE, message)
    }
}

/// `file:line:col: key: message`, the form editors and CI annotators understand.
pub fn diagnostic_line(d: &Diagnostic) -> String {
    let mut s = format!("{}:{}:{}: ", d.file, d.line, d.column);
    if !d.key.is_empty() {
        s.push_str(&d.key);
        s.push_str(": ");
    }
    s.push_str(&d.message);
    s
}

/// True for diagnostics that say the text is not YAML/JSON at all.
pub fn is_syntax(d: &Diagnostic) -> bool {
    d.message.starts_with("invalid YAML")
        || d.message.starts_with("invalid JSON")
        || d.message.starts_with("policy source is over")
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match &e {
            Error::Policy(p) => {
                let code = if p.diagnostics.iter().any(is_syntax) {
                    POLICY_SYNTAX
                } else {
                    POLICY_INVALID
                };
                let lines: Vec<String> = p.diagnostics.iter().map(diagnostic_line).collect();
                Failure::new(code, lines.join("\n"))
            }
            Error::Io { .. } => Failure::new(IO, e.to_string()),
            Error::Key(_) => Failure::new(KEY, e.to_string()),
            Error::Token { .. } => Failure::new(TOKEN, e.to_string()),
            Error::Snapshot(_) => Failure::new(SNAPSHOT, e.to_string()),
            Error::Config(_) => Failure::new(USAGE, e.to_string()),
            _ => Failure::new(INTERNAL, e.to_string()),
        }
    }
}

/// `Result` of a command.
pub type CmdResult = Result<(), Failure>;

/// Reads a file, mapping errors to [`IO`].
pub fn read(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::new(IO, format!("{}: {e}", path.display())))
}

/// Parses a JSON object argument such as `--context '{"amount": 120}'`.
pub fn json_object(flag: &str, text: &str) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(Failure::usage(format!(
            "{flag} must be a JSON object such as {{\"key\": \"value\"}}"
        ))),
        Err(e) => Err(Failure::usage(format!("{flag} is not valid JSON: {e}"))),
    }
}
