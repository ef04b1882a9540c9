//! core/v1 `secrets` (Go: `pkg/registry/core/secret/strategy.go` and
//! `ValidateSecret`/`ValidateSecretUpdate` of `pkg/apis/core/validation`):
//! `type` defaulted to `Opaque`, `stringData` folded into `data`, data keys
//! and base64 values checked, the per-type required keys, and `type` and
//! immutable data kept on update.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use kapi_core::field::{Error, ErrorList, ErrorType, Path};
use kapi_core::validation;
use kapi_storage::registry::Strategy;
use serde_json::{Map, Value};

use super::{invalid_config_key, meta_errors};

/// The largest total size of a secret's data (Go: `MaxSecretSize`).
const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// Go's `base64.StdEncoding` as `encoding/json` decodes `[]byte` with:
/// padding required, stray trailing bits tolerated.
const GO_STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Secrets (Go: `secret.strategy`): namespaced, DNS-1123 subdomain names,
/// no create on update, unconditional updates allowed.
#[derive(Debug)]
pub(super) struct SecretStrategy;

impl Strategy for SecretStrategy {
    fn namespace_scoped(&self) -> bool {
        true
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, object: &mut Value) {
        normalize(object);
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        normalize(new);
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = meta_errors(object, true, validation::name_is_dns_subdomain);
        errs.extend(validate_secret(object));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let mut errs = validate_secret(new);
        if new["type"] != old["type"] {
            errs.push(Error::invalid(
                &Path::new("type"),
                new["type"].clone(),
                "field is immutable",
            ));
        }
        if old["immutable"] == Value::Bool(true) {
            let detail = "field is immutable when `immutable` is set";
            if new["immutable"] != Value::Bool(true) {
                errs.push(Error::forbidden(&Path::new("immutable"), detail));
            }
            if new["data"] != old["data"] {
                errs.push(Error::forbidden(&Path::new("data"), detail));
            }
        }
        errs
    }
}

/// Defaults `type` to `Opaque` (Go: `SetDefaults_Secret`) and merges
/// `stringData` into `data`, base64-encoded, its values winning (Go: the
/// v1 → internal conversion).
fn normalize(object: &mut Value) {
    let Value::Object(map) = object else { return };
    if map
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        map.insert("type".to_owned(), Value::from("Opaque"));
    }
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    if string_data.is_empty() {
        return;
    }
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Value::Object(data) = data {
        for (key, value) in string_data {
            let text = value.as_str().unwrap_or_default();
            data.insert(key, Value::from(general_purpose::STANDARD.encode(text)));
        }
    }
}

/// Go's `ValidateSecret` without the metadata.
fn validate_secret(object: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let data_path = Path::new("data");
    let empty = Map::new();
    let data = object["data"].as_object().unwrap_or(&empty);
    let mut total = 0;
    for (key, value) in data {
        let path = data_path.key(key);
        errs.extend(invalid_config_key(&path, key));
        match decode(value.as_str().unwrap_or_default()) {
            Ok(bytes) => total += bytes.len(),
            Err(detail) => errs.push(Error {
                kind: ErrorType::Invalid,
                field: path.to_string(),
                bad_value: None,
                detail,
            }),
        }
    }
    if total > MAX_SECRET_SIZE {
        errs.push(Error::too_long(&data_path, MAX_SECRET_SIZE as i64));
    }
    let required = |errs: &mut ErrorList, key: &str| {
        if !data.contains_key(key) {
            errs.push(Error::required(&data_path.key(key), ""));
        }
    };
    match object["type"].as_str().unwrap_or_default() {
        "kubernetes.io/service-account-token" => {
            let annotation = "kubernetes.io/service-account.name";
            let name = object["metadata"]["annotations"][annotation]
                .as_str()
                .unwrap_or_default();
            if name.is_empty() {
                let path = Path::new("metadata").child("annotations").key(annotation);
                errs.push(Error::required(&path, ""));
            }
        }
        "kubernetes.io/dockercfg" => required(&mut errs, ".dockercfg"),
        "kubernetes.io/dockerconfigjson" => required(&mut errs, ".dockerconfigjson"),
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            required(&mut errs, "username");
            required(&mut errs, "password");
        }
        "kubernetes.io/ssh-auth" => required(&mut errs, "ssh-privatekey"),
        "kubernetes.io/tls" => {
            required(&mut errs, "tls.key");
            required(&mut errs, "tls.crt");
        }
        _ => {}
    }
    errs
}

