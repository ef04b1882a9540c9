//! The `/scale` subresource of custom resources: the `autoscaling/v1`
//! `Scale` read from a custom resource through its CRD's replica and
//! selector paths, and the replicas of a requested `Scale` written back.
//!
//! Mirrors `pkg/registry/customresource/etcd.go` (`ScaleREST`,
//! `scaleFromCustomResource`, `scaleUpdatedObjectInfo.UpdatedObject`) and
//! the `unstructured.Nested*` accessor errors it passes on.
//!
//! A GET answers [`ScaleSpec::scale_of`]. An update (PUT with a `Scale`
//! body, or a patch applied to [`ScaleSpec::scale_for_update`]) goes
//! through [`ScaleSpec::set_scale`], which yields the custom resource to
//! store with the custom resource strategy (its validation rejects
//! negative replicas); the response is [`ScaleSpec::scale_after_update`]
//! of the stored object.

use http::StatusCode;
use kapi_core::{StatusError, StatusReason};
use serde_json::{Map, Value, json};

use crate::ScaleSpec;
use crate::gofmt;

/// The replicas of a `Scale` whose custom resource has none yet (Go:
/// `invalidSpecReplicas`, the smallest int32).
const INVALID_SPEC_REPLICAS: i64 = i32::MIN as i64;

impl ScaleSpec {
    /// The `Scale` of `object` (Go: `ScaleREST.Get`).
    ///
    /// # Errors
    /// 500 `Internal error occurred: the spec replicas field ".spec.replicas"
    /// does not exist` when the custom resource has no replicas; a 500
    /// with Go's accessor message (`.spec.replicas accessor error: x is of
    /// the type string, expected int64`) when a path holds the wrong type.
    pub fn scale_of(&self, object: &Value) -> Result<Value, StatusError> {
        let (scale, found) = self.read(object).map_err(unknown_error)?;
        if !found {
            return Err(StatusError::internal(format!(
                "the spec replicas field {} does not exist",
                kapi_core::go::quote(&self.spec_replicas_path)
            )));
        }
        Ok(scale)
    }

    /// The `Scale` an update applies to (a patch is applied to it): as
    /// [`ScaleSpec::scale_of`], but with `spec.replicas` -2147483648 when
    /// the custom resource has none, which [`ScaleSpec::set_scale`] then
    /// refuses unless the update sets it.
    ///
    /// # Errors
    /// A 500 with Go's accessor message when a path holds the wrong type.
    pub fn scale_for_update(&self, object: &Value) -> Result<Value, StatusError> {
        let (mut scale, found) = self.read(object).map_err(unknown_error)?;
        if !found {
            scale["spec"]["replicas"] = Value::from(INVALID_SPEC_REPLICAS);
        }
        Ok(scale)
    }

    /// `object` with the replicas of the requested `scale` written to
    /// `specReplicasPath`, and the `Scale`'s `resourceVersion` (if any) as
    /// its precondition (Go: `scaleUpdatedObjectInfo.UpdatedObject`).
    ///
    /// # Errors
    /// 400 `the spec replicas field ".spec.replicas" cannot be empty` when
    /// neither the custom resource nor the update set replicas; a 500 when
    /// the custom resource's paths hold the wrong types.
    pub fn set_scale(&self, object: &Value, scale: &Value) -> Result<Value, StatusError> {
        self.read(object).map_err(unknown_error)?;
        let replicas = scale["spec"]
            .get("replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if replicas == INVALID_SPEC_REPLICAS {
            return Err(StatusError::bad_request(format!(
                "the spec replicas field {} cannot be empty",
                kapi_core::go::quote(&self.spec_replicas_path)
            )));
        }
        let mut updated = object.clone();
        set_nested(
            &mut updated,
            &split_path(&self.spec_replicas_path),
            Value::from(replicas),
        )
        .map_err(unknown_error)?;
        let resource_version = scale["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !resource_version.is_empty()
            && let Some(metadata) = updated.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.insert("resourceVersion".to_owned(), Value::from(resource_version));
        }
        Ok(updated)
    }

    /// The `Scale` answered after an update (Go: `ScaleREST.Update`).
    ///
    /// # Errors
    /// 400 with Go's accessor message when a path holds the wrong type.
    pub fn scale_after_update(&self, object: &Value) -> Result<Value, StatusError> {
        self.read(object)
            .map(|(scale, _)| scale)
            .map_err(StatusError::bad_request)
    }

