//! rbac.authorization.k8s.io/v1 `roles`, `rolebindings`, `clusterroles`
//! and `clusterrolebindings`, stored and served without enforcement (Go:
//! `pkg/registry/rbac/*/strategy.go` and `pkg/apis/rbac/validation`).

use kapi_core::field::{Error, ErrorList, Path};
use kapi_core::validation;
use kapi_storage::registry::Strategy;
use serde_json::Value;

use super::meta_errors;

/// The RBAC API group.
pub(super) const GROUP: &str = "rbac.authorization.k8s.io";

/// Roles and ClusterRoles (Go: `role.strategy`, `clusterrole.strategy`):
/// path-segment names, created on update, unconditional updates allowed.
#[derive(Debug)]
pub(super) struct RoleStrategy {
    /// Whether this is `roles` (true) or `clusterroles`.
    pub(super) namespaced: bool,
}

impl Strategy for RoleStrategy {
    fn namespace_scoped(&self) -> bool {
        self.namespaced
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn name_validator(&self) -> validation::NameValidator {
        validation::path_segment_name
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = meta_errors(object, self.namespaced, validation::path_segment_name);
        errs.extend(self.validate_rules(object));
        errs
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> ErrorList {
        self.validate_rules(new)
    }
}

impl RoleStrategy {
    /// Go's `ValidatePolicyRule` for each of `rules`.
    fn validate_rules(&self, role: &Value) -> ErrorList {
        let mut errs = ErrorList::new();
        let rules = role["rules"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (index, rule) in rules.iter().enumerate() {
            let path = Path::new("rules").index(index);
            let list = |field: &str| rule[field].as_array().map(Vec::len).unwrap_or_default();
            if list("verbs") == 0 {
                errs.push(Error::required(
                    &path.child("verbs"),
                    "verbs must contain at least one value",
                ));
            }
            if list("nonResourceURLs") > 0 {
                let urls = path.child("nonResourceURLs");
                if self.namespaced {
                    errs.push(Error::invalid(
                        &urls,
                        rule["nonResourceURLs"].clone(),
                        "namespaced rules cannot apply to non-resource URLs",
                    ));
                }
                if list("apiGroups") > 0 || list("resources") > 0 {
                    errs.push(Error::invalid(
                        &urls,
                        rule["nonResourceURLs"].clone(),
                        "rules cannot apply to both regular resources and non-resource URLs",
                    ));
                }
                continue;
            }
            if list("apiGroups") == 0 {
                errs.push(Error::required(
                    &path.child("apiGroups"),
                    "resource rules must supply at least one api group",
                ));
            }
            if list("resources") == 0 {
                errs.push(Error::required(
                    &path.child("resources"),
                    "resource rules must supply at least one resource",
                ));
            }
        }
        errs
    }
}

/// RoleBindings and ClusterRoleBindings (Go: `rolebinding.strategy`,
/// `clusterrolebinding.strategy`): path-segment names, created on update,
/// unconditional updates allowed, `roleRef` immutable.
#[derive(Debug)]
pub(super) struct BindingStrategy {
    /// Whether this is `rolebindings` (true) or `clusterrolebindings`.
    pub(super) namespaced: bool,
}

impl Strategy for BindingStrategy {
    fn namespace_scoped(&self) -> bool {
        self.namespaced
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn allow_unconditional_update(&self) -> bool {
        true
    }

    fn name_validator(&self) -> validation::NameValidator {
        validation::path_segment_name
    }

    fn validate(&self, object: &Value) -> ErrorList {
        let mut errs = meta_errors(object, self.namespaced, validation::path_segment_name);
        errs.extend(self.validate_binding(object));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> ErrorList {
        let mut errs = self.validate_binding(new);
        if new["roleRef"] != old["roleRef"] {
            errs.push(Error::invalid(
                &Path::new("roleRef"),
                new["roleRef"].clone(),
                "cannot change roleRef",
            ));
        }
        errs
    }
}

impl BindingStrategy {
    /// Go's `ValidateRoleBinding` / `ValidateClusterRoleBinding` without
    /// the metadata.
    fn validate_binding(&self, binding: &Value) -> ErrorList {
        let mut errs = ErrorList::new();
        let role_ref = &binding["roleRef"];
        let path = Path::new("roleRef");
        let text =
            |value: &Value, field: &str| value[field].as_str().unwrap_or_default().to_owned();
        let api_group = text(role_ref, "apiGroup");
        if api_group != GROUP {
            errs.push(Error::not_supported(
                &path.child("apiGroup"),
                api_group,
                &[GROUP],
            ));
        }
        let kind = text(role_ref, "kind");
        let kinds: &[&str] = if self.namespaced {
            &["Role", "ClusterRole"]
        } else {
            &["ClusterRole"]
        };
        if !kinds.contains(&kind.as_str()) {
            errs.push(Error::not_supported(&path.child("kind"), kind, kinds));
        }
        let name = text(role_ref, "name");
        if name.is_empty() {
            errs.push(Error::required(&path.child("name"), ""));
        } else {
            for message in validation::path_segment_name(&name, false) {
                errs.push(Error::invalid(&path.child("name"), name.clone(), message));
            }
        }
        let subjects = binding["subjects"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (index, subject) in subjects.iter().enumerate() {
            let path = Path::new("subjects").index(index);
            let name = text(subject, "name");
            if name.is_empty() {
                errs.push(Error::required(&path.child("name"), ""));
            }
            let api_group = text(subject, "apiGroup");
            match text(subject, "kind").as_str() {
                "ServiceAccount" => {
                    if !name.is_empty() {
                        for message in validation::name_is_dns_subdomain(&name, false) {
                            errs.push(Error::invalid(&path.child("name"), name.clone(), message));
                        }
                    }
                    if !api_group.is_empty() {
                        errs.push(Error::not_supported(
                            &path.child("apiGroup"),
                            api_group,
                            &[""],
                        ));
                    }
                    if !self.namespaced && text(subject, "namespace").is_empty() {
                        errs.push(Error::required(&path.child("namespace"), ""));
                    }
                }
                "User" | "Group" => {
                    if api_group != GROUP {
                        errs.push(Error::not_supported(
                            &path.child("apiGroup"),
                            api_group,
                            &[GROUP],
                        ));
                    }
                }
                other => errs.push(Error::not_supported(
                    &path.child("kind"),
                    other,
                    &["ServiceAccount", "User", "Group"],
                )),
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(errs: ErrorList) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn policy_rules() {
        let check = |namespaced: bool, rule: Value, expected: &[&str]| {
            let role = json!({"metadata": {"name": "r", "namespace": "n"}, "rules": [rule]});
            let role = if namespaced {
                role
            } else {
                json!({"metadata": {"name": "r"}, "rules": role["rules"]})
            };
            let errs = RoleStrategy { namespaced }.validate(&role);
            assert_eq!(messages(errs), expected, "{role}");
        };
        check(
            true,
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
            &[],
        );
        check(
            true,
            json!({"verbs": []}),
            &[
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
            ],
        );
        check(
            false,
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}),
            &[],
        );
        check(
            true,
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}),
            &[
                "rules[0].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs",
            ],
        );
    }

    #[test]
    fn bindings() {
        let check = |namespaced: bool, binding: Value, expected: &[&str]| {
            let errs = BindingStrategy { namespaced }.validate(&binding);
            assert_eq!(messages(errs), expected, "{binding}");
        };
        let user = json!({"kind": "User", "apiGroup": GROUP, "name": "jane"});
        let view = json!({"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"});
        check(
            false,
            json!({"metadata": {"name": "b"}, "roleRef": view, "subjects": [user]}),
            &[],
        );
        check(
            false,
            json!({"metadata": {"name": "b"}, "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "x"},
                   "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
            &[
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
            ],
        );
        check(
            true,
            json!({"metadata": {"name": "b", "namespace": "n"}, "roleRef": {"kind": "Role"},
                   "subjects": [{"kind": "Robot", "name": "r"}]}),
            &[
                "roleRef.apiGroup: Unsupported value: \"\": supported values: \"rbac.authorization.k8s.io\"",
                "roleRef.name: Required value",
                "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ],
        );
        let old = json!({"metadata": {"name": "b"}, "roleRef": view, "subjects": [user]});
        let mut new = old.clone();
        new["roleRef"]["name"] = json!("edit");
        let errs = BindingStrategy { namespaced: false }.validate_update(&new, &old);
        assert_eq!(messages(errs).len(), 1);
        assert!(
            messages(BindingStrategy { namespaced: false }.validate_update(&new, &old))[0]
                .ends_with("cannot change roleRef")
        );
    }
}
