//! The `/healthz`, `/livez` and `/readyz` handlers and their installation on
//! a [`PathRecorderMux`].
//!
//! Mirrors `healthz.InstallHandler`, `InstallLivezHandler`,
//! `InstallReadyzHandler`, `InstallPathHandler` and
//! `InstallPathHandlerWithHealthyFunc`, with their exact bodies: the root
//! answers `ok`, or one line per check with `?verbose`, or (on any failure)
//! 500 with every line and the real reasons withheld; each check's sub-path
//! answers `ok` or `internal server error: <reason>`.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use kapi_core::{Body, BoxHandler, Request, Response, box_handler, text_response};
use kapi_mux::PathRecorderMux;

use crate::checker::{HealthChecker, PingHealthz};
use kapi_core::go::{parse_query, quote as go_quote};

/// Installs `checks` under `/healthz` (Go: `InstallHandler`).
pub fn install_handler(mux: &PathRecorderMux, checks: Vec<Arc<dyn HealthChecker>>) {
    install_path_handler(mux, "/healthz", checks);
}

/// Installs `checks` under `/livez` (Go: `InstallLivezHandler`).
pub fn install_livez_handler(mux: &PathRecorderMux, checks: Vec<Arc<dyn HealthChecker>>) {
    install_path_handler(mux, "/livez", checks);
}

/// Installs `checks` under `/readyz` (Go: `InstallReadyzHandler`).
pub fn install_readyz_handler(mux: &PathRecorderMux, checks: Vec<Arc<dyn HealthChecker>>) {
    install_path_handler(mux, "/readyz", checks);
}

/// Installs `checks` under `/readyz` and calls `first_time_healthy` once, the
/// first time `/readyz` passes (Go: `InstallReadyzHandlerWithHealthyFunc`;
/// the server uses it to fire its `HasBeenReady` signal).
pub fn install_readyz_handler_with_healthy_func(
    mux: &PathRecorderMux,
    checks: Vec<Arc<dyn HealthChecker>>,
    first_time_healthy: impl FnOnce() + Send + 'static,
) {
    install_path_handler_with_healthy_func(mux, "/readyz", checks, first_time_healthy);
}

/// Installs `checks` under `path` (Go: `InstallPathHandler`).
///
/// `path` and each `<path>/<check name>` are listed routes. With no checks,
/// [`PingHealthz`] is installed. Installing the same path twice replaces the
/// earlier handlers (Go panics).
pub fn install_path_handler(
    mux: &PathRecorderMux,
    path: &str,
    checks: Vec<Arc<dyn HealthChecker>>,
) {
    install(mux, path, checks, None);
}

/// Like [`install_path_handler`], calling `first_time_healthy` once, the first
/// time the root passes (Go: `InstallPathHandlerWithHealthyFunc`).
pub fn install_path_handler_with_healthy_func(
    mux: &PathRecorderMux,
    path: &str,
    checks: Vec<Arc<dyn HealthChecker>>,
    first_time_healthy: impl FnOnce() + Send + 'static,
) {
    install(mux, path, checks, Some(Box::new(first_time_healthy)));
}

type OnHealthy = Box<dyn FnOnce() + Send>;

fn install(
    mux: &PathRecorderMux,
    path: &str,
    mut checks: Vec<Arc<dyn HealthChecker>>,
    first_time_healthy: Option<OnHealthy>,
) {
    if checks.is_empty() {
        tracing::debug!(path, "no health checks given, installing ping");
        checks.push(Arc::new(PingHealthz));
    }
    tracing::debug!(
        path,
        checks = %checks.iter().map(|c| go_quote(c.name())).collect::<Vec<_>>().join(","),
        "installing health checks"
    );

    // "/readyz" → "readyz": the word of "readyz check passed".
    let name = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let root = Arc::new(RootHealth {
        name: name.to_owned(),
        checks: checks.clone(),
        first_time_healthy: Mutex::new(first_time_healthy),
    });
    mux.handle(path, root_handler(root));
    for check in checks {
        mux.handle(&format!("{path}/{}", check.name()), check_handler(check));
    }
}

