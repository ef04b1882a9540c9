//! String formats (Go: kube-openapi's `strfmt.Default` registry and the
//! apiextensions list of formats CRDs may use, `StripUnsupportedFormats…`).
//!
//! Format names are normalized by dropping `-` (`date-time` is
//! `datetime`). The checks follow the Go validators: `net.ParseIP`-style
//! addresses (leading zeros tolerated in IPv4, as `ParseIPSloppy`),
//! `time.Parse("2006-01-02")`, RFC 3339 date-times by kube-openapi's
//! regular expression, `time.ParseDuration` plus the `3 days` form, RFC
//! 5322 addresses for `email`, request URIs for `uri`, and the
//! govalidator regular expressions.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use regex::Regex;

/// The formats the API server validates for CRDs at compatibility version
/// 1.32 (kapi serves 1.33): the rest are stripped before validation.
const SUPPORTED: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// The names kube-openapi's registry knows (`SUPPORTED` plus the
/// Kubernetes name formats of 1.34).
const KNOWN: &[&str] = &["k8sshortname", "k8slongname"];

fn normalize(format: &str) -> String {
    format.replace('-', "")
}

/// Whether a CRD's string format survives the API server's stripping.
pub(crate) fn is_supported(format: &str) -> bool {
    SUPPORTED.contains(&normalize(format).as_str())
}

/// Whether the registry has a validator for the format.
pub(crate) fn is_known(format: &str) -> bool {
    let name = normalize(format);
    SUPPORTED.contains(&name.as_str()) || KNOWN.contains(&name.as_str())
}

/// Whether `value` is valid for a known format.
pub(crate) fn validates(format: &str, value: &str) -> bool {
    match normalize(format).as_str() {
        "bsonobjectid" => value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "uri" => is_request_uri(value),
        "email" => is_email(value),
        "hostname" => is_hostname(value),
        "ipv4" => parse_ip(value).is_some() && value.contains('.'),
        "ipv6" => value.contains(':') && value.parse::<Ipv6Addr>().is_ok(),
        "cidr" => is_cidr(value),
        "mac" => is_mac(value),
        "uuid" => matches(&UUID, value),
        "uuid3" => matches(&UUID3, value),
        "uuid4" => matches(&UUID4, value),
        "uuid5" => matches(&UUID5, value),
        "isbn" => is_isbn10(value) || is_isbn13(value),
        "isbn10" => is_isbn10(value),
        "isbn13" => is_isbn13(value),
        "creditcard" => is_credit_card(value),
        "ssn" => value.len() == 11 && matches(&SSN, value),
        "hexcolor" => matches(&HEXCOLOR, value),
        "rgbcolor" => matches(&RGBCOLOR, value),
        "byte" => matches(&BASE64, value),
        "date" => is_date(value),
        "duration" => is_duration(value),
        "datetime" => is_date_time(value),
        "k8sshortname" => value.len() <= 63 && matches(&SHORT_NAME, value),
        "k8slongname" => value.len() <= 253 && matches(&LONG_NAME, value),
        _ => true,
    }
}

fn regex(pattern: &str) -> Regex {
    // Invariant: only called with the constant patterns below, which the
    // tests compile.
    Regex::new(pattern).expect("built-in format pattern compiles")
}

fn matches(re: &LazyLock<Regex>, value: &str) -> bool {
    re.is_match(value)
}

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    regex("(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID3: LazyLock<Regex> = LazyLock::new(|| {
    regex("(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Regex> = LazyLock::new(|| {
    regex("(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Regex> = LazyLock::new(|| {
    regex("(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    )
});
static CREDIT_CARD: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        "^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$",
    )
});
static HEXCOLOR: LazyLock<Regex> = LazyLock::new(|| regex("^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGBCOLOR: LazyLock<Regex> = LazyLock::new(|| {
    let part = r"[\t\n\x0C\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\x0C\r ]*";
    regex(&format!(r"^rgb\({part},{part},{part}\)$"))
});
static BASE64: LazyLock<Regex> = LazyLock::new(|| {
    regex("^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
});
static SSN: LazyLock<Regex> = LazyLock::new(|| regex("^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$"));
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    regex("^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
});
static SHORT_NAME: LazyLock<Regex> = LazyLock::new(|| regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static LONG_NAME: LazyLock<Regex> =
    LazyLock::new(|| regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));
static DURATION_PART: LazyLock<Regex> =
    LazyLock::new(|| regex("(([0-9]+)[\\t\\n\\x0C\\r ]*([A-Za-zµ]+))"));

fn is_hostname(value: &str) -> bool {
    matches(&HOSTNAME, value) && value.len() <= 255 && value.split('.').all(|p| p.len() <= 63)
}

/// IPv4 as Go's sloppy parser reads it (leading zeros allowed) or IPv6.
fn parse_ip(value: &str) -> Option<()> {
    if parse_ipv4_sloppy(value).is_some() || value.parse::<Ipv6Addr>().is_ok() {
        Some(())
    } else {
        None
    }
}

