//! What every command that talks to a running `act server` shares: where it is, the admin key,
//! and how a refusal maps to an exit code. The HTTP client is `act_server::client`.

use crate::exit::{Failure, CHECK_FAILED, POLICY_INVALID, SUITE, USAGE};
use act_server::client::{Client, ClientError, ADMIN_KEY_ENV, SERVER_ENV};

/// `--server` and `--api-key`.
#[derive(clap::Args)]
pub struct RemoteArgs {
    /// The control plane's URL, e.g. https://act.example.com (default: $ACT_SERVER).
    #[arg(long, env = SERVER_ENV)]
    pub server: String,
    /// An admin API key (default: $ACT_ADMIN_API_KEY).
    #[arg(long, env = ADMIN_KEY_ENV, hide_env_values = true)]
    pub api_key: String,
}

/// The exit code for a server that refused or was not reached.
pub const SERVER_REFUSED: i32 = 11;

impl RemoteArgs {
    /// A client of the server.
    pub fn client(&self) -> Result<Client, Failure> {
        Client::new(&self.server, &self.api_key).map_err(|m| Failure::usage(format!("--server: {m}")))
    }
}

/// A refusal as a failure: the server's code and message, with an exit code that says what kind.
pub fn refused(e: ClientError) -> Failure {
    let code = match &e {
        ClientError::Refused { code, .. } => match code.as_str() {
            "tests_failed" => CHECK_FAILED,
            "policy_invalid" => POLICY_INVALID,
            "suite_invalid" => SUITE,
            "bad_request" => USAGE,
            _ => SERVER_REFUSED,
        },
        ClientError::Unreachable(_) => SERVER_REFUSED,
    };
    Failure::new(code, e.to_string())
}
