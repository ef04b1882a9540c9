//! `/version`: the server's `version.Info`, and the facts kapi reports in it.
//!
//! Mirrors `routes.Version`. In kube-apiserver `/version` is a go-restful web
//! service with one `GET` route producing JSON, so the refusals here are the
//! ones go-restful produces, rendered as a `Status` the way kube-apiserver's
//! service error handler does (`NewGenericServerResponse`).

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusDetails;
use k8s_openapi::apimachinery::pkg::version::Info;
use kapi_core::{Body, Request, Response, StatusError, StatusReason, box_handler};
use kapi_mux::PathRecorderMux;
use serde::Serialize;
use std::convert::Infallible;

use crate::go_json::to_indented_json;
use crate::platform::go_platform;

/// The Kubernetes release whose API kapi serves: the version of the
/// `k8s-openapi` feature the workspace enables (`v1_33`). Change it together
/// with that feature; a test checks they agree.
pub(crate) const KUBERNETES_VERSION: (u32, u32, u32) = (1, 33, 0);

/// The `/version` route (Go: `routes.Version`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Version;

impl Version {
    /// Serves `info` at `/version` (listed) and `/version/`.
    ///
    /// `GET` answers 200 with the JSON `info`; other methods 405, an `Accept`
    /// without `application/json` or `*/*` 406, and deeper paths such as
    /// `/version/x` 404, each as a JSON `Status`.
    pub fn install(info: Info, mux: &PathRecorderMux) {
        let body = Bytes::from(to_indented_json(&GoInfo::from(&info)));
        let handler = box_handler(tower::service_fn(move |request: Request| {
            let body = body.clone();
            async move { Ok::<_, Infallible>(serve_version(&request, body)) }
        }));
        mux.handle("/version", handler.clone());
        // Go's director hands all of /version/... to go-restful, never to the
        // delegate; the handler answers 404 below /version/ itself.
        // Invariant: the prefix ends in '/', the only way registration fails.
        mux.unlisted_handle_prefix("/version/", handler)
            .expect("\"/version/\" ends in a slash");
    }
}

/// kapi's own `version.Info`.
///
/// - `major`, `minor`, `gitVersion`: the Kubernetes API level kapi serves,
///   with kapi's version as semver build metadata, `v1.33.0+kapi-0.1.0` (k3s'
///   convention), so that kubectl's version parsing and skew warning work;
/// - `emulationMajor`/`emulationMinor` equal to the binary version and
///   `minCompatibilityMajor`/`minCompatibilityMinor` one minor release back,
///   as kube-apiserver reports them;
/// - `gitCommit`, `gitTreeState` (`clean`/`dirty`), `buildDate` (RFC 3339,
///   UTC, honouring `SOURCE_DATE_EPOCH`): captured at build time, empty where
///   git was not available;
/// - `goVersion`: the `rustc --version` that built kapi; `compiler`: `rustc`;
/// - `platform`: `<os>/<arch>` in Go's names (`linux/amd64`, `darwin/arm64`).
pub fn version_info() -> Info {
    let (major, minor, patch) = KUBERNETES_VERSION;
    Info {
        major: major.to_string(),
        minor: minor.to_string(),
        emulation_major: Some(major.to_string()),
        emulation_minor: Some(minor.to_string()),
        min_compatibility_major: Some(major.to_string()),
        min_compatibility_minor: Some(minor.saturating_sub(1).to_string()),
        git_version: format!(
            "v{major}.{minor}.{patch}+kapi-{}",
            env!("CARGO_PKG_VERSION")
        ),
        git_commit: env!("KAPI_BUILD_GIT_COMMIT").to_owned(),
        git_tree_state: env!("KAPI_BUILD_GIT_TREE_STATE").to_owned(),
        build_date: env!("KAPI_BUILD_DATE").to_owned(),
        go_version: env!("KAPI_BUILD_RUSTC_VERSION").to_owned(),
        compiler: "rustc".to_owned(),
        platform: go_platform(
            std::env::consts::OS,
            std::env::consts::ARCH,
            cfg!(target_endian = "little"),
        ),
    }
}