    /// Go: `scaleFromCustomResource`: the `Scale` and whether the spec
    /// replicas were found.
    fn read(&self, object: &Value) -> Result<(Value, bool), String> {
        let spec = nested_int64(object, &split_path(&self.spec_replicas_path))?;
        let status = nested_int64(object, &split_path(&self.status_replicas_path))?;
        let selector = match self.label_selector_path.as_deref() {
            Some(path) if !path.is_empty() => nested_string(object, &split_path(path))?,
            _ => None,
        };
        let meta = &object["metadata"];
        let mut metadata = Map::new();
        for field in ["name", "namespace", "uid", "resourceVersion"] {
            if let Some(value) = meta
                .get(field)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                metadata.insert(field.to_owned(), Value::from(value));
            }
        }
        metadata.insert(
            "creationTimestamp".to_owned(),
            meta.get("creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null),
        );
        let mut spec_json = Map::new();
        // int32 conversion as Go's `int32(specReplicas)`; 0 is omitted.
        #[allow(clippy::cast_possible_truncation)]
        let spec_replicas = spec.unwrap_or(0) as i32;
        if spec_replicas != 0 {
            spec_json.insert("replicas".to_owned(), Value::from(spec_replicas));
        }
        #[allow(clippy::cast_possible_truncation)]
        let status_replicas = status.unwrap_or(0) as i32;
        let mut status_json = json!({"replicas": status_replicas});
        if let Some(selector) = selector.filter(|s| !s.is_empty()) {
            status_json["selector"] = Value::from(selector);
        }
        let scale = json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": metadata,
            "spec": spec_json,
            "status": status_json,
        });
        Ok((scale, spec.is_some()))
    }
}

/// A replicas path without its leading dot, split at dots (Go:
/// `splitReplicasPath`).
pub(crate) fn split_path(path: &str) -> Vec<&str> {
    path.strip_prefix('.').unwrap_or(path).split('.').collect()
}

/// Go: `unstructured.NestedFieldNoCopy`.
pub(crate) fn nested_field<'a>(
    object: &'a Value,
    fields: &[&str],
) -> Result<Option<&'a Value>, String> {
    let mut value = object;
    for (i, field) in fields.iter().enumerate() {
        match value {
            Value::Null => return Ok(None),
            Value::Object(map) => match map.get(*field) {
                Some(next) => value = next,
                None => return Ok(None),
            },
            other => {
                return Err(format!(
                    ".{} accessor error: {} is of the type {}, expected map[string]interface{{}}",
                    fields[..=i].join("."),
                    gofmt::value(other),
                    gofmt::type_name(other)
                ));
            }
        }
    }
    Ok(Some(value))
}

/// Go: `unstructured.NestedInt64`; `None` when missing.
pub(crate) fn nested_int64(object: &Value, fields: &[&str]) -> Result<Option<i64>, String> {
    match nested_field(object, fields)? {
        None => Ok(None),
        Some(value) => value.as_i64().map(Some).ok_or_else(|| {
            format!(
                ".{} accessor error: {} is of the type {}, expected int64",
                fields.join("."),
                gofmt::value(value),
                gofmt::type_name(value)
            )
        }),
    }
}

/// Go: `unstructured.NestedString`; `None` when missing.
pub(crate) fn nested_string(object: &Value, fields: &[&str]) -> Result<Option<String>, String> {
    match nested_field(object, fields)? {
        None => Ok(None),
        Some(value) => value.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| {
            format!(
                ".{} accessor error: {} is of the type {}, expected string",
                fields.join("."),
                gofmt::value(value),
                gofmt::type_name(value)
            )
        }),
    }
}

/// Go: `unstructured.SetNestedField`: creates missing maps on the way.
fn set_nested(object: &mut Value, fields: &[&str], value: Value) -> Result<(), String> {
    let Some((last, parents)) = fields.split_last() else {
        return Ok(());
    };
    let mut current = object;
    for (i, field) in parents.iter().enumerate() {
        let Some(map) = current.as_object_mut() else {
            return Err(format!(
                "value cannot be set because .{} is not a map[string]interface{{}}",
                fields[..i].join(".")
            ));
        };
        let next = map
            .entry((*field).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            return Err(format!(
                "value cannot be set because .{} is not a map[string]interface{{}}",
                fields[..=i].join(".")
            ));
        }
        current = next;
    }
    if let Some(map) = current.as_object_mut() {
        map.insert((*last).to_owned(), value);
    }
    Ok(())
}

