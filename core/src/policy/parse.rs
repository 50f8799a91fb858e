//! Policy documents (the article's shapes) to the canonical [`PolicySet`].

use super::model::*;
use super::source::{parse_documents, Key, Node, NodeValue};
use super::timeexpr::duration_secs;
use super::vocab::{self, Meaning};
use crate::error::{Diagnostic, PolicyError};

const DOC_KEYS: &[&str] = &[
    "shadow",
    "agent",
    "policy",
    "description",
    "trustedIssuers",
    "issuerScopes",
    "revocations",
    "killSwitches",
    "policies",
];
const BODY_KEYS: &[&str] = &[
    "actions",
    "action",
    "resources",
    "resource",
    "excludeResources",
    "constraints",
    "audit",
    "circuitBreaker",
    "description",
    "shadow",
];
const SCOPE_KEYS: &[&str] = &["key", "agents", "capabilities"];
const AUDIT_KEYS: &[&str] = &["logAllActions", "retainFor", "redact", "sensitiveFields"];
const BREAKER_KEYS: &[&str] = &["maxDenials", "window", "coolDown", "scope"];

struct Parser<'f> {
    file: &'f str,
    errors: Vec<Diagnostic>,
}

/// Parses one policy source (YAML or JSON, one or several documents).
pub fn parse_source(file: &str, text: &str) -> Result<PolicySet, PolicyError> {
    let docs = parse_documents(file, text).map_err(|diagnostics| PolicyError { diagnostics })?;
    let mut p = Parser {
        file,
        errors: Vec::new(),
    };
    let mut set = PolicySet::default();
    for doc in &docs {
        p.document(doc, &mut set);
    }
    p.finish(set)
}

/// Parses an inline capability (a token's `cap`, or `issue_token(policy=...)`) for `agent`.
pub fn parse_capability(agent: &str, cap: &serde_json::Value) -> Result<AgentPolicy, PolicyError> {
    let node = Node::from_json(cap);
    let mut p = Parser {
        file: "<inline>",
        errors: Vec::new(),
    };
    let policy = p.agent_policy(agent, &node, &node);
    p.finish(policy)
}

