//! The `Table` columns `kubectl get` shows for the built-in resources
//! (`NAME DATA AGE` for configmaps, `NAME TYPE DATA AGE` for secrets, …),
//! computed server-side as kube-apiserver's printers do.
//!
//! Mirrors the column definitions and print functions of
//! `k8s.io/kubernetes/pkg/printers/internalversion/printers.go` for the
//! resources `kapi serve` has.

use std::sync::Arc;

use kapi_endpoints::{ColumnDefinition, TableConvertor, age, since};
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
        ("" | "events.k8s.io", "Event") => Printer::Event,
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
    Event,
}

impl TableConvertor for Printer {
    fn columns(&self) -> Vec<ColumnDefinition> {
        let string =
            |name: &str, description: &str| ColumnDefinition::new(name, "string", description);
        if let Self::Event = self {
            // Go's event columns: Name last, wide only.
            let mut name = ColumnDefinition::name();
            name.priority = 1;
            return vec![
                string("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
                string("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
                string("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
                string("Object", "The object that this event is about."),
                string("Subobject", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.").wide(),
                string("Source", "The component reporting this event. Should be a short machine understandable string.").wide(),
                string("Message", "A human-readable description of the status of this operation."),
                string("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)").wide(),
                string("Count", "The number of times this event has occurred.").wide(),
                name,
            ];
        }
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
            Self::Event => {}
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
            Self::Event => event_cells(object),
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

/// An event's cells (Go: `printEvent`), from a core/v1 Event or an
/// events.k8s.io/v1 one (whose fields have their newer names).
fn event_cells(object: &Value) -> Vec<Value> {
    let field = |core: &str, v1: &str| -> &Value {
        match &object[core] {
            Value::Null => &object[v1],
            value => value,
        }
    };
    let text = |core: &str, v1: &str| field(core, v1).as_str().unwrap_or_default().to_owned();
    let timestamp = |value: &Value| value.as_str().filter(|t| !t.is_empty()).map(str::to_owned);
    let first = timestamp(field("firstTimestamp", "deprecatedFirstTimestamp"))
        .or_else(|| timestamp(&object["eventTime"]));
    let first_seen = since(first.as_deref());
    let mut last_seen = match timestamp(field("lastTimestamp", "deprecatedLastTimestamp")) {
        Some(last) => since(Some(&last)),
        None => first_seen.clone(),
    };
    let mut count = field("count", "deprecatedCount").as_i64().unwrap_or(0);
    if let Some(series) = object["series"].as_object() {
        last_seen = since(series.get("lastObservedTime").and_then(Value::as_str));
        count = series.get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let involved = field("involvedObject", "regarding");
    let kind = involved["kind"].as_str().unwrap_or_default().to_lowercase();
    let target = match involved["name"].as_str().filter(|n| !n.is_empty()) {
        Some(name) => format!("{kind}/{name}"),
        None => kind,
    };
    let source = field("source", "deprecatedSource");
    let component = source["component"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map_or_else(
            || text("reportingComponent", "reportingController"),
            str::to_owned,
        );
    let instance = source["host"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map_or_else(
            || text("reportingInstance", "reportingInstance"),
            str::to_owned,
        );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        last_seen,
        json!(text("type", "type")),
        json!(text("reason", "reason")),
        json!(target),
        involved["fieldPath"]
            .clone()
            .as_str()
            .map_or(json!(""), |p| json!(p)),
        json!(source),
        json!(text("message", "note").trim()),
        first_seen,
        json!(count),
        object["metadata"]["name"].clone(),
    ]
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
        let event = json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Started",
            "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
            "source": {"component": "kubelet", "host": "node-1"}, "message": " hi ", "count": 2});
        let headers = [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name",
        ];
        check(
            "",
            "Event",
            event,
            &headers,
            json!([
                "<unknown>",
                "Normal",
                "Started",
                "pod/p",
                "spec.containers{c}",
                "kubelet, node-1",
                "hi",
                "<unknown>",
                2,
                "e"
            ]),
        );
        let v1 = json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Tested",
            "regarding": {"kind": "ConfigMap", "name": "x"}, "note": "n",
            "reportingController": "kapi.io/test", "reportingInstance": "i-1"});
        check(
            "events.k8s.io",
            "Event",
            v1,
            &headers,
            json!([
                "<unknown>",
                "Normal",
                "Tested",
                "configmap/x",
                "",
                "kapi.io/test, i-1",
                "n",
                "<unknown>",
                1,
                "e"
            ]),
        );
    }
}
