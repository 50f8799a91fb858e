//! Resource and action patterns with `{{...}}` template holes.
//!
//! `*` matches within one `/`-separated segment, `**` (a whole segment) any
//! number of segments (at least one when it ends the pattern, as in globset). Template values are spliced in as literal text at match
//! time, never as pattern syntax, so a user id of `*`, `**` or `../x` can only
//! ever match itself. Patterns are compiled once per snapshot; a glob library
//! such as `globset` would need one regex compile per token (templates differ
//! per user), about 24 µs each, which the first-seen-token budget cannot pay.
//!
//! Matching never backtracks: the resource is attacker-chosen (up to 2,048 bytes), and a
//! backtracking `*` made `*-*-*-*.log` against a run of dashes cost hours. See
//! `core/tests/hostile_cost.rs`.

use std::borrow::Cow;

/// Most `*`/`**` wildcards accepted in one pattern. A readability limit only: the matcher is
/// linear whatever the count (see [`Pattern::matches`]).
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
    ///
    /// Linear in the resource: segments are matched by simulating the pattern as an automaton
    /// (a set of pattern positions, advanced once per resource segment), and each segment by a
    /// greedy left-to-right search for its literal chunks. Nothing backtracks, so no choice of
    /// resource makes a pattern with many wildcards expensive.
    pub fn matches(&self, resource: &str, segments: &[&str], vals: &dyn TemplateValues) -> Match {
        if self.literal {
            return if self.text == resource { Match::Yes } else { Match::No };
        }
        let mut unresolved = None;
        let hit = if self.segs.iter().any(|s| matches!(s, Seg::Globstar)) {
            match_segs(&self.segs, segments, vals, &mut unresolved)
        } else {
            // No `**`: segment i of the pattern can only meet segment i of the resource.
            // Segments are tried in order even when the counts differ, so a template the
            // resource reaches is reported as unresolved, as with `**`.
            self.segs.iter().zip(segments).all(|(seg, s)| match seg {
                Seg::Pieces(p) => match_pieces(p, s, vals, &mut unresolved),
                Seg::Globstar => false,
            }) && self.segs.len() == segments.len()
        };
        if hit {
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

/// Segment-level automaton. State `i` means "segments `..i` of the pattern are matched"; a set
/// of states is carried across the resource, so the cost is (pattern segments × resource),
/// whatever the number of `**`.
fn match_segs(segs: &[Seg], rs: &[&str], vals: &dyn TemplateValues, unresolved: &mut Option<String>) -> bool {
    let n = segs.len();
    let mut cur = vec![false; n + 1];
    let mut next = vec![false; n + 1];
    cur[0] = true;
    close(segs, &mut cur);
    for r in rs {
        next.iter_mut().for_each(|x| *x = false);
        for i in (0..n).filter(|&i| cur[i]) {
            match &segs[i] {
                // `**` takes this segment and may take more (stay) or stop here (advance).
                Seg::Globstar => {
                    next[i] = true;
                    next[i + 1] = true;
                }
                Seg::Pieces(p) => {
                    if match_pieces(p, r, vals, unresolved) {
                        next[i + 1] = true;
                    }
                }
            }
        }
        close(segs, &mut next);
        std::mem::swap(&mut cur, &mut next);
        if !cur.iter().any(|&x| x) {
            return false;
        }
    }
    cur[n]
}

/// Adds the states reachable without consuming a segment: a `**` may match no segment, except
/// a trailing one, which needs at least one (`a/**` is what is inside `a`), as in globset and
/// gitignore.
fn close(segs: &[Seg], states: &mut [bool]) {
    for i in 0..segs.len() {
        if states[i] && matches!(segs[i], Seg::Globstar) && i + 1 < segs.len() {
            states[i + 1] = true;
        }
    }
}

/// Matches one segment. The pieces are resolved into literal chunks separated by `*`; the first
/// chunk must start the segment, the last must end it, and each middle one is found at its
/// leftmost place after the previous (leftmost is always safe for `*`-only globs). `str::find`
/// is linear (two-way search), so a segment costs O(segment + pattern).
///
/// A template without a value cannot match; it is reported as unresolved when the pieces
/// before it match a prefix of the segment (the resource "reached" it).
fn match_pieces(pieces: &[Piece], s: &str, vals: &dyn TemplateValues, unresolved: &mut Option<String>) -> bool {
    if let [Piece::Lit(l)] = pieces {
        return s == l;
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Star)) {
        // No `*` (the common `customer:{{user}}`): strip each piece in turn, no allocation.
        let mut rest = s;
        for piece in pieces {
            let text = match piece {
                Piece::Lit(l) => Cow::Borrowed(l.as_str()),
                Piece::Tpl(t) => match vals.value(t) {
                    Some(v) if !v.is_empty() => v,
                    _ => {
                        // Reached: every piece before it matched a prefix.
                        unresolved.get_or_insert_with(|| t.to_string());
                        return false;
                    }
                },
                Piece::Star => return false,
            };
            match rest.strip_prefix(text.as_ref()) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        return rest.is_empty();
    }
    let mut chunks: Vec<Cow<'_, str>> = vec![Cow::Borrowed("")];
    for (k, piece) in pieces.iter().enumerate() {
        let text = match piece {
            Piece::Star => {
                chunks.push(Cow::Borrowed(""));
                continue;
            }
            Piece::Lit(l) => Cow::Borrowed(l.as_str()),
            Piece::Tpl(t) => match vals.value(t) {
                Some(v) if !v.is_empty() => v,
                _ => {
                    // Reached when the pieces before it match a prefix of the segment.
                    let mut before = pieces[..k].to_vec();
                    before.push(Piece::Star);
                    if unresolved.is_none() && match_pieces(&before, s, vals, &mut None) {
                        *unresolved = Some(t.to_string());
                    }
                    return false;
                }
            },
        };
        if let Some(last) = chunks.last_mut() {
            if last.is_empty() {
                *last = text;
            } else {
                last.to_mut().push_str(&text);
            }
        }
    }
    glob_chunks(&chunks, s)
}

/// `chunks` are the literal texts around the `*`s (so `chunks.len()` is the number of stars + 1).
fn glob_chunks(chunks: &[Cow<'_, str>], s: &str) -> bool {
    let (first, last) = match chunks {
        [] => return s.is_empty(),
        [only] => return s == only.as_ref(),
        [first, .., last] => (first.as_ref(), last.as_ref()),
    };
    if s.len() < first.len() + last.len() || !s.starts_with(first) || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for chunk in &chunks[1..chunks.len() - 1] {
        match rest.find(chunk.as_ref()) {
            Some(at) => rest = &rest[at + chunk.len()..],
            None => return false,
        }
    }
    true
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

    /// The backtracking matcher this module used before (exponential on hostile input, but
    /// the specification of what matches): the linear one must agree with it, `Unresolved`
    /// included, on small inputs.
    fn reference(segs: &[Seg], rs: &[&str], vals: &dyn TemplateValues, un: &mut Option<String>) -> bool {
        match segs.split_first() {
            None => rs.is_empty(),
            Some((Seg::Globstar, [])) => !rs.is_empty(),
            Some((Seg::Globstar, rest)) => (0..=rs.len()).any(|k| reference(rest, &rs[k..], vals, un)),
            Some((Seg::Pieces(p), rest)) => match rs.split_first() {
                Some((first, more)) => reference_pieces(p, first, vals, un) && reference(rest, more, vals, un),
                None => false,
            },
        }
    }

    fn reference_pieces(pieces: &[Piece], s: &str, vals: &dyn TemplateValues, un: &mut Option<String>) -> bool {
        match pieces.split_first() {
            None => s.is_empty(),
            Some((Piece::Lit(l), rest)) => s
                .strip_prefix(l.as_str())
                .is_some_and(|r| reference_pieces(rest, r, vals, un)),
            Some((Piece::Tpl(t), rest)) => match vals.value(t) {
                Some(v) if !v.is_empty() => s
                    .strip_prefix(v.as_ref())
                    .is_some_and(|r| reference_pieces(rest, r, vals, un)),
                _ => {
                    un.get_or_insert_with(|| t.to_string());
                    false
                }
            },
            Some((Piece::Star, [])) => true,
            Some((Piece::Star, rest)) => s
                .char_indices()
                .map(|(i, _)| i)
                .chain([s.len()])
                .any(|i| reference_pieces(rest, &s[i..], vals, un)),
        }
    }

    fn reference_match(p: &Pattern, r: &str, vals: &dyn TemplateValues) -> Match {
        if p.literal {
            return if p.text == r { Match::Yes } else { Match::No };
        }
        let segs: Vec<&str> = r.split('/').collect();
        let mut un = None;
        if reference(&p.segs, &segs, vals, &mut un) {
            Match::Yes
        } else {
            un.map_or(Match::No, Match::Unresolved)
        }
    }

    /// `{{user.id}}` has the value `ab`, `{{user.team}}` none.
    struct Ab;
    impl TemplateValues for Ab {
        fn value(&self, t: &TemplateRef) -> Option<Cow<'_, str>> {
            (*t == TemplateRef::UserId).then_some(Cow::Borrowed("ab"))
        }
    }

    /// Random patterns and inputs over a small alphabet (where a wrong greedy choice would
    /// show), against globset (template-free) and the old backtracking matcher (all).
    #[test]
    fn agrees_with_globset_and_the_backtracking_matcher_on_random_patterns() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as usize
        };
        let mut compared = 0;
        for round in 0..6000 {
            let templates = round % 2 == 1;
            let mut p = String::new();
            for k in 0..1 + next(4) {
                if k > 0 {
                    p.push('/');
                }
                if next(6) == 0 {
                    p.push_str("**");
                    continue;
                }
                for _ in 0..1 + next(5) {
                    let c =
                        ["a", "b", "-", "*", "ab", "{{user.id}}", "{{user.team}}"][next(if templates { 7 } else { 5 })];
                    if !(c == "*" && p.ends_with('*')) {
                        p.push_str(c);
                    }
                }
            }
            let Ok(ours) = Pattern::compile(&p) else { continue };
            let g = (!templates).then(|| {
                globset::GlobBuilder::new(&p)
                    .literal_separator(true)
                    .build()
                    .unwrap()
                    .compile_matcher()
            });
            for _ in 0..20 {
                let mut i = String::new();
                for _ in 0..next(12) {
                    i.push(['a', 'b', '-', '/'][next(4)]);
                }
                let segs: Vec<&str> = i.split('/').collect();
                let got = ours.matches(&i, &segs, &Ab);
                assert_eq!(got, reference_match(&ours, &i, &Ab), "pattern {p} input {i}");
                if let Some(g) = &g {
                    assert_eq!(got == Match::Yes, g.is_match(&i), "globset: pattern {p} input {i}");
                }
                compared += 1;
            }
        }
        assert!(compared > 50_000, "{compared}");
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