impl Parser<'_> {
    fn finish<T>(self, value: T) -> Result<T, PolicyError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(PolicyError {
                diagnostics: self.errors,
            })
        }
    }

    fn loc(&self, line: usize, column: usize) -> Location {
        Location {
            file: self.file.to_string(),
            line,
            column,
        }
    }

    fn err(&mut self, line: usize, column: usize, key: &str, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn err_at(&mut self, node: &Node, key: &str, message: impl Into<String>) {
        self.err(node.line, node.column, key, message);
    }

    fn err_key(&mut self, key: &Key, path: &str, message: impl Into<String>) {
        self.err(key.line, key.column, path, message);
    }

    fn map<'n>(&mut self, node: &'n Node, path: &str) -> &'n [(Key, Node)] {
        match node.as_map() {
            Some(m) => m,
            None => {
                self.err_at(node, path, format!("expected a map, got {}", node.type_name()));
                &[]
            }
        }
    }

    fn check_keys(&mut self, entries: &[(Key, Node)], known: &[&str], path: &str) {
        for (i, (k, _)) in entries.iter().enumerate() {
            if !known.contains(&k.name.as_str()) {
                let message = match i.checked_sub(1).and_then(|p| indent_hint(&entries[p], k)) {
                    Some(hint) => format!(
                        "unknown key `{}` here: {hint} (keys accepted here: {})",
                        k.name,
                        known.join(", ")
                    ),
                    None => vocab::unknown_key_message(&k.name, known),
                };
                self.err_key(k, &join(path, &k.name), message);
            }
        }
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            NodeValue::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => {
                self.err_at(
                    node,
                    path,
                    format!("expected a non-empty string, got {}", node.type_name()),
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, path: &str) -> Vec<String> {
        match &node.value {
            NodeValue::Seq(items) => items.iter().filter_map(|i| self.string(i, path)).collect(),
            _ => self.string(node, path).into_iter().collect(),
        }
    }

    /// Action names or globs (`read_*`); errors point at the item.
    fn actions(&mut self, node: &Node, path: &str) -> Vec<String> {
        let items: Vec<&Node> = match &node.value {
            NodeValue::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(name) = self.string(item, path) {
                match crate::engine::request::check_action_name(&name, true) {
                    Ok(()) => out.push(name),
                    Err(e) => self.err_at(item, path, format!("the action {e}")),
                }
            }
        }
        out
    }

    /// Resource patterns: they must also be in the one canonical form requests are held to.
    fn resource_patterns(&mut self, node: &Node, path: &str) -> Vec<String> {
        self.patterns_of(node, path, true)
    }

    fn patterns_of(&mut self, node: &Node, path: &str, resource: bool) -> Vec<String> {
        let items: Vec<&Node> = match &node.value {
            NodeValue::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(text) = self.string(item, path) {
                let bare = text.strip_prefix('!').unwrap_or(&text);
                let canonical = match resource {
                    true => crate::engine::canonical::check_pattern(bare),
                    false => Ok(()),
                };
                match canonical.and_then(|()| super::pattern::Pattern::compile(bare)) {
                    Ok(_) => out.push(text),
                    Err(e) => self.err_at(item, path, e),
                }
            }
        }
        out
    }

    fn document(&mut self, doc: &Node, set: &mut PolicySet) {
        if doc.value == NodeValue::Null {
            return;
        }
        let entries = self.map(doc, "");
        self.check_keys(entries, DOC_KEYS, "");
        let get = |name: &str| entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
        if let Some(list) = get("policies") {
            match &list.value {
                NodeValue::Seq(items) => items.iter().for_each(|d| self.document(d, set)),
                _ => self.err_at(list, "policies", "expected a list of {agent, policy} documents"),
            }
        }
        if let Some(node) = get("trustedIssuers") {
            let keys = self.strings(node, "trustedIssuers");
            for k in &keys {
                if let Err(e) = crate::keys::VerifyingKey::parse(k) {
                    self.err_at(node, "trustedIssuers", e.to_string());
                }
            }
            set.trusted_issuers.extend(keys);
        }
        if let Some(node) = get("issuerScopes") {
            self.issuer_scopes(node, set);
        }
        if let Some(r) = get("revocations") {
            self.revocations(r, &mut set.revocations);
        }
        if let Some(k) = get("killSwitches") {
            self.kill_switches(k, &mut set.kill_switches);
        }
        match (get("agent"), get("policy")) {
            (Some(a), Some(body)) => {
                if let Some(agent) = self.string(a, "agent") {
                    let mut policy = self.agent_policy(&agent, a, body);
                    let whole_doc = get("shadow").is_some_and(|flag| self.flag(flag, "shadow"));
                    // Shadow rules move to the agent's shadow policy (the whole policy, every rule
                    // enforced there), so the enforced policy never holds them: an SDK too old to
                    // know `shadow` then ignores the shadow instead of enforcing its rules.
                    if whole_doc || policy.grants.iter().any(|g| g.shadow) {
                        let mut shadow = policy.clone();
                        shadow.grants.iter_mut().for_each(|g| g.shadow = false);
                        if set.shadows.iter().any(|p| p.agent == shadow.agent) {
                            self.err_at(a, "agent", format!("agent `{agent}` has a shadow policy already"));
                        }
                        set.shadows.push(shadow);
                        if whole_doc {
                            return;
                        }
                        policy.grants.retain(|g| !g.shadow);
                    }
                    if set.agents.iter().any(|p| p.agent == policy.agent) {
                        self.err_at(
                            a,
                            "agent",
                            format!("agent `{agent}` has a policy already; merge the two"),
                        );
                    }
                    set.agents.push(policy);
                }
            }
            (Some(a), None) => self.err_at(a, "policy", "an `agent:` document needs a `policy:` body"),
            (None, Some(p)) => self.err_at(p, "agent", "a `policy:` body needs the `agent:` it belongs to"),
            (None, None) => {}
        }
    }

    fn agent_policy(&mut self, agent: &str, at: &Node, body: &Node) -> AgentPolicy {
        let mut policy = AgentPolicy {
            agent: agent.to_string(),
            source: self.loc(at.line, at.column),
            grants: Vec::new(),
            audit: AuditSettings::default(),
            circuit_breaker: None,
        };
        let bodies: Vec<&Node> = match &body.value {
            NodeValue::Seq(items) => items.iter().collect(),
            _ => vec![body],
        };
        let many = bodies.len() > 1;
        for (i, b) in bodies.into_iter().enumerate() {
            let id = if many {
                format!("{agent}#{i}")
            } else {
                agent.to_string()
            };
            let path = if many {
                format!("policy[{i}]")
            } else {
                "policy".to_string()
            };
            if let Some(g) = self.grant(id, b, &path, &mut policy) {
                policy.grants.push(g);
            }
        }
        if policy.grants.is_empty() && self.errors.is_empty() {
            self.err_at(body, "policy", "the policy grants nothing");
        }
        policy
    }

    /// `true` or `false`; anything else is an error (and false).
    fn flag(&mut self, node: &Node, path: &str) -> bool {
        match node.value {
            NodeValue::Bool(b) => b,
            _ => {
                self.err_at(node, path, format!("expected true or false, got {}", node.type_name()));
                false
            }
        }
    }

    fn grant(&mut self, id: String, body: &Node, path: &str, policy: &mut AgentPolicy) -> Option<Grant> {
        let entries = self.map(body, path);
        self.check_keys(entries, BODY_KEYS, path);
        let mut grant = Grant {
            id,
            actions: Vec::new(),
            resources: Vec::new(),
            exclude_resources: Vec::new(),
            constraints: Vec::new(),
            shadow: false,
        };
        let mut constraints_node = None;
        for (k, v) in entries {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "actions" | "action" => grant.actions.extend(self.actions(v, &p)),
                "resources" | "resource" => {
                    for r in self.resource_patterns(v, &p) {
                        match r.strip_prefix('!') {
                            Some(ex) => grant.exclude_resources.push(ex.to_string()),
                            None => grant.resources.push(r),
                        }
                    }
                }
                "excludeResources" => grant.exclude_resources.extend(self.resource_patterns(v, &p)),
                "constraints" => constraints_node = Some((k, v)),
                "audit" => policy.audit = self.audit(v, &p),
                "circuitBreaker" => policy.circuit_breaker = self.breaker(v, &p),
                "shadow" => grant.shadow = self.flag(v, &p),
                _ => {}
            }
        }
        if grant.actions.is_empty() {
            self.err_at(body, &join(path, "actions"), "a policy needs at least one action");
        }
        if grant.resources.is_empty() {
            self.err_at(
                body,
                &join(path, "resources"),
                "a policy needs at least one resource pattern (use \"**\" for any)",
            );
        }
        if let Some((k, node)) = constraints_node {
            let p = join(path, &k.name);
            let only_own = self.constraints(node, &p, &mut grant, policy);
            if let Some((at, key_path, key)) = only_own {
                for r in &grant.resources {
                    if let Err(why) = user_scoped(r) {
                        self.err_at(
                            &at,
                            &key_path,
                            format!(
                                "`{key}: true` needs every resource pattern to pin the user id to one whole path \
                                 segment (`.../{{{{authenticated_user_id}}}}/...`, or ending one after fixed text \
                                 as in `customer:{{{{authenticated_user_id}}}}`); `{r}` does not: {why}"
                            ),
                        );
                    }
                }
            }
        }
        Some(grant)
    }

    /// Returns the `onlyOwn…: true` flag (value, key path, key), checked by the caller against the resources.
    fn constraints(
        &mut self,
        node: &Node,
        path: &str,
        grant: &mut Grant,
        policy: &mut AgentPolicy,
    ) -> Option<(Node, String, String)> {
        let mut only_own = None;
        match &node.value {
            NodeValue::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    match item.as_map() {
                        Some([(k, v)]) => self.constraint(k, v, None, &join(&p, &k.name), grant, &mut only_own),
                        _ => self.err_at(item, &p, "each list item must be a single `key: value` constraint"),
                    }
                }
            }
            NodeValue::Map(entries) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    let p = join(path, &k.name);
                    match (k.name.as_str(), &v.value) {
                        ("audit", _) => policy.audit = self.audit(v, &p),
                        ("circuitBreaker", _) => policy.circuit_breaker = self.breaker(v, &p),
                        (name, NodeValue::Null) if is_empty_group(name) => {
                            self.err_key(k, &p, empty_group_message(name, &entries[i + 1..]));
                        }
                        // A limit key's map form (`maxPerDay: {count: 100, per: agent}`) is a
                        // constraint, not an action group.
                        (name, NodeValue::Map(_)) if vocab::KEYS.contains(&name) => {
                            self.constraint(k, v, None, &p, grant, &mut only_own)
                        }
                        (_, NodeValue::Map(group)) => {
                            let Some(action) = self.group_action(k, &p, &grant.actions) else {
                                continue;
                            };
                            for (gk, gv) in group {
                                self.constraint(gk, gv, Some(&action), &join(&p, &gk.name), grant, &mut only_own);
                            }
                        }
                        // A group may also be a list of one-key constraints, like the top level.
                        (name, NodeValue::Seq(items)) if !vocab::KEYS.contains(&name) => {
                            let Some(action) = self.group_action(k, &p, &grant.actions) else {
                                continue;
                            };
                            for (i, item) in items.iter().enumerate() {
                                let ip = format!("{p}[{i}]");
                                match item.as_map() {
                                    Some([(gk, gv)]) => self.constraint(
                                        gk,
                                        gv,
                                        Some(&action),
                                        &join(&ip, &gk.name),
                                        grant,
                                        &mut only_own,
                                    ),
                                    _ => self.err_at(
                                        item,
                                        &ip,
                                        "each list item must be a single `key: value` constraint",
                                    ),
                                }
                            }
                        }
                        _ => self.constraint(k, v, None, &p, grant, &mut only_own),
                    }
                }
            }
            NodeValue::Null => {}
            _ => self.err_at(
                node,
                path,
                format!("expected a map or a list of constraints, got {}", node.type_name()),
            ),
        }
        only_own
    }

    fn constraint(
        &mut self,
        key: &Key,
        value: &Node,
        action: Option<&str>,
        path: &str,
        grant: &mut Grant,
        only_own: &mut Option<(Node, String, String)>,
    ) {
        if key.name == "audit" || key.name == "circuitBreaker" {
            self.err_key(
                key,
                path,
                format!("`{}` belongs directly under `constraints:` or `policy:`", key.name),
            );
            return;
        }
        match vocab::meaning(&key.name, value) {
            Ok(Meaning::Constraints(kinds)) => {
                let budgets = kinds
                    .iter()
                    .filter(|k| matches!(k, ConstraintKind::Budget { .. }))
                    .count();
                for (i, kind) in kinds.into_iter().enumerate() {
                    let mut id = format!("{}/{}/{}", grant.id, action.unwrap_or("*"), key.name);
                    // Several budgets under one key each get their own counter.
                    if budgets > 1 {
                        id.push_str(&format!("[{i}]"));
                    }
                    grant.constraints.push(Constraint {
                        id,
                        key: key.name.clone(),
                        action: action.map(str::to_string),
                        kind,
                        source: self.loc(key.line, key.column),
                    });
                }
            }
            Ok(Meaning::OnlyOwn) => *only_own = Some((value.clone(), path.to_string(), key.name.clone())),
            Ok(Meaning::Nothing) => {}
            Err(message) => {
                let at = if message.starts_with("unknown key") {
                    (key.line, key.column)
                } else {
                    (value.line, value.column)
                };
                self.err(at.0, at.1, path, message);
            }
        }
    }

    /// A group name (`refunds`) to the one action it names (`process_refund`).
    ///
    /// The result may be a glob (`refund_*`, when the group names a glob action or is written as
    /// one); the engine then applies the group to every request action the glob matches, so a group
    /// is never compared literally with a name no request can have.
    fn group_action(&mut self, key: &Key, path: &str, actions: &[String]) -> Option<String> {
        if actions.iter().any(|a| a == &key.name) {
            return Some(key.name.clone());
        }
        if key.name.contains('*') {
            return self.glob_group(key, path, actions);
        }
        let stem = singular(&key.name.to_lowercase());
        let matches: Vec<&String> = actions
            .iter()
            .filter(|a| {
                a.to_lowercase()
                    .split(['_', '-', '.', ':'])
                    .any(|w| singular(w) == stem)
            })
            .collect();
        match matches.as_slice() {
            [one] => Some((*one).clone()),
            [] => {
                let msg = format!(
                    "constraint group `{}` names no action of this policy ({}); name the group after an action, \
                     or a word of one (`refunds` for `process_refund`)",
                    key.name,
                    actions.join(", ")
                );
                self.err_key(key, path, msg);
                None
            }
            many => {
                let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                let msg = format!(
                    "constraint group `{}` is ambiguous: it matches {}; use the action's full name",
                    key.name,
                    names.join(" and ")
                );
                self.err_key(key, path, msg);
                None
            }
        }
    }

    /// A group written as a glob (`refund_*:`) must overlap an action the grant allows: it covers a
    /// listed action, or a listed glob covers it. Otherwise its constraints could never apply.
    fn glob_group(&mut self, key: &Key, path: &str, actions: &[String]) -> Option<String> {
        let group = match super::pattern::Pattern::compile(&key.name) {
            Ok(p) => p,
            Err(e) => {
                self.err_key(key, path, e);
                return None;
            }
        };
        let overlaps = |a: &String| {
            group.matches_name(a) || super::pattern::Pattern::compile(a).is_ok_and(|p| p.matches_name(&key.name))
        };
        if actions.iter().any(overlaps) {
            return Some(key.name.clone());
        }
        let msg = format!(
            "constraint group `{}` covers no action of this policy ({}), so its constraints would never apply; \
             name the group after an allowed action or a glob that matches one",
            key.name,
            actions.join(", ")
        );
        self.err_key(key, path, msg);
        None
    }

    fn issuer_scopes(&mut self, node: &Node, set: &mut PolicySet) {
        let NodeValue::Seq(items) = &node.value else {
            self.err_at(node, "issuerScopes", "expected a list of {key, agents, capabilities}");
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("issuerScopes[{i}]");
            let entries = self.map(item, &path);
            self.check_keys(entries, SCOPE_KEYS, &path);
            let get = |name: &str| entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
            let Some(key) = get("key").and_then(|k| self.string(k, &format!("{path}.key"))) else {
                self.err_at(item, &path, "an issuer scope needs `key` (ed25519:...)");
                continue;
            };
            if let Err(e) = crate::keys::VerifyingKey::parse(&key) {
                self.err_at(item, &format!("{path}.key"), e.to_string());
            }
            let agents = get("agents")
                .map(|a| self.strings(a, &format!("{path}.agents")))
                .unwrap_or_default();
            for a in &agents {
                if let Err(e) = super::pattern::Pattern::compile(a) {
                    self.err_at(item, &format!("{path}.agents"), e);
                }
            }
            let capabilities = match get("capabilities").map(|c| (c, c.scalar_text())) {
                None => CapabilityAuthority::Narrow,
                Some((_, Some(t))) if t == "narrow" => CapabilityAuthority::Narrow,
                Some((_, Some(t))) if t == "grant" => CapabilityAuthority::Grant,
                Some((_, Some(t))) if t == "forbid" => CapabilityAuthority::Forbid,
                Some((c, _)) => {
                    self.err_at(c, &format!("{path}.capabilities"), "expected narrow, grant or forbid");
                    CapabilityAuthority::Narrow
                }
            };
            set.issuer_scopes.push(IssuerScope {
                key,
                agents,
                capabilities,
            });
        }
    }

    fn audit(&mut self, node: &Node, path: &str) -> AuditSettings {
        let mut s = AuditSettings::default();
        let entries = self.map(node, path);
        self.check_keys(entries, AUDIT_KEYS, path);
        for (k, v) in entries {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "logAllActions" => match v.value {
                    NodeValue::Bool(b) => s.log_all_actions = b,
                    _ => self.err_at(v, &p, "expected true or false"),
                },
                "retainFor" => match v.scalar_text().map(|t| duration_secs(&t)) {
                    Some(Ok(secs)) => s.retain_days = Some(secs.div_ceil(86_400)),
                    Some(Err(e)) => self.err_at(v, &p, e),
                    None => self.err_at(v, &p, "expected a duration such as `90days`"),
                },
                "redact" | "sensitiveFields" => s.redact.extend(self.strings(v, &p)),
                _ => {}
            }
        }
        s
    }

    fn breaker(&mut self, node: &Node, path: &str) -> Option<BreakerSettings> {
        let entries = self.map(node, path);
        self.check_keys(entries, BREAKER_KEYS, path);
        let mut b = BreakerSettings {
            scope: BreakerScope::Subject,
            max_denials: 0,
            window_secs: 60,
            cool_down_secs: 300,
        };
        for (k, v) in entries {
            let p = join(path, &k.name);
            match k.name.as_str() {
                "scope" => match v.scalar_text().as_deref() {
                    Some("user" | "subject") => b.scope = BreakerScope::Subject,
                    Some("agent") => b.scope = BreakerScope::Agent,
                    _ => self.err_at(
                        v,
                        &p,
                        "expected `user` (one breaker per user, the default) or `agent` (one for all users)",
                    ),
                },
                "maxDenials" => match v.value {
                    NodeValue::Int(n) if n > 0 => b.max_denials = n as u64,
                    _ => self.err_at(v, &p, "expected a positive whole number"),
                },
                "window" | "coolDown" => match v.scalar_text().map(|t| duration_secs(&t)) {
                    Some(Ok(secs)) if k.name == "window" => b.window_secs = secs,
                    Some(Ok(secs)) => b.cool_down_secs = secs,
                    Some(Err(e)) => self.err_at(v, &p, e),
                    None => self.err_at(v, &p, "expected a duration such as `5m`"),
                },
                _ => {}
            }
        }
        if b.max_denials == 0 {
            self.err_at(node, path, "`circuitBreaker` needs `maxDenials`");
            return None;
        }
        Some(b)
    }

    fn revocations(&mut self, node: &Node, out: &mut Revocations) {
        let entries = self.map(node, "revocations");
        self.check_keys(entries, &["tokens", "agents", "subjects", "grants"], "revocations");
        for (k, v) in entries {
            let p = join("revocations", &k.name);
            match k.name.as_str() {
                "tokens" => out.tokens.extend(self.strings(v, &p)),
                "agents" => out.agents.extend(self.strings(v, &p)),
                "subjects" => out.subjects.extend(self.strings(v, &p)),
                "grants" => match serde_json::from_value::<Vec<GrantRevocation>>(v.to_json()) {
                    Ok(g) => {
                        for bad in g
                            .iter()
                            .filter_map(|g| crate::engine::request::check_action_name(&g.action, false).err())
                        {
                            self.err_at(v, &p, format!("the revoked action {bad}"));
                        }
                        out.grants.extend(g)
                    }
                    Err(e) => self.err_at(v, &p, format!("expected a list of {{agent, action, subject?}}: {e}")),
                },
                _ => {}
            }
        }
    }

    fn kill_switches(&mut self, node: &Node, out: &mut KillSwitches) {
        let entries = self.map(node, "killSwitches");
        self.check_keys(entries, &["all", "agents", "actions"], "killSwitches");
        for (k, v) in entries {
            let p = join("killSwitches", &k.name);
            match (k.name.as_str(), &v.value) {
                ("all", NodeValue::Bool(b)) => out.all = *b,
                ("all", _) => self.err_at(v, &p, "expected true or false"),
                ("agents", _) => out.agents.extend(self.strings(v, &p)),
                ("actions", _) => {
                    let items: Vec<&Node> = match &v.value {
                        NodeValue::Seq(items) => items.iter().collect(),
                        _ => vec![v],
                    };
                    for item in items {
                        if let Some(name) = self.string(item, &p) {
                            match crate::engine::request::check_action_name(&name, false) {
                                Ok(()) => out.actions.push(name),
                                Err(e) => self.err_at(item, &p, format!("the kill switch action {e}")),
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// `Ok` when `pattern` pins the token's user id: the first segment holding `{{authenticated_user_id}}`
/// (or `{{user.id}}`) is fixed text followed by the template and nothing else, and no segment before it
/// has a wildcard. Otherwise a sentence saying what lets another user's resource match.
fn user_scoped(pattern: &str) -> Result<(), String> {
    const USER_ID: [&str; 4] = ["authenticated_user_id", "user.id", "user.user_id", "user_id"];
    let is_user = |inner: &str| USER_ID.contains(&inner.trim());
    for seg in pattern.split('/') {
        let Some(open) = seg.find("{{") else {
            if seg.contains('*') {
                return Err(format!(
                    "the wildcard segment `{seg}` before the user id lets the user id sit anywhere"
                ));
            }
            continue;
        };
        let (prefix, rest) = seg.split_at(open);
        let Some(close) = rest.find("}}") else {
            return Err(format!("unclosed template in `{seg}`"));
        };
        if !is_user(&rest[2..close]) {
            if seg.contains('*') {
                return Err(format!(
                    "the wildcard in `{seg}` before the user id lets the user id sit anywhere"
                ));
            }
            continue;
        }
        if prefix.contains('*') || prefix.contains("{{") {
            return Err(format!(
                "the wildcard before the user id in `{seg}` lets `x42` match user 2"
            ));
        }
        let after = &rest[close + 2..];
        if after.contains('*') {
            return Err(format!(
                "the wildcard after the user id in `{seg}` lets user 4 match user 42's resources"
            ));
        }
        if !after.is_empty() {
            return Err(format!(
                "the user id must end its segment; `{after}` follows it in `{seg}`"
            ));
        }
        return Ok(());
    }
    Err("it has no {{authenticated_user_id}} or {{user.id}} segment".into())
}

/// Whether a key with nothing under it reads as a constraint group the author left empty (rather
/// than a misspelt constraint key, which gets the usual "did you mean" message).
fn is_empty_group(name: &str) -> bool {
    !vocab::KEYS.contains(&name) && vocab::suggest(name, vocab::KEYS).is_none()
}

/// An empty constraint group, naming the keys after it (`following`) that were probably meant to sit under it.
fn empty_group_message(name: &str, following: &[(Key, Node)]) -> String {
    let after: Vec<String> = following
        .iter()
        .take_while(|(k, _)| vocab::KEYS.contains(&k.name.as_str()))
        .map(|(k, _)| format!("`{}`", k.name))
        .collect();
    if after.is_empty() {
        format!("constraint group `{name}` has no constraints under it")
    } else {
        format!(
            "constraint group `{name}` has no constraints under it, and the keys after it ({}) sit at its \
             indentation, so they would apply to every action; indent them under `{name}:` to make them the group's",
            after.join(", ")
        )
    }
}

/// The likely cause of an unknown key that follows a key with nothing under it: an indentation slip.
fn indent_hint((prev, value): &(Key, Node), key: &Key) -> Option<String> {
    (value.value == NodeValue::Null && key.column == prev.column).then(|| {
        format!(
            "`{}:` on line {} has nothing under it; if `{}` belongs to it, indent it (and the lines after it) under \
             `{}:`",
            prev.name, prev.line, key.name, prev.name
        )
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if word.ends_with("ss") {
        word.to_string()
    } else {
        word.strip_suffix('s').unwrap_or(word).to_string()
    }
}
