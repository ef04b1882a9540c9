//! structured-merge-diff's merge test cases (multiple appliers, updaters
//! against appliers, sets, associative and atomic lists, removing fields,
//! conflicts and force, defaulted keys, deduced types), run through
//! `FieldManager` from `tests/data/smd_merge_cases.json`.

use std::collections::BTreeMap;

use kapi_fieldmanager::{FieldManager, TypeSchema, decode_managed_fields};
use serde_json::{Value, json};

const NOW: &str = "2024-01-02T03:04:05Z";

/// The object schema with the type meta and metadata every object has.
fn type_schema(object_schema: &Value) -> TypeSchema {
    if object_schema.is_null() {
        return TypeSchema::deduced();
    }
    let mut schema = object_schema.clone();
    let properties = schema["properties"].as_object_mut().unwrap();
    properties.insert("apiVersion".into(), json!({"type": "string"}));
    properties.insert("kind".into(), json!({"type": "string"}));
    properties.insert(
        "metadata".into(),
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "managedFields": {"type": "array", "items": {"type": "object",
                "x-kubernetes-preserve-unknown-fields": true}}
        }}),
    );
    TypeSchema::inline(schema)
}

fn wrap(object: &Value) -> Value {
    let mut out = object.as_object().cloned().unwrap_or_default();
    out.insert("apiVersion".into(), "v1".into());
    out.insert("kind".into(), "T".into());
    out.insert("metadata".into(), json!({"name": "x"}));
    Value::Object(out)
}

fn unwrap_object(object: &Value) -> Value {
    let mut out = object.as_object().cloned().unwrap();
    out.remove("apiVersion");
    out.remove("kind");
    out.remove("metadata");
    Value::Object(out)
}

/// Manager name → FieldsV1 of the live object's managedFields.
fn managers(object: &Value) -> BTreeMap<String, Value> {
    let entries = decode_managed_fields(
        object
            .pointer("/metadata/managedFields")
            .unwrap_or(&Value::Null),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for entry in entries {
        let previous = out.insert(entry.manager.clone(), entry.fields.to_fields_v1());
        assert!(
            previous.is_none(),
            "manager {} has two entries",
            entry.manager
        );
    }
    out
}

/// `<manager> <path>` of each cause of a conflict error, sorted.
fn conflict_lines(err: &kapi_core::StatusError) -> Vec<String> {
    let status = err.to_status();
    let mut lines: Vec<String> = status
        .details
        .and_then(|d| d.causes)
        .unwrap_or_default()
        .into_iter()
        .map(|cause| {
            let message = cause.message.unwrap_or_default();
            let manager = message.split('"').nth(1).unwrap_or_default().to_owned();
            format!("{manager} {}", cause.field.unwrap_or_default())
        })
        .collect();
    lines.sort();
    lines
}

fn run_case(name: &str, case: &Value, schemas: &Value) {
    let schema_name = &case["schema"];
    let object_schema = match schema_name {
        Value::String(s) => &schemas[s.as_str()],
        _ => &Value::Null,
    };
    let manager = FieldManager::new(&type_schema(object_schema), "v1", "T").unwrap();
    let now = NOW.parse().unwrap();
    let mut live: Option<Value> = None;
    for (i, op) in case["ops"].as_array().unwrap().iter().enumerate() {
        let object = wrap(&op["object"]);
        let step = format!("{name}: op {i}");
        if let Some(who) = op["update"].as_str() {
            let new = match &live {
                // An update sends the live metadata back, as clients do.
                Some(l) => {
                    let mut new = object.clone();
                    new["metadata"] = l["metadata"].clone();
                    new
                }
                None => object,
            };
            live = Some(
                manager
                    .update(live.as_ref(), new, who, "", now)
                    .expect(&step),
            );
            continue;
        }
        let (who, force) = match (op["apply"].as_str(), op["force"].as_str()) {
            (Some(who), _) => (who, false),
            (_, Some(who)) => (who, true),
            _ => panic!("{step}: unknown operation {op}"),
        };
        match manager.apply(live.as_ref(), &object, who, force, "", now) {
            Ok(applied) => {
                assert!(op.get("conflicts").is_none(), "{step}: expected conflicts");
                live = Some(applied);
            }
            Err(err) => {
                let expected: Vec<String> = match op.get("conflicts") {
                    Some(c) => {
                        let mut c: Vec<String> = c
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| l.as_str().unwrap().to_owned())
                            .collect();
                        c.sort();
                        c
                    }
                    None => panic!("{step}: {err:?}"),
                };
                assert_eq!(err.code(), http::StatusCode::CONFLICT, "{step}");
                assert_eq!(conflict_lines(&err), expected, "{step}");
            }
        }
    }
    let live = live.expect("at least one operation");
    assert_eq!(unwrap_object(&live), case["object"], "{name}: object");
    if let Some(expected) = case.get("managed") {
        let expected: BTreeMap<String, Value> = expected
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(managers(&live), expected, "{name}: managed fields");
    }
}

#[test]
fn structured_merge_diff_cases() {
    let data: Value =
        serde_json::from_str(include_str!("data/smd_merge_cases.json")).expect("valid test data");
    let mut failures = Vec::new();
    for (name, case) in data["cases"].as_object().unwrap() {
        let result = std::panic::catch_unwind(|| run_case(name, case, &data["schemas"]));
        if result.is_err() {
            failures.push(name.clone());
        }
    }
    assert!(failures.is_empty(), "failing cases: {failures:?}");
}