fn parse_ipv4_sloppy(value: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = value.split('.');
    for slot in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse::<u16>().ok().filter(|n| *n <= 255)? as u8;
    }
    parts.next().is_none().then_some(out)
}

fn is_cidr(value: &str) -> bool {
    let Some((addr, prefix)) = value.split_once('/') else {
        return false;
    };
    let bits = if parse_ipv4_sloppy(addr).is_some() {
        32
    } else if addr.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    !prefix.is_empty()
        && prefix.len() <= 8
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u32>().is_ok_and(|n| n <= bits)
}

/// `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx…`, `xx-xx…` or `xxxx.xxxx…`.
fn is_mac(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 14 {
        return false;
    }
    let valid_count = |n: usize| n == 6 || n == 8 || n == 20;
    if bytes[2] == b':' || bytes[2] == b'-' {
        if !(bytes.len() + 1).is_multiple_of(3) || !valid_count((bytes.len() + 1) / 3) {
            return false;
        }
        let sep = bytes[2];
        bytes.chunks(3).all(|chunk| {
            chunk[0].is_ascii_hexdigit()
                && chunk[1].is_ascii_hexdigit()
                && (chunk.len() == 2 || chunk[2] == sep)
        })
    } else if bytes[4] == b'.' {
        if !(bytes.len() + 1).is_multiple_of(5) || !valid_count(2 * (bytes.len() + 1) / 5) {
            return false;
        }
        bytes.chunks(5).all(|chunk| {
            chunk[..4].iter().all(u8::is_ascii_hexdigit) && (chunk.len() == 4 || chunk[4] == b'.')
        })
    } else {
        false
    }
}

fn is_isbn10(value: &str) -> bool {
    let s: Vec<u8> = value
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-'))
        .collect();
    if s.len() != 10
        || !s[..9].iter().all(u8::is_ascii_digit)
        || !(s[9].is_ascii_digit() || s[9] == b'X')
    {
        return false;
    }
    let mut sum: u32 = (0..9)
        .map(|i| (i as u32 + 1) * u32::from(s[i] - b'0'))
        .sum();
    sum += 10
        * if s[9] == b'X' {
            10
        } else {
            u32::from(s[9] - b'0')
        };
    sum.is_multiple_of(11)
}

fn is_isbn13(value: &str) -> bool {
    let s: Vec<u8> = value
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-'))
        .collect();
    if s.len() != 13 || !s.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = (0..12)
        .map(|i| if i % 2 == 0 { 1 } else { 3 } * u32::from(s[i] - b'0'))
        .sum();
    u32::from(s[12] - b'0') == (10 - sum % 10) % 10
}

fn is_credit_card(value: &str) -> bool {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if !matches(&CREDIT_CARD, &digits) {
        return false;
    }
    let mut sum = 0;
    let mut double = false;
    for b in digits.bytes().rev() {
        let mut n = u32::from(b - b'0');
        if double {
            n *= 2;
            if n >= 10 {
                n = n % 10 + 1;
            }
        }
        sum += n;
        double = !double;
    }
    sum % 10 == 0
}

/// `time.Parse("2006-01-02", s)`.
fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &value[range];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// kube-openapi's `IsDateTime`: a date, `t`, then a time with zone.
fn is_date_time(value: &str) -> bool {
    if value.len() < 4 {
        return false;
    }
    let lower = value.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(caps) = DATE_TIME.captures(parts[1]) else {
        return false;
    };
    let part = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    part(1) <= "23" && part(2) <= "59" && part(3) <= "59"
}

/// `time.ParseDuration`, else the `<n> <unit>` form of kube-openapi.
fn is_duration(value: &str) -> bool {
    go_parse_duration(value) || parse_duration_words(value)
}

fn go_parse_duration(value: &str) -> bool {
    let mut s = value;
    if let Some(rest) = s.strip_prefix(['-', '+']) {
        s = rest;
    }
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut rest = &s[int_len..];
        let mut frac_len = 0;
        if let Some(after_dot) = rest.strip_prefix('.') {
            frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            rest = &after_dot[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        if !matches!(unit, "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return false;
        }
        s = &rest[unit_len..];
    }
    true
}

fn parse_duration_words(value: &str) -> bool {
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let mut ok = false;
    for caps in DURATION_PART.captures_iter(value) {
        if caps[2].parse::<i64>().is_err() {
            return false;
        }
        let unit = caps[3].trim().to_lowercase();
        for variants in UNITS {
            let last = variants.len() - 1;
            for (i, variant) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(variant)) || unit.eq_ignore_ascii_case(variant) {
                    ok = true;
                }
            }
        }
    }
    ok
}

/// An RFC 5322 address as `net/mail.ParseAddress` takes it: an optional
/// display name with the address in angle brackets, or a bare address.
fn is_email(value: &str) -> bool {
    let value = value.trim();
    let addr = match (value.rfind('<'), value.ends_with('>')) {
        (Some(open), true) => &value[open + 1..value.len() - 1],
        (None, false) => value,
        _ => return false,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let dot_atom =
        |s: &str| !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.chars().all(atext));
    let local_ok = if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        !local[1..local.len() - 1].contains('"')
    } else {
        dot_atom(local)
    };
    let domain_ok = if domain.starts_with('[') && domain.ends_with(']') {
        true
    } else {
        dot_atom(domain)
    };
    local_ok && domain_ok
}

