//! Redaction of context fields, for audit records and approval requests.
//!
//! A field is named by a dotted path: `card_number`, `customer.ssn`, and `*` stands for any one
//! key (or any list item): `*.ssn`, `items.*.card`. A list is transparent, so `items.card` also
//! reaches the `card` of every item. A top-level key that itself contains dots matches as written.

use serde_json::{Map, Value};

/// Replaces every value `paths` name with `replace(value)`.
pub fn redact_with(context: &mut Map<String, Value>, paths: &[String], replace: &mut dyn FnMut(&Value) -> Value) {
    for path in paths {
        if let Some(v) = context.get_mut(path.as_str()) {
            *v = replace(v);
            continue;
        }
        let segments: Vec<&str> = path.split('.').collect();
        walk_map(context, &segments, replace);
    }
}

fn walk_map(m: &mut Map<String, Value>, segments: &[&str], replace: &mut dyn FnMut(&Value) -> Value) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    for (k, v) in m.iter_mut() {
        if *first == "*" || k == first {
            if rest.is_empty() {
                *v = replace(v);
            } else {
                walk_value(v, rest, replace);
            }
        }
    }
}

fn walk_value(v: &mut Value, segments: &[&str], replace: &mut dyn FnMut(&Value) -> Value) {
    match v {
        Value::Object(m) => walk_map(m, segments, replace),
        Value::Array(items) => {
            let (each, rest) = match segments.split_first() {
                Some((&"*", rest)) => (true, rest),
                _ => (false, segments),
            };
            for item in items.iter_mut() {
                if each && rest.is_empty() {
                    *item = replace(item);
                } else {
                    walk_value(item, rest, replace);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn red(ctx: Value, paths: &[&str]) -> Value {
        let mut m = ctx.as_object().unwrap().clone();
        let paths: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
        redact_with(&mut m, &paths, &mut |_| json!("[redacted]"));
        Value::Object(m)
    }

    #[test]
    fn nested_paths_and_wildcards() {
        assert_eq!(
            red(
                json!({"customer": {"ssn": "1", "name": "a"}, "ssn": "2"}),
                &["customer.ssn"]
            ),
            json!({"customer": {"ssn": "[redacted]", "name": "a"}, "ssn": "2"})
        );
        assert_eq!(
            red(json!({"a": {"ssn": "1"}, "b": {"ssn": "2", "x": 1}}), &["*.ssn"]),
            json!({"a": {"ssn": "[redacted]"}, "b": {"ssn": "[redacted]", "x": 1}})
        );
        assert_eq!(
            red(json!({"items": [{"card": "1"}, {"card": "2"}]}), &["items.card"]),
            json!({"items": [{"card": "[redacted]"}, {"card": "[redacted]"}]})
        );
        assert_eq!(
            red(json!({"items": ["1", "2"]}), &["items.*"]),
            json!({"items": ["[redacted]", "[redacted]"]})
        );
        assert_eq!(red(json!({"a.b": 1}), &["a.b"]), json!({"a.b": "[redacted]"}));
        assert_eq!(red(json!({"a": 1}), &["missing.x"]), json!({"a": 1}));
    }
}
