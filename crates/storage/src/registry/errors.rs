//! Storage errors as the Kubernetes Status errors clients see (Go:
//! `pkg/storage/errors`, `Interpret{Get,List,Create,Update,Delete,Watch}Error`).

use http::StatusCode;
use kapi_core::{StatusError, StatusReason};

use crate::error::Error;

/// The operation that failed, naming the ServerTimeout message's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Get,
    List,
    Create,
    Update,
    Delete,
    Watch,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::List => "list",
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Watch => "watch",
        }
    }
}

/// Maps `err` from an `op` on `resource` (`configmaps`,
/// `leases.coordination.k8s.io`) object `name` as Go's `storeerr` does.
pub(crate) fn interpret(err: Error, op: Op, resource: &str, name: &str) -> StatusError {
    match err {
        Error::Api(status) => *status,
        Error::KeyNotFound { .. } if op == Op::List => StatusError::not_found(resource, ""),
        Error::KeyNotFound { .. } if op != Op::Create => StatusError::not_found(resource, name),
        Error::KeyExists { .. } if op == Op::Create => StatusError::already_exists(resource, name),
        Error::KeyExists { key } if matches!(op, Op::Update | Op::Delete) => StatusError::conflict(
            resource,
            name,
            storage_error(2, "key exists", &key, "<nil>"),
        ),
        Error::PreconditionFailed { key, message } if matches!(op, Op::Update | Op::Delete) => {
            StatusError::conflict(
                resource,
                name,
                storage_error(4, "invalid object", &key, &message),
            )
        }
        Error::Unavailable(_) => StatusError::server_timeout(resource, op.verb(), 2),
        // Go returns these raw; its response writers answer 500 with the
        // error's text and no reason.
        Error::InvalidRequest(message) => StatusError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusReason::Unknown,
            message,
        ),
        other => StatusError::internal(other),
    }
}

/// Go's `StorageError.Error()`.
fn storage_error(code: u8, what: &str, key: &str, detail: &str) -> String {
    format!(
        "StorageError: {what}, Code: {code}, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: {detail}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: Error, op: Op, code: u16, reason: StatusReason, message: &str) {
        let status = interpret(err, op, "configmaps", "x");
        assert_eq!(
            (status.code().as_u16(), status.reason(), status.message()),
            (code, reason, message)
        );
    }

    #[test]
    fn storage_errors_map_as_go() {
        let key = || "/registry/configmaps/ns/x".to_owned();
        check(
            Error::KeyNotFound { key: key() },
            Op::Get,
            404,
            StatusReason::NotFound,
            r#"configmaps "x" not found"#,
        );
        check(
            Error::KeyNotFound { key: key() },
            Op::List,
            404,
            StatusReason::NotFound,
            r#"configmaps "" not found"#,
        );
        check(
            Error::KeyExists { key: key() },
            Op::Create,
            409,
            StatusReason::AlreadyExists,
            r#"configmaps "x" already exists"#,
        );
        check(
            Error::PreconditionFailed {
                key: key(),
                message: "Precondition failed: UID in precondition: a, UID in object meta: b"
                    .to_owned(),
            },
            Op::Update,
            409,
            StatusReason::Conflict,
            r#"Operation cannot be fulfilled on configmaps "x": StorageError: invalid object, Code: 4, Key: /registry/configmaps/ns/x, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: a, UID in object meta: b"#,
        );
        for (op, verb) in [
            (Op::Get, "get"),
            (Op::List, "list"),
            (Op::Create, "create"),
            (Op::Update, "update"),
            (Op::Delete, "delete"),
            (Op::Watch, "watch"),
        ] {
            check(
                Error::Unavailable("down".to_owned()),
                op,
                500,
                StatusReason::ServerTimeout,
                &format!(
                    "The {verb} operation against configmaps could not be completed at this time, please try again."
                ),
            );
        }
        check(
            Error::Corrupt {
                key: key(),
                message: "bad".to_owned(),
            },
            Op::Get,
            500,
            StatusReason::InternalError,
            r#"Internal error occurred: corrupt storage data at "/registry/configmaps/ns/x": bad"#,
        );
        check(
            StatusError::bad_request("nope").into(),
            Op::List,
            400,
            StatusReason::BadRequest,
            "nope",
        );
    }
}
