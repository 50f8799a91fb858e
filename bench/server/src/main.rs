//! Control-plane benchmark: the built `act server` against floor peers, measured in one run.
//!
//! 1. Held long polls: N (default 5,000) SDK connections long-poll `GET /v1/snapshot` on loopback;
//!    the server's RSS before and after (`/proc/<pid>/status`) gives memory per held connection.
//! 2. Publish-to-all: a revocation posted through the admin API, timed until every one of the N
//!    polls has returned with the new version; p50/p99/max over several rounds.
//! 3. Audit ingest: records per second through `POST /v1/audit`, shipper-sized batches of valid
//!    chains, on SQLite, and on PostgreSQL when the `act` build has `--database-url`.
//!
//! Peers in the same run, so the numbers read as ratios: the floor (`floor.rs`, the least a
//! long-poll server on the same axum/hyper/tokio stack can do) and, when built, a Go net/http
//! floor (`go-floor/`, the stack Go control planes such as OPA's bundle servers use).
//! Prints one JSON document; `scripts/bench_report.py` adds it to BENCHMARKS.md.
//!
//! Run (from the repository root, after `cargo build --profile profiling -p act-cli`):
//! `cargo run --profile profiling --manifest-path bench/server/Cargo.toml -- [--act target/profiling/act]
//!  [--conns 5000] [--rounds 8] [--database-url postgres://...] [--go-floor PATH] > target/bench-server.json`
//! (`--database-url` may also come from `ACT_BENCH_DATABASE_URL`).

mod floor;
mod http;
mod ingest;
mod polls;
mod servers;
mod stats;

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

struct Args {
    act: PathBuf,
    policy: PathBuf,
    conns: usize,
    rounds: usize,
    database_url: Option<String>,
    go_floor: Option<PathBuf>,
    ingest_instances: usize,
    ingest_batches: usize,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse_args(raw: &[String]) -> Result<Args, String> {
    let mut a = Args {
        act: repo_root().join("target/profiling/act"),
        policy: repo_root().join("examples/customer_support/policies.yaml"),
        conns: 5000,
        rounds: 8,
        database_url: std::env::var("ACT_BENCH_DATABASE_URL").ok().filter(|s| !s.is_empty()),
        go_floor: None,
        ingest_instances: 8,
        ingest_batches: 20,
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: `{v}` is not a whole number"))
        };
        match flag.as_str() {
            "--act" => a.act = value()?.into(),
            "--policy" => a.policy = value()?.into(),
            "--conns" => a.conns = number(value()?)?,
            "--rounds" => a.rounds = number(value()?)?,
            "--database-url" => a.database_url = Some(value()?),
            "--go-floor" => a.go_floor = Some(value()?.into()),
            "--ingest-instances" => a.ingest_instances = number(value()?)?,
            "--ingest-batches" => a.ingest_batches = number(value()?)?,
            other => {
                return Err(format!(
                    "unknown argument `{other}` (see the crate docs in src/main.rs)"
                ))
            }
        }
    }
    if a.conns == 0 || a.rounds == 0 || a.ingest_instances == 0 || a.ingest_batches == 0 {
        return Err("--conns, --rounds, --ingest-instances and --ingest-batches must be at least 1".into());
    }
    Ok(a)
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let result = if raw.first().map(String::as_str) == Some("floor") {
        floor::main(&raw[1..])
    } else {
        parse_args(&raw).and_then(bench)
    };
    if let Err(e) = result {
        eprintln!("act-server-bench: {e}");
        std::process::exit(1);
    }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (children inherit it) and checks it fits.
fn raise_nofile(conns: usize) -> Result<u64, String> {
    let soft = rlimit::increase_nofile_limit(u64::MAX).map_err(|e| format!("RLIMIT_NOFILE: {e}"))?;
    let need = conns as u64 + 1024;
    if soft < need {
        return Err(format!(
            "RLIMIT_NOFILE is {soft} even raised to its hard limit; {conns} connections need {need}: raise the hard limit or pass --conns"
        ));
    }
    Ok(soft)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "?".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg_at_start": load,
    })
}

fn progress(msg: &str) {
    eprintln!("[bench-server] {msg}");
}

