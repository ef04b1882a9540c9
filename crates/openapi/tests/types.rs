//! [`decode_error`] against the schemas of the kinds kapi serves, plus Pod
//! and Service for `IntOrString` and `Quantity`: wrong JSON types, bad
//! base64, times and quantities give Go's decoding errors; valid objects and
//! `null`s give none; which error wins follows Go.

#[path = "support/registry.rs"]
#[allow(dead_code)] // only the registry is used here
mod registry;

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{Pod, Service};
use kapi_openapi::{OpenApiService, ResourceSpec, decode_error};
use serde_json::{Value, json};

static OPENAPI: LazyLock<OpenApiService> = LazyLock::new(|| {
    let openapi = registry::kapi_service();
    openapi.add_builtin::<Pod>(ResourceSpec::new("", "v1", "pods", "Pod", true));
    openapi.add_builtin::<Service>(ResourceSpec::new("", "v1", "services", "Service", true));
    openapi
});

/// `kind` is `Kind` for the core group or `group/Kind`; every served kind
/// is at version v1.
fn check(kind: &str, object: Value, expected: Option<&str>) {
    let (group, kind) = kind.split_once('/').unwrap_or(("", kind));
    let schema = OPENAPI
        .schema_of(group, "v1", kind)
        .unwrap_or_else(|| panic!("no schema for {group}/{kind}"));
    assert_eq!(
        decode_error(&schema, &object).as_deref(),
        expected,
        "{kind}: {object}"
    );
}

fn check_all(cases: Vec<(&str, Value, &str)>) {
    for (kind, object, expected) in cases {
        check(kind, object, Some(expected));
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";

#[test]
fn configmap_and_secret() {
    check_all(vec![
        (
            "ConfigMap",
            json!({"data": {"a": 1}}),
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
        ),
        (
            "ConfigMap",
            json!({"data": ["a"]}),
            "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string",
        ),
        (
            "ConfigMap",
            json!({"immutable": "true"}),
            "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool",
        ),
        (
            "ConfigMap",
            json!({"binaryData": {"a": "not base64"}}),
            "illegal base64 data at input byte 3",
        ),
        (
            "ConfigMap",
            json!({"binaryData": {"a": "AAA"}}),
            "illegal base64 data at input byte 0",
        ),
        // []byte also decodes from an array of uint8.
        (
            "ConfigMap",
            json!({"binaryData": {"a": [104, 256]}}),
            "json: cannot unmarshal number 256 into Go struct field ConfigMap.binaryData of type uint8",
        ),
        (
            "ConfigMap",
            json!({"binaryData": {"a": true}}),
            "json: cannot unmarshal bool into Go struct field ConfigMap.binaryData of type []uint8",
        ),
        (
            "ConfigMap",
            json!([]),
            "json: cannot unmarshal array into Go value of type v1.ConfigMap",
        ),
        (
            "Secret",
            json!({"data": {"a": 5}}),
            "json: cannot unmarshal number into Go struct field Secret.data of type []uint8",
        ),
        (
            "Secret",
            json!({"data": {"a": "!"}}),
            "illegal base64 data at input byte 0",
        ),
        (
            "Secret",
            json!({"type": 5}),
            "json: cannot unmarshal number into Go struct field Secret.type of type v1.SecretType",
        ),
        (
            "Secret",
            json!({"stringData": {"a": {}}}),
            "json: cannot unmarshal object into Go struct field Secret.stringData of type string",
        ),
    ]);
    check(
        "ConfigMap",
        json!({"binaryData": {"a": "aGVsbG8=", "b": [104, 105]}}),
        None,
    );
    // apiVersion and kind are read before the typed decoding.
    check("ConfigMap", json!({"apiVersion": 5, "kind": []}), None);
}

#[test]
fn object_meta() {
    check_all(vec![
        (
            "ConfigMap",
            json!({"metadata": "x"}),
            "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"labels": "x"}}),
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"labels": {"a": false}}}),
            "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"ownerReferences": [{"uid": "u", "controller": "yes"}]}}),
            "json: cannot unmarshal string into Go struct field OwnerReference.metadata.ownerReferences.controller of type bool",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"ownerReferences": {"uid": "u"}}}),
            "json: cannot unmarshal object into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"uid": 5}}),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"generation": 1.5}}),
            "json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.generation of type int64",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"finalizers": [1]}}),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.finalizers of type string",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"creationTimestamp": "x"}}),
            r#"parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006""#,
        ),
        // Time decodes into a string first.
        (
            "ConfigMap",
            json!({"metadata": {"creationTimestamp": 5}}),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string",
        ),
        (
            "ConfigMap",
            json!({"metadata": {"managedFields": [{"operation": 1}]}}),
            "json: cannot unmarshal number into Go struct field ManagedFieldsEntry.metadata.managedFields.operation of type v1.ManagedFieldsOperationType",
        ),
    ]);
    // fieldsV1 is raw JSON.
    check(
        "ConfigMap",
        json!({"metadata": {"managedFields": [{"fieldsV1": "anything", "time": "2024-01-01T00:00:00Z"}]}}),
        None,
    );
}

