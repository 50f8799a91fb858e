//! The limits and the wording, for host values and for JSON text alike.

use super::*;
use serde_json::json;

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn converts_json_and_names_the_path_of_a_bad_value() {
    let v = json!({"a": [1, {"b": "x"}], "n": null, "big": u64::MAX});
    assert_eq!(to_json(&&v, "context").unwrap(), v);
    assert!(
        matches!(to_object(&&json!([1]), "context"), Err(ConvertError::Type(m)) if m.contains("context must be a map"))
    );
}

#[test]
fn host_values_are_bounded_in_depth_and_size() {
    let mut deep = json!(1);
    for _ in 0..=MAX_CONTEXT_DEPTH {
        deep = json!([deep]);
    }
    let err = to_json(&&deep, "policy").unwrap_err();
    assert!(
        matches!(&err, ConvertError::Value(m) if m.contains("nests deeper than 64") && m.starts_with("policy[0][0]")),
        "{err:?}"
    );
    let wide = Value::Array(vec![json!(0); MAX_CONTEXT_VALUES]);
    assert!(matches!(to_json(&&wide, "context"), Err(ConvertError::Value(m)) if m.contains("more than 100000 values")));
    let fits = Value::Array(vec![json!(0); MAX_CONTEXT_VALUES - 1]);
    assert!(to_json(&&fits, "context").is_ok());
}

/// A host whose values cross as boxed iterators ([`HostValue`]) walks through the same limits.
struct Boxed(Value);

impl HostValue for Boxed {
    type Error = Infallible;
    fn node<'a>(&'a self) -> std::result::Result<Node<'a, Self>, Infallible>
    where
        Self: 'a,
    {
        Ok(match &self.0 {
            Value::Array(a) => Shape::List(Box::new(a.iter().map(|v| Ok(Boxed(v.clone()))))),
            Value::Object(m) => Shape::Map(Box::new(m.iter().map(|(k, v)| Ok((Ok(k.clone()), Boxed(v.clone())))))),
            Value::String(s) => Shape::Text(s.clone()),
            Value::Number(n) => Shape::Int(n.as_i64().unwrap_or_default()),
            _ => Shape::Other("a `thing`".into()),
        })
    }
}

#[test]
fn boxed_host_values_walk_the_same_way() {
    let v = json!({"a": [1, "x"]});
    assert_eq!(
        to_object(&Boxed(v.clone()), "context").unwrap(),
        *v.as_object().unwrap()
    );
    let e = to_object(&Boxed(json!({"a": [1, true]})), "context").unwrap_err();
    assert!(
        matches!(&e, ConvertError::Type(m) if m.starts_with("context[\"a\"][1] is a `thing`")),
        "{e:?}"
    );
    let wide = Boxed(Value::Array(vec![json!(0); MAX_CONTEXT_VALUES]));
    assert!(matches!(to_json(&wide, "context"), Err(ConvertError::Value(m)) if m.contains("more than 100000")));
}

#[test]
fn json_text_has_the_same_depth_limit() {
    assert!(json_text("context", &format!("{{\"a\":{}}}", nested(MAX_CONTEXT_DEPTH - 1))).is_ok());
    // `{"a": [[..[1]..]]}` with 64 arrays puts the 1 at depth 65.
    let e = json_text("context", &format!("{{\"a\":{}}}", nested(MAX_CONTEXT_DEPTH))).unwrap_err();
    assert!(
        e.to_string().contains("context[\"a\"][0]") && e.to_string().contains("deeper than 64"),
        "{e}"
    );
    // Past serde_json's own limit: refused while parsing, never recursed into.
    assert!(json_text("context", &nested(100_000)).is_err());
}

#[test]
fn json_text_has_the_same_size_limit() {
    let many = format!("[{}]", vec!["1"; MAX_CONTEXT_VALUES].join(","));
    let e = json_text("context", &many).unwrap_err();
    assert!(e.to_string().contains("more than 100000 values"), "{e}");
    // The strict parser (duplicate keys refused) counts too.
    let many = format!("{{\"a\":{many}}}");
    let e = object_from_json_text(&many, "context").unwrap_err();
    assert!(e.to_string().contains("more than 100000 values"), "{e}");
}

#[test]
fn strict_json_text_refuses_duplicates_and_non_objects() {
    assert_eq!(object_from_json_text(r#"{"a": 1}"#, "context").unwrap()["a"], json!(1));
    assert!(object_from_json_text(r#"{"a": 1, "a": 2}"#, "context").is_err());
    assert!(object_from_json_text("[1]", "context").is_err());
}

#[test]
fn camel_case_status() {
    let v = camel_case_keys(crate::client::ClientStatus::default().to_json());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(
        keys.contains(&"auditLastError") && keys.contains(&"openBreakers"),
        "{keys:?}"
    );
    assert_eq!(keys.len(), crate::client::STATUS_FIELDS.len());
}

#[test]
fn objects_keys_and_numbers() {
    assert!(json_object("userContext", None).unwrap().is_empty());
    assert!(json_object("userContext", Some("null")).unwrap().is_empty());
    assert!(json_object("userContext", Some("[1]")).is_err());
    assert_eq!(json_optional("policy", Some("null")).unwrap(), None);
    let k = crate::SigningKey::generate().unwrap();
    let vk = k.verifying_key();
    assert_eq!(public_key(&vk.to_string()).unwrap().kid(), vk.kid());
    assert_eq!(public_key(&vk.to_jwk()).unwrap().kid(), vk.kid());
    assert_eq!(whole("ttl", 60.0).unwrap(), 60);
    assert!(whole("ttl", 1.5).is_err());
    assert!(whole("ttl", f64::NAN).is_err());
    assert!(whole_unsigned("ttl", -1.0).is_err());
}
