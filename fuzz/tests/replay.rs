//! The fuzz targets on stable Rust: every seed built from `tests/vectors/`, every committed
//! regression in `fuzz/regressions/<target>/`, and random mutations of them, through the same
//! bodies `cargo fuzz` runs. `ACT_FUZZ_MUTATIONS` sets the mutations per target (default 3000; 500 for delegation),
//! `ACT_FUZZ_SEED` the generator's seed (default: time-based, printed so a failure can be replayed).

use act_fuzz::{mutate, seeds, Rng};
use std::path::Path;

type Body = fn(&[u8]);

fn body(target: &str) -> Body {
    match target {
        "token" => act_fuzz::token,
        "policy" => act_fuzz::policy,
        "snapshot" => act_fuzz::snapshot,
        "delegation" => act_fuzz::delegation,
        "matching" => act_fuzz::matching,
        _ => unreachable!("unknown target {target}"),
    }
}

fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn replay(target: &str) {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let corpus = seeds::build(&vectors).expect("the vectors build a corpus");
    let seeds = &corpus[target];
    assert!(seeds.len() >= 5, "{target}: only {} seeds", seeds.len());
    let run = body(target);
    for (i, s) in seeds.iter().enumerate() {
        let r = std::panic::catch_unwind(|| run(s));
        assert!(r.is_ok(), "{target}: seed {i} failed: {:?}", String::from_utf8_lossy(s));
    }
    let regs = regressions(target);
    for (name, input) in &regs {
        let r = std::panic::catch_unwind(|| run(input));
        assert!(r.is_ok(), "{target}: regression {name} failed again");
    }
    let n: usize = std::env::var("ACT_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        // A delegation input signs and verifies a dozen links (Ed25519 in a debug build): fewer.
        .unwrap_or(if target == "delegation" { 500 } else { 3000 });
    let seed: u64 = std::env::var("ACT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut rng = Rng::new(seed);
    let mut input = seeds[0].clone();
    for i in 0..n {
        // Mostly mutate a fresh seed; sometimes keep mutating the last input (deeper changes).
        if rng.below(3) > 0 {
            input = seeds[rng.below(seeds.len())].clone();
        }
        let other = &seeds[rng.below(seeds.len())];
        input = mutate(&mut rng, &input, other);
        let r = std::panic::catch_unwind(|| run(&input));
        assert!(
            r.is_ok(),
            "{target}: mutation {i} failed (ACT_FUZZ_SEED={seed}); input (save it under fuzz/regressions/{target}/): {:?}",
            String::from_utf8_lossy(&input)
        );
    }
    println!(
        "{target}: {} seeds, {} regressions, {n} mutations (ACT_FUZZ_SEED={seed})",
        seeds.len(),
        regs.len()
    );
}

#[test]
fn token() {
    replay("token");
}

#[test]
fn policy() {
    replay("policy");
}

#[test]
fn snapshot() {
    replay("snapshot");
}

#[test]
fn delegation() {
    replay("delegation");
}

#[test]
fn matching() {
    replay("matching");
}
