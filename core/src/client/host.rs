//! Values as host languages hand them over, converted and checked once here for every binding:
//! host values walked into JSON ([`HostTree`], [`to_json`], [`to_object`]), JSON text
//! ([`json_text`], [`object_from_json_text`]), public keys as text, whole numbers from hosts
//! whose only number type is a double (JavaScript), and the camelCase form of the core's shapes.
//!
//! Whichever way a context, user context, agent context or inline policy crosses, it passes the
//! same limits with the same wording: nesting past [`MAX_CONTEXT_DEPTH`] and more than
//! [`MAX_CONTEXT_VALUES`] values are refused, so an agent-controlled value has a bounded cost (a
//! self-containing list stops at the depth limit), and the error names where the bad value sits
//! (`context["refund"]["amount"]`). The path is built only on the error path.
//!
//! The walk is generic: a binding says what one of its values is ([`HostTree::shape`]) with its
//! own iterator types, so the converter is compiled for that binding's values, with no boxed
//! iterator or dynamic call per value (the `validate` path of every call). [`HostValue`] is the
//! boxed form, for bindings whose values are not worth naming iterator types.

use crate::error::{Error, Result};
use crate::keys::VerifyingKey;
use serde_json::{Map, Number, Value};
use std::convert::Infallible;

/// Deepest nesting a binding converts into a context, user context or policy value (the top
/// value is at depth 0, a value inside it at 1, ...).
pub const MAX_CONTEXT_DEPTH: usize = 64;
/// Most values (every scalar, list and map counted) a binding converts into one such value.
pub const MAX_CONTEXT_VALUES: usize = 100_000;

/// What one host value is; containers hold their children as iterators of the binding's types.
pub enum Shape<L, M> {
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
    /// A list, tuple or array: its items.
    List(L),
    /// A map: its entries.
    Map(M),
    /// Anything else, by its host type name (e.g. "a `datetime`").
    Other(String),
}

/// A map key: its text, or `Err(type name)` for a key that is not a string.
pub type Key = std::result::Result<String, String>;

/// A value of the host language that may convert to JSON.
pub trait HostTree: Sized {
    /// The host's own failure while reading a value (e.g. a Python exception in `__iter__`).
    type Error;
    /// The items of a list.
    type Items<'a>: Iterator<Item = std::result::Result<Self, Self::Error>>
    where
        Self: 'a;
    /// The entries of a map.
    type Entries<'a>: Iterator<Item = std::result::Result<(Key, Self), Self::Error>>
    where
        Self: 'a;
    /// What this value is.
    fn shape(&self) -> std::result::Result<Shape<Self::Items<'_>, Self::Entries<'_>>, Self::Error>;
}

/// The boxed form of [`HostTree`]: children as boxed iterators, for bindings that would rather
/// not name iterator types (a dynamic call per child; the Python binding uses [`HostTree`]).
pub trait HostValue: Sized {
    /// The host's own failure while reading a value.
    type Error;
    /// What this value is.
    fn node<'a>(&'a self) -> std::result::Result<Node<'a, Self>, Self::Error>
    where
        Self: 'a;
}

/// [`Shape`] with boxed iterators, as [`HostValue::node`] returns it.
pub type Node<'a, V> = Shape<Items<'a, V>, Entries<'a, V>>;
/// The items of a list, as [`Node::List`] holds them.
pub type Items<'a, V> = Box<dyn Iterator<Item = std::result::Result<V, <V as HostValue>::Error>> + 'a>;
/// The entries of a map, as [`Node::Map`] holds them.
pub type Entries<'a, V> = Box<dyn Iterator<Item = std::result::Result<(Key, V), <V as HostValue>::Error>> + 'a>;

impl<V: HostValue> HostTree for V {
    type Error = V::Error;
    type Items<'a>
        = Items<'a, V>
    where
        V: 'a;
    type Entries<'a>
        = Entries<'a, V>
    where
        V: 'a;
    fn shape(&self) -> std::result::Result<Node<'_, V>, V::Error> {
        self.node()
    }
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

