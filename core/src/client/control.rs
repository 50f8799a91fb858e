//! The SDK side of the control plane (protocol: `docs/protocol.md` §4, §5, §6b): tokens,
//! approvals and fleet status over HTTP, on the transport of `sync` (one current-thread
//! runtime and `reqwest` client, every request cancelled at once by `close`).
//!
//! Every request carries `X-Act-Instance` and `User-Agent: act-sdk/<lang>/<version>`. Answers
//! are capped at 64 KiB; any non-2xx answer becomes [`Error::Endpoint`] with the endpoint's
//! stable code and message.

use super::status::ClientStatus;
use crate::approval::ApprovalRequest;
use crate::engine::IssueRequest;
use crate::error::{Error, Result};
use crate::sync::client::{describe, read_capped, Http, Timeouts};
use crate::sync::Stop;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest answer read from the control plane (its entries and tokens are small).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest single long poll the server honours (`?wait=` is capped at 60 s).
const MAX_WAIT_SECS: u64 = 60;

/// A pending (or already decided) approval request at the endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalHandle {
    /// The request id (binds token, agent, subject, action, resource and context).
    pub id: String,
    /// `pending`, `granted`, `denied` or `expired`, as the endpoint answered.
    pub status: String,
    /// When the request expires undecided, ms since the epoch.
    pub expires_at_ms: Option<i64>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    status: String,
    #[serde(default)]
    expires_at_ms: Option<i64>,
    #[serde(default)]
    decided_by: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    approval: Option<String>,
}

pub(crate) struct ControlPlane {
    base: String,
    api_key: Option<String>,
    issuer_api_key: Option<String>,
    instance_id: String,
    user_agent: String,
    http: Http,
    stop: Arc<Stop>,
}

