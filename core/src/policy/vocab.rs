//! The article's constraint vocabulary, each key compiled to canonical form.
//!
//! This table is the single definition of what each key means; `docs/policy.md`
//! documents it key by key. Keys outside it are errors (with a "did you mean").

use super::model::{ConstraintKind, LimitScope};
use super::source::{Node, NodeValue};
use super::{budget, timeexpr};

/// What a constraint key turns into.
#[derive(Debug, PartialEq)]
pub enum Meaning {
    /// Canonical constraints.
    Constraints(Vec<ConstraintKind>),
    /// `onlyOwnOrders: true`: a compile-time check that every resource pattern is scoped by the user id.
    OnlyOwn,
    /// A flag set to false, which adds nothing.
    Nothing,
}

/// Every constraint key accepted, for suggestions and docs.
pub const KEYS: &[&str] = &[
    "maxAmount",
    "maxDiscount",
    "maxRowsPerQuery",
    "maxRows",
    "maxEmails",
    "maxPerMinute",
    "maxPerHour",
    "maxPerDay",
    "rateLimit",
    "ifRateLimit",
    "budget",
    "requireApproval",
    "requireSecondApproval",
    "requireHumanApproval",
    "condition",
    "when",
    "denyIf",
    "allowedDomains",
    "onlyUnread",
    "noAttachments",
    "excludeFolders",
    "requireKeywords",
    "timeWindow",
    "ifTime",
    "ifUser",
    "ifRiskScore",
    "ifDataClassification",
    "onlyOwnOrders",
    "onlyOwnResources",
    "onlyOwnRecords",
];

fn require(cel: String) -> Meaning {
    Meaning::Constraints(vec![ConstraintKind::Require { cel }])
}

/// A CEL string literal for `s`.
pub fn cel_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cel_str_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| cel_str(s)).collect::<Vec<_>>().join(", "))
}

/// A number, accepting `15%` (percent units: 15) and numeric strings.
pub fn number(node: &Node) -> Result<f64, String> {
    let n = match &node.value {
        NodeValue::Int(i) => *i as f64,
        NodeValue::Float(f) => *f,
        NodeValue::Str(s) => {
            let t = s.trim();
            let t = t.strip_suffix('%').unwrap_or(t).trim();
            let t = t.strip_prefix('$').unwrap_or(t).replace('_', "");
            t.parse::<f64>().map_err(|_| format!("expected a number, got `{s}`"))?
        }
        _ => return Err(format!("expected a number, got {}", node.type_name())),
    };
    if !n.is_finite() {
        return Err("expected a finite number".into());
    }
    Ok(n)
}

fn cel_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:?}")
    }
}

fn positive_int(node: &Node) -> Result<u64, String> {
    match node.value {
        NodeValue::Int(i) if i > 0 => Ok(i as u64),
        _ => Err(format!("expected a positive whole number, got {}", describe(node))),
    }
}

fn boolean(node: &Node) -> Result<bool, String> {
    match node.value {
        NodeValue::Bool(b) => Ok(b),
        _ => Err(format!("expected true or false, got {}", describe(node))),
    }
}

fn string_list(node: &Node) -> Result<Vec<String>, String> {
    let items = match &node.value {
        NodeValue::Seq(items) => items.iter().collect::<Vec<_>>(),
        NodeValue::Str(_) => vec![node],
        _ => return Err(format!("expected a list of strings, got {}", node.type_name())),
    };
    let out: Vec<String> = items
        .iter()
        .map(|n| match &n.value {
            NodeValue::Str(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(format!("expected a non-empty string in the list, got {}", describe(n))),
        })
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err("the list is empty".into());
    }
    Ok(out)
}

fn text(node: &Node) -> Result<String, String> {
    node.scalar_text()
        .map(|s| s.trim().to_string())
        .ok_or_else(|| format!("expected text, got {}", node.type_name()))
}

fn describe(node: &Node) -> String {
    match node.scalar_text() {
        Some(t) => format!("`{t}`"),
        None => node.type_name().to_string(),
    }
}

