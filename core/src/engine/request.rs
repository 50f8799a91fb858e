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

pub(crate) fn check_action(action: &str) -> Result<(), String> {
    if action.is_empty() {
        return Err("the action is empty".into());
    }
    if action.len() > MAX_ACTION_BYTES {
        return Err(format!("the action is over {MAX_ACTION_BYTES} bytes"));
    }
    let bad = |c: char| c.is_control() || c.is_whitespace() || c == '*';
    let ascii_bad = |b: &u8| *b <= b' ' || *b == 0x7f || *b == b'*';
    if action.bytes().any(|b| ascii_bad(&b)) || (!action.is_ascii() && action.chars().any(bad)) {
        return Err("the action contains whitespace, control characters or `*`".into());
    }
    Ok(())
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
        for bad in ["", "a b", "read_*", "x\u{0}"] {
            assert!(check_action(bad).is_err(), "{bad:?}");
        }
    }
}
