//! The request an agent makes, and the checks on its shape.

use serde_json::{Map, Value};

/// Longest resource accepted, bytes.
pub const MAX_RESOURCE_BYTES: usize = 2048;
/// Longest action accepted, bytes.
pub const MAX_ACTION_BYTES: usize = 256;
/// Most `/`-separated segments in a resource.
pub const MAX_SEGMENTS: usize = 64;

/// One action an agent wants to take.
///
/// `context` must come from the host application's tool wrapper (the tool
/// call's validated arguments), never from the model's free text.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The ACT token (or delegation chain) the agent presents.
    pub token: &'a str,
    /// The action, e.g. `process_refund`.
    pub action: &'a str,
    /// The resource, e.g. `order://customer:42/1001`.
    pub resource: &'a str,
    /// Facts about the request for constraints, e.g. `{"amount": 120}`.
    pub context: &'a Map<String, Value>,
    /// An approval for exactly this request, when one was granted.
    pub approval: Option<&'a str>,
}

/// An empty context, for requests without one.
pub fn empty_context() -> &'static Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    &EMPTY
}

/// The characters of an action name: lower-case ASCII letters, digits and `_ . : -`. One spelling per
/// action, so a kill switch, a revocation or an exclusion of `send_email` cannot be dodged by
/// `Send_Email`, a Cyrillic `е` or a zero-width space.
pub const ACTION_CHARS: &str = "a-z 0-9 _ . : -";

fn action_byte(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b':' | b'-')
}

/// Checks a request's action (never a glob).
pub(crate) fn check_action(action: &str) -> Result<(), String> {
    check_action_name(action, false).map_err(|e| format!("the action {e}"))
}

/// Checks an action name; `glob` also accepts `*`. The error starts with the name, for a prefix.
pub(crate) fn check_action_name(name: &str, glob: bool) -> Result<(), String> {
    if name.is_empty() {
        return Err("name is empty".into());
    }
    if name.len() > MAX_ACTION_BYTES {
        return Err(format!("name is over {MAX_ACTION_BYTES} bytes"));
    }
    let ok = |c: char| c.is_ascii() && (action_byte(c as u8) || (glob && c == '*'));
    let Some(bad) = name.chars().find(|c| !ok(*c)) else {
        return Ok(());
    };
    let shown: String = name.chars().take(64).collect::<String>().escape_debug().to_string();
    let lower = name.to_ascii_lowercase();
    let hint = if lower != name && lower.chars().all(ok) {
        format!("; write `{lower}`")
    } else {
        String::new()
    };
    Err(format!(
        "`{shown}` has the character {:?} (U+{:04X}); action names use only {ACTION_CHARS}{}{hint}",
        bad,
        bad as u32,
        if glob { " and `*`" } else { "" }
    ))
}

/// One sentence for a token passed with its HTTP header prefix, instead of a decoding error.
pub(crate) fn token_hint(token: &str) -> Option<&'static str> {
    token
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        .then_some("the token starts with `Bearer `: drop the `Bearer ` prefix and pass the token itself")
}

/// Splits a resource into segments, refusing what could confuse matching:
/// `.`/`..` segments (also percent-encoded), encoded slashes, control characters,
/// `*` (a resource is concrete, never a pattern) and oversized input.
pub fn validate_resource(resource: &str) -> Result<Vec<&str>, String> {
    if resource.is_empty() {
        return Err("the resource is empty".into());
    }
    if resource.len() > MAX_RESOURCE_BYTES {
        return Err(format!("the resource is over {MAX_RESOURCE_BYTES} bytes"));
    }
    // One pass over the bytes, splitting on `/` as it goes; non-ASCII text is
    // checked by char only when present.
    let b = resource.as_bytes();
    let encoded = |i: usize| {
        matches!(
            (
                b.get(i + 1).map(u8::to_ascii_lowercase),
                b.get(i + 2).map(u8::to_ascii_lowercase)
            ),
            (Some(b'2'), Some(b'f' | b'e')) | (Some(b'5'), Some(b'c'))
        )
    };
    // `%25` is an encoded `%`: a second decoding would turn `%252e` into `.`.
    let double = |i: usize| b.get(i + 1) == Some(&b'2') && b.get(i + 2) == Some(&b'5');
    let mut segments: Vec<&str> = Vec::with_capacity(8);
    let mut start = 0;
    for (i, c) in b.iter().enumerate() {
        match c {
            b'/' => {
                segments.push(&resource[start..i]);
                start = i + 1;
            }
            0..=0x1f | 0x7f => return Err("the resource contains control characters".into()),
            b'*' => return Err("the resource contains `*`; resources name one concrete thing".into()),
            b'\\' => return Err("the resource contains a backslash".into()),
            b'%' if encoded(i) => return Err("the resource contains an encoded `/`, `\\` or `.`".into()),
            b'%' if double(i) => {
                return Err(
                    "the resource contains `%25` (an encoded `%`); decode it once, to its canonical form".into(),
                )
            }
            _ => {}
        }
    }
    segments.push(&resource[start..]);
    if !resource.is_ascii() {
        if resource.chars().any(char::is_control) {
            return Err("the resource contains control characters".into());
        }
        super::canonical::check_text(resource)?;
    }
    if segments.len() > MAX_SEGMENTS {
        return Err(format!("the resource has more than {MAX_SEGMENTS} segments"));
    }
    if segments.iter().any(|s| *s == ".." || *s == ".") {
        return Err("the resource contains a `.` or `..` segment".into());
    }
    super::canonical::check_segments(&segments)?;
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources() {
        assert_eq!(
            validate_resource("order://customer:42/1").unwrap(),
            vec!["order:", "", "customer:42", "1"]
        );
        for bad in [
            "",
            "a/../b",
            "a/./b",
            "a/%2e%2e/b",
            "a%2Fb",
            "a\\b",
            "a\nb",
            "a/*",
            "a//b",
            "a/b/",
            "a/%252e%252e/b",
            "a/\u{200B}b",
            &"x".repeat(3000),
        ] {
            assert!(validate_resource(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn actions() {
        assert!(check_action("process_refund").is_ok());
        for bad in [
            "",
            "a b",
            "read_*",
            "x\u{0}",
            "Send_Email",
            "s\u{435}nd",
            "a\u{200B}b",
            "a/b",
        ] {
            assert!(check_action(bad).is_err(), "{bad:?}");
        }
    }
}
