//! Writing routes and definitions out as OpenAPI documents: OpenAPI 3.0
//! (Go: `kube-openapi/pkg/builder3`) and Swagger 2.0 (Go:
//! `kube-openapi/pkg/builder`, with `handler.PruneDefaults`), including the
//! v3 → v2 conversion of definitions.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::routes::{Param, Route};
use crate::schema::{self, DELETE_OPTIONS, Definitions, GVK_EXTENSION, V3_REF_PREFIX, WATCH_EVENT};

const V2_REF_PREFIX: &str = "#/definitions/";

/// The routes of each path, with the parameters all of them share (Go:
/// `findCommonParameters`), sorted by name then location.
fn group_by_path(routes: &[Route]) -> BTreeMap<&str, (Vec<Param>, Vec<&Route>)> {
    let mut paths: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for route in routes {
        paths.entry(route.path.as_str()).or_default().push(route);
    }
    paths
        .into_iter()
        .map(|(path, routes)| {
            let mut common: Vec<Param> = routes[0]
                .params
                .iter()
                .filter(|param| {
                    routes
                        .iter()
                        .all(|route| route.params.iter().any(|p| p.same_key(param)))
                })
                .cloned()
                .collect();
            sort_params(&mut common);
            (path, (common, routes))
        })
        .collect()
}

fn sort_params(params: &mut [Param]) {
    params.sort_by(|a, b| (a.name, a.location).cmp(&(b.name, b.location)));
}

fn own_params(route: &Route, common: &[Param]) -> Vec<Param> {
    let mut params: Vec<Param> = route
        .params
        .iter()
        .filter(|param| !common.iter().any(|c| c.same_key(param)))
        .cloned()
        .collect();
    sort_params(&mut params);
    params
}

fn gvk_object(gvk: &(String, String, String)) -> Value {
    json!({"group": gvk.0, "kind": gvk.2, "version": gvk.1})
}

fn add_route_extensions(op: &mut Map<String, Value>, route: &Route) {
    if let Some(action) = route.action {
        op.insert("x-kubernetes-action".to_owned(), json!(action));
    }
    if let Some(gvk) = &route.gvk {
        op.insert(
            "x-kubernetes-group-version-kind".to_owned(),
            gvk_object(gvk),
        );
    }
}

fn v3_param(param: &Param) -> Value {
    let mut out = Map::new();
    out.insert("name".to_owned(), json!(param.name));
    out.insert("in".to_owned(), json!(param.location.as_str()));
    if !param.description.is_empty() {
        out.insert("description".to_owned(), json!(param.description));
    }
    if param.location == crate::routes::In::Path {
        out.insert("required".to_owned(), json!(true));
    }
    out.insert(
        "schema".to_owned(),
        json!({"type": param.ty, "uniqueItems": true}),
    );
    Value::Object(out)
}

fn v3_operation(route: &Route, common: &[Param]) -> Value {
    let mut op = Map::new();
    op.insert("tags".to_owned(), json!([route.tag]));
    op.insert("description".to_owned(), json!(route.description));
    op.insert("operationId".to_owned(), json!(route.operation_id));
    let params: Vec<Value> = own_params(route, common).iter().map(v3_param).collect();
    if !params.is_empty() {
        op.insert("parameters".to_owned(), Value::Array(params));
    }
    if let Some(body) = &route.body {
        let content: Map<String, Value> = route
            .consumes
            .iter()
            .map(|ct| {
                (
                    (*ct).to_owned(),
                    json!({"schema": schema::v3_ref(&body.definition)}),
                )
            })
            .collect();
        let mut request = Map::new();
        request.insert("content".to_owned(), Value::Object(content));
        if body.required {
            request.insert("required".to_owned(), json!(true));
        }
        op.insert("requestBody".to_owned(), Value::Object(request));
    }
    let mut responses = Map::new();
    for (code, description, definition) in &route.responses {
        let content: Map<String, Value> = route
            .produces
            .iter()
            .map(|ct| {
                (
                    (*ct).to_owned(),
                    json!({"schema": schema::v3_ref(definition)}),
                )
            })
            .collect();
        responses.insert(
            code.to_string(),
            json!({"description": description, "content": content}),
        );
    }
    responses.insert("401".to_owned(), json!({"description": "Unauthorized"}));
    op.insert("responses".to_owned(), Value::Object(responses));
    add_route_extensions(&mut op, route);
    Value::Object(op)
}

