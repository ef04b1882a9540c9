//! Field paths: the elements that select a child of a map, an associative
//! list (by key fields or by value) or an atomic list (by index), their
//! total order and the way paths print in conflict messages
//! (`.spec.containers[name="nginx"].image`).
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/fieldpath`
//! (`PathElement`, `Path`).

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::value;

/// One step of a [`Path`] (Go: `fieldpath.PathElement`).
///
/// Elements order as structured-merge-diff orders them: field names first,
/// then keys, values and indexes.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of a map or struct: `f:<name>`.
    Field(String),
    /// An element of an associative list, selected by its key fields sorted
    /// by name: `k:{"name":"x"}`.
    Key(Vec<(String, Value)>),
    /// An element of a set (an associative list of scalars): `v:<json>`.
    Value(Value),
    /// An element of an atomic list, by position: `i:<n>`.
    Index(usize),
}

impl PathElement {
    /// A key element from `(name, value)` pairs; the pairs are sorted by name.
    pub fn key<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        let mut fields: Vec<(String, Value)> =
            fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        sort_key_fields(&mut fields);
        Self::Key(fields)
    }

    fn kind_rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }
}

/// Sorts key fields by name, keeping the order of equal names (Go:
/// `FieldList.Sort`).
pub(crate) fn sort_key_fields(fields: &mut [(String, Value)]) {
    fields.sort_by(|a, b| a.0.cmp(&b.0));
}

fn compare_key_fields(lhs: &[(String, Value)], rhs: &[(String, Value)]) -> Ordering {
    for ((ln, lv), (rn, rv)) in lhs.iter().zip(rhs) {
        let c = ln.cmp(rn).then_with(|| value::compare(lv, rv));
        if c != Ordering::Equal {
            return c;
        }
    }
    lhs.len().cmp(&rhs.len())
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.cmp(b),
            (Self::Key(a), Self::Key(b)) => compare_key_fields(a, b),
            (Self::Value(a), Self::Value(b)) => value::compare(a, b),
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
            _ => self.kind_rank().cmp(&other.kind_rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl fmt::Display for PathElement {
    /// `.name`, `[key=value,...]`, `[=value]` or `[index]` (Go:
    /// `PathElement.String`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value::to_go_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            Self::Value(v) => write!(f, "[={}]", value::to_go_string(v)),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path from the root of an object to one of its fields (Go:
/// `fieldpath.Path`). The empty path is the whole object.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// A path of field names: `Path::fields(["spec", "replicas"])`.
    pub fn fields<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(
            names
                .into_iter()
                .map(|n| PathElement::Field(n.into()))
                .collect(),
        )
    }

    /// The elements of the path.
    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }
}

impl fmt::Display for Path {
    /// The elements printed one after the other: `.spec.containers[name="x"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

impl From<Vec<PathElement>> for Path {
    fn from(elements: Vec<PathElement>) -> Self {
        Self(elements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_print_as_go() {
        let path = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::key([("name", json!("nginx"))]),
            PathElement::Field("ports".into()),
            PathElement::key([("protocol", json!("TCP")), ("containerPort", json!(80))]),
            PathElement::Field("finalizers".into()),
            PathElement::Value(json!("a")),
            PathElement::Index(3),
        ]);
        assert_eq!(
            path.to_string(),
            r#".spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"].finalizers[="a"][3]"#
        );
    }

    #[test]
    fn elements_order_by_kind_then_content() {
        let ordered = [
            PathElement::Field("a".into()),
            PathElement::Field("b".into()),
            PathElement::key([("name", json!("a"))]),
            PathElement::key([("name", json!("a")), ("x", json!(1))]),
            PathElement::key([("port", json!(9))]),
            PathElement::key([("port", json!(10))]),
            PathElement::Value(json!(3)),
            PathElement::Value(json!(3.25)),
            PathElement::Value(json!(false)),
            PathElement::Index(0),
            PathElement::Index(10),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }
}