impl ControlPlane {
    pub(crate) fn new(
        base: &str,
        api_key: Option<String>,
        issuer_api_key: Option<String>,
        instance_id: String,
        user_agent: String,
    ) -> Result<Self> {
        let http = Http::new(&Timeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(MAX_WAIT_SECS + 10),
        })?;
        Ok(ControlPlane {
            base: base.trim_end_matches('/').to_string(),
            api_key,
            issuer_api_key,
            instance_id,
            user_agent,
            http,
            stop: Stop::new(),
        })
    }

    /// Cancels every request in flight and refuses new ones.
    pub(crate) fn stop(&self) {
        self.stop.stop();
    }

    /// One request; `Ok((status, body))` for a 2xx answer, `Err(Error::Endpoint)` otherwise.
    fn call(
        &self,
        method: &'static str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let fail = |status: Option<u16>, code: &str, message: String, source: Option<reqwest::Error>| Error::Endpoint {
            method,
            url: url.clone(),
            status,
            code: code.into(),
            message,
            source: source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
        };
        if self.stop.is_stopped() {
            return Err(fail(None, "closed", "this ACT instance was closed".into(), None));
        }
        let mut req = match method {
            "GET" => self.http.client.get(&url),
            _ => self.http.client.post(&url),
        }
        .timeout(timeout)
        .header("X-Act-Instance", self.instance_id.as_str())
        .header(reqwest::header::USER_AGENT, self.user_agent.as_str());
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let answer = self.http.run(&self.stop, async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            Ok::<_, reqwest::Error>((status, read_capped(resp, MAX_ANSWER_BYTES).await))
        });
        match answer {
            None => Err(fail(
                None,
                "closed",
                "cancelled: this ACT instance was closed".into(),
                None,
            )),
            Some(Err(e)) => Err(fail(None, "unreachable", describe(&e), Some(e))),
            Some(Ok((_, Err(m)))) => Err(fail(None, "bad_answer", m, None)),
            Some(Ok((status, Ok(body)))) if (200..300).contains(&status) => Ok((status, body)),
            Some(Ok((status, Ok(body)))) => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let code = v["error"].as_str().unwrap_or("http_error").to_string();
                let message = v["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
                Err(fail(Some(status), &code, message, None))
            }
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, path: &str, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| Error::Endpoint {
            method: "GET",
            url: format!("{}{path}", self.base),
            status: None,
            code: "bad_answer".into(),
            message: format!("the answer is not what the protocol says: {e}"),
            source: Some(Box::new(e)),
        })
    }

    /// `POST /v1/status` with the client's status.
    pub(crate) fn post_status(&self, status: &ClientStatus) -> Result<()> {
        let body = status.to_json();
        self.call(
            "POST",
            "/v1/status",
            self.api_key.as_deref(),
            Some(&body),
            Duration::from_secs(10),
        )
        .map(|_| ())
    }

    /// `POST /v1/approvals` with the decision's request (context included, so the approver sees
    /// the argument values that were hashed).
    pub(crate) fn request_approval(&self, request: &ApprovalRequest) -> Result<ApprovalHandle> {
        let body = serde_json::to_value(request).map_err(|e| Error::Internal(format!("approval request: {e}")))?;
        let (_, answer) = self.call(
            "POST",
            "/v1/approvals",
            self.api_key.as_deref(),
            Some(&body),
            Duration::from_secs(15),
        )?;
        let entry: Entry = self.parse("/v1/approvals", &answer)?;
        Ok(ApprovalHandle {
            id: entry.id,
            status: entry.status,
            expires_at_ms: entry.expires_at_ms,
        })
    }

    /// Long-polls `GET /v1/approvals/{id}?wait=S` until the request is decided or `timeout` passes.
    /// Granted: the approval (pass it to `validate(approval=...)`). Denied or expired:
    /// [`Error::ApprovalDenied`] with the approver's reason. Still pending: [`Error::ApprovalTimeout`].
    pub(crate) fn wait_for_approval(&self, id: &str, timeout: Duration) -> Result<String> {
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Error::Config(
                "the approval id must be the base64url id of a request".into(),
            ));
        }
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.as_secs().min(MAX_WAIT_SECS);
            let path = format!("/v1/approvals/{id}?wait={wait}");
            let (_, body) = self.call(
                "GET",
                &path,
                self.api_key.as_deref(),
                None,
                Duration::from_secs(wait + 15),
            )?;
            let entry: Entry = self.parse(&path, &body)?;
            match entry.status.as_str() {
                "granted" => {
                    return entry.approval.ok_or_else(|| Error::Endpoint {
                        method: "GET",
                        url: format!("{}{path}", self.base),
                        status: None,
                        code: "bad_answer".into(),
                        message: "a granted approval without `approval`".into(),
                        source: None,
                    })
                }
                "denied" | "expired" => {
                    return Err(Error::ApprovalDenied {
                        id: entry.id,
                        reason: entry.reason.unwrap_or_else(|| {
                            if entry.status == "expired" {
                                "no one decided before the request expired".into()
                            } else {
                                "no reason given".into()
                            }
                        }),
                        status: entry.status,
                        decided_by: entry.decided_by,
                    })
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(Error::ApprovalTimeout {
                    id: id.to_string(),
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            if wait == 0 {
                // Under a second left and the server answered at once: do not spin.
                if self.stop.sleep(left) {
                    continue;
                }
            }
        }
    }

    /// `POST /v1/tokens` with the issuer credential.
    pub(crate) fn issue_token(&self, req: &IssueRequest) -> Result<String> {
        let Some(key) = self.issuer_api_key.as_deref() else {
            return Err(Error::Config(format!(
                "issue_token in endpoint mode mints through POST /v1/tokens and needs issuer_api_key= (or {}): \
                 `act serve` prints it as `issuer key: ...`",
                super::options::ENV_ISSUER_API_KEY
            )));
        };
        let mut body = json!({
            "agent": req.agent,
            "user_context": req.user_context,
            "agent_context": req.agent_context,
            "policy": req.policy,
        });
        if req.ttl_secs > 0 {
            body["ttl"] = json!(req.ttl_secs);
        }
        if req.holder_key.is_some() {
            return Err(Error::Config(
                "holder_key is not supported through the endpoint (POST /v1/tokens has no holder key)".into(),
            ));
        }
        #[derive(Deserialize)]
        struct Minted {
            token: String,
        }
        let (_, answer) = self.call("POST", "/v1/tokens", Some(key), Some(&body), Duration::from_secs(15))?;
        Ok(self.parse::<Minted>("/v1/tokens", &answer)?.token)
    }
}
