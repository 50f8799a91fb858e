//! `ContextValue`: JSON values typed for Kotlin and Swift, and the JSON conveniences.
//!
//! The core takes request context, user context and inline policies as JSON.
//! Hosts pass them as maps of `ContextValue` (no hand-built JSON strings), or
//! as JSON text through [`context_from_json`]. A value JSON cannot hold (NaN,
//! infinity, nesting deeper than 64) is `ActError::Config` naming where it sits.

use crate::error::{ActError, Result};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

const MAX_DEPTH: usize = 64;

/// One JSON value. The variants are named after JSON (`Array`, `Object`)
/// because Kotlin would resolve a nested `List`/`Map` class in place of the
/// collection types the generated code uses.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum ContextValue {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool { value: bool },
    /// A whole number.
    Int { value: i64 },
    /// A number with a fraction (finite).
    Double { value: f64 },
    /// A string.
    Text { value: String },
    /// A list of values.
    Array { items: Vec<ContextValue> },
    /// A map with string keys.
    Object { entries: HashMap<String, ContextValue> },
}

/// Where a bad value sits, e.g. `context["refund"]["amount"]`.
fn at(path: &str, key: &str) -> String {
    format!("{path}[{key:?}]")
}

fn value_to_json(v: &ContextValue, path: &dyn Fn() -> String, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(ActError::config(format!(
            "{} nests deeper than {MAX_DEPTH} levels",
            path()
        )));
    }
    Ok(match v {
        ContextValue::Null => Value::Null,
        ContextValue::Bool { value } => Value::Bool(*value),
        ContextValue::Int { value } => Value::Number((*value).into()),
        ContextValue::Double { value } => Value::Number(
            Number::from_f64(*value)
                .ok_or_else(|| ActError::config(format!("{} is {value}, which is not a JSON number", path())))?,
        ),
        ContextValue::Text { value } => Value::String(value.clone()),
        ContextValue::Array { items } => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| value_to_json(item, &|| format!("{}[{i}]", path()), depth + 1))
                .collect::<Result<_>>()?,
        ),
        ContextValue::Object { entries } => Value::Object(map_to_json(entries, path, depth + 1)?),
    })
}

fn map_to_json(
    entries: &HashMap<String, ContextValue>,
    path: &dyn Fn() -> String,
    depth: usize,
) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for (k, v) in entries {
        map.insert(k.clone(), value_to_json(v, &|| at(&path(), k), depth)?);
    }
    Ok(map)
}

/// A JSON object from a map argument; `name` names the argument in errors.
pub(crate) fn to_map(entries: &HashMap<String, ContextValue>, name: &str) -> Result<Map<String, Value>> {
    map_to_json(entries, &|| name.to_string(), 0)
}

/// A JSON value (an inline policy).
pub(crate) fn to_json_object(entries: &HashMap<String, ContextValue>, name: &str) -> Result<Value> {
    to_map(entries, name).map(Value::Object)
}

/// A JSON value as a `ContextValue` (integers beyond 64 bits become doubles).
pub(crate) fn from_json(v: Value) -> ContextValue {
    match v {
        Value::Null => ContextValue::Null,
        Value::Bool(value) => ContextValue::Bool { value },
        Value::Number(n) => match n.as_i64() {
            Some(value) => ContextValue::Int { value },
            None => ContextValue::Double {
                value: n.as_f64().unwrap_or(f64::NAN),
            },
        },
        Value::String(value) => ContextValue::Text { value },
        Value::Array(items) => ContextValue::Array {
            items: items.into_iter().map(from_json).collect(),
        },
        Value::Object(map) => ContextValue::Object {
            entries: map.into_iter().map(|(k, v)| (k, from_json(v))).collect(),
        },
    }
}

/// Parses a JSON object (e.g. `{"amount": 120}`) into a context map.
/// Duplicate keys and nesting deeper than 64 are refused, as for tokens.
#[uniffi::export]
pub fn context_from_json(json: String) -> Result<HashMap<String, ContextValue>> {
    crate::error::shield(|| {
        let value = act_core::json::parse_strict(json.as_bytes(), MAX_DEPTH)
            .map_err(|e| ActError::config(format!("context JSON: {e}")))?;
        match value {
            Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
            other => Err(ActError::config(format!(
                "context JSON must be an object, not {}",
                kind(&other)
            ))),
        }
    })
}

/// The context map as compact JSON text (keys sorted).
#[uniffi::export]
pub fn context_to_json(context: HashMap<String, ContextValue>) -> Result<String> {
    crate::error::shield(|| Ok(Value::Object(to_map(&context, "context")?).to_string()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_json_cannot_hold() {
        let ctx = context_from_json(
            r#"{"amount": 120, "price": 1.5, "tags": ["a", null, true], "who": {"id": "42"}}"#.into(),
        )
        .unwrap();
        assert_eq!(ctx["amount"], ContextValue::Int { value: 120 });
        assert_eq!(ctx["price"], ContextValue::Double { value: 1.5 });
        let json = context_to_json(ctx.clone()).unwrap();
        assert_eq!(context_from_json(json).unwrap(), ctx);

        let nan = HashMap::from([(
            "x".to_string(),
            ContextValue::Array {
                items: vec![ContextValue::Double { value: f64::NAN }],
            },
        )]);
        let err = to_map(&nan, "context").unwrap_err();
        assert!(err.to_string().contains(r#"context["x"][0] is NaN"#), "{err}");
        assert!(context_from_json("[1]".into()).is_err());
        assert!(context_from_json(r#"{"a": 1, "a": 2}"#.into()).is_err());
    }
}
