//! `FieldSet`: a set of field paths stored as a tree, with the set algebra
//! server-side apply is built on (union, intersection, the two differences)
//! and iteration in structured-merge-diff's order.
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/fieldpath` (`Set`,
//! `SetNodeMap`, `PathElementSet`), including its quirks: a difference
//! removes members and nested members but a member of the right-hand side
//! does not remove the left-hand side's children (only
//! [`FieldSet::recursive_difference`] does).

use std::cmp::Ordering;
use std::fmt;

use crate::path::{Path, PathElement};

/// A set of field paths (Go: `fieldpath.Set`).
///
/// `members` are the elements of this level that belong to the set;
/// `children` hold the sets below an element. An element may be both a
/// member and have children (a field owned as a whole whose sub-fields are
/// also listed, written `.` in FieldsV1).
#[derive(Debug, Clone, Default)]
pub struct FieldSet {
    pub(crate) members: Vec<PathElement>,
    pub(crate) children: Vec<(PathElement, FieldSet)>,
}

impl PartialEq for FieldSet {
    fn eq(&self, other: &Self) -> bool {
        self.members == other.members && self.children == other.children
    }
}

impl Eq for FieldSet {}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding the given paths.
    pub fn from_paths<I: IntoIterator<Item = Path>>(paths: I) -> Self {
        let mut set = Self::new();
        for path in paths {
            set.insert(&path);
        }
        set
    }

    /// Adds a path; its parents are not added. The empty path is ignored
    /// (nobody owns the whole object).
    pub fn insert(&mut self, path: &Path) {
        let Some((last, parents)) = path.0.split_last() else {
            return;
        };
        let mut node = self;
        for pe in parents {
            node = node.descend(pe.clone());
        }
        insert_sorted(&mut node.members, last.clone());
    }

    /// Whether the path is a member of the set.
    pub fn has(&self, path: &Path) -> bool {
        let Some((last, parents)) = path.0.split_last() else {
            return false;
        };
        let mut node = self;
        for pe in parents {
            match node.child(pe) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.members.binary_search(last).is_ok()
    }

    /// Whether no path is a member of the set.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.iter().all(|(_, s)| s.is_empty())
    }

    /// The number of member paths.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.iter().map(|(_, s)| s.len()).sum::<usize>()
    }

    /// The subset of paths that start with `pe`, without `pe` (Go:
    /// `WithPrefix`); empty if there is none.
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.child(pe).cloned().unwrap_or_default()
    }

    /// Every member path, parents' members before their children's (Go:
    /// `Iterate`).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(Path(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            members: merge_sorted(&self.members, &other.members, Op::Union),
            children: children_union(&self.children, &other.children),
        }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            members: merge_sorted(&self.members, &other.members, Op::Intersection),
            children: children_intersection(&self.children, &other.children),
        }
    }

    /// Paths of `self` that are not in `other` (Go: `Difference`): a member
    /// of `other` does not remove `self`'s paths below it.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            members: merge_sorted(&self.members, &other.members, Op::Difference),
            children: children_difference(&self.children, other),
        }
    }

    /// Paths of `self` that are neither in `other` nor below a member of
    /// `other` (Go: `RecursiveDifference`).
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| other.members.binary_search(pe).is_err())
            .filter_map(|(pe, set)| match other.child(pe) {
                None => Some((pe.clone(), set.clone())),
                Some(o) => {
                    let diff = set.recursive_difference(o);
                    (!diff.is_empty()).then(|| (pe.clone(), diff))
                }
            })
            .collect();
        FieldSet {
            members: merge_sorted(&self.members, &other.members, Op::Difference),
            children,
        }
    }

    /// The set with only its leaves: members that have no children (Go:
    /// `Leaves`).
    pub fn leaves(&self) -> FieldSet {
        FieldSet {
            members: self
                .members
                .iter()
                .filter(|m| self.child(m).is_none())
                .cloned()
                .collect(),
            children: self
                .children
                .iter()
                .map(|(pe, s)| (pe.clone(), s.leaves()))
                .collect(),
        }
    }

    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children
            .binary_search_by(|(k, _)| k.cmp(pe))
            .ok()
            .map(|i| &self.children[i].1)
    }

    /// The child set under `pe`, created empty if missing (Go: `Descend`).
    pub(crate) fn descend(&mut self, pe: PathElement) -> &mut FieldSet {
        let i = match self.children.binary_search_by(|(k, _)| k.cmp(&pe)) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (pe, FieldSet::new()));
                i
            }
        };
        &mut self.children[i].1
    }
}

impl fmt::Display for FieldSet {
    /// One path per line (Go: `Set.String`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.paths().iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

pub(crate) fn insert_sorted(members: &mut Vec<PathElement>, pe: PathElement) {
    if let Err(i) = members.binary_search(&pe) {
        members.insert(i, pe);
    }
}

#[derive(Clone, Copy)]
enum Op {
    Union,
    Intersection,
    Difference,
}

fn merge_sorted(lhs: &[PathElement], rhs: &[PathElement], op: Op) -> Vec<PathElement> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < lhs.len() && j < rhs.len() {
        match lhs[i].cmp(&rhs[j]) {
            Ordering::Less => {
                if !matches!(op, Op::Intersection) {
                    out.push(lhs[i].clone());
                }
                i += 1;
            }
            Ordering::Greater => {
                if matches!(op, Op::Union) {
                    out.push(rhs[j].clone());
                }
                j += 1;
            }
            Ordering::Equal => {
                if !matches!(op, Op::Difference) {
                    out.push(lhs[i].clone());
                }
                i += 1;
                j += 1;
            }
        }
    }
    if !matches!(op, Op::Intersection) {
        out.extend_from_slice(&lhs[i..]);
    }
    if matches!(op, Op::Union) {
        out.extend_from_slice(&rhs[j..]);
    }
    out
}

type Children = Vec<(PathElement, FieldSet)>;

fn children_union(lhs: &Children, rhs: &Children) -> Children {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < lhs.len() && j < rhs.len() {
        match lhs[i].0.cmp(&rhs[j].0) {
            Ordering::Less => {
                out.push(lhs[i].clone());
                i += 1;
            }
            Ordering::Greater => {
                out.push(rhs[j].clone());
                j += 1;
            }
            Ordering::Equal => {
                out.push((lhs[i].0.clone(), lhs[i].1.union(&rhs[j].1)));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&lhs[i..]);
    out.extend_from_slice(&rhs[j..]);
    out
}

fn children_intersection(lhs: &Children, rhs: &Children) -> Children {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < lhs.len() && j < rhs.len() {
        match lhs[i].0.cmp(&rhs[j].0) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                let res = lhs[i].1.intersection(&rhs[j].1);
                if !res.is_empty() {
                    out.push((lhs[i].0.clone(), res));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn children_difference(lhs: &Children, rhs: &FieldSet) -> Children {
    lhs.iter()
        .filter_map(|(pe, set)| match rhs.child(pe) {
            None => Some((pe.clone(), set.clone())),
            Some(other) => {
                let diff = set.difference(other);
                (!diff.is_empty()).then(|| (pe.clone(), diff))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(names: &[&str]) -> Path {
        Path::fields(names.iter().copied())
    }

    fn set(paths: &[&[&str]]) -> FieldSet {
        FieldSet::from_paths(paths.iter().map(|names| p(names)))
    }

    #[test]
    fn algebra() {
        let a = set(&[&["a"], &["b", "c"], &["b", "d"]]);
        let b = set(&[&["b", "c"], &["e"]]);
        assert_eq!(
            a.union(&b),
            set(&[&["a"], &["e"], &["b", "c"], &["b", "d"]])
        );
        assert_eq!(a.intersection(&b), set(&[&["b", "c"]]));
        assert_eq!(a.difference(&b), set(&[&["a"], &["b", "d"]]));
        assert!(a.has(&p(&["b", "d"])));
        assert!(!a.has(&p(&["b"])));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn member_of_rhs_removes_children_only_recursively() {
        let a = set(&[&["a", "b", "c"]]);
        let b = set(&[&["a", "b"]]);
        assert_eq!(a.difference(&b), a);
        assert_eq!(a.recursive_difference(&b), FieldSet::new());
        // parent - child = parent
        assert_eq!(b.difference(&a), b);
    }

    #[test]
    fn iteration_lists_members_before_children() {
        let mut s = set(&[&["b", "x"], &["a"], &["c"]]);
        s.insert(&Path(vec![
            PathElement::Field("l".into()),
            PathElement::key([("name", json!("x"))]),
        ]));
        let paths: Vec<String> = s.paths().iter().map(ToString::to_string).collect();
        assert_eq!(paths, [".a", ".c", ".b.x", r#".l[name="x"]"#]);
    }
}
