//! The structural-schema rules (Go: `pkg/apiserver/schema`,
//! `NewStructural`'s refusals, `ValidateStructural` with its invariants and
//! completeness checks): every field has a type, value validations under
//! `allOf`/`anyOf`/`oneOf`/`not` only restrict what the structure already
//! specifies, `metadata` at the root may only restrict `name` and
//! `generateName`, embedded resources are objects.

use kapi_core::field::{Error, ErrorList, Path};

use super::model::{Additional, Node};
use super::pattern::Patterns;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// The first reason `NewStructural` refuses the schema (unsupported
/// keywords, `items` as an array, `x-kubernetes-preserve-unknown-fields:
/// false`), in Go's order.
pub(crate) fn conversion_error(node: &Node) -> Option<String> {
    unsupported(node)
        .or_else(|| value_validation_conversion_error(node))
        .or_else(|| {
            (node.preserve_unknown_fields == Some(false)).then(|| {
                "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined"
                    .to_owned()
            })
        })
        .or_else(|| {
            node.items_array
                .as_ref()
                .filter(|list| !list.is_empty())
                .map(|_| "OpenAPIV3Schema 'items' must be a schema, but is an array".to_owned())
        })
        .or_else(|| node.items.as_deref().and_then(conversion_error))
        .or_else(|| node.properties.values().find_map(conversion_error))
        .or_else(|| match &node.additional_properties {
            Some(Additional::Schema(additional)) => conversion_error(additional),
            _ => None,
        })
}

fn value_validation_conversion_error(node: &Node) -> Option<String> {
    node.not
        .as_deref()
        .and_then(conversion_error)
        .or_else(|| node.all_of.iter().find_map(conversion_error))
        .or_else(|| node.any_of.iter().find_map(conversion_error))
        .or_else(|| node.one_of.iter().find_map(conversion_error))
}

fn unsupported(node: &Node) -> Option<String> {
    let field = if !node.id.is_empty() {
        "id"
    } else if !node.schema_uri.is_empty() {
        "schema"
    } else if node.reference.as_deref().is_some_and(|r| !r.is_empty()) {
        "$ref"
    } else if !node.pattern_properties.is_empty() {
        "patternProperties"
    } else if node.dependencies.as_ref().is_some_and(|d| !d.is_empty()) {
        "dependencies"
    } else if node.additional_items.is_some() {
        "additionalItems"
    } else if !node.definitions.is_empty() {
        "definitions"
    } else {
        return None;
    };
    Some(format!("OpenAPIV3Schema '{field}' is not supported"))
}

/// Go's `ValidateStructural`: the violations, sorted by their message.
pub(crate) fn validate(path: &Path, node: &Node, patterns: &Patterns) -> ErrorList {
    let mut errs = invariants(node, Level::Root, path, patterns);
    errs.extend(completeness(node, Some(node), path, path));
    errs.sort_by_cached_key(ToString::to_string);
    errs
}

fn is_int_or_string_pair(any_of: &[Node]) -> bool {
    any_of.len() == 2 && any_of[0] == Node::bare("integer") && any_of[1] == Node::bare("string")
}

