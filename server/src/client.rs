//! A small blocking client of this server's admin API, for the `act` commands that talk to a
//! running control plane (`act policy push`, `act revoke`, `act kill-switch`). It lives here,
//! next to the routes it calls, so the CLI does not re-implement the protocol.
//!
//! reqwest (already the SDK's HTTP client in core) over rustls with the ring provider and the
//! platform's trust store, on a current-thread tokio runtime of its own.

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Env var naming the server's URL (the default of `--server`).
pub const SERVER_ENV: &str = "ACT_SERVER";
/// Env var holding an admin API key (the default of `--api-key`).
pub const ADMIN_KEY_ENV: &str = "ACT_ADMIN_API_KEY";

/// Largest answer read.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientError {
    /// The server answered with an error: its status, stable code, message and whole body.
    Refused {
        /// HTTP status.
        status: u16,
        /// The `error` code (`forbidden_role`, `tests_failed`, ...).
        code: String,
        /// The `message`.
        message: String,
        /// The whole answer (e.g. the failures of `tests_failed`).
        body: Value,
    },
    /// No answer: cannot connect, TLS failed, timed out, or the answer is not JSON.
    Unreachable(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Refused {
                status, code, message, ..
            } => write!(f, "the server refused the request ({status} {code}): {message}"),
            ClientError::Unreachable(m) => write!(f, "{m}"),
        }
    }
}

/// A client of one server with one API key.
pub struct Client {
    base: String,
    key: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Client {
    /// A client of `server` (e.g. `https://act.example.com`) presenting `api_key`.
    pub fn new(server: &str, api_key: &str) -> Result<Client, String> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("`{server}` is not an http:// or https:// URL"));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let http = http_client(Duration::from_secs(120))?;
        Ok(Client {
            base,
            key: api_key.to_string(),
            rt,
            http,
        })
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.call(reqwest::Method::DELETE, path, None)
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.key);
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        self.rt.block_on(async {
            let resp = req
                .send()
                .await
                .map_err(|e| ClientError::Unreachable(format!("cannot reach {}: {}", self.base, describe(&e))))?;
            let status = resp.status().as_u16();
            let mut bytes = Vec::new();
            let mut resp = resp;
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| ClientError::Unreachable(format!("{url}: {}", describe(&e))))?
            {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_ANSWER {
                    return Err(ClientError::Unreachable(format!("{url}: the answer is too large")));
                }
            }
            let v: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|_| {
                    ClientError::Unreachable(format!(
                        "{url} answered {status} with something that is not JSON: is this an ACT server?"
                    ))
                })?
            };
            if (200..300).contains(&status) {
                return Ok(v);
            }
            Err(ClientError::Refused {
                status,
                code: v["error"].as_str().unwrap_or("unknown").to_string(),
                message: v["message"].as_str().unwrap_or("(no message)").to_string(),
                body: v,
            })
        })
    }
}

/// A reqwest client over rustls (ring, the platform's trust store), no redirects, with `timeout`
/// per request (also what webhooks are delivered with).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let tls = rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier(tls)
        .map_err(|e| format!("TLS setup: cannot load the platform trust store: {e}"))?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .user_agent(concat!("act-server/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}
