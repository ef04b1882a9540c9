//! Validation of custom resources against structural schemas: the field
//! errors and their texts, as kube-apiserver reports them.

use kapi_apiextensions::schema::Structural;
use kapi_core::field::Path;
use serde_json::{Value, json};

fn structural(schema: Value) -> Structural {
    Structural::new(&schema, &Path::new("openAPIV3Schema")).unwrap_or_else(|errs| {
        let rendered: Vec<String> = errs.iter().map(ToString::to_string).collect();
        panic!("schema rejected: {rendered:?}")
    })
}

fn rendered(errs: &[kapi_core::field::Error]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

/// Validates `spec` (under a CronTab-like object) against a schema whose
/// `spec` has `spec_schema`.
fn check(spec_schema: Value, spec: Value, expected: &[&str]) {
    let schema = structural(json!({
        "type": "object",
        "properties": {"spec": spec_schema},
    }));
    let object = json!({
        "apiVersion": "stable.example.com/v1",
        "kind": "CronTab",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": spec,
    });
    assert_eq!(rendered(&schema.validate(&object)), expected, "spec {spec}");
}

fn crontab_spec() -> Value {
    json!({
        "type": "object",
        "required": ["cronSpec"],
        "properties": {
            "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
            "image": {"type": "string", "enum": ["a", "b"]},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    })
}

#[test]
fn crontab() {
    let cases: &[(Value, &[&str])] = &[
        (
            json!({"cronSpec": "* * * * */5", "image": "a", "replicas": 3}),
            &[],
        ),
        (
            json!({"replicas": "string"}),
            &[
                r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
                "spec.cronSpec: Required value",
            ],
        ),
        (
            json!({"cronSpec": "* * * * *", "replicas": 200}),
            &[
                "spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 100",
            ],
        ),
        (
            json!({"cronSpec": "* * * * *", "replicas": 0}),
            &[
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            ],
        ),
        (
            json!({"cronSpec": "* * * * *", "image": "x"}),
            &[r#"spec.image: Unsupported value: "x": supported values: "a", "b""#],
        ),
        (
            json!({"cronSpec": "bad"}),
            &[
                r#"spec.cronSpec: Invalid value: "bad": spec.cronSpec in body should match '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'"#,
            ],
        ),
        // A whole float is an integer; a fraction is not, and Go's number
        // validator adds its own complaint at the root.
        (json!({"cronSpec": "* * * * *", "replicas": 2.0}), &[]),
        (
            json!({"cronSpec": "* * * * *", "replicas": 1.5}),
            &[
                r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#,
                r#"<nil>: Invalid value: "": Checked value must be of type integer (default format) in spec.replicas"#,
            ],
        ),
        (
            json!({"cronSpec": null}),
            &[
                r#"spec.cronSpec: Invalid value: "null": spec.cronSpec in body must be of type string: "null""#,
            ],
        ),
    ];
    for (spec, expected) in cases {
        check(crontab_spec(), spec.clone(), expected);
    }
}

#[test]
fn keywords() {
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"type": "string", "maxLength": 3}),
            json!("abcd"),
            &["spec: Too long: may not be more than 3 bytes"],
        ),
        // Lengths count characters.
        (json!({"type": "string", "maxLength": 3}), json!("äöü"), &[]),
        (
            json!({"type": "string", "minLength": 2}),
            json!("a"),
            &[r#"spec: Invalid value: "a": spec in body should be at least 2 chars long"#],
        ),
        (
            json!({"type": "array", "maxItems": 2, "items": {"type": "integer"}}),
            json!([1, 2, 3]),
            &["spec: Too many: 3: must have at most 2 items"],
        ),
        (
            json!({"type": "array", "minItems": 1, "items": {"type": "integer"}}),
            json!([]),
            &["spec: Invalid value: 0: spec in body should have at least 1 items"],
        ),
        (
            json!({"type": "array", "items": {"type": "integer"}}),
            json!([1, "x"]),
            &[
                r#"spec[1]: Invalid value: "string": spec[1] in body must be of type integer: "string""#,
            ],
        ),
        (
            json!({"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}),
            json!({"a": "1", "b": "2"}),
            &["spec: Too many: 2: must have at most 1 item"],
        ),
        (
            json!({"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}}),
            json!({"a": "1"}),
            &["spec: Invalid value: 1: spec in body should have at least 2 properties"],
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            json!({"a": 1}),
            &[
                r#"spec.a: Invalid value: "integer": spec.a in body must be of type string: "integer""#,
            ],
        ),
        (
            json!({"type": "integer", "multipleOf": 5}),
            json!(7),
            &["spec: Invalid value: 7: spec in body should be a multiple of 5"],
        ),
        (
            json!({"type": "number", "multipleOf": 0.5}),
            json!(1.25),
            &["spec: Invalid value: 1.25: spec in body should be a multiple of 0.5"],
        ),
        (
            json!({"type": "integer", "maximum": 100, "exclusiveMaximum": true}),
            json!(100),
            &["spec: Invalid value: 100: spec in body should be less than 100"],
        ),
        (
            json!({"type": "number", "minimum": 0.5, "exclusiveMinimum": true}),
            json!(0.5),
            &["spec: Invalid value: 0.5: spec in body should be greater than 0.5"],
        ),
        (
            json!({"type": "integer", "format": "int32"}),
            json!(3_000_000_000_i64),
            &[
                r#"<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec"#,
            ],
        ),
        (
            json!({"type": "string", "nullable": true}),
            json!(null),
            &[],
        ),
        (
            json!({"type": "boolean"}),
            json!("true"),
            &[r#"spec: Invalid value: "string": spec in body must be of type boolean: "string""#],
        ),
        (
            json!({"type": "integer", "enum": [1, 2]}),
            json!(3),
            &[r#"spec: Unsupported value: 3: supported values: "1", "2""#],
        ),
    ];
    for (schema, spec, expected) in cases {
        check(schema.clone(), spec.clone(), expected);
    }
}

#[test]
fn formats() {
    let cases: &[(&str, Value, &[&str])] = &[
        (
            "date",
            json!("2023-02-30"),
            &[
                r#"spec: Invalid value: "2023-02-30": spec in body must be of type date: "2023-02-30""#,
            ],
        ),
        ("date", json!("2024-02-29"), &[]),
        (
            "date-time",
            json!("yesterday"),
            &[
                r#"spec: Invalid value: "yesterday": spec in body must be of type date-time: "yesterday""#,
            ],
        ),
        ("date-time", json!("2024-02-29T10:00:00Z"), &[]),
        ("uuid", json!("123e4567-e89b-12d3-a456-426614174000"), &[]),
        (
            "ipv4",
            json!("300.1.1.1"),
            &[
                r#"spec: Invalid value: "300.1.1.1": spec in body must be of type ipv4: "300.1.1.1""#,
            ],
        ),
        ("cidr", json!("10.0.0.0/8"), &[]),
        ("duration", json!("1h"), &[]),
        // Formats the API server does not know (or not yet, at 1.33) are
        // stripped, not enforced.
        ("k8s-short-name", json!("Not_A_Name"), &[]),
        ("something", json!("anything"), &[]),
    ];
    for (format, spec, expected) in cases {
        check(
            json!({"type": "string", "format": format}),
            spec.clone(),
            expected,
        );
    }
}

#[test]
fn int_or_string_and_junctors() {
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"x-kubernetes-int-or-string": true}),
            json!(8080),
            &[],
        ),
        (
            json!({"x-kubernetes-int-or-string": true}),
            json!("http"),
            &[],
        ),
        (
            json!({"x-kubernetes-int-or-string": true}),
            json!(true),
            &[
                r#"spec: Invalid value: "boolean": spec in body must be of type integer,string: "boolean""#,
            ],
        ),
        (
            json!({
                "x-kubernetes-int-or-string": true,
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "pattern": "^\\d+%$",
            }),
            json!("50"),
            &[r#"spec: Invalid value: "50": spec in body should match '^\d+%$'"#],
        ),
        (
            json!({"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 1}]}),
            json!(5),
            &[
                r#"<nil>: Invalid value: "": "spec" must validate at least one schema (anyOf)"#,
                "spec: Invalid value: 5: spec in body should be greater than or equal to 10",
            ],
        ),
        (
            json!({"type": "integer", "allOf": [{"maximum": 5}]}),
            json!(7),
            &[
                "spec: Invalid value: 7: spec in body should be less than or equal to 5",
                r#"<nil>: Invalid value: "": "spec" must validate all the schemas (allOf). None validated"#,
            ],
        ),
        (
            json!({"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]}),
            json!(5),
            &[
                r#"<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
            ],
        ),
        (
            json!({"type": "string", "not": {"enum": ["x"]}}),
            json!("x"),
            &[r#"<nil>: Invalid value: "": "spec" must not validate the schema (not)"#],
        ),
        (
            json!({
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
            }),
            json!({}),
            &[
                r#"<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid"#,
                "spec.a: Required value",
            ],
        ),
    ];
    for (schema, spec, expected) in cases {
        check(schema.clone(), spec.clone(), expected);
    }
}

#[test]
fn list_types() {
    let set =
        json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}});
    check(set.clone(), json!(["a", "b"]), &[]);
    check(
        set,
        json!(["a", "b", "a", "a", "b"]),
        &[
            r#"spec[2]: Duplicate value: "a""#,
            r#"spec[4]: Duplicate value: "b""#,
        ],
    );

    let map = json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
        },
    });
    check(
        map.clone(),
        json!([{"name": "a", "port": 1}, {"name": "b", "port": 1}]),
        &[],
    );
    check(
        map,
        json!([{"name": "a", "port": 1}, {"name": "a", "port": 2}]),
        &[r#"spec[1]: Duplicate value: {"name":"a"}"#],
    );

    let two_keys = json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "protocol"],
        "items": {
            "type": "object",
            "required": ["name", "protocol"],
            "properties": {"name": {"type": "string"}, "protocol": {"type": "string"}},
        },
    });
    check(
        two_keys,
        json!([{"name": "a", "protocol": "TCP"}, {"name": "a", "protocol": "UDP"}, {"name": "a", "protocol": "TCP"}]),
        &[r#"spec[2]: Duplicate value: {"name":"a","protocol":"TCP"}"#],
    );
}

#[test]
fn embedded_resources() {
    let template = json!({
        "type": "object",
        "properties": {
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": true,
                "x-kubernetes-preserve-unknown-fields": true,
            },
        },
    });
    check(
        template.clone(),
        json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}),
        &[],
    );
    check(
        template.clone(),
        json!({"template": {}}),
        &[
            "spec.template.apiVersion: Required value",
            "spec.template.kind: Required value",
        ],
    );
    check(
        template.clone(),
        json!({"template": {"apiVersion": "a/b/c", "kind": "Bad_Kind"}}),
        &[
            r#"spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
            r#"spec.template.kind: Invalid value: "Bad_Kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
        ],
    );
    check(
        template.clone(),
        json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a/b"}}}),
        &[r#"spec.template.metadata.name: Invalid value: "a/b": may not contain '/'"#],
    );
    check(
        template,
        json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 5}}}),
        &[
            "spec.template.metadata: Invalid value: {\"name\":5}: json: cannot unmarshal number into Go struct field ObjectMeta.name of type string",
        ],
    );
}

