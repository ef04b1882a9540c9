//! The index and `/version` driven through a `PathRecorderMux`, compared
//! byte for byte with what kube-apiserver writes.

use std::sync::Arc;

use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use k8s_openapi::apimachinery::pkg::version::Info;
use kapi_core::{Body, box_handler, text_response};
use kapi_mux::PathRecorderMux;
use kapi_routes::{
    Index, ListedPathProvider, ListedPathProviders, Version, index_lister_handler, version_info,
};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn send(mux: &PathRecorderMux, method: Method, uri: &str, accept: Option<&str>) -> Answer {
    let mut request = http::Request::builder().method(method).uri(uri);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let response = mux
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(mux: &PathRecorderMux, uri: &str) -> Answer {
    send(mux, Method::GET, uri, None).await
}

fn ok_handler() -> kapi_core::BoxHandler {
    box_handler(tower::service_fn(|_req: kapi_core::Request| async {
        Ok::<_, std::convert::Infallible>(text_response(StatusCode::OK, "ok"))
    }))
}

/// A server's mux plus a delegate that lists overlapping paths.
fn delegating_server() -> (PathRecorderMux, Arc<dyn ListedPathProvider>) {
    let mux = PathRecorderMux::new("test");
    mux.handle("/healthz", ok_handler());
    mux.handle("/healthz/ping", ok_handler());
    mux.handle_prefix("/openapi/", ok_handler()).unwrap();
    mux.unlisted_handle("/debug/flags", ok_handler());
    Version::install(version_info(), &mux);
    let delegate = || {
        vec![
            "/apis".to_owned(),
            "/api/v1".to_owned(),
            "/healthz".to_owned(),
            "/api".to_owned(),
        ]
    };
    let provider: Arc<dyn ListedPathProvider> = Arc::new(ListedPathProviders(vec![
        Arc::new(mux.clone()),
        Arc::new(delegate),
    ]));
    (mux, provider)
}

const INDEX: &str = r#"{
  "paths": [
    "/api",
    "/api/v1",
    "/apis",
    "/healthz",
    "/healthz/ping",
    "/openapi/",
    "/version"
  ]
}"#;

#[tokio::test]
async fn index_lists_own_and_delegate_paths() {
    let (mux, provider) = delegating_server();
    Index::install(provider, &mux);
    for (method, uri) in [
        (Method::GET, "/"),
        (Method::GET, "/index.html"),
        (Method::GET, "/?x=1"),
        (Method::POST, "/"),
    ] {
        let answer = send(&mux, method.clone(), uri, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{method} {uri}");
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(answer.body, INDEX, "{method} {uri}");
    }
    // The index routes themselves are unlisted.
    assert!(
        !mux.listed_paths()
            .iter()
            .any(|p| p == "/" || p == "/index.html")
    );
}

#[tokio::test]
async fn index_lister_is_the_final_not_found_handler() {
    let (mux, provider) = delegating_server();
    mux.set_not_found_handler(index_lister_handler(provider, StatusCode::NOT_FOUND));
    for uri in ["/nope", "/apis/apps/v1", "/healthz/"] {
        let answer = get(&mux, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(answer.body, INDEX, "{uri}");
    }
}

#[tokio::test]
async fn empty_index() {
    let mux = PathRecorderMux::new("test");
    Index::install(Arc::new(mux.clone()), &mux);
    assert_eq!(get(&mux, "/").await.body, "{\n  \"paths\": []\n}");
}

#[tokio::test]
async fn version_body_is_go_marshal_indent_in_go_field_order() {
    let info = Info {
        major: "1".into(),
        minor: "33".into(),
        emulation_major: Some("1".into()),
        emulation_minor: Some("33".into()),
        min_compatibility_major: Some("1".into()),
        min_compatibility_minor: Some("32".into()),
        git_version: "v1.33.0+kapi-0.1.0".into(),
        git_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        git_tree_state: "clean".into(),
        build_date: "2026-05-01T12:00:00Z".into(),
        go_version: "rustc 1.95.0 (aaaaaaaaa 2026-04-30)".into(),
        compiler: "rustc".into(),
        platform: "linux/amd64".into(),
    };
    let expected = r#"{
  "major": "1",
  "minor": "33",
  "emulationMajor": "1",
  "emulationMinor": "33",
  "minCompatibilityMajor": "1",
  "minCompatibilityMinor": "32",
  "gitVersion": "v1.33.0+kapi-0.1.0",
  "gitCommit": "0123456789abcdef0123456789abcdef01234567",
  "gitTreeState": "clean",
  "buildDate": "2026-05-01T12:00:00Z",
  "goVersion": "rustc 1.95.0 (aaaaaaaaa 2026-04-30)",
  "compiler": "rustc",
  "platform": "linux/amd64"
}"#;
    let mux = PathRecorderMux::new("test");
    Version::install(info.clone(), &mux);
    let answer = get(&mux, "/version").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.body, expected);
    assert_eq!(mux.listed_paths(), ["/version"]);

    // Empty emulation and compatibility fields are omitted, as Go's omitempty does.
    let older = Info {
        emulation_major: None,
        emulation_minor: None,
        min_compatibility_major: None,
        min_compatibility_minor: Some(String::new()),
        ..info
    };
    let mux = PathRecorderMux::new("test");
    Version::install(older, &mux);
    let body = get(&mux, "/version").await.body;
    assert!(
        !body.contains("emulation") && !body.contains("minCompatibility"),
        "{body}"
    );
}

