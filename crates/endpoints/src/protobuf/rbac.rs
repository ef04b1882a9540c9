//! The `rbac.authorization.k8s.io/v1` kinds (`kubectl create role`,
//! `clusterrole`, `rolebinding`, `clusterrolebinding`), from their protobuf
//! messages to JSON.

use k8s_pb::api::rbac::v1 as pb;
use prost::Message;
use serde_json::Value;

use super::json::Object;
use super::meta::{label_selector, object_meta};

/// `kubectl create role`.
pub(super) fn role(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::Role::decode(raw)?;
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .required_list("rules", rules(object.rules))
        .build())
}

/// `kubectl create clusterrole`.
pub(super) fn cluster_role(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::ClusterRole::decode(raw)?;
    let aggregation = object.aggregation_rule.map(|rule| {
        let selectors = rule
            .cluster_role_selectors
            .into_iter()
            .map(label_selector)
            .collect();
        Object::new().list("clusterRoleSelectors", selectors)
    });
    Ok(Object::new()
        .object("metadata", object_meta(object.metadata))
        .required_list("rules", rules(object.rules))
        .object("aggregationRule", aggregation)
        .build())
}

/// `kubectl create rolebinding`.
pub(super) fn role_binding(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::RoleBinding::decode(raw)?;
    Ok(binding(object.metadata, object.subjects, object.role_ref))
}

/// `kubectl create clusterrolebinding`.
pub(super) fn cluster_role_binding(raw: &[u8]) -> Result<Value, prost::DecodeError> {
    let object = pb::ClusterRoleBinding::decode(raw)?;
    Ok(binding(object.metadata, object.subjects, object.role_ref))
}

fn rules(rules: Vec<pb::PolicyRule>) -> Vec<Value> {
    rules
        .into_iter()
        .map(|rule| {
            let verbs = rule.verbs.into_iter().map(Value::String).collect();
            Object::new()
                .required_list("verbs", verbs)
                .string_list("apiGroups", rule.api_groups)
                .string_list("resources", rule.resources)
                .string_list("resourceNames", rule.resource_names)
                .string_list("nonResourceURLs", rule.non_resource_ur_ls)
                .build()
        })
        .collect()
}

fn binding(
    metadata: Option<k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    subjects: Vec<pb::Subject>,
    role_ref: Option<pb::RoleRef>,
) -> Value {
    let subjects = subjects
        .into_iter()
        .map(|subject| {
            Object::new()
                .required_string("kind", subject.kind)
                .string("apiGroup", subject.api_group)
                .required_string("name", subject.name)
                .string("namespace", subject.namespace)
                .build()
        })
        .collect();
    let role_ref = role_ref.map(|role_ref| {
        Object::new()
            .required_string("apiGroup", role_ref.api_group)
            .required_string("kind", role_ref.kind)
            .required_string("name", role_ref.name)
    });
    Object::new()
        .object("metadata", object_meta(metadata))
        .list("subjects", subjects)
        .required_object("roleRef", role_ref)
        .build()
}
