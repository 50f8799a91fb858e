//! The policy language: sources, the canonical model, and compilation.
//!
//! Pipeline: [`source`] (YAML/JSON to a located tree) → [`parse`] (the
//! article's vocabulary to the canonical [`model`]) → [`compile`] (CEL
//! programs and resource patterns, once per snapshot).

pub mod budget;
pub mod cel_budget;
pub mod compile;
pub mod model;
pub mod parse;
pub mod pattern;
pub mod redact;
pub mod shadow;
pub mod source;
pub mod timeexpr;
pub mod vocab;

pub use cel_budget::CelBudget;
pub use compile::{
    compile_agent, compile_agent_with, compile_capability, Cel, CompiledConstraint, CompiledGrant, CompiledKind,
    CompiledPolicy,
};
pub use model::*;
pub use parse::{parse_capability, parse_source};

use crate::error::{Error, Result};
use std::path::Path;

/// Loads a policy file, or every `.yaml`/`.yml`/`.json` file of a folder (sorted by name).
pub fn load_path(path: &Path) -> Result<PolicySet> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let files: Vec<std::path::PathBuf> = if meta.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path.display().to_string(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.starts_with('.')
                    && !name.ends_with("_test.yaml")
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut set = PolicySet::default();
    let mut diagnostics = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(file.display().to_string(), e))?;
        match parse_source(&file.display().to_string(), &text) {
            Ok(part) => merge(&mut set, part, &mut diagnostics),
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    if !diagnostics.is_empty() {
        return Err(crate::error::PolicyError { diagnostics }.into());
    }
    Ok(set)
}

/// Merges `part` into `set`; a second policy for one agent is a diagnostic.
pub fn merge(set: &mut PolicySet, part: PolicySet, diagnostics: &mut Vec<crate::error::Diagnostic>) {
    for agent in part.agents {
        if let Some(first) = set.agents.iter().find(|a| a.agent == agent.agent) {
            diagnostics.push(crate::error::Diagnostic {
                file: agent.source.file.clone(),
                line: agent.source.line,
                column: agent.source.column,
                key: "agent".into(),
                message: format!("agent `{}` already has a policy at {}", agent.agent, first.source),
            });
        } else {
            set.agents.push(agent);
        }
    }
    // A file's shadow policies count like its enforced ones, one per agent (without this, a
    // policy *file* silently lost its shadows).
    for shadow in part.shadows {
        if let Some(first) = set.shadows.iter().find(|s| s.agent == shadow.agent) {
            diagnostics.push(crate::error::Diagnostic {
                file: shadow.source.file.clone(),
                line: shadow.source.line,
                column: shadow.source.column,
                key: "shadow".into(),
                message: format!(
                    "agent `{}` already has a shadow policy at {}",
                    shadow.agent, first.source
                ),
            });
        } else {
            set.shadows.push(shadow);
        }
    }
    set.trusted_issuers.extend(part.trusted_issuers);
    set.issuer_scopes.extend(part.issuer_scopes);
    let r = part.revocations;
    set.revocations.tokens.extend(r.tokens);
    set.revocations.agents.extend(r.agents);
    set.revocations.subjects.extend(r.subjects);
    set.revocations.grants.extend(r.grants);
    let k = part.kill_switches;
    set.kill_switches.all |= k.all;
    set.kill_switches.agents.extend(k.agents);
    set.kill_switches.actions.extend(k.actions);
}
