//! Error answers: `{"error": code, "message": sentence}` with a status, and body parsing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A ready-to-send error answer.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": code, "message": message.into()}))).into_response()
}

/// Parses a JSON body, answering `400 bad_request` with serde's message on failure.
#[expect(
    clippy::result_large_err,
    reason = "a ready-to-send `Response` is the natural error of a handler helper; boxing it buys nothing"
)]
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid JSON body: {e}"),
        )
    })
}

/// Longest free-text `reason` accepted, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// A required, bounded, non-blank `reason` (who decided or revoked must say why).
#[expect(clippy::result_large_err, reason = "see `parse`")]
pub fn reason(r: Option<String>) -> Result<String, Response> {
    match r {
        Some(r) if !r.trim().is_empty() && r.chars().count() <= MAX_REASON_CHARS => Ok(r),
        Some(r) if !r.trim().is_empty() => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("`reason` is longer than {MAX_REASON_CHARS} characters"),
        )),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`reason` is required: say why (it is recorded with your identity)",
        )),
    }
}
