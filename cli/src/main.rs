//! `act`: keys, tokens, policy checks and tests, signed snapshots, audit logs,
//! and `act serve`, the development control endpoint.
#![forbid(unsafe_code)]

mod admin;
mod audit;
mod audit_shadow;
mod exit;
mod keys;
mod policy;
mod push;
mod remote;
mod replay;
mod revoke;
mod serve;
mod snapshot;
mod suite;
mod token;
mod validate;

use clap::{Parser, Subcommand};
use exit::Failure;

/// Exit codes, shared by every command.
const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   a check failed: a policy test failed, a decision was not `allow`, an audit chain is broken
  2   usage error: a missing or malformed argument
  3   policy syntax error: a file is not valid YAML or JSON
  4   policy invalid: unknown key, wrong type, bad CEL, bad pattern, duplicate agent
  5   a file cannot be read or written
  6   a key is invalid
  7   a token is invalid
  8   a snapshot is rejected
  9   a policy test suite is invalid
  10  internal error (a bug in act; please report it)
  11  the control plane (--server) refused the request or cannot be reached";

#[derive(Parser)]
#[command(name = "act", version, about = "ACT: capability tokens and runtime authorization for AI agents", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generates an Ed25519 signing key (PKCS#8 PEM) and prints its public key as `ed25519:<base64url>`.
    #[command(after_help = EXIT_CODES)]
    Keygen(keys::KeygenArgs),
    /// Issues or inspects capability tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Checks policies and runs policy test suites.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Builds and inspects signed policy snapshots.
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// Decides one request against local policies, optionally explaining every step.
    #[command(after_help = EXIT_CODES)]
    Validate(validate::ValidateArgs),
    /// Works with hash-chained audit logs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Replays an audit log against candidate policies and prints what would change.
    Replay(replay::ReplayArgs),
    /// Revokes tokens, agents, subjects or single grants on a running control plane (admin key).
    #[command(after_help = EXIT_CODES)]
    Revoke(revoke::RevokeArgs),
    /// Turns a kill switch on or lifts it on a running control plane (admin key).
    #[command(after_help = EXIT_CODES)]
    KillSwitch(revoke::KillSwitchArgs),
    /// Manages a running control plane's API keys (admin key).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Runs the control endpoint in development mode (generated keys, one per role, printed at start).
    #[command(after_help = EXIT_CODES)]
    Serve(serve::ServeArgs),
    /// Runs the control plane: per-role credentials from a file, persistent key and state.
    #[command(after_help = EXIT_CODES)]
    Server(serve::ServerArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(a) => keys::keygen(a),
        Command::Token(c) => token::run(c),
        Command::Policy(c) => policy::run(c),
        Command::Snapshot(c) => snapshot::run(c),
        Command::Validate(a) => validate::run(a),
        Command::Audit(c) => audit::run(c),
        Command::Replay(a) => replay::run(a),
        Command::Revoke(a) => revoke::revoke(a),
        Command::KillSwitch(a) => revoke::kill_switch(a),
        Command::Admin(c) => admin::run(c),
        Command::Serve(a) => serve::run(a),
        Command::Server(a) => serve::run_server(a),
    };
    match result {
        Ok(()) => {}
        Err(Failure { code, message }) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            std::process::exit(code);
        }
    }
}
