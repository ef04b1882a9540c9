//! Pruning of fields a structural schema does not specify (Go:
//! `pkg/apiserver/schema/pruning`): unknown object fields are dropped and
//! their paths (`spec.foo`, `spec.items[0].bar`) recorded;
//! `x-kubernetes-preserve-unknown-fields` keeps them below it until a
//! nested `properties` or `additionalProperties` switches pruning back on;
//! `apiVersion`, `kind` and `metadata` of embedded resources (and of the
//! resource root) are left alone.

use serde_json::Value;

use super::model::Node;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Prunes `value` in place (Go: `PruneWithOptions`); `resource_root`
/// treats the top level as an embedded resource. Returns the sorted paths
/// of the dropped fields.
pub(crate) fn prune(value: &mut Value, node: Option<&Node>, resource_root: bool) -> Vec<String> {
    let mut pruner = Pruner::default();
    let embedded = resource_root || node.is_some_and(|n| n.embedded_resource);
    pruner.prune(value, node, embedded, "");
    pruner.unknown.sort();
    pruner.unknown
}

#[derive(Default)]
struct Pruner {
    unknown: Vec<String>,
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Pruner {
    /// `embedded` is the node's `x-kubernetes-embedded-resource`, forced on
    /// for the resource root.
    fn prune(&mut self, value: &mut Value, node: Option<&Node>, embedded: bool, path: &str) {
        if let Some(node) = node
            && node.preserves_unknown()
        {
            self.skip(value, node, embedded, path);
            return;
        }
        match value {
            Value::Object(map) => {
                let Some(node) = node else {
                    for key in map.keys() {
                        self.unknown.push(child_path(path, key));
                    }
                    map.clear();
                    return;
                };
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    if embedded && META_FIELDS.contains(&key.as_str()) {
                        continue;
                    }
                    match node.field(&key) {
                        Some(schema) => {
                            let child_embedded = schema.is_some_and(|s| s.embedded_resource);
                            if let Some(child) = map.get_mut(&key) {
                                self.prune(child, schema, child_embedded, &child_path(path, &key));
                            }
                        }
                        None => {
                            if !META_FIELDS.contains(&key.as_str()) || !path.is_empty() {
                                self.unknown.push(child_path(path, &key));
                            }
                            map.remove(&key);
                        }
                    }
                }
            }
            Value::Array(items) => {
                let item_schema = node.and_then(|n| n.items.as_deref());
                let child_embedded = item_schema.is_some_and(|s| s.embedded_resource);
                for (i, item) in items.iter_mut().enumerate() {
                    self.prune(item, item_schema, child_embedded, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }

    /// Below `x-kubernetes-preserve-unknown-fields`: unknown fields stay,
    /// known ones are pruned by their schemas.
    fn skip(&mut self, value: &mut Value, node: &Node, embedded: bool, path: &str) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if embedded && META_FIELDS.contains(&key.as_str()) {
                        continue;
                    }
                    if let Some(schema) = node.field(key) {
                        let child_embedded = schema.is_some_and(|s| s.embedded_resource);
                        self.prune(child, schema, child_embedded, &child_path(path, key));
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = node.items.as_deref() {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.skip(
                            item,
                            item_schema,
                            item_schema.embedded_resource,
                            &format!("{path}[{i}]"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nil_schema_prunes_everything_below() {
        let node = Node::parse(&json!({
            "type": "object",
            "properties": {"a": {"type": "array"}},
        }));
        let mut value = json!({"a": [{"x": 1}, 2], "kind": "K", "b": 1});
        let unknown = prune(&mut value, Some(&node), false);
        assert_eq!(value, json!({"a": [{}, 2]}));
        assert_eq!(unknown, vec!["a[0].x", "b"]);
    }
}