#[test]
fn lease_and_events() {
    let micro = r#"parsing time "2024-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000""#;
    check_all(vec![
        (
            "coordination.k8s.io/Lease",
            json!({"spec": {"leaseDurationSeconds": "x"}}),
            "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32",
        ),
        (
            "coordination.k8s.io/Lease",
            json!({"spec": {"leaseDurationSeconds": 1.5}}),
            "json: cannot unmarshal number 1.5 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32",
        ),
        (
            "coordination.k8s.io/Lease",
            json!({"spec": {"leaseTransitions": 3_000_000_000_u64}}),
            "json: cannot unmarshal number 3000000000 into Go struct field LeaseSpec.spec.leaseTransitions of type int32",
        ),
        (
            "coordination.k8s.io/Lease",
            json!({"spec": "x"}),
            "json: cannot unmarshal string into Go struct field Lease.spec of type v1.LeaseSpec",
        ),
        (
            "coordination.k8s.io/Lease",
            json!({"spec": {"strategy": 5}}),
            "json: cannot unmarshal number into Go struct field LeaseSpec.spec.strategy of type v1.CoordinatedLeaseStrategy",
        ),
        (
            "coordination.k8s.io/Lease",
            json!({"spec": {"renewTime": "2024-01-01T00:00:00Z"}}),
            micro,
        ),
        (
            "events.k8s.io/Event",
            json!({"eventTime": "2024-01-01T00:00:00Z"}),
            micro,
        ),
        (
            "events.k8s.io/Event",
            json!({"regarding": "x"}),
            "json: cannot unmarshal string into Go struct field Event.regarding of type v1.ObjectReference",
        ),
        (
            "events.k8s.io/Event",
            json!({"regarding": {"uid": 1}}),
            "json: cannot unmarshal number into Go struct field ObjectReference.regarding.uid of type types.UID",
        ),
        (
            "Event",
            json!({"count": "1"}),
            "json: cannot unmarshal string into Go struct field Event.count of type int32",
        ),
        (
            "Event",
            json!({"firstTimestamp": "2024-13-01T00:00:00Z"}),
            r#"parsing time "2024-13-01T00:00:00Z": month out of range"#,
        ),
        (
            "Namespace",
            json!({"spec": {"finalizers": "kubernetes"}}),
            "json: cannot unmarshal string into Go struct field NamespaceSpec.spec.finalizers of type []v1.FinalizerName",
        ),
        (
            "Namespace",
            json!({"spec": {"finalizers": [5]}}),
            "json: cannot unmarshal number into Go struct field NamespaceSpec.spec.finalizers of type v1.FinalizerName",
        ),
    ]);
    check(
        "coordination.k8s.io/Lease",
        json!({"spec": {"renewTime": "2024-01-01T00:00:00.000000Z", "leaseDurationSeconds": 15}}),
        None,
    );
    // The literal -0 is an integer to Go; serde_json makes it a float.
    let minus_zero: Value =
        serde_json::from_str(r#"{"spec": {"leaseDurationSeconds": -0}}"#).unwrap();
    check("coordination.k8s.io/Lease", minus_zero, None);
    check(
        "coordination.k8s.io/Lease",
        json!({"spec": {"leaseDurationSeconds": 0.0}}),
        Some(
            "json: cannot unmarshal number 0.0 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32",
        ),
    );
}

#[test]
fn rbac() {
    check_all(vec![
        (
            "rbac.authorization.k8s.io/Role",
            json!({"rules": [{"verbs": "get"}]}),
            "json: cannot unmarshal string into Go struct field PolicyRule.rules.verbs of type []string",
        ),
        (
            "rbac.authorization.k8s.io/Role",
            json!({"rules": "x"}),
            "json: cannot unmarshal string into Go struct field Role.rules of type []v1.PolicyRule",
        ),
        (
            "rbac.authorization.k8s.io/Role",
            json!({"rules": [{"verbs": ["get"]}, 5]}),
            "json: cannot unmarshal number into Go struct field Role.rules of type v1.PolicyRule",
        ),
        (
            "rbac.authorization.k8s.io/RoleBinding",
            json!({"roleRef": "x"}),
            "json: cannot unmarshal string into Go struct field RoleBinding.roleRef of type v1.RoleRef",
        ),
        (
            "rbac.authorization.k8s.io/ClusterRoleBinding",
            json!({"subjects": [{"kind": 5}]}),
            "json: cannot unmarshal number into Go struct field Subject.subjects.kind of type string",
        ),
        (
            "rbac.authorization.k8s.io/ClusterRole",
            json!({"aggregationRule": {"clusterRoleSelectors": [{"matchExpressions": [{"operator": 5}]}]}}),
            "json: cannot unmarshal number into Go struct field LabelSelectorRequirement.aggregationRule.clusterRoleSelectors.matchExpressions.operator of type v1.LabelSelectorOperator",
        ),
    ]);
}

#[test]
fn int_or_string_and_quantity() {
    const FORMAT: &str = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    let limits = |cpu: Value| json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": cpu}}}]}});
    let target = |port: Value| json!({"spec": {"ports": [{"port": 80, "targetPort": port}]}});
    check_all(vec![
        (
            "Service",
            target(json!(1.5)),
            "json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32",
        ),
        (
            "Service",
            target(json!(true)),
            "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32",
        ),
        (
            "Service",
            target(json!({})),
            "json: cannot unmarshal object into Go struct field ServicePort.spec.ports.targetPort of type int32",
        ),
        (
            "Service",
            json!({"spec": {"ports": [{"port": "80"}]}}),
            "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32",
        ),
        (
            "Pod",
            json!({"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": [1]}}}]}}),
            "json: cannot unmarshal array into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type int32",
        ),
        ("Pod", limits(json!("x")), FORMAT),
        ("Pod", limits(json!(true)), FORMAT),
        ("Pod", limits(json!([])), FORMAT),
        (
            "Pod",
            limits(json!("1KM")),
            "unable to parse quantity's suffix",
        ),
        (
            "Pod",
            limits(json!("Ei")),
            "unable to parse numeric part of quantity",
        ),
    ]);
    for port in [json!("http"), json!(8080), json!(null)] {
        check("Service", target(port), None);
    }
    for cpu in [
        json!("100m"),
        json!(" 1Gi "),
        json!(1.5),
        json!(2),
        json!(null),
    ] {
        check("Pod", limits(cpu), None);
    }
}

