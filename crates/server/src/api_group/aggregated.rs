//! Aggregated discovery: the `apidiscovery.k8s.io/v2`
//! `APIGroupDiscoveryList` served on `/api` and `/apis` when the `Accept`
//! header asks for it, with its `ETag`, `Vary: Accept`,
//! `Cache-Control: public` and the 304 answer to a matching
//! `If-None-Match`.
//!
//! Mirrors `pkg/endpoints/discovery/aggregated` (`handler.go`,
//! `etag.go`, `negotiation.go`, `wrapper.go`) with the
//! `AggregatedDiscoveryRemoveBetaType` gate locked on: only `v2` is
//! aggregated, so an `Accept` naming only `v2beta1` reaches the legacy
//! handler, which refuses it with 406. k8s-openapi 0.29 (`v1_33`) has no
//! `apidiscovery` types, so the wire types live here, their fields in Go's
//! order so the `ETag` hashes the same bytes as kube-apiserver's.
//!
//! Deliberate differences from Go: no peer-aggregated discovery (the
//! `profile=nopeer` parameter is accepted and ignored), and every group
//! has Go's default priority, as on a generic server without the
//! aggregator: groups are ordered by name, versions by Kubernetes version order (`v2`, `v1`,
//! `v1beta1`, `v1alpha1`).

use std::cmp::Ordering;

use http::{HeaderValue, StatusCode, header};
use kapi_core::negotiation::{Endpoint, SUPPORTED_MEDIA_TYPES, negotiate_output};
use kapi_core::{Body, Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha512};

use super::InstalledResource;

/// One group of aggregated discovery (Go: `APIGroupDiscovery`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GroupDiscovery {
    metadata: GroupMeta,
    versions: Vec<VersionDiscovery>,
}

impl GroupDiscovery {
    /// The group's name (`""` for the core group).
    pub(crate) fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// Builds the discovery entry of `group` from its served `versions` and
/// their resources.
pub(crate) fn group_discovery<'a>(
    group: &str,
    versions: impl IntoIterator<Item = (&'a str, &'a [InstalledResource])>,
) -> GroupDiscovery {
    let mut versions: Vec<VersionDiscovery> = versions
        .into_iter()
        .map(|(version, resources)| {
            let mut resources: Vec<ResourceEntry> = resources
                .iter()
                .filter(|r| r.endpoint.info().subresource.is_empty())
                .map(|r| resource_entry(r, resources))
                .collect();
            // Go installs a version's paths sorted, so its resources are too.
            resources.sort_by(|a, b| a.resource.cmp(&b.resource));
            VersionDiscovery {
                version: version.to_owned(),
                resources,
                freshness: "Current",
            }
        })
        .collect();
    versions.sort_by(|a, b| compare_kube_aware_versions(&a.version, &b.version));
    GroupDiscovery {
        metadata: GroupMeta {
            name: group.to_owned(),
        },
        versions,
    }
}

/// Answers `request` with the aggregated document of `groups` when its
/// `Accept` asks for `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`
/// (Go: `WrappedHandler.ServeHTTP`); `None` leaves it to the legacy
/// handler.
pub(crate) fn serve(request: &Request, groups: &[GroupDiscovery]) -> Option<Response> {
    let negotiated = negotiate_output(
        request.headers().get(header::ACCEPT),
        &SUPPORTED_MEDIA_TYPES,
        Endpoint::Discovery,
    )
    .ok()
    // A missing Accept negotiates plain JSON, which is the legacy document.
    .filter(|negotiated| negotiated.target.is_some())?;
    let mut groups = groups.to_vec();
    groups.sort_by(|a, b| a.name().cmp(b.name()));
    let (body, etag) = document(&groups);
    let mut response = if request
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == etag.as_bytes())
    {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::from(body));
        // The media type and the g/v/as parameters are plain ASCII.
        if let Ok(value) = HeaderValue::from_str(&negotiated.content_type_with_target()) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    let headers = response.headers_mut();
    // A quoted hex digest is a valid header value.
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    Some(response)
}

/// The response body (with its type, and the newline Go's encoder ends
/// with) and the quoted `ETag`: the uppercase hex SHA-512 of the list as Go
/// marshals it before typing it, without `kind` and `apiVersion`.
fn document(groups: &[GroupDiscovery]) -> (Vec<u8>, String) {
    let untyped = DiscoveryList {
        kind: None,
        api_version: None,
        metadata: Empty {},
        items: groups,
    };
    // These structs of strings and vectors serialize without fail.
    let hashed = serde_json::to_vec(&untyped).unwrap_or_default();
    let digest = Sha512::digest(&hashed);
    let mut etag = String::with_capacity(2 + 2 * digest.len());
    etag.push('"');
    for byte in digest {
        etag.push_str(&format!("{byte:02X}"));
    }
    etag.push('"');
    let typed = DiscoveryList {
        kind: Some("APIGroupDiscoveryList"),
        api_version: Some("apidiscovery.k8s.io/v2"),
        ..untyped
    };
    let mut body = serde_json::to_vec(&typed).unwrap_or_default();
    body.push(b'\n');
    (body, etag)
}

