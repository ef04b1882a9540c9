//! Schemas a CRD may not have: structural violations, invalid defaults,
//! unsupported keywords and misused extensions, with Go's messages.

use kapi_apiextensions::schema::{Structural, validate_status_subresource_root};
use kapi_core::field::Path;
use serde_json::{Value, json};

fn path() -> Path {
    Path::new("spec")
        .child("versions")
        .index(0)
        .child("schema")
        .child("openAPIV3Schema")
}

fn check(schema: Value, expected: &[&str]) {
    let errs = match Structural::new(&schema, &path()) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    };
    let expected: Vec<String> = expected
        .iter()
        .map(|e| e.replace("ROOT", "spec.versions[0].schema.openAPIV3Schema"))
        .collect();
    assert_eq!(errs, expected, "schema {schema}");
}

fn with_spec(spec: Value) -> Value {
    json!({"type": "object", "properties": {"spec": spec}})
}

#[test]
fn structural_violations() {
    let cases: &[(Value, &[&str])] = &[
        (json!({"type": "object"}), &[]),
        (
            json!({"type": "object", "properties": {"foo": {}}}),
            &[
                "ROOT.properties[foo].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            json!({}),
            &["ROOT.type: Required value: must not be empty at the root"],
        ),
        (
            json!({"type": "string"}),
            &[r#"ROOT.type: Invalid value: "string": must be object at the root"#],
        ),
        (
            with_spec(json!({"type": "array"})),
            &["ROOT.properties[spec].items: Required value: must be specified"],
        ),
        (
            with_spec(json!({"type": "array", "items": {}})),
            &[
                "ROOT.properties[spec].items.type: Required value: must not be empty for specified array items",
            ],
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            &["ROOT.additionalProperties: Forbidden: must not be used at the root"],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}}),
            &[],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            &[
                "ROOT.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "string"}}}),
            &[r#"ROOT.properties[metadata].type: Invalid value: "string": must be object"#],
        ),
        (
            with_spec(json!({"type": "string", "anyOf": [{"type": "string", "description": "d"}]})),
            &[
                "ROOT.properties[spec].anyOf[0].description: Forbidden: must be empty to be structural",
                "ROOT.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
            ],
        ),
        (
            json!({
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "anyOf": [{"properties": {"b": {"minLength": 1}}}],
            }),
            &[
                "ROOT.properties[b]: Required value: because it is defined in ROOT.anyOf[0].properties[b]",
            ],
        ),
        // Go checks completeness for the root's value validations only.
        (
            with_spec(json!({
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "anyOf": [{"properties": {"b": {"minLength": 1}}}],
            })),
            &[],
        ),
        (
            with_spec(
                json!({"type": "object", "allOf": [{"properties": {"metadata": {}}}], "properties": {"metadata": {"type": "object"}}}),
            ),
            &[
                "ROOT.properties[spec].allOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
            ],
        ),
        (
            with_spec(json!({"type": "string", "pattern": "(abc"})),
            &[
                "ROOT.properties[spec].pattern: Invalid value: \"(abc\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ): `(abc`",
            ],
        ),
        (
            with_spec(
                json!({"x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}),
            ),
            &[
                "ROOT.properties[spec].type: Required value: must be object if x-kubernetes-embedded-resource is true",
            ],
        ),
        (
            with_spec(json!({"type": "object", "x-kubernetes-embedded-resource": true})),
            &[
                "ROOT.properties[spec].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            ],
        ),
        (
            with_spec(
                json!({"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true}),
            ),
            &[
                "ROOT.properties[spec].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
            ],
        ),
        (
            with_spec(
                json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}),
            ),
            &[],
        ),
        (
            with_spec(
                json!({"x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^a"}]}),
            ),
            &[],
        ),
        (
            with_spec(
                json!({"type": "string", "anyOf": [{"x-kubernetes-validations": [{"rule": "true"}]}]}),
            ),
            &[
                "ROOT.properties[spec].anyOf[0].x-kubernetes-validations: Forbidden: must be empty to be structural",
            ],
        ),
    ];
    for (schema, expected) in cases {
        check(schema.clone(), expected);
    }
}

#[test]
fn keyword_and_extension_errors() {
    let cases: &[(Value, &[&str])] = &[
        (
            json!({"type": "object", "nullable": true}),
            &["ROOT.nullable: Forbidden: nullable cannot be true at the root"],
        ),
        (
            with_spec(json!({"type": "array", "uniqueItems": true, "items": {"type": "string"}})),
            &[
                "ROOT.properties[spec].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ],
        ),
        (
            with_spec(json!({"type": "foo"})),
            &[
                r#"ROOT.properties[spec].type: Unsupported value: "foo": supported values: "array", "boolean", "integer", "number", "object", "string""#,
            ],
        ),
        (
            with_spec(
                json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}),
            ),
            &[
                "ROOT.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
            ],
        ),
        (
            with_spec(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": false})),
            &[
                "ROOT.properties[spec].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
            ],
        ),
        (
            json!({"type": "object", "$schema": "http://json-schema.org/draft-04/schema#"}),
            &[r#"ROOT: Invalid value: "": OpenAPIV3Schema 'schema' is not supported"#],
        ),
        (
            with_spec(json!({"type": "object", "$ref": "#/definitions/x"})),
            &["ROOT.properties[spec].$ref: Forbidden: $ref is not supported"],
        ),
        (
            with_spec(json!({"type": "string", "x-kubernetes-list-type": "set"})),
            &[
                r#"ROOT.properties[spec].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified"#,
            ],
        ),
        (
            with_spec(
                json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"}),
            ),
            &[
                r#"ROOT.properties[spec].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map""#,
            ],
        ),
        (
            with_spec(
                json!({"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map"}),
            ),
            &[
                "ROOT.properties[spec].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
            ],
        ),
        (
            with_spec(json!({
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name", "missing"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            })),
            &[
                r#"ROOT.properties[spec].x-kubernetes-list-map-keys: Invalid value: ["name","missing"]: entries must all be names of item properties"#,
                "ROOT.properties[spec].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
            ],
        ),
        (
            with_spec(json!({
                "type": "array",
                "x-kubernetes-list-type": "set",
                "items": {"type": "object", "properties": {"a": {"type": "string"}}},
            })),
            &[
                "ROOT.properties[spec].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set",
            ],
        ),
        (
            with_spec(json!({"type": "string", "x-kubernetes-map-type": "atomic"})),
            &[
                r#"ROOT.properties[spec].type: Invalid value: "string": must be object if x-kubernetes-map-type is specified"#,
            ],
        ),
        (
            with_spec(
                json!({"type": "string", "x-kubernetes-validations": [{"rule": " "}, {"rule": "self.a\n", "reason": "Bogus"}]}),
            ),
            &[
                "ROOT.properties[spec].x-kubernetes-validations[0].rule: Required value: rule is not specified",
                r#"ROOT.properties[spec].x-kubernetes-validations[1].reason: Unsupported value: "Bogus": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired""#,
            ],
        ),
        (
            with_spec(
                json!({"type": "string", "x-kubernetes-validations": [{"rule": "a ==\n b"}]}),
            ),
            &[
                "ROOT.properties[spec].x-kubernetes-validations[0].message: Required value: message must be specified if rule contains line breaks",
            ],
        ),
    ];
    for (schema, expected) in cases {
        check(schema.clone(), expected);
    }
}

#[test]
fn default_errors() {
    let cases: &[(Value, &[&str])] = &[
        (
            with_spec(json!({"type": "integer", "default": 3, "maximum": 5})),
            &[],
        ),
        (
            with_spec(json!({"type": "integer", "default": "x"})),
            &[
                r#"ROOT.properties[spec].default: Invalid value: "string":  in body must be of type integer: "string""#,
            ],
        ),
        (
            with_spec(json!({"type": "integer", "default": 7, "maximum": 5})),
            &[
                "ROOT.properties[spec].default: Invalid value: 7:  in body should be less than or equal to 5",
            ],
        ),
        (
            with_spec(
                json!({"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "x", "b": 1}}),
            ),
            &[
                r#"ROOT.properties[spec].default: Invalid value: {"a":"x","b":1}: must not have unknown fields"#,
            ],
        ),
        (
            with_spec(
                json!({"type": "object", "properties": {"a": {"type": "string", "default": 1}}}),
            ),
            &[
                r#"ROOT.properties[spec].properties[a].default: Invalid value: "integer":  in body must be of type string: "integer""#,
            ],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}}}),
            &[
                "ROOT.properties[metadata].properties[name].default: Forbidden: must not be set in top-level metadata",
            ],
        ),
        (
            with_spec(json!({
                "type": "object",
                "x-kubernetes-embedded-resource": true,
                "x-kubernetes-preserve-unknown-fields": true,
                "default": {"kind": "Pod"},
            })),
            &["ROOT.properties[spec].default.apiVersion: Required value"],
        ),
        (
            with_spec(json!({
                "type": "object",
                "x-kubernetes-embedded-resource": true,
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {
                    "metadata": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "default": "a/b"}},
                    },
                },
            })),
            &[
                r#"ROOT.properties[spec].properties[metadata].properties[name].default: Invalid value: "a/b": must result in valid metadata: metadata.name: Invalid value: "a/b": may not contain '/'"#,
            ],
        ),
    ];
    for (schema, expected) in cases {
        check(schema.clone(), expected);
    }
}

#[test]
fn status_subresource_root() {
    let check_root = |schema: Value, expected: &[&str]| {
        let errs: Vec<String> =
            validate_status_subresource_root(&schema, &Path::new("openAPIV3Schema"))
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(errs, expected, "schema {schema}");
    };
    check_root(
        json!({"type": "object", "description": "d", "properties": {}}),
        &[],
    );
    check_root(
        json!({"type": "array"}),
        &[
            r#"openAPIV3Schema.type: Invalid value: "array": only "object" is allowed as the type at the root of the schema if the status subresource is enabled"#,
        ],
    );
    check_root(
        json!({"type": "object", "anyOf": [{"required": ["a"]}]}),
        &[
            r#"openAPIV3Schema: Invalid value: {"anyOf":[{"required":["a"]}],"type":"object"}: only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled"#,
        ],
    );
}
