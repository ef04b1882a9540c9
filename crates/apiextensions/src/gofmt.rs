//! Go's `fmt` renderings of decoded JSON values (`%v`, `%T`, `%#v` of a
//! `[]string`), for the messages that Go builds with them: accessor errors
//! of `unstructured.Nested*`, JSONPath text output, field selector values.

use serde_json::Value;

/// A JSON value as Go's `%v` prints the `interface{}` that
/// `encoding/json` decodes it to: strings bare, integers in decimal,
/// floats in Go's shortest `%g` form (`1e+06`), `<nil>`, `[a b]`,
/// `map[k:v]` with sorted keys.
pub(crate) fn value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => float(f),
            (None, None, None) => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(self::value).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", self::value(v)))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

/// The Go type (`%T`) of a decoded JSON value in an unstructured object.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A float64 as Go's `%v` prints it: the shortest representation, in
/// exponent form when the exponent is below -4 or at least 6 (Go's `%g`
/// with the shortest precision).
pub(crate) fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        return format!("{f}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

/// A `[]string` as Go's `%#v` prints it: `[]string{"a", "b"}`, or
/// `[]string(nil)` for a missing list.
pub(crate) fn sharp_strings(list: Option<&[String]>) -> String {
    match list {
        None => "[]string(nil)".to_owned(),
        Some(items) => {
            let quoted: Vec<String> = items.iter().map(|s| kapi_core::go::quote(s)).collect();
            format!("[]string{{{}}}", quoted.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_print_as_go_v() {
        let check = |input: Value, expected: &str| assert_eq!(value(&input), expected, "{input}");
        check(json!("abc"), "abc");
        check(json!(3), "3");
        check(json!(-3), "-3");
        check(json!(1.5), "1.5");
        check(json!(3.0), "3");
        check(json!(1_000_000.0), "1e+06");
        check(json!(123_456.0), "123456");
        check(json!(1_234_567.0), "1.234567e+06");
        check(json!(0.0001), "0.0001");
        check(json!(0.00001), "1e-05");
        check(json!(true), "true");
        check(Value::Null, "<nil>");
        check(json!(["a", 1]), "[a 1]");
        check(json!({"b": 1, "a": "x"}), "map[a:x b:1]");
    }

    #[test]
    fn types_print_as_go_t() {
        assert_eq!(type_name(&json!("x")), "string");
        assert_eq!(type_name(&json!(1)), "int64");
        assert_eq!(type_name(&json!(1.5)), "float64");
        assert_eq!(type_name(&json!({})), "map[string]interface {}");
        assert_eq!(type_name(&json!([])), "[]interface {}");
        assert_eq!(type_name(&Value::Null), "<nil>");
    }

    #[test]
    fn string_slices_print_as_go_sharp_v() {
        assert_eq!(sharp_strings(None), "[]string(nil)");
        assert_eq!(sharp_strings(Some(&[])), "[]string{}");
        assert_eq!(
            sharp_strings(Some(&["v1".to_owned(), "v2".to_owned()])),
            r#"[]string{"v1", "v2"}"#
        );
    }
}