/// Go: `APIGroupDiscoveryList`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DiscoveryList<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    metadata: Empty,
    items: &'a [GroupDiscovery],
}

/// An empty `ListMeta`, written `{}` as Go does.
#[derive(Serialize)]
struct Empty {}

/// The `ObjectMeta` of a group: only its name, left out when empty.
#[derive(Debug, Clone, Serialize)]
struct GroupMeta {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
}

/// Go: `APIVersionDiscovery`.
#[derive(Debug, Clone, Serialize)]
struct VersionDiscovery {
    version: String,
    resources: Vec<ResourceEntry>,
    freshness: &'static str,
}

/// Go: `APIResourceDiscovery`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceEntry {
    resource: String,
    response_kind: GroupVersionKind,
    scope: &'static str,
    singular_resource: String,
    verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    short_names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    categories: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subresources: Vec<SubresourceEntry>,
}

/// Go: `APISubresourceDiscovery`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubresourceEntry {
    subresource: String,
    response_kind: GroupVersionKind,
    verbs: Vec<String>,
}

/// Go: `metav1.GroupVersionKind`.
#[derive(Debug, Clone, Serialize)]
struct GroupVersionKind {
    group: String,
    version: String,
    kind: String,
}

/// The entry of a resource, with the subresources among `all` nested in it
/// (sorted by name, as Go's installer registers them).
fn resource_entry(resource: &InstalledResource, all: &[InstalledResource]) -> ResourceEntry {
    let info = resource.endpoint.info();
    let mut verbs = info.verbs.clone();
    verbs.sort();
    let mut subresources: Vec<SubresourceEntry> = all
        .iter()
        .filter(|sub| {
            let sub = sub.endpoint.info();
            !sub.subresource.is_empty() && sub.resource == info.resource
        })
        .map(|sub| {
            let sub_info = sub.endpoint.info();
            let mut verbs = sub_info.verbs.clone();
            verbs.sort();
            let response_kind = match &sub.discovery.response_kind {
                Some(kind) => GroupVersionKind {
                    group: kind.group.clone(),
                    version: kind.version.clone(),
                    kind: kind.kind.clone(),
                },
                None => GroupVersionKind {
                    group: sub_info.group.clone(),
                    version: sub_info.version.clone(),
                    kind: sub_info.kind.clone(),
                },
            };
            SubresourceEntry {
                subresource: sub_info.subresource.clone(),
                response_kind,
                verbs,
            }
        })
        .collect();
    subresources.sort_by(|a, b| a.subresource.cmp(&b.subresource));
    ResourceEntry {
        resource: info.resource.clone(),
        response_kind: GroupVersionKind {
            group: info.group.clone(),
            version: info.version.clone(),
            kind: info.kind.clone(),
        },
        scope: if info.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        },
        singular_resource: resource.discovery.singular_name.clone(),
        verbs,
        short_names: resource.discovery.short_names.clone(),
        categories: resource.discovery.categories.clone(),
        subresources,
    }
}

/// Orders versions most preferred first (Go:
/// `CompareKubeAwareVersionStrings`, descending): Kubernetes-like versions
/// before others, GA before beta before alpha, then higher major, then
/// higher minor; other versions alphabetically.
fn compare_kube_aware_versions(a: &str, b: &str) -> Ordering {
    match (parse_kube_version(a), parse_kube_version(b)) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// `v<major>[(alpha|beta)<minor>]` as (stability, major, minor), where GA
/// ranks 2, beta 1, alpha 0; `None` for anything else.
fn parse_kube_version(version: &str) -> Option<(u8, u64, u64)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let major = parse_number(&rest[..digits])?;
    let rest = &rest[digits..];
    if rest.is_empty() {
        return Some((2, major, 0));
    }
    let (stability, minor) = if let Some(minor) = rest.strip_prefix("beta") {
        (1, minor)
    } else {
        (0, rest.strip_prefix("alpha")?)
    };
    Some((stability, major, parse_number(minor)?))
}

/// A run of decimal digits (Go's `\d+`).
fn parse_number(digits: &str) -> Option<u64> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_in_kubernetes_order() {
        let mut versions = vec![
            "v1alpha1",
            "foo",
            "v1",
            "v2beta1",
            "v10",
            "v1beta2",
            "v11alpha2",
            "bar",
            "v2",
            "v1beta1",
        ];
        versions.sort_by(|a, b| compare_kube_aware_versions(a, b));
        assert_eq!(
            versions,
            [
                "v10",
                "v2",
                "v1",
                "v2beta1",
                "v1beta2",
                "v1beta1",
                "v11alpha2",
                "v1alpha1",
                "bar",
                "foo",
            ]
        );
    }
}
