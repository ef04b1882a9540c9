//! Tests of the custom resource strategies: prepare rules, type and
//! metadata checks, scale paths, warnings, decoding and field sets.

use kapi_core::field::Error;
use kapi_storage::registry::Strategy;
use serde_json::{Value, json};

use super::*;
use crate::crd_versions;

fn crd(subresources: Value, scope: &str) -> Value {
    json!({
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": scope,
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "cronSpec": {"type": "string"},
                        "replicas": {"type": "integer"},
                        "color": {"type": "string"},
                    }},
                    "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                }}},
                "subresources": subresources,
                "selectableFields": [{"jsonPath": ".spec.color"}],
            }],
        },
        "status": {"acceptedNames": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "listKind": "CronTabList"}},
    })
}

fn strategy(subresources: Value) -> CustomResourceStrategy {
    let versions = crd_versions(&crd(subresources, "Namespaced")).unwrap();
    CustomResourceStrategy::new(&versions[0]).unwrap()
}

fn with_status() -> CustomResourceStrategy {
    strategy(json!({
        "status": {},
        "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"},
    }))
}

fn crontab() -> Value {
    json!({
        "apiVersion": "stable.example.com/v1",
        "kind": "CronTab",
        "metadata": {"name": "every-minute", "namespace": "default", "generation": 1},
        "spec": {"cronSpec": "* * * * */5", "replicas": 1},
        "status": {"replicas": 1},
    })
}

