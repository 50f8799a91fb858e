//! The claims of an ACT token, parsed from untrusted JSON with exact types.

use crate::keys::VerifyingKey;
use crate::reason::Reason;
use serde_json::{Map, Value};

/// What a validated token says. Field names follow the JWT claim they come from.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// `iss`: who issued it.
    pub iss: String,
    /// `sub`: the user the agent acts for (`user_context.user_id` when issued).
    pub sub: String,
    /// `act.sub`: the agent (RFC 8693 actor).
    pub agent: String,
    /// `act.ctx`: agent attributes for `{{agent.X}}` templates.
    pub agent_context: Map<String, Value>,
    /// `aud`: audiences; empty when absent.
    pub aud: Vec<String>,
    /// `iat`, seconds since the epoch.
    pub iat: i64,
    /// `nbf`, seconds since the epoch.
    pub nbf: Option<i64>,
    /// `exp`, seconds since the epoch.
    pub exp: i64,
    /// `jti`: unique token id (revocation and approvals bind to it).
    pub jti: String,
    /// `ctx`: the user context for `{{user.X}}` templates and `user.*` in conditions.
    pub ctx: Map<String, Value>,
    /// `cap`: an inline capability (a policy body), narrowing what the agent's policy grants.
    pub cap: Option<Value>,
    /// `cnf.jwk`: the holder key that may sign delegated child tokens. A link that names one
    /// is attenuable, not presentable: only a chain whose last link names none may act.
    pub cnf: Option<VerifyingKey>,
    /// `pjt`: in a delegated link, the `jti` of the parent token it was made for (required in
    /// every link but the root; see `docs/tokens.md`, delegation format 2).
    pub pjt: Option<String>,
}

/// A claim problem: the reason code and a sentence naming the claim.
pub(crate) type ClaimError = (Reason, String);

fn invalid(msg: impl Into<String>) -> ClaimError {
    (Reason::TokenClaimInvalid, msg.into())
}

impl Claims {
    /// Parses and type-checks claims. Unknown claims are ignored (JWT libraries add their own).
    pub(crate) fn from_json(v: &Value) -> Result<Claims, ClaimError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid("the claims are not a JSON object"))?;
        let act = obj.get("act").ok_or_else(|| invalid("claim `act` is missing"))?;
        let act = act
            .as_object()
            .ok_or_else(|| invalid("claim `act` must be an object"))?;
        let agent = nonempty_str(act.get("sub"), "act.sub")?;
        let agent_context = opt_object(act.get("ctx"), "act.ctx")?;
        let aud = match obj.get("aud") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("claim `aud` must be a string or an array of strings"))?,
            Some(_) => return Err(invalid("claim `aud` must be a string or an array of strings")),
        };
        let cnf = match obj.get("cnf") {
            None => None,
            Some(Value::Object(c)) => {
                let jwk = c.get("jwk").ok_or_else(|| invalid("claim `cnf` lacks `jwk`"))?;
                Some(
                    VerifyingKey::from_jwk_value(jwk)
                        .map_err(|e| invalid(format!("claim `cnf.jwk` is not an Ed25519 key: {e}")))?,
                )
            }
            Some(_) => return Err(invalid("claim `cnf` must be an object")),
        };
        let cap = match obj.get("cap") {
            None | Some(Value::Null) => None,
            Some(c @ Value::Object(_)) => Some(c.clone()),
            Some(_) => return Err(invalid("claim `cap` must be an object")),
        };
        Ok(Claims {
            iss: nonempty_str(obj.get("iss"), "iss")?,
            sub: nonempty_str(obj.get("sub"), "sub")?,
            agent,
            agent_context,
            aud,
            iat: int(obj.get("iat"), "iat")?.ok_or_else(|| invalid("claim `iat` is missing"))?,
            nbf: int(obj.get("nbf"), "nbf")?,
            exp: int(obj.get("exp"), "exp")?.ok_or_else(|| invalid("claim `exp` is missing"))?,
            jti: nonempty_str(obj.get("jti"), "jti")?,
            ctx: opt_object(obj.get("ctx"), "ctx")?,
            cap,
            cnf,
            pjt: match obj.get("pjt") {
                None => None,
                v => Some(nonempty_str(v, "pjt")?),
            },
        })
    }

    /// The claims as JSON, in the wire layout.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("iss".into(), self.iss.clone().into());
        obj.insert("sub".into(), self.sub.clone().into());
        let mut act = Map::new();
        act.insert("sub".into(), self.agent.clone().into());
        if !self.agent_context.is_empty() {
            act.insert("ctx".into(), Value::Object(self.agent_context.clone()));
        }
        obj.insert("act".into(), Value::Object(act));
        match self.aud.len() {
            0 => {}
            1 => {
                obj.insert("aud".into(), self.aud[0].clone().into());
            }
            _ => {
                obj.insert("aud".into(), self.aud.clone().into());
            }
        }
        obj.insert("iat".into(), self.iat.into());
        if let Some(nbf) = self.nbf {
            obj.insert("nbf".into(), nbf.into());
        }
        obj.insert("exp".into(), self.exp.into());
        obj.insert("jti".into(), self.jti.clone().into());
        if !self.ctx.is_empty() {
            obj.insert("ctx".into(), Value::Object(self.ctx.clone()));
        }
        if let Some(cap) = &self.cap {
            obj.insert("cap".into(), cap.clone());
        }
        if let Some(cnf) = &self.cnf {
            obj.insert("cnf".into(), serde_json::json!({ "jwk": cnf.to_jwk_value() }));
        }
        if let Some(pjt) = &self.pjt {
            obj.insert("pjt".into(), pjt.clone().into());
        }
        Value::Object(obj)
    }

    /// The user id: the subject, which `{{authenticated_user_id}}` and `{{user.id}}` name.
    pub fn user_id(&self) -> &str {
        &self.sub
    }
}

fn nonempty_str(v: Option<&Value>, name: &str) -> Result<String, ClaimError> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(invalid(format!("claim `{name}` is empty"))),
        Some(_) => Err(invalid(format!("claim `{name}` must be a string"))),
        None => Err(invalid(format!("claim `{name}` is missing"))),
    }
}

fn int(v: Option<&Value>, name: &str) -> Result<Option<i64>, ClaimError> {
    match v {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| invalid(format!("claim `{name}` must be an integer NumericDate"))),
        Some(_) => Err(invalid(format!(
            "claim `{name}` must be a number (seconds since the epoch)"
        ))),
    }
}

fn opt_object(v: Option<&Value>, name: &str) -> Result<Map<String, Value>, ClaimError> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(invalid(format!("claim `{name}` must be an object"))),
    }
}
