//! Builds the seed corpus from the conformance vectors:
//! `cargo run --example seed_corpus -- <tests/vectors> <corpus dir>` (scripts/fuzz-smoke.sh runs it).
fn main() {
    let mut args = std::env::args().skip(1);
    let vectors = args.next().unwrap_or_else(|| "../tests/vectors".into());
    let dir = args.next().unwrap_or_else(|| "corpus".into());
    match act_fuzz::seeds::write(vectors.as_ref(), dir.as_ref()) {
        Ok(n) => println!("wrote {n} seeds from {vectors} to {dir}"),
        Err(e) => {
            eprintln!("seed_corpus: {e}");
            std::process::exit(1);
        }
    }
}
