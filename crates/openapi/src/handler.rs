//! The HTTP handlers of `/openapi/v2`, `/openapi/v3` and
//! `/openapi/v3/<group-version>`.
//!
//! Mirrors `kube-openapi/pkg/handler` (v2) and `pkg/handler3` (v3) as
//! kube-apiserver serves them, including `http.ServeContent`'s conditional
//! requests (`If-None-Match`, `If-Modified-Since`, `If-Match`,
//! `If-Unmodified-Since`) and the aggregator's empty 404 for an unknown group
//! version. Deliberate differences: no gzip, no `Range` requests, and the
//! OpenAPI v3 protobuf form is not written (a request that accepts only it
//! gets 406; client-go never asks for it). OpenAPI v2 is written as JSON or as
//! gnostic protobuf, which client-go's `OpenAPISchema` requires.

use std::convert::Infallible;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use kapi_core::{Body, BoxHandler, Request, Response, box_handler};

use crate::service::{Doc, OpenApiService};

const V2_PROTOBUF: &str = "com.github.proto-openapi.spec.v2.v1.0+protobuf";
const V2_PROTOBUF_DEPRECATED: &str = "com.github.proto-openapi.spec.v2@v1.0+protobuf";
const V3_PROTOBUF: &str = "com.github.proto-openapi.spec.v3.v1.0+protobuf";
const V3_PROTOBUF_DEPRECATED: &str = "com.github.proto-openapi.spec.v3@v1.0+protobuf";

impl OpenApiService {
    /// The handler of `/openapi/v2` (Go: `handler.OpenAPIService`).
    ///
    /// JSON for `application/json`, gnostic protobuf
    /// (`application/com.github.proto-openapi.spec.v2.v1.0+protobuf`) for
    /// either protobuf spelling, 406 for anything else; `Vary: Accept`,
    /// `ETag` (quoted uppercase hex SHA-512 of the JSON, for both forms),
    /// `Last-Modified`, and 304 for a matching `If-None-Match`.
    pub fn v2_handler(&self) -> BoxHandler {
        let service = self.clone();
        box_handler(tower::service_fn(move |request: Request| {
            let service = service.clone();
            async move { Ok::<_, Infallible>(serve_v2(&service, &request)) }
        }))
    }

    /// The handler of `/openapi/v3` (Go: `handler3.HandleDiscovery`):
    /// `{"paths": {"<group-version>": {"serverRelativeURL":
    /// "/openapi/v3/<group-version>?hash=<ETAG>"}}}`.
    pub fn v3_handler(&self) -> BoxHandler {
        let service = self.clone();
        box_handler(tower::service_fn(move |request: Request| {
            let service = service.clone();
            async move {
                let doc = service.v3_root();
                let mut headers = HeaderMap::new();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(serve_content(&request, headers, &doc))
            }
        }))
    }

