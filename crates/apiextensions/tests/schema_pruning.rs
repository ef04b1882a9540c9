//! Pruning and defaulting of custom resources by their structural schema,
//! in the decoder's order: prune, then default, then validate.

use kapi_apiextensions::schema::Structural;
use kapi_core::field::Path;
use serde_json::{Value, json};

fn structural(schema: Value) -> Structural {
    Structural::new(&schema, &Path::new("openAPIV3Schema")).unwrap_or_else(|errs| {
        let rendered: Vec<String> = errs.iter().map(ToString::to_string).collect();
        panic!("schema rejected: {rendered:?}")
    })
}

/// Prunes `object` and checks the result and the reported paths.
fn check_prune(schema: &Structural, object: Value, expected: Value, unknown: &[&str]) {
    let mut pruned = object.clone();
    let paths = schema.prune(&mut pruned);
    assert_eq!(pruned, expected, "pruning {object}");
    assert_eq!(paths, unknown, "unknown fields of {object}");
}

fn check_default(schema: &Structural, object: Value, expected: Value) {
    let mut defaulted = object.clone();
    schema.apply_defaults(&mut defaulted);
    assert_eq!(defaulted, expected, "defaulting {object}");
}

#[test]
fn prunes_unknown_fields() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "known": {"type": "object", "properties": {"a": {"type": "string"}}},
                    "list": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "free": {"type": "object", "additionalProperties": true},
                },
            },
        },
    }));
    let cases: &[(Value, Value, &[&str])] = &[
        (
            json!({"spec": {"known": {"a": "1", "b": 2}, "foo": 1}, "bar": true}),
            json!({"spec": {"known": {"a": "1"}}}),
            &["bar", "spec.foo", "spec.known.b"],
        ),
        (
            json!({"spec": {"list": [{"x": 1, "y": 2}, {"z": 3}]}}),
            json!({"spec": {"list": [{"x": 1}, {}]}}),
            &["spec.list[0].y", "spec.list[1].z"],
        ),
        (
            json!({"spec": {"labels": {"any": "thing"}}}),
            json!({"spec": {"labels": {"any": "thing"}}}),
            &[],
        ),
        // `additionalProperties: true` has no schema: values keep their
        // keys, but everything inside them is unknown.
        (
            json!({"spec": {"free": {"a": {"deep": 1}, "b": 2}}}),
            json!({"spec": {"free": {"a": {}, "b": 2}}}),
            &["spec.free.a.deep"],
        ),
        // The root's type meta and ObjectMeta stay, unknown metadata fields
        // do not.
        (
            json!({
                "apiVersion": "a/v1",
                "kind": "K",
                "metadata": {"name": "x", "labels": {"a": "b"}, "bogus": 1},
                "spec": {},
            }),
            json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {}}),
            &["metadata.bogus"],
        ),
    ];
    for (object, expected, unknown) in cases {
        check_prune(&schema, object.clone(), expected.clone(), unknown);
    }
}

#[test]
fn preserve_unknown_fields() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {
                    "strict": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
            },
        },
    }));
    check_prune(
        &schema,
        json!({"spec": {"anything": {"goes": [1]}, "strict": {"a": "x", "b": "y"}}}),
        json!({"spec": {"anything": {"goes": [1]}, "strict": {"a": "x"}}}),
        &["spec.strict.b"],
    );

    let whole = structural(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let object = json!({"spec": {"a": 1}, "status": [1, 2]});
    check_prune(&whole, object.clone(), object, &[]);
}

#[test]
fn embedded_resources() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "properties": {"spec": {"type": "object", "properties": {"image": {"type": "string"}}}},
                    },
                    "raw": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "x-kubernetes-preserve-unknown-fields": true,
                    },
                },
            },
        },
    }));
    check_prune(
        &schema,
        json!({"spec": {"template": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": null, "unknownMeta": 1},
            "spec": {"image": "nginx", "extra": true},
            "other": 1,
        }}}),
        json!({"spec": {"template": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"image": "nginx"},
        }}}),
        &[
            "spec.template.other",
            "spec.template.spec.extra",
            "spec.template.metadata.unknownMeta",
        ],
    );
    check_prune(
        &schema,
        json!({"spec": {"raw": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}}}),
        json!({"spec": {"raw": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}}}),
        &[],
    );
}

