//! Shared setup of the integration tests (included with `#[path]`): a
//! registry with the resources kapi serves, and helpers that drive a handler
//! once.

use http::{Request, Response};
use http_body_util::BodyExt;
use k8s_openapi::api::{coordination, core, events, rbac};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kapi_core::{Body, BoxHandler};
use kapi_openapi::{OpenApiService, ResourceSpec, Subresource};
use tower::ServiceExt;

/// A registry with kapi's built-in resources.
pub(crate) fn kapi_service() -> OpenApiService {
    let openapi = OpenApiService::new("v1.33.0");
    openapi.add_builtin::<core::v1::Namespace>(
        ResourceSpec::new("", "v1", "namespaces", "Namespace", false)
            .with_subresource(Subresource::Status)
            .with_subresource(Subresource::Finalize)
            .with_verbs([
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]),
    );
    openapi.add_builtin::<core::v1::ConfigMap>(ResourceSpec::new(
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        true,
    ));
    openapi.add_builtin::<core::v1::Secret>(ResourceSpec::new("", "v1", "secrets", "Secret", true));
    openapi.add_builtin::<core::v1::ServiceAccount>(
        ResourceSpec::new("", "v1", "serviceaccounts", "ServiceAccount", true)
            .with_delete_returns_object(true),
    );
    openapi.add_builtin::<core::v1::Event>(ResourceSpec::new("", "v1", "events", "Event", true));
    openapi.add_builtin::<events::v1::Event>(ResourceSpec::new(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        true,
    ));
    openapi.add_builtin::<coordination::v1::Lease>(ResourceSpec::new(
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
    ));
    for (resource, kind, namespaced) in [
        ("roles", "Role", true),
        ("rolebindings", "RoleBinding", true),
        ("clusterroles", "ClusterRole", false),
        ("clusterrolebindings", "ClusterRoleBinding", false),
    ] {
        let spec = ResourceSpec::new(
            "rbac.authorization.k8s.io",
            "v1",
            resource,
            kind,
            namespaced,
        );
        match kind {
            "Role" => openapi.add_builtin::<rbac::v1::Role>(spec),
            "RoleBinding" => openapi.add_builtin::<rbac::v1::RoleBinding>(spec),
            "ClusterRole" => openapi.add_builtin::<rbac::v1::ClusterRole>(spec),
            _ => openapi.add_builtin::<rbac::v1::ClusterRoleBinding>(spec),
        }
    }
    openapi.add_builtin::<CustomResourceDefinition>(
        ResourceSpec::new(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        )
        .with_subresource(Subresource::Status),
    );
    openapi
}

/// Sends one request through a handler and returns the response with its body.
pub(crate) async fn send(
    handler: &BoxHandler,
    request: Request<Body>,
) -> (Response<Body>, bytes::Bytes) {
    let response = handler.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (Response::from_parts(parts, Body::empty()), bytes)
}

/// A GET request with optional headers.
pub(crate) fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}