    /// The handler of the `/openapi/v3/` prefix (Go: `handler3.HandleGroupVersion`
    /// behind the aggregator): one group version's document; with `?hash=`
    /// equal to its ETag also `Cache-Control: public, immutable` and an
    /// `Expires` a year ahead, with a stale hash a 301 to the current URL; an
    /// unknown group version is an empty 404.
    pub fn v3_group_version_handler(&self) -> BoxHandler {
        let service = self.clone();
        box_handler(tower::service_fn(move |request: Request| {
            let service = service.clone();
            async move { Ok::<_, Infallible>(serve_v3_group(&service, &request)) }
        }))
    }
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

fn serve_v2(service: &OpenApiService, request: &Request) -> Response {
    let clauses = accept_clauses(request);
    for clause in &clauses {
        for (subtype, protobuf) in [
            ("json", false),
            (V2_PROTOBUF_DEPRECATED, true),
            (V2_PROTOBUF, true),
        ] {
            if !clause.matches("application", subtype) {
                continue;
            }
            let (doc, content_type) = if protobuf {
                (
                    service.v2_proto(),
                    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                )
            } else {
                (service.v2_json(), "application/json")
            };
            let mut headers = HeaderMap::new();
            headers.insert(header::VARY, HeaderValue::from_static("Accept"));
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            return serve_content(request, headers, &doc);
        }
    }
    let mut response = empty(StatusCode::NOT_ACCEPTABLE);
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

fn serve_v3_group(service: &OpenApiService, request: &Request) -> Response {
    let path = request.uri().path();
    let key = path.strip_prefix("/openapi/v3/").unwrap_or_default();
    let Some(doc) = service.v3_group(key) else {
        return empty(StatusCode::NOT_FOUND);
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    let clauses = accept_clauses(request);
    if clauses.is_empty() {
        // Go writes nothing: an empty 200.
        let mut response = empty(StatusCode::OK);
        *response.headers_mut() = headers;
        return response;
    }
    for clause in &clauses {
        for (subtype, protobuf) in [
            ("json", false),
            (V3_PROTOBUF, true),
            (V3_PROTOBUF_DEPRECATED, true),
        ] {
            if protobuf || !clause.matches("application", subtype) {
                continue;
            }
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            insert_etag(&mut headers, &doc.etag);
            if let Some(hash) = query_hash(request) {
                if hash != doc.etag {
                    let location = format!("/openapi/v3/{key}?hash={}", doc.etag);
                    let mut response = empty(StatusCode::MOVED_PERMANENTLY);
                    if let Ok(value) = HeaderValue::from_str(&location) {
                        headers.insert(header::LOCATION, value);
                    }
                    *response.headers_mut() = headers;
                    return response;
                }
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, immutable"),
                );
                if let Ok(value) = HeaderValue::from_str(&expires_in_a_year()) {
                    headers.insert(header::EXPIRES, value);
                }
            }
            return serve_content(request, headers, &doc);
        }
    }
    let mut response = empty(StatusCode::NOT_ACCEPTABLE);
    *response.headers_mut() = headers;
    response
}

fn query_hash(request: &Request) -> Option<String> {
    let query = request.uri().query()?;
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == "hash" && !value.is_empty()).then(|| value.to_owned())
    })
}

fn insert_etag(headers: &mut HeaderMap, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(header::ETAG, value);
    }
}

/// One clause of an `Accept` header (Go: `goautoneg.Accept`).
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    ty: String,
    subtype: String,
    q: f64,
}

impl Clause {
    fn matches(&self, ty: &str, subtype: &str) -> bool {
        (self.ty == ty || self.ty == "*") && (self.subtype == subtype || self.subtype == "*")
    }
}

/// The clauses of the `Accept` header (`*/*` when absent), best first (Go:
/// `goautoneg.ParseAccept`).
fn accept_clauses(request: &Request) -> Vec<Clause> {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .unwrap_or("*/*");
    parse_accept(accept)
}

fn parse_accept(accept: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or_default();
        let mut halves = range.split('/');
        let ty = halves.next().unwrap_or_default().trim().to_owned();
        let subtype = match (halves.next(), halves.next()) {
            (None, _) if ty == "*" => "*".to_owned(),
            (Some(subtype), None) => subtype.trim().to_owned(),
            _ => continue,
        };
        let mut q = 1.0;
        for param in pieces {
            if let Some((name, value)) = param.split_once('=')
                && name.trim() == "q"
            {
                q = value.trim().parse().unwrap_or(0.0);
            }
        }
        clauses.push(Clause { ty, subtype, q });
    }
    clauses.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| (a.ty == "*").cmp(&(b.ty == "*")))
            .then_with(|| (a.subtype == "*").cmp(&(b.subtype == "*")))
    });
    clauses
}

const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

fn http_date(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime(HTTP_DATE).to_string()
}

fn parse_http_date(value: &str) -> Option<jiff::Timestamp> {
    let civil = jiff::civil::DateTime::strptime(HTTP_DATE, value).ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Go's `time.Now().AddDate(1, 0, 0).Format(time.RFC1123)` on a server whose
/// local zone is UTC.
fn expires_in_a_year() -> String {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let later = now.checked_add(jiff::Span::new().years(1)).unwrap_or(now);
    later.strftime("%a, %d %b %Y %H:%M:%S UTC").to_string()
}

/// Splits an `If-None-Match`/`If-Match` list into entity tags.
fn etag_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .collect()
}

