//! The operator console at `/console`: approve or deny requests, flip kill switches and revoke,
//! search the audit trail, watch the fleet (`docs/console.md`).
//!
//! **Tech choice.** Server-rendered HTML from [askama] templates (`server/templates/console/`),
//! one small stylesheet and one small script of our own (`server/assets/`), all compiled into
//! the binary and served from `/console/assets/`: no CDN, no build step, nothing to download at
//! run time. askama is maintained, checks templates at compile time (a typo in a template is a
//! build error, not a 500), and escapes every value by default, which matters for a page that
//! shows agent-chosen argument values. Over maud (markup as Rust macros): askama keeps the HTML
//! in plain `.html` files anyone can read and review, and it is already in our dependency tree
//! (uniffi-bindgen, which generates the Kotlin and Swift bindings, renders with it), so the
//! console adds no new template engine to audit. No JavaScript framework: every page and every action works
//! with plain forms (keyboard and screen readers get native controls); the script only adds
//! polling so new approval requests appear without a reload. A strict Content-Security-Policy
//! (`default-src 'self'`, no inline script) keeps injected markup inert even if escaping failed.
//!
//! **Security.** Only approver and admin keys log in ([`session`]); the browser holds a random
//! session id in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` under TLS). Every `POST`
//! carries the session's CSRF token. Every handler checks the session's role itself; the pages
//! only hide what a role cannot do. Decisions go through the same function as
//! `POST /v1/approvals/{id}/grant|deny` ([`crate::routes::approvals::decide_as`]), and revocations
//! and kill switches through [`App::change_revocations`], so the console has no rules of its own.

mod approvals;
mod audit;
mod fleet;
mod login;
mod policies;
pub mod session;
mod switches;
mod view;

use crate::auth::Role;
use crate::state::App;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use session::{Session, Sessions};
use std::sync::Arc;

/// What every console handler gets.
#[derive(Clone)]
pub(crate) struct Console {
    app: Arc<App>,
    sessions: Arc<Sessions>,
}

type St = State<Console>;

/// The console's routes, all under `/console`.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(app: Arc<App>) -> Router<S> {
    let small = axum::extract::DefaultBodyLimit::max(crate::routes::MAX_SMALL_BODY);
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/approvals") }))
        .route("/console/", get(|| async { Redirect::to("/console/approvals") }))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/approvals", get(approvals::page))
        .route("/console/approvals/pending", get(approvals::pending))
        .route("/console/approvals/{id}/decide", post(approvals::decide))
        .route("/console/switches", get(switches::page))
        .route("/console/switches/kill", post(switches::kill))
        .route("/console/switches/revoke", post(switches::revoke))
        .route("/console/audit", get(audit::page))
        .route("/console/audit/export", get(audit::export))
        .route("/console/audit/record/{id}", get(audit::detail))
        .route("/console/fleet", get(fleet::fleet))
        .route("/console/policies", get(policies::page))
        .route("/console/policies/diff", get(policies::diff))
        .route("/console/policies/{v}/rollback", post(policies::rollback))
        .route("/console/{*rest}", get(not_found))
        .layer(small)
        .with_state(Console {
            app,
            sessions: Arc::new(Sessions::default()),
        })
}

async fn not_found(State(c): St, headers: HeaderMap) -> Response {
    let s = current(&c, &headers);
    message(
        StatusCode::NOT_FOUND,
        s.as_ref(),
        "No such page",
        "The console has no page at this address.",
    )
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../assets/console.css"))
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// An HTML answer with the console's security headers.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// Renders a template (a template error is a plain 500: templates are checked at build time,
/// so this only happens on a formatting failure).
pub(crate) fn render(status: StatusCode, t: &impl askama::Template) -> Response {
    match t.render() {
        Ok(body) => html(status, body),
        Err(e) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("console template failed: {e}"),
        ),
    }
}

