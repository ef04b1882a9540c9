//! `FieldManager` end to end on Kubernetes-shaped objects: a ConfigMap and
//! a Namespace typed by a small OpenAPI v3 `components.schemas`, the
//! managedFields of the server-side apply documentation, updates against
//! applies, conflicts, subresources, the managers cap, "before-first-apply"
//! and the last-applied annotation.

use std::sync::Arc;

use http::StatusCode;
use kapi_core::StatusReason;
use kapi_fieldmanager::{
    FieldManager, FieldSet, LAST_APPLIED_CONFIG_ANNOTATION, Path, TypeSchema, decode_managed_fields,
};
use serde_json::{Map, Value, json};

fn r(name: &str) -> Value {
    json!({"allOf": [{"$ref": format!("#/components/schemas/{name}")}], "default": {}})
}

/// A cut-down `components.schemas` with the shapes kube-openapi emits.
fn definitions() -> Arc<Map<String, Value>> {
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1";
    let defs = json!({
        format!("{meta}.ObjectMeta"): {"type": "object", "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": r(&format!("{meta}.Time")),
            "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
            "managedFields": {"type": "array", "items": r(&format!("{meta}.ManagedFieldsEntry")),
                "x-kubernetes-list-type": "atomic"},
            "ownerReferences": {"type": "array", "items": r(&format!("{meta}.OwnerReference")),
                "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"}
        }},
        format!("{meta}.Time"): {"type": "string", "format": "date-time"},
        format!("{meta}.FieldsV1"): {"type": "object"},
        format!("{meta}.ManagedFieldsEntry"): {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "fieldsType": {"type": "string"},
            "fieldsV1": r(&format!("{meta}.FieldsV1")), "manager": {"type": "string"},
            "operation": {"type": "string"}, "subresource": {"type": "string"},
            "time": r(&format!("{meta}.Time"))
        }},
        format!("{meta}.OwnerReference"): {"type": "object", "required": ["apiVersion", "kind", "name", "uid"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "name": {"type": "string"}, "uid": {"type": "string"}, "controller": {"type": "boolean"}},
            "x-kubernetes-map-type": "atomic"},
        "io.k8s.api.core.v1.ConfigMap": {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": r(&format!("{meta}.ObjectMeta")),
            "data": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
            "binaryData": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
            "immutable": {"type": "boolean"}
        }, "x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}]},
        "io.k8s.api.core.v1.Namespace": {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": r(&format!("{meta}.ObjectMeta")),
            "spec": r("io.k8s.api.core.v1.NamespaceSpec"),
            "status": r("io.k8s.api.core.v1.NamespaceStatus")
        }},
        "io.k8s.api.core.v1.NamespaceSpec": {"type": "object", "properties": {
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "atomic"}
        }},
        "io.k8s.api.core.v1.NamespaceStatus": {"type": "object", "properties": {
            "phase": {"type": "string"},
            "conditions": {"type": "array", "items": r("io.k8s.api.core.v1.NamespaceCondition"),
                "x-kubernetes-list-map-keys": ["type"], "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "type", "x-kubernetes-patch-strategy": "merge"}
        }},
        "io.k8s.api.core.v1.NamespaceCondition": {"type": "object", "required": ["type", "status"],
            "properties": {
                "type": {"type": "string", "default": ""}, "status": {"type": "string", "default": ""},
                "reason": {"type": "string"}, "message": {"type": "string"},
                "lastTransitionTime": r(&format!("{meta}.Time"))
            }}
    });
    match defs {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!(),
    }
}

fn configmaps() -> FieldManager {
    let schema = TypeSchema::named(definitions(), "io.k8s.api.core.v1.ConfigMap");
    FieldManager::new(&schema, "v1", "ConfigMap").unwrap()
}

fn namespaces() -> FieldManager {
    let schema = TypeSchema::named(definitions(), "io.k8s.api.core.v1.Namespace");
    FieldManager::new(&schema, "v1", "Namespace")
        .unwrap()
        .with_reset_fields("", FieldSet::from_paths([Path::fields(["status"])]))
        .with_reset_fields(
            "status",
            FieldSet::from_paths([Path::fields(["spec"]), Path::fields(["metadata"])]),
        )
}

fn at(time: &str) -> jiff::Timestamp {
    time.parse().unwrap()
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default"}, "data": data})
}

