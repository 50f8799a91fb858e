//! Host-language values to JSON, with the limits and the error wording defined once.
//!
//! Context, user context, agent context and inline policies are JSON in the core. Each binding
//! says what one of its values is ([`HostValue::node`]); [`to_json`] and [`to_object`] walk it,
//! bound the nesting ([`MAX_CONTEXT_DEPTH`]) and the size ([`MAX_CONTEXT_VALUES`]) so an
//! agent-controlled value has a bounded cost (a self-containing list stops at the depth limit),
//! and name where a bad value sits (`context["refund"]["amount"]`). The path is built only on the
//! error path, so the common case pays nothing for it.

use super::{MAX_CONTEXT_DEPTH, MAX_CONTEXT_VALUES};
use serde_json::{Map, Number, Value};

/// What one host value is. Containers hand over their children as iterators, so the binding
/// never copies them into an intermediate tree.
pub enum Node<'a, V: HostValue> {
    /// `None` / `null` / `nil`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number that fits 64 bits signed.
    Int(i64),
    /// A whole number above `i64::MAX` that fits 64 bits unsigned.
    UInt(u64),
    /// A whole number outside the 64-bit range (JSON numbers would not keep it exactly).
    BigInt,
    /// A floating-point number (NaN and infinities are refused).
    Float(f64),
    /// A string.
    Text(String),
    /// A list, tuple or array.
    List(Box<dyn Iterator<Item = Result<V, V::Error>> + 'a>),
    /// A map: each key is its text, or `Err(type name)` for a key that is not a string.
    Map(Entries<'a, V>),
    /// Anything else, by its host type name (e.g. "a `datetime`").
    Other(String),
}

/// A value of the host language that may convert to JSON.
pub trait HostValue: Sized {
    /// The host's own failure while reading a value (e.g. a Python exception in `__iter__`).
    type Error;
    /// What this value is.
    fn node<'a>(&'a self) -> Result<Node<'a, Self>, Self::Error>
    where
        Self: 'a;
}

/// Why a value did not convert.
#[derive(Debug)]
pub enum ConvertError<E> {
    /// A value of a type JSON has no place for (Python raises `TypeError` for it).
    Type(String),
    /// A value JSON cannot hold, or a limit passed (a configuration error in every language).
    Value(String),
    /// The host failed while the value was read; passed through as is.
    Host(E),
}

impl<E> ConvertError<E> {
    /// The message, for bindings that report both kinds the same way.
    pub fn message(&self) -> Option<&str> {
        match self {
            ConvertError::Type(m) | ConvertError::Value(m) => Some(m),
            ConvertError::Host(_) => None,
        }
    }
}

/// The JSON kinds a value may be, for the type error's wording.
const JSON_KINDS: &str = "a map with string keys, a list, a string, a number, a boolean or null";

enum Problem<E> {
    Type(String),
    Value(String),
    Host(E),
}

/// A problem and where it sits, the innermost segment first (pushed while unwinding).
struct Fail<E> {
    path: Vec<String>,
    problem: Problem<E>,
}

impl<E> Fail<E> {
    fn new(problem: Problem<E>) -> Self {
        Fail {
            path: Vec::new(),
            problem,
        }
    }
    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        if !matches!(self.problem, Problem::Host(_)) {
            self.path.push(segment());
        }
        self
    }
    fn finish(self, name: &str) -> ConvertError<E> {
        let mut path = name.to_string();
        for seg in self.path.iter().rev() {
            path.push_str(seg);
        }
        match self.problem {
            Problem::Type(what) => ConvertError::Type(format!("{path} is {what}; ACT takes JSON values: {JSON_KINDS}")),
            Problem::Value(m) => ConvertError::Value(format!("{path} {m}")),
            Problem::Host(e) => ConvertError::Host(e),
        }
    }
}

struct Walk {
    values: usize,
}

impl Walk {
    fn value<V: HostValue>(&mut self, v: &V, depth: usize) -> Result<Value, Fail<V::Error>> {
        match v.node().map_err(|e| Fail::new(Problem::Host(e)))? {
            Node::Map(entries) => self.map(entries, depth).map(Value::Object),
            node => self.scalar_or_list(node, depth),
        }
    }

    fn count<E>(&mut self, depth: usize) -> Result<(), Fail<E>> {
        if depth > MAX_CONTEXT_DEPTH {
            return Err(Fail::new(Problem::Value(format!(
                "nests deeper than {MAX_CONTEXT_DEPTH} levels (or contains itself)"
            ))));
        }
        self.values += 1;
        if self.values > MAX_CONTEXT_VALUES {
            return Err(Fail::new(Problem::Value(format!(
                "holds more than {MAX_CONTEXT_VALUES} values"
            ))));
        }
        Ok(())
    }

