//! `act snapshot build` and `act snapshot inspect`.

use crate::exit::{read, CmdResult, Failure, IO, SNAPSHOT};
use crate::keys::{load_signing, parse_public};
use act_core::snapshot::{encode_snapshot, verify_document, SnapshotDocument};
use std::path::PathBuf;

/// `act snapshot ...`
#[derive(clap::Subcommand)]
pub enum SnapshotCommand {
    /// Compiles a policy file or folder and signs it as a snapshot document (`act-snapshot+jwt`).
    ///
    /// The result can be served by `act serve` or by any static file server or object
    /// store at `<base>/v1/snapshot` (see docs/protocol.md).
    Build(BuildArgs),
    /// Verifies a snapshot document against the pinned key and prints a summary.
    Inspect(InspectArgs),
}

/// Arguments of `act snapshot build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// Policy file or folder.
    pub path: PathBuf,
    /// The control plane's private key (PKCS#8 PEM or JWK file).
    #[arg(long)]
    pub key: PathBuf,
    /// Snapshot version; must grow with every build. Default: now, in milliseconds since the epoch.
    #[arg(long)]
    pub version: Option<u64>,
    /// Make the snapshot expire this many seconds after it is issued.
    #[arg(long)]
    pub expires_in: Option<u64>,
    /// Also trust these token issuer keys (`ed25519:...`), repeatable.
    #[arg(long = "trust-issuer")]
    pub trust_issuers: Vec<String>,
    /// Where to write the document (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Arguments of `act snapshot inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The snapshot document file.
    pub file: PathBuf,
    /// The pinned snapshot key (`ed25519:...`, JWK, or a key file).
    #[arg(long)]
    pub trust: String,
    /// Print the policies as JSON too.
    #[arg(long)]
    pub print: bool,
}

/// Runs a snapshot command.
pub fn run(c: SnapshotCommand) -> CmdResult {
    match c {
        SnapshotCommand::Build(a) => build(a),
        SnapshotCommand::Inspect(a) => inspect(a),
    }
}

fn now_ms() -> i64 {
    act_core::Clock::now_ms(&act_core::SystemClock)
}

fn build(a: BuildArgs) -> CmdResult {
    let key = load_signing(&a.key)?;
    let mut policies = act_core::policy::load_path(&a.path).map_err(crate::policy::report)?;
    for k in &a.trust_issuers {
        parse_public(k)?;
        policies.trusted_issuers.push(k.trim().to_string());
    }
    let issued_at = now_ms();
    let doc = SnapshotDocument {
        version: a.version.unwrap_or(issued_at as u64),
        issued_at,
        expires_at: a.expires_in.map(|s| issued_at + (s as i64) * 1000),
        policies,
    };
    let jws = encode_snapshot(&key, &doc).map_err(crate::policy::report)?;
    match &a.out {
        Some(p) => {
            std::fs::write(p, format!("{jws}\n")).map_err(|e| Failure::new(IO, format!("{}: {e}", p.display())))?
        }
        None => println!("{jws}"),
    }
    eprintln!(
        "snapshot version {} signed by {} ({} agent(s), {} bytes)",
        doc.version,
        key.verifying_key(),
        doc.policies.agents.len(),
        jws.len()
    );
    Ok(())
}

fn inspect(a: InspectArgs) -> CmdResult {
    let key = parse_public(&a.trust)?;
    let bytes = read(&a.file)?;
    let doc = verify_document(bytes.as_bytes(), &key)
        .map_err(|e| Failure::new(SNAPSHOT, format!("{}: {e}", a.file.display())))?;
    let agents: Vec<&str> = doc.policies.agents.iter().map(|p| p.agent.as_str()).collect();
    println!("version: {}", doc.version);
    println!("issued_at_ms: {}", doc.issued_at);
    if let Some(e) = doc.expires_at {
        println!("expires_at_ms: {e}");
    }
    println!("agents: {}", agents.join(", "));
    let r = &doc.policies.revocations;
    println!(
        "revocations: {} token(s), {} agent(s), {} subject(s), {} grant(s)",
        r.tokens.len(),
        r.agents.len(),
        r.subjects.len(),
        r.grants.len()
    );
    if a.print {
        println!("{}", serde_json::to_string_pretty(&doc.policies).unwrap_or_default());
    }
    Ok(())
}
