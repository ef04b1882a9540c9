//! The index at `/` and `/index.html`: every listed path of a server and its
//! delegates, as `{"paths":[...]}`.
//!
//! Mirrors `routes.Index`, `routes.IndexLister`, `routes.ListedPathProvider`
//! and `routes.ListedPathProviders`.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, StatusCode, header};
use kapi_core::{Body, BoxHandler, Request, Response, box_handler};
use kapi_mux::PathRecorderMux;
use serde::Serialize;

use crate::go_json::to_indented_json;

/// Something that knows paths to show at `/` (Go: `ListedPathProvider`).
pub trait ListedPathProvider: Send + Sync {
    /// The paths to list; the index sorts them and drops duplicates.
    fn listed_paths(&self) -> Vec<String>;
}

impl ListedPathProvider for PathRecorderMux {
    fn listed_paths(&self) -> Vec<String> {
        PathRecorderMux::listed_paths(self)
    }
}

/// Any closure returning paths, e.g. a delegate server's listing.
impl<F> ListedPathProvider for F
where
    F: Fn() -> Vec<String> + Send + Sync + ?Sized,
{
    fn listed_paths(&self) -> Vec<String> {
        self()
    }
}

impl<P: ListedPathProvider + ?Sized> ListedPathProvider for Arc<P> {
    fn listed_paths(&self) -> Vec<String> {
        (**self).listed_paths()
    }
}

/// The union of several providers, sorted and without duplicates (Go:
/// `ListedPathProviders`): a server's own paths plus its delegate's.
#[derive(Clone, Default)]
pub struct ListedPathProviders(pub Vec<Arc<dyn ListedPathProvider>>);

impl ListedPathProvider for ListedPathProviders {
    fn listed_paths(&self) -> Vec<String> {
        let union: BTreeSet<String> = self.0.iter().flat_map(|p| p.listed_paths()).collect();
        union.into_iter().collect()
    }
}

impl fmt::Debug for ListedPathProviders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListedPathProviders")
            .field("providers", &self.0.len())
            .finish()
    }
}

/// The index page (Go: `routes.Index`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Index;

impl Index {
    /// Serves the paths of `provider` at `/` and `/index.html` (unlisted), 200.
    pub fn install(provider: Arc<dyn ListedPathProvider>, mux: &PathRecorderMux) {
        let handler = index_lister_handler(provider, StatusCode::OK);
        mux.unlisted_handle("/", handler.clone());
        mux.unlisted_handle("/index.html", handler);
    }
}

/// A handler answering any request with `status` and the JSON index of
/// `provider` (Go: `IndexLister`).
///
/// With 404 it is the not-found handler of the last server of a delegation
/// chain: unknown paths get the index instead of a bare "404 page not found".
pub fn index_lister_handler(
    provider: Arc<dyn ListedPathProvider>,
    status: StatusCode,
) -> BoxHandler {
    box_handler(tower::service_fn(move |_request: Request| {
        let provider = Arc::clone(&provider);
        async move { Ok::<_, Infallible>(index_response(&*provider, status)) }
    }))
}

/// `metav1.RootPaths`.
#[derive(Serialize)]
struct RootPaths {
    paths: Vec<String>,
}

fn index_response(provider: &dyn ListedPathProvider, status: StatusCode) -> Response {
    let mut paths = provider.listed_paths();
    paths.sort();
    paths.dedup();
    let mut response = Response::new(Body::from(to_indented_json(&RootPaths { paths })));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