    fn scalar_or_list<V: HostValue>(&mut self, node: Node<'_, V>, depth: usize) -> Result<Value, Fail<V::Error>> {
        self.count(depth)?;
        Ok(match node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Int(i) => Value::Number(i.into()),
            Node::UInt(u) => Value::Number(u.into()),
            Node::BigInt => {
                return Err(Fail::new(Problem::Value(
                    "is an integer outside the 64-bit range JSON numbers keep exactly".into(),
                )))
            }
            Node::Float(f) => Value::Number(
                Number::from_f64(f)
                    .ok_or_else(|| Fail::new(Problem::Value(format!("is {f}, which is not a JSON number"))))?,
            ),
            Node::Text(s) => Value::String(s),
            Node::List(items) => {
                let mut out = Vec::new();
                for (i, item) in items.enumerate() {
                    let item = item.map_err(|e| Fail::new(Problem::Host(e)))?;
                    out.push(self.value(&item, depth + 1).map_err(|f| f.at(|| format!("[{i}]")))?);
                }
                Value::Array(out)
            }
            Node::Other(what) => return Err(Fail::new(Problem::Type(what))),
            Node::Map(_) => unreachable!("maps are walked by Walk::map"),
        })
    }

    fn map<V: HostValue>(
        &mut self,
        entries: Entries<'_, V>,
        depth: usize,
    ) -> Result<Map<String, Value>, Fail<V::Error>> {
        self.count(depth)?;
        let mut map = Map::new();
        for entry in entries {
            let (key, v) = entry.map_err(|e| Fail::new(Problem::Host(e)))?;
            let key = key.map_err(|what| Fail::new(Problem::Type(format!("a key of type {what}"))))?;
            let value = self.value(&v, depth + 1).map_err(|f| f.at(|| format!("[{key:?}]")))?;
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// Any JSON value (an inline policy); `name` names the argument in errors.
pub fn to_json<V: HostValue>(v: &V, name: &str) -> Result<Value, ConvertError<V::Error>> {
    Walk { values: 0 }.value(v, 0).map_err(|f| f.finish(name))
}

/// The entries of a map, as [`Node::Map`] holds them.
pub type Entries<'a, V> = Box<dyn Iterator<Item = Result<(Result<String, String>, V), <V as HostValue>::Error>> + 'a>;

/// A JSON object (a context); a value that is not a map is a type error naming `name`.
pub fn to_object<V: HostValue>(v: &V, name: &str) -> Result<Map<String, Value>, ConvertError<V::Error>> {
    match v.node().map_err(ConvertError::Host)? {
        Node::Map(entries) => entries_to_object(entries, name),
        Node::Other(what) => Err(ConvertError::Type(format!(
            "{name} must be a map with string keys, not {what}"
        ))),
        _ => Err(ConvertError::Type(format!("{name} must be a map with string keys"))),
    }
}

/// A JSON object from the entries of a host map the binding already holds as one.
pub fn entries_to_object<V: HostValue>(
    entries: Entries<'_, V>,
    name: &str,
) -> Result<Map<String, Value>, ConvertError<V::Error>> {
    Walk { values: 0 }.map(entries, 0).map_err(|f| f.finish(name))
}

/// Parses JSON text into an object for hosts that pass context as text: duplicate keys and
/// nesting deeper than [`MAX_CONTEXT_DEPTH`] are refused, as for tokens.
pub fn object_from_json_text(text: &str, name: &str) -> crate::Result<Map<String, Value>> {
    match crate::json::parse_strict(text.as_bytes(), MAX_CONTEXT_DEPTH)
        .map_err(|e| crate::Error::Config(format!("{name} JSON: {e}")))?
    {
        Value::Object(map) => Ok(map),
        _ => Err(crate::Error::Config(format!("{name} JSON must be an object"))),
    }
}

/// Plain JSON as a host value: lets the walk itself be tested here, and serves hosts whose
/// values are already JSON.
impl HostValue for Value {
    type Error = std::convert::Infallible;
    fn node<'a>(&'a self) -> Result<Node<'a, Self>, Self::Error>
    where
        Self: 'a,
    {
        Ok(match self {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Node::Int(i),
                (None, Some(u)) => Node::UInt(u),
                _ => Node::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Node::Text(s.clone()),
            Value::Array(items) => Node::List(Box::new(items.iter().cloned().map(Ok))),
            Value::Object(m) => Node::Map(Box::new(m.iter().map(|(k, v)| Ok((Ok(k.clone()), v.clone()))))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_json_and_names_the_path_of_a_bad_value() {
        let v = json!({"a": [1, {"b": "x"}], "n": null, "big": u64::MAX});
        assert_eq!(to_json(&v, "context").unwrap(), v);
        assert!(
            matches!(to_object(&json!([1]), "context"), Err(ConvertError::Type(m)) if m.contains("context must be a map"))
        );
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let mut deep = json!(1);
        for _ in 0..=MAX_CONTEXT_DEPTH {
            deep = json!([deep]);
        }
        let err = to_json(&deep, "policy").unwrap_err();
        assert!(
            matches!(&err, ConvertError::Value(m) if m.contains("nests deeper than 64") && m.starts_with("policy[0][0]")),
            "{err:?}"
        );
        let wide = Value::Array(vec![json!(0); MAX_CONTEXT_VALUES]);
        assert!(
            matches!(to_json(&wide, "context"), Err(ConvertError::Value(m)) if m.contains("more than 100000 values"))
        );
        let fits = Value::Array(vec![json!(0); MAX_CONTEXT_VALUES - 1]);
        assert!(to_json(&fits, "context").is_ok());
    }

    #[test]
    fn json_text_refuses_duplicates_and_non_objects() {
        assert_eq!(object_from_json_text(r#"{"a": 1}"#, "context").unwrap()["a"], json!(1));
        assert!(object_from_json_text(r#"{"a": 1, "a": 2}"#, "context").is_err());
        assert!(object_from_json_text("[1]", "context").is_err());
    }
}
