//! The request path the mux matches on: Go's `URL.Path`, i.e. the URI path
//! with its percent-escapes decoded (`/healthz/poststarthook%2Fx` matches the
//! route `/healthz/poststarthook/x`, as in kube-apiserver).

use std::borrow::Cow;

/// Decodes `%XX` escapes of a URI path the way Go's `url.PathUnescape` does
/// (`+` stays `+`).
///
/// An invalid escape makes Go's HTTP server reject the request with 400 before
/// any handler runs; here the raw path is matched instead, so such a request
/// falls through to the not-found handler unless a prefix covers it.
pub(crate) fn decoded_path(raw: &str) -> Cow<'_, str> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = bytes.get(i + 1).and_then(|b| hex_value(*b));
            let low = bytes.get(i + 2).and_then(|b| hex_value(*b));
            match (high, low) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                }
                _ => return Cow::Borrowed(raw),
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(err) => Cow::Owned(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::decoded_path;

    #[test]
    fn decodes_like_go_path_unescape() {
        let check = |raw: &str, expected: &str| assert_eq!(decoded_path(raw), expected, "{raw}");
        check("/healthz", "/healthz");
        check("/healthz/poststarthook%2Fx", "/healthz/poststarthook/x");
        check("/a%20b+c", "/a b+c");
        check("/%7euser", "/~user");
        check("/bad%zz", "/bad%zz");
        check("/short%4", "/short%4");
        check("/%ff", "/\u{fffd}");
    }
}