fn invariants(node: &Node, level: Level, path: &Path, patterns: &Patterns) -> ErrorList {
    let mut errs = ErrorList::new();
    if node.ty == "array" && node.items.is_none() {
        errs.push(Error::required(&path.child("items"), "must be specified"));
    }
    if let Some(items) = &node.items {
        errs.extend(invariants(
            items,
            Level::Item,
            &path.child("items"),
            patterns,
        ));
    }
    for (key, prop) in &node.properties {
        errs.extend(invariants(
            prop,
            Level::Field,
            &path.child("properties").key(key),
            patterns,
        ));
    }
    if let Some(additional) = &node.additional_properties {
        if level == Level::Root {
            errs.push(Error::forbidden(
                &path.child("additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let Additional::Schema(schema) = additional {
            errs.extend(invariants(
                schema,
                Level::Field,
                &path.child("additionalProperties"),
                patterns,
            ));
        }
    }

    let preserve = node.preserves_unknown();
    if node.int_or_string && preserve {
        errs.push(Error::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if node.int_or_string && node.embedded_resource {
        errs.push(Error::invalid(
            &path.child("x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }

    let skip_any_of = is_int_or_string_pair(&node.any_of);
    let skip_first_all_of_any_of = node
        .all_of
        .first()
        .is_some_and(|first| is_int_or_string_pair(&first.any_of));
    errs.extend(value_validation(
        node,
        skip_any_of,
        skip_first_all_of_any_of,
        path,
        patterns,
    ));

    let check_metadata = level == Level::Root || node.embedded_resource;
    if node.embedded_resource && node.ty != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        errs.push(if node.ty.is_empty() {
            Error::required(&path.child("type"), detail)
        } else {
            Error::invalid(&path.child("type"), node.ty.as_str(), detail)
        });
    } else if node.ty.is_empty() && !node.int_or_string && !preserve {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(Error::required(&path.child("type"), detail));
    }
    if node.embedded_resource && node.additional_properties.is_some() {
        errs.push(Error::forbidden(
            &path.child("additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if level == Level::Root && !node.ty.is_empty() && node.ty != "object" {
        errs.push(Error::invalid(
            &path.child("type"),
            node.ty.as_str(),
            "must be object at the root",
        ));
    }
    if check_metadata {
        for field in ["kind", "apiVersion"] {
            if let Some(prop) = node.properties.get(field)
                && prop.ty != "string"
            {
                errs.push(Error::invalid(
                    &path.child("properties").key(field).child("type"),
                    prop.ty.as_str(),
                    "must be string",
                ));
            }
        }
    }
    if let Some(metadata) = node.properties.get("metadata") {
        errs.extend(metadata_invariants(
            metadata,
            check_metadata,
            level,
            &path.child("properties").key("metadata"),
        ));
    }
    if node.embedded_resource && !preserve && node.properties.is_empty() {
        errs.push(Error::required(
            &path.child("properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
    errs
}

fn metadata_invariants(
    metadata: &Node,
    check_metadata: bool,
    level: Level,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if check_metadata && metadata.ty != "object" {
        errs.push(Error::invalid(
            &path.child("type"),
            metadata.ty.as_str(),
            "must be object",
        ));
    }
    if level == Level::Root {
        let mut rest = metadata.clone();
        let has_name = rest.properties.contains_key("name");
        let has_generate_name = rest.properties.contains_key("generateName");
        let count = rest.properties.len();
        if (has_name && has_generate_name && count == 2)
            || ((has_name || has_generate_name) && count == 1)
        {
            rest.properties.clear();
        }
        rest.ty.clear();
        rest.default = None;
        if rest != Node::default() {
            errs.push(Error::forbidden(
                path,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    errs
}

fn value_validation(
    node: &Node,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    path: &Path,
    patterns: &Patterns,
) -> ErrorList {
    let mut errs = ErrorList::new();
    if !skip_any_of {
        for (i, sub) in node.any_of.iter().enumerate() {
            errs.extend(nested(sub, false, &path.child("anyOf").index(i), patterns));
        }
    }
    for (i, sub) in node.all_of.iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        errs.extend(nested(sub, skip, &path.child("allOf").index(i), patterns));
    }
    for (i, sub) in node.one_of.iter().enumerate() {
        errs.extend(nested(sub, false, &path.child("oneOf").index(i), patterns));
    }
    if let Some(not) = &node.not {
        errs.extend(nested(not, false, &path.child("not"), patterns));
    }
    if !node.pattern.is_empty()
        && let Some(err) = patterns.error(&node.pattern)
    {
        errs.push(Error::invalid(
            &path.child("pattern"),
            node.pattern.as_str(),
            format!("must be a valid regular expression, but isn't: {err}"),
        ));
    }
    errs
}

fn nested(node: &Node, skip_any_of: bool, path: &Path, patterns: &Patterns) -> ErrorList {
    let mut errs = value_validation(node, skip_any_of, false, path, patterns);
    if let Some(items) = &node.items {
        errs.extend(nested(items, false, &path.child("items"), patterns));
    }
    for (key, prop) in &node.properties {
        errs.extend(nested(
            prop,
            false,
            &path.child("properties").key(key),
            patterns,
        ));
    }
    let must_be = |errs: &mut ErrorList, field: &str, what: &str| {
        errs.push(Error::forbidden(
            &path.child(field),
            format!("must be {what} to be structural"),
        ));
    };
    if !node.ty.is_empty() {
        must_be(&mut errs, "type", "empty");
    }
    // `additionalProperties: false` does not survive the conversion.
    if matches!(
        node.additional_properties,
        Some(Additional::Schema(_) | Additional::Allows(true))
    ) {
        must_be(&mut errs, "additionalProperties", "undefined");
    }
    if node.default_value().is_some() {
        must_be(&mut errs, "default", "undefined");
    }
    if !node.title.is_empty() {
        must_be(&mut errs, "title", "empty");
    }
    if !node.description.is_empty() {
        must_be(&mut errs, "description", "empty");
    }
    if node.nullable {
        must_be(&mut errs, "nullable", "false");
    }
    if node.preserves_unknown() {
        must_be(&mut errs, "x-kubernetes-preserve-unknown-fields", "false");
    }
    if node.embedded_resource {
        must_be(&mut errs, "x-kubernetes-embedded-resource", "false");
    }
    if node.int_or_string {
        must_be(&mut errs, "x-kubernetes-int-or-string", "false");
    }
    if !node.list_map_keys.is_empty() {
        must_be(&mut errs, "x-kubernetes-list-map-keys", "empty");
    }
    if node.list_type.is_some() {
        must_be(&mut errs, "x-kubernetes-list-type", "undefined");
    }
    if node.map_type.is_some() {
        must_be(&mut errs, "x-kubernetes-map-type", "undefined");
    }
    if !node.validations.is_empty() {
        must_be(&mut errs, "x-kubernetes-validations", "empty");
    }
    if node.properties.contains_key("metadata") {
        errs.push(Error::forbidden(
            &path.child("properties").key("metadata"),
            "must not be specified in a nested context",
        ));
    }
    errs
}

/// Go's `validateStructuralCompleteness`: what value validations mention
/// must exist in the structure.
fn completeness(v: &Node, s: Option<&Node>, s_path: &Path, v_path: &Path) -> ErrorList {
    let Some(s) = s else {
        return vec![Error::required(
            s_path,
            format!("because it is defined in {v_path}"),
        )];
    };
    let mut errs = ErrorList::new();
    if let Some(not) = &v.not {
        errs.extend(nested_completeness(not, s, s_path, &v_path.child("not")));
    }
    for (i, sub) in v.all_of.iter().enumerate() {
        errs.extend(nested_completeness(
            sub,
            s,
            s_path,
            &v_path.child("allOf").index(i),
        ));
    }
    for (i, sub) in v.any_of.iter().enumerate() {
        errs.extend(nested_completeness(
            sub,
            s,
            s_path,
            &v_path.child("anyOf").index(i),
        ));
    }
    for (i, sub) in v.one_of.iter().enumerate() {
        errs.extend(nested_completeness(
            sub,
            s,
            s_path,
            &v_path.child("oneOf").index(i),
        ));
    }
    errs
}

fn nested_completeness(v: &Node, s: &Node, s_path: &Path, v_path: &Path) -> ErrorList {
    let mut errs = completeness(v, Some(s), s_path, v_path);
    if let Some(items) = &v.items {
        match &s.items {
            Some(s_items) => errs.extend(nested_completeness(
                items,
                s_items,
                &s_path.child("items"),
                &v_path.child("items"),
            )),
            None => errs.push(Error::required(
                &s_path.child("items"),
                format!("because it is defined in {}", v_path.child("items")),
            )),
        }
    }
    for (key, prop) in &v.properties {
        let s_prop_path = s_path.child("properties").key(key);
        let v_prop_path = v_path.child("properties").key(key);
        match s.properties.get(key) {
            Some(s_prop) => errs.extend(nested_completeness(
                prop,
                s_prop,
                &s_prop_path,
                &v_prop_path,
            )),
            None => errs.push(Error::required(
                &s_prop_path,
                format!("because it is defined in {v_prop_path}"),
            )),
        }
    }
    errs
}