/// `version.Info` in Go's field order (k8s-openapi writes keys sorted), with
/// the emulation and compatibility fields omitted when empty (`omitempty`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoInfo<'a> {
    major: &'a str,
    minor: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    emulation_major: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    emulation_minor: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    min_compatibility_major: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    min_compatibility_minor: &'a str,
    git_version: &'a str,
    git_commit: &'a str,
    git_tree_state: &'a str,
    build_date: &'a str,
    go_version: &'a str,
    compiler: &'a str,
    platform: &'a str,
}

impl<'a> From<&'a Info> for GoInfo<'a> {
    fn from(info: &'a Info) -> Self {
        Self {
            major: &info.major,
            minor: &info.minor,
            emulation_major: info.emulation_major.as_deref().unwrap_or_default(),
            emulation_minor: info.emulation_minor.as_deref().unwrap_or_default(),
            min_compatibility_major: info.min_compatibility_major.as_deref().unwrap_or_default(),
            min_compatibility_minor: info.min_compatibility_minor.as_deref().unwrap_or_default(),
            git_version: &info.git_version,
            git_commit: &info.git_commit,
            git_tree_state: &info.git_tree_state,
            build_date: &info.build_date,
            go_version: &info.go_version,
            compiler: &info.compiler,
            platform: &info.platform,
        }
    }
}

/// The one media type the route produces.
const PRODUCES: &str = "application/json";

/// go-restful's route selection, in its order: path, method, `Accept`.
fn serve_version(request: &Request, body: Bytes) -> Response {
    let below = request
        .uri()
        .path()
        .strip_prefix("/version")
        .unwrap_or_default();
    if !below.bytes().all(|b| b == b'/') {
        return StatusError::not_found_generic().into_response();
    }
    if request.method() != Method::GET {
        return generic_status(
            StatusCode::METHOD_NOT_ALLOWED,
            StatusReason::MethodNotAllowed,
            "the server does not allow this method on the requested resource".to_owned(),
        );
    }
    if !accepts_json(request) {
        return generic_status(
            StatusCode::NOT_ACCEPTABLE,
            StatusReason::NotAcceptable,
            format!("406: Not Acceptable\n\nAvailable representations: {PRODUCES}"),
        );
    }
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PRODUCES));
    response
}

/// go-restful's `Accept` match: the first header value, split on `,`,
/// parameters dropped; `*/*` or exactly the produced type (no `application/*`).
fn accepts_json(request: &Request) -> bool {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    if accept.is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let media_type = range.split(';').next().unwrap_or_default().trim();
        media_type == "*/*" || media_type == PRODUCES
    })
}

/// A `Status` as `NewGenericServerResponse` builds it: empty details.
fn generic_status(code: StatusCode, reason: StatusReason, message: String) -> Response {
    StatusError::new(code, reason, message)
        .with_details(StatusDetails::default())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::KUBERNETES_VERSION;

    #[test]
    fn kubernetes_version_is_the_k8s_openapi_feature() {
        // Exactly one of k8s-openapi's version macros expands, defining the constant.
        k8s_openapi::k8s_if_1_33! { const FEATURE_MINOR: u32 = 33; }
        k8s_openapi::k8s_if_1_34! { const FEATURE_MINOR: u32 = 34; }
        k8s_openapi::k8s_if_1_35! { const FEATURE_MINOR: u32 = 35; }
        k8s_openapi::k8s_if_1_36! { const FEATURE_MINOR: u32 = 36; }
        k8s_openapi::k8s_if_1_37! { const FEATURE_MINOR: u32 = 37; }
        assert_eq!(FEATURE_MINOR, KUBERNETES_VERSION.1);
    }
}
