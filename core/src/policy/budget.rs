//! Limit scopes and budgets (weighted limits): the map forms of the limit keys, and the weight a
//! request puts on a budget.
//!
//! Budgets are exact: weights and maxima are counted in millionths as integers, never summed as
//! floating point, so `2000` allows exactly 2000.00 and refuses 2000.01. A weight with more than
//! six decimals is rounded up and a maximum rounded down, so rounding never frees capacity.

use super::model::{ConstraintKind, LimitScope, Weight};
use super::source::{Node, NodeValue};
use super::timeexpr;
use serde_json::{Map, Value};

/// Units per whole number in budget arithmetic.
pub const MICROS: u64 = 1_000_000;
/// The largest budget maximum: its millionths stay exact in a double (Redis's Lua numbers).
pub const MAX_BUDGET: f64 = 9_000_000_000.0;
/// Weights saturate here (above any maximum, so such a request is refused, never wrapped).
const WEIGHT_CAP: u64 = (1 << 53) - 1;

/// `x` in millionths, rounded up (`up`) or down past the sixth decimal; saturates at the cap.
/// Reads the shortest decimal form of `x`, so `2000.01` is 2000010000 exactly.
pub fn to_micros(x: f64, up: bool) -> u64 {
    if !x.is_finite() || x <= 0.0 {
        return 0;
    }
    if x >= (WEIGHT_CAP / MICROS) as f64 {
        return WEIGHT_CAP;
    }
    let text = format!("{x}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole: u64 = int.parse().unwrap_or(0);
    let mut micros = whole * MICROS;
    let digits = frac.as_bytes();
    let mut scale = MICROS / 10;
    for d in digits.iter().take(6) {
        micros += u64::from(d - b'0') * scale;
        scale /= 10;
    }
    if up && digits.iter().skip(6).any(|d| *d != b'0') {
        micros += 1;
    }
    micros.min(WEIGHT_CAP)
}

/// Millionths as the user would write them: `2000`, `2000.01`.
pub fn micros_text(m: u64) -> String {
    let (whole, frac) = (m / MICROS, m % MICROS);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// The weight of one request on a budget, in millionths; an error names the field at fault.
pub fn weigh(weight: &Weight, context: &Map<String, Value>) -> Result<u64, String> {
    match weight {
        Weight::Sum { field } => match context.get(field) {
            None => Err(format!("context field `{field}` is missing (a budget sums it)")),
            Some(Value::Number(n)) => {
                if let Some(u) = n.as_u64() {
                    return Ok(u.min(WEIGHT_CAP / MICROS).saturating_mul(MICROS).min(WEIGHT_CAP));
                }
                match n.as_f64() {
                    Some(x) if x.is_finite() && x >= 0.0 => Ok(to_micros(x, true)),
                    Some(x) if x.is_finite() => Err(format!(
                        "`{field}` is negative ({x}); a budget only sums amounts of 0 or more"
                    )),
                    _ => Err(format!("`{field}` is not a finite number; a budget cannot sum it")),
                }
            }
            Some(other) => Err(format!(
                "`{field}` must be a number for the budget that sums it; got {}",
                kind_of(other)
            )),
        },
        Weight::Count { fields } => {
            let mut n: u64 = 0;
            for field in fields {
                n += match context.get(field) {
                    None | Some(Value::Null) => 0,
                    Some(Value::Array(items)) => items.len() as u64,
                    Some(Value::String(_)) => 1,
                    Some(other) => {
                        return Err(format!(
                            "`{field}` must be a list (or one string) for the budget that counts it; got {}",
                            kind_of(other)
                        ))
                    }
                };
            }
            Ok(n.saturating_mul(MICROS).min(WEIGHT_CAP))
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `per: user | agent | global | token`.
pub fn scope(node: &Node) -> Result<LimitScope, String> {
    match node.scalar_text().as_deref().map(str::trim) {
        Some("user" | "subject") => Ok(LimitScope::Subject),
        Some("agent") => Ok(LimitScope::Agent),
        Some("global") => Ok(LimitScope::Global),
        Some("token") => Ok(LimitScope::Token),
        _ => Err(format!(
            "`per` must be user, agent, global or token, got {}",
            node.scalar_text()
                .map_or_else(|| node.type_name().to_string(), |t| format!("`{t}`"))
        )),
    }
}

fn entries<'n>(node: &'n Node, allowed: &[&str], what: &str) -> Result<Vec<(&'n str, &'n Node)>, String> {
    let Some(map) = node.as_map() else {
        return Err(format!("expected {what}, got {}", node.type_name()));
    };
    for (k, _) in map {
        if !allowed.contains(&k.name.as_str()) {
            return Err(format!("unknown key `{}` (expected {})", k.name, allowed.join(", ")));
        }
    }
    Ok(map.iter().map(|(k, v)| (k.name.as_str(), v)).collect())
}

fn get<'n>(e: &[(&str, &'n Node)], name: &str) -> Option<&'n Node> {
    e.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// `per:` (or `scope:`, as `circuitBreaker` spells it); per user when neither is given.
fn scope_of(e: &[(&str, &Node)]) -> Result<LimitScope, String> {
    match (get(e, "per"), get(e, "scope")) {
        (Some(_), Some(_)) => Err("give `per` or `scope`, not both".into()),
        (Some(n), None) | (None, Some(n)) => scope(n),
        (None, None) => Ok(LimitScope::Subject),
    }
}

/// `maxPerDay: {count: 100, per: agent}` (and `maxPerHour`, `maxPerMinute`): `(count, scope)`.
pub fn count_map(node: &Node) -> Result<(u64, LimitScope), String> {
    let e = entries(
        node,
        &["count", "per", "scope"],
        "a number or {count: N, per: user|agent|global|token}",
    )?;
    let count = match get(&e, "count").map(|n| &n.value) {
        Some(NodeValue::Int(i)) if *i > 0 => *i as u64,
        _ => return Err("`count` must be a positive whole number".into()),
    };
    Ok((count, scope_of(&e)?))
}

/// `rateLimit: {rate: 100/hour, per: global}`: the rate text and the scope.
pub fn rate_map(node: &Node) -> Result<(String, LimitScope), String> {
    let e = entries(
        node,
        &["rate", "per", "scope"],
        "a rate or {rate: 100/hour, per: user|agent|global|token}",
    )?;
    let rate = get(&e, "rate")
        .and_then(Node::scalar_text)
        .ok_or("`rate` is required, e.g. `rate: 100/hour`")?;
    Ok((rate, scope_of(&e)?))
}

/// A context field name a budget reads: a top-level field, as CEL would name it.
fn field_name(node: &Node) -> Result<String, String> {
    let f = node.scalar_text().unwrap_or_default();
    let ok = f.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(f)
    } else {
        Err(format!("expected a context field name, got {}", node.type_name()))
    }
}

