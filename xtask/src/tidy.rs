//! `cargo xtask tidy`: the tree's own rules, checked from the files.
//!
//! Three checks, each reporting every offender with a fix: every Rust file
//! opens with a `//!` paragraph ([`file_docs`]), every member's manifest
//! follows the workspace conventions ([`manifests`]), and the internal
//! dependency graph stays inside the layering written in
//! `docs/ARCHITECTURE.md` ([`layering`]). The same checks run as a unit test
//! so `cargo test -p xtask` (and so CI's test step) catches violations.

mod file_docs;
mod layering;
mod manifests;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// One violation of a tidy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Where: a path relative to the root, with `:line` where known.
    pub(crate) location: String,
    /// What is wrong.
    pub(crate) message: String,
    /// What to do about it.
    pub(crate) fix: String,
}

impl Problem {
    pub(crate) fn new(
        location: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            location: location.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}\n    fix: {}",
            self.location, self.message, self.fix
        )
    }
}

/// A workspace member as `cargo metadata` describes it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The package name.
    pub(crate) name: String,
    /// The package directory relative to the root, with `/` separators.
    pub(crate) dir: String,
    /// Absolute path of its Cargo.toml.
    pub(crate) manifest: PathBuf,
    /// Package names of its normal (not dev, not build) dependencies.
    pub(crate) normal_deps: Vec<String>,
}

/// Runs every tidy check over the tree at `root` and prints the problems.
pub(crate) fn run_and_report(root: &Path) -> anyhow::Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        println!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("tidy found {} problem(s)", problems.len());
}

/// Runs every tidy check over the tree at `root`.
///
/// Errors only when the tree cannot be read; violations are the `Ok` list.
pub(crate) fn check(root: &Path) -> anyhow::Result<Vec<Problem>> {
    let members = load_members(root)?;
    let mut problems = file_docs::check(root)?;
    problems.extend(manifests::check(&members)?);
    problems.extend(layering::check_tree(root, &members)?);
    Ok(problems)
}

/// Reads the workspace members with `cargo metadata --no-deps`.
fn load_members(root: &Path) -> anyhow::Result<Vec<Member>> {
    let mut cmd = crate::cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root);
    let output = cmd.output().context("running `cargo metadata`")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata --format-version 1 --no-deps` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("parsing `cargo metadata` output")?;
    parse_members(root, &metadata)
}

fn parse_members(root: &Path, metadata: &serde_json::Value) -> anyhow::Result<Vec<Member>> {
    let packages = metadata["packages"]
        .as_array()
        .context("metadata has no `packages`")?;
    let mut members = Vec::new();
    for package in packages {
        let name = package["name"]
            .as_str()
            .context("package without a name")?
            .to_owned();
        let manifest = PathBuf::from(
            package["manifest_path"]
                .as_str()
                .context("package without a manifest_path")?,
        );
        let dir = manifest
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .with_context(|| format!("{} is outside {}", manifest.display(), root.display()))?;
        let dir = dir
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>();
        let normal_deps = package["dependencies"]
            .as_array()
            .map(|deps| {
                deps.iter()
                    .filter(|dep| dep["kind"].is_null())
                    .filter_map(|dep| dep["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        members.push(Member {
            name,
            dir: dir.join("/"),
            manifest,
            normal_deps,
        });
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree itself must be tidy: this is how CI's test step runs tidy.
    #[test]
    fn the_tree_is_tidy() {
        let problems = check(&crate::project_root()).expect("tidy could read the tree");
        let report: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            problems.is_empty(),
            "tidy found problems:\n{}",
            report.join("\n")
        );
    }

    #[test]
    fn the_real_workspace_is_read() {
        let members = load_members(&crate::project_root()).unwrap();
        let find = |name: &str| members.iter().find(|m| m.name == name);
        let xtask = find("xtask").expect("xtask is a member");
        assert_eq!(xtask.dir, "xtask");
        assert!(
            xtask.normal_deps.iter().any(|d| d == "toml"),
            "{:?}",
            xtask.normal_deps
        );
        let core = find("kapi-core").expect("kapi-core is a member");
        assert_eq!(core.dir, "crates/core");
        // Against an empty layering every crate under crates/ is missing.
        let problems = layering::check(&layering::Layering::new(), &members);
        let under_crates = members
            .iter()
            .filter(|m| m.dir.starts_with("crates/"))
            .count();
        assert_eq!(problems.len(), under_crates, "{problems:?}");
    }

    #[test]
    fn members_come_from_metadata() {
        let root = Path::new("/r");
        let metadata = serde_json::json!({"packages": [
            {"name": "kapi-mux", "manifest_path": "/r/crates/mux/Cargo.toml", "dependencies": [
                {"name": "kapi-core", "kind": null, "path": "/r/crates/core"},
                {"name": "tokio", "kind": "dev"},
                {"name": "cc", "kind": "build"},
                {"name": "http", "kind": null},
            ]},
            {"name": "kapi-core", "manifest_path": "/r/crates/core/Cargo.toml", "dependencies": []},
        ]});
        let members = parse_members(root, &metadata).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].name, "kapi-core");
        assert_eq!(members[1].dir, "crates/mux");
        assert_eq!(members[1].normal_deps, ["kapi-core", "http"]);
    }
}