#[tokio::test]
async fn version_info_carries_kapi_build_facts() {
    let mux = PathRecorderMux::new("test");
    Version::install(version_info(), &mux);
    let answer = get(&mux, "/version").await;
    let info: Info = serde_json::from_str(&answer.body).unwrap();

    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "33"));
    assert_eq!(info.emulation_minor.as_deref(), Some("33"));
    assert_eq!(info.min_compatibility_minor.as_deref(), Some("32"));
    assert_eq!(
        info.git_version,
        format!("v1.33.0+kapi-{}", env!("CARGO_PKG_VERSION"))
    );
    assert_semver(&info.git_version);
    assert!(
        info.git_commit.is_empty()
            || (info.git_commit.len() == 40
                && info.git_commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{}",
        info.git_commit
    );
    assert!(["clean", "dirty", ""].contains(&info.git_tree_state.as_str()));
    assert_rfc3339_utc(&info.build_date);
    assert!(info.go_version.starts_with("rustc "), "{}", info.go_version);
    assert_eq!(info.compiler, "rustc");
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        assert_eq!(info.platform, "linux/amd64");
    }
    if cfg!(all(target_os = "linux", target_arch = "aarch64")) {
        assert_eq!(info.platform, "linux/arm64");
    }
}

/// `vMAJOR.MINOR.PATCH+build`, the shape kubectl's semver parser accepts.
fn assert_semver(version: &str) {
    let rest = version.strip_prefix('v').expect("leading v");
    let (core, build) = rest.split_once('+').expect("build metadata");
    let numbers: Vec<&str> = core.split('.').collect();
    assert_eq!(numbers.len(), 3, "{version}");
    assert!(
        numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(
        build
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn assert_rfc3339_utc(date: &str) {
    let shape: String = date
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "{date}");
}

/// method, URI, `Accept`, expected status, expected `Status` body (`None`: a version body).
type Case<'a> = (
    Method,
    &'a str,
    Option<&'a str>,
    StatusCode,
    Option<&'a serde_json::Value>,
);

#[tokio::test]
async fn version_refusals_are_go_restful_status_errors() {
    let mux = PathRecorderMux::new("test");
    Version::install(version_info(), &mux);

    let status = |answer: &Answer| -> serde_json::Value {
        assert_eq!(answer.content_type, "application/json");
        serde_json::from_str(&answer.body).unwrap()
    };
    let failure = |code: u16, reason: &str, message: &str| {
        serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": {},
            "code": code,
        })
    };
    let method_not_allowed = failure(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    );
    let not_acceptable = failure(
        406,
        "NotAcceptable",
        "406: Not Acceptable\n\nAvailable representations: application/json",
    );
    let not_found = failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );

    let cases: &[Case<'_>] = &[
        (Method::GET, "/version", None, StatusCode::OK, None),
        (Method::GET, "/version/", None, StatusCode::OK, None),
        (
            Method::GET,
            "/version",
            Some("application/json, */*"),
            StatusCode::OK,
            None,
        ),
        (
            Method::GET,
            "/version",
            Some("*/*;q=0.8"),
            StatusCode::OK,
            None,
        ),
        (
            Method::GET,
            "/version",
            Some("application/json;as=Table;v=v1;g=meta.k8s.io"),
            StatusCode::OK,
            None,
        ),
        (
            Method::POST,
            "/version",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            Some(&method_not_allowed),
        ),
        (
            Method::PUT,
            "/version/",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            Some(&method_not_allowed),
        ),
        (
            Method::DELETE,
            "/version",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            Some(&method_not_allowed),
        ),
        (
            Method::HEAD,
            "/version",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            Some(&method_not_allowed),
        ),
        (
            Method::GET,
            "/version",
            Some("application/yaml"),
            StatusCode::NOT_ACCEPTABLE,
            Some(&not_acceptable),
        ),
        (
            Method::GET,
            "/version",
            Some("application/*"),
            StatusCode::NOT_ACCEPTABLE,
            Some(&not_acceptable),
        ),
        (
            Method::GET,
            "/version/x",
            None,
            StatusCode::NOT_FOUND,
            Some(&not_found),
        ),
        (
            Method::POST,
            "/version/x",
            None,
            StatusCode::NOT_FOUND,
            Some(&not_found),
        ),
    ];
    for (method, uri, accept, code, body) in cases {
        let answer = send(&mux, method.clone(), uri, *accept).await;
        assert_eq!(answer.status, *code, "{method} {uri} {accept:?}");
        match body {
            Some(expected) => assert_eq!(&status(&answer), *expected, "{method} {uri}"),
            None => {
                let _: Info = serde_json::from_str(&answer.body).unwrap();
            }
        }
    }
    // /versionx is not the version route.
    assert_eq!(get(&mux, "/versionx").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&mux, "/versionx").await.body, "404 page not found\n");
}

#[test]
fn providers_from_closures_and_shared_closures() {
    let closure = || vec!["/b".to_owned(), "/a".to_owned()];
    let shared: Arc<dyn Fn() -> Vec<String> + Send + Sync> = Arc::new(|| vec!["/a".to_owned()]);
    let union = ListedPathProviders(vec![Arc::new(closure), Arc::new(shared)]);
    assert_eq!(union.listed_paths(), ["/a", "/b"]);
}