fn bench(a: Args) -> Result<(), String> {
    if !a.act.exists() {
        return Err(format!(
            "{} not found: build it first (cargo build --profile profiling -p act-cli) or pass --act",
            a.act.display()
        ));
    }
    let nofile = raise_nofile(a.conns * if a.go_floor.is_some() { 3 } else { 2 })?;
    let run_id = servers::random_hex(4)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = Map::new();
    let mut m = machine();
    m["rlimit_nofile"] = json!(nofile);
    out.insert("machine".into(), m);

    // 1 + 2: held long polls and publish-to-all. Every server holds its N polls at once, and the
    // rounds alternate between them (act, floor, Go floor, act, ...), so a change in the machine's
    // load during the run falls on all of them alike. `act server` opens first: its snapshot's
    // size is the floors' body size.
    progress(&format!("act server: {} long polls", a.conns));
    let act = servers::start_act(&a.act, &a.policy, None, "act server (SQLite)")?;
    let mut running: Vec<(&str, servers::Server)> = vec![("act_server", act)];
    let result = rt.block_on(async {
        let mut fleets = vec![polls::open(&running[0].1, a.conns, &run_id).await?];
        let body_bytes = fleets[0].snapshot_bytes;
        progress("floor (axum)");
        running.push(("floor_axum", servers::start_floor(body_bytes)?));
        if let Some(exe) = &a.go_floor {
            progress("floor (Go net/http)");
            running.push(("floor_go", servers::start_go_floor(exe, body_bytes)?));
        }
        for (_, s) in &running[1..] {
            fleets.push(polls::open(s, a.conns, &run_id).await?);
        }
        for r in 0..a.rounds {
            progress(&format!("publish round {} of {}", r + 1, a.rounds));
            for (f, (_, s)) in fleets.iter_mut().zip(&running) {
                f.round(s, r).await?;
            }
        }
        let mut fleet = Map::new();
        for (f, (key, s)) in fleets.into_iter().zip(&running) {
            fleet.insert(key.to_string(), f.finish(s)?);
        }
        Ok::<_, String>((fleet, body_bytes))
    });
    for (_, s) in running {
        s.stop();
    }
    let (mut fleet, body_bytes) = result?;
    if a.go_floor.is_none() {
        fleet.insert(
            "floor_go".into(),
            json!({"skipped": "not built (needs `go`; see the Makefile's bench target)"}),
        );
    }
    out.insert("long_poll".into(), Value::Object(fleet));

    // 3: audit ingest, each server fresh.
    progress(&format!(
        "audit ingest: {} instances x {} batches of {}",
        a.ingest_instances,
        a.ingest_batches,
        ingest::BATCH
    ));
    let mut ing = Map::new();
    let chains = ingest::make_batches(&run_id, a.ingest_instances, a.ingest_batches)?;
    let floor = servers::start_floor(body_bytes)?;
    let r = rt.block_on(ingest::run(&floor, &chains));
    floor.stop();
    ing.insert("floor_axum".into(), r?);
    let act = servers::start_act(&a.act, &a.policy, None, "act server (SQLite)")?;
    let r = rt.block_on(ingest::run(&act, &chains));
    act.stop();
    ing.insert("act_sqlite".into(), r?);
    ing.insert("act_postgres".into(), postgres_ingest(&a, &rt, &chains)?);
    out.insert("audit_ingest".into(), Value::Object(ing));

    println!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(out)).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Ingest on PostgreSQL: with `--database-url`, or a server started by `scripts/postgres.sh`;
/// skipped (and said so) when this `act` build has no PostgreSQL support.
fn postgres_ingest(
    a: &Args,
    rt: &tokio::runtime::Runtime,
    chains: &[(String, Vec<hyper::body::Bytes>)],
) -> Result<Value, String> {
    if !servers::act_supports_postgres(&a.act)? {
        progress("PostgreSQL: skipped (no --database-url in `act server --help`)");
        return Ok(json!({"skipped": "server has no PostgreSQL support in this build"}));
    }
    let script = repo_root().join("scripts/postgres.sh");
    let mut started: Option<servers::TempDir> = None;
    let url = match &a.database_url {
        Some(u) => u.clone(),
        None if script.exists() => {
            let dir = servers::TempDir::new("pg")?;
            let o = std::process::Command::new("bash")
                .arg(&script)
                .arg("start")
                .arg(&dir.0)
                .output()
                .map_err(|e| format!("scripts/postgres.sh: {e}"))?;
            if !o.status.success() {
                return Err(format!(
                    "scripts/postgres.sh start: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            let url = String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("postgres://") || l.starts_with("postgresql://"))
                .ok_or("scripts/postgres.sh start printed no postgres:// URL")?
                .to_string();
            started = Some(dir);
            url
        }
        None => return Ok(json!({"skipped": "no --database-url given and no scripts/postgres.sh to start one"})),
    };
    progress("audit ingest on PostgreSQL");
    let r = servers::start_act(&a.act, &a.policy, Some(&url), "act server (PostgreSQL)").and_then(|act| {
        let r = rt.block_on(ingest::run(&act, chains));
        act.stop();
        r
    });
    if let Some(dir) = &started {
        let _ = std::process::Command::new("bash")
            .arg(&script)
            .arg("stop")
            .arg(&dir.0)
            .status();
    }
    let mut v = r?;
    v["database"] = json!(if started.is_some() {
        "started by scripts/postgres.sh"
    } else {
        "given with --database-url"
    });
    Ok(v)
}
