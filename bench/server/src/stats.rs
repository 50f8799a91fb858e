//! Percentiles of a sample (nearest rank), as JSON for the report.

use serde_json::{json, Value};

pub type Summary = Value;

/// `{n, p50, p99, max, mean}` of `xs` (sorted in place); nulls when empty.
pub fn summary(xs: &mut [f64]) -> Summary {
    if xs.is_empty() {
        return json!({"n": 0, "p50": null, "p99": null, "max": null, "mean": null});
    }
    xs.sort_by(f64::total_cmp);
    let rank = |p: f64| xs[((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1];
    json!({
        "n": xs.len(),
        "p50": rank(0.50),
        "p99": rank(0.99),
        "max": xs[xs.len() - 1],
        "mean": xs.iter().sum::<f64>() / xs.len() as f64,
    })
}
