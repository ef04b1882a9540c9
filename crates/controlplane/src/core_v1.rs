//! core/v1 `serviceaccounts` and `events` (Go:
//! `pkg/registry/core/{serviceaccount,event}/strategy.go` and the legacy
//! path of `ValidateEventCreate`).

use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation;
use kapi_storage::registry::Strategy;
use serde_json::Value;

use super::{max_length, meta_errors};

/// ServiceAccounts (Go: `serviceaccount.strategy`): namespaced, DNS-1123
/// subdomain names, no create on update, unconditional updates allowed.
#[derive(Debug)]
pub(super) struct ServiceAccountStrategy;

impl Strategy for ServiceAccountStrategy {
    fn namespace_scoped(&self) -> bool {
        true
    }

    fn allow_create_on_update(&self) -> bool {
        false
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }
}

/// Events of either API (Go: `event.eventStrategy`): namespaced, DNS-1123
/// subdomain names, created on update, unconditional updates allowed; the
/// function holds what each API checks of the event itself.
#[derive(Debug)]
pub(super) struct EventStrategy(pub(super) fn(&Value) -> ErrorList);

/// core/v1 Events.
pub(super) const CORE_EVENTS: EventStrategy = EventStrategy(validate_event);

impl Strategy for EventStrategy {
    fn namespace_scoped(&self) -> bool {
        true
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = meta_errors(object, true, validation::name_is_dns_subdomain);
        errs.extend((self.0)(object));
        errs
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> ErrorList {
        (self.0)(new)
    }
}

/// The checks Go applies to events written through core/v1: the involved
/// object in the event's namespace, and the length limits.
fn validate_event(event: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let involved = event["involvedObject"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let namespace = event["metadata"]["namespace"].as_str().unwrap_or_default();
    if !involved.is_empty() && involved != namespace {
        errs.push(Error::invalid(
            &Path::new("involvedObject").child("namespace"),
            involved,
            "does not match event.namespace",
        ));
    }
    for (field, max) in [
        ("reportingInstance", 128),
        ("action", 128),
        ("reason", 128),
        ("message", 1024),
    ] {
        errs.extend(max_length(event, field, max));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_validation_messages() {
        let check = |event: Value, expected: &[&str]| {
            let messages: Vec<String> = CORE_EVENTS
                .validate(&event)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(messages, expected, "{event}");
        };
        let meta = json!({"name": "pod.1", "namespace": "default"});
        check(
            json!({"metadata": meta, "involvedObject": {"kind": "Pod", "namespace": "default"}}),
            &[],
        );
        check(
            json!({"metadata": meta, "involvedObject": {"namespace": "other"}}),
            &["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"],
        );
        check(
            json!({"metadata": meta, "reason": "x".repeat(129)}),
            &["reason: Invalid value: \"\": can have at most 128 characters"],
        );
    }

    #[test]
    fn service_account_names_are_dns_subdomains() {
        let valid = |name: &str| (ServiceAccountStrategy.name_validator())(name, false).is_empty();
        assert!(valid("builder.ci"));
        assert!(!valid("Builder"));
    }
}
