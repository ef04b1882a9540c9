//! What every bench section of docs/benchmarks.md is written with: the
//! marked section replaced in place, and the number formats of its tables.

use std::fs;

use anyhow::{Context as _, bail};

/// Writes a bench's section into docs/benchmarks.md between its markers:
/// `section` gets the run's date (`2026-11-29 16:33 UTC`) and the
/// machine line.
pub(crate) fn write_section(
    start_marker: &str,
    end_marker: &str,
    section: impl FnOnce(&str, &str) -> String,
) -> anyhow::Result<()> {
    let path = crate::project_root().join("docs/benchmarks.md");
    let doc = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let date = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M UTC")
        .to_string();
    let body = section(&date, &super::machine());
    let updated = replace_between(&doc, start_marker, end_marker, &body)
        .with_context(|| format!("updating {}", path.display()))?;
    fs::write(&path, updated).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote the results into {}", path.display());
    Ok(())
}

/// Replaces what lies between `start_marker` and `end_marker` in `doc`
/// with `body` (one line break after the start marker and before the end
/// one).
pub(crate) fn replace_between(
    doc: &str,
    start_marker: &str,
    end_marker: &str,
    body: &str,
) -> anyhow::Result<String> {
    let start = doc
        .find(start_marker)
        .with_context(|| format!("no `{start_marker}` line"))?;
    let inner = start + start_marker.len();
    let Some(end) = doc[inner..].find(end_marker).map(|at| inner + at) else {
        bail!("no `{end_marker}` line after `{start_marker}`");
    };
    Ok(format!(
        "{}\n{}\n{}",
        &doc[..inner],
        body.trim_end_matches('\n'),
        &doc[end..]
    ))
}

/// The "met" column: `yes`, `**no**`, or `–` for a row without a target.
pub(crate) fn met(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "yes".to_owned(),
        Some(false) => "**no**".to_owned(),
        None => "–".to_owned(),
    }
}

/// Milliseconds with two decimals below 10, one above.
pub(crate) fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// Bytes as MiB.
pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `48471.3` → `48,471`.
pub(crate) fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_numbers() {
        let doc = "a\n<!-- s -->\nold\n<!-- e -->\nz\n";
        assert_eq!(
            replace_between(doc, "<!-- s -->", "<!-- e -->", "new\n").unwrap(),
            "a\n<!-- s -->\nnew\n<!-- e -->\nz\n"
        );
        assert!(replace_between("x", "<!-- s -->", "<!-- e -->", "").is_err());
        assert_eq!(thousands(48_471.3), "48,471");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(millis(2.345), "2.35 ms");
        assert_eq!(millis(12.34), "12.3 ms");
        assert_eq!(met(None), "–");
    }
}