fn v2_param(param: &Param) -> Value {
    let mut out = Map::new();
    out.insert("uniqueItems".to_owned(), json!(true));
    out.insert("type".to_owned(), json!(param.ty));
    if !param.description.is_empty() {
        out.insert("description".to_owned(), json!(param.description));
    }
    out.insert("name".to_owned(), json!(param.name));
    out.insert("in".to_owned(), json!(param.location.as_str()));
    if param.location == crate::routes::In::Path {
        out.insert("required".to_owned(), json!(true));
    }
    Value::Object(out)
}

fn v2_ref(name: &str) -> Value {
    json!({"$ref": format!("{V2_REF_PREFIX}{name}")})
}

fn v2_operation(route: &Route, common: &[Param]) -> Value {
    let mut op = Map::new();
    op.insert("description".to_owned(), json!(route.description));
    op.insert("consumes".to_owned(), json!(route.consumes));
    op.insert("produces".to_owned(), json!(route.produces));
    op.insert("schemes".to_owned(), json!(["https"]));
    op.insert("tags".to_owned(), json!([route.tag]));
    op.insert("operationId".to_owned(), json!(route.operation_id));
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = &route.body {
        let mut p = Map::new();
        p.insert("name".to_owned(), json!("body"));
        p.insert("in".to_owned(), json!("body"));
        if body.required {
            p.insert("required".to_owned(), json!(true));
        }
        p.insert("schema".to_owned(), v2_ref(&body.definition));
        params.push(Value::Object(p));
    }
    params.extend(own_params(route, common).iter().map(v2_param));
    if !params.is_empty() {
        op.insert("parameters".to_owned(), Value::Array(params));
    }
    let mut responses = Map::new();
    for (code, description, definition) in &route.responses {
        responses.insert(
            code.to_string(),
            json!({"description": description, "schema": v2_ref(definition)}),
        );
    }
    responses.insert("401".to_owned(), json!({"description": "Unauthorized"}));
    op.insert("responses".to_owned(), Value::Object(responses));
    add_route_extensions(&mut op, route);
    Value::Object(op)
}

fn paths(routes: &[Route], v2: bool) -> Map<String, Value> {
    group_by_path(routes)
        .into_iter()
        .map(|(path, (common, routes))| {
            let mut item = Map::new();
            for route in routes {
                let op = if v2 {
                    v2_operation(route, &common)
                } else {
                    v3_operation(route, &common)
                };
                item.insert(route.method.key().to_owned(), op);
            }
            if !common.is_empty() {
                let params = common
                    .iter()
                    .map(if v2 { v2_param } else { v3_param })
                    .collect();
                item.insert("parameters".to_owned(), Value::Array(params));
            }
            (path.to_owned(), Value::Object(item))
        })
        .collect()
}

fn route_refs(routes: &[Route]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for route in routes {
        if let Some(body) = &route.body {
            names.push(&body.definition);
        }
        names.extend(route.responses.iter().map(|(_, _, d)| d.as_str()));
    }
    names
}

/// Sets the GVKs of the kinds every group version registers (`DeleteOptions`,
/// `WatchEvent`) to `group_versions`.
fn set_cross_registered(definitions: &mut Definitions, group_versions: &[(String, String)]) {
    for (name, kind) in [
        (DELETE_OPTIONS, "DeleteOptions"),
        (WATCH_EVENT, "WatchEvent"),
    ] {
        if let Some(Value::Object(schema)) = definitions.get_mut(name) {
            let list: Vec<Value> = group_versions
                .iter()
                .map(|(group, version)| schema::gvk(group, version, kind))
                .collect();
            schema.insert(GVK_EXTENSION.to_owned(), Value::Array(list));
        }
    }
}

