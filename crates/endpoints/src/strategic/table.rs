//! The strategic merge metadata of the built-in kinds kapi serves, keyed by
//! group, version and kind, carried over from the `patchStrategy` and
//! `patchMergeKey` struct tags of `k8s.io/api`. Only non-default fields are
//! listed: maps merge and untagged lists are atomic.

use super::{FieldMeta, PLAIN, PatchMeta};

/// `metav1.ObjectMeta`: `finalizers` is a set, `ownerReferences` merge by
/// `uid`; `managedFields` carries no tag (atomic).
static OBJECT_META: PatchMeta = PatchMeta {
    fields: &[
        ("finalizers", FieldMeta::Set),
        (
            "ownerReferences",
            FieldMeta::MergeByKey {
                key: "uid",
                item: &PLAIN,
            },
        ),
    ],
};

/// Kinds whose only special fields are in their metadata: ConfigMap,
/// Secret (data maps merge as maps), Event, Lease and the RBAC kinds
/// (`rules`, `subjects`, `roleRef` and `aggregationRule` carry no tags).
static METADATA_ONLY: PatchMeta = PatchMeta {
    fields: &[("metadata", FieldMeta::Object(&OBJECT_META))],
};

/// `v1.ServiceAccount`: `secrets` merge by `name`; `imagePullSecrets`
/// carries no tag on ServiceAccount (unlike PodSpec), so it is atomic.
static SERVICE_ACCOUNT: PatchMeta = PatchMeta {
    fields: &[
        ("metadata", FieldMeta::Object(&OBJECT_META)),
        (
            "secrets",
            FieldMeta::MergeByKey {
                key: "name",
                item: &PLAIN,
            },
        ),
    ],
};

/// `v1.NamespaceStatus`: `conditions` merge by `type`.
static NAMESPACE_STATUS: PatchMeta = PatchMeta {
    fields: &[(
        "conditions",
        FieldMeta::MergeByKey {
            key: "type",
            item: &PLAIN,
        },
    )],
};

/// `v1.Namespace` (`spec.finalizers` carries no tag: atomic).
static NAMESPACE: PatchMeta = PatchMeta {
    fields: &[
        ("metadata", FieldMeta::Object(&OBJECT_META)),
        ("status", FieldMeta::Object(&NAMESPACE_STATUS)),
    ],
};

/// The metadata of `group`/`version` `kind`, or `None` for a kind with no
/// Go struct behind it (a custom resource), which cannot take a strategic
/// merge patch.
pub(crate) fn patch_meta(group: &str, version: &str, kind: &str) -> Option<&'static PatchMeta> {
    let meta = match (group, version, kind) {
        ("", "v1", "ConfigMap" | "Secret" | "Event")
        | ("events.k8s.io", "v1", "Event")
        | ("coordination.k8s.io", "v1", "Lease")
        | (
            "rbac.authorization.k8s.io",
            "v1",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => &METADATA_ONLY,
        ("", "v1", "ServiceAccount") => &SERVICE_ACCOUNT,
        ("", "v1", "Namespace") => &NAMESPACE,
        _ => return None,
    };
    Some(meta)
}