/// A problem and where it sits, the innermost segment first (pushed while unwinding).
struct Fail<E> {
    path: Vec<String>,
    problem: ConvertError<E>,
}

fn fail<E>(problem: ConvertError<E>) -> Fail<E> {
    Fail {
        path: Vec::new(),
        problem,
    }
}

fn value_problem<E>(m: impl Into<String>) -> Fail<E> {
    fail(ConvertError::Value(m.into()))
}

impl<E> Fail<E> {
    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        if !matches!(self.problem, ConvertError::Host(_)) {
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
            ConvertError::Type(what) => {
                ConvertError::Type(format!("{path} is {what}; ACT takes JSON values: {JSON_KINDS}"))
            }
            ConvertError::Value(m) => ConvertError::Value(format!("{path} {m}")),
            host => host,
        }
    }
}

/// The limits, counted while a value is walked: the one place they are checked.
struct Budget {
    values: usize,
}

impl Budget {
    fn enter<E>(&mut self, depth: usize) -> std::result::Result<(), Fail<E>> {
        if depth > MAX_CONTEXT_DEPTH {
            return Err(value_problem(format!(
                "nests deeper than {MAX_CONTEXT_DEPTH} levels (or contains itself)"
            )));
        }
        self.values += 1;
        if self.values > MAX_CONTEXT_VALUES {
            return Err(value_problem(format!("holds more than {MAX_CONTEXT_VALUES} values")));
        }
        Ok(())
    }

    fn value<V: HostTree>(&mut self, v: &V, depth: usize) -> std::result::Result<Value, Fail<V::Error>> {
        let shape = v.shape().map_err(|e| fail(ConvertError::Host(e)))?;
        self.enter(depth)?;
        Ok(match shape {
            Shape::Null => Value::Null,
            Shape::Bool(b) => Value::Bool(b),
            Shape::Int(i) => Value::Number(i.into()),
            Shape::UInt(u) => Value::Number(u.into()),
            Shape::BigInt => {
                return Err(value_problem(
                    "is an integer outside the 64-bit range JSON numbers keep exactly",
                ))
            }
            Shape::Float(f) => Value::Number(
                Number::from_f64(f).ok_or_else(|| value_problem(format!("is {f}, which is not a JSON number")))?,
            ),
            Shape::Text(s) => Value::String(s),
            Shape::List(items) => {
                let mut out = Vec::with_capacity(items.size_hint().0.min(MAX_CONTEXT_VALUES));
                for (i, item) in items.enumerate() {
                    let item = item.map_err(|e| fail(ConvertError::Host(e)))?;
                    out.push(self.value(&item, depth + 1).map_err(|f| f.at(|| format!("[{i}]")))?);
                }
                Value::Array(out)
            }
            Shape::Map(entries) => Value::Object(self.entries(entries, depth)?),
            Shape::Other(what) => return Err(fail(ConvertError::Type(what))),
        })
    }

    /// The entries of a map at `depth` (already counted).
    fn entries<V: HostTree, M>(
        &mut self,
        entries: M,
        depth: usize,
    ) -> std::result::Result<Map<String, Value>, Fail<V::Error>>
    where
        M: Iterator<Item = std::result::Result<(Key, V), V::Error>>,
    {
        let mut map = Map::new();
        for entry in entries {
            let (key, v) = entry.map_err(|e| fail(ConvertError::Host(e)))?;
            let key = key.map_err(|what| fail(ConvertError::Type(format!("a key of type {what}"))))?;
            let value = self.value(&v, depth + 1).map_err(|f| f.at(|| format!("[{key:?}]")))?;
            map.insert(key, value);
        }
        Ok(map)
    }

    /// Counts a value already in JSON (parsed from text) against the same limits.
    fn check(&mut self, v: &Value, depth: usize) -> std::result::Result<(), Fail<Infallible>> {
        self.enter(depth)?;
        match v {
            Value::Array(a) => a
                .iter()
                .enumerate()
                .try_for_each(|(i, c)| self.check(c, depth + 1).map_err(|f| f.at(|| format!("[{i}]")))),
            Value::Object(m) => m
                .iter()
                .try_for_each(|(k, c)| self.check(c, depth + 1).map_err(|f| f.at(|| format!("[{k:?}]")))),
            _ => Ok(()),
        }
    }
}

