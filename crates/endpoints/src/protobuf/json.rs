//! A small builder for the JSON form of converted messages: it leaves out
//! what Go's `omitempty` would (unset or empty fields) and writes required
//! fields always.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// A JSON object under construction.
#[derive(Debug, Default)]
pub(super) struct Object(Map<String, Value>);

impl Object {
    /// An empty object.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// A string field with `omitempty`: left out when unset or empty.
    pub(super) fn string(mut self, key: &str, value: Option<String>) -> Self {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.0.insert(key.to_owned(), Value::String(value));
        }
        self
    }

    /// A string field without `omitempty`: `""` when unset.
    pub(super) fn required_string(mut self, key: &str, value: Option<String>) -> Self {
        self.0
            .insert(key.to_owned(), Value::String(value.unwrap_or_default()));
        self
    }

    /// A pointer field (`*bool`, `*int64`, …): written whenever set.
    pub(super) fn optional(mut self, key: &str, value: Option<impl Into<Value>>) -> Self {
        if let Some(value) = value {
            self.0.insert(key.to_owned(), value.into());
        }
        self
    }

    /// An integer with `omitempty`: left out when unset or zero.
    pub(super) fn nonzero(mut self, key: &str, value: Option<i64>) -> Self {
        if let Some(value) = value.filter(|v| *v != 0) {
            self.0.insert(key.to_owned(), value.into());
        }
        self
    }

    /// A `map[string]string` with `omitempty`.
    pub(super) fn strings(mut self, key: &str, value: BTreeMap<String, String>) -> Self {
        if !value.is_empty() {
            let map = value.into_iter().map(|(k, v)| (k, Value::String(v)));
            self.0.insert(key.to_owned(), Value::Object(map.collect()));
        }
        self
    }

    /// A `map[string][]byte` with `omitempty`, values in standard base64 as
    /// Go's `encoding/json` writes `[]byte`.
    pub(super) fn bytes(mut self, key: &str, value: BTreeMap<String, Vec<u8>>) -> Self {
        if !value.is_empty() {
            let map = value
                .into_iter()
                .map(|(k, v)| (k, Value::String(STANDARD.encode(v))));
            self.0.insert(key.to_owned(), Value::Object(map.collect()));
        }
        self
    }

    /// A slice with `omitempty`.
    pub(super) fn list(mut self, key: &str, value: Vec<Value>) -> Self {
        if !value.is_empty() {
            self.0.insert(key.to_owned(), Value::Array(value));
        }
        self
    }

    /// A slice without `omitempty` (`[]` when empty; Go writes `null`,
    /// which decodes the same).
    pub(super) fn required_list(mut self, key: &str, value: Vec<Value>) -> Self {
        self.0.insert(key.to_owned(), Value::Array(value));
        self
    }

    /// A nested struct, left out when unset or empty (Go writes `{}`,
    /// which decodes the same as nothing).
    pub(super) fn object(mut self, key: &str, value: Option<Self>) -> Self {
        if let Some(value) = value.filter(|v| !v.0.is_empty()) {
            self.0.insert(key.to_owned(), Value::Object(value.0));
        }
        self
    }

    /// A nested struct without `omitempty`, `{}` when unset.
    pub(super) fn required_object(mut self, key: &str, value: Option<Self>) -> Self {
        let value = value.unwrap_or_default();
        self.0.insert(key.to_owned(), Value::Object(value.0));
        self
    }

    /// A string slice with `omitempty`.
    pub(super) fn string_list(self, key: &str, value: Vec<String>) -> Self {
        let value = value.into_iter().map(Value::String).collect();
        self.list(key, value)
    }

    /// The finished JSON value.
    pub(super) fn build(self) -> Value {
        Value::Object(self.0)
    }
}