/// `url.ParseRequestURI`: an absolute URI or an absolute path.
fn is_request_uri(value: &str) -> bool {
    if value.is_empty() || value.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if value == "*" {
        return true;
    }
    let (scheme, rest) = split_scheme(value);
    let Some(scheme) = scheme else {
        return false;
    };
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    if !rest.starts_with('/') {
        // Opaque (`mailto:x`) with a scheme, else not a request URI.
        return !scheme.is_empty();
    }
    let path = if !scheme.is_empty() && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, path) = match authority_and_path.find('/') {
            Some(i) => authority_and_path.split_at(i),
            None => (authority_and_path, ""),
        };
        if !valid_authority(authority) {
            return false;
        }
        path
    } else {
        rest
    };
    valid_escapes(path)
}

/// The scheme (`Some("")` when there is none) and the rest; `None` when
/// the URI starts with `:`.
fn split_scheme(value: &str) -> (Option<&str>, &str) {
    for (i, c) in value.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return (None, value),
            ':' => return (Some(&value[..i]), &value[i + 1..]),
            _ => return (Some(""), value),
        }
    }
    (Some(""), value)
}

fn valid_authority(authority: &str) -> bool {
    let host = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            if !userinfo.chars().all(|c| {
                c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c) || !c.is_ascii()
            }) {
                return false;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    if host.starts_with('[') {
        let Some(end) = host.find(']') else {
            return false;
        };
        let port = &host[end + 1..];
        return port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    }
    if let Some(i) = host.rfind(':')
        && !host[i + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let host_ok = host.chars().all(|c| {
        !c.is_ascii() || c.is_ascii_alphanumeric() || "-_.~$&'()*+,;=:[]<>\"%".contains(c)
    });
    host_ok && valid_escapes(host)
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: &str, valid: &[&str], invalid: &[&str]) {
        for v in valid {
            assert!(validates(format, v), "{format}: {v:?} should be valid");
        }
        for v in invalid {
            assert!(!validates(format, v), "{format}: {v:?} should be invalid");
        }
    }

    #[test]
    fn formats() {
        check(
            "date",
            &["2024-02-29", "2023-12-31"],
            &["2023-02-29", "2023-1-01", "x"],
        );
        check(
            "date-time",
            &["2024-01-02T15:04:05Z", "2024-01-02t15:04:05.123+01:00"],
            &["2024-01-02", "2024-01-02T25:00:00Z", "2024-01-02T15:04:05"],
        );
        check(
            "duration",
            &["1h30m", "-1.5s", "0", "3 days", "5 minutes"],
            &["", "1x", "h"],
        );
        check(
            "ipv4",
            &["10.0.0.1", "010.0.0.1", "::ffff:1.2.3.4"],
            &["1.2.3", "::1", "256.0.0.1"],
        );
        check("ipv6", &["::1", "fe80::1"], &["1.2.3.4", "x"]);
        check(
            "cidr",
            &["10.0.0.0/8", "::/0"],
            &["10.0.0.0/33", "10.0.0.0", "x/1"],
        );
        check("uuid", &["123e4567-e89b-12d3-a456-426614174000"], &["123"]);
        check(
            "email",
            &["a@b.c", "Bob <bob@example.com>"],
            &["a", "a@", "@b"],
        );
        check("hostname", &["example.com", "localhost"], &["-x-", "a..b"]);
        check(
            "mac",
            &["01:23:45:67:89:ab", "0123.4567.89ab"],
            &["01:23:45"],
        );
        check("byte", &["aGVsbG8="], &["", "abc"]);
        check(
            "uri",
            &["http://example.com/a?b", "/path", "mailto:x@y"],
            &["", "rel/path", "http://a b/"],
        );
        check("isbn10", &["0321751043"], &["0321751044"]);
        check("isbn13", &["978-0321751041"], &["9780321751042"]);
        check(
            "creditcard",
            &["4111 1111 1111 1111"],
            &["4111 1111 1111 1112"],
        );
        check("ssn", &["123-45-6789"], &["123456789x"]);
        check("hexcolor", &["#fff", "ABCDEF"], &["#ffff"]);
        check("rgbcolor", &["rgb(0, 255, 10)"], &["rgb(256,0,0)"]);
        check("bsonobjectid", &["507f1f77bcf86cd799439011"], &["507f"]);
        check("password", &["anything"], &[]);
    }

    #[test]
    fn supported_and_known() {
        assert!(is_supported("date-time"));
        assert!(!is_supported("int32"));
        assert!(!is_supported("k8s-short-name"));
        assert!(is_known("k8s-short-name"));
        assert!(!validates("k8s-short-name", "Upper"));
    }
}
