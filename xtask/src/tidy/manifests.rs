//! Tidy rule: every workspace member's Cargo.toml follows the conventions.
//!
//! The package is named after its directory (`crates/<dir>` is
//! `kapi-<dir>`, `crates/kapi` is `kapi`, anything else is its directory's
//! name); `version`, `edition` and `license` come from `[workspace.package]`;
//! `[lints] workspace = true`; and every dependency, in every dependency
//! table, is `x.workspace = true` so versions live once in the root.

use std::fs;

use anyhow::Context;
use toml::{Table, Value};

use super::{Member, Problem};

/// Fields every member inherits from `[workspace.package]`.
const INHERITED: [&str; 3] = ["version", "edition", "license"];

/// Dependency tables, at the top level or under `[target.'cfg(..)']`.
const DEP_TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

/// Checks every member's manifest.
pub(super) fn check(members: &[Member]) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for member in members {
        let text = fs::read_to_string(&member.manifest)
            .with_context(|| format!("reading {}", member.manifest.display()))?;
        problems.extend(check_manifest(&member.dir, &member.name, &text));
    }
    Ok(problems)
}

/// The package name a member in `dir` (relative to the root) must have.
fn expected_name(dir: &str) -> String {
    match dir.strip_prefix("crates/") {
        Some("kapi") => "kapi".to_owned(),
        Some(rest) => format!("kapi-{rest}"),
        None => dir.rsplit('/').next().unwrap_or(dir).to_owned(),
    }
}

/// Checks one manifest, `text`, of the package `name` in `dir`.
fn check_manifest(dir: &str, name: &str, text: &str) -> Vec<Problem> {
    let location = format!("{dir}/Cargo.toml");
    let mut problems = Vec::new();
    let mut problem = |message: String, fix: String| {
        problems.push(Problem::new(location.clone(), message, fix));
    };

    let expected = expected_name(dir);
    if name != expected {
        problem(
            format!("package `{name}` in `{dir}` should be named `{expected}`"),
            format!("set `name = \"{expected}\"` under [package] in {location}"),
        );
    }

    let manifest: Table = match text.parse() {
        Ok(table) => table,
        Err(err) => {
            problem(
                format!("is not valid TOML: {err}"),
                format!("fix the syntax of {location}"),
            );
            return problems;
        }
    };

    let package = manifest.get("package").and_then(Value::as_table);
    for field in INHERITED {
        if !inherits(package.and_then(|p| p.get(field))) {
            problem(
                format!("`package.{field}` is not inherited from the workspace"),
                format!("write `{field}.workspace = true` under [package] in {location}"),
            );
        }
    }

    if !inherits(manifest.get("lints")) {
        problem(
            "does not use the workspace lints".to_owned(),
            format!("add `[lints]` with `workspace = true` to {location}"),
        );
    }

    let mut tables: Vec<(String, &Table)> = Vec::new();
    for key in DEP_TABLES {
        if let Some(table) = manifest.get(key).and_then(Value::as_table) {
            tables.push((key.to_owned(), table));
        }
    }
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        for (cfg, target) in targets {
            for key in DEP_TABLES {
                if let Some(table) = target.get(key).and_then(Value::as_table) {
                    tables.push((format!("target.'{cfg}'.{key}"), table));
                }
            }
        }
    }
    for (table_name, table) in tables {
        for (dep, spec) in table {
            if !inherits(Some(spec)) {
                problem(
                    format!("[{table_name}] `{dep}` does not use `workspace = true`"),
                    format!(
                        "declare `{dep}` once in the root Cargo.toml's [workspace.dependencies] \
                         and write `{dep}.workspace = true` (plus any `features`) in {location}"
                    ),
                );
            }
        }
    }
    problems
}

/// Whether `value` is a table holding `workspace = true`.
fn inherits(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_table)
        .and_then(|table| table.get("workspace"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[package]
name = "kapi-mux"
version.workspace = true
edition.workspace = true
license.workspace = true

[dependencies]
http.workspace = true
kapi-core = { workspace = true }
tokio = { workspace = true, features = ["rt"] }

[target.'cfg(unix)'.dependencies]
libc.workspace = true

[dev-dependencies]
tempfile.workspace = true

[lints]
workspace = true
"#;

    #[track_caller]
    fn check(dir: &str, name: &str, text: &str, expected: &[&str]) {
        let problems = check_manifest(dir, name, text);
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages, expected);
        for problem in &problems {
            assert_eq!(problem.location, format!("{dir}/Cargo.toml"));
            assert!(problem.fix.contains(&problem.location), "{problem}");
        }
    }

    #[test]
    fn names_follow_directories() {
        for (dir, name) in [
            ("crates/mux", "kapi-mux"),
            ("crates/kapi", "kapi"),
            ("crates/api-extensions", "kapi-api-extensions"),
            ("xtask", "xtask"),
        ] {
            assert_eq!(expected_name(dir), name, "{dir}");
        }
    }

    #[test]
    fn a_conforming_manifest_passes() {
        check("crates/mux", "kapi-mux", GOOD, &[]);
    }

    #[test]
    fn each_rule_is_reported() {
        check(
            "crates/mux",
            "mux",
            GOOD,
            &["package `mux` in `crates/mux` should be named `kapi-mux`"],
        );
        check(
            "crates/mux",
            "kapi-mux",
            &GOOD.replace("version.workspace = true", "version = \"0.2.0\""),
            &["`package.version` is not inherited from the workspace"],
        );
        check(
            "crates/mux",
            "kapi-mux",
            &GOOD.replace("edition.workspace = true\nlicense.workspace = true\n", ""),
            &[
                "`package.edition` is not inherited from the workspace",
                "`package.license` is not inherited from the workspace",
            ],
        );
        check(
            "crates/mux",
            "kapi-mux",
            &GOOD.replace("[lints]\nworkspace = true\n", ""),
            &["does not use the workspace lints"],
        );
        check(
            "crates/mux",
            "kapi-mux",
            &GOOD
                .replace("http.workspace = true", "http = \"1\"")
                .replace("libc.workspace = true", "libc = { version = \"0.2\" }")
                .replace(
                    "tempfile.workspace = true",
                    "tempfile = { workspace = false }",
                ),
            &[
                "[dependencies] `http` does not use `workspace = true`",
                "[dev-dependencies] `tempfile` does not use `workspace = true`",
                "[target.'cfg(unix)'.dependencies] `libc` does not use `workspace = true`",
            ],
        );
        check(
            "crates/mux",
            "kapi-mux",
            &GOOD.replace(
                "kapi-core = { workspace = true }",
                "kapi-core = { path = \"../core\" }",
            ),
            &["[dependencies] `kapi-core` does not use `workspace = true`"],
        );
        let broken = check_manifest("crates/mux", "kapi-mux", "[package");
        assert_eq!(broken.len(), 1);
        assert!(
            broken[0].message.starts_with("is not valid TOML"),
            "{}",
            broken[0]
        );
    }
}
