//! Go's renderings of unstructured JSON values, needed to reproduce
//! kube-openapi's messages byte for byte: `fmt`'s `%v` (floats as `%g`
//! with the shortest digits, maps as `map[k:v]`) and `encoding/json`'s
//! `Marshal` (floats without exponent between 1e-6 and 1e21, sorted keys,
//! HTML-safe escapes).

use serde_json::{Number, Value};

/// A JSON number as the Go decoder of unstructured objects produces it:
/// `int64` when it fits, else `float64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn of(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// The value for an error's `BadValue`.
    pub(crate) fn to_value(self) -> Value {
        match self {
            Num::Int(i) => Value::from(i),
            Num::Float(f) => Value::from(f),
        }
    }

    /// `%v`.
    pub(crate) fn v(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => float_v(f),
        }
    }
}

/// `fmt.Sprintf("%v", f)` for a float64: `%g` with the shortest digits,
/// switching to an exponent below 1e-4 and from 1e6 on (`1e+06`).
pub(crate) fn float_v(f: f64) -> String {
    if let Some(special) = special(f) {
        return special;
    }
    let (mantissa, exp) = scientific(f);
    if !(-4..6).contains(&exp) {
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        format!("{f}")
    }
}

/// `encoding/json`'s rendering of a float64: plain decimal between 1e-6
/// and 1e21, else an exponent (`1e+21`, `1e-7`).
pub(crate) fn float_json(f: f64) -> String {
    if let Some(special) = special(f) {
        return special;
    }
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        let (mantissa, exp) = scientific(f);
        if exp < 0 {
            format!("{mantissa}e-{}", exp.abs())
        } else {
            format!("{mantissa}e+{exp:02}")
        }
    } else {
        format!("{f}")
    }
}

fn special(f: f64) -> Option<String> {
    if f == 0.0 {
        Some(if f.is_sign_negative() { "-0" } else { "0" }.to_owned())
    } else if f.is_nan() {
        Some("NaN".to_owned())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned())
    } else {
        None
    }
}

/// The shortest round-tripping mantissa and the decimal exponent.
fn scientific(f: f64) -> (String, i32) {
    let rendered = format!("{f:e}");
    match rendered.split_once('e') {
        Some((mantissa, exp)) => (mantissa.to_owned(), exp.parse().unwrap_or(0)),
        None => (rendered, 0),
    }
}

/// `fmt.Sprintf("%v", x)` for an unstructured value: strings bare, nil as
/// `<nil>`, slices as `[a b]`, maps as `map[k:v]` with sorted keys.
pub(crate) fn value_v(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => Num::of(n).v(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_v).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", value_v(&map[k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// `json.Marshal(x)` for an unstructured value.
pub(crate) fn json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match Num::of(n) {
            Num::Int(i) => out.push_str(&i.to_string()),
            Num::Float(f) => out.push_str(&float_json(f)),
        },
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(&map[k], out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `IsFloat64AJSONInteger` (go-openapi/swag): whole, or within a
/// relative 1e-9 of the whole number below it, and inside ±(2^53-1).
pub(crate) fn is_float_json_integer(f: f64) -> bool {
    const MAX_JSON_FLOAT: f64 = 9_007_199_254_740_991.0;
    if !f.is_finite() || !(-MAX_JSON_FLOAT..=MAX_JSON_FLOAT).contains(&f) {
        return false;
    }
    if f.fract() == 0.0 {
        return true;
    }
    if f < 0.0 {
        // Go converts a negative float to uint64 with wrap-around, which
        // leaves it far away from any whole number.
        return false;
    }
    let g = f.trunc();
    let diff = f - g;
    if g == 0.0 {
        return diff < 1e-9 * f64::from_bits(1);
    }
    diff / (f + g).min(f64::MAX) < 1e-9
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn floats_print_as_go() {
        for (f, v, js) in [
            (100.0, "100", "100"),
            (1.5, "1.5", "1.5"),
            (123456.0, "123456", "123456"),
            (1e6, "1e+06", "1000000"),
            (1234567.5, "1.2345675e+06", "1234567.5"),
            (0.0001, "0.0001", "0.0001"),
            (0.00001, "1e-05", "0.00001"),
            (1e-7, "1e-07", "1e-7"),
            (1e21, "1e+21", "1e+21"),
            (-2.5, "-2.5", "-2.5"),
        ] {
            assert_eq!(float_v(f), v, "%v of {f}");
            assert_eq!(float_json(f), js, "json of {f}");
        }
    }

    #[test]
    fn values_print_as_go() {
        assert_eq!(
            value_v(&json!(["a", 1, 1.5, true, null, {"b": 2, "a": [1]}])),
            "[a 1 1.5 true <nil> map[a:[1] b:2]]"
        );
        assert_eq!(
            json(&json!({"b": "<x>", "a": [1.0, 2.5, "q\"\n"]})),
            r#"{"a":[1,2.5,"q\"\n"],"b":"\u003cx\u003e"}"#
        );
    }

    #[test]
    fn json_integers() {
        assert!(is_float_json_integer(3.0));
        assert!(is_float_json_integer(-3.0));
        assert!(!is_float_json_integer(3.5));
        assert!(is_float_json_integer(1.000_000_000_1));
        assert!(!is_float_json_integer(-1.000_000_000_1));
        assert!(!is_float_json_integer(1e300));
    }
}
