//! ACT against its peers on the article's customer-support decision, plus scaling.
//!
//! Every contender answers the same question — may `customer-support-bot`,
//! acting for user 42, `process_refund` $80 on `order://customer:42/1001`? —
//! in the way its users would ask it. Peers lack parts of ACT's policy (Cedar
//! and Rego have no rolling limits or approvals, casbin has no amounts,
//! jsonwebtoken only verifies the token), so each does *less* work than ACT.
//! Prints one JSON document; `scripts/bench_report.py` turns it into BENCHMARKS.md.
//!
//! Run: `cargo run --release --manifest-path bench/peers/Cargo.toml > target/bench-rust.json`

mod peers;
mod scaling;
mod timing;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = if quick { 0.3 } else { 1.5 };
    let mut out = serde_json::Map::new();
    out.insert("machine".into(), timing::machine());
    out.insert("latency".into(), peers::run(budget));
    out.insert("scaling".into(), scaling::run(budget));
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::Value::Object(out)).unwrap()
    );
}
