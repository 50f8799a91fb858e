//! Resource and action patterns with `{{...}}` template holes.
//!
//! `*` matches within one `/`-separated segment, `**` (a whole segment) any
//! number of segments (at least one when it ends the pattern, as in globset). Template values are spliced in as literal text at match
//! time, never as pattern syntax, so a user id of `*`, `**` or `../x` can only
//! ever match itself. Patterns are compiled once per snapshot; a glob library
//! such as `globset` would need one regex compile per token (templates differ
//! per user), about 24 µs each, which the first-seen-token budget cannot pay.

use std::borrow::Cow;

/// Most `*`/`**` wildcards accepted in one pattern (bounds backtracking).
const MAX_WILDCARDS: usize = 8;

/// Where a template value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateRef {
    /// `{{authenticated_user_id}}`, `{{user.id}}`: the token's subject.
    UserId,
    /// `{{user.X}}`: field X of the token's user context.
    User(String),
    /// `{{agent.id}}`: the agent's id.
    AgentId,
    /// `{{agent.X}}`: field X of the token's agent context.
    Agent(String),
}

impl std::fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateRef::UserId => f.write_str("{{authenticated_user_id}}"),
            TemplateRef::User(x) => write!(f, "{{{{user.{x}}}}}"),
            TemplateRef::AgentId => f.write_str("{{agent.id}}"),
            TemplateRef::Agent(x) => write!(f, "{{{{agent.{x}}}}}"),
        }
    }
}

/// Supplies template values for one request.
pub trait TemplateValues {
    /// The value, or `None` when the token has none (the pattern then cannot match).
    fn value(&self, t: &TemplateRef) -> Option<Cow<'_, str>>;
}

/// No templates available (action patterns).
pub struct NoTemplates;

impl TemplateValues for NoTemplates {
    fn value(&self, _: &TemplateRef) -> Option<Cow<'_, str>> {
        None
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Lit(String),
    Star,
    Tpl(TemplateRef),
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Pieces(Vec<Piece>),
    Globstar,
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    text: String,
    segs: Vec<Seg>,
    /// True when the pattern is one literal segment list (fast equality path).
    literal: bool,
}

/// The result of matching.
#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    /// The resource matches.
    Yes,
    /// It does not.
    No,
    /// It could not match because the token lacks this template's value.
    Unresolved(String),
}

fn parse_template(inner: &str) -> Result<TemplateRef, String> {
    let name = inner.trim();
    let field_ok = |f: &str| !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match name {
        "authenticated_user_id" | "user.id" | "user.user_id" | "user_id" => Ok(TemplateRef::UserId),
        "agent.id" | "agent_id" => Ok(TemplateRef::AgentId),
        _ => {
            if let Some(f) = name.strip_prefix("user.").filter(|f| field_ok(f)) {
                Ok(TemplateRef::User(f.to_string()))
            } else if let Some(f) = name.strip_prefix("agent.").filter(|f| field_ok(f)) {
                Ok(TemplateRef::Agent(f.to_string()))
            } else {
                Err(format!(
                    "unknown template `{{{{{name}}}}}`; use {{{{authenticated_user_id}}}}, {{{{user.<field>}}}} or {{{{agent.<field>}}}}"
                ))
            }
        }
    }
}

fn parse_segment(seg: &str, wildcards: &mut usize) -> Result<Seg, String> {
    if seg == "**" {
        *wildcards += 1;
        return Ok(Seg::Globstar);
    }
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = seg;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("{{") {
            let end = after.find("}}").ok_or_else(|| format!("unclosed `{{{{` in `{seg}`"))?;
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Tpl(parse_template(&after[..end])?));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('*') {
            if after.starts_with('*') {
                return Err(format!("`**` must be a whole segment, as in `a/**/b`; got `{seg}`"));
            }
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Star);
            *wildcards += 1;
            rest = after;
        } else {
            if c == '}' && rest.starts_with("}}") {
                return Err(format!("`}}}}` without `{{{{` in `{seg}`"));
            }
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(Seg::Pieces(pieces))
}