/// Decodes a data value as Go's JSON decoder decodes `[]byte` (newlines
/// skipped), failing with Go's message: `illegal base64 data at input byte
/// <n>`.
fn decode(value: &str) -> Result<Vec<u8>, String> {
    let stripped: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD_ENCODING.decode(&stripped).map_err(|err| {
        let offset = match err {
            base64::DecodeError::InvalidByte(offset, _)
            | base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
            base64::DecodeError::InvalidLength(length) => length - length % 4,
            base64::DecodeError::InvalidPadding => stripped.find('=').unwrap_or_default(),
        };
        format!("illegal base64 data at input byte {offset}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(object: &Value) -> Vec<String> {
        SecretStrategy
            .validate(object)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn type_defaults_to_opaque_and_string_data_folds_into_data() {
        let mut secret = json!({
            "metadata": {"name": "s", "namespace": "n"},
            "data": {"a": "eA==", "b": "eQ=="},
            "stringData": {"b": "z", "c": "hello"},
        });
        SecretStrategy.prepare_for_create(&mut secret);
        assert_eq!(
            secret,
            json!({
                "metadata": {"name": "s", "namespace": "n"},
                "type": "Opaque",
                "data": {"a": "eA==", "b": "eg==", "c": "aGVsbG8="},
            })
        );
        let mut typed = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls"});
        SecretStrategy.prepare_for_create(&mut typed);
        assert_eq!(typed["type"], "kubernetes.io/tls");
    }

    #[test]
    fn validation_messages() {
        let check = |secret: Value, expected: &[&str]| {
            let mut secret = secret;
            secret["metadata"] = json!({"name": "s", "namespace": "n"});
            SecretStrategy.prepare_for_create(&mut secret);
            assert_eq!(errors(&secret), expected, "{secret}");
        };
        check(json!({"data": {"k": "aGk="}}), &[]);
        check(json!({"data": {"k": "aGk\n="}}), &[]);
        check(
            json!({"data": {"k": "not base64!"}}),
            &["data[k]: Invalid value: illegal base64 data at input byte 3"],
        );
        check(
            json!({"data": {"k": "abcde"}}),
            &["data[k]: Invalid value: illegal base64 data at input byte 4"],
        );
        check(
            json!({"data": {"a/b": ""}}),
            &[
                "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ],
        );
        check(
            json!({"type": "kubernetes.io/tls", "data": {"tls.crt": ""}}),
            &["data[tls.key]: Required value"],
        );
        check(
            json!({"type": "kubernetes.io/service-account-token"}),
            &["metadata.annotations[kubernetes.io/service-account.name]: Required value"],
        );
        check(
            json!({"type": "kubernetes.io/basic-auth"}),
            &[
                "data[username]: Required value",
                "data[password]: Required value",
            ],
        );
    }

    #[test]
    fn names_are_dns_subdomains() {
        let secret = json!({"metadata": {"name": "Bad_Name", "namespace": "n"}, "type": "Opaque"});
        assert_eq!(errors(&secret).len(), 1, "{:?}", errors(&secret));
        assert!(errors(&secret)[0].starts_with("metadata.name: Invalid value: \"Bad_Name\""));
    }

    #[test]
    fn type_and_immutable_data_cannot_change() {
        let old = json!({"type": "Opaque", "immutable": true, "data": {"a": "eA=="}});
        let new = json!({"type": "kubernetes.io/tls", "data": {"tls.key": "", "tls.crt": ""}});
        let messages: Vec<String> = SecretStrategy
            .validate_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
    }
}