/// Rewrites `10%` to `10` outside string literals: percentages are written in percent units.
pub fn percent_literals(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut prev_digit = false;
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '%' && prev_digit => {}
            None => out.push(c),
        }
        prev_digit = quote.is_none() && (c.is_ascii_digit() || (c == '.' && prev_digit));
    }
    out
}

fn cel_condition(node: &Node) -> Result<Option<String>, String> {
    match &node.value {
        NodeValue::Bool(true) => Ok(Some("true".into())),
        NodeValue::Bool(false) => Ok(None),
        NodeValue::Str(s) if !s.trim().is_empty() => Ok(Some(percent_literals(s.trim()))),
        _ => Err(format!(
            "expected a CEL condition such as `amount > 100`, or true, got {}",
            describe(node)
        )),
    }
}

/// Parses `100/hour`, `"100/hour" not exceeded`, `100 per hour`, `5/day`.
pub fn rate(text: &str) -> Result<(u64, u64), String> {
    let t = text
        .trim()
        .trim_end_matches("not exceeded")
        .trim()
        .trim_matches('"')
        .trim();
    let (n, unit) = t
        .split_once('/')
        .or_else(|| t.split_once(" per "))
        .ok_or_else(|| format!("expected a rate such as `100/hour`, got `{text}`"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number before `/` in `{text}`"))?;
    if n == 0 {
        return Err(format!(
            "a rate of zero allows nothing; remove the action instead (`{text}`)"
        ));
    }
    let secs = timeexpr::unit_seconds(unit.trim()).ok_or_else(|| {
        format!(
            "unknown time unit `{}` in `{text}`; use second, minute, hour, day or week",
            unit.trim()
        )
    })?;
    Ok((n, secs))
}

/// `maxPerDay: 100` (per user, as the article means it) or `maxPerDay: {count: 100, per: agent}`.
fn count_limit(node: &Node, window_secs: u64) -> Result<Meaning, String> {
    let (n, scope) = match node.as_map() {
        Some(_) => budget::count_map(node)?,
        None => (positive_int(node)?, LimitScope::Subject),
    };
    Ok(limit(n, window_secs, scope))
}

fn limit(n: u64, window_secs: u64, scope: LimitScope) -> Meaning {
    Meaning::Constraints(vec![ConstraintKind::RateLimit {
        limit: n,
        window_secs,
        scope,
    }])
}

/// `maxAmount: N` bounds both sides: a negative amount (a "refund" that charges, a
/// "discount" that marks up) would otherwise slip under any cap.
fn max_field(field: &str, node: &Node) -> Result<Meaning, String> {
    let n = number(node)?;
    if n < 0.0 {
        return Err(format!("expected a number >= 0, got {}", cel_number(n)));
    }
    Ok(Meaning::Constraints(vec![
        ConstraintKind::Require {
            cel: format!("{field} >= 0"),
        },
        ConstraintKind::Require {
            cel: format!("{field} <= {}", cel_number(n)),
        },
    ]))
}

fn flag(node: &Node, cel: &str) -> Result<Meaning, String> {
    Ok(if boolean(node)? {
        require(cel.to_string())
    } else {
        Meaning::Nothing
    })
}

/// `excludeFolders`: a folder is excluded with everything under it, in any letter case (Unicode,
/// after NFKC: `actFold()`, so `ＣＯＮＦＩＤＥＮＴＩＡＬ` and `Privé`/`PRIVÉ` are the same name), with
/// or without a leading or trailing `/`, and also under `INBOX/` (IMAP's personal root). Folding
/// only ever widens what is excluded.
fn exclude_folders(list: &[String]) -> Result<Meaning, String> {
    let mut folders = Vec::with_capacity(list.len());
    for f in list {
        // Trimmed after folding: NFKC turns a fullwidth `／` into `/`.
        let f = super::compile::fold_text(f).trim_matches('/').to_string();
        if f.is_empty() {
            return Err("`/` is not a folder name; list the folders to exclude".into());
        }
        folders.push(f);
    }
    let g = "(\"/\" + folder.actFold() + \"/\")";
    Ok(require(format!(
        "!({}.exists(f, {g}.startsWith(\"/\" + f + \"/\") || {g}.startsWith(\"//\" + f + \"/\") \
         || {g}.startsWith(\"/inbox/\" + f + \"/\")))",
        cel_str_list(&folders)
    )))
}

/// The context fields `allowedDomains` reads recipients from; each may be one address or a list.
pub const RECIPIENT_FIELDS: [&str; 3] = ["to", "cc", "bcc"];

/// One plain `local@domain` address: no second `@`, no list separators (`,` `;`), no display name
/// or `<...>`, no quotes, comments, brackets, whitespace (CR/LF), control or format characters.
/// Anything else is refused rather than parsed: no RFC 5322 parser decides what a mail server
/// will do with a display name or a group, so the only safe reading is "exactly one address".
const PLAIN_ADDRESS: &str = r#"^[^@\s\p{Cc}\p{Cf},;:<>"'()\[\]\\]+@[^@\s\p{Cc}\p{Cf},;:<>"'()\[\]\\]+$"#;

/// `allowedDomains`: every recipient in `to`, `cc` and `bcc` is a plain address ending in
/// `@domain` (case-insensitively), and there is at least one recipient.
fn allowed_domains(domains: &[String]) -> String {
    let all: Vec<String> = RECIPIENT_FIELDS
        .iter()
        .map(|f| format!("(has(context.{f}) ? (type(context.{f}) == list ? context.{f} : [context.{f}]) : [])"))
        .collect();
    let all = all.join(" + ");
    format!(
        "size({all}) > 0 && ({all}).all(r, type(r) == string && r.matches({}) && {}.exists(d, r.lowerAscii().endsWith(d)))",
        cel_str(PLAIN_ADDRESS),
        cel_str_list(domains)
    )
}

/// Compiles one constraint key. Errors are sentences without location; the caller adds it.
pub fn meaning(key: &str, node: &Node) -> Result<Meaning, String> {
    match key {
        "maxAmount" => max_field("amount", node),
        "maxDiscount" => max_field("discount", node),
        "maxRowsPerQuery" | "maxRows" => max_field("rows", node),
        "maxEmails" => Ok(limit(
            positive_int(node)?,
            crate::token::MAX_TTL_SECS,
            LimitScope::Token,
        )),
        "maxPerMinute" => count_limit(node, 60),
        "maxPerHour" => count_limit(node, 3600),
        "maxPerDay" => count_limit(node, 86_400),
        "rateLimit" | "ifRateLimit" => {
            let (text, scope) = match node.as_map() {
                Some(_) => budget::rate_map(node)?,
                None => (text(node)?, LimitScope::Subject),
            };
            let (n, w) = rate(&text)?;
            Ok(limit(n, w, scope))
        }
        "budget" => Ok(Meaning::Constraints(budget::budgets(node)?)),
        "requireApproval" | "requireSecondApproval" | "requireHumanApproval" => Ok(match cel_condition(node)? {
            Some(cel) => Meaning::Constraints(vec![ConstraintKind::ApprovalIf { cel }]),
            None => Meaning::Nothing,
        }),
        "condition" | "when" => Ok(match cel_condition(node)? {
            Some(cel) => require(cel),
            None => return Err("a condition of `false` denies everything; remove the action instead".into()),
        }),
        "denyIf" => Ok(match cel_condition(node)? {
            Some(cel) => require(format!("!({cel})")),
            None => Meaning::Nothing,
        }),
        "allowedDomains" => {
            let domains: Vec<String> = string_list(node)?
                .into_iter()
                .map(|d| {
                    let d = d.to_ascii_lowercase();
                    if d.starts_with('@') {
                        d
                    } else {
                        format!("@{d}")
                    }
                })
                .collect();
            Ok(require(allowed_domains(&domains)))
        }
        "onlyUnread" => flag(node, "unread == true"),
        "noAttachments" => flag(node, "has_attachments == false"),
        "excludeFolders" => exclude_folders(&string_list(node)?),
        "requireKeywords" => {
            // Both sides folded alike (`actFold()`): a keyword written `Dringend` matches `DRINGEND`
            // and `ＤＲＩＮＧＥＮＤ`; before, the policy side was Unicode-lowercased and the subject
            // ASCII-lowercased, so a non-ASCII keyword never matched its own upper case.
            let words: Vec<String> = string_list(node)?
                .iter()
                .map(|w| super::compile::fold_text(w))
                .collect();
            Ok(require(format!(
                "{}.exists(k, subject.actFold().contains(k))",
                cel_str_list(&words)
            )))
        }
        "timeWindow" => {
            let secs = timeexpr::last_window(&text(node)?)?;
            Ok(require(format!(
                "timestamp(received_at) >= now - duration(\"{secs}s\")"
            )))
        }
        "ifTime" => Ok(require(timeexpr::time_of_day(&text(node)?)?)),
        "ifUser" => Ok(require(if_user(&text(node)?)?)),
        "ifRiskScore" => Ok(require(comparison("risk_score", &text(node)?)?)),
        "ifDataClassification" => Ok(require(classification(&text(node)?)?)),
        "onlyOwnOrders" | "onlyOwnResources" | "onlyOwnRecords" => Ok(if boolean(node)? {
            Meaning::OnlyOwn
        } else {
            Meaning::Nothing
        }),
        _ => Err(unknown_key_message(key, KEYS)),
    }
}

/// "unknown constraint `x`; did you mean `y`?"
pub fn unknown_key_message(key: &str, known: &[&str]) -> String {
    match suggest(key, known) {
        Some(s) => format!("unknown key `{key}`; did you mean `{s}`?"),
        None => format!("unknown key `{key}`; accepted keys: {}", known.join(", ")),
    }
}

/// The closest known key within edit distance 3 (case-insensitive).
pub fn suggest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(&key.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Splits off a quoted or bare word: `"x" rest` → (`x`, `rest`).
fn quoted(text: &str) -> Option<(String, &str)> {
    let t = text.trim_start();
    let q = t.chars().next()?;
    if q == '"' || q == '\'' {
        let end = t[1..].find(q)? + 1;
        Some((t[1..end].to_string(), &t[end + 1..]))
    } else {
        let end = t.find(|c: char| c.is_whitespace() || c == ',').unwrap_or(t.len());
        (end > 0).then(|| (t[..end].to_string(), &t[end..]))
    }
}

fn quoted_list(text: &str) -> Result<Vec<String>, String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    let mut out = Vec::new();
    let mut rest = inner;
    while let Some((item, r)) = quoted(rest) {
        out.push(item);
        rest = r.trim_start().trim_start_matches(',');
    }
    if out.is_empty() {
        return Err(format!("expected a list of values, got `{text}`"));
    }
    Ok(out)
}

fn if_user(text: &str) -> Result<String, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("has role ") {
        let (role, tail) = quoted(rest).ok_or_else(|| format!("expected a role name after `has role` in `{text}`"))?;
        if !tail.trim().is_empty() {
            return Err(format!("unexpected `{}` after the role in `{text}`", tail.trim()));
        }
        return Ok(format!("{} in user.roles", cel_str(&role)));
    }
    if let Some(rest) = t.strip_prefix("has any role ") {
        return Ok(format!(
            "{}.exists(r, r in user.roles)",
            cel_str_list(&quoted_list(rest)?)
        ));
    }
    if let Some(rest) = t.strip_prefix("has all roles ") {
        return Ok(format!("{}.all(r, r in user.roles)", cel_str_list(&quoted_list(rest)?)));
    }
    Err(format!(
        "expected `has role \"name\"`, `has any role [...]` or `has all roles [...]`, got `{text}`"
    ))
}

fn comparison(field: &str, text: &str) -> Result<String, String> {
    let t = text.trim();
    let ops = [
        ("below ", "<"),
        ("under ", "<"),
        ("less than ", "<"),
        ("at most ", "<="),
        ("above ", ">"),
        ("over ", ">"),
        ("more than ", ">"),
        ("at least ", ">="),
        ("<= ", "<="),
        (">= ", ">="),
        ("< ", "<"),
        ("> ", ">"),
        ("<=", "<="),
        (">=", ">="),
        ("<", "<"),
        (">", ">"),
    ];
    for (word, op) in ops {
        if let Some(rest) = t.strip_prefix(word) {
            let n: f64 = rest
                .trim()
                .parse()
                .map_err(|_| format!("expected a number after `{}` in `{text}`", word.trim()))?;
            return Ok(format!("{field} {op} {}", cel_number(n)));
        }
    }
    Err(format!(
        "expected `below N` or `above N` (or <, <=, >, >=), got `{text}`"
    ))
}

fn classification(text: &str) -> Result<String, String> {
    let field = "data_classification";
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("not in ") {
        return Ok(format!("!({field} in {})", cel_str_list(&quoted_list(rest)?)));
    }
    if let Some(rest) = t.strip_prefix("in ") {
        return Ok(format!("{field} in {}", cel_str_list(&quoted_list(rest)?)));
    }
    let (negate, rest) = match t.strip_prefix("not ") {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (value, tail) = quoted(rest).ok_or_else(|| format!("expected a classification name in `{text}`"))?;
    if !tail.trim().is_empty() {
        return Err(format!("unexpected `{}` in `{text}`", tail.trim()));
    }
    Ok(format!(
        "{field} {} {}",
        if negate { "!=" } else { "==" },
        cel_str(&value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: NodeValue) -> Node {
        Node {
            line: 1,
            column: 1,
            value: v,
        }
    }
    fn s(t: &str) -> Node {
        n(NodeValue::Str(t.into()))
    }
    fn req(m: Meaning) -> String {
        match m {
            Meaning::Constraints(c) => c
                .into_iter()
                .map(|k| match k {
                    ConstraintKind::Require { cel } | ConstraintKind::ApprovalIf { cel } => cel,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(" && "),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn article_phrases() {
        assert_eq!(
            req(meaning("maxAmount", &n(NodeValue::Int(500))).unwrap()),
            "amount >= 0 && amount <= 500"
        );
        assert_eq!(
            req(meaning("maxDiscount", &s("15%")).unwrap()),
            "discount >= 0 && discount <= 15"
        );
        assert!(meaning("maxAmount", &n(NodeValue::Int(-5)))
            .unwrap_err()
            .contains(">= 0"));
        assert_eq!(
            req(meaning("requireApproval", &s("discount > 10%")).unwrap()),
            "discount > 10"
        );
        assert_eq!(
            req(meaning("ifUser", &s("has role \"agent_operator\"")).unwrap()),
            "\"agent_operator\" in user.roles"
        );
        assert_eq!(req(meaning("ifRiskScore", &s("below 7.0")).unwrap()), "risk_score < 7");
        assert_eq!(
            req(meaning("ifDataClassification", &s("not \"sensitive\"")).unwrap()),
            "data_classification != \"sensitive\""
        );
        assert_eq!(rate("\"100/hour\" not exceeded").unwrap(), (100, 3600));
        assert_eq!(rate("100/hour not exceeded").unwrap(), (100, 3600));
        assert_eq!(rate("5 per day").unwrap(), (5, 86_400));
        assert!(rate("0/hour").is_err());
        assert!(rate("5/fortnight").unwrap_err().contains("fortnight"));
        assert_eq!(
            meaning("onlyUnread", &n(NodeValue::Bool(false))).unwrap(),
            Meaning::Nothing
        );
        assert_eq!(
            meaning("onlyOwnOrders", &n(NodeValue::Bool(true))).unwrap(),
            Meaning::OnlyOwn
        );
    }

    #[test]
    fn percent_rewrite_skips_strings() {
        assert_eq!(
            percent_literals("discount > 10% && note != '10%'"),
            "discount > 10 && note != '10%'"
        );
        assert_eq!(percent_literals("a % 2 == 0"), "a % 2 == 0");
        assert_eq!(percent_literals("x > 12.5%"), "x > 12.5");
    }

    #[test]
    fn typos_get_suggestions() {
        assert!(meaning("maxAmont", &n(NodeValue::Int(1)))
            .unwrap_err()
            .contains("did you mean `maxAmount`"));
        assert!(meaning("maxAmount", &s("lots"))
            .unwrap_err()
            .contains("expected a number"));
        assert!(meaning("maxPerDay", &n(NodeValue::Float(2.5))).is_err());
        assert!(meaning("ifUser", &s("is admin")).is_err());
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(cel_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