#[test]
fn custom_resource_definition() {
    const CRD: &str = "apiextensions.k8s.io/CustomResourceDefinition";
    let schema = |s: Value| json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": s}}]}});
    check_all(vec![
        (
            CRD,
            schema(json!("x")),
            "json: cannot unmarshal string into Go struct field CustomResourceValidation.spec.versions.schema.openAPIV3Schema of type v1.JSONSchemaProps",
        ),
        (
            CRD,
            schema(json!({"type": 5})),
            "json: cannot unmarshal number into Go struct field JSONSchemaProps.spec.versions.schema.openAPIV3Schema.type of type string",
        ),
        (
            CRD,
            schema(json!({"additionalProperties": 5})),
            "boolean or JSON schema expected",
        ),
        // Errors inside a JSONSchemaProps* value come from a decoding of its
        // own and take the outer field path.
        (
            CRD,
            schema(json!({"additionalProperties": {"type": 5}})),
            "json: cannot unmarshal number into Go struct field JSONSchemaProps.spec.versions.schema.openAPIV3Schema.additionalProperties of type string",
        ),
        (
            CRD,
            schema(json!({"properties": {"a": {"items": [5]}}})),
            "json: cannot unmarshal number into Go struct field JSONSchemaProps.spec.versions.schema.openAPIV3Schema.properties.items of type v1.JSONSchemaProps",
        ),
        (
            CRD,
            schema(json!({"dependencies": {"a": ["b", 5]}})),
            "json: cannot unmarshal number into Go struct field JSONSchemaProps.spec.versions.schema.openAPIV3Schema.dependencies of type string",
        ),
        (
            CRD,
            schema(json!({"x-kubernetes-validations": "x"})),
            "json: cannot unmarshal string into Go struct field JSONSchemaProps.spec.versions.schema.openAPIV3Schema.x-kubernetes-validations of type v1.ValidationRules",
        ),
        (
            CRD,
            json!({"spec": {"versions": [{"subresources": {"status": "x"}}]}}),
            "json: cannot unmarshal string into Go struct field CustomResourceSubresources.spec.versions.subresources.status of type v1.CustomResourceSubresourceStatus",
        ),
        (
            CRD,
            json!({"spec": {"scope": 1}}),
            "json: cannot unmarshal number into Go struct field CustomResourceDefinitionSpec.spec.scope of type v1.ResourceScope",
        ),
    ]);
    // Raw JSON, and the forms the JSONSchemaProps* types ignore.
    check(
        CRD,
        schema(json!({
            "default": {"a": [1]}, "enum": [1, "a", {}], "example": "x",
            "items": "ignored", "dependencies": {"a": 5},
            "additionalProperties": false, "additionalItems": null,
        })),
        None,
    );
}