/// The information object of every document.
fn info(version: &str) -> Value {
    json!({"title": "Kubernetes", "version": version})
}

/// An OpenAPI 3.0 document of `routes`, with the definitions they reach.
///
/// `cross_registered` is the list of group versions the `DeleteOptions` and
/// `WatchEvent` schemas name (the document's own and core `v1`).
pub(crate) fn v3_document(
    version: &str,
    routes: &[Route],
    pools: &[&Definitions],
    cross_registered: &[(String, String)],
) -> Value {
    let mut schemas = schema::closure(pools, route_refs(routes));
    set_cross_registered(&mut schemas, cross_registered);
    json!({
        "openapi": "3.0.0",
        "info": info(version),
        "paths": paths(routes, false),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                },
            },
        },
    })
}

/// A Swagger 2.0 document of `routes`, with the definitions they reach
/// converted to OpenAPI v2. `pools` hold v3-form definitions.
pub(crate) fn v2_document(
    version: &str,
    routes: &[Route],
    pools: &[&Definitions],
    cross_registered: &[(String, String)],
) -> Value {
    let mut definitions = schema::closure(pools, route_refs(routes));
    set_cross_registered(&mut definitions, cross_registered);
    let definitions: Map<String, Value> = definitions
        .into_iter()
        .map(|(name, mut schema)| {
            to_v2_schema(&mut schema);
            (name, schema)
        })
        .collect();
    json!({
        "swagger": "2.0",
        "info": info(version),
        "paths": paths(routes, true),
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            },
        },
        "security": [{"BearerToken": []}],
    })
}

/// Converts a v3 definition to what OpenAPI v2 can say, as kube-openapi's v2
/// definitions read: refs under `#/definitions/` with their siblings
/// unwrapped, no `default` (Go prunes them), no `nullable`, no
/// `oneOf`/`anyOf`/`not` (a one-of of scalar types that includes `string`
/// becomes `type: string`, as `IntOrString` and `Quantity` are written).
pub(crate) fn to_v2_schema(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    if let Some(reference) = schema::ref_of(object).map(str::to_owned) {
        object.remove("allOf");
        let name = reference.strip_prefix(V3_REF_PREFIX).unwrap_or(&reference);
        object.insert("$ref".to_owned(), json!(format!("{V2_REF_PREFIX}{name}")));
    }
    object.remove("default");
    object.remove("nullable");
    object.remove("not");
    let mut alternatives_type: Option<bool> = None;
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = object.remove(key) {
            let scalar = branches.iter().all(|b| {
                b.as_object()
                    .is_some_and(|o| o.len() == 1 && o.get("type").is_some_and(Value::is_string))
            });
            let has_string = branches
                .iter()
                .any(|b| b.get("type") == Some(&json!("string")));
            alternatives_type = Some(scalar && has_string);
        }
    }
    if alternatives_type == Some(true) && !object.contains_key("type") {
        object.insert("type".to_owned(), json!("string"));
    }
    if object
        .get("allOf")
        .and_then(Value::as_array)
        .is_some_and(|all| all.len() != 1)
    {
        object.remove("allOf");
    }
    schema::for_each_subschema(object, &mut to_v2_schema);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_v2(input: Value, expected: Value) {
        let mut schema = input;
        to_v2_schema(&mut schema);
        assert_eq!(schema, expected);
    }

    #[test]
    fn converts_definitions_to_v2() {
        check_v2(
            json!({"properties": {"metadata": {
                "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],
                "default": {}, "description": "d"}}}),
            json!({"properties": {"metadata": {
                "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "description": "d"}}}),
        );
        check_v2(
            json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}),
            json!({"format": "int-or-string", "type": "string"}),
        );
        check_v2(
            json!({"oneOf": [{"type": "string"}, {"type": "number"}]}),
            json!({"type": "string"}),
        );
        check_v2(
            json!({"type": "object", "properties": {"default": {"type": "string", "default": "x"}}}),
            json!({"type": "object", "properties": {"default": {"type": "string"}}}),
        );
    }
}
