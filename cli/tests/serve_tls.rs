//! `act serve` / `act server` with `--tls-cert`/`--tls-key`: the real binary on loopback, a
//! self-signed certificate made here, and a rustls client that trusts only that certificate.

mod common;

use common::{TempDir, SUPPORT};
use std::io::{BufRead, Read, Write};
use std::sync::Arc;

/// `GET /v1/snapshot` over TLS at `addr` with `key`, trusting only `cert`.
fn get_snapshot(addr: &str, cert: &rustls::pki_types::CertificateDer<'static>, key: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let req = format!(
        "GET /v1/snapshot HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nconnection: close\r\n\r\n"
    );
    tls.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn act_serve_with_a_certificate_serves_the_snapshot_over_https() {
    let dir = TempDir::new("serve-tls");
    std::fs::write(dir.join("support.yaml"), SUPPORT).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();

    // Half a pair is a usage error naming the missing flag.
    let half = common::act()
        .args(["serve", "--policy", &dir.s("support.yaml"), "--addr", "127.0.0.1:0"])
        .args(["--tls-cert", &dir.s("cert.pem")])
        .output()
        .unwrap();
    assert_eq!(half.status.code(), Some(2), "{:?}", common::text(&half));
    assert!(common::text(&half).1.contains("--tls-key"), "{:?}", common::text(&half));

    let mut child = common::act()
        .args(["serve", "--policy", &dir.s("support.yaml"), "--addr", "127.0.0.1:0"])
        .args(["--api-key", "tls-agent-key"])
        .args(["--tls-cert", &dir.s("cert.pem"), "--tls-key", &dir.s("key.pem")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut addr = None;
    for line in std::io::BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("act serve: listening on https://") {
            addr = Some(a.to_string());
            break;
        }
        assert!(!line.contains("listening on http://"), "{line}");
    }
    let addr = addr.expect("act serve prints an https address");
    let answer = get_snapshot(&addr, made.cert.der(), "tls-agent-key");
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(body.split('.').count(), 3, "a compact JWS: {body}");
}