/// Any JSON value (an inline policy); `name` names the argument in errors.
pub fn to_json<V: HostTree>(v: &V, name: &str) -> std::result::Result<Value, ConvertError<V::Error>> {
    Budget { values: 0 }.value(v, 0).map_err(|f| f.finish(name))
}

/// A JSON object (a context); a value that is not a map is a type error naming `name`.
pub fn to_object<V: HostTree>(v: &V, name: &str) -> std::result::Result<Map<String, Value>, ConvertError<V::Error>> {
    match v.shape().map_err(ConvertError::Host)? {
        Shape::Map(entries) => entries_to_object(entries, name),
        Shape::Other(what) => Err(ConvertError::Type(format!(
            "{name} must be a map with string keys, not {what}"
        ))),
        _ => Err(ConvertError::Type(format!("{name} must be a map with string keys"))),
    }
}

/// A JSON object from the entries of a host map the binding already holds as one (the common
/// case, a context that is a plain map, skips asking what the value is).
pub fn entries_to_object<V: HostTree, M>(
    entries: M,
    name: &str,
) -> std::result::Result<Map<String, Value>, ConvertError<V::Error>>
where
    M: Iterator<Item = std::result::Result<(Key, V), V::Error>>,
{
    let mut budget = Budget { values: 0 };
    budget
        .enter(0)
        .and_then(|()| budget.entries(entries, 0))
        .map_err(|f| f.finish(name))
}

/// How [`Value`]'s children cross as host values (fn pointers: nameable iterator types).
type JsonItem<'v> = fn(&'v Value) -> std::result::Result<&'v Value, Infallible>;
type JsonEntry<'v> = fn((&'v String, &'v Value)) -> std::result::Result<(Key, &'v Value), Infallible>;

/// Plain JSON as a host value: lets the walk itself be tested here, and serves hosts whose
/// values are already JSON.
impl<'v> HostTree for &'v Value {
    type Error = Infallible;
    type Items<'a>
        = std::iter::Map<std::slice::Iter<'v, Value>, JsonItem<'v>>
    where
        Self: 'a;
    type Entries<'a>
        = std::iter::Map<serde_json::map::Iter<'v>, JsonEntry<'v>>
    where
        Self: 'a;
    fn shape(&self) -> std::result::Result<Shape<Self::Items<'_>, Self::Entries<'_>>, Infallible> {
        let item: JsonItem<'v> = Ok;
        let entry: JsonEntry<'v> = |(k, v)| Ok((Ok(k.clone()), v));
        let v: &'v Value = self;
        Ok(match v {
            Value::Null => Shape::Null,
            Value::Bool(b) => Shape::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Shape::Int(i),
                (None, Some(u)) => Shape::UInt(u),
                _ => Shape::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Shape::Text(s.clone()),
            Value::Array(items) => Shape::List(items.iter().map(item)),
            Value::Object(m) => Shape::Map(m.iter().map(entry)),
        })
    }
}

fn config(name: &str, f: Fail<Infallible>) -> Error {
    Error::Config(f.finish(name).message().unwrap_or_default().to_string())
}

/// Parses JSON text a host passed as `name` (a context, user context or policy, from hosts whose
/// objects cross as `JSON.stringify` output, which has no duplicate keys) within the limits.
/// serde_json refuses nesting past 128 while parsing, so the check after it stays shallow.
pub fn json_text(name: &str, text: &str) -> Result<Value> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| Error::Config(format!("`{name}` is not usable JSON: {e}")))?;
    Budget { values: 0 }.check(&v, 0).map_err(|f| config(name, f))?;
    Ok(v)
}

/// [`json_text`] that must be an object; absent or `null` is the empty object.
pub fn json_object(name: &str, text: Option<&str>) -> Result<Map<String, Value>> {
    match text.map(|t| json_text(name, t)).transpose()? {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(Error::Config(format!("`{name}` must be an object"))),
    }
}

