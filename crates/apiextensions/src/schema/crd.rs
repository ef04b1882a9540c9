//! What makes a CRD version's `openAPIV3Schema` invalid (Go:
//! `pkg/apis/apiextensions/validation`, `validateCustomResourceDefinitionValidation`
//! and `ValidateCustomResourceDefinitionOpenAPISchema` with the options of a
//! v1 CRD on create), in Go's order: `nullable` at the root, then the
//! structural violations (or, when there are none, the default values'),
//! then the keyword checks of every schema of the tree, and last the
//! conversion error when nothing else was found.
//!
//! `x-kubernetes-validations` rules get their static checks only; CEL is not
//! compiled.

use kapi_core::field::{Error, ErrorList, Path};
use serde_json::Value;

use super::defaulting;
use super::model::{Additional, Node};
use super::pattern::Patterns;
use super::structural;

const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const SUPPORTED_VALIDATION_REASONS: [&str; 4] = [
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];
const META_FIELDS: [&str; 3] = ["metadata", "kind", "apiVersion"];

/// All violations of a CRD schema; `path` is the `openAPIV3Schema` path.
pub(crate) fn validate(node: &Node, path: &Path, patterns: &Patterns) -> ErrorList {
    let mut errs = ErrorList::new();
    if node.nullable {
        errs.push(Error::forbidden(
            &path.child("nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let conversion_error = structural::conversion_error(node);
    if conversion_error.is_none() {
        let structural_errs = structural::validate(path, node, patterns);
        if structural_errs.is_empty() {
            errs.extend(defaulting::validate_defaults(path, node, patterns));
        } else {
            errs.extend(structural_errs);
        }
    }
    errs.extend(schema_errors(node, path, &Context::root(), true));
    if errs.is_empty()
        && let Some(err) = conversion_error
    {
        errs.push(Error::invalid(path, "", err));
    }
    errs
}

/// The status-subresource restriction of the root schema (Go: the
/// `statusSubresourceEnabled` block of
/// `validateCustomResourceDefinitionValidation`); `path` is the
/// `openAPIV3Schema` path.
pub(crate) fn validate_status_root(schema: &Value, path: &Path) -> ErrorList {
    const ALLOWED: [&str; 22] = [
        "Description",
        "Type",
        "Format",
        "Title",
        "Maximum",
        "ExclusiveMaximum",
        "Minimum",
        "ExclusiveMinimum",
        "MaxLength",
        "MinLength",
        "Pattern",
        "MaxItems",
        "MinItems",
        "UniqueItems",
        "MultipleOf",
        "Required",
        "Items",
        "Properties",
        "ExternalDocs",
        "Example",
        "XPreserveUnknownFields",
        "XValidations",
    ];
    // JSONSchemaProps' fields in declaration order, with their JSON names.
    const FIELDS: [(&str, &str); 44] = [
        ("ID", "id"),
        ("Schema", "$schema"),
        ("Ref", "$ref"),
        ("Description", "description"),
        ("Type", "type"),
        ("Nullable", "nullable"),
        ("Format", "format"),
        ("Title", "title"),
        ("Default", "default"),
        ("Maximum", "maximum"),
        ("ExclusiveMaximum", "exclusiveMaximum"),
        ("Minimum", "minimum"),
        ("ExclusiveMinimum", "exclusiveMinimum"),
        ("MaxLength", "maxLength"),
        ("MinLength", "minLength"),
        ("Pattern", "pattern"),
        ("MaxItems", "maxItems"),
        ("MinItems", "minItems"),
        ("UniqueItems", "uniqueItems"),
        ("MultipleOf", "multipleOf"),
        ("Enum", "enum"),
        ("MaxProperties", "maxProperties"),
        ("MinProperties", "minProperties"),
        ("Required", "required"),
        ("Items", "items"),
        ("AllOf", "allOf"),
        ("OneOf", "oneOf"),
        ("AnyOf", "anyOf"),
        ("Not", "not"),
        ("Properties", "properties"),
        ("AdditionalProperties", "additionalProperties"),
        ("PatternProperties", "patternProperties"),
        ("Dependencies", "dependencies"),
        ("AdditionalItems", "additionalItems"),
        ("Definitions", "definitions"),
        ("ExternalDocs", "externalDocs"),
        ("Example", "example"),
        (
            "XPreserveUnknownFields",
            "x-kubernetes-preserve-unknown-fields",
        ),
        ("XEmbeddedResource", "x-kubernetes-embedded-resource"),
        ("XIntOrString", "x-kubernetes-int-or-string"),
        ("XListMapKeys", "x-kubernetes-list-map-keys"),
        ("XListType", "x-kubernetes-list-type"),
        ("XMapType", "x-kubernetes-map-type"),
        ("XValidations", "x-kubernetes-validations"),
    ];
    let Some(obj) = schema.as_object() else {
        return ErrorList::new();
    };
    let is_zero = |go_name: &str, value: &Value| -> bool {
        match value {
            Value::Null => true,
            Value::Bool(b) => !b && go_name != "XPreserveUnknownFields",
            Value::String(s) => {
                s.is_empty() && !matches!(go_name, "Ref" | "XListType" | "XMapType")
            }
            Value::Array(items) => items.is_empty() && !matches!(go_name, "Enum" | "Required"),
            Value::Object(map) => {
                map.is_empty()
                    && matches!(
                        go_name,
                        "Properties" | "PatternProperties" | "Definitions" | "Dependencies"
                    )
            }
            Value::Number(_) => false,
        }
    };
    for (go_name, json_name) in FIELDS {
        let Some(value) = obj.get(json_name) else {
            continue;
        };
        if is_zero(go_name, value) {
            continue;
        }
        if go_name == "Type" {
            if value.as_str() != Some("object") {
                return vec![Error::invalid(
                    &path.child("type"),
                    value.clone(),
                    r#"only "object" is allowed as the type at the root of the schema if the status subresource is enabled"#,
                )];
            }
            continue;
        }
        if !ALLOWED.contains(&go_name) {
            return vec![Error::invalid(
                path,
                schema.clone(),
                format!(
                    "only [{}] fields are allowed at the root of the schema if the status subresource is enabled",
                    ALLOWED.join(" ")
                ),
            )];
        }
    }
    ErrorList::new()
}

/// Go's `specStandardValidatorV3` state.
#[derive(Debug, Clone)]
struct Context {
    allow_defaults: bool,
    disallow_defaults_reason: String,
    inside_resource_meta: bool,
}

impl Context {
    fn root() -> Self {
        Context {
            allow_defaults: true,
            disallow_defaults_reason: String::new(),
            inside_resource_meta: false,
        }
    }

    fn forbidding_defaults(&self, reason: String) -> Self {
        Context {
            allow_defaults: false,
            disallow_defaults_reason: reason,
            ..self.clone()
        }
    }

    /// `specStandardValidatorV3.validate`.
    fn check(&self, node: &Node, path: &Path) -> ErrorList {
        let mut errs = ErrorList::new();
        if !node.ty.is_empty() && !OPENAPI_V3_TYPES.contains(&node.ty.as_str()) {
            errs.push(Error::not_supported(
                &path.child("type"),
                node.ty.as_str(),
                &OPENAPI_V3_TYPES,
            ));
        }
        if node.default.is_some() && !self.allow_defaults {
            let mut detail = "must not be set".to_owned();
            if !self.disallow_defaults_reason.is_empty() {
                detail.push(' ');
                detail.push_str(&self.disallow_defaults_reason);
            }
            errs.push(Error::forbidden(&path.child("default"), detail));
        }
        if !node.id.is_empty() {
            errs.push(Error::forbidden(&path.child("id"), "id is not supported"));
        }
        if node.additional_items.is_some() {
            errs.push(Error::forbidden(
                &path.child("additionalItems"),
                "additionalItems is not supported",
            ));
        }
        if !node.pattern_properties.is_empty() {
            errs.push(Error::forbidden(
                &path.child("patternProperties"),
                "patternProperties is not supported",
            ));
        }
        if !node.definitions.is_empty() {
            errs.push(Error::forbidden(
                &path.child("definitions"),
                "definitions is not supported",
            ));
        }
        if node.dependencies.is_some() {
            errs.push(Error::forbidden(
                &path.child("dependencies"),
                "dependencies is not supported",
            ));
        }
        if node.reference.is_some() {
            errs.push(Error::forbidden(
                &path.child("$ref"),
                "$ref is not supported",
            ));
        }
        if node.ty == "null" {
            errs.push(Error::forbidden(
                &path.child("type"),
                "type cannot be set to null, use nullable as an alternative",
            ));
        }
        if node
            .items_array
            .as_ref()
            .is_some_and(|list| !list.is_empty())
        {
            errs.push(Error::forbidden(
                &path.child("items"),
                "items must be a schema object and not an array",
            ));
        }
        if self.inside_resource_meta && node.embedded_resource {
            errs.push(Error::forbidden(
                &path.child("x-kubernetes-embedded-resource"),
                "must not be used inside of resource meta",
            ));
        }
        errs
    }
}

fn type_required_or_invalid(path: &Path, ty: &str, detail: &str) -> Error {
    if ty.is_empty() {
        Error::required(&path.child("type"), detail)
    } else {
        Error::invalid(&path.child("type"), ty, detail)
    }
}

/// Go's `ValidateCustomResourceDefinitionOpenAPISchema` (its schema errors;
/// CEL is not compiled).
fn schema_errors(node: &Node, path: &Path, ctx: &Context, is_root: bool) -> ErrorList {
    let mut errs = ctx.check(node, path);

    if node.unique_items {
        errs.push(Error::forbidden(
            &path.child("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }

    if let Some(additional) = &node.additional_properties {
        let allows_anything = matches!(additional, Additional::Allows(true));
        if !node.properties.is_empty() && !allows_anything {
            errs.push(Error::forbidden(
                &path.child("additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Additional::Schema(schema) = additional {
            let sub = if ctx.inside_resource_meta {
                ctx.forbidding_defaults(
                    "inside additionalProperties applying to object metadata".to_owned(),
                )
            } else {
                ctx.clone()
            };
            errs.extend(schema_errors(
                schema,
                &path.child("additionalProperties"),
                &sub,
                false,
            ));
        }
    }

    for (key, prop) in &node.properties {
        let mut sub = ctx.clone();
        if (is_root || node.embedded_resource) && META_FIELDS.contains(&key.as_str()) {
            sub.inside_resource_meta = true;
            if is_root {
                sub = sub.forbidding_defaults(format!("in top-level {key}"));
            }
        }
        errs.extend(schema_errors(
            prop,
            &path.child("properties").key(key),
            &sub,
            false,
        ));
    }

    if let Some(not) = &node.not {
        errs.extend(schema_errors(not, &path.child("not"), ctx, false));
    }
    for (i, sub) in node.all_of.iter().enumerate() {
        errs.extend(schema_errors(
            sub,
            &path.child("allOf").index(i),
            ctx,
            false,
        ));
    }
    for (i, sub) in node.one_of.iter().enumerate() {
        errs.extend(schema_errors(
            sub,
            &path.child("oneOf").index(i),
            ctx,
            false,
        ));
    }
    for (i, sub) in node.any_of.iter().enumerate() {
        errs.extend(schema_errors(
            sub,
            &path.child("anyOf").index(i),
            ctx,
            false,
        ));
    }
    for (key, def) in &node.definitions {
        errs.extend(schema_errors(
            def,
            &path.child("definitions").key(key),
            ctx,
            false,
        ));
    }
    if let Some(items) = &node.items {
        errs.extend(schema_errors(items, &path.child("items"), ctx, false));
    }
    if let Some(list) = &node.items_array {
        for (i, item) in list.iter().enumerate() {
            errs.extend(schema_errors(
                item,
                &path.child("items").index(i),
                ctx,
                false,
            ));
        }
    }
    if let Some(deps) = &node.dependencies {
        for (key, dep) in deps {
            if let Some(schema) = &dep.schema {
                errs.extend(schema_errors(
                    schema,
                    &path.child("dependencies").key(key),
                    ctx,
                    false,
                ));
            }
        }
    }

    if node.preserve_unknown_fields == Some(false) {
        errs.push(Error::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            false,
            "must be true or undefined",
        ));
    }

    if let Some(map_type) = &node.map_type {
        if node.ty != "object" {
            errs.push(type_required_or_invalid(
                path,
                &node.ty,
                "must be object if x-kubernetes-map-type is specified",
            ));
        }
        if map_type != "atomic" && map_type != "granular" {
            errs.push(Error::not_supported(
                &path.child("x-kubernetes-map-type"),
                map_type.as_str(),
                &["atomic", "granular"],
            ));
        }
    }

    if let Some(list_type) = &node.list_type {
        if node.ty != "array" {
            errs.push(type_required_or_invalid(
                path,
                &node.ty,
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else if list_type == "set"
            && let Some(items) = &node.items
        {
            let detail = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let shown = items.list_type.clone().map_or(Value::Null, Value::from);
            match items.ty.as_str() {
                "array" if items.list_type.as_deref().is_some_and(|t| t != "atomic") => {
                    errs.push(Error::invalid(
                        &path.child("items").child("x-kubernetes-list-type"),
                        shown,
                        detail,
                    ));
                }
                "object" if items.map_type.as_deref() != Some("atomic") => {
                    errs.push(Error::invalid(
                        &path.child("items").child("x-kubernetes-map-type"),
                        shown,
                        detail,
                    ));
                }
                _ => {}
            }
        }
        if !matches!(list_type.as_str(), "atomic" | "set" | "map") {
            errs.push(Error::not_supported(
                &path.child("x-kubernetes-list-type"),
                list_type.as_str(),
                &["atomic", "set", "map"],
            ));
        }
    }

    if !node.list_map_keys.is_empty() {
        let detail = "must be map if x-kubernetes-list-map-keys is non-empty";
        match node.list_type.as_deref() {
            None => errs.push(Error::required(
                &path.child("x-kubernetes-list-type"),
                detail,
            )),
            Some("map") => {}
            Some(other) => errs.push(Error::invalid(
                &path.child("x-kubernetes-list-type"),
                other,
                detail,
            )),
        }
    }

    if node.list_type.as_deref() == Some("map") {
        errs.extend(map_list_errors(node, path));
    }
    errs.extend(map_list_keys_map_set_errors(node, path));
    errs.extend(validation_rule_errors(node, path));
    errs
}

fn map_list_errors(node: &Node, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let keys_value = || Value::from(node.list_map_keys.clone());
    if node.list_map_keys.is_empty() {
        errs.push(Error::required(
            &path.child("x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    if node.items.is_none() && node.items_array.is_none() {
        errs.push(Error::required(
            &path.child("items"),
            "must have a schema if x-kubernetes-list-type is map",
        ));
    }
    if node.items.is_none() && node.items_array.is_some() {
        errs.push(Error::invalid(
            &path.child("items"),
            "",
            "must only have a single schema if x-kubernetes-list-type is map",
        ));
    }
    if let Some(items) = &node.items {
        if items.ty != "object" {
            errs.push(Error::invalid(
                &path.child("items").child("type"),
                items.ty.as_str(),
                "must be object if parent array's x-kubernetes-list-type is map",
            ));
        } else {
            let mut seen: Vec<&str> = Vec::new();
            for key in &node.list_map_keys {
                match items.properties.get(key) {
                    Some(prop) => {
                        if prop.ty == "array" || prop.ty == "object" {
                            errs.push(Error::invalid(
                                &path.child("items").child("properties").key(key).child("type"),
                                items.ty.as_str(),
                                "must be a scalar type if parent array's x-kubernetes-list-type is map",
                            ));
                        }
                    }
                    None => errs.push(Error::invalid(
                        &path.child("x-kubernetes-list-map-keys"),
                        keys_value(),
                        "entries must all be names of item properties",
                    )),
                }
                if seen.contains(&key.as_str()) {
                    errs.push(Error::invalid(
                        &path.child("x-kubernetes-list-map-keys"),
                        keys_value(),
                        "must not contain duplicate entries",
                    ));
                }
                seen.push(key);
            }
        }
    }
    errs
}

/// Go's `validateMapListKeysMapSet`.
fn map_list_keys_map_set_errors(node: &Node, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let (Some(items), Some(list_type)) = (&node.items, node.list_type.as_deref()) else {
        return errs;
    };
    if list_type != "set" && list_type != "map" {
        return errs;
    }
    if items.nullable {
        errs.push(Error::forbidden(
            &path.child("items").child("nullable"),
            format!("cannot be nullable when x-kubernetes-list-type is {list_type}"),
        ));
    }
    if list_type == "map" {
        for key in &node.list_map_keys {
            let Some(prop) = items.properties.get(key) else {
                continue;
            };
            let prop_path = path.child("items").child("properties").key(key);
            if !items.required.contains(key) && prop.default.is_none() {
                errs.push(Error::required(
                    &prop_path.child("default"),
                    "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                ));
            }
            if prop.nullable {
                errs.push(Error::forbidden(
                    &prop_path.child("nullable"),
                    "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                ));
            }
        }
    }
    errs
}

/// The static checks of `x-kubernetes-validations` rules (their CEL is
/// neither compiled nor run).
fn validation_rule_errors(node: &Node, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let has_newlines = |s: &str| s.contains(['\n', '\r']);
    for (i, rule) in node.validations.iter().enumerate() {
        let rule_path = path.child("x-kubernetes-validations").index(i);
        let field = |name: &str| rule.get(name).and_then(Value::as_str).unwrap_or_default();
        let (expression, message) = (field("rule"), field("message"));
        let message_expression = field("messageExpression");
        let field_path = field("fieldPath");
        let trimmed_message = message.trim();
        if expression.trim().is_empty() {
            errs.push(Error::required(
                &rule_path.child("rule"),
                "rule is not specified",
            ));
        } else if !message.is_empty() && trimmed_message.is_empty() {
            errs.push(Error::invalid(
                &rule_path.child("message"),
                message,
                "must be non-empty if specified",
            ));
        } else if has_newlines(trimmed_message) {
            errs.push(Error::invalid(
                &rule_path.child("message"),
                message,
                "must not contain line breaks",
            ));
        } else if has_newlines(expression.trim()) && trimmed_message.is_empty() {
            errs.push(Error::required(
                &rule_path.child("message"),
                "message must be specified if rule contains line breaks",
            ));
        }
        if !message_expression.is_empty() && message_expression.trim().is_empty() {
            errs.push(Error::required(
                &rule_path.child("messageExpression"),
                "messageExpression must be non-empty if specified",
            ));
        }
        if let Some(reason) = rule.get("reason").and_then(Value::as_str)
            && !SUPPORTED_VALIDATION_REASONS.contains(&reason)
        {
            errs.push(Error::not_supported(
                &rule_path.child("reason"),
                reason,
                &SUPPORTED_VALIDATION_REASONS,
            ));
        }
        if !field_path.is_empty() && field_path.trim().is_empty() {
            errs.push(Error::invalid(
                &rule_path.child("fieldPath"),
                field_path,
                "must be non-empty if specified",
            ));
        }
        if has_newlines(field_path) {
            errs.push(Error::invalid(
                &rule_path.child("fieldPath"),
                field_path,
                "must not contain line breaks",
            ));
        }
    }
    errs
}