/// `budget: {sum: amount, max: 2000, window: 1d, per: agent}` or `{count: recipients, ...}`
/// (`count` may list several fields: `[to, cc, bcc]`); a list of such maps is several budgets.
pub fn budgets(node: &Node) -> Result<Vec<ConstraintKind>, String> {
    match &node.value {
        NodeValue::Seq(items) if !items.is_empty() => items.iter().map(budget).collect(),
        NodeValue::Seq(_) => Err("an empty list of budgets; remove the key instead".into()),
        _ => Ok(vec![budget(node)?]),
    }
}

fn budget(node: &Node) -> Result<ConstraintKind, String> {
    let e = entries(
        node,
        &["sum", "count", "max", "window", "per", "scope"],
        "{sum: FIELD, max: N, window: 1d, per: user|agent|global|token}",
    )?;
    let weight = match (get(&e, "sum"), get(&e, "count")) {
        (Some(f), None) => Weight::Sum { field: field_name(f)? },
        (None, Some(f)) => {
            let fields = match &f.value {
                NodeValue::Seq(items) if !items.is_empty() => {
                    items.iter().map(field_name).collect::<Result<Vec<_>, _>>()?
                }
                _ => vec![field_name(f)?],
            };
            Weight::Count { fields }
        }
        _ => return Err("a budget needs exactly one of `sum: FIELD` or `count: FIELD`".into()),
    };
    let max = get(&e, "max").ok_or("a budget needs `max`, e.g. `max: 2000`")?;
    let max = super::vocab::number(max).map_err(|m| format!("`max`: {m}"))?;
    if max <= 0.0 || max > MAX_BUDGET {
        return Err(format!("`max` must be more than 0 and at most 9000000000, got {max}"));
    }
    if micros_text(to_micros(max, false)) != format!("{max}") {
        return Err(format!("`max` has more than 6 decimals ({max})"));
    }
    let window = get(&e, "window").ok_or("a budget needs `window`, e.g. `window: 1d`")?;
    let window = window.scalar_text().unwrap_or_default();
    let window_secs = timeexpr::unit_seconds(&window)
        .map_or_else(|| timeexpr::duration_secs(&window), Ok)
        .map_err(|m| format!("`window`: {m}"))?;
    Ok(ConstraintKind::Budget {
        weight,
        max,
        window_secs,
        scope: scope_of(&e)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn micros_are_exact_at_the_boundary() {
        assert_eq!(to_micros(2000.0, false), 2_000_000_000);
        assert_eq!(to_micros(2000.01, true), 2_000_010_000);
        assert_eq!(to_micros(0.1, true) + to_micros(0.2, true), to_micros(0.3, true));
        assert_eq!(to_micros(0.0000001, true), 1);
        assert_eq!(to_micros(0.0000001, false), 0);
        assert_eq!(micros_text(2_000_010_000), "2000.01");
        assert_eq!(micros_text(5), "0.000005");
    }

    #[test]
    fn bad_weights_name_the_field() {
        let sum = Weight::Sum { field: "amount".into() };
        let ctx = |v: Value| v.as_object().cloned().unwrap();
        for (c, needle) in [
            (json!({}), "missing"),
            (json!({"amount": -1}), "negative"),
            (json!({"amount": -0.5}), "negative"),
            (json!({"amount": "12"}), "a string"),
            (json!({"amount": [1]}), "a list"),
        ] {
            let m = weigh(&sum, &ctx(c)).unwrap_err();
            assert!(m.contains("`amount`") && m.contains(needle), "{m}");
        }
        assert_eq!(weigh(&sum, &ctx(json!({"amount": 12}))), Ok(12_000_000));
        // Huge weights saturate above any maximum (so they are refused), never wrap.
        let most = to_micros(MAX_BUDGET, false);
        for huge in [json!(1e300), json!(u64::MAX), json!(9_007_199_254_740_993u64)] {
            let w = weigh(&sum, &ctx(json!({ "amount": huge }))).unwrap();
            assert!(w > most && w <= WEIGHT_CAP, "{huge}: {w}");
        }
        let count = Weight::Count {
            fields: vec!["to".into(), "cc".into()],
        };
        assert_eq!(weigh(&count, &ctx(json!({"to": ["a", "b"], "cc": "c"}))), Ok(3_000_000));
        assert!(weigh(&count, &ctx(json!({"to": 3}))).unwrap_err().contains("`to`"));
    }
}
