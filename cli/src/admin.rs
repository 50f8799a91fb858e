//! `act admin keys list|create|revoke|rotate` against a running `act server` (role admin,
//! `/v1/admin/keys`). A new key is printed once; the server keeps only its SHA-256.

use crate::exit::CmdResult;
use crate::remote::{refused, RemoteArgs};
use serde_json::{json, Value};

/// `act admin ...`
#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Manages API keys: list, create, revoke, rotate.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `act admin keys ...`
#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Lists the managed keys (never the keys themselves) and the bootstrap credentials.
    List(RemoteArgs),
    /// Makes a key and prints it once.
    Create(CreateArgs),
    /// Revokes a managed key: it stops working at once, and its console sessions end.
    Revoke(IdArgs),
    /// Replaces a managed key with a new one (same identity, role, agents); prints the new key once.
    Rotate(IdArgs),
}

/// The role of a new key.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Snapshot, audit ingest, fleet status, its own approval requests.
    Agent,
    /// Mints tokens for the `--agent`s named.
    Issuer,
    /// Decides approval requests.
    Approver,
    /// Policies, revocations, kill switches, keys.
    Admin,
}

/// Arguments of `act admin keys create`.
#[derive(clap::Args)]
pub struct CreateArgs {
    /// The key's one role.
    #[arg(long)]
    pub role: RoleArg,
    /// The identity it authenticates (a person's address, a service's name).
    #[arg(long)]
    pub name: String,
    /// Issuer only: an agent it may mint for (repeat; `*` = any).
    #[arg(long)]
    pub agent: Vec<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Arguments naming one key.
#[derive(clap::Args)]
pub struct IdArgs {
    /// The key's id (`key_...`, from `act admin keys list`).
    pub id: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

fn role_name(r: RoleArg) -> &'static str {
    match r {
        RoleArg::Agent => "agent",
        RoleArg::Issuer => "issuer",
        RoleArg::Approver => "approver",
        RoleArg::Admin => "admin",
    }
}

fn print_made(v: &Value) {
    println!("id: {}", v["id"].as_str().unwrap_or_default());
    println!("role: {}", v["role"].as_str().unwrap_or_default());
    println!("identity: {}", v["identity"].as_str().unwrap_or_default());
    println!("key: {}", v["key"].as_str().unwrap_or_default());
    eprintln!("the key is shown once: store it now (the server keeps only its SHA-256)");
}

/// Runs `act admin ...`.
pub fn run(c: AdminCommand) -> CmdResult {
    let AdminCommand::Keys(k) = c;
    match k {
        KeysCommand::List(r) => {
            let v = r.client()?.get("/v1/admin/keys").map_err(refused)?;
            for k in v["keys"].as_array().into_iter().flatten() {
                let state = match k["revoked_at_ms"].as_i64() {
                    Some(_) => format!("revoked by {}", k["revoked_by"].as_str().unwrap_or("?")),
                    None => "live".into(),
                };
                println!(
                    "{}  {:<8}  {}  {}  (made by {})",
                    k["id"].as_str().unwrap_or_default(),
                    k["role"].as_str().unwrap_or_default(),
                    k["identity"].as_str().unwrap_or_default(),
                    state,
                    k["created_by"].as_str().unwrap_or_default()
                );
            }
            for b in v["bootstrap"].as_array().into_iter().flatten() {
                println!(
                    "(bootstrap)  {:<8}  {}",
                    b["role"].as_str().unwrap_or_default(),
                    b["identity"].as_str().unwrap_or_default()
                );
            }
            Ok(())
        }
        KeysCommand::Create(a) => {
            let body = json!({"role": role_name(a.role), "identity": a.name, "agents": a.agent});
            let v = a.remote.client()?.post("/v1/admin/keys", &body).map_err(refused)?;
            print_made(&v);
            Ok(())
        }
        KeysCommand::Revoke(a) => {
            let path = format!("/v1/admin/keys/{}/revoke", a.id);
            a.remote.client()?.post(&path, &json!({})).map_err(refused)?;
            println!("revoked {}", a.id);
            Ok(())
        }
        KeysCommand::Rotate(a) => {
            let path = format!("/v1/admin/keys/{}/rotate", a.id);
            let v = a.remote.client()?.post(&path, &json!({})).map_err(refused)?;
            println!("rotated {} (now revoked)", a.id);
            print_made(&v);
            Ok(())
        }
    }
}
