//! [`PathRecorderMux`]: the router of a server's non-API paths.
//!
//! Mirrors `mux.PathRecorderMux`. Writers (registration, removal) serialize on
//! a mutex, rebuild an immutable routing table and publish it with one atomic
//! swap; requests load the current table without taking any lock, so routes
//! can be added while the server is serving.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use http::StatusCode;
use kapi_core::{BoxHandler, Request, Response, box_handler, text_response};
use tower::ServiceExt;
use tower::util::Oneshot;

use crate::error::{Error, Result};
use crate::path::decoded_path;

/// A router of exact paths and path prefixes that records the paths it lists.
///
/// Cloning is cheap and every clone shares the same routes. Lookup order:
///
/// 1. a handler registered for exactly the request path;
/// 2. the prefix handlers, most specific first (more `/` segments first, then
///    the longer prefix);
/// 3. the not-found handler ([`not_found_handler`] unless replaced with
///    [`set_not_found_handler`](Self::set_not_found_handler)).
///
/// Matching uses the percent-decoded URI path, never the query. Registering a
/// path twice logs a warning and the later handler wins, as in Go.
#[derive(Clone)]
pub struct PathRecorderMux {
    inner: Arc<Inner>,
}

impl PathRecorderMux {
    /// An empty mux; `name` appears in its log events.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let registry = Registry::default();
        let table = registry.routing_table(&name);
        Self {
            inner: Arc::new(Inner {
                name,
                registry: Mutex::new(registry),
                table: ArcSwap::from_pointee(table),
            }),
        }
    }

    /// The name given to [`new`](Self::new).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Serves exactly `path` with `handler` and lists `path` (Go: `Handle`).
    pub fn handle(&self, path: &str, handler: BoxHandler) {
        self.update(|registry, name| {
            registry.track(name, path);
            registry.listed.insert(path.to_owned());
            registry.exact.insert(path.to_owned(), handler);
        });
    }

    /// Serves exactly `path` with `handler` without listing it (Go: `UnlistedHandle`).
    pub fn unlisted_handle(&self, path: &str, handler: BoxHandler) {
        self.update(|registry, name| {
            registry.track(name, path);
            registry.exact.insert(path.to_owned(), handler);
        });
    }

    /// Serves every path starting with `prefix` (which must end in `/`) and
    /// lists `prefix` (Go: `HandlePrefix`, which panics where this returns
    /// [`Error::PrefixWithoutTrailingSlash`]).
    pub fn handle_prefix(&self, prefix: &str, handler: BoxHandler) -> Result<()> {
        check_prefix(prefix)?;
        self.update(|registry, name| {
            registry.track(name, prefix);
            registry.listed.insert(prefix.to_owned());
            registry.prefix.insert(prefix.to_owned(), handler);
        });
        Ok(())
    }

    /// Like [`handle_prefix`](Self::handle_prefix) without listing the prefix
    /// (Go: `UnlistedHandlePrefix`).
    pub fn unlisted_handle_prefix(&self, prefix: &str, handler: BoxHandler) -> Result<()> {
        check_prefix(prefix)?;
        self.update(|registry, name| {
            registry.track(name, prefix);
            registry.prefix.insert(prefix.to_owned(), handler);
        });
        Ok(())
    }

    /// Removes the exact and the prefix registration of `path`, and its listing.
    pub fn unregister(&self, path: &str) {
        self.update(|registry, _| {
            registry.exact.remove(path);
            registry.prefix.remove(path);
            registry.registered.remove(path);
            registry.listed.remove(path);
        });
    }

    /// The listed paths and prefixes, sorted and without duplicates.
    pub fn listed_paths(&self) -> Vec<String> {
        self.registry().listed.iter().cloned().collect()
    }

    /// Replaces the handler of requests that match no route (Go: `NotFoundHandler`).
    pub fn set_not_found_handler(&self, handler: BoxHandler) {
        self.update(|registry, _| registry.not_found = Some(handler));
    }

    /// The mux as a boxed handler, sharing this mux's routes.
    pub fn handler(&self) -> BoxHandler {
        box_handler(self.clone())
    }

    /// Applies one change under the writers' lock and publishes the new table.
    fn update(&self, change: impl FnOnce(&mut Registry, &str)) {
        let mut registry = self.registry();
        change(&mut registry, &self.inner.name);
        self.inner
            .table
            .store(Arc::new(registry.routing_table(&self.inner.name)));
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the registry half-changed
        // in a way that matters (each change is a few map operations), so a
        // poisoned lock is recovered rather than propagated.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for PathRecorderMux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.inner.table.load();
        f.debug_struct("PathRecorderMux")
            .field("name", &self.inner.name)
            .field("exact", &table.exact.len())
            .field(
                "prefixes",
                &table.prefixes.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl tower::Service<Request> for PathRecorderMux {
    type Response = Response;
    type Error = Infallible;
    type Future = Oneshot<BoxHandler, Request>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let handler = self.inner.table.load().route(request.uri().path()).clone();
        handler.oneshot(request)
    }
}

/// Go's `http.NotFoundHandler`: 404 `text/plain; charset=utf-8`,
/// `X-Content-Type-Options: nosniff`, body `404 page not found\n`.
pub fn not_found_handler() -> BoxHandler {
    box_handler(tower::service_fn(|_request: Request| async {
        Ok::<_, Infallible>(text_response(StatusCode::NOT_FOUND, "404 page not found\n"))
    }))
}

struct Inner {
    name: String,
    registry: Mutex<Registry>,
    table: ArcSwap<RoutingTable>,
}

/// What writers change; the source of every [`RoutingTable`].
#[derive(Default)]
struct Registry {
    exact: HashMap<String, BoxHandler>,
    prefix: HashMap<String, BoxHandler>,
    listed: BTreeSet<String>,
    /// Every registered path, exact or prefix, to warn about duplicates.
    registered: BTreeSet<String>,
    not_found: Option<BoxHandler>,
}

impl Registry {
    fn track(&mut self, mux: &str, path: &str) {
        if !self.registered.insert(path.to_owned()) {
            tracing::warn!(
                mux,
                path,
                "duplicate path registration, the later handler wins"
            );
        }
    }

    fn routing_table(&self, name: &str) -> RoutingTable {
        let mut prefixes: Vec<(String, BoxHandler)> = self
            .prefix
            .iter()
            .map(|(prefix, handler)| (prefix.clone(), handler.clone()))
            .collect();
        prefixes.sort_by(|(a, _), (b, _)| prefix_priority(a, b));
        RoutingTable {
            name: name.to_owned(),
            exact: self.exact.clone(),
            prefixes,
            not_found: self.not_found.clone().unwrap_or_else(not_found_handler),
        }
    }
}

/// An immutable snapshot of the routes, read by requests without locking.
struct RoutingTable {
    name: String,
    exact: HashMap<String, BoxHandler>,
    /// Sorted by [`prefix_priority`]: the first match is the most specific.
    prefixes: Vec<(String, BoxHandler)>,
    not_found: BoxHandler,
}

impl RoutingTable {
    fn route(&self, raw_path: &str) -> &BoxHandler {
        let path = decoded_path(raw_path);
        if let Some(handler) = self.exact.get(path.as_ref()) {
            tracing::trace!(mux = %self.name, %path, "satisfied by exact match");
            return handler;
        }
        if let Some((prefix, handler)) = self
            .prefixes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        {
            tracing::trace!(mux = %self.name, %path, %prefix, "satisfied by prefix");
            return handler;
        }
        tracing::trace!(mux = %self.name, %path, "satisfied by the not-found handler");
        &self.not_found
    }
}

/// Orders prefixes the way Go tries them: more `/` first, then longer, then
/// lexically greater (two distinct prefixes of equal length never both match,
/// so the last rule only makes the order total).
fn prefix_priority(a: &str, b: &str) -> Ordering {
    let slashes = |s: &str| s.bytes().filter(|&c| c == b'/').count();
    slashes(b)
        .cmp(&slashes(a))
        .then_with(|| b.len().cmp(&a.len()))
        .then_with(|| b.cmp(a))
}

fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.ends_with('/') {
        Ok(())
    } else {
        Err(Error::PrefixWithoutTrailingSlash {
            prefix: prefix.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use kapi_core::Body;

    /// A handler answering 200 with its own name, to see which route won.
    fn named(name: &'static str) -> BoxHandler {
        box_handler(tower::service_fn(move |_request: Request| async move {
            Ok::<_, Infallible>(text_response(StatusCode::OK, name))
        }))
    }

    async fn get(mux: &PathRecorderMux, uri: &str) -> (StatusCode, String) {
        let request = http::Request::get(uri).body(Body::empty()).unwrap();
        let response = mux.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn exact_before_prefix_most_specific_prefix_first() {
        let mux = PathRecorderMux::new("test");
        mux.handle("/apis", named("exact /apis"));
        mux.handle("/apis/", named("exact /apis/"));
        mux.handle_prefix("/apis/", named("prefix /apis/")).unwrap();
        mux.handle_prefix("/apis/apps/", named("prefix /apis/apps/"))
            .unwrap();
        mux.handle_prefix("/apis/apps/v1/", named("prefix /apis/apps/v1/"))
            .unwrap();
        mux.handle_prefix("/", named("prefix /")).unwrap();
        mux.handle_prefix("/longerprefix/", named("prefix /longerprefix/"))
            .unwrap();
        mux.handle_prefix("/long/", named("prefix /long/")).unwrap();

        let cases = [
            ("/apis", "exact /apis"),
            ("/apis/", "exact /apis/"),
            ("/apis/x", "prefix /apis/"),
            ("/apis/apps", "prefix /apis/"),
            ("/apis/apps/", "prefix /apis/apps/"),
            ("/apis/apps/v1", "prefix /apis/apps/"),
            ("/apis/apps/v1/deployments", "prefix /apis/apps/v1/"),
            ("/apis/apps/v1/deployments?watch=1", "prefix /apis/apps/v1/"),
            ("/apis?x=/apis/apps/", "exact /apis"),
            ("/longerprefix/a", "prefix /longerprefix/"),
            ("/long/a", "prefix /long/"),
            ("/longer", "prefix /"),
            ("/", "prefix /"),
            ("/other", "prefix /"),
            ("/apis%2Fapps%2Fv1%2Fx", "prefix /apis/apps/v1/"),
        ];
        for (uri, expected) in cases {
            assert_eq!(
                get(&mux, uri).await,
                (StatusCode::OK, expected.to_owned()),
                "{uri}"
            );
        }
    }

    #[test]
    fn prefix_priority_orders_by_segments_then_length() {
        let mut prefixes = vec!["/", "/a/", "/abc/", "/a/b/", "/ab/", "/a/bc/d/"];
        prefixes.sort_by(|a, b| prefix_priority(a, b));
        assert_eq!(prefixes, ["/a/bc/d/", "/a/b/", "/abc/", "/ab/", "/a/", "/"]);
    }

    #[tokio::test]
    async fn default_not_found_is_go_http_not_found() {
        let mux = PathRecorderMux::new("test");
        let request = http::Request::get("/missing").body(Body::empty()).unwrap();
        let response = mux.handler().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            response.headers()[http::header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"404 page not found\n");
    }

    #[tokio::test]
    async fn unmatched_requests_fall_through_to_a_custom_not_found_handler() {
        let mux = PathRecorderMux::new("test");
        mux.handle("/healthz", named("healthz"));
        mux.set_not_found_handler(named("delegate"));
        assert_eq!(get(&mux, "/healthz").await.1, "healthz");
        assert_eq!(get(&mux, "/healthz/").await.1, "delegate");
        assert_eq!(get(&mux, "/apis/x").await.1, "delegate");
    }

    #[tokio::test]
    async fn unregister_removes_route_and_listing() {
        let mux = PathRecorderMux::new("test");
        mux.handle("/metrics", named("metrics"));
        mux.handle_prefix("/debug/", named("debug")).unwrap();
        assert_eq!(mux.listed_paths(), ["/debug/", "/metrics"]);

        mux.unregister("/metrics");
        mux.unregister("/debug/");
        mux.unregister("/never-registered");
        assert!(mux.listed_paths().is_empty());
        assert_eq!(get(&mux, "/metrics").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&mux, "/debug/pprof").await.0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn listed_and_unlisted_registrations() {
        let mux = PathRecorderMux::new("test");
        mux.handle("/version", named("v"));
        mux.unlisted_handle("/", named("index"));
        mux.unlisted_handle("/index.html", named("index"));
        mux.handle_prefix("/openapi/", named("openapi")).unwrap();
        mux.unlisted_handle_prefix("/debug/", named("debug"))
            .unwrap();
        mux.handle("/healthz", named("h"));
        mux.handle("/healthz", named("h again"));
        assert_eq!(mux.listed_paths(), ["/healthz", "/openapi/", "/version"]);
    }

    #[tokio::test]
    async fn duplicate_registration_later_wins() {
        let mux = PathRecorderMux::new("test");
        mux.handle("/x", named("first"));
        mux.unlisted_handle("/x", named("second"));
        assert_eq!(get(&mux, "/x").await.1, "second");
        // Listing is kept from the first, listed registration, as in Go.
        assert_eq!(mux.listed_paths(), ["/x"]);
    }

    #[test]
    fn prefix_without_trailing_slash_is_rejected() {
        let mux = PathRecorderMux::new("test");
        for prefix in ["/debug", "", "/a/b"] {
            let err = mux.handle_prefix(prefix, named("x")).unwrap_err();
            assert!(matches!(err, Error::PrefixWithoutTrailingSlash { .. }));
            assert!(mux.unlisted_handle_prefix(prefix, named("x")).is_err());
        }
        assert_eq!(
            mux.handle_prefix("/debug", named("x"))
                .unwrap_err()
                .to_string(),
            r#"prefix "/debug" must end in a trailing slash"#
        );
        assert!(mux.listed_paths().is_empty());
    }

    #[tokio::test]
    async fn concurrent_registration_is_all_visible() {
        const THREADS: usize = 8;
        const PER_THREAD: usize = 40;
        let mux = PathRecorderMux::new("test");
        let barrier = Arc::new(std::sync::Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let mux = mux.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..PER_THREAD {
                        mux.handle(&format!("/t{t}/p{i}"), named("ok"));
                        mux.unlisted_handle_prefix(&format!("/t{t}/u{i}/"), named("ok"))
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }

        let listed = mux.listed_paths();
        assert_eq!(listed.len(), THREADS * PER_THREAD);
        for t in 0..THREADS {
            for i in 0..PER_THREAD {
                assert!(listed.contains(&format!("/t{t}/p{i}")));
                assert_eq!(get(&mux, &format!("/t{t}/p{i}")).await.0, StatusCode::OK);
                assert_eq!(get(&mux, &format!("/t{t}/u{i}/x")).await.0, StatusCode::OK);
            }
        }
    }

    #[tokio::test]
    async fn routes_added_after_cloning_are_seen_by_every_clone() {
        let mux = PathRecorderMux::new("test");
        let serving = mux.handler();
        mux.handle("/late", named("late"));
        let request = http::Request::get("/late").body(Body::empty()).unwrap();
        let response = serving.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
