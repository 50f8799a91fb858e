//! # act-core
//!
//! The ACT engine: verifies signed capability tokens and decides, in-process
//! and without network I/O, whether an AI agent's action is allowed, denied
//! (with a stable [`Reason`]), or needs a human's approval.
//!
//! ```
//! use act_core::{Engine, IssueRequest, Outcome, Reason, Request, SigningKey};
//! use serde_json::json;
//!
//! let policy = r#"
//! agent: customer-support-bot
//! policy:
//!   actions: [read_order, process_refund]
//!   resources: ["order://customer:{{authenticated_user_id}}/*"]
//!   constraints:
//!     refunds:
//!       maxAmount: 500
//!       maxPerDay: 5
//!       requireSecondApproval: amount > 100
//! "#;
//! let act = Engine::builder()
//!     .policies(act_core::policy::parse_source("policies.yaml", policy)?)
//!     .signing_key(SigningKey::generate()?)
//!     .build()?;
//! let token = act.issue_token(&IssueRequest {
//!     agent: "customer-support-bot".into(),
//!     user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
//!     ..Default::default()
//! })?;
//! let ctx = json!({"amount": 120}).as_object().unwrap().clone();
//! let req = Request { token: &token, action: "process_refund",
//!                     resource: "order://customer:42/1001", context: &ctx, approval: None };
//! let d = act.validate(&req);
//! assert_eq!(d.outcome, Outcome::ApprovalRequired);
//!
//! // A human approves exactly this request; the approval works once.
//! let approval = act.approve(&d.approval_request.unwrap().id, "supervisor@example.com", 600)?;
//! let ok = act.validate(&Request { approval: Some(&approval), ..req });
//! assert_eq!(ok.reason, Reason::Approved);
//!
//! // Another customer's order is never covered.
//! let other = act.validate(&Request { resource: "order://customer:43/1", ..req });
//! assert_eq!(other.reason, Reason::ResourceNotAllowed);
//! # Ok::<(), act_core::Error>(())
//! ```
//!
//! Module map: [`token`] (JWS tokens and delegation), [`policy`] (the language),
//! [`engine`] (decisions), [`limits`] (rate-limit counters), [`approval`],
//! [`audit`] (hash-chained records), [`snapshot`] (a compiled version of the world).
//!
//! Libraries used for solved problems, and why: `ring` (audited Ed25519),
//! `cel` (the CEL language for conditions), `yaml-rust2` (YAML with positions,
//! for file:line:key errors), `chrono-tz` (time zones), `arc-swap` (snapshot
//! swaps that never block readers), `quick_cache` (the verified-token cache),
//! `crossbeam-queue` (the lock-free audit queue). Resource patterns are matched
//! by our own 100-line matcher because templates differ per token and a glob
//! library would compile a regex per token (see `policy::pattern`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Library code reports failures as `Error`s or denials; a panic here would cross FFI or kill a host.
// Tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod json;
pub mod keys;
pub mod reason;
pub mod token;

pub use error::{Diagnostic, Error, ErrorFamily, PolicyError, Result};
pub use keys::{SigningKey, VerifyingKey};
pub use reason::Reason;
pub mod alerts;
pub mod approval;
pub mod audit;
pub mod breaker;
#[cfg(feature = "http")]
pub mod client;
pub mod clock;
pub mod decision;
pub mod engine;
pub mod limits;
pub mod policy;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod replay;
pub mod snapshot;
pub mod sync;

pub use approval::ApprovalRequest;
pub use clock::{Clock, ManualClock, SystemClock};
pub use decision::{Decision, Outcome, TraceStep};
pub use engine::{Engine, EngineBuilder, EngineOptions, IssueRequest, Request};
pub use snapshot::Snapshot;