fn messages(errs: &[Error]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

#[test]
fn create_drops_status_with_the_status_subresource() {
    let mut object = crontab();
    with_status().prepare_for_create(&mut object);
    assert!(object.get("status").is_none());
    assert_eq!(object["metadata"]["generation"], 1);

    let mut object = crontab();
    strategy(Value::Null).prepare_for_create(&mut object);
    assert_eq!(object["status"], json!({"replicas": 1}));
}

#[test]
fn update_keeps_status_and_bumps_generation() {
    // (strategy has status, change, expected status, expected generation)
    let check = |has_status: bool, edit: fn(&mut Value), status: Value, generation: i64| {
        let strategy = if has_status {
            with_status()
        } else {
            strategy(Value::Null)
        };
        let old = crontab();
        let mut new = old.clone();
        edit(&mut new);
        strategy.prepare_for_update(&mut new, &old);
        assert_eq!(new.get("status").cloned().unwrap_or(Value::Null), status);
        assert_eq!(new["metadata"]["generation"], generation);
    };
    check(
        true,
        |o| o["status"]["replicas"] = json!(5),
        json!({"replicas": 1}),
        1,
    );
    check(
        true,
        |o| o["spec"]["replicas"] = json!(5),
        json!({"replicas": 1}),
        2,
    );
    check(
        true,
        |o| o["metadata"]["labels"] = json!({"a": "b"}),
        json!({"replicas": 1}),
        1,
    );
    check(
        false,
        |o| o["status"]["replicas"] = json!(5),
        json!({"replicas": 5}),
        2,
    );
    check(
        false,
        |o| o["extra"] = json!(true),
        json!({"replicas": 1}),
        2,
    );
    // No stored status: the update cannot add one.
    let strategy = with_status();
    let mut old = crontab();
    old.as_object_mut().unwrap().remove("status");
    let mut new = crontab();
    strategy.prepare_for_update(&mut new, &old);
    assert!(new.get("status").is_none());
}

#[test]
fn status_updates_take_only_status() {
    let status = with_status().status_strategy();
    let old = crontab();
    let mut new = crontab();
    new["spec"]["replicas"] = json!(9);
    new["metadata"]["labels"] = json!({"a": "b"});
    new["metadata"]["managedFields"] = json!([{"manager": "m"}]);
    new["status"] = json!({"replicas": 3});
    status.prepare_for_update(&mut new, &old);
    let mut expected = crontab();
    expected["status"] = json!({"replicas": 3});
    expected["metadata"]["managedFields"] = json!([{"manager": "m"}]);
    assert_eq!(new, expected);
    let mut cleared = crontab();
    cleared.as_object_mut().unwrap().remove("status");
    status.prepare_for_update(&mut cleared, &old);
    assert!(cleared.get("status").is_none());
    assert_eq!(cleared["spec"], old["spec"]);
}

#[test]
fn validation_of_type_meta_metadata_and_scale() {
    let strategy = with_status();
    let check = |edit: fn(&mut Value), expected: &[&str]| {
        let mut object = crontab();
        edit(&mut object);
        assert_eq!(messages(&strategy.validate(&object)), expected, "{object}");
    };
    check(|_| {}, &[]);
    check(
        |o| {
            o["kind"] = json!("Cron");
            o["apiVersion"] = json!("stable.example.com/v2");
            o["metadata"]["name"] = json!("Not Valid");
        },
        &[
            r#"kind: Invalid value: "Cron": must be CronTab"#,
            r#"apiVersion: Invalid value: "stable.example.com/v2": must be stable.example.com/v1"#,
        ],
    );
    check(
        |o| {
            o["metadata"].as_object_mut().unwrap().remove("namespace");
        },
        &["metadata.namespace: Required value"],
    );
    check(
        |o| o["spec"]["replicas"] = json!(-1),
        &[".spec.replicas: Invalid value: -1: should be a non-negative integer"],
    );
    check(
        |o| o["spec"]["replicas"] = json!(2_147_483_648_i64),
        &[".spec.replicas: Invalid value: 2147483648: should be less than or equal to 2147483647"],
    );
    check(
        |o| o["spec"]["replicas"] = json!("one"),
        &[
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
            ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: one is of the type string, expected int64",
        ],
    );
    check(
        |o| o["status"]["selector"] = json!(1),
        &[
            r#".status.selector: Invalid value: "": .status.selector accessor error: 1 is of the type int64, expected string"#,
        ],
    );
    // Updates check type meta and scale; the store checks metadata.
    let mut new = crontab();
    new["status"]["replicas"] = json!(-2);
    assert_eq!(
        messages(&strategy.validate_update(&new, &crontab())),
        [".status.replicas: Invalid value: -2: should be a non-negative integer"]
    );
    assert_eq!(
        messages(&strategy.status_strategy().validate_update(&new, &crontab())),
        [".status.replicas: Invalid value: -2: should be a non-negative integer"]
    );
}

#[test]
fn cluster_scoped_resources_forbid_namespaces() {
    let versions = crd_versions(&crd(Value::Null, "Cluster")).unwrap();
    let strategy = CustomResourceStrategy::new(&versions[0]).unwrap();
    assert!(!strategy.namespace_scoped());
    assert_eq!(
        messages(&strategy.validate(&crontab())),
        ["metadata.namespace: Forbidden: not allowed on this type"]
    );
}

#[test]
fn finalizer_warnings_for_added_finalizers() {
    let strategy = with_status();
    let mut object = crontab();
    object["metadata"]["finalizers"] = json!([
        "example.com/cleanup",
        "orphan",
        "cleanup",
        "example.com",
        "bad/na/me"
    ]);
    assert_eq!(
        strategy.warnings_on_create(&object),
        [
            r#"metadata.finalizers: "bad/na/me": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"#,
            r#"metadata.finalizers: "cleanup": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers"#,
            r#"metadata.finalizers: "example.com": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers"#,
        ]
    );
    assert!(strategy.warnings_on_update(&object, &object).is_empty());
}

#[test]
fn decode_prunes_metadata_and_reports_paths() {
    let strategy = with_status();
    let mut object = crontab();
    object["metadata"]["bogus"] = json!(1);
    object["metadata"]["clusterName"] = json!("x");
    let unknown = strategy.decode(&mut object);
    assert_eq!(unknown, ["metadata.bogus", "metadata.clusterName"]);
    assert!(object["metadata"].get("bogus").is_none());
    assert_eq!(
        unknown_field_warnings(&unknown),
        [
            r#"unknown field "metadata.bogus""#,
            r#"unknown field "metadata.clusterName""#
        ]
    );
    let err = strict_decoding_error(&unknown).unwrap();
    assert_eq!(
        err.message(),
        r#"strict decoding error: unknown field "metadata.bogus", unknown field "metadata.clusterName""#
    );
    assert!(strict_decoding_error(&[]).is_none());

    let mut stored = crontab();
    stored["metadata"]["generation"] = json!(0);
    strategy.decode_stored(&mut stored);
    assert_eq!(stored["metadata"]["generation"], 1);
}

#[test]
fn field_sets_for_field_selectors() {
    let strategy = with_status();
    let mut object = crontab();
    assert_eq!(
        strategy.field_set(&object).unwrap(),
        [
            ("metadata.name".to_owned(), "every-minute".to_owned()),
            ("metadata.namespace".to_owned(), "default".to_owned()),
            ("spec.color".to_owned(), String::new()),
        ]
    );
    object["spec"]["color"] = json!("blue");
    assert_eq!(strategy.field_set(&object).unwrap()[2].1, "blue");
}

#[test]
fn decode_prunes_fields_the_schema_does_not_know() {
    let mut object = crontab();
    object["spec"]["foo"] = json!(1);
    object["metadata"]["bogus"] = json!(true);
    let unknown = with_status().decode(&mut object);
    assert_eq!(unknown, ["metadata.bogus", "spec.foo"]);
    assert_eq!(object, crontab());
    // Another kind is left to validation (only metadata is pruned).
    let mut other = crontab();
    other["kind"] = json!("Other");
    other["spec"]["foo"] = json!(1);
    assert!(with_status().decode(&mut other).is_empty());
    assert_eq!(other["spec"]["foo"], 1);
}
