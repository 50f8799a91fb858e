//! HTTPS over real loopback sockets: a self-signed certificate made here with rcgen, a client that
//! trusts it gets the snapshot, a client that does not (or speaks plain HTTP) gets nothing, and a
//! client that never finishes its handshake holds up no one.

mod common;

use act_server::{App, Config};
use common::{credentials, TempDir, AGENT, SUPPORT};
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct TlsServer {
    addr: SocketAddr,
    app: Arc<App>,
    cert: CertificateDer<'static>,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = TempDir::new("tls");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (cert_path, key_path) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
        std::fs::write(&cert_path, made.cert.pem()).unwrap();
        std::fs::write(&key_path, made.signing_key.serialize_pem()).unwrap();
        let tls = act_server::tls::load_config(&cert_path, &key_path).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = Config {
            key: act_core::SigningKey::generate().unwrap(),
            policies: act_core::policy::parse_source("support.yaml", SUPPORT).unwrap(),
            credentials: credentials(),
            state_dir: None,
            database_url: None,
            audit_log: None,
            approval_ttl: Duration::from_secs(60),
        };
        let app = rt.block_on(App::new(config)).unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(act_server::serve_tls(listener, app.clone(), tls, async {
            let _ = rx.await;
        }));
        TlsServer {
            addr,
            app,
            cert: made.cert.der().clone(),
            rt,
            stop: Some(tx),
            _dir: dir,
        }
    }

    /// `GET path` over TLS, trusting `roots`; the raw answer or the TLS error.
    fn get(&self, roots: &[CertificateDer<'static>], path: &str) -> Result<String, String> {
        let mut store = rustls::RootCertStore::empty();
        for c in roots {
            store.add(c.clone()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let addr = self.addr;
        let req = format!(
            "GET {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {AGENT}\r\nconnection: close\r\n\r\n"
        );
        self.rt.block_on(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
                .await
                .map_err(|_| "handshake timed out".to_string())?
                .map_err(|e| e.to_string())?;
            tls.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            let _ = tls.read_to_end(&mut out).await;
            Ok(String::from_utf8_lossy(&out).into_owned())
        })
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[test]
fn a_client_trusting_the_certificate_gets_the_snapshot_over_https() {
    let s = TlsServer::start();
    let answer = s.get(std::slice::from_ref(&s.cert), "/v1/snapshot").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let jws = s.app.current.borrow().jws.clone();
    assert!(answer.ends_with(&jws), "the body is the signed snapshot: {answer}");
    // The credential check is the same as over HTTP.
    let answer = s.get(std::slice::from_ref(&s.cert), "/v1/fleet").unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}

#[test]
fn a_client_that_does_not_trust_it_or_speaks_plain_http_gets_nothing() {
    let s = TlsServer::start();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let err = s.get(&[other.cert.der().clone()], "/v1/snapshot").unwrap_err();
    assert!(err.contains("certificate"), "{err}");

    let mut plain = std::net::TcpStream::connect(s.addr).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    plain
        .write_all(format!("GET /v1/snapshot HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {AGENT}\r\n\r\n").as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "no snapshot over plain HTTP"
    );
}

#[test]
fn a_client_that_never_finishes_its_handshake_holds_up_no_one() {
    let s = TlsServer::start();
    let _silent: Vec<std::net::TcpStream> = (0..3).map(|_| std::net::TcpStream::connect(s.addr).unwrap()).collect();
    let started = std::time::Instant::now();
    let answer = s.get(std::slice::from_ref(&s.cert), "/v1/snapshot").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < act_server::tls::HANDSHAKE_TIMEOUT,
        "served while others stalled"
    );
}

#[test]
fn unreadable_or_mismatched_certificate_files_are_named_in_the_error() {
    let dir = TempDir::new("tls-bad");
    let a = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let b = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key, missing) = (dir.0.join("a.pem"), dir.0.join("b.key"), dir.0.join("none.pem"));
    std::fs::write(&cert, a.cert.pem()).unwrap();
    std::fs::write(&key, b.signing_key.serialize_pem()).unwrap();
    let err = act_server::tls::load_config(&missing, &key).unwrap_err();
    assert!(err.starts_with("--tls-cert") && err.contains("none.pem"), "{err}");
    let err = act_server::tls::load_config(&cert, &key).unwrap_err();
    assert!(err.contains("--tls-key"), "a key that is not the certificate's: {err}");
    let err = act_server::tls::load_config(&key, &key).unwrap_err();
    assert!(err.contains("no PEM CERTIFICATE"), "{err}");
}

#[test]
fn console_cookies_are_secure_under_tls() {
    let s = TlsServer::start();
    let answer = s.get(std::slice::from_ref(&s.cert), "/console/login").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: act_console_login="))
        .unwrap_or_else(|| panic!("no login cookie: {answer}"));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.trim_end().ends_with("; Secure"),
        "{cookie}"
    );
}