#[test]
fn root_type_meta_is_always_allowed() {
    let schema = structural(json!({"type": "object", "properties": {"spec": {"type": "object"}}}));
    let object = json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {}});
    assert!(schema.validate(&object).is_empty());
}

#[test]
fn status_and_ratcheting() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer", "maximum": 10},
                    "name": {"type": "string"},
                },
            },
            "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
        },
    }));
    let old = json!({"spec": {"replicas": 20, "name": "a"}, "status": {"replicas": 1}});

    // An invalid value that did not change is tolerated on update.
    let unchanged = json!({"spec": {"replicas": 20, "name": "b"}});
    assert_eq!(
        rendered(&schema.validate_update(&unchanged, &old)),
        Vec::<String>::new()
    );
    assert_eq!(
        rendered(&schema.validate(&unchanged)),
        vec![
            "spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"
        ]
    );
    let changed = json!({"spec": {"replicas": 30, "name": "a"}});
    assert_eq!(
        rendered(&schema.validate_update(&changed, &old)),
        vec![
            "spec.replicas: Invalid value: 30: spec.replicas in body should be less than or equal to 10"
        ]
    );

    let status = json!({"spec": {}, "status": {"replicas": "x"}});
    assert_eq!(
        rendered(&schema.validate_status_update(&status, &old)),
        vec![
            r#"status.replicas: Invalid value: "string": replicas in body must be of type integer: "string""#
        ]
    );
}

