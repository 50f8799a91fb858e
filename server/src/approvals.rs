//! Approval requests and their decisions (protocol: approvals), served from memory and stored in
//! the database ([`crate::store`]).
//!
//! A request is stored only after its id is recomputed from its fields
//! (`act_core::approval::verify_request`) and, when it carries the argument `context` the
//! approver is shown, after that context hashes to its `context_hash`: the approver sees exactly
//! the values the approval will be bound to. Requests expire, are decided once, and record who
//! asked, who decided, when and why. Every change is written to the database before it is kept in
//! memory; a decision only if the stored request is still pending (another replica may have
//! decided it).

use act_core::approval::{verify_request, ApprovalRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most requests kept; beyond it the oldest decided or expired ones are forgotten, and when all
/// are pending a new request is refused (an agent key cannot exhaust the server's memory).
pub const MAX_ENTRIES: usize = 50_000;

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for an approver.
    Pending,
    /// Approved; the entry carries the approval token.
    Granted,
    /// Refused.
    Denied,
    /// Nobody decided in time.
    Expired,
}

/// The body of `POST /v1/approvals`: the decision's `approval_request` as core serialises it,
/// including `context`, the (redacted) argument values the approver is shown, which must hash to
/// `context_hash` (checked by `verify_request`).
#[derive(Clone, Debug, Deserialize)]
pub struct RequestBody {
    /// The request as core serialises it.
    #[serde(flatten)]
    pub request: ApprovalRequest,
}

/// A stored request and its decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The request's members, `context` (the values the approver is shown) included.
    #[serde(flatten)]
    pub request: ApprovalRequest,
    /// Where it stands.
    pub status: Status,
    /// The identity of the agent credential that asked.
    pub requested_by: String,
    /// When it was asked, ms.
    pub created_at_ms: i64,
    /// When it expires unless decided, ms.
    pub expires_at_ms: i64,
    /// The approver's identity, from their credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When it was decided, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<i64>,
    /// Why, as the approver wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The approval token (granted only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

/// Why a request was not stored or decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The id or context hash does not match the fields (`422 approval_request_mismatch`).
    Mismatch(String),
    /// Too many pending requests (`429 too_many_approvals`).
    Full,
    /// No such id (`404 not_found`).
    NotFound,
    /// Decided already (`409 already_decided`).
    Decided(Status),
    /// The approver asked for it, or is its subject (`403 self_approval`).
    SelfApproval,
}

/// Every request, by id.
#[derive(Default)]
pub struct Approvals {
    by_id: BTreeMap<String, Entry>,
}

impl Approvals {
    /// Checks a request and prepares its entry without storing it: `Ok((true, entry))` when new
    /// (store it, then [`Approvals::put`] it), `Ok((false, existing))` for an id already asked (an
    /// expired one is asked afresh).
    pub fn prepare(&mut self, body: RequestBody, by: &str, now_ms: i64, ttl_ms: i64) -> Result<(bool, Entry), Refusal> {
        verify_request(&body.request).map_err(|e| Refusal::Mismatch(e.to_string()))?;
        if let Some(e) = self.get(&body.request.id, now_ms) {
            if e.status != Status::Expired {
                return Ok((false, e));
            }
        }
        self.expire(now_ms);
        if self.by_id.len() >= MAX_ENTRIES && self.by_id.values().all(|e| e.status == Status::Pending) {
            return Err(Refusal::Full);
        }
        let entry = Entry {
            request: body.request,
            status: Status::Pending,
            requested_by: by.to_string(),
            created_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(ttl_ms),
            decided_by: None,
            decided_at_ms: None,
            reason: None,
            approval: None,
        };
        Ok((true, entry))
    }

    /// Keeps an entry (new or changed), forgetting the oldest decided one when full.
    pub fn put(&mut self, entry: Entry) {
        if !self.by_id.contains_key(&entry.request.id) && self.by_id.len() >= MAX_ENTRIES {
            let oldest = self
                .by_id
                .values()
                .filter(|e| e.status != Status::Pending)
                .min_by_key(|e| e.decided_at_ms.unwrap_or(e.expires_at_ms))
                .map(|e| e.request.id.clone());
            if let Some(id) = oldest {
                self.by_id.remove(&id);
            }
        }
        self.by_id.insert(entry.request.id.clone(), entry);
    }

    fn expire(&mut self, now_ms: i64) {
        for e in self.by_id.values_mut() {
            if e.status == Status::Pending && now_ms >= e.expires_at_ms {
                e.status = Status::Expired;
            }
        }
    }

    /// The entry, with its expiry applied.
    pub fn get(&mut self, id: &str, now_ms: i64) -> Option<Entry> {
        let e = self.by_id.get_mut(id)?;
        if e.status == Status::Pending && now_ms >= e.expires_at_ms {
            e.status = Status::Expired;
        }
        Some(e.clone())
    }

    /// Every entry (optionally of one status), oldest first.
    pub fn list(&mut self, status: Option<Status>, now_ms: i64) -> Vec<Entry> {
        self.expire(now_ms);
        let mut v: Vec<Entry> = self
            .by_id
            .values()
            .filter(|e| status.is_none_or(|s| s == e.status))
            .cloned()
            .collect();
        v.sort_by_key(|e| e.created_at_ms);
        v
    }

    /// The newest `limit` entries that `keep` admits, newest first (by decision time, else by
    /// creation time); only those are copied (the
    /// console's decided list searches up to [`MAX_ENTRIES`] without cloning them all).
    pub fn newest(&mut self, now_ms: i64, limit: usize, keep: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        self.expire(now_ms);
        let mut found: Vec<&Entry> = self.by_id.values().filter(|e| keep(e)).collect();
        found.sort_by_key(|e| std::cmp::Reverse(e.decided_at_ms.unwrap_or(e.created_at_ms)));
        found.into_iter().take(limit).cloned().collect()
    }

    /// Whether `approver` may decide `id` now (pending, not theirs).
    pub fn check_decidable(&mut self, id: &str, approver: &str, now_ms: i64) -> Result<(), Refusal> {
        let e = self.get(id, now_ms).ok_or(Refusal::NotFound)?;
        if e.status != Status::Pending {
            return Err(Refusal::Decided(e.status));
        }
        if e.requested_by == approver || e.request.subject == approver {
            return Err(Refusal::SelfApproval);
        }
        Ok(())
    }

    /// The entry as decided (checked with [`Approvals::check_decidable`]), not yet kept: store it,
    /// then [`Approvals::put`] it.
    pub fn decided(&self, id: &str, by: &str, reason: String, approval: Option<String>, now_ms: i64) -> Option<Entry> {
        let mut e = self.by_id.get(id)?.clone();
        e.status = if approval.is_some() {
            Status::Granted
        } else {
            Status::Denied
        };
        e.decided_by = Some(by.to_string());
        e.decided_at_ms = Some(now_ms);
        e.reason = Some(reason);
        e.approval = approval;
        Some(e)
    }
}
