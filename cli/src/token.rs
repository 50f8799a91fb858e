//! `act token issue` and `act token inspect`.

use crate::exit::{json_object, read, CmdResult, Failure, TOKEN};
use crate::keys::{load_signing, parse_public};
use act_core::token::{decode_unverified, verify_chain, VerifyOptions};
use act_core::{Engine, EngineOptions, IssueRequest};
use std::path::PathBuf;

/// `act token ...`
#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Issues a token for an agent acting for a user; prints it on stdout.
    Issue(IssueArgs),
    /// Decodes a token (every link of a delegation chain) and prints its claims as JSON.
    Inspect(InspectArgs),
}

/// Arguments of `act token issue`.
#[derive(clap::Args)]
pub struct IssueArgs {
    /// The issuer's private key (PKCS#8 PEM or JWK file).
    #[arg(long)]
    pub key: PathBuf,
    /// The agent id (`act.sub`).
    #[arg(long)]
    pub agent: String,
    /// The user the agent acts for (becomes `sub` and `ctx.user_id`).
    #[arg(long)]
    pub user_id: String,
    /// More user context as a JSON object, e.g. '{"roles": ["customer"]}'.
    #[arg(long)]
    pub user_context: Option<String>,
    /// Agent attributes for `{{agent.X}}` templates, as a JSON object.
    #[arg(long)]
    pub agent_context: Option<String>,
    /// Policy file or folder: the agent must have a policy there (checked before issuing).
    #[arg(long, conflicts_with = "capability")]
    pub policy: Option<PathBuf>,
    /// An inline capability (a policy body as JSON) carried in the token instead.
    #[arg(long)]
    pub capability: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
    /// `aud` of the token.
    #[arg(long)]
    pub audience: Option<String>,
    /// `iss` of the token.
    #[arg(long, default_value = "act")]
    pub issuer: String,
}

/// Arguments of `act token inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The token, or `-` to read it from stdin.
    pub token: String,
    /// Also verify the signatures against this issuer key (`ed25519:...`, JWK, or a key file).
    #[arg(long)]
    pub trust: Option<String>,
}

/// Runs a token command.
pub fn run(c: TokenCommand) -> CmdResult {
    match c {
        TokenCommand::Issue(a) => issue(a),
        TokenCommand::Inspect(a) => inspect(a),
    }
}

fn issue(a: IssueArgs) -> CmdResult {
    let key = load_signing(&a.key)?;
    let mut user = match &a.user_context {
        Some(t) => json_object("--user-context", t)?,
        None => Default::default(),
    };
    user.insert("user_id".into(), a.user_id.clone().into());
    let agent_context = match &a.agent_context {
        Some(t) => json_object("--agent-context", t)?,
        None => Default::default(),
    };
    let policy = match &a.capability {
        Some(t) => Some(serde_json::Value::Object(json_object("--capability", t)?)),
        None => None,
    };
    let set = match (&a.policy, &policy) {
        (Some(p), _) => act_core::policy::load_path(p)?,
        (None, Some(_)) => Default::default(),
        (None, None) => {
            return Err(Failure::usage(
                "pass --policy <path> (the agent's policy) or --capability <json>",
            ))
        }
    };
    let options = EngineOptions {
        issuer: a.issuer.clone(),
        audience: a.audience.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::builder()
        .policies(set)
        .signing_key(key)
        .options(options)
        .build()?;
    let token = engine.issue_token(&IssueRequest {
        agent: a.agent,
        user_context: user,
        agent_context,
        policy,
        ttl_secs: a.ttl,
        holder_key: None,
    })?;
    println!("{token}");
    Ok(())
}

fn inspect(a: InspectArgs) -> CmdResult {
    let token = if a.token == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::new(crate::exit::IO, format!("stdin: {e}")))?;
        s
    } else if std::path::Path::new(&a.token).is_file() {
        read(std::path::Path::new(&a.token))?
    } else {
        a.token.clone()
    };
    let token = token.trim();
    let links = decode_unverified(token)?;
    let json: Vec<serde_json::Value> = links.iter().map(|c| c.to_json()).collect();
    println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    if let Some(t) = &a.trust {
        let key = parse_public(t)?;
        let lookup = |kid: &str| (kid == key.kid()).then(|| key.clone());
        let opts = VerifyOptions {
            audience: None,
            max_depth: 8,
        };
        match verify_chain(token, &lookup, &opts) {
            Ok(_) => eprintln!("signatures: valid (issuer kid {})", key.kid()),
            Err((reason, message)) => return Err(Failure::new(TOKEN, format!("signatures: {reason}: {message}"))),
        }
    }
    Ok(())
}
