//! A minimal HTTP/1.1 client over hyper: one connection per simulated SDK (an SDK process holds
//! one keep-alive connection to its control endpoint), and one-shot requests for the admin calls.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

pub type Conn = SendRequest<Full<Bytes>>;

/// Opens one keep-alive HTTP/1.1 connection; its I/O runs in its own task until the sender drops.
pub async fn connect(addr: SocketAddr) -> Result<Conn, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake {addr}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// A request on an open connection; the whole body is read.
pub async fn send(conn: &mut Conn, req: Request<Full<Bytes>>) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    conn.ready().await.map_err(|e| format!("connection: {e}"))?;
    let resp = conn.send_request(req).await.map_err(|e| format!("request: {e}"))?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
    Ok((parts.status, parts.headers, body))
}

/// One request on a fresh connection (admin calls: publish, fleet, ingest setup).
pub async fn once(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let mut conn = connect(addr).await?;
    send(&mut conn, request(addr, method, path, headers, body)?).await
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(body)).map_err(|e| e.to_string())
}

/// `{"<member>": <u64>}` of a JSON answer, e.g. the `version` a publish returns.
pub fn json_u64(body: &[u8], member: &str) -> Result<u64, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e}): {}", String::from_utf8_lossy(body)))?;
    v.get(member)
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("no `{member}` in {v}"))
}
