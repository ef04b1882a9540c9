//! coordination.k8s.io/v1 `leases` (Go:
//! `pkg/registry/coordination/lease/strategy.go` and `ValidateLeaseSpec`).

use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation;
use kapi_storage::registry::Strategy;
use serde_json::Value;

use super::meta_errors;

/// Leases (Go: `lease.leaseStrategy`): namespaced, DNS-1123 subdomain
/// names, created on update, updates must name a resourceVersion.
#[derive(Debug)]
pub(super) struct LeaseStrategy;

impl Strategy for LeaseStrategy {
    fn namespace_scoped(&self) -> bool {
        true
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = meta_errors(object, true, validation::name_is_dns_subdomain);
        errs.extend(validate_spec(&object["spec"]));
        errs
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> ErrorList {
        validate_spec(&new["spec"])
    }
}

/// Go's `ValidateLeaseSpec`: a positive duration, non-negative transitions.
fn validate_spec(spec: &Value) -> ErrorList {
    let path = Path::new("spec");
    let mut errs = ErrorList::new();
    if let Some(duration) = spec["leaseDurationSeconds"].as_i64()
        && duration <= 0
    {
        errs.push(Error::invalid(
            &path.child("leaseDurationSeconds"),
            duration,
            "must be greater than 0",
        ));
    }
    if let Some(transitions) = spec["leaseTransitions"].as_i64()
        && transitions < 0
    {
        errs.push(Error::invalid(
            &path.child("leaseTransitions"),
            transitions,
            "must be greater than or equal to 0",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_rules() {
        let check = |spec: Value, expected: &[&str]| {
            let lease = json!({"metadata": {"name": "l", "namespace": "n"}, "spec": spec});
            let messages: Vec<String> = LeaseStrategy
                .validate(&lease)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(messages, expected, "{lease}");
        };
        check(
            json!({"holderIdentity": "a", "leaseDurationSeconds": 15}),
            &[],
        );
        check(
            json!({"leaseDurationSeconds": 0}),
            &["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
        );
        check(
            json!({"leaseTransitions": -1}),
            &["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
        );
    }
}
