//! The client's calls that may wait (on a file, the network, a human or the audit thread) as
//! values, for hosts that run them off their event loop on a worker pool and hand one kind of
//! result back (a Node `AsyncTask`, a future on a thread pool): one dispatcher for all of them,
//! so a binding does not keep its own list of what each call does and returns.

use super::Client;
use crate::approval::ApprovalRequest;
use crate::engine::IssueRequest;
use crate::error::Result;
use serde_json::{json, Value};
use std::time::Duration;

/// A waiting call of [`Client`], with its arguments.
#[derive(Debug)]
pub enum Job {
    /// [`Client::reload`]; the result is the new version.
    Reload,
    /// Waits until every audit record so far reached its sinks; the result is `null`.
    FlushAudit,
    /// [`Client::ready`]; the result is the version serving then (0: none yet).
    Ready(Duration),
    /// [`Client::close`]; the result is `null`.
    Close,
    /// [`Client::issue_token`] (through the endpoint when [`Client::issues_remotely`]); the token.
    IssueToken(IssueRequest),
    /// [`Client::submit_approval_request`]; `{id, status, expires_at_ms}`.
    RequestApproval(Box<ApprovalRequest>),
    /// [`Client::wait_for_approval`] on the id; the approval (a denial or timeout is an error).
    WaitForApproval(String, Duration),
    /// [`Client::wait_audit_delivered`]; true once shipped records were all delivered.
    WaitAuditDelivered(Duration),
}

impl Client {
    /// Runs `job` (blocking: call it off the host's event loop). Results are JSON values with
    /// the core's snake_case names.
    pub fn run(&self, job: &Job) -> Result<Value> {
        Ok(match job {
            Job::Reload => json!(self.reload()?),
            Job::FlushAudit => {
                self.engine()?.flush_audit();
                Value::Null
            }
            Job::Ready(timeout) => {
                let engine = self.engine()?;
                self.ready(*timeout);
                json!(engine.snapshot().version)
            }
            Job::Close => {
                self.close();
                Value::Null
            }
            Job::IssueToken(req) => json!(self.issue_token(req)?),
            Job::RequestApproval(req) => {
                let h = self.submit_approval_request(req)?;
                json!({"id": h.id, "status": h.status, "expires_at_ms": h.expires_at_ms})
            }
            Job::WaitForApproval(id, timeout) => json!(self.wait_for_approval(id, *timeout)?),
            Job::WaitAuditDelivered(timeout) => json!(self.wait_audit_delivered(*timeout)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientOptions, PolicySource};

    #[test]
    fn every_job_runs_on_an_embedded_client() {
        let text = "agent: bot\npolicy:\n  actions: [read]\n  resources: [\"doc://*\"]\n";
        let mut o = ClientOptions::new(PolicySource::Text {
            name: "i.yaml".into(),
            text: text.into(),
        });
        o.signing_key = Some(crate::SigningKey::generate().unwrap());
        let c = Client::start(o).unwrap();
        assert_eq!(c.run(&Job::Ready(Duration::ZERO)).unwrap(), json!(1));
        assert_eq!(c.run(&Job::Reload).unwrap(), json!(2));
        assert_eq!(c.run(&Job::FlushAudit).unwrap(), Value::Null);
        assert_eq!(c.run(&Job::WaitAuditDelivered(Duration::ZERO)).unwrap(), json!(true));
        let req = IssueRequest {
            agent: "bot".into(),
            user_context: json!({"user_id": "7"}).as_object().unwrap().clone(),
            agent_context: Default::default(),
            policy: None,
            ttl_secs: 0,
            holder_key: None,
        };
        assert!(c.run(&Job::IssueToken(req)).unwrap().as_str().unwrap().contains('.'));
        let wait = c.run(&Job::WaitForApproval("x".into(), Duration::ZERO)).unwrap_err();
        assert!(wait.to_string().contains("construct ACT with endpoint="), "{wait}");
        assert_eq!(c.run(&Job::Close).unwrap(), Value::Null);
        assert!(c.run(&Job::Ready(Duration::ZERO)).is_err(), "closed");
    }
}
