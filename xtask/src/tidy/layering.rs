//! Tidy rule: internal dependencies stay inside the written layering.
//!
//! `docs/ARCHITECTURE.md` holds one fenced code block with the info string
//! `layering`, one line per crate naming the internal crates it may depend
//! on: `kapi-routes -> kapi-core, kapi-mux`, or `kapi-core ->` for none.
//! Blank lines and `#` comments are ignored. Every member under `crates/`
//! must have a line, and each of its normal dependencies on another member
//! (from `cargo metadata`; dev-dependencies do not count) must be allowed
//! there. xtask sits outside the layering and depends on no member.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::{Member, Problem};

/// Where the layering is written, relative to the root.
pub(super) const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

/// The allowed internal edges: crate → crates it may depend on.
pub(super) type Layering = BTreeMap<String, BTreeSet<String>>;

/// Reads the layering from the tree at `root` and checks `members` against it.
pub(super) fn check_tree(root: &Path, members: &[Member]) -> anyhow::Result<Vec<Problem>> {
    let path = root.join(ARCHITECTURE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(vec![Problem::new(
                ARCHITECTURE,
                "does not exist, so the crate layering cannot be checked",
                format!(
                    "write {ARCHITECTURE} with a ```layering block (see xtask/src/tidy/layering.rs)"
                ),
            )]);
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!("reading {}", path.display())));
        }
    };
    match parse(&text) {
        Ok(layering) => Ok(check(&layering, members)),
        Err(problems) => Ok(problems),
    }
}

