//! JSON values as structured-merge-diff sees them: its total order and
//! equality over values of any type (numbers compared across integer and
//! float), its `ToString` rendering used in paths, and Go's JSON encoding of
//! values (`encoding/json`: sorted keys, HTML-safe escapes, Go's float form).
//!
//! Mirrors `sigs.k8s.io/structured-merge-diff/v6/value` (`Compare`,
//! `Equals`, `ToString`).

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// A JSON number the way Go's unstructured decoding holds it.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(n: &Number) -> Num {
    match n.as_i64() {
        Some(i) => Num::Int(i),
        // u64 beyond i64 and real floats are floats in Go.
        None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

fn float_compare(a: f64, b: f64) -> Ordering {
    if a > b {
        Ordering::Greater
    } else if a < b {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

/// The rank of a value's type in structured-merge-diff's total order:
/// numbers, strings, booleans, lists, maps, null.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

/// structured-merge-diff's total order over values (Go: `value.Compare`).
pub(crate) fn compare(lhs: &Value, rhs: &Value) -> Ordering {
    match (lhs, rhs) {
        (Value::Number(a), Value::Number(b)) => match (num(a), num(b)) {
            (Num::Int(a), Num::Int(b)) => a.cmp(&b),
            (Num::Int(a), Num::Float(b)) => float_compare(a as f64, b),
            (Num::Float(a), Num::Int(b)) => float_compare(a, b as f64),
            (Num::Float(a), Num::Float(b)) => float_compare(a, b),
        },
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter().zip(b) {
                let c = compare(x, y);
                if c != Ordering::Equal {
                    return c;
                }
            }
            a.len().cmp(&b.len())
        }
        (Value::Object(a), Value::Object(b)) => map_compare(a, b),
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => rank(lhs).cmp(&rank(rhs)),
    }
}

/// Maps compared lexically by sorted key, as `value.MapCompare` zips them.
fn map_compare(lhs: &Map<String, Value>, rhs: &Map<String, Value>) -> Ordering {
    if lhs.is_empty() && rhs.is_empty() {
        return Ordering::Equal;
    }
    let mut keys: Vec<&String> = lhs.keys().chain(rhs.keys()).collect();
    keys.sort();
    keys.dedup();
    for (i, key) in keys.into_iter().enumerate() {
        let c = if i == lhs.len() {
            Ordering::Less
        } else if i == rhs.len() {
            Ordering::Greater
        } else {
            match (lhs.get(key), rhs.get(key)) {
                (None, _) => Ordering::Greater,
                (_, None) => Ordering::Less,
                (Some(a), Some(b)) => compare(a, b),
            }
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

/// structured-merge-diff's value equality (Go: `value.Equals`): numbers are
/// equal across integer and float when numerically equal.
pub(crate) fn equals(lhs: &Value, rhs: &Value) -> bool {
    match (lhs, rhs) {
        (Value::Number(a), Value::Number(b)) => match (num(a), num(b)) {
            (Num::Int(a), Num::Int(b)) => a == b,
            (Num::Int(a), Num::Float(b)) | (Num::Float(b), Num::Int(a)) => a as f64 == b,
            (Num::Float(a), Num::Float(b)) => a == b,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equals(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|other| equals(v, other)))
        }
        _ => lhs == rhs,
    }
}

/// Renders a value as structured-merge-diff prints it inside paths (Go:
/// `value.ToString`): strings quoted, numbers and booleans bare.
pub(crate) fn to_go_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => format_float_v(f),
        },
        Value::String(s) => kapi_core::go::quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(to_go_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", to_go_string(v)))
            .collect(),
    }
}

/// Go's `%v` of a float64: the shortest representation, in exponent form
/// when the exponent is below -4 or at least 21.
fn format_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if (-4..21).contains(&exp) {
        format!("{f}")
    } else {
        go_exponent(&format!("{f:e}"))
    }
}

/// Rewrites Rust's `1.5e-7` exponent form into Go's `1.5e-07`.
fn go_exponent(rust: &str) -> String {
    let Some((mantissa, exp)) = rust.split_once('e') else {
        return rust.to_owned();
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    if digits.len() < 2 {
        format!("{mantissa}e{sign}0{digits}")
    } else {
        format!("{mantissa}e{sign}{digits}")
    }
}

/// Go's `encoding/json` form of a float64: like `strconv.FormatFloat(f,
/// 'f', -1, 64)`, switching to exponent form below 1e-6 or from 1e21 on,
/// with a two-digit minimum exponent cleaned to Go's `e-07` → `e-7`.
fn format_float_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = go_exponent(&format!("{f:e}"));
        // encoding/json trims "e-07" to "e-7".
        if let Some(pos) = s.find("e-0") {
            let mut out = s.clone();
            out.remove(pos + 2);
            return out;
        }
        return s;
    }
    format!("{f}")
}

/// Encodes a value the way Go's `encoding/json` does: map keys sorted, `<`,
/// `>`, `&`, U+2028 and U+2029 escaped, no insignificant whitespace.
pub(crate) fn to_go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match num(n) {
            Num::Int(i) => out.push_str(&i.to_string()),
            Num::Float(f) => out.push_str(&format_float_json(f)),
        },
        Value::String(s) => write_go_string(s, true, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(key, true, out);
                out.push(':');
                write_go_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

/// Writes a JSON string literal; `html` also escapes `<`, `>`, `&` and the
/// two JavaScript line terminators, as Go's HTML-safe encoders do.
pub(crate) fn write_go_string(s: &str, html: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_follows_smd() {
        let ordered = [
            json!(-1),
            json!(1),
            json!(1.5),
            json!(2),
            json!("a"),
            json!("b"),
            json!(false),
            json!(true),
            json!([1]),
            json!([1, 2]),
            json!({"a": 1}),
            json!(null),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(&pair[0], &pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(compare(&pair[1], &pair[0]), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(compare(&json!(3), &json!(3.0)), Ordering::Equal);
        assert!(equals(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!equals(&json!("1"), &json!(1)));
    }

    #[test]
    fn go_strings() {
        let check = |v: Value, expected: &str| assert_eq!(to_go_string(&v), expected);
        check(json!("x"), "\"x\"");
        check(json!(3), "3");
        check(json!(3.25), "3.25");
        check(json!(1e21), "1e+21");
        check(json!(false), "false");
    }

    #[test]
    fn go_json() {
        let check = |v: Value, expected: &str| assert_eq!(to_go_json(&v), expected);
        check(
            json!({"b": 1, "a": "<&>"}),
            r#"{"a":"\u003c\u0026\u003e","b":1}"#,
        );
        check(json!(0.000001), "0.000001");
        check(json!(0.0000001), "1e-7");
        check(json!(1.5), "1.5");
        check(json!([true, null]), "[true,null]");
    }
}
