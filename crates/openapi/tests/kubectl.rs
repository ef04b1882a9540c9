//! End to end with kubectl: the OpenAPI handlers served over plain HTTP on
//! 127.0.0.1 next to a minimal discovery stub and a stub create endpoint,
//! driven by every kubectl found (`kubectl` on the PATH and the
//! `kubectl.1.NN` binaries beside it).
//!
//! Checked per version: `kubectl explain configmaps.data`, `kubectl explain
//! leases.spec --api-version=coordination.k8s.io/v1`, `kubectl explain
//! configmaps --output plaintext-openapiv2` (OpenAPI v2 as protobuf), and
//! that `kubectl create -f` detects server-side field validation from the v3
//! document (it then sends `fieldValidation=Strict` instead of validating on
//! the client).
//!
//! Skipped with a printed reason when kubectl is missing; fails then when
//! `CI=true`.

#[path = "support/registry.rs"]
#[allow(dead_code)] // the handler helpers serve the oneshot tests
mod registry;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use kapi_core::{Body, BoxHandler, Request, Response};
use serde_json::json;
use tower::ServiceExt;

/// Every kubectl binary to drive: the one on the PATH and its versioned
/// siblings.
fn kubectl_binaries() -> Vec<PathBuf> {
    let Some(path) = std::env::var_os("PATH") else {
        return Vec::new();
    };
    let Some(found) = std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
    else {
        return Vec::new();
    };
    let mut binaries = vec![found.clone()];
    let resolved = std::fs::canonicalize(&found).unwrap_or(found);
    if let Some(dir) = resolved.parent()
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let mut versioned: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("kubectl.1."))
            })
            .collect();
        versioned.sort();
        binaries.extend(versioned);
    }
    binaries
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn resource(name: &str, kind: &str, namespaced: bool) -> serde_json::Value {
    json!({
        "name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind,
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    })
}

/// Legacy discovery for the resources the test explains, and a create
/// endpoint that echoes the object and records the request URI.
async fn stub(request: Request, seen: Arc<Mutex<Vec<String>>>) -> Response {
    let path = request.uri().path().to_owned();
    match (request.method().clone(), path.as_str()) {
        (Method::GET, "/api") => json_response(
            StatusCode::OK,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        (Method::GET, "/apis") => json_response(
            StatusCode::OK,
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
                "name": "coordination.k8s.io",
                "versions": [{"groupVersion": "coordination.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "coordination.k8s.io/v1", "version": "v1"},
            }]}),
        ),
        (Method::GET, "/api/v1") => json_response(
            StatusCode::OK,
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                resource("configmaps", "ConfigMap", true), resource("namespaces", "Namespace", false)]}),
        ),
        (Method::GET, "/apis/coordination.k8s.io/v1") => json_response(
            StatusCode::OK,
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "coordination.k8s.io/v1",
                   "resources": [resource("leases", "Lease", true)]}),
        ),
        (Method::POST, "/api/v1/namespaces/default/configmaps") => {
            if let Ok(mut seen) = seen.lock() {
                seen.push(request.uri().to_string());
            }
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let mut object: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            object["metadata"]["namespace"] = json!("default");
            object["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000001");
            object["metadata"]["resourceVersion"] = json!("1");
            json_response(StatusCode::CREATED, object)
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                   "message": "the server could not find the requested resource"}),
        ),
    }
}

struct Server {
    address: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn start() -> Server {
    let openapi = registry::kapi_service();
    let v2 = openapi.v2_handler();
    let v3 = openapi.v3_handler();
    let v3_group = openapi.v3_group_version_handler();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in_service = Arc::clone(&seen);
    let service = tower::service_fn(move |request: Request| {
        let (v2, v3, v3_group, seen) = (
            v2.clone(),
            v3.clone(),
            v3_group.clone(),
            Arc::clone(&seen_in_service),
        );
        async move {
            let path = request.uri().path().to_owned();
            let handler: Option<BoxHandler> = match path.as_str() {
                "/openapi/v2" => Some(v2),
                "/openapi/v3" => Some(v3),
                p if p.starts_with("/openapi/v3/") => Some(v3_group),
                _ => None,
            };
            let response = match handler {
                Some(handler) => handler
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|never| match never {}),
                None => stub(request, seen).await,
            };
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback_service(service);
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Server { address, seen }
}

fn kubeconfig(dir: &Path, address: std::net::SocketAddr) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kapi\n  cluster:\n    server: http://{address}\n\
         users:\n- name: kapi\n  user: {{}}\ncontexts:\n- name: kapi\n  context:\n    cluster: kapi\n    user: kapi\n    namespace: default\n\
         current-context: kapi\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn kubectl(binary: &Path, config: &Path, cache: &Path, args: &[&str]) -> Run {
    let output = Command::new(binary)
        .arg("--kubeconfig")
        .arg(config)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env("HOME", cache)
        .output()
        .unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn expect(binary: &Path, args: &[&str], run: &Run, needles: &[&str]) {
    assert!(
        run.ok,
        "{} {args:?} failed:\n{}\n{}",
        binary.display(),
        run.stdout,
        run.stderr
    );
    for needle in needles {
        assert!(
            run.stdout.contains(needle),
            "{} {args:?}: {needle:?} missing from:\n{}",
            binary.display(),
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_and_field_validation() {
    let binaries = kubectl_binaries();
    if binaries.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required when CI=true"
        );
        eprintln!("skipping: kubectl not found on PATH");
        return;
    }
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.address);
    let manifest = dir.path().join("configmap.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: b\n",
    )
    .unwrap();

    for binary in binaries {
        let cache = tempfile::tempdir().unwrap();
        let (binary, config, cache_path, manifest) = (
            binary.clone(),
            config.clone(),
            cache.path().to_owned(),
            manifest.clone(),
        );
        let seen = Arc::clone(&server.seen);
        tokio::task::spawn_blocking(move || {
            eprintln!("driving {}", binary.display());
            let args = ["explain", "configmaps.data"];
            let run = kubectl(&binary, &config, &cache_path, &args);
            expect(
                &binary,
                &args,
                &run,
                &["KIND:", "ConfigMap", "VERSION:", "v1", "data"],
            );

            let args = [
                "explain",
                "leases.spec",
                "--api-version=coordination.k8s.io/v1",
            ];
            let run = kubectl(&binary, &config, &cache_path, &args);
            expect(
                &binary,
                &args,
                &run,
                &["coordination.k8s.io", "Lease", "holderIdentity"],
            );

            let args = ["explain", "configmaps", "--output", "plaintext-openapiv2"];
            let run = kubectl(&binary, &config, &cache_path, &args);
            expect(&binary, &args, &run, &["KIND:", "ConfigMap", "immutable"]);

            seen.lock().unwrap().clear();
            let file = manifest.to_string_lossy().into_owned();
            let args = ["create", "-f", file.as_str()];
            let run = kubectl(&binary, &config, &cache_path, &args);
            expect(&binary, &args, &run, &["configmap/demo created"]);
            let uris = seen.lock().unwrap().clone();
            assert!(
                uris.iter()
                    .any(|uri| uri.contains("fieldValidation=Strict")),
                "{}: kubectl did not detect server-side field validation: {uris:?}",
                binary.display()
            );
        })
        .await
        .unwrap();
    }
}
