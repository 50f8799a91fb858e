//! Validate latency with and without snapshot swaps ten times per second.
//!
//! Prints p50/p99/p99.9 of single `validate` calls (timed one by one) for both
//! cases, then runs the criterion benchmarks for the means. Reports only: no
//! timing is asserted. Run: `cargo bench -p act-core --bench swap`.
//!
//! Allowed decisions are not audited here (`logAllActions: false`), so the
//! numbers isolate the decision path from the audit writer thread, which on a
//! small machine competes for the same cores.

use act_core::policy::parse_source;
use act_core::snapshot::Snapshot;
use act_core::{Engine, IssueRequest, Request, SigningKey};
use criterion::{criterion_group, Criterion};
use serde_json::{json, Map, Value};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLICY: &str = "\
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: [\"order://customer:{{authenticated_user_id}}/*\"]
  constraints:
    process_refund:
      maxAmount: 500
  audit:
    logAllActions: false
";

struct Fixture {
    engine: Arc<Engine>,
    token: String,
    context: Map<String, Value>,
}

fn fixture() -> Fixture {
    let key = SigningKey::generate().unwrap();
    let engine = Arc::new(
        Engine::builder()
            .policies(parse_source("p.yaml", POLICY).unwrap())
            .signing_key(key)
            .build()
            .unwrap(),
    );
    let token = engine
        .issue_token(&IssueRequest {
            agent: "customer-support-bot".into(),
            user_context: [("user_id".to_string(), "42".into())].into_iter().collect(),
            ..Default::default()
        })
        .unwrap();
    let context = json!({"amount": 120}).as_object().unwrap().clone();
    Fixture { engine, token, context }
}

fn validate(f: &Fixture) -> bool {
    let req = Request {
        token: &f.token,
        action: "process_refund",
        resource: "order://customer:42/1001",
        context: &f.context,
        approval: None,
    };
    f.engine.validate(black_box(&req)).allowed()
}

/// Swaps a freshly compiled snapshot in every `period` until dropped.
struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Swapper {
    fn start(engine: Arc<Engine>, period: Duration) -> Swapper {
        let (stop, swaps) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (s, n) = (stop.clone(), swaps.clone());
        let set = parse_source("p.yaml", POLICY).unwrap();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(period);
                let current = engine.snapshot();
                let next =
                    Snapshot::compile(set.clone(), current.version + 1, engine.now_ms(), engine.local_keys()).unwrap();
                engine.swap_snapshot(next).unwrap();
                n.fetch_add(1, Ordering::Relaxed);
            }
        });
        Swapper {
            stop,
            swaps,
            thread: Some(thread),
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn percentiles(label: &str, f: &Fixture, duration: Duration) {
    let mut samples = Vec::with_capacity(1 << 20);
    let started = Instant::now();
    while started.elapsed() < duration {
        for _ in 0..1000 {
            let t = Instant::now();
            black_box(validate(f));
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    f.engine.flush_audit();
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{label:<28} n={:>8}  p50={:>6} ns  p99={:>6} ns  p99.9={:>7} ns",
        samples.len(),
        at(0.50),
        at(0.99),
        at(0.999)
    );
}

fn report_percentiles() {
    let f = fixture();
    for _ in 0..10_000 {
        validate(&f); // warm the token cache and the allocator
    }
    let d = Duration::from_secs(2);
    percentiles("validate, no swaps", &f, d);
    let swapper = Swapper::start(f.engine.clone(), Duration::from_millis(100));
    percentiles("validate, 10 swaps/s", &f, d);
    let swaps = swapper.swaps.load(Ordering::Relaxed);
    drop(swapper);
    println!("({swaps} snapshot swaps during the second run)");
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    c.bench_function("validate/no_swaps", |b| b.iter(|| validate(&f)));
    let swapper = Swapper::start(f.engine.clone(), Duration::from_millis(100));
    c.bench_function("validate/10_swaps_per_sec", |b| b.iter(|| validate(&f)));
    drop(swapper);
    f.engine.flush_audit();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}

fn main() {
    report_percentiles();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}
