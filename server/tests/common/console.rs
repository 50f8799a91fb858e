//! The console over real HTTP: raw requests with cookies and form bodies, and logging in.

use super::Server;
use std::io::{Read, Write};
use std::time::Duration;

/// One HTTP answer: status, headers (lower-case names), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of cookie `name` set by this answer.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix(&format!("{name}="))
                .map(str::to_string)
        })
    }

    /// The value of the first hidden `csrf` field on the page.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

/// A raw request with optional cookies, extra headers and a form body.
pub fn req(s: &Server, method: &str, path: &str, cookies: &str, extra: &[(&str, &str)], form: Option<&str>) -> Answer {
    let host = s.url.strip_prefix("http://").unwrap();
    let mut sock = std::net::TcpStream::connect(host).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = form.unwrap_or("");
    let cookie = if cookies.is_empty() {
        String::new()
    } else {
        format!("cookie: {cookies}\r\n")
    };
    let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let text = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\n{cookie}{extra}content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

pub fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}

/// Logs in with `key`; returns the session cookie header value and the page's CSRF token.
pub fn login(s: &Server, key: &str) -> (String, String) {
    let a = login_attempt(s, key, &[]);
    assert_eq!(a.status, 303, "login with {key}: {}", a.body);
    let id = a.cookie("act_console").expect("a session cookie");
    let cookie = format!("act_console={id}");
    let page = req(s, "GET", "/console/approvals", &cookie, &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    (cookie, page.csrf())
}

pub fn login_attempt(s: &Server, key: &str, extra: &[(&str, &str)]) -> Answer {
    let form = req(s, "GET", "/console/login", "", extra, None);
    assert_eq!(form.status, 200);
    let bound = form.cookie("act_console_login").expect("a login cookie");
    let body = format!("csrf={}&key={}", enc(&form.csrf()), enc(key));
    req(
        s,
        "POST",
        "/console/login",
        &format!("act_console_login={bound}"),
        extra,
        Some(&body),
    )
}