/// What the root handler of one health path serves.
struct RootHealth {
    name: String,
    checks: Vec<Arc<dyn HealthChecker>>,
    first_time_healthy: Mutex<Option<OnHealthy>>,
}

fn root_handler(root: Arc<RootHealth>) -> BoxHandler {
    box_handler(tower::service_fn(move |request: Request| {
        let root = Arc::clone(&root);
        async move { Ok::<_, Infallible>(root.serve(request.into_parts().0).await) }
    }))
}

impl RootHealth {
    async fn serve(&self, request: Parts) -> Response {
        let query = parse_query(request.uri.query().unwrap_or_default());
        let verbose = query.iter().any(|(key, _)| key == "verbose");
        let excluded: BTreeSet<&str> = query
            .iter()
            .filter(|(key, _)| key == "exclude")
            .map(|(_, value)| value.as_str())
            .collect();
        let mut unmatched_excludes = excluded.clone();

        // `lines` is the public output; `reasons` the detail that only the log sees.
        let mut lines = String::new();
        let mut reasons = String::new();
        let mut failed = Vec::new();
        for check in &self.checks {
            let name = check.name();
            if excluded.contains(name) {
                unmatched_excludes.remove(name);
                let _ = writeln!(lines, "[+]{name} excluded: ok");
                continue;
            }
            if let Some(group) = check.group_name().filter(|g| excluded.contains(g)) {
                unmatched_excludes.remove(group);
                let _ = writeln!(lines, "[+]{name} excluded with {group}: ok");
                continue;
            }
            match check.check(&request).await {
                Ok(()) => {
                    let _ = writeln!(lines, "[+]{name} ok");
                }
                Err(err) => {
                    let _ = writeln!(lines, "[-]{name} failed: reason withheld");
                    let _ = writeln!(reasons, "[-]{name} failed: {err}");
                    failed.push(name);
                }
            }
        }
        if !unmatched_excludes.is_empty() {
            let quoted: Vec<String> = unmatched_excludes.iter().map(|n| go_quote(n)).collect();
            let quoted = quoted.join(",");
            let _ = writeln!(
                lines,
                "warn: some health checks cannot be excluded: no matches for {quoted}"
            );
            tracing::debug!(
                excludes = %quoted,
                "cannot exclude some health checks, no health checks are installed matching them"
            );
        }

        if !failed.is_empty() {
            tracing::info!(
                root = %self.name,
                failed = %failed.join(","),
                reasons = %reasons,
                "health check failed"
            );
            // Go's http.Error appends a newline.
            let _ = writeln!(lines, "{} check failed", self.name);
            return text_response(StatusCode::INTERNAL_SERVER_ERROR, lines);
        }

        let on_healthy = self
            .first_time_healthy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(on_healthy) = on_healthy {
            on_healthy();
        }

        if verbose {
            let _ = writeln!(lines, "{} check passed", self.name);
            text_response(StatusCode::OK, lines)
        } else {
            text_response(StatusCode::OK, "ok")
        }
    }
}

/// `/<root>/<check>`: 200 `ok`, or 500 `internal server error: <reason>`.
fn check_handler(check: Arc<dyn HealthChecker>) -> BoxHandler {
    box_handler(tower::service_fn(move |request: Request| {
        let check = Arc::clone(&check);
        async move {
            let (request, _body) = request.into_parts();
            let response = match check.check(&request).await {
                Ok(()) => plain_ok(),
                Err(err) => text_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal server error: {err}\n"),
                ),
            };
            Ok::<_, Infallible>(response)
        }
    }))
}

/// 200 `ok` as Go writes it without setting headers: the content type comes
/// from sniffing and there is no `X-Content-Type-Options`.
fn plain_ok() -> Response {
    let mut response = Response::new(Body::from("ok"));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