/// A plain Go error that reached the handler: 500 with no reason and the
/// error as the message (Go: `ErrorToAPIStatus`).
fn unknown_error(message: String) -> StatusError {
    StatusError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusReason::Unknown,
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale_spec(selector: Option<&str>) -> ScaleSpec {
        ScaleSpec::new(
            ".spec.replicas",
            ".status.replicas",
            selector.map(str::to_owned),
        )
    }

    fn crontab(spec: Value, status: Value) -> Value {
        json!({
            "apiVersion": "stable.example.com/v1",
            "kind": "CronTab",
            "metadata": {"name": "c", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": spec,
            "status": status,
        })
    }

    #[test]
    fn scale_round_trip() {
        let spec = scale_spec(Some(".status.labelSelector"));
        let object = crontab(
            json!({"replicas": 3}),
            json!({"replicas": 2, "labelSelector": "app=c"}),
        );
        let scale = spec.scale_of(&object).unwrap();
        assert_eq!(
            scale,
            json!({
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {"name": "c", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", "creationTimestamp": "2024-01-01T00:00:00Z"},
                "spec": {"replicas": 3},
                "status": {"replicas": 2, "selector": "app=c"},
            })
        );
        let mut request = scale.clone();
        request["spec"]["replicas"] = json!(5);
        let updated = spec.set_scale(&object, &request).unwrap();
        assert_eq!(updated["spec"]["replicas"], 5);
        assert_eq!(updated["status"], object["status"]);
        assert_eq!(updated["metadata"]["resourceVersion"], "7");
        let answer = spec.scale_after_update(&updated).unwrap();
        assert_eq!(answer["spec"]["replicas"], 5);
        // Scaling to zero omits spec.replicas, as Go's omitempty does.
        request["spec"]["replicas"] = json!(0);
        let zero = spec.set_scale(&object, &request).unwrap();
        assert_eq!(spec.scale_of(&zero).unwrap()["spec"], json!({}));
    }

    #[test]
    fn missing_and_mistyped_paths() {
        let spec = scale_spec(None);
        let empty = crontab(json!({}), json!({}));
        let err = spec.scale_of(&empty).unwrap_err();
        assert_eq!(err.code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            err.message(),
            r#"Internal error occurred: the spec replicas field ".spec.replicas" does not exist"#
        );
        let old = spec.scale_for_update(&empty).unwrap();
        assert_eq!(old["spec"]["replicas"], -2_147_483_648_i64);
        assert_eq!(old["status"], json!({"replicas": 0}));
        let err = spec.set_scale(&empty, &old).unwrap_err();
        assert_eq!(err.code(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.message(),
            r#"the spec replicas field ".spec.replicas" cannot be empty"#
        );
        // A request that sets replicas creates the path.
        let created = spec
            .set_scale(
                &json!({"metadata": {"name": "c"}}),
                &json!({"spec": {"replicas": 1}}),
            )
            .unwrap();
        assert_eq!(created["spec"], json!({"replicas": 1}));

        let wrong = crontab(json!({"replicas": "three"}), json!({}));
        let err = spec.scale_of(&wrong).unwrap_err();
        assert_eq!(err.reason(), StatusReason::Unknown);
        assert_eq!(
            err.message(),
            ".spec.replicas accessor error: three is of the type string, expected int64"
        );
        let err = spec
            .scale_after_update(&crontab(json!("x"), json!({})))
            .unwrap_err();
        assert_eq!(err.code(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.message(),
            ".spec.replicas accessor error: x is of the type string, expected map[string]interface{}"
        );
        let err = scale_spec(Some(".status.selector"))
            .scale_of(&crontab(
                json!({"replicas": 1}),
                json!({"selector": {"matchLabels": {}}}),
            ))
            .unwrap_err();
        assert_eq!(
            err.message(),
            ".status.selector accessor error: map[matchLabels:map[]] is of the type map[string]interface {}, expected string"
        );
    }
}
