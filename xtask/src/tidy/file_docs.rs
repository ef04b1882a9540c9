//! Tidy rule: every Rust source file opens with a `//!` paragraph.
//!
//! Covers `crates/*/{src,tests,examples,benches}` and `xtask/src`,
//! recursively. Only blank lines may come before the first `//!` line: not a
//! licence header, not an attribute.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Problem;

/// The directories under each `crates/<dir>` whose `.rs` files are checked.
const CRATE_DIRS: [&str; 4] = ["src", "tests", "examples", "benches"];

/// Reports every `.rs` file that does not open with a `//!` line.
pub(super) fn check(root: &Path) -> anyhow::Result<Vec<Problem>> {
    let mut files = Vec::new();
    let crates = root.join("crates");
    if crates.is_dir() {
        for krate in sorted_entries(&crates)? {
            for dir in CRATE_DIRS {
                collect_rust_files(&krate.join(dir), &mut files)?;
            }
        }
    }
    collect_rust_files(&root.join("xtask/src"), &mut files)?;

    let mut problems = Vec::new();
    for file in files {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        if !opens_with_module_doc(&text) {
            let rel = file.strip_prefix(root).unwrap_or(&file);
            problems.push(Problem::new(
                rel.display().to_string(),
                "does not open with a `//!` doc line",
                "make the file's first line a `//!` paragraph saying what lives in it",
            ));
        }
    }
    Ok(problems)
}

/// Whether the first non-blank line of `text` is a `//!` line.
fn opens_with_module_doc(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| line.trim_start().starts_with("//!"))
}

/// Appends every `.rs` file under `dir` (recursively) to `out`.
fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in sorted_entries(dir)? {
        if entry.is_dir() {
            collect_rust_files(&entry, out)?;
        } else if entry.extension().is_some_and(|ext| ext == "rs") {
            out.push(entry);
        }
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_text(text: &str, expected: bool) {
        assert_eq!(opens_with_module_doc(text), expected, "{text:?}");
    }

    #[test]
    fn first_non_blank_line_must_be_a_module_doc() {
        check_text("//! Routing.\n\nfn f() {}\n", true);
        check_text("\n\n   \n//! After blank lines.\n", true);
        check_text("\u{feff}//! After a byte-order mark.\n", true);
        check_text("", false);
        check_text("\n\n", false);
        check_text("/// An item doc, not a module doc.\nfn f() {}\n", false);
        check_text("// A plain comment.\n//! Too late.\n", false);
        check_text("#![allow(dead_code)]\n//! Too late.\n", false);
        check_text("use std::fmt;\n", false);
        check_text("/*! Block module doc. */\n", false);
    }

    #[test]
    fn reports_every_offender_by_path() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = root.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("crates/a/src/lib.rs", "//! Fine.\n");
        write("crates/a/src/deep/nested.rs", "fn no_doc() {}\n");
        write("crates/a/tests/it.rs", "#[test]\nfn t() {}\n");
        write("crates/a/examples/ex.rs", "//! Fine.\nfn main() {}\n");
        write("crates/a/benches/b.rs", "\n");
        write("crates/a/build.rs", "fn main() {}\n"); // not a checked directory
        write("crates/a/src/notes.txt", "not rust\n");
        write("xtask/src/main.rs", "fn main() {}\n");
        let problems = check(root.path()).unwrap();
        let paths: Vec<&str> = problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            paths,
            [
                "crates/a/src/deep/nested.rs",
                "crates/a/tests/it.rs",
                "crates/a/benches/b.rs",
                "xtask/src/main.rs",
            ]
        );
    }
}
