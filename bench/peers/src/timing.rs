//! A small timing harness: per-call medians and p99 from many short batches.
//!
//! Criterion reports means and confidence intervals; the report needs p99 and
//! one JSON file for every contender, so samples are taken here directly.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Per-call latency summary in nanoseconds.
pub struct Stats {
    pub median_ns: f64,
    pub p99_ns: f64,
    pub batch: usize,
    pub samples: usize,
}

impl Stats {
    pub fn json(&self) -> Value {
        json!({"median_ns": self.median_ns, "p99_ns": self.p99_ns, "batch": self.batch, "samples": self.samples})
    }
}

/// Times `f` for about `budget` seconds. Fast calls are timed in batches so the
/// clock read does not dominate; `batch` says how many calls one sample covers.
pub fn measure(budget: f64, mut f: impl FnMut()) -> Stats {
    // Warm up and size the batch: aim for samples of about 2 µs.
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_millis(100) {
        f();
        calls += 1;
    }
    let per_call = start.elapsed().as_nanos() as f64 / calls as f64;
    let batch = ((2000.0 / per_call).ceil() as usize).clamp(1, 1000);
    let mut samples = Vec::new();
    let end = Instant::now() + Duration::from_secs_f64(budget);
    while Instant::now() < end && samples.len() < 2_000_000 {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    Stats {
        median_ns: at(0.5),
        p99_ns: at(0.99),
        batch,
        samples: samples.len(),
    }
}

pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({"cpu": cpu, "cores": cores, "loadavg_at_start": load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")})
}