#[test]
fn list_type_errors_ratchet_on_update() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                },
            },
        },
    }));
    let duplicated = json!({"spec": {"tags": ["a", "a"]}});
    let clean = json!({"spec": {"tags": ["a"]}});
    assert_eq!(
        rendered(&schema.validate_update(&duplicated, &duplicated)),
        Vec::<String>::new()
    );
    assert_eq!(
        rendered(&schema.validate_update(&duplicated, &clean)),
        vec![r#"spec.tags[1]: Duplicate value: "a""#]
    );
}

#[test]
fn ratcheting_correlates_map_list_items_by_key() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "ports": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "port": {"type": "integer", "maximum": 1000},
                            },
                        },
                    },
                    "atomic": {"type": "array", "items": {"type": "integer", "maximum": 10}},
                },
            },
        },
    }));
    let old = json!({"spec": {
        "ports": [{"name": "a", "port": 5000}, {"name": "b", "port": 80}],
        "atomic": [50, 1],
    }});
    // Reordered and extended: the old invalid item is still tolerated, a
    // new invalid one is not.
    let new = json!({"spec": {
        "ports": [{"name": "c", "port": 6000}, {"name": "b", "port": 80}, {"name": "a", "port": 5000}],
        "atomic": [50, 1],
    }});
    assert_eq!(
        rendered(&schema.validate_update(&new, &old)),
        vec![
            "spec.ports[0].port: Invalid value: 6000: spec.ports[0].port in body should be less than or equal to 1000"
        ]
    );
    // Atomic lists ratchet only as a whole.
    let changed_list = json!({"spec": {"ports": [], "atomic": [50, 2]}});
    assert_eq!(
        rendered(&schema.validate_update(&changed_list, &old)),
        vec![
            "spec.atomic[0]: Invalid value: 50: spec.atomic[0] in body should be less than or equal to 10"
        ]
    );
}

#[test]
fn metadata_constraints_at_the_root_apply() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}},
        },
    }));
    assert_eq!(
        rendered(&schema.validate(&json!({"metadata": {"name": "toolong"}}))),
        vec!["metadata.name: Too long: may not be more than 5 bytes"]
    );
}
