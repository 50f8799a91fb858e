//! Snapshot swaps are compare-and-swap in core: however reloads, the file watcher and endpoint
//! sync race, an older version never replaces a newer one that already served.

use act_core::policy::PolicySet;
use act_core::snapshot::Snapshot;
use act_core::Engine;
use std::sync::{Arc, Barrier};

const THREADS: u64 = 4;
const PER_THREAD: u64 = 8;
const ROUNDS: usize = 2_000;

#[test]
fn racing_swaps_always_end_on_the_newest_version_and_never_go_back() {
    let newest = 1 + THREADS * PER_THREAD;
    let mut lost = Vec::new();
    for round in 0..ROUNDS {
        let engine = Arc::new(Engine::builder().version(1).build().unwrap());
        let barrier = Arc::new(Barrier::new(THREADS as usize));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                // Thread t swaps versions t+2, t+2+THREADS, ...: every version is offered once.
                let snaps: Vec<Snapshot> = (0..PER_THREAD)
                    .map(|i| Snapshot::compile(PolicySet::default(), 2 + t + i * THREADS, 0, &[]).unwrap())
                    .collect();
                let (engine, barrier) = (engine.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for s in snaps {
                        let _ = engine.swap_snapshot(s);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let v = engine.snapshot().version;
        if v != newest {
            lost.push((round, v));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {ROUNDS} rounds ended on an older version than {newest} (round, version): {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
}

#[test]
fn a_refused_swap_says_which_version_serves() {
    let engine = Engine::builder().version(6).build().unwrap();
    let older = Snapshot::compile(PolicySet::default(), 5, 0, &[]).unwrap();
    let e = engine.swap_snapshot(older).unwrap_err().to_string();
    assert!(e.contains("version 5") && e.contains("serving version 6"), "{e}");
    assert_eq!(engine.snapshot().version, 6);
}

#[test]
fn concurrent_reloads_all_land_without_a_lock_in_the_host() {
    // What the bindings' reload locks used to serialise: every reload now lands, each as a new version.
    for _ in 0..200 {
        let engine = Arc::new(Engine::builder().version(1).build().unwrap());
        let barrier = Arc::new(Barrier::new(THREADS as usize));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (engine, barrier) = (engine.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..PER_THREAD)
                        .filter_map(|_| engine.reload(PolicySet::default()).err())
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let errors: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        assert!(errors.is_empty(), "reloads failed: {errors:?}");
        assert_eq!(engine.snapshot().version, 1 + THREADS * PER_THREAD);
    }
}