/// Parses the one ```layering block of `markdown`.
pub(super) fn parse(markdown: &str) -> Result<Layering, Vec<Problem>> {
    let fix_line = "write each line as `crate -> dep, dep` (or `crate ->` for none)";
    let mut problems = Vec::new();
    let mut layering = Layering::new();
    let mut blocks = 0;
    let mut in_block = false;
    let mut in_other_fence = false;
    for (index, line) in markdown.lines().enumerate() {
        let at = format!("{ARCHITECTURE}:{}", index + 1);
        let trimmed = line.trim();
        if in_other_fence {
            in_other_fence = !is_fence(trimmed);
            continue;
        }
        if !in_block {
            if let Some(info) = trimmed.strip_prefix("```") {
                if info.trim() == "layering" {
                    blocks += 1;
                    in_block = true;
                    if blocks > 1 {
                        problems.push(Problem::new(
                            at,
                            "a second ```layering block",
                            "keep one ```layering block and merge the other into it",
                        ));
                    }
                } else {
                    in_other_fence = true;
                }
            }
            continue;
        }
        if is_fence(trimmed) {
            in_block = false;
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((from, to)) = trimmed.split_once("->") else {
            problems.push(Problem::new(
                at,
                format!("`{trimmed}` has no `->`"),
                fix_line,
            ));
            continue;
        };
        let from = from.trim();
        if from.is_empty() || from.contains(char::is_whitespace) {
            problems.push(Problem::new(
                at,
                format!("`{trimmed}` does not start with one crate name"),
                fix_line,
            ));
            continue;
        }
        let mut allowed = BTreeSet::new();
        for dep in to.split(',').map(str::trim) {
            if dep.is_empty() && to.trim().is_empty() {
                break;
            }
            if dep.is_empty() || dep.contains(char::is_whitespace) {
                problems.push(Problem::new(
                    at.clone(),
                    format!("`{trimmed}` has an empty or malformed crate name after `->`"),
                    fix_line,
                ));
                continue;
            }
            allowed.insert(dep.to_owned());
        }
        if layering.insert(from.to_owned(), allowed).is_some() {
            problems.push(Problem::new(
                at,
                format!("`{from}` has a second line"),
                format!("merge the lines of `{from}` into one"),
            ));
        }
    }
    if in_block {
        problems.push(Problem::new(
            ARCHITECTURE,
            "the ```layering block is not closed",
            "end the block with a line of ```",
        ));
    }
    if blocks == 0 {
        problems.push(Problem::new(
            ARCHITECTURE,
            "has no ```layering block",
            "add a fenced block with the info string `layering` and one line `crate -> deps` \
             per crate under crates/",
        ));
    }
    if problems.is_empty() {
        Ok(layering)
    } else {
        Err(problems)
    }
}

/// Checks the members' internal normal dependencies against `layering`.
pub(super) fn check(layering: &Layering, members: &[Member]) -> Vec<Problem> {
    let internal: BTreeSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let mut problems = Vec::new();
    for member in members {
        let manifest = format!("{}/Cargo.toml", member.dir);
        let deps: BTreeSet<&str> = member
            .normal_deps
            .iter()
            .map(String::as_str)
            .filter(|dep| internal.contains(dep))
            .collect();
        if !member.dir.starts_with("crates/") {
            // xtask (and any other tool outside crates/) is not a layer: it
            // builds and runs the crates, it does not link them.
            for dep in deps {
                problems.push(Problem::new(
                    manifest.clone(),
                    format!("`{}` depends on the workspace crate `{dep}`", member.name),
                    format!("drop `{dep}` from [dependencies] in {manifest}; tools outside crates/ depend on no workspace crate"),
                ));
            }
            continue;
        }
        let Some(allowed) = layering.get(&member.name) else {
            problems.push(Problem::new(
                ARCHITECTURE,
                format!(
                    "crate `{}` is missing from the ```layering block",
                    member.name
                ),
                format!(
                    "add the line `{} -> {}` to the ```layering block of {ARCHITECTURE}",
                    member.name,
                    deps.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
            continue;
        };
        for dep in deps {
            if !allowed.contains(dep) {
                problems.push(Problem::new(
                    manifest.clone(),
                    format!(
                        "`{}` depends on `{dep}`, which the layering in {ARCHITECTURE} does not allow",
                        member.name
                    ),
                    format!(
                        "drop `{dep}` from [dependencies] in {manifest} (move what both need down \
                         into kapi-core), or if the architecture changed, add `{dep}` to the `{}` \
                         line of the ```layering block in {ARCHITECTURE}",
                        member.name
                    ),
                ));
            }
        }
    }
    problems
}

/// Whether `line` (trimmed) closes a fence.
fn is_fence(line: &str) -> bool {
    line.starts_with("```") && line.trim_start_matches('`').trim().is_empty()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn member(name: &str, dir: &str, deps: &[&str]) -> Member {
        Member {
            name: name.to_owned(),
            dir: dir.to_owned(),
            manifest: PathBuf::from(format!("/r/{dir}/Cargo.toml")),
            normal_deps: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn layering(lines: &[(&str, &[&str])]) -> Layering {
        lines
            .iter()
            .map(|(from, to)| {
                (
                    (*from).to_owned(),
                    to.iter().map(|t| (*t).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[track_caller]
    fn check_parse(markdown: &str, expected: &[(&str, &[&str])]) {
        assert_eq!(parse(markdown), Ok(layering(expected)));
    }

    #[track_caller]
    fn check_parse_error(markdown: &str, expected: &[&str]) {
        let problems = parse(markdown).expect_err("should not parse");
        let got: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn parses_the_layering_block() {
        check_parse(
            "# Architecture\n\n```text\na -> b\n```\n\n```layering\n\
             # bottom first\nkapi-core ->\n\nkapi-mux -> kapi-core\n  kapi-routes ->  kapi-core ,kapi-mux \n```\n\
             after -> ignored\n",
            &[
                ("kapi-core", &[]),
                ("kapi-mux", &["kapi-core"]),
                ("kapi-routes", &["kapi-core", "kapi-mux"]),
            ],
        );
        // A fence of another language may hold ```layering text without opening the block.
        check_parse(
            "```md\n```layering\n```\n```layering\nkapi-core ->\n```\n",
            &[("kapi-core", &[])],
        );
    }

    #[test]
    fn reports_malformed_blocks() {
        check_parse_error(
            "no block here\n",
            &["docs/ARCHITECTURE.md: has no ```layering block"],
        );
        check_parse_error(
            "```layering\nkapi-core\nkapi core -> x\nkapi-mux -> kapi-core,\nkapi-mux -> x y\n```\n",
            &[
                "docs/ARCHITECTURE.md:2: `kapi-core` has no `->`",
                "docs/ARCHITECTURE.md:3: `kapi core -> x` does not start with one crate name",
                "docs/ARCHITECTURE.md:4: `kapi-mux -> kapi-core,` has an empty or malformed crate name after `->`",
                "docs/ARCHITECTURE.md:5: `kapi-mux -> x y` has an empty or malformed crate name after `->`",
                "docs/ARCHITECTURE.md:5: `kapi-mux` has a second line",
            ],
        );
        check_parse_error(
            "```layering\na ->\n```\n```layering\nb ->\n",
            &[
                "docs/ARCHITECTURE.md:4: a second ```layering block",
                "docs/ARCHITECTURE.md: the ```layering block is not closed",
            ],
        );
    }

    #[test]
    fn checks_edges_against_the_layering() {
        let allowed = layering(&[
            ("kapi-core", &[]),
            ("kapi-mux", &["kapi-core"]),
            ("kapi-routes", &["kapi-core", "kapi-mux"]),
        ]);
        let members = [
            member("kapi-core", "crates/core", &["http", "serde"]),
            member("kapi-mux", "crates/mux", &["kapi-core", "http"]),
            // An edge up the stack.
            member(
                "kapi-routes",
                "crates/routes",
                &["kapi-core", "kapi-mux", "kapi-serving"],
            ),
            // Missing from the block.
            member("kapi-serving", "crates/serving", &["kapi-core"]),
            member("xtask", "xtask", &["anyhow", "kapi-core"]),
        ];
        let problems = check(&allowed, &members);
        let got: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect();
        assert_eq!(
            got,
            [
                "crates/routes/Cargo.toml: `kapi-routes` depends on `kapi-serving`, which the layering in docs/ARCHITECTURE.md does not allow",
                "docs/ARCHITECTURE.md: crate `kapi-serving` is missing from the ```layering block",
                "xtask/Cargo.toml: `xtask` depends on the workspace crate `kapi-core`",
            ]
        );
        assert!(problems[0].fix.contains("crates/routes/Cargo.toml"));
        assert!(problems[0].fix.contains(ARCHITECTURE));
        assert!(problems[1].fix.contains("`kapi-serving -> kapi-core`"));
        // Within the layering, nothing to report.
        assert_eq!(check(&allowed, &members[..3 - 1]), []);
    }
}
