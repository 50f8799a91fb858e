//! What the templates show: the navigation bar and small formatting helpers. Every value reaches
//! the page through askama's HTML escaping.

use super::session::Session;
use crate::auth::Role;
use askama::Template;

/// The top bar: who is logged in, what they may open, and the token their forms carry.
pub(crate) struct Nav {
    pub identity: String,
    pub role: &'static str,
    pub csrf: String,
    pub admin: bool,
    pub active: &'static str,
}

impl Nav {
    pub(crate) fn new(s: &Session, active: &'static str) -> Nav {
        Nav {
            identity: s.principal.identity.clone(),
            role: s.principal.role.name(),
            csrf: s.csrf.clone(),
            admin: s.principal.role == Role::Admin,
            active,
        }
    }

    /// The bar of a logged-in page.
    pub(crate) fn page(s: &Session, active: &'static str) -> Option<Nav> {
        Some(Nav::new(s, active))
    }

    /// `aria-current="page"` for the open page's link.
    pub(crate) fn current(&self, page: &str) -> &'static str {
        if self.active == page {
            "page"
        } else {
            "false"
        }
    }
}

/// A page with a title and a sentence (errors, refusals).
#[derive(Template)]
#[template(path = "console/message.html")]
pub(crate) struct MessagePage {
    pub nav: Option<Nav>,
    pub title: String,
    pub text: String,
}

/// `2026-12-02 00:31:05 UTC`.
pub(crate) fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// `3 min`, `2 h 5 min`, `12 s`: a duration for "how long ago" / "in how long".
pub(crate) fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A JSON value as an operator reads it: strings bare, everything else as JSON.
pub(crate) fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(span(59_000), "59 s");
        assert_eq!(span(3_700_000), "1 h 1 min");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(crate::audit_index::parse_time("1970-01-01T00:01"), Some(60_000));
        assert_eq!(
            crate::audit_index::parse_time("1970-01-01T00:01:00+01:00"),
            Some(-3_540_000)
        );
        assert_eq!(crate::audit_index::parse_time("yesterday"), None);
        assert_eq!(value(&serde_json::json!(300)), "300");
        assert_eq!(value(&serde_json::json!("x")), "x");
    }
}
