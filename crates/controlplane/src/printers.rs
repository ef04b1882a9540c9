//! The `Table` columns `kubectl get` shows for the built-in resources
//! (`NAME DATA AGE` for configmaps, `NAME TYPE DATA AGE` for secrets, …),
//! computed server-side as kube-apiserver's printers do.
//!
//! Mirrors the column definitions and print functions of
//! `k8s.io/kubernetes/pkg/printers/internalversion/printers.go` for the
//! resources `kapi serve` has. Events keep Go's default `Name`/`Created At`
//! convertor for now.

use std::sync::Arc;

use kapi_endpoints::{ColumnDefinition, TableConvertor, age};
use serde_json::{Value, json};

/// The printer of `kind` in `group`, if kube-apiserver has one that kapi
/// carries over.
pub(crate) fn printer(group: &str, kind: &str) -> Option<Arc<dyn TableConvertor>> {
    let printer = match (group, kind) {
        ("", "ConfigMap") => Printer::ConfigMap,
        ("", "Secret") => Printer::Secret,
        ("", "Namespace") => Printer::Namespace,
        ("", "ServiceAccount") => Printer::ServiceAccount,
        ("coordination.k8s.io", "Lease") => Printer::Lease,
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => Printer::Role,
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => Printer::Binding,
        _ => return None,
    };
    Some(Arc::new(printer))
}

/// One built-in printer.
#[derive(Debug, Clone, Copy)]
enum Printer {
    ConfigMap,
    Secret,
    Namespace,
    ServiceAccount,
    Lease,
    Role,
    Binding,
}

