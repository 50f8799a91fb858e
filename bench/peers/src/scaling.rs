//! How ACT's cost grows: threads, policy count, compile time, memory, swaps.

use crate::peers::{context, engine, token, POLICY};
use crate::timing::measure;
use act_core::{policy::parse_source, Engine, Request, SigningKey, Snapshot};
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts live heap bytes so memory per token and per policy can be measured.
/// Counting is switched on only around those measurements: a shared counter
/// written on every allocation would itself serialize threads and spoil the
/// throughput numbers.
struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(l.size() as i64, Ordering::Relaxed);
        }
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(n as i64 - l.size() as i64, Ordering::Relaxed);
        }
        System.realloc(p, l, n)
    }
}

/// Bytes still allocated after `f`, of what `f` allocated (frees of older memory count too,
/// which is why callers measure in a quiet section).
fn retained<T>(f: impl FnOnce() -> T) -> (T, i64) {
    let before = LIVE.load(Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    (out, LIVE.load(Ordering::SeqCst) - before)
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `n` agents, each with the customer-support policy under its own name.
fn many_agents(n: usize) -> String {
    (0..n)
        .map(|i| POLICY.replace("customer-support-bot", &format!("agent-{i}")))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

fn engine_for(policies: &str) -> Engine {
    Engine::builder()
        .policies(parse_source("many.yaml", policies).unwrap())
        .signing_key(SigningKey::from_seed(&[7u8; 32]).unwrap())
        .build()
        .unwrap()
}

fn throughput(threads: usize, seconds: f64, enforce: bool) -> f64 {
    let e = Arc::new(engine(100_000));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (e, stop, done) = (e.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                // One user per thread: no shared counter key, as with real traffic.
                let tok = token(&e, &format!("u{t}"));
                let resource = format!("order://customer:u{t}/1");
                let ctx = context();
                let req = Request {
                    token: &tok,
                    action: "process_refund",
                    resource: &resource,
                    context: &ctx,
                    approval: None,
                };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        black_box(if enforce { e.validate(&req) } else { e.check(&req) });
                    }
                    n += 256;
                }
                done.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());
    done.load(Ordering::Relaxed) as f64 / seconds
}

pub fn run(budget: f64) -> Value {
    let mut out = serde_json::Map::new();
    let t1 = throughput(1, budget.max(0.5), true);
    let t2 = throughput(2, budget.max(0.5), true);
    out.insert(
        "throughput_validate_per_s".into(),
        json!({"threads_1": t1, "threads_2": t2, "ratio_2_to_1": t2 / t1}),
    );
    let c1 = throughput(1, budget.max(0.5), false);
    let c2 = throughput(2, budget.max(0.5), false);
    out.insert(
        "throughput_check_per_s".into(),
        json!({"threads_1": c1, "threads_2": c2, "ratio_2_to_1": c2 / c1}),
    );

    let mut sizes = serde_json::Map::new();
    for n in [10usize, 1000, 10_000] {
        let src = many_agents(n);
        let set = parse_source("many.yaml", &src).unwrap();
        let t = Instant::now();
        let snap = Snapshot::compile(set.clone(), 1, 0, &[]).unwrap();
        let compile_ms = t.elapsed().as_secs_f64() * 1000.0;
        drop(snap);
        let (snap, bytes) = retained(|| Snapshot::compile(set.clone(), 1, 0, &[]).unwrap());
        drop(snap);
        let e = engine_for(&src);
        let agent = format!("agent-{}", n / 2);
        let tok = e
            .issue_token(&act_core::IssueRequest {
                agent,
                user_context: json!({"user_id": "42"}).as_object().unwrap().clone(),
                ..Default::default()
            })
            .unwrap();
        let ctx = context();
        let req = Request {
            token: &tok,
            action: "process_refund",
            resource: "order://customer:42/1001",
            context: &ctx,
            approval: None,
        };
        assert!(e.check(&req).allowed());
        let lat = measure(budget, || drop(black_box(e.check(&req))));
        sizes.insert(
            n.to_string(),
            json!({"check": lat.json(), "compile_ms": compile_ms, "compiled_bytes_per_agent": bytes as f64 / n as f64}),
        );
    }
    out.insert("agents".into(), Value::Object(sizes));

    // Memory per cached token: validate 5 000 fresh tokens and count what stays.
    let e = engine(100_000);
    let toks: Vec<String> = (0..5000).map(|i| token(&e, &i.to_string())).collect();
    let ress: Vec<String> = (0..5000).map(|i| format!("order://customer:{i}/1")).collect();
    let ctx = context();
    let ((), bytes) = retained(|| {
        for (t, r) in toks.iter().zip(&ress) {
            black_box(e.check(&Request {
                token: t,
                action: "read_order",
                resource: r,
                context: &ctx,
                approval: None,
            }));
        }
    });
    out.insert("bytes_per_cached_token".into(), json!(bytes as f64 / 5000.0));

    // p99 while the snapshot is swapped ten times a second.
    let e = Arc::new(engine(100_000));
    let tok = token(&e, "42");
    let req_ctx = context();
    let quiet = measure(budget, || {
        drop(black_box(e.check(&Request {
            token: &tok,
            action: "process_refund",
            resource: "order://customer:42/1001",
            context: &req_ctx,
            approval: None,
        })))
    });
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (e, stop, swaps) = (e.clone(), stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let set = parse_source("policies.yaml", POLICY).unwrap();
            while !stop.load(Ordering::Relaxed) {
                e.reload(set.clone()).unwrap();
                swaps.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let swapping = measure(budget.max(1.0), || {
        drop(black_box(e.check(&Request {
            token: &tok,
            action: "process_refund",
            resource: "order://customer:42/1001",
            context: &req_ctx,
            approval: None,
        })))
    });
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    out.insert(
        "swaps".into(),
        json!({"quiet": quiet.json(), "swapping_10_per_s": swapping.json(), "swaps_done": swaps.load(Ordering::Relaxed)}),
    );
    Value::Object(out)
}