/// `(manager, operation, subresource, time, fieldsV1)` of each entry, in
/// the object's order.
fn entries(object: &Value) -> Vec<(String, String, String, Option<String>, Value)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap().to_owned(),
                        e["operation"].as_str().unwrap().to_owned(),
                        e["subresource"].as_str().unwrap_or("").to_owned(),
                        e["time"].as_str().map(str::to_owned),
                        e["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn entry(
    manager: &str,
    op: &str,
    time: Option<&str>,
    fields: Value,
) -> (String, String, String, Option<String>, Value) {
    (
        manager.into(),
        op.into(),
        String::new(),
        time.map(str::to_owned),
        fields,
    )
}

/// The managedFields of the ConfigMap in the Kubernetes server-side apply
/// documentation: decoded and encoded again they read the same.
#[test]
fn documentation_managed_fields_round_trip() {
    let documented = json!([{
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "v1",
        "time": "2010-10-10T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:test-label": {}}}, "f:data": {"f:key": {}}}
    }]);
    let decoded = decode_managed_fields(&documented).unwrap();
    assert_eq!(
        decoded[0].fields.to_fields_v1_string(),
        r#"{"f:data":{"f:key":{}},"f:metadata":{"f:labels":{"f:test-label":{}}}}"#
    );
    assert_eq!(
        kapi_fieldmanager::encode_managed_fields(&decoded),
        documented
    );

    // Applying that object yields exactly these managedFields.
    let manager = configmaps();
    let mut config = cm(json!({"key": "some value"}));
    config["metadata"]["labels"] = json!({"test-label": "test"});
    let live = manager
        .apply(
            None,
            &config,
            "kubectl",
            false,
            "",
            at("2010-10-10T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(live["metadata"]["managedFields"], documented);
    assert_eq!(live["data"], json!({"key": "some value"}));
}

#[test]
fn create_then_update_moves_changed_fields() {
    let manager = configmaps();
    let created = manager
        .update(
            None,
            cm(json!({"a": "1", "b": "2"})),
            "creator",
            "",
            at("2020-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        entries(&created),
        [entry(
            "creator",
            "Update",
            Some("2020-01-01T00:00:00Z"),
            json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
        )]
    );

    let mut edited = created.clone();
    edited["data"]["b"] = json!("3");
    edited["metadata"]["uid"] = json!("u1");
    let mut live = created.clone();
    live["metadata"]["uid"] = json!("u1");
    let updated = manager
        .update(
            Some(&live),
            edited,
            "editor",
            "",
            at("2020-01-02T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        entries(&updated),
        [
            entry(
                "creator",
                "Update",
                Some("2020-01-01T00:00:00Z"),
                json!({"f:data": {".": {}, "f:a": {}}})
            ),
            entry(
                "editor",
                "Update",
                Some("2020-01-02T00:00:00Z"),
                json!({"f:data": {"f:b": {}}})
            ),
        ]
    );

    // A write that changes nothing keeps every entry and time.
    let same = manager
        .update(
            Some(&updated),
            updated.clone(),
            "editor",
            "",
            at("2020-01-03T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(entries(&same), entries(&updated));
}

#[test]
fn request_managed_fields_are_kept_honoured_or_reset() {
    let manager = configmaps();
    let mut live = manager
        .update(
            None,
            cm(json!({"a": "1"})),
            "creator",
            "",
            at("2020-01-01T00:00:00Z"),
        )
        .unwrap();
    live["metadata"]["uid"] = json!("u1");
    let now = at("2020-01-02T00:00:00Z");

    // Omitted: the live managedFields are kept.
    let mut omitted = live.clone();
    omitted["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    let out = manager.update(Some(&live), omitted, "x", "", now).unwrap();
    assert_eq!(
        out["metadata"]["managedFields"],
        live["metadata"]["managedFields"]
    );

    // Invalid: the live managedFields are kept as well.
    let mut invalid = live.clone();
    invalid["metadata"]["managedFields"] = json!([{"manager": "m", "operation": "Delete", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
    let out = manager.update(Some(&live), invalid, "x", "", now).unwrap();
    assert_eq!(
        out["metadata"]["managedFields"],
        live["metadata"]["managedFields"]
    );

    // Explicit: the request's managedFields replace the live ones.
    let mut explicit = live.clone();
    explicit["metadata"]["managedFields"] = json!([{"manager": "someone", "operation": "Apply",
        "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]);
    let out = manager.update(Some(&live), explicit, "x", "", now).unwrap();
    assert_eq!(
        entries(&out),
        [entry(
            "someone",
            "Apply",
            None,
            json!({"f:data": {"f:a": {}}})
        )]
    );

    // An empty list resets them, and an existing object stays untracked.
    for reset in [json!([]), json!([{}])] {
        let mut cleared = live.clone();
        cleared["metadata"]["managedFields"] = reset;
        cleared["data"]["a"] = json!("changed");
        let out = manager.update(Some(&live), cleared, "x", "", now).unwrap();
        assert!(out["metadata"].get("managedFields").is_none(), "{out}");
    }

    // Through a subresource the request's managedFields are ignored.
    let mut explicit = live.clone();
    explicit["metadata"]["managedFields"] = json!([]);
    let out = manager
        .update(Some(&live), explicit, "x", "status", now)
        .unwrap();
    assert_eq!(
        out["metadata"]["managedFields"],
        live["metadata"]["managedFields"]
    );
}

#[test]
fn first_apply_records_existing_fields_as_before_first_apply() {
    let manager = configmaps();
    let mut live = cm(json!({"a": "1", "b": "2"}));
    live["metadata"]["uid"] = json!("u1");
    let config = cm(json!({"a": "1"}));
    let out = manager
        .apply(
            Some(&live),
            &config,
            "applier",
            false,
            "",
            at("2021-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        entries(&out),
        [
            entry("applier", "Apply", None, json!({"f:data": {"f:a": {}}})),
            entry(
                "before-first-apply",
                "Update",
                Some("2021-01-01T00:00:00Z"),
                json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
            ),
        ]
    );
    assert_eq!(out["data"], json!({"a": "1", "b": "2"}));
}

#[test]
fn apply_changes_time_only_when_the_object_changes() {
    let manager = configmaps();
    let t1 = at("2021-01-01T00:00:00Z");
    let t2 = at("2021-01-02T00:00:00Z");
    let live = manager
        .apply(None, &cm(json!({"a": "1"})), "one", false, "", t1)
        .unwrap();
    let again = manager
        .apply(Some(&live), &cm(json!({"a": "1"})), "one", false, "", t2)
        .unwrap();
    assert_eq!(entries(&again), entries(&live));
    let changed = manager
        .apply(Some(&live), &cm(json!({"a": "2"})), "one", false, "", t2)
        .unwrap();
    assert_eq!(
        entries(&changed),
        [entry(
            "one",
            "Apply",
            Some("2021-01-02T00:00:00Z"),
            json!({"f:data": {"f:a": {}}})
        )]
    );
}

#[test]
fn conflicts_name_the_manager_and_force_takes_over() {
    let manager = configmaps();
    let t = at("2022-01-01T00:00:00Z");
    let live = manager
        .apply(
            None,
            &cm(json!({"a": "1", "b": "1"})),
            "alice",
            false,
            "",
            t,
        )
        .unwrap();
    let mut edited = live.clone();
    edited["data"]["b"] = json!("edited");
    let live = manager
        .update(Some(&live), edited, "kubectl-edit", "", t)
        .unwrap();

    let err = manager
        .apply(Some(&live), &cm(json!({"b": "bob"})), "bob", false, "", t)
        .unwrap_err();
    assert_eq!(err.code(), StatusCode::CONFLICT);
    assert_eq!(err.reason(), StatusReason::Conflict);
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.b"#
    );
    let status = serde_json::to_value(err.to_status()).unwrap();
    assert_eq!(
        status["details"],
        json!({"causes": [{"reason": "FieldManagerConflict",
            "message": "conflict with \"kubectl-edit\" using v1", "field": ".data.b"}]})
    );

    let err = manager
        .apply(
            Some(&live),
            &cm(json!({"a": "bob", "b": "bob"})),
            "bob",
            false,
            "",
            t,
        )
        .unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .data.a\nconflicts with \"kubectl-edit\" using v1:\n- .data.b"
    );

    let forced = manager
        .apply(
            Some(&live),
            &cm(json!({"a": "bob", "b": "bob"})),
            "bob",
            true,
            "",
            t,
        )
        .unwrap();
    assert_eq!(forced["data"], json!({"a": "bob", "b": "bob"}));
    assert_eq!(
        entries(&forced),
        [entry(
            "bob",
            "Apply",
            Some("2022-01-01T00:00:00Z"),
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        )]
    );
}

#[test]
fn apply_rejects_bad_configurations() {
    let manager = configmaps();
    let t = at("2022-01-01T00:00:00Z");
    let check = |config: Value, code: StatusCode, reason: StatusReason, message: &str| {
        let err = manager.apply(None, &config, "m", false, "", t).unwrap_err();
        assert_eq!(
            (err.code(), err.reason(), err.message()),
            (code, reason, message),
            "{config}"
        );
    };
    let mut secret = cm(json!({}));
    secret["kind"] = json!("Secret");
    check(
        secret,
        StatusCode::BAD_REQUEST,
        StatusReason::BadRequest,
        "invalid object type: /v1, Kind=Secret",
    );
    let mut apps = cm(json!({}));
    apps["apiVersion"] = json!("apps/v1");
    check(
        apps,
        StatusCode::BAD_REQUEST,
        StatusReason::BadRequest,
        "invalid object type: apps/v1, Kind=ConfigMap",
    );
    let mut with_fields = cm(json!({}));
    with_fields["metadata"]["managedFields"] = json!([]);
    check(
        with_fields,
        StatusCode::BAD_REQUEST,
        StatusReason::BadRequest,
        "metadata.managedFields must be nil",
    );
    let mut unknown = cm(json!({}));
    unknown["spec"] = json!({"x": 1});
    check(
        unknown,
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusReason::Unknown,
        "failed to create typed patch object (default/test-cm; /v1, Kind=ConfigMap): .spec: field not declared in schema",
    );
    check(
        cm(json!({"a": 1})),
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusReason::Unknown,
        "failed to create typed patch object (default/test-cm; /v1, Kind=ConfigMap): .data.a: expected string, got &value.valueUnstructured{Value:1}",
    );
}

#[test]
fn status_conditions_are_merged_by_type() {
    let manager = namespaces();
    let t = at("2023-01-01T00:00:00Z");
    let ns = |status: Value| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}, "status": status});
    let cond = |ty: &str, status: &str| json!({"type": ty, "status": status});

    let created = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}});
    let live = manager
        .apply(None, &created, "creator", false, "", t)
        .unwrap();
    let live = manager
        .apply(
            Some(&live),
            &ns(json!({"conditions": [cond("A", "True")]})),
            "ctrl-a",
            false,
            "status",
            t,
        )
        .unwrap();
    let live = manager
        .apply(
            Some(&live),
            &ns(json!({"conditions": [cond("B", "False")]})),
            "ctrl-b",
            false,
            "status",
            t,
        )
        .unwrap();
    assert_eq!(
        live["status"]["conditions"],
        json!([cond("A", "True"), cond("B", "False")])
    );
    let owned: Vec<(String, String, Value)> = entries(&live)
        .into_iter()
        .map(|(m, _, s, _, f)| (m, s, f))
        .collect();
    assert_eq!(
        owned,
        [
            (
                "ctrl-a".to_owned(),
                "status".to_owned(),
                json!({"f:status": {"f:conditions": {"k:{\"type\":\"A\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
            ),
            (
                "ctrl-b".to_owned(),
                "status".to_owned(),
                json!({"f:status": {"f:conditions": {"k:{\"type\":\"B\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
            ),
        ]
    );

    // B setting A's condition conflicts with A.
    let err = manager
        .apply(
            Some(&live),
            &ns(json!({"conditions": [cond("A", "False"), cond("B", "False")]})),
            "ctrl-b",
            false,
            "status",
            t,
        )
        .unwrap_err();
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "ctrl-a" with subresource "status": .status.conditions[type="A"].status"#
    );

    // A dropping its condition removes it; B's stays.
    let live = manager
        .apply(
            Some(&live),
            &ns(json!({"conditions": []})),
            "ctrl-a",
            false,
            "status",
            t,
        )
        .unwrap();
    assert_eq!(live["status"]["conditions"], json!([cond("B", "False")]));

    // Through the main resource, status is reset: nobody owns it there.
    let main = manager
        .apply(
            Some(&live),
            &ns(json!({"phase": "Active"})),
            "main",
            false,
            "",
            t,
        )
        .unwrap();
    let main_entry = entries(&main).into_iter().find(|e| e.0 == "main");
    assert!(main_entry.is_none(), "{main}");
}

#[test]
fn oldest_update_managers_merge_into_ancient_changes() {
    let manager = configmaps().with_max_update_managers(2);
    let mut live = manager
        .update(
            None,
            cm(json!({"k0": "0"})),
            "m0",
            "",
            at("2020-01-01T00:00:00Z"),
        )
        .unwrap();
    for i in 1..4 {
        let mut next = live.clone();
        next["data"][format!("k{i}")] = json!(i.to_string());
        live = manager
            .update(
                Some(&live),
                next,
                &format!("m{i}"),
                "",
                at(&format!("2020-01-0{}T00:00:00Z", i + 1)),
            )
            .unwrap();
    }
    let names: Vec<(String, Option<String>, Value)> = entries(&live)
        .into_iter()
        .map(|(m, _, _, t, f)| (m, t, f))
        .collect();
    assert_eq!(
        names,
        [
            (
                "ancient-changes".to_owned(),
                Some("2020-01-03T00:00:00Z".to_owned()),
                json!({"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}})
            ),
            (
                "m3".to_owned(),
                Some("2020-01-04T00:00:00Z".to_owned()),
                json!({"f:data": {"f:k3": {}}})
            ),
        ]
    );
}

#[test]
fn kubectl_takes_over_fields_of_its_last_applied_configuration() {
    let manager = configmaps();
    let t = at("2024-01-01T00:00:00Z");
    // An object made by client-side apply: the annotation holds what was applied.
    let mut created = cm(json!({"a": "1"}));
    created["metadata"]["annotations"] = json!({LAST_APPLIED_CONFIG_ANNOTATION:
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"test-cm\",\"namespace\":\"default\"}}\n"});
    let live = manager
        .update(None, created, "kubectl-client-side-apply", "", t)
        .unwrap();

    // Another manager conflicts...
    let err = manager
        .apply(Some(&live), &cm(json!({"a": "2"})), "other", false, "", t)
        .unwrap_err();
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.a"#
    );
    // ...kubectl does not, and rewrites the annotation.
    let out = manager
        .apply(Some(&live), &cm(json!({"a": "2"})), "kubectl", false, "", t)
        .unwrap();
    assert_eq!(out["data"]["a"], "2");
    assert_eq!(
        out["metadata"]["annotations"][LAST_APPLIED_CONFIG_ANNOTATION],
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"2\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"test-cm\",\"namespace\":\"default\"}}\n"
    );
}

#[test]
fn update_no_errors_keeps_live_managed_fields_on_failure() {
    let manager = configmaps();
    let t = at("2024-01-01T00:00:00Z");
    let live = manager
        .update(None, cm(json!({"a": "1"})), "creator", "", t)
        .unwrap();
    let mut bad = live.clone();
    bad["data"]["a"] = json!(5);
    let err = manager
        .update(Some(&live), bad.clone(), "x", "", t)
        .unwrap_err();
    assert_eq!(err.code(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(err.message().starts_with("failed to convert new object (default/test-cm; /v1, Kind=ConfigMap) to smd typed: .data.a: expected string"), "{}", err.message());
    let out = manager.update_no_errors(Some(&live), bad, "x", "", t);
    assert_eq!(
        out["metadata"]["managedFields"],
        live["metadata"]["managedFields"]
    );
}

#[test]
fn custom_resources_keep_unknown_fields_granular() {
    let crd_schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"replicas": {"type": "integer"}}}
    }});
    let schema = TypeSchema::custom_resource(crd_schema, definitions());
    let manager = FieldManager::new(&schema, "example.com/v1", "Widget").unwrap();
    let t = at("2024-01-01T00:00:00Z");
    let widget = |spec: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "labels": {"a": "b"}}, "spec": spec})
    };
    let live = manager
        .apply(
            None,
            &widget(json!({"replicas": 1, "extra": {"x": 1}, "list": [1, 2]})),
            "one",
            false,
            "",
            t,
        )
        .unwrap();
    // `metadata.labels` is ObjectMeta's granular map; the preserved subtree
    // is deduced: maps granular, lists atomic.
    assert_eq!(
        entries(&live)[0].4,
        json!({"f:metadata": {"f:labels": {"f:a": {}}},
            "f:spec": {"f:extra": {".": {}, "f:x": {}}, "f:list": {}, "f:replicas": {}}})
    );
    let err = manager
        .apply(
            Some(&live),
            &widget(json!({"extra": {"x": 2}})),
            "two",
            false,
            "",
            t,
        )
        .unwrap_err();
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "one": .spec.extra.x"#
    );
}

#[test]
fn duplicated_keys_are_tolerated_in_updates_but_not_in_applies() {
    let manager = namespaces();
    let t = at("2024-01-01T00:00:00Z");
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"},
        "status": {"conditions": [{"type": "A", "status": "True"}, {"type": "A", "status": "False"}]}});
    let live = manager
        .update(None, ns.clone(), "writer", "status", t)
        .unwrap();
    assert_eq!(
        entries(&live)[0].4,
        json!({"f:status": {".": {}, "f:conditions": {".": {}, "k:{\"type\":\"A\"}": {}}}})
    );
    let err = manager
        .apply(None, &ns, "applier", false, "status", t)
        .unwrap_err();
    assert_eq!(err.code(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        err.message(),
        r#"failed to create typed patch object (/ns; /v1, Kind=Namespace): .status.conditions: duplicate entries for key [type="A"]"#
    );
}
