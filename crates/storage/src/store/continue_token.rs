//! Continue tokens of paginated lists: `base64url(JSON {"v","rv","start"})`,
//! exactly as kube-apiserver writes and reads them, so a token is opaque to
//! clients but survives a server restart and works across replicas.
//!
//! Mirrors `k8s.io/apiserver/pkg/storage/continue.go`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

const VERSION: &str = "meta.k8s.io/v1";

#[derive(Serialize, Deserialize)]
struct Token {
    #[serde(rename = "v")]
    version: String,
    #[serde(rename = "rv")]
    resource_version: i64,
    #[serde(rename = "start")]
    start_key: String,
}

/// Why a continue token was refused; the message is what clients see after
/// "invalid continue token: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ContinueError {
    #[error("continue key is not valid: {0}")]
    Generic(String),
    #[error(
        "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
    )]
    InvalidStartResourceVersion,
    #[error("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")]
    EmptyStartKey,
    #[error("continue key is not valid: server does not recognize this encoded version {0}")]
    UnrecognizedVersion(String),
}

/// Encodes the token that resumes a list at `key` (inclusive), read at
/// `resource_version` (-1: at the latest revision).
pub(crate) fn encode(key: &str, key_prefix: &str, resource_version: i64) -> Option<String> {
    let next = key.strip_prefix(key_prefix)?;
    let token = Token {
        version: VERSION.to_owned(),
        resource_version,
        start_key: next.to_owned(),
    };
    // Serializing three plain fields cannot fail.
    let json = serde_json::to_vec(&token).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a token into the full key to resume at and its resource version.
/// The start key is cleaned so a client cannot range outside `key_prefix`.
pub(crate) fn decode(token: &str, key_prefix: &str) -> Result<(String, i64), ContinueError> {
    let json = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| ContinueError::Generic(e.to_string()))?;
    let token: Token =
        serde_json::from_slice(&json).map_err(|e| ContinueError::Generic(e.to_string()))?;
    if token.version != VERSION {
        return Err(ContinueError::UnrecognizedVersion(token.version));
    }
    if token.resource_version == 0 {
        return Err(ContinueError::InvalidStartResourceVersion);
    }
    if token.start_key.is_empty() {
        return Err(ContinueError::EmptyStartKey);
    }
    let key = if token.start_key.starts_with('/') {
        token.start_key.clone()
    } else {
        format!("/{}", token.start_key)
    };
    if clean_path(&key) != key {
        return Err(ContinueError::Generic(token.start_key));
    }
    Ok((format!("{key_prefix}{}", &key[1..]), token.resource_version))
}

/// Go's `path.Clean` for absolute paths: collapses `//`, `.` and `..`, and
/// drops a trailing `/`.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_kube_apiserver_bytes() {
        let token = encode("/registry/pods/ns/b\u{0}", "/registry/pods/", 42).unwrap();
        // {"v":"meta.k8s.io/v1","rv":42,"start":"ns/b\u0000"} as Go encodes it.
        let json = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"v":"meta.k8s.io/v1","rv":42,"start":"ns/b\u0000"}"#
        );
        assert_eq!(
            decode(&token, "/registry/pods/").unwrap(),
            ("/registry/pods/ns/b\u{0}".to_owned(), 42)
        );
    }

    #[test]
    fn refuses_bad_tokens() {
        let check =
            |json: &str, prefix: &str| decode(&URL_SAFE_NO_PAD.encode(json), prefix).unwrap_err();
        assert_eq!(
            check(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#, "/p/"),
            ContinueError::InvalidStartResourceVersion
        );
        assert_eq!(
            check(r#"{"v":"meta.k8s.io/v1","rv":3,"start":""}"#, "/p/"),
            ContinueError::EmptyStartKey
        );
        assert!(matches!(
            check(r#"{"v":"v2","rv":3,"start":"a"}"#, "/p/"),
            ContinueError::UnrecognizedVersion(_)
        ));
        // Path traversal out of the prefix.
        assert!(matches!(
            check(
                r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}"#,
                "/p/"
            ),
            ContinueError::Generic(_)
        ));
        assert!(matches!(
            decode("%%%not-base64", "/p/"),
            Err(ContinueError::Generic(_))
        ));
        assert!(matches!(
            decode(&URL_SAFE_NO_PAD.encode("not json"), "/p/"),
            Err(ContinueError::Generic(_))
        ));
    }
}
