//! The bits of Go's standard library whose exact behaviour shows in
//! kube-apiserver's output and parsing: `strconv.Quote` (`%q`) in messages,
//! `url.ParseQuery` / `url.QueryUnescape` for query strings, and
//! `url.PathUnescape` for the paths routes match on.

/// Parses a raw query string like Go's `url.ParseQuery`: pairs split on `&`,
/// key and value on the first `=`, `+` read as a space, `%XX` decoded; a pair
/// whose key contains `;` or that holds an invalid escape is skipped.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((query_unescape(key)?, query_unescape(value)?))
        })
        .collect()
}

/// Quotes `s` like Go's `%q` verb (`strconv.Quote`): a double-quoted string
/// with `"` and `\` escaped, the usual C escapes, and `\x`, `\u` or `\U`
/// escapes for other non-printable characters.
///
/// Go's "printable" is Unicode's graphic categories plus the ASCII space;
/// this treats every non-control, non-space character as printable, except
/// the common invisible formatting characters. The two differ only on
/// unassigned or private-use code points.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x1_0000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let invisible_format = matches!(
        c,
        '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}'
    );
    !c.is_control() && !c.is_whitespace() && !invisible_format
}

/// Go's `url.QueryUnescape`; `None` where Go returns an error.
pub fn query_unescape(s: &str) -> Option<String> {
    if !s.contains(['%', '+']) {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = hex_value(*bytes.get(i + 1)?)?;
                let low = hex_value(*bytes.get(i + 2)?)?;
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Go's `url.PathUnescape`: `%XX` decoded, `+` kept; `None` where Go
/// returns an error (an invalid escape).
pub fn path_unescape(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = hex_value(*bytes.get(i + 1)?)?;
            let low = hex_value(*bytes.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_queries_like_go() {
        let check = |raw: &str, expected: &[(&str, &str)]| {
            let parsed = parse_query(raw);
            let parsed: Vec<(&str, &str)> = parsed
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(parsed, expected, "{raw:?}");
        };
        check("", &[]);
        check("verbose", &[("verbose", "")]);
        check("verbose=false", &[("verbose", "false")]);
        check(
            "exclude=etcd&exclude=log&verbose",
            &[("exclude", "etcd"), ("exclude", "log"), ("verbose", "")],
        );
        check(
            "exclude=poststarthook%2Fx",
            &[("exclude", "poststarthook/x")],
        );
        check("exclude=a+b", &[("exclude", "a b")]);
        check("a=1=2", &[("a", "1=2")]);
        check("&&a=1&", &[("a", "1")]);
        check("exclude=a;b&verbose", &[("verbose", "")]);
        check("exclude=%zz&exclude=ok", &[("exclude", "ok")]);
        check("exclude=%4", &[]);
    }

    #[test]
    fn quotes_like_go_percent_q() {
        let check = |s: &str, expected: &str| assert_eq!(quote(s), expected, "{s:?}");
        check("", r#""""#);
        check("etcd", r#""etcd""#);
        check("poststarthook/x", r#""poststarthook/x""#);
        check("a b", r#""a b""#);
        check(r#"say "hi""#, r#""say \"hi\"""#);
        check(r"back\slash", r#""back\\slash""#);
        check("tab\there\n", r#""tab\there\n""#);
        check("\u{1}\u{7f}", r#""\x01\x7f""#);
        check("héllo ✓", "\"héllo ✓\"");
        check("\u{a0}\u{200b}\u{feff}", r#""\u00a0\u200b\ufeff""#);
        check("\u{e0001}", r#""\U000e0001""#);
        check("\u{fffd}", "\"\u{fffd}\"");
    }
}
