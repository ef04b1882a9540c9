//! `Object`: a stored object shared between readers, decoded and encoded at
//! most once each.
//!
//! Mirrors the idea of the cacher's `cachingObject`: a watch event or a
//! cached list item is handed to every watcher and every LIST as the same
//! `Object`; the first one that needs its JSON bytes encodes them, everyone
//! after reuses them, and an object that came from storage as bytes is only
//! decoded when someone needs to look inside (a selector, a patch).

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde_json::Value;

/// A Kubernetes object as JSON, cheap to clone and share.
#[derive(Clone)]
pub struct Object(Arc<Inner>);

struct Inner {
    value: OnceLock<Value>,
    json: OnceLock<Bytes>,
}

impl Object {
    /// An object from its decoded form.
    pub fn from_value(value: Value) -> Self {
        let inner = Inner {
            value: OnceLock::from(value),
            json: OnceLock::new(),
        };
        Self(Arc::new(inner))
    }

    /// An object from its JSON encoding; the bytes must be a JSON object
    /// (callers decode once to check, or trust their own encoding).
    pub fn from_json(json: Bytes) -> Self {
        let inner = Inner {
            value: OnceLock::new(),
            json: OnceLock::from(json),
        };
        Self(Arc::new(inner))
    }

    /// An object with both forms already known.
    pub fn from_parts(value: Value, json: Bytes) -> Self {
        let inner = Inner {
            value: OnceLock::from(value),
            json: OnceLock::from(json),
        };
        Self(Arc::new(inner))
    }

    /// The decoded object (decoded on first use; invalid JSON reads as
    /// `Null`, which only an object built with unchecked bytes can hold).
    pub fn value(&self) -> &Value {
        self.0.value.get_or_init(|| {
            self.0
                .json
                .get()
                .and_then(|json| serde_json::from_slice(json).ok())
                .unwrap_or(Value::Null)
        })
    }

    /// The JSON encoding (encoded on first use, then shared).
    pub fn json(&self) -> &Bytes {
        self.0.json.get_or_init(|| {
            // Encoding a `Value` cannot fail: its keys are strings. The
            // buffer is shrunk to fit: cached bytes live long.
            let json = serde_json::to_vec(self.value()).unwrap_or_default();
            Bytes::from(json.into_boxed_slice())
        })
    }

    /// The decoded object, owned (clones unless this is the last handle).
    pub fn into_value(self) -> Value {
        match Arc::try_unwrap(self.0) {
            Ok(inner) => match inner.value.into_inner() {
                Some(value) => value,
                None => inner
                    .json
                    .get()
                    .and_then(|json| serde_json::from_slice(json).ok())
                    .unwrap_or(Value::Null),
            },
            Err(shared) => Object(shared).value().clone(),
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.value()["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        self.value()["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> &str {
        self.value()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
    }

    /// Whether two handles share one object.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        Object::ptr_eq(self, other) || self.value() == other.value()
    }
}

impl From<Value> for Object {
    fn from(value: Value) -> Self {
        Object::from_value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_once_and_decodes_lazily() {
        let object = Object::from_json(Bytes::from_static(br#"{"metadata":{"name":"a"}}"#));
        let shared = object.clone();
        assert_eq!(shared.name(), "a");
        assert!(std::ptr::eq(object.json().as_ptr(), shared.json().as_ptr()));

        let built = Object::from_value(serde_json::json!({"metadata": {"name": "b"}}));
        let first = built.json().clone();
        assert_eq!(first, built.clone().json().clone());
        assert_eq!(built.into_value()["metadata"]["name"], "b");
    }
}
