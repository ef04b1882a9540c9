//! The FieldsV1 encoding of a [`FieldSet`]: the JSON trie stored in
//! `metadata.managedFields[].fieldsV1` (`{"f:spec":{"f:replicas":{}}}`,
//! `k:{"name":"x"}`, `v:"a"`, `i:0`, and `.` for an element that is itself
//! a member and has children).
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/fieldpath`'s
//! `serialize.go` and `serialize-pe.go`: the same element order, the same
//! escaping (Go's HTML-safe escapes inside key and value elements), the same
//! tolerance for unknown element prefixes (dropped) and the same errors.

use std::fmt::Write as _;

use serde_json::Value;

use crate::error::Error;
use crate::path::{PathElement, sort_key_fields};
use crate::set::{FieldSet, insert_sorted};
use crate::value;

impl PathElement {
    /// The element as a FieldsV1 key: `f:name`, `k:{"a":1}`, `v:"x"`, `i:3`
    /// (Go: `SerializePathElement`).
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    value::write_go_string(name, false, &mut out);
                    out.push(':');
                    out.push_str(&value::to_go_json(v));
                }
                out.push('}');
                out
            }
            Self::Value(v) => format!("v:{}", value::to_go_json(v)),
            Self::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key (Go: `DeserializePathElement`). `Ok(None)` for
    /// a well-formed key of an unknown kind, which Go silently drops.
    pub fn from_fields_v1_key(key: &str) -> Result<Option<PathElement>, Error> {
        let bytes = key.as_bytes();
        if bytes.len() < 2 {
            return Err(Error::fields_v1("key must be 2 characters long:"));
        }
        if bytes[1] != b':' {
            return Err(Error::fields_v1(format!("missing colon: {key}")));
        }
        let rest = &key[2..];
        let pe = match bytes[0] {
            b'f' => PathElement::Field(rest.to_owned()),
            b'v' => PathElement::Value(parse_json(rest)?),
            b'k' => {
                let Value::Object(map) = parse_json(rest)? else {
                    return Err(Error::fields_v1(format!(
                        "ReadObjectCB: expect {{ or n, but found {}",
                        rest.chars().next().unwrap_or(' ')
                    )));
                };
                let mut fields: Vec<(String, Value)> = map.into_iter().collect();
                sort_key_fields(&mut fields);
                PathElement::Key(fields)
            }
            b'i' => {
                let index = rest.parse::<usize>().map_err(|_| {
                    Error::fields_v1(format!(
                        "strconv.Atoi: parsing {}: invalid syntax",
                        kapi_core::go::quote(rest)
                    ))
                })?;
                PathElement::Index(index)
            }
            _ => return Ok(None),
        };
        Ok(Some(pe))
    }
}

fn parse_json(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::fields_v1(e.to_string()))
}

impl FieldSet {
    /// The set as FieldsV1 JSON text, byte for byte as Go writes it (Go:
    /// `Set.ToJSON`).
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::from("{");
        self.emit(false, &mut out);
        out.push('}');
        out
    }

    /// The set as a FieldsV1 JSON value (for `managedFields[].fieldsV1`).
    pub fn to_fields_v1(&self) -> Value {
        // The writer above produces valid JSON by construction.
        serde_json::from_str(&self.to_fields_v1_string()).unwrap_or_default()
    }

    fn emit(&self, include_self: bool, out: &mut String) {
        let mut first = true;
        let mut field = |out: &mut String, key: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            value::write_go_string(key, false, out);
            out.push(':');
        };
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            field(out, ".");
            out.push_str("{}");
        }
        let (mut mi, mut ci) = (0, 0);
        while mi < self.members.len() || ci < self.children.len() {
            let member = self.members.get(mi);
            let child = self.children.get(ci);
            let order = match (member, child) {
                (Some(m), Some((c, _))) => m.cmp(c),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match (order, member, child) {
                (std::cmp::Ordering::Less, Some(m), _) => {
                    field(out, &m.to_fields_v1_key());
                    out.push_str("{}");
                    mi += 1;
                }
                (std::cmp::Ordering::Greater, _, Some((c, set))) => {
                    field(out, &c.to_fields_v1_key());
                    out.push('{');
                    set.emit(false, out);
                    out.push('}');
                    ci += 1;
                }
                (_, _, Some((c, set))) => {
                    field(out, &c.to_fields_v1_key());
                    out.push('{');
                    set.emit(true, out);
                    out.push('}');
                    mi += 1;
                    ci += 1;
                }
                _ => break,
            }
        }
    }

    /// Parses FieldsV1 JSON text (Go: `Set.FromJSON`).
    pub fn from_fields_v1_str(text: &str) -> Result<FieldSet, Error> {
        let value: Value = parse_json(text)?;
        Self::from_fields_v1(&value)
    }

    /// Parses a FieldsV1 JSON value. `null` is the empty set.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, Error> {
        match value {
            Value::Null => Ok(FieldSet::new()),
            Value::Object(_) => Ok(read_node(value)?.0.unwrap_or_default()),
            other => Err(Error::fields_v1(format!(
                "ReadMapCB: expect {{ or n, but found {}",
                other.to_string().chars().next().unwrap_or(' ')
            ))),
        }
    }
}

/// Reads one node: its children (if any) and whether it is itself a member.
/// A node without children is a member (Go: `readIterV1`).
fn read_node(value: &Value) -> Result<(Option<FieldSet>, bool), Error> {
    let mut children: Option<FieldSet> = None;
    let mut is_member = false;
    if let Value::Object(map) = value {
        for (key, child) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::from_fields_v1_key(key)? else {
                continue;
            };
            let (grandchildren, child_is_member) = read_node(child)?;
            if child_is_member {
                insert_sorted(
                    &mut children.get_or_insert_with(FieldSet::new).members,
                    pe.clone(),
                );
            }
            if let Some(grandchildren) = grandchildren {
                let set = children.get_or_insert_with(FieldSet::new);
                let slot = set.descend(pe);
                *slot = slot.union(&grandchildren);
            }
        }
    } else if !value.is_null() {
        let mut text = String::new();
        let _ = write!(text, "{value}");
        return Err(Error::fields_v1(format!(
            "ReadMapCB: expect {{ or n, but found {}",
            text.chars().next().unwrap_or(' ')
        )));
    }
    if children.is_none() {
        is_member = true;
    }
    Ok((children, is_member))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FieldsV1 written by Kubernetes: parsing then writing gives the same
    /// text back.
    fn check_round_trip(text: &str) {
        let set = FieldSet::from_fields_v1_str(text).unwrap();
        assert_eq!(set.to_fields_v1_string(), text);
    }

    #[test]
    fn round_trips() {
        check_round_trip("{}");
        check_round_trip(
            r#"{"f:data":{".":{},"f:key":{}},"f:metadata":{"f:labels":{"f:app":{}}}}"#,
        );
        check_round_trip(
            r#"{"v:3":{"f:alsoPi":{}},"v:3.1415":{"f:pi":{}},"v:false":{"f:notTrue":{}}}"#,
        );
        check_round_trip(
            r#"{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}}}}"#,
        );
        check_round_trip(r#"{"f:spec":{"f:names":{"f:shortNames":{"i:0":{}}}}}"#);
        check_round_trip(r#"{"f:finalizers":{"v:\"a\\u003cb\"":{}}}"#);
    }

    /// managedFields of a Deployment as kube-apiserver writes them (client-side
    /// apply, then the deployment controller on status).
    #[test]
    fn round_trips_deployment_managed_fields() {
        check_round_trip(concat!(
            r#"{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}},"#,
            r#""f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"#,
            r#""f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"#,
            r#""f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"#,
            r#""f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"#,
            r#""f:name":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"#,
            r#""f:containerPort":{},"f:protocol":{}}},"f:resources":{},"f:terminationMessagePath":{},"#,
            r#""f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"#,
            r#""f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}}"#
        ));
        check_round_trip(concat!(
            r#"{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}},"#,
            r#""f:status":{"f:availableReplicas":{},"f:conditions":{".":{},"#,
            r#""k:{\"type\":\"Available\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"#,
            r#""f:message":{},"f:reason":{},"f:status":{},"f:type":{}},"#,
            r#""k:{\"type\":\"Progressing\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"#,
            r#""f:message":{},"f:reason":{},"f:status":{},"f:type":{}}},"f:observedGeneration":{},"#,
            r#""f:readyReplicas":{},"f:replicas":{},"f:updatedReplicas":{}}}"#
        ));
    }

    #[test]
    fn orders_elements_by_kind_then_value() {
        let text = r#"{"i:1":{},"i:0":{},"v:2":{},"k:{\"port\":10}":{},"k:{\"port\":9}":{},"f:b":{},"f:a":{}}"#;
        let set = FieldSet::from_fields_v1_str(text).unwrap();
        assert_eq!(
            set.to_fields_v1_string(),
            r#"{"f:a":{},"f:b":{},"k:{\"port\":9}":{},"k:{\"port\":10}":{},"v:2":{},"i:0":{},"i:1":{}}"#
        );
    }

    #[test]
    fn unknown_kinds_are_dropped_and_bad_keys_fail() {
        let set = FieldSet::from_fields_v1_str(r#"{"f:a":{"q:x":{}},"z:b":{}}"#).unwrap();
        assert_eq!(set.to_fields_v1_string(), r#"{"f:a":{}}"#);
        assert!(FieldSet::from_fields_v1_str(r#"{"fa":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"k:{bad":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"i:x":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"f:a":1}"#).is_err());
    }
}