#[test]
fn drops_non_nullable_nulls_without_defaults() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "plain": {"type": "string"},
                    "nullable": {"type": "string", "nullable": true},
                    "defaulted": {"type": "string", "default": "d"},
                },
            },
        },
    }));
    let mut object = json!({"spec": {"plain": null, "nullable": null, "defaulted": null}});
    assert!(schema.prune(&mut object).is_empty());
    assert_eq!(
        object,
        json!({"spec": {"nullable": null, "defaulted": null}})
    );
    schema.apply_defaults(&mut object);
    assert_eq!(
        object,
        json!({"spec": {"nullable": null, "defaulted": "d"}})
    );
}

#[test]
fn defaults() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "default": {},
                "properties": {
                    "replicas": {"type": "integer", "default": 1},
                    "strategy": {
                        "type": "object",
                        "default": {"type": "Rolling"},
                        "properties": {
                            "type": {"type": "string"},
                            "maxSurge": {"type": "integer", "default": 25},
                        },
                    },
                    "ports": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "port": {"type": "integer"},
                                "protocol": {"type": "string", "default": "TCP"},
                            },
                        },
                    },
                    "limits": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {"unit": {"type": "string", "default": "Mi"}},
                        },
                    },
                },
            },
        },
    }));
    let cases: &[(Value, Value)] = &[
        (
            json!({}),
            json!({"spec": {"replicas": 1, "strategy": {"type": "Rolling", "maxSurge": 25}}}),
        ),
        (
            json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}),
            json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate", "maxSurge": 25}}}),
        ),
        (
            json!({"spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}}),
            json!({"spec": {
                "replicas": 1,
                "strategy": {"type": "Rolling", "maxSurge": 25},
                "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            }}),
        ),
        (
            json!({"spec": {"limits": {"memory": {}}}}),
            json!({"spec": {
                "replicas": 1,
                "strategy": {"type": "Rolling", "maxSurge": 25},
                "limits": {"memory": {"unit": "Mi"}},
            }}),
        ),
    ];
    for (object, expected) in cases {
        check_default(&schema, object.clone(), expected.clone());
    }
}

#[test]
fn prune_default_validate_in_go_order() {
    let schema = structural(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {"size": {"type": "integer", "default": 3, "maximum": 5}},
            },
        },
    }));
    // The unknown field goes, the default comes, and the result is valid.
    let mut object =
        json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"sizee": 4}});
    assert_eq!(schema.prune(&mut object), vec!["spec.sizee"]);
    schema.apply_defaults(&mut object);
    assert_eq!(object["spec"], json!({"size": 3}));
    assert!(schema.validate(&object).is_empty());
    assert!(schema.has_defaults());
}

#[test]
fn generated_style_schema_end_to_end() {
    let quantity = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
    let schema = structural(json!({
        "description": "Backup is the Schema for the backups API",
        "type": "object",
        "properties": {
            "apiVersion": {"description": "APIVersion of the object", "type": "string"},
            "kind": {"description": "Kind of the object", "type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["schedule"],
                "properties": {
                    "schedule": {"type": "string", "minLength": 1},
                    "policy": {"type": "string", "enum": ["Allow", "Forbid"], "default": "Allow"},
                    "resources": {
                        "type": "object",
                        "additionalProperties": {
                            "anyOf": [{"type": "integer"}, {"type": "string"}],
                            "pattern": quantity,
                            "x-kubernetes-int-or-string": true,
                        },
                    },
                    "ports": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["port", "protocol"],
                        "items": {
                            "type": "object",
                            "required": ["port"],
                            "properties": {
                                "port": {"type": "integer", "format": "int32"},
                                "protocol": {"type": "string", "default": "TCP"},
                            },
                        },
                    },
                    "job": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
            },
            "status": {
                "type": "object",
                "properties": {
                    "active": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "x-kubernetes-map-type": "atomic",
                            "properties": {"name": {"type": "string"}},
                        },
                    },
                },
            },
        },
    }));
    let mut object = json!({
        "apiVersion": "example.com/v1",
        "kind": "Backup",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * *",
            "job": {"anything": [1, 2]},
            "resources": {"cpu": "500m", "memory": "1Gx", "pods": 10},
            "ports": [{"port": 80}, {"port": 80, "protocol": "UDP"}],
            "typo": true,
        },
    });
    assert_eq!(schema.prune(&mut object), vec!["spec.typo"]);
    schema.apply_defaults(&mut object);
    assert_eq!(object["spec"]["policy"], "Allow");
    assert_eq!(
        object["spec"]["ports"][0],
        json!({"port": 80, "protocol": "TCP"})
    );
    let errs: Vec<String> = schema
        .validate(&object)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        vec![format!(
            "spec.resources.memory: Invalid value: \"1Gx\": spec.resources.memory in body should match '{quantity}'"
        )]
    );
}