/// [`json_text`] where absent and `null` both mean "none" (a token's optional policy).
pub fn json_optional(name: &str, text: Option<&str>) -> Result<Option<Value>> {
    Ok(text.map(|t| json_text(name, t)).transpose()?.filter(|v| !v.is_null()))
}

/// Parses JSON text into an object for hosts that pass context as text a user may have written:
/// duplicate keys are refused, as for tokens, and the limits are the same as for host values.
pub fn object_from_json_text(text: &str, name: &str) -> Result<Map<String, Value>> {
    let v = crate::json::parse_strict(text.as_bytes(), MAX_CONTEXT_DEPTH)
        .map_err(|e| Error::Config(format!("{name} JSON: {e}")))?;
    Budget { values: 0 }.check(&v, 0).map_err(|f| config(name, f))?;
    match v {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Config(format!("{name} JSON must be an object"))),
    }
}

/// A public key as hosts pass it: `ed25519:<base64url>` or a public JWK's JSON text.
pub fn public_key(text: &str) -> Result<VerifyingKey> {
    if text.trim_start().starts_with('{') {
        VerifyingKey::from_jwk(text)
    } else {
        VerifyingKey::parse(text)
    }
}

/// A whole number (seconds, milliseconds) from a double; anything else names `name`.
pub fn whole(name: &str, v: f64) -> Result<i64> {
    // 9e15 < 2^53: every whole double below it is exact.
    if !v.is_finite() || v.fract() != 0.0 || v.abs() > 9.0e15 {
        return Err(Error::Config(format!("`{name}` must be a whole number, got {v}")));
    }
    Ok(v as i64)
}

/// A whole, non-negative number from a double.
pub fn whole_unsigned(name: &str, v: f64) -> Result<u64> {
    let n = whole(name, v)?;
    u64::try_from(n).map_err(|_| Error::Config(format!("`{name}` must not be negative, got {v}")))
}

/// Checks an audit log's hash chain (as `act audit verify` does) and, given the text of its
/// `<log>.checkpoints` file, every signed checkpoint against the public audit key `audit_key`
/// (text as [`public_key`] reads it). Returns the record count. Checkpoints and key come
/// together: a checkpoint nobody verifies proves nothing.
pub fn verify_audit_log(
    log: &str,
    start: Option<&str>,
    checkpoints: Option<&str>,
    audit_key: Option<&str>,
) -> Result<usize> {
    use crate::audit::{checkpoint, verify_log};
    match (checkpoints, audit_key) {
        (None, None) => Ok(verify_log(log.as_bytes(), start)?),
        (Some(cps), Some(key)) => {
            let cps = checkpoint::read_checkpoints(cps.as_bytes(), &public_key(key)?)?;
            Ok(checkpoint::verify_log_with_checkpoints(log.as_bytes(), start, &cps)?)
        }
        _ => Err(Error::Config(
            "pass checkpoints and auditKey together (the checkpoints are verified with the audit key)".into(),
        )),
    }
}

/// Checks the hash chain of the audit log file at `path` (see [`verify_audit_log`]), reading
/// it as it goes; returns the record count.
pub fn verify_audit_log_file(path: &std::path::Path, start: Option<&str>) -> Result<usize> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    Ok(crate::audit::verify_log(std::io::BufReader::new(file), start)?)
}

impl super::Client {
    /// True when [`issue_token`](super::Client::issue_token) mints through the endpoint
    /// (endpoint mode without a local signing key): a host with an event loop runs it off that
    /// loop instead of blocking it.
    pub fn issues_remotely(&self) -> Result<bool> {
        Ok(self.control.is_some() && self.engine()?.signing_key().is_none())
    }
}

/// A JSON value with camelCase object keys, recursively (`audit_last_error` → `auditLastError`):
/// the core's snake_case shapes, such as [`ClientStatus`](super::ClientStatus), in the
/// convention of JavaScript and Kotlin, with the same fields.
pub fn camel_case_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (camel(&k), camel_case_keys(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
