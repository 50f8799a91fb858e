//! `GET`/`POST /console/login`, `POST /console/logout`.

use super::session::{cookie, random_token, same_secret, set_cookie, CONSOLE_ROLES, COOKIE, LOGIN_COOKIE, MAX_AGE_MS};
use super::{current, message, post_session, render, secure, Form, St};
use crate::state::now_ms;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    nav: Option<super::view::Nav>,
    csrf: String,
    error: Option<String>,
}

/// How long the login form stays valid, s.
const LOGIN_FORM_S: i64 = 600;

fn login_page(c: &super::Console, headers: &HeaderMap, status: StatusCode, error: Option<String>) -> Response {
    let csrf = random_token();
    let mut r = render(
        status,
        &LoginPage {
            nav: None,
            csrf: csrf.clone(),
            error,
        },
    );
    if let Ok(v) = HeaderValue::from_str(&set_cookie(LOGIN_COOKIE, &csrf, LOGIN_FORM_S, secure(&c.app, headers))) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub(super) async fn form(State(c): St, headers: HeaderMap) -> Response {
    if current(&c, &headers).is_some() {
        return Redirect::to("/console/approvals").into_response();
    }
    login_page(&c, &headers, StatusCode::OK, None)
}

pub(super) async fn submit(State(c): St, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let form = Form::parse(&bytes);
    let bound = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let sent = form.get("csrf").unwrap_or_default();
    if bound.is_empty() || !same_secret(bound, &sent) {
        return message(
            StatusCode::FORBIDDEN,
            None,
            "Refused: missing or wrong CSRF token",
            "This login was not sent from the console's login page (its CSRF token is missing, wrong or \
             older than 10 minutes). Open /console/login and try again.",
        );
    }
    let key = form.get("key").unwrap_or_default();
    let Some(principal) = c.app.credentials.lookup(&key) else {
        eprintln!("console login refused: unknown key");
        return login_page(
            &c,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Unknown key. Use the approver or admin key you were given.".into()),
        );
    };
    if !CONSOLE_ROLES.contains(&principal.role) {
        eprintln!(
            "console login refused: {} has the role {}",
            principal.identity,
            principal.role.name()
        );
        return login_page(
            &c,
            &headers,
            StatusCode::FORBIDDEN,
            Some(format!(
                "This key has the role {}; only approver and admin keys can log in to the console.",
                principal.role.name()
            )),
        );
    }
    eprintln!("console login: {} ({})", principal.identity, principal.role.name());
    let (id, _) = c.sessions.open(principal, crate::auth::hash_key(&key), now_ms());
    let secure = secure(&c.app, &headers);
    let mut r = Redirect::to("/console/approvals").into_response();
    for v in [
        set_cookie(COOKIE, &id, MAX_AGE_MS / 1000, secure),
        set_cookie(LOGIN_COOKIE, "", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

pub(super) async fn logout(State(c): St, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let form = Form::parse(&bytes);
    if let Err(r) = post_session(&c, &headers, &form, &CONSOLE_ROLES) {
        return r;
    }
    if let Some(id) = cookie(&headers, COOKIE) {
        c.sessions.close(id);
    }
    let mut r = Redirect::to("/console/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(COOKIE, "", 0, secure(&c.app, &headers))) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
