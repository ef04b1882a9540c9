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
    match kapi_core::go::path_unescape(raw) {
        Some(decoded) => Cow::Owned(decoded),
        None => Cow::Borrowed(raw),
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