fn weak_match(candidate: &str, etag: &str) -> bool {
    candidate == "*" || candidate.trim_start_matches("W/") == etag.trim_start_matches("W/")
}

fn strong_match(candidate: &str, etag: &str) -> bool {
    candidate == "*"
        || (!candidate.starts_with("W/") && !etag.starts_with("W/") && candidate == etag)
}

/// Go's `http.ServeContent` for a complete body: conditional requests, then
/// `Last-Modified`, `Accept-Ranges`, `Content-Length` and the body (none for
/// HEAD). `headers` already hold `Content-Type`, `ETag`, `Vary`.
fn serve_content(request: &Request, mut headers: HeaderMap, doc: &Arc<Doc>) -> Response {
    if !headers.contains_key(header::ETAG) {
        insert_etag(&mut headers, &doc.etag);
    }
    let etag = format!("\"{}\"", doc.etag);
    let modified_seconds = doc.last_modified.as_second();
    let request_headers = request.headers();
    let get_or_head = request.method() == Method::GET || request.method() == Method::HEAD;
    let header_str =
        |name: header::HeaderName| request_headers.get(name).and_then(|v| v.to_str().ok());

    let mut precondition_failed = false;
    if let Some(if_match) = header_str(header::IF_MATCH) {
        precondition_failed = !etag_list(if_match)
            .iter()
            .any(|tag| strong_match(tag, &etag));
    } else if let Some(since) = header_str(header::IF_UNMODIFIED_SINCE).and_then(parse_http_date) {
        precondition_failed = modified_seconds > since.as_second();
    }
    if precondition_failed {
        return empty(StatusCode::PRECONDITION_FAILED);
    }
    let mut not_modified = false;
    if let Some(if_none_match) = header_str(header::IF_NONE_MATCH) {
        if etag_list(if_none_match)
            .iter()
            .any(|tag| weak_match(tag, &etag))
        {
            if !get_or_head {
                return empty(StatusCode::PRECONDITION_FAILED);
            }
            not_modified = true;
        }
    } else if get_or_head
        && let Some(since) = header_str(header::IF_MODIFIED_SINCE).and_then(parse_http_date)
    {
        not_modified = modified_seconds <= since.as_second();
    }
    if not_modified {
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::CONTENT_LENGTH);
        let mut response = empty(StatusCode::NOT_MODIFIED);
        *response.headers_mut() = headers;
        return response;
    }
    if let Ok(value) = HeaderValue::from_str(&http_date(doc.last_modified)) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(doc.body.len()));
    let body = if request.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(doc.body.clone())
    };
    let mut response = Response::new(body);
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_accept(accept: &str, expected: &[(&str, &str)]) {
        let clauses = parse_accept(accept);
        let got: Vec<(&str, &str)> = clauses
            .iter()
            .map(|c| (c.ty.as_str(), c.subtype.as_str()))
            .collect();
        assert_eq!(got, expected, "{accept}");
    }

    #[test]
    fn parses_accept_like_goautoneg() {
        check_accept("*/*", &[("*", "*")]);
        check_accept("*", &[("*", "*")]);
        check_accept("garbage", &[]);
        check_accept(
            "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            &[
                (
                    "application",
                    "com.github.proto-openapi.spec.v2@v1.0+protobuf",
                ),
                ("application", "json"),
            ],
        );
        check_accept(
            "*/*, application/json",
            &[("application", "json"), ("*", "*")],
        );
    }

    #[test]
    fn http_dates_round_trip() {
        let timestamp: jiff::Timestamp = "2025-11-29T15:11:00Z".parse().unwrap();
        let text = http_date(timestamp);
        assert_eq!(text, "Sat, 29 Nov 2025 15:11:00 GMT");
        assert_eq!(parse_http_date(&text), Some(timestamp));
    }
}
