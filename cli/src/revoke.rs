//! `act revoke` and `act kill-switch on|off` against a running `act server`
//! (`POST /v1/revocations`, `POST /v1/kill-switches`, role admin). Each change is published to
//! every SDK at once and recorded with the key's identity and the reason.

use crate::exit::{CmdResult, Failure};
use crate::remote::{refused, RemoteArgs};
use serde_json::{json, Value};

/// Arguments of `act revoke`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true)))]
pub struct RevokeArgs {
    /// A token id (`jti`).
    #[arg(long, group = "what")]
    pub token: Vec<String>,
    /// An agent id: every token of this agent.
    #[arg(long, group = "what")]
    pub agent: Vec<String>,
    /// A subject (user id): every token acting for this user.
    #[arg(long, group = "what")]
    pub subject: Vec<String>,
    /// One grant: `AGENT:ACTION` or `AGENT:ACTION:SUBJECT`.
    #[arg(long, group = "what")]
    pub grant: Vec<String>,
    /// Why (recorded with your identity).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `on` or `off`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OnOff {
    /// Turn the switch on: deny at once.
    On,
    /// Lift it.
    Off,
}

/// Arguments of `act kill-switch`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("switch").required(true).multiple(true)))]
pub struct KillSwitchArgs {
    /// Turn on or lift.
    pub state: OnOff,
    /// The switch that denies everything.
    #[arg(long, group = "switch")]
    pub all: bool,
    /// An agent whose every action is denied.
    #[arg(long, group = "switch")]
    pub agent: Vec<String>,
    /// An action denied for every agent.
    #[arg(long, group = "switch")]
    pub action: Vec<String>,
    /// Why (recorded with your identity).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

fn grant(text: &str) -> Result<Value, Failure> {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [agent, action] if !agent.is_empty() && !action.is_empty() => Ok(json!({"agent": agent, "action": action})),
        [agent, action, subject @ ..] if !agent.is_empty() && !action.is_empty() && !subject.is_empty() => {
            // A subject may itself contain `:`.
            Ok(json!({"agent": agent, "action": action, "subject": subject.join(":")}))
        }
        _ => Err(Failure::usage(format!(
            "--grant `{text}`: expected AGENT:ACTION or AGENT:ACTION:SUBJECT"
        ))),
    }
}

/// Runs `act revoke`.
pub fn revoke(a: RevokeArgs) -> CmdResult {
    let grants = a.grant.iter().map(|g| grant(g)).collect::<Result<Vec<_>, _>>()?;
    let body = json!({
        "tokens": a.token, "agents": a.agent, "subjects": a.subject, "grants": grants, "reason": a.reason,
    });
    let v = a.remote.client()?.post("/v1/revocations", &body).map_err(refused)?;
    println!("revoked: snapshot version {}", v["version"]);
    Ok(())
}

/// Runs `act kill-switch on|off`.
pub fn kill_switch(a: KillSwitchArgs) -> CmdResult {
    let on = matches!(a.state, OnOff::On);
    let body = json!({"on": on, "all": a.all, "agents": a.agent, "actions": a.action, "reason": a.reason});
    let v = a.remote.client()?.post("/v1/kill-switches", &body).map_err(refused)?;
    let what = if on { "kill switch on" } else { "kill switch lifted" };
    println!("{what}: snapshot version {}", v["version"]);
    Ok(())
}
