//! `act policy push <folder>`: sends a policy folder (policies and `*_test.yaml` suites) to
//! `POST /v1/policies`; the server compiles it, runs the suites, and publishes a new version
//! only when everything passes.

use crate::exit::{CmdResult, Failure, IO};
use crate::remote::{refused, RemoteArgs};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// Arguments of `act policy push`.
#[derive(clap::Args)]
pub struct PushArgs {
    /// The policy folder (its `.yaml`/`.yml`/`.json` files, suites included; sub-folders are not sent).
    pub folder: PathBuf,
    /// Why this version is published (recorded with your identity).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// The folder's files by name, as `POST /v1/policies` takes them.
fn files(folder: &std::path::Path) -> Result<Map<String, Value>, Failure> {
    let io = |e: std::io::Error| Failure::new(IO, format!("{}: {e}", folder.display()));
    let mut out = Map::new();
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for p in entries {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let policy_like = matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"));
        if name.starts_with('.') || !policy_like {
            continue;
        }
        out.insert(name.to_string(), Value::String(crate::exit::read(&p)?));
    }
    if out.is_empty() {
        return Err(Failure::new(
            IO,
            format!("{}: no .yaml, .yml or .json files to push", folder.display()),
        ));
    }
    Ok(out)
}

/// Runs `act policy push`.
pub fn run(a: PushArgs) -> CmdResult {
    let body = json!({"files": files(&a.folder)?, "reason": a.reason});
    let client = a.remote.client()?;
    let v = client.post("/v1/policies", &body).map_err(refused)?;
    let t = &v["tests"];
    println!(
        "published policy version {} (snapshot version {}): {} suite(s), {} case(s) passed",
        v["version"], v["snapshot_version"], t["suites"], t["passed"]
    );
    Ok(())
}
