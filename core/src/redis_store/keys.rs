//! Redis key names, and on a cluster the hash tag that puts the keys of one call in one slot.
//!
//! A Lua script may only touch keys of one hash slot on Redis Cluster. Every key of a limit
//! is tagged with the limit's *group*: the agent whose policy (or capability) declared it,
//! read from the counter key itself (its constraint id starts with the grant id, `agent` or
//! `agent#N`). So all of one agent's counters share a slot, different agents spread over the
//! cluster, and a decision whose limits all come from one agent (every decision without a
//! delegation chain) is checked and recorded by one script, atomically. The group is a
//! function of the key alone, so a counter reached by different decisions is always the same
//! Redis key. On a standalone server or behind Sentinel no tag is written (the names are the
//! ones earlier versions wrote, so an upgrade keeps its windows).

use crate::limits::LimitKey;

/// The parts of an [`crate::limits::encode_key`] key (`len:part` repeated), or `None` when it
/// is not one.
fn parts(key: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(':')?;
        let len: usize = len.parse().ok()?;
        out.push(tail.get(..len)?);
        rest = tail.get(len..)?;
    }
    Some(out)
}

/// The group of a limit counter key: the agent of the constraint id (after a capability's
/// `cap`, `jti` parts). A key of another shape groups by itself (never produced by the engine,
/// still a deterministic slot).
pub(super) fn group(key: &str) -> &str {
    let Some(parts) = parts(key) else { return key };
    let id = match parts.as_slice() {
        ["cap", _, id, ..] => id,
        [id, ..] => id,
        [] => return key,
    };
    let grant = id.split('/').next().unwrap_or(id);
    grant.split('#').next().unwrap_or(grant)
}

/// How the store names keys: with or without hash tags.
#[derive(Clone, Debug)]
pub(super) struct Names {
    pub prefix: String,
    pub tagged: bool,
}

impl Names {
    /// `{prefix}{ns}{key}`, on a cluster `{prefix}{{tag}}{ns}{key}`. A `}` in the tag would end
    /// it early (and an empty tag would hash the whole name), so it is replaced.
    fn name(&self, tag: &str, ns: &str, key: &str) -> String {
        if self.tagged {
            let tag = if tag.is_empty() {
                "_".to_string()
            } else {
                tag.replace('}', ")")
            };
            format!("{}{{{tag}}}{ns}{key}", self.prefix)
        } else {
            format!("{}{ns}{key}", self.prefix)
        }
    }

    /// The window and sequence (or budget sum) keys of a limit.
    pub fn limit(&self, k: &LimitKey) -> [String; 2] {
        let tag = group(&k.key);
        match k.weight {
            None => [self.name(tag, "win:", &k.key), self.name(tag, "seq:", &k.key)],
            Some(_) => [self.name(tag, "bwin:", &k.key), self.name(tag, "bsum:", &k.key)],
        }
    }

    /// A breaker's denials, open-until time and sequence: tagged by the breaker key.
    pub fn breaker(&self, key: &str) -> [String; 3] {
        [
            self.name(key, "brk:", key),
            self.name(key, "brko:", key),
            self.name(key, "brks:", key),
        ]
    }

    pub fn breaker_open(&self, key: &str) -> String {
        self.name(key, "brko:", key)
    }

    /// A single-use approval mark (one key per call: no tag needed).
    pub fn mark(&self, id: &str) -> String {
        format!("{}mark:{id}", self.prefix)
    }
}

/// The keys of a decision split by group, in order of first appearance: the indexes into `keys`.
pub(super) fn by_group(keys: &[LimitKey]) -> Vec<Vec<usize>> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let g = group(&k.key);
        match groups.iter_mut().find(|(name, _)| *name == g) {
            Some((_, members)) => members.push(i),
            None => groups.push((g, vec![i])),
        }
    }
    groups.into_iter().map(|(_, m)| m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::encode_key;

    #[test]
    fn groups_are_the_declaring_agent() {
        let k = encode_key(&["support-bot/process_refund/maxPerDay", "subject", "support-bot", "42"]);
        assert_eq!(group(&k), "support-bot");
        let k = encode_key(&["support-bot#2/*/budget", "global"]);
        assert_eq!(group(&k), "support-bot");
        let mut k = encode_key(&["helper/read/maxPerHour", "agent", "helper"]);
        k.insert_str(0, &encode_key(&["cap", "jti-1"]));
        assert_eq!(group(&k), "helper");
        assert_eq!(group("not:an encoded key"), "not:an encoded key");
    }

    #[test]
    fn tags_put_a_limits_keys_in_one_slot_and_cannot_be_closed_early() {
        let names = Names {
            prefix: "act:".into(),
            tagged: true,
        };
        let k = LimitKey {
            key: encode_key(&["a}b/x/maxPerDay", "global"]),
            limit: 1,
            window_ms: 1,
            weight: None,
        };
        let [w, s] = names.limit(&k);
        assert!(w.starts_with("act:{a)b}win:"), "{w}");
        assert!(s.starts_with("act:{a)b}seq:"), "{s}");
        let plain = Names {
            prefix: "act:".into(),
            tagged: false,
        };
        assert!(plain.limit(&k)[0].starts_with("act:win:"));
    }
}
