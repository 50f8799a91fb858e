//! A real `redis-server` for tests: started on a free loopback port with no
//! persistence, and stopped by its own pid (never by name) when dropped.
#![allow(dead_code, reason = "each test binary uses a different part of these shared helpers")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// Starts a server on a free port.
    pub fn start() -> Redis {
        Redis::start_on(free_port())
    }

    /// Starts a server on `port` (a restart on the port a stopped server had).
    pub fn start_on(port: u16) -> Redis {
        Redis::start_with(port, &[])
    }

    /// Starts a server on `port` with `extra` arguments (`--replicaof ...`).
    pub fn start_with(port: u16, extra: &[&str]) -> Redis {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(extra);
        Redis::run(port, cmd)
    }

    /// Spawns `cmd` (a `redis-server` command line that listens on `port`: a cluster node, a
    /// sentinel) and waits until it accepts connections.
    pub fn run(port: u16, mut cmd: Command) -> Redis {
        let child = cmd
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test-all.sh installs it from Debian's packages)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, port }
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill(); // this child only, by its pid
        let _ = self.child.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What `redis-cli` prints for `args` against the server on `port`.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli is installed (with redis-server)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Decides again every 50 ms while the counter store is unavailable (a server restarting, a
/// failover), for at most `within`; returns the first other decision, or the last one.
pub fn until_store_answers(within: Duration, mut decide: impl FnMut() -> act_core::Decision) -> act_core::Decision {
    let deadline = Instant::now() + within;
    loop {
        let d = decide();
        if d.reason != act_core::Reason::CounterStoreUnavailable || Instant::now() > deadline {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