impl TableConvertor for Printer {
    fn columns(&self) -> Vec<ColumnDefinition> {
        let string =
            |name: &str, description: &str| ColumnDefinition::new(name, "string", description);
        let mut columns = vec![ColumnDefinition::name()];
        match self {
            Self::ConfigMap => columns.extend([
                string("Data", "Data contains the configuration data."),
                ColumnDefinition::age(),
            ]),
            Self::Secret => columns.extend([
                string("Type", "Used to facilitate programmatic handling of secret data."),
                string("Data", "Data contains the secret data."),
                ColumnDefinition::age(),
            ]),
            Self::Namespace => columns.extend([
                string("Status", "The status of the namespace"),
                ColumnDefinition::age(),
            ]),
            Self::ServiceAccount => columns.extend([
                string("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
                ColumnDefinition::age(),
            ]),
            Self::Lease => columns.extend([
                string("Holder", "The holder of the lease"),
                ColumnDefinition::age(),
            ]),
            Self::Role => columns.push(ColumnDefinition::new(
                "Created At",
                "date",
                "CreationTimestamp is a timestamp representing the server time when this object was created.",
            )),
            Self::Binding => columns.extend([
                string("Role", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
                ColumnDefinition::age(),
                string("Users", "Users in the roleBinding").wide(),
                string("Groups", "Groups in the roleBinding").wide(),
                string("ServiceAccounts", "ServiceAccounts in the roleBinding").wide(),
            ]),
        }
        columns
    }

    fn cells(&self, object: &Value) -> Vec<Value> {
        let name = object["metadata"]["name"].clone();
        let count = |field: &str| object[field].as_object().map_or(0, |m| m.len());
        match self {
            // Go counts `data` and `binaryData` keys.
            Self::ConfigMap => vec![
                name,
                json!(count("data") + count("binaryData")),
                age(object),
            ],
            Self::Secret => vec![
                name,
                json!(object["type"].as_str().unwrap_or("Opaque")),
                json!(count("data")),
                age(object),
            ],
            Self::Namespace => vec![
                name,
                json!(object["status"]["phase"].as_str().unwrap_or_default()),
                age(object),
            ],
            Self::ServiceAccount => vec![
                name,
                json!(object["secrets"].as_array().map_or(0, Vec::len)),
                age(object),
            ],
            Self::Lease => vec![
                name,
                json!(
                    object["spec"]["holderIdentity"]
                        .as_str()
                        .unwrap_or_default()
                ),
                age(object),
            ],
            Self::Role => vec![name, object["metadata"]["creationTimestamp"].clone()],
            Self::Binding => {
                let role = &object["roleRef"];
                let role = format!(
                    "{}/{}",
                    role["kind"].as_str().unwrap_or_default(),
                    role["name"].as_str().unwrap_or_default()
                );
                let (users, groups, accounts) = subjects(object);
                vec![
                    name,
                    json!(role),
                    age(object),
                    json!(users),
                    json!(groups),
                    json!(accounts),
                ]
            }
        }
    }
}

/// A binding's users, groups and `namespace/name` service accounts, each
/// comma-separated (Go: `rbac.SubjectsStrings`).
fn subjects(object: &Value) -> (String, String, String) {
    let (mut users, mut groups, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in object["subjects"].as_array().into_iter().flatten() {
        let name = subject["name"].as_str().unwrap_or_default();
        match subject["kind"].as_str().unwrap_or_default() {
            "User" => users.push(name.to_owned()),
            "Group" => groups.push(name.to_owned()),
            "ServiceAccount" => {
                let namespace = subject["namespace"].as_str().unwrap_or_default();
                accounts.push(format!("{namespace}/{name}"));
            }
            _ => {}
        }
    }
    (users.join(", "), groups.join(", "), accounts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers and cells of `kind`'s printer for `object`.
    fn check(group: &str, kind: &str, object: Value, headers: &[&str], cells: Value) {
        let printer = printer(group, kind).unwrap();
        let names: Vec<String> = printer.columns().into_iter().map(|c| c.name).collect();
        assert_eq!(names, headers, "{kind}");
        let mut got = printer.cells(&object);
        assert_eq!(got.len(), headers.len(), "{kind}");
        if let Some(i) = headers.iter().position(|h| *h == "Age") {
            assert!(got[i].as_str().unwrap().ends_with('s') || got[i] == "<unknown>");
            got[i] = json!("AGE");
        }
        assert_eq!(Value::Array(got), cells, "{kind}");
    }

    #[test]
    fn builtin_printers() {
        let meta = json!({"name": "x", "creationTimestamp": "2020-01-01T00:00:00Z"});
        check(
            "",
            "ConfigMap",
            json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}}),
            &["Name", "Data", "Age"],
            json!(["x", 3, "AGE"]),
        );
        check(
            "",
            "Secret",
            json!({"metadata": {"name": "x"}, "type": "kubernetes.io/tls", "data": {"a": ""}}),
            &["Name", "Type", "Data", "Age"],
            json!(["x", "kubernetes.io/tls", 1, "AGE"]),
        );
        check(
            "",
            "Namespace",
            json!({"metadata": {"name": "x"}, "status": {"phase": "Active"}}),
            &["Name", "Status", "Age"],
            json!(["x", "Active", "AGE"]),
        );
        check(
            "",
            "ServiceAccount",
            json!({"metadata": {"name": "x"}, "secrets": [{"name": "s"}]}),
            &["Name", "Secrets", "Age"],
            json!(["x", 1, "AGE"]),
        );
        check(
            "coordination.k8s.io",
            "Lease",
            json!({"metadata": {"name": "x"}, "spec": {"holderIdentity": "me"}}),
            &["Name", "Holder", "Age"],
            json!(["x", "me", "AGE"]),
        );
        check(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            json!({"metadata": meta}),
            &["Name", "Created At"],
            json!(["x", "2020-01-01T00:00:00Z"]),
        );
        check(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"metadata": {"name": "x"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "u"}, {"kind": "Group", "name": "g"}, {"kind": "User", "name": "v"}, {"kind": "ServiceAccount", "namespace": "ns", "name": "sa"}]}),
            &["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
            json!(["x", "ClusterRole/view", "AGE", "u, v", "g", "ns/sa"]),
        );
        assert!(printer("events.k8s.io", "Event").is_none());
    }
}