#[test]
fn first_error_wins_as_in_go() {
    // Saved errors: the first in (sorted) key order.
    check(
        "ConfigMap",
        json!({"data": {"a": 1}, "binaryData": {"a": "!"}}),
        Some("illegal base64 data at input byte 0"),
    );
    check(
        "ConfigMap",
        json!({"immutable": "x", "data": {"a": 1}}),
        Some("json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
    );
    // A custom UnmarshalJSON's error stops decoding and wins over a saved one.
    check(
        "ConfigMap",
        json!({"data": {"a": 1}, "metadata": {"creationTimestamp": "x", "deletionTimestamp": "y"}}),
        Some(r#"parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006""#),
    );
}

#[test]
fn nulls_are_accepted() {
    check(
        "ConfigMap",
        json!({"data": null, "binaryData": {"a": null}, "immutable": null, "metadata": {
            "labels": {"a": null}, "creationTimestamp": null, "ownerReferences": [null],
            "generation": null, "uid": null,
        }}),
        None,
    );
    check(
        "coordination.k8s.io/Lease",
        json!({"metadata": null, "spec": {"leaseDurationSeconds": null, "renewTime": null}}),
        None,
    );
    check(
        "apiextensions.k8s.io/CustomResourceDefinition",
        json!({"spec": {"versions": [{"schema": {"openAPIV3Schema": {"additionalProperties": null, "items": null}}}]}}),
        None,
    );
}

#[test]
fn valid_objects_decode() {
    let meta = json!({
        "name": "x", "namespace": "default", "labels": {"a": "b"}, "annotations": {"c": "d"},
        "uid": "0a1b", "resourceVersion": "1", "generation": 2,
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "controller": true}],
        "managedFields": [{"manager": "m", "operation": "Apply", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {}}, "time": "2024-01-01T00:00:00Z"}],
        "finalizers": ["f"],
    });
    let with_meta = |mut object: Value| {
        object["metadata"] = meta.clone();
        object
    };
    let objects = [
        (
            "Namespace",
            json!({"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        ),
        (
            "ConfigMap",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}, "binaryData": {"c": "aGk="}, "immutable": true}),
        ),
        (
            "Secret",
            json!({"type": "Opaque", "data": {"a": "aGk="}, "stringData": {"b": "c"}}),
        ),
        (
            "ServiceAccount",
            json!({"secrets": [{"name": "s"}], "imagePullSecrets": [{"name": "p"}], "automountServiceAccountToken": false}),
        ),
        (
            "Event",
            json!({"involvedObject": {"kind": "Pod", "name": "p"}, "reason": "R", "count": 2,
                         "firstTimestamp": "2024-01-01T00:00:00Z", "eventTime": "2024-01-01T00:00:00.000000Z",
                         "series": {"count": 1, "lastObservedTime": "2024-01-01T00:00:00.123456Z"}}),
        ),
        (
            "events.k8s.io/Event",
            json!({"eventTime": "2024-01-01T00:00:00.000000Z", "regarding": {"kind": "Pod"},
                                       "deprecatedCount": 1, "reportingController": "c", "action": "A"}),
        ),
        (
            "coordination.k8s.io/Lease",
            json!({"spec": {"holderIdentity": "h", "leaseDurationSeconds": 15,
                                              "acquireTime": "2024-01-01T00:00:00.000000Z", "leaseTransitions": 0}}),
        ),
        (
            "rbac.authorization.k8s.io/Role",
            json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        ),
        (
            "rbac.authorization.k8s.io/ClusterRole",
            json!({"rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}],
                                                          "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}}),
        ),
        (
            "rbac.authorization.k8s.io/RoleBinding",
            json!({"roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "r"},
                                                          "subjects": [{"kind": "User", "name": "u"}]}),
        ),
        (
            "rbac.authorization.k8s.io/ClusterRoleBinding",
            json!({"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "r"}}),
        ),
        (
            "apiextensions.k8s.io/CustomResourceDefinition",
            json!({"spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["w"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.r", "statusReplicasPath": ".status.r"}},
                          "additionalPrinterColumns": [{"name": "A", "type": "string", "jsonPath": ".spec.a", "priority": 0}],
                          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                              "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                       "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 1.5e3, "default": 3}},
                                       "x-kubernetes-validations": [{"rule": "self.n > 0"}]},
                              "list": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
                              "required": ["spec"]}}}],
            "conversion": {"strategy": "None"}}}),
        ),
    ];
    for (kind, object) in objects {
        check(kind, with_meta(object), None);
    }
}
