//! The one place kapi reads and writes YAML.
//!
//! kapi uses `serde-saphyr` (pure safe Rust) instead of the archived
//! `serde_yaml`; keeping every YAML call behind these two functions makes the
//! choice a one-line change (see docs/decisions.md).

use serde::{Serialize, de::DeserializeOwned};

/// A YAML encoding or decoding failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(String);

/// Serializes a value as YAML.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|e| YamlError(e.to_string()))
}

/// Deserializes a value from YAML.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str(text).map_err(|e| YamlError(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let value = serde_json::json!({"a": [1, "x"], "b": {"c": true}});
        let text = super::to_string(&value).unwrap();
        let back: serde_json::Value = super::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
