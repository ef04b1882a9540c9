//! Apply conflicts: a field the applied configuration sets to a different
//! value than another manager left it, and the 409 `Status` kube-apiserver
//! answers with.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/merge/conflict.go`
//! (`Conflict`, `Conflicts.Error`) and
//! `k8s.io/apimachinery/pkg/util/managedfields/internal/conflict.go`
//! (`NewConflictError`, `printManager`).

use std::collections::BTreeMap;
use std::fmt;

use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};
use kapi_core::{StatusError, StatusReason};
use serde_json::Value;

use crate::path::Path;

/// One conflicting field and the manager that owns it (Go:
/// `merge.Conflict`). `manager` is the manager's identifier: the JSON of its
/// `managedFields` entry without fields and time, as Go keys managers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The owning manager's identifier.
    pub manager: String,
    /// The conflicting field.
    pub path: Path,
}

impl fmt::Display for Conflict {
    /// `conflict with "<manager>": <path>` (Go: `Conflict.Error`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conflict with {}: {}",
            kapi_core::go::quote(&self.manager),
            self.path
        )
    }
}

/// All conflicts of one apply (Go: `merge.Conflicts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

impl fmt::Display for Conflicts {
    /// One conflict as itself; several grouped by sorted manager (Go:
    /// `Conflicts.Error`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == 1 {
            return write!(f, "{}", self.0[0]);
        }
        let lines = grouped(&self.0, kapi_core::go::quote);
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for Conflicts {}

fn grouped(conflicts: &[Conflict], print: impl Fn(&str) -> String) -> Vec<String> {
    let mut by_manager: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    for c in conflicts {
        by_manager.entry(&c.manager).or_default().push(&c.path);
    }
    let mut lines = Vec::new();
    for (manager, paths) in by_manager {
        lines.push(format!("conflicts with {}:", print(manager)));
        for path in paths {
            lines.push(format!("- {path}"));
        }
    }
    lines
}

impl Conflicts {
    /// The 409 Conflict kube-apiserver answers a conflicting apply with:
    /// `Apply failed with N conflict(s): …` and one `FieldManagerConflict`
    /// cause per field (Go: `internal.NewConflictError`).
    pub fn to_status_error(&self) -> StatusError {
        let causes = self
            .0
            .iter()
            .map(|c| StatusCause {
                reason: Some("FieldManagerConflict".to_owned()),
                message: Some(format!("conflict with {}", print_manager(&c.manager))),
                field: Some(c.path.to_string()),
            })
            .collect();
        StatusError::new(StatusCode::CONFLICT, StatusReason::Conflict, self.message()).with_details(
            StatusDetails {
                causes: Some(causes),
                ..StatusDetails::default()
            },
        )
    }

    fn message(&self) -> String {
        if let [only] = self.0.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                print_manager(&only.manager),
                only.path
            );
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            grouped(&self.0, print_manager).join("\n")
        )
    }
}

/// A manager as conflict messages name it: `"name"`, plus `with
/// subresource "s"`, plus `using <apiVersion>[ at <time>]` for updaters (Go:
/// `printManager`).
pub(crate) fn print_manager(manager: &str) -> String {
    let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(manager) else {
        return kapi_core::go::quote(manager);
    };
    let text = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or("");
    let mut out = kapi_core::go::quote(text("manager"));
    if !text("subresource").is_empty() {
        out = format!(
            "{out} with subresource {}",
            kapi_core::go::quote(text("subresource"))
        );
    }
    if text("operation") == "Update" {
        let time = entry
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        return match time {
            None => format!("{out} using {}", text("apiVersion")),
            Some(t) => format!(
                "{out} using {} at {}",
                text("apiVersion"),
                crate::managed::format_time(t)
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(manager: &str, path: &[&str]) -> Conflict {
        Conflict {
            manager: manager.to_owned(),
            path: Path::fields(path.iter().copied()),
        }
    }

    fn check(conflicts: Vec<Conflict>, message: &str, causes: &[(&str, &str)]) {
        let err = Conflicts(conflicts).to_status_error();
        assert_eq!(err.code(), StatusCode::CONFLICT);
        assert_eq!(err.reason(), StatusReason::Conflict);
        assert_eq!(err.message(), message);
        let status = err.to_status();
        let got: Vec<(String, String)> = status
            .details
            .unwrap()
            .causes
            .unwrap()
            .into_iter()
            .map(|c| {
                assert_eq!(c.reason.as_deref(), Some("FieldManagerConflict"));
                (c.message.unwrap(), c.field.unwrap())
            })
            .collect();
        let expected: Vec<(String, String)> = causes
            .iter()
            .map(|(m, f)| ((*m).to_owned(), (*f).to_owned()))
            .collect();
        assert_eq!(got, expected);
    }

    /// The cases of Go's `TestNewConflictError`.
    #[test]
    fn conflict_errors() {
        check(
            vec![conflict(
                r#"{"manager":"foo","operation":"Update","apiVersion":"v1","time":"2001-02-03T04:05:06Z"}"#,
                &["spec", "replicas"],
            )],
            r#"Apply failed with 1 conflict: conflict with "foo" using v1 at 2001-02-03T04:05:06Z: .spec.replicas"#,
            &[(
                r#"conflict with "foo" using v1 at 2001-02-03T04:05:06Z"#,
                ".spec.replicas",
            )],
        );
        check(
            vec![
                conflict(
                    r#"{"manager":"foo","operation":"Update","apiVersion":"v1","time":"2001-02-03T04:05:06Z"}"#,
                    &["spec", "replicas"],
                ),
                conflict(
                    r#"{"manager":"bar","operation":"Apply"}"#,
                    &["metadata", "labels", "app"],
                ),
            ],
            "Apply failed with 2 conflicts: conflicts with \"bar\":\n- .metadata.labels.app\nconflicts with \"foo\" using v1 at 2001-02-03T04:05:06Z:\n- .spec.replicas",
            &[
                (
                    r#"conflict with "foo" using v1 at 2001-02-03T04:05:06Z"#,
                    ".spec.replicas",
                ),
                (r#"conflict with "bar""#, ".metadata.labels.app"),
            ],
        );
        check(
            vec![conflict(
                r#"{"manager":"foo","operation":"Update","subresource":"scale","apiVersion":"v1","time":"2001-02-03T04:05:06Z"}"#,
                &["spec", "replicas"],
            )],
            r#"Apply failed with 1 conflict: conflict with "foo" with subresource "scale" using v1 at 2001-02-03T04:05:06Z: .spec.replicas"#,
            &[(
                r#"conflict with "foo" with subresource "scale" using v1 at 2001-02-03T04:05:06Z"#,
                ".spec.replicas",
            )],
        );
        check(
            vec![conflict(
                r#"{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"apps/v1"}"#,
                &["spec", "replicas"],
            )],
            r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#,
            &[(
                r#"conflict with "kubectl-client-side-apply" using apps/v1"#,
                ".spec.replicas",
            )],
        );
    }

    #[test]
    fn smd_messages() {
        let one = Conflicts(vec![conflict("a", &["x"])]);
        assert_eq!(one.to_string(), r#"conflict with "a": .x"#);
        let two = Conflicts(vec![
            conflict("b", &["y"]),
            conflict("a", &["x"]),
            conflict("b", &["z"]),
        ]);
        assert_eq!(
            two.to_string(),
            "conflicts with \"a\":\n- .x\nconflicts with \"b\":\n- .y\n- .z"
        );
    }
}
