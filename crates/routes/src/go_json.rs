//! JSON exactly as Go's `json.MarshalIndent(v, "", "  ")` writes it, which is
//! what kube-apiserver's `responsewriters.WriteRawJSON` sends for the index
//! and `/version`: two-space indentation, no trailing newline, and `<`, `>`,
//! `&`, U+2028 and U+2029 escaped as `\u003c`-style sequences.

use serde::Serialize;

/// Serializes `value` the way Go's `MarshalIndent` with a two-space indent does.
pub(crate) fn to_indented_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing these plain structs of strings cannot fail.
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    // The characters Go escapes can only occur inside JSON strings, so
    // replacing them anywhere in the text is safe.
    let mut out = String::with_capacity(pretty.len());
    for c in pretty.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::to_indented_json;

    #[test]
    fn matches_go_marshal_indent() {
        let check = |value: serde_json::Value, expected: &str| {
            assert_eq!(
                String::from_utf8(to_indented_json(&value)).unwrap(),
                expected
            );
        };
        check(serde_json::json!({"paths": []}), "{\n  \"paths\": []\n}");
        check(
            serde_json::json!({"paths": ["/a", "/b"]}),
            "{\n  \"paths\": [\n    \"/a\",\n    \"/b\"\n  ]\n}",
        );
        check(
            serde_json::json!({"k": "<a&b>\u{2028}\u{2029}é"}),
            "{\n  \"k\": \"\\u003ca\\u0026b\\u003e\\u2028\\u2029é\"\n}",
        );
    }
}
