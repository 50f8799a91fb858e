//! A real HTTP/1.1 server on 127.0.0.1 whose answers a test scripts (no HTTP mocking:
//! requests cross a real socket). Stopped and joined by its handle on drop.
#![allow(dead_code, reason = "each test binary uses a different part of these shared helpers")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers to the next requests.
#[derive(Clone)]
pub enum Mode {
    /// 200 with this document and ETag; 304 when `If-None-Match` matches.
    Doc { body: String, etag: String },
    /// Like `Doc`, with these extra header lines (each ending in `\r\n`) on the 200 and the 304.
    DocWith {
        body: String,
        etag: String,
        headers: String,
    },
    /// This status and body, as is.
    Raw { status: u16, body: String },
    /// Announces the full length, sends half the body, closes.
    Truncated { body: String },
    /// Accepts and never answers (until the server stops).
    Hang,
}

pub struct TestServer {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    stop: Arc<AtomicBool>,
    pub hits: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start(mode: Mode) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (m, s, h) = (mode.clone(), stop.clone(), hits.clone());
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (m, s, h) = (m.clone(), s.clone(), h.clone());
                workers.push(std::thread::spawn(move || serve(conn, &m, &s, &h)));
            }
            for w in workers {
                let _ = w.join();
            }
        });
        TestServer {
            addr,
            mode,
            stop,
            hits,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // unblocks accept()
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, mode: &Mutex<Mode>, stop: &AtomicBool, hits: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
    loop {
        // One request per loop (keep-alive); the head is all we need (GET).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match conn.read(&mut byte) {
                Ok(0) => return,
                Ok(_) => head.push(byte[0]),
                Err(_) if stop.load(Ordering::SeqCst) => return,
                Err(_) => continue,
            }
        }
        hits.fetch_add(1, Ordering::SeqCst);
        let head = String::from_utf8_lossy(&head).to_lowercase();
        let inm = head
            .lines()
            .find_map(|l| l.strip_prefix("if-none-match:"))
            .map(|v| v.trim().to_string());
        let current = mode.lock().unwrap().clone();
        let reply = |status: u16, extra: &str, body: &str| {
            format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n{extra}\r\n{body}",
                body.len()
            )
        };
        let out = match current {
            Mode::Doc { body, etag } => doc_reply(inm.as_deref(), &etag, "", &body),
            Mode::DocWith { body, etag, headers } => doc_reply(inm.as_deref(), &etag, &headers, &body),
            Mode::Raw { status, body } => reply(status, "", &body),
            Mode::Truncated { body } => {
                let half = &body[..body.len() / 2];
                let _ = conn
                    .write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{half}", body.len()).as_bytes());
                return;
            }
            Mode::Hang => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
        };
        if conn.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

fn doc_reply(inm: Option<&str>, etag: &str, headers: &str, body: &str) -> String {
    if inm == Some(etag.to_lowercase().as_str()) {
        format!("HTTP/1.1 304 Not Modified\r\netag: {etag}\r\n{headers}\r\n")
    } else {
        format!(
            "HTTP/1.1 200 X\r\ncontent-length: {}\r\netag: {etag}\r\ncontent-type: application/jose\r\n{headers}\r\n{body}",
            body.len()
        )
    }
}
