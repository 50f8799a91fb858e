//! Strict JSON for untrusted input (token headers and claims, approvals).
//!
//! `serde_json::Value` silently keeps the last of two equal keys; a JWS whose
//! claims say `"exp": 1, "exp": 9999999999` must not mean whichever a parser
//! picks. This reader rejects duplicate keys and nesting deeper than a bound,
//! so it is safe to run on attacker-controlled bytes.

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Why strict parsing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictJsonError {
    /// A key occurs twice in one object.
    DuplicateKey(String),
    /// Objects or arrays nest deeper than the bound.
    TooDeep,
    /// Not JSON at all.
    Syntax(String),
}

impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictJsonError::DuplicateKey(k) => write!(f, "duplicate JSON key `{k}`"),
            StrictJsonError::TooDeep => f.write_str("JSON nests too deeply"),
            StrictJsonError::Syntax(e) => write!(f, "invalid JSON: {e}"),
        }
    }
}

const DUP_PREFIX: &str = "\u{0}dup:";
const DEEP: &str = "\u{0}deep";

/// Parses `bytes` as one JSON value, rejecting duplicate keys and nesting over `max_depth`.
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { depth: max_depth }.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(value)
}

fn classify(e: serde_json::Error) -> StrictJsonError {
    let text = e.to_string();
    if let Some(rest) = text.strip_prefix(DUP_PREFIX) {
        let key = rest.split('\u{0}').next().unwrap_or_default();
        StrictJsonError::DuplicateKey(key.to_string())
    } else if text.starts_with(DEEP) || e.to_string().contains("recursion limit") {
        StrictJsonError::TooDeep
    } else {
        StrictJsonError::Syntax(text)
    }
}

struct StrictSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { depth: self.depth })
    }
}

struct StrictVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth == 0 {
            return Err(A::Error::custom(DEEP));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed { depth: self.depth - 1 })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth == 0 {
            return Err(A::Error::custom(DEEP));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!("{DUP_PREFIX}{key}\u{0}")));
            }
            let v = map.next_value_seed(StrictSeed { depth: self.depth - 1 })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        assert_eq!(
            parse_strict(br#"{"exp":1,"exp":2}"#, 8),
            Err(StrictJsonError::DuplicateKey("exp".into()))
        );
        assert_eq!(
            parse_strict(br#"{"a":{"b":1,"b":1}}"#, 8),
            Err(StrictJsonError::DuplicateKey("b".into()))
        );
    }

    #[test]
    fn bounds_depth_and_rejects_trailing_garbage() {
        assert_eq!(parse_strict(b"[[[[1]]]]", 3), Err(StrictJsonError::TooDeep));
        assert!(parse_strict(b"[[[[1]]]]", 4).is_ok());
        assert!(matches!(parse_strict(b"{} x", 4), Err(StrictJsonError::Syntax(_))));
        let deep = "[".repeat(10_000);
        assert!(parse_strict(deep.as_bytes(), 32).is_err());
    }

    #[test]
    fn keeps_values() {
        let v = parse_strict(br#"{"a":[1,2.5,"x",null,true]}"#, 8).unwrap();
        assert_eq!(v["a"][1], serde_json::json!(2.5));
    }
}