/// A page saying what went wrong (or what happened), with the navigation when logged in.
pub(crate) fn message(status: StatusCode, session: Option<&Session>, title: &str, text: &str) -> Response {
    render(
        status,
        &view::MessagePage {
            nav: session.map(|s| view::Nav::new(s, "")),
            title: title.to_string(),
            text: text.to_string(),
        },
    )
}

/// Whether cookies must be `Secure`: the server speaks TLS, or a proxy in front of it says the
/// browser does (setting `Secure` needlessly only makes the cookie stay off plain HTTP).
fn secure(app: &App, headers: &HeaderMap) -> bool {
    app.tls.load(std::sync::atomic::Ordering::Relaxed)
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session of this request, if live.
fn current(c: &Console, headers: &HeaderMap) -> Option<Session> {
    let id = session::cookie(headers, session::COOKIE)?;
    // A session ends when the key it logged in with is revoked.
    c.sessions
        .touch(id, crate::state::now_ms())
        .filter(|s| c.app.credentials.lookup_hash(&s.key_digest).is_some())
}

/// For pages: the session (with one of `roles`), or a redirect to the login page / a 403 page.
#[expect(
    clippy::result_large_err,
    reason = "a ready-to-send `Response` is the natural error of a handler helper"
)]
fn page_session(c: &Console, headers: &HeaderMap, roles: &[Role]) -> Result<Session, Response> {
    let Some(s) = current(c, headers) else {
        return Err(Redirect::to("/console/login").into_response());
    };
    check_role(&s, roles)?;
    Ok(s)
}

#[expect(clippy::result_large_err, reason = "see `page_session`")]
fn check_role(s: &Session, roles: &[Role]) -> Result<(), Response> {
    if roles.contains(&s.principal.role) {
        return Ok(());
    }
    let wanted: Vec<&str> = roles.iter().map(|r| r.name()).collect();
    Err(message(
        StatusCode::FORBIDDEN,
        Some(s),
        "Not allowed for your role",
        &format!(
            "This needs the role {}; you are logged in as {} with the role {}.",
            wanted.join(" or "),
            s.principal.identity,
            s.principal.role.name()
        ),
    ))
}

/// A parsed form body (`application/x-www-form-urlencoded`).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Parses a body; a malformed one reads as empty (and then fails the CSRF check).
    pub(crate) fn parse(bytes: &[u8]) -> Form {
        Form(serde_urlencoded::from_bytes(bytes).unwrap_or_default())
    }

    /// The first value of `name`, trimmed; `None` when missing or blank.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

/// For state-changing requests: a live session with one of `roles` whose CSRF token the form
/// carries. Otherwise `401` (log in), `403` (forged or stale form, or the wrong role); nothing changed.
#[expect(clippy::result_large_err, reason = "see `page_session`")]
fn post_session(c: &Console, headers: &HeaderMap, form: &Form, roles: &[Role]) -> Result<Session, Response> {
    let Some(s) = current(c, headers) else {
        return Err(message(
            StatusCode::UNAUTHORIZED,
            None,
            "Not logged in",
            "Your session has ended (logged out or expired). Log in again; nothing was changed.",
        ));
    };
    let sent = form.get("csrf").unwrap_or_default();
    if !session::same_secret(&sent, &s.csrf) {
        return Err(message(
            StatusCode::FORBIDDEN,
            Some(&s),
            "Refused: missing or wrong CSRF token",
            "This form was not sent by a console page of your session (its CSRF token is missing or \
             wrong), so nothing was changed. If you did send it, reload the page and try again.",
        ));
    }
    check_role(&s, roles)?;
    Ok(s)
}

/// The status and sentence of an API error answer (`{"error", "message"}`), to show on a page.
pub(crate) async fn api_error(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 64 * 1024).await.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = match (v["error"].as_str(), v["message"].as_str()) {
        (Some(code), Some(m)) => format!("{m} ({code})"),
        _ => format!("the request failed ({status})"),
    };
    (status, text)
}
