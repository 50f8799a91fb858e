//! Request data as CEL variables and template values.
//!
//! JSON has one number type; CEL has `int` and `double`. The bridge is here,
//! once: a JSON number with no fractional part binds as `int`, any other as
//! `double`, and CEL compares `int` with `double` numerically, so
//! `amount > 100` holds for `120` and `120.5` alike.

use crate::policy::pattern::{TemplateRef, TemplateValues};
use crate::token::Claims;
use cel::common::value::{CowVal, Val};
use cel::objects::{Key, Map as CelMap};
use cel::Value as CelValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Names bound by ACT; a context field with one of these names is reachable as `context.<name>`.
pub const RESERVED: &[&str] = &["context", "user", "agent", "resource", "action", "now"];

/// JSON to CEL with the number bridge.
pub fn to_cel(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                CelValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                CelValue::UInt(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    CelValue::Int(f as i64)
                } else {
                    CelValue::Float(f)
                }
            }
        }
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(a) => CelValue::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => map_to_cel(m.iter()),
    }
}

fn map_to_cel<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>) -> CelValue {
    let map: HashMap<Key, CelValue> = entries
        .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
        .collect();
    CelValue::Map(CelMap { map: Arc::new(map) })
}

/// Everything a condition may read for one request and one policy layer.
pub struct Vars<'a> {
    pub context: &'a Map<String, Value>,
    /// Root token claims: the user context is only ever taken from the root (issuer-signed).
    pub user: &'a Claims,
    /// The agent this layer is about (its id and attributes).
    pub agent: &'a Claims,
    pub resource: &'a str,
    pub action: &'a str,
    pub now_ms: i64,
}

fn owned<'b>(v: CelValue) -> Option<CowVal<'b, 'b>> {
    Box::<dyn Val>::try_from(v).ok().map(CowVal::Owned)
}

impl Vars<'_> {
    fn user_value(&self) -> CelValue {
        let id = (String::from("id"), Value::String(self.user.sub.clone()));
        map_to_cel(self.user.ctx.iter().chain(std::iter::once((&id.0, &id.1))))
    }

    fn agent_value(&self) -> CelValue {
        let id = (String::from("id"), Value::String(self.agent.agent.clone()));
        map_to_cel(self.agent.agent_context.iter().chain(std::iter::once((&id.0, &id.1))))
    }

    fn now_value(&self) -> CelValue {
        let t = chrono::DateTime::from_timestamp_millis(self.now_ms).unwrap_or_default();
        CelValue::Timestamp(t.fixed_offset())
    }
}

impl cel::context::VariableResolver for Vars<'_> {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        match name {
            "context" => owned(map_to_cel(self.context.iter())),
            "user" => owned(self.user_value()),
            "agent" => owned(self.agent_value()),
            "resource" => owned(CelValue::String(Arc::new(self.resource.to_string()))),
            "action" => owned(CelValue::String(Arc::new(self.action.to_string()))),
            "now" => owned(self.now_value()),
            field => self.context.get(field).and_then(|v| owned(to_cel(v))),
        }
    }
}

fn scalar(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

impl TemplateValues for Vars<'_> {
    fn value(&self, t: &TemplateRef) -> Option<Cow<'_, str>> {
        match t {
            TemplateRef::UserId => Some(Cow::Borrowed(self.user.sub.as_str())),
            TemplateRef::User(f) => self.user.ctx.get(f).and_then(scalar),
            TemplateRef::AgentId => Some(Cow::Borrowed(self.agent.agent.as_str())),
            TemplateRef::Agent(f) => self.agent.agent_context.get(f).and_then(scalar),
        }
    }
}