impl Pattern {
    /// Compiles a resource pattern such as `order://customer:{{authenticated_user_id}}/*`.
    pub fn compile(text: &str) -> Result<Pattern, String> {
        if text.is_empty() {
            return Err("a pattern is empty".into());
        }
        let mut wildcards = 0;
        let segs = text
            .split('/')
            .map(|s| parse_segment(s, &mut wildcards))
            .collect::<Result<Vec<_>, _>>()?;
        if wildcards > MAX_WILDCARDS {
            return Err(format!("more than {MAX_WILDCARDS} wildcards in `{text}`"));
        }
        if text.split('/').any(|s| s == "..") {
            return Err(format!("`..` segments are not allowed in `{text}`"));
        }
        let literal = segs
            .iter()
            .all(|s| matches!(s, Seg::Pieces(p) if p.iter().all(|x| matches!(x, Piece::Lit(_)))));
        Ok(Pattern {
            text: text.to_string(),
            segs,
            literal,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The templates this pattern uses.
    pub fn templates(&self) -> impl Iterator<Item = &TemplateRef> {
        self.segs.iter().flat_map(|s| match s {
            Seg::Pieces(p) => p
                .iter()
                .filter_map(|x| if let Piece::Tpl(t) = x { Some(t) } else { None })
                .collect(),
            Seg::Globstar => Vec::new(),
        })
    }

    /// Matches a resource already split on `/`.
    pub fn matches(&self, resource: &str, segments: &[&str], vals: &dyn TemplateValues) -> Match {
        if self.literal {
            return if self.text == resource { Match::Yes } else { Match::No };
        }
        let mut unresolved = None;
        if match_segs(&self.segs, segments, vals, &mut unresolved) {
            Match::Yes
        } else if let Some(t) = unresolved {
            Match::Unresolved(t)
        } else {
            Match::No
        }
    }

    /// Matches a single-segment name such as an action (no templates).
    pub fn matches_name(&self, name: &str) -> bool {
        self.matches(name, &[name], &NoTemplates) == Match::Yes
    }
}

fn match_segs(segs: &[Seg], rs: &[&str], vals: &dyn TemplateValues, unresolved: &mut Option<String>) -> bool {
    match segs.split_first() {
        None => rs.is_empty(),
        // A trailing `**` needs at least one segment (`a/**` is what is inside `a`), as in globset and gitignore.
        Some((Seg::Globstar, [])) => !rs.is_empty(),
        Some((Seg::Globstar, rest)) => (0..=rs.len()).any(|k| match_segs(rest, &rs[k..], vals, unresolved)),
        Some((Seg::Pieces(p), rest)) => match rs.split_first() {
            Some((first, more)) => match_pieces(p, first, vals, unresolved) && match_segs(rest, more, vals, unresolved),
            None => false,
        },
    }
}

fn match_pieces(pieces: &[Piece], s: &str, vals: &dyn TemplateValues, unresolved: &mut Option<String>) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Lit(l), rest)) => s
            .strip_prefix(l.as_str())
            .is_some_and(|r| match_pieces(rest, r, vals, unresolved)),
        Some((Piece::Tpl(t), rest)) => match vals.value(t) {
            Some(v) if !v.is_empty() => s
                .strip_prefix(v.as_ref())
                .is_some_and(|r| match_pieces(rest, r, vals, unresolved)),
            _ => {
                unresolved.get_or_insert_with(|| t.to_string());
                false
            }
        },
        // A trailing `*` takes the rest of the segment, whatever it is.
        Some((Piece::Star, [])) => true,
        Some((Piece::Star, rest)) => s
            .char_indices()
            .map(|(i, _)| i)
            .chain([s.len()])
            .any(|i| match_pieces(rest, &s[i..], vals, unresolved)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vals(&'static str);
    impl TemplateValues for Vals {
        fn value(&self, t: &TemplateRef) -> Option<Cow<'_, str>> {
            match t {
                TemplateRef::UserId => Some(Cow::Borrowed(self.0)),
                _ => None,
            }
        }
    }

    fn m(p: &str, r: &str, user: &'static str) -> Match {
        let segs: Vec<&str> = r.split('/').collect();
        Pattern::compile(p).unwrap().matches(r, &segs, &Vals(user))
    }

    #[test]
    fn stars_and_globstars() {
        assert_eq!(
            m(
                "order://customer:{{authenticated_user_id}}/*",
                "order://customer:42/1001",
                "42"
            ),
            Match::Yes
        );
        assert_eq!(
            m(
                "order://customer:{{authenticated_user_id}}/*",
                "order://customer:43/1001",
                "42"
            ),
            Match::No
        );
        assert_eq!(
            m(
                "order://customer:{{authenticated_user_id}}/*",
                "order://customer:42/a/b",
                "42"
            ),
            Match::No
        );
        assert_eq!(m("repo://app/**", "repo://app/src/main.rs", ""), Match::Yes);
        assert_eq!(m("repo://app/**", "repo://app", ""), Match::No);
        assert_eq!(m("repo://app/**/*.env", "repo://app/a/b/.env", ""), Match::Yes);
        assert_eq!(m("repo://app/*.rs", "repo://app/x.rs", ""), Match::Yes);
        assert_eq!(m("repo://app/*.rs", "repo://app/x.rs.bak", ""), Match::No);
        assert_eq!(m("database://customers", "database://customers", ""), Match::Yes);
        assert_eq!(m("database://customers", "database://customers2", ""), Match::No);
    }

    #[test]
    fn template_values_never_widen() {
        let p = "order://customer:{{authenticated_user_id}}/*";
        assert_eq!(m(p, "order://customer:43/1", "*"), Match::No);
        assert_eq!(
            m(p, "order://customer:*/1", "*"),
            Match::Yes,
            "a literal `*` id only matches itself"
        );
        assert_eq!(m(p, "order://customer:43/1", "**"), Match::No);
        assert_eq!(m(p, "order://customer:../1", "../x"), Match::No);
        assert_eq!(m(p, "order://customer:4/1", "4/2"), Match::No);
        assert_eq!(
            m(p, "order://customer:/1", ""),
            Match::Unresolved("{{authenticated_user_id}}".into())
        );
        assert_eq!(
            m("x/{{user.team}}/*", "x/a/b", "1"),
            Match::Unresolved("{{user.team}}".into())
        );
    }

    #[test]
    fn compile_errors() {
        assert!(Pattern::compile("a/{{nope}}/b")
            .unwrap_err()
            .contains("unknown template"));
        assert!(Pattern::compile("a/{{user.id").unwrap_err().contains("unclosed"));
        assert!(Pattern::compile("a/x**/b").unwrap_err().contains("whole segment"));
        assert!(Pattern::compile("a/../b").is_err());
        assert!(Pattern::compile(&"*/".repeat(20)).is_err());
    }

    #[test]
    fn agrees_with_globset_on_template_free_patterns() {
        let patterns = [
            "a/*/c", "a/**/c", "a/b*", "*/x", "**", "a/**", "a/*b*c/d", "**/z", "a/*/*/d",
        ];
        let inputs = [
            "a/b/c", "a/c", "a/x/y/c", "a/bq", "q/x", "a", "a/abxc/d", "z", "p/q/z", "a/b/c/d", "a//c",
        ];
        for p in patterns {
            let g = globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher();
            for i in inputs {
                let ours = m(p, i, "") == Match::Yes;
                assert_eq!(ours, g.is_match(i), "pattern {p} input {i}");
            }
        }
    }
}
