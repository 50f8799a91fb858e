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
