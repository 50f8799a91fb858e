//! `ContextValue`: JSON values typed for Kotlin and Swift, and the JSON conveniences.
//!
//! The core takes request context, user context and inline policies as JSON.
//! Hosts pass them as maps of `ContextValue` (no hand-built JSON strings), or
//! as JSON text through [`context_from_json`]. The core walks them
//! (`act_core::client::to_json`): a value JSON cannot hold (NaN, infinity) or past its
//! limits (nesting, size) is `ActError::Config` naming where it sits.

use crate::error::{ActError, Result};
use act_core::client::{entries_to_object, object_from_json_text, HostValue, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

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

/// A context, user context or inline policy as Kotlin and Swift pass it.
pub type Context = HashMap<String, ContextValue>;

impl HostValue for &ContextValue {
    type Error = std::convert::Infallible;
    fn node<'a>(&'a self) -> std::result::Result<Node<'a, Self>, Self::Error>
    where
        Self: 'a,
    {
        Ok(match *self {
            ContextValue::Null => Node::Null,
            ContextValue::Bool { value } => Node::Bool(*value),
            ContextValue::Int { value } => Node::Int(*value),
            ContextValue::Double { value } => Node::Float(*value),
            ContextValue::Text { value } => Node::Text(value.clone()),
            ContextValue::Array { items } => Node::List(Box::new(items.iter().map(Ok))),
            ContextValue::Object { entries } => Node::Map(entries_of(entries)),
        })
    }
}

fn entries_of(entries: &Context) -> act_core::client::Entries<'_, &ContextValue> {
    Box::new(entries.iter().map(|(k, v)| Ok((Ok(k.clone()), v))))
}

/// A JSON object from a map argument; `name` names the argument in errors.
pub(crate) fn to_map(entries: &Context, name: &str) -> Result<Map<String, Value>> {
    entries_to_object(entries_of(entries), name).map_err(|e| ActError::config(e.message().unwrap_or_default()))
}

/// A JSON value (an inline policy).
pub(crate) fn to_json_object(entries: &Context, name: &str) -> Result<Value> {
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
/// Duplicate keys and nesting past the core's limit are refused, as for tokens.
#[uniffi::export]
pub fn context_from_json(json: String) -> Result<Context> {
    crate::error::shield(|| {
        let map = object_from_json_text(&json, "context")?;
        Ok(map.into_iter().map(|(k, v)| (k, from_json(v))).collect())
    })
}

/// The context map as compact JSON text (keys sorted).
#[uniffi::export]
pub fn context_to_json(context: Context) -> Result<String> {
    crate::error::shield(|| Ok(Value::Object(to_map(&context, "context")?).to_string()))
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
