//! # act-core
//!
//! The ACT engine: verifies signed capability tokens and decides, in-process
//! and without network I/O, whether an AI agent's action is allowed, denied
//! (with a stable [`Reason`]), or needs a human's approval.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod json;
pub mod keys;
pub mod reason;
pub mod token;

pub use error::{Diagnostic, Error, ErrorFamily, PolicyError, Result};
pub use keys::{SigningKey, VerifyingKey};
pub use reason::Reason;
pub mod policy;
pub mod approval;
pub mod audit;
pub mod breaker;
pub mod clock;
pub mod decision;
pub mod engine;
pub mod limits;
pub mod snapshot;
pub mod sync;

pub use approval::ApprovalRequest;
pub use clock::{Clock, ManualClock, SystemClock};
pub use decision::{Decision, Outcome, TraceStep};
pub use engine::{Engine, EngineBuilder, EngineOptions, IssueRequest, Request};
pub use snapshot::Snapshot;
