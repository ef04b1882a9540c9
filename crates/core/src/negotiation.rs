//! Content negotiation: which media type a response is written in
//! ([`negotiate_output`], [`negotiate_output_stream`]), which a request body
//! is read as ([`negotiate_input`]) and which patch a `PATCH` carries
//! ([`patch_type`]).
//!
//! Mirrors `k8s.io/apiserver/pkg/endpoints/handlers/negotiation`
//! (`NegotiateOutputMediaType`, `NegotiateOutputMediaTypeStream`,
//! `NegotiateInputSerializerForMediaType`, the endpoint restrictions of
//! `handlers/rest.go` and aggregated discovery) and the patch type check of
//! `handlers/patch.go`, with Go's 406 and 415 messages.
//!
//! One deliberate difference: kapi writes no protobuf. It may still be listed
//! among the supported types (so the error messages read as
//! kube-apiserver's), but it is never chosen for a response; a client asking
//! for protobuf and JSON gets JSON, as from a custom resource endpoint.
//! Protobuf request bodies of the built-in types are decoded by
//! `kapi-endpoints` before input negotiation.
//!
//! ```
//! use http::HeaderValue;
//! use kapi_core::negotiation::{Endpoint, MediaType, SUPPORTED_MEDIA_TYPES, negotiate_output};
//!
//! let accept = HeaderValue::from_static("application/vnd.kubernetes.protobuf, application/json");
//! let chosen = negotiate_output(Some(&accept), &SUPPORTED_MEDIA_TYPES, Endpoint::Plain).unwrap();
//! assert_eq!(chosen.media_type, MediaType::Json);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};

use crate::request_info::{first, parse_query};
use crate::status::{StatusError, StatusReason};

/// A media type of kube-apiserver's serializers (Go: `runtime.SerializerInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaType {
    /// `application/json`, also streamed as `application/json;stream=watch`.
    Json,
    /// `application/yaml`, which has no stream form.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`: listed, never served by kapi.
    Protobuf,
}

/// kube-apiserver's media types in its order of preference (CBOR, alpha and
/// off by default, left out).
pub const SUPPORTED_MEDIA_TYPES: [MediaType; 3] =
    [MediaType::Json, MediaType::Yaml, MediaType::Protobuf];

impl MediaType {
    /// The media type as written in headers (`application/json`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
            Self::Protobuf => "application/vnd.kubernetes.protobuf",
        }
    }

    /// The media type of its watch stream, if it has one
    /// (`application/json;stream=watch`).
    pub const fn stream_media_type(self) -> Option<&'static str> {
        match self {
            Self::Json => Some("application/json;stream=watch"),
            Self::Yaml => None,
            Self::Protobuf => Some("application/vnd.kubernetes.protobuf;stream=watch"),
        }
    }

    /// Whether kapi can encode and decode it (everything but protobuf).
    pub const fn is_served(self) -> bool {
        !matches!(self, Self::Protobuf)
    }

    fn subtype(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yaml",
            Self::Protobuf => "vnd.kubernetes.protobuf",
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a client asked the response to be converted to, from the
/// `g`, `v` and `as` media type parameters (Go: `MediaTypeOptions.Convert`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ConversionTarget {
    /// The `g` parameter (`meta.k8s.io`).
    pub group: String,
    /// The `v` parameter (`v1`).
    pub version: String,
    /// The `as` parameter (`Table`).
    pub kind: String,
}

/// What an endpoint lets a client ask for beyond its own objects (Go:
/// `EndpointRestrictions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// No conversion at all (Go: `DefaultEndpointRestrictions`).
    Plain,
    /// A resource endpoint (Go: `RequestScope`): `meta.k8s.io` `v1` or
    /// `v1beta1` `PartialObjectMetadata` and `PartialObjectMetadataList`, and
    /// `Table` in JSON or YAML when the storage converts to tables; `sv=v1`.
    Resource {
        /// Whether the storage has a table convertor.
        table: bool,
    },
    /// Aggregated discovery (`/api`, `/apis`): only, and necessarily,
    /// `apidiscovery.k8s.io` `v2` `APIGroupDiscoveryList`.
    Discovery,
}

impl Endpoint {
    /// Go: `AllowsMediaTypeTransform`, with protobuf refused throughout.
    fn allows(self, media_type: MediaType, target: Option<&ConversionTarget>) -> bool {
        if !media_type.is_served() {
            return false;
        }
        let Some(target) = target else {
            return !matches!(self, Self::Discovery);
        };
        match self {
            Self::Plain => false,
            Self::Resource { table } => {
                target.group == "meta.k8s.io"
                    && matches!(target.version.as_str(), "v1" | "v1beta1")
                    && match target.kind.as_str() {
                        "Table" => table && matches!(media_type, MediaType::Json | MediaType::Yaml),
                        "PartialObjectMetadata" | "PartialObjectMetadataList" => true,
                        _ => false,
                    }
            }
            Self::Discovery => {
                target.group == "apidiscovery.k8s.io"
                    && target.version == "v2"
                    && target.kind == "APIGroupDiscoveryList"
            }
        }
    }

    /// Go: `AllowsServerVersion`.
    fn allows_server_version(self, version: &str) -> bool {
        matches!(self, Self::Resource { .. }) && version == "v1"
    }
}

/// The outcome of output negotiation (Go: `MediaTypeOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The media type to write.
    pub media_type: MediaType,
    /// The object to convert to (`as=Table;g=meta.k8s.io;v=v1`), if asked.
    pub target: Option<ConversionTarget>,
    /// `pretty=1` was given.
    pub pretty: bool,
    /// `stream=watch` was given.
    pub stream: bool,
    /// The `profile` parameter, if any.
    pub profile: String,
}

impl Negotiated {
    fn new(media_type: MediaType) -> Self {
        Self {
            media_type,
            target: None,
            pretty: false,
            stream: false,
            profile: String::new(),
        }
    }

    /// The `Content-Type` of the response (`application/json`).
    pub fn content_type(&self) -> &'static str {
        self.media_type.as_str()
    }

    /// The `Content-Type` with the target appended as discovery writes it
    /// (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`;
    /// Go: `generateMediaTypeWithGVK`).
    pub fn content_type_with_target(&self) -> String {
        let mut content_type = self.content_type().to_owned();
        if let Some(target) = &self.target {
            for (key, value) in [
                ("g", &target.group),
                ("v", &target.version),
                ("as", &target.kind),
            ] {
                if !value.is_empty() {
                    content_type.push_str(&format!(";{key}={value}"));
                }
            }
        }
        content_type
    }
}

/// Chooses the response media type from the `Accept` header (Go:
/// `NegotiateOutputMediaType`).
///
/// A missing or empty header picks the first served type of `supported`.
/// Otherwise the clauses are ordered by quality and specificity as Go's
/// `goautoneg` does, and the first clause that names (or matches with `*/*`,
/// `application/*`) a supported type, with parameters the `endpoint`
/// allows, wins. Nothing acceptable is a 406 listing `supported`.
pub fn negotiate_output(
    accept: Option<&HeaderValue>,
    supported: &[MediaType],
    endpoint: Endpoint,
) -> Result<Negotiated, StatusError> {
    negotiate(accept, supported, endpoint)
        .ok_or_else(|| not_acceptable(supported.iter().map(|m| m.as_str())))
}

/// Chooses the media type of a watch stream (Go:
/// `NegotiateOutputMediaTypeStream`): as [`negotiate_output`], but the
/// chosen type must have a stream form, and the 406 lists the stream types
/// (`application/json;stream=watch`).
pub fn negotiate_output_stream(
    accept: Option<&HeaderValue>,
    supported: &[MediaType],
    endpoint: Endpoint,
) -> Result<Negotiated, StatusError> {
    negotiate(accept, supported, endpoint)
        .filter(|n| n.media_type.stream_media_type().is_some())
        .ok_or_else(|| not_acceptable(supported.iter().filter_map(|m| m.stream_media_type())))
}

/// Chooses how to read a request body from its `Content-Type` (Go:
/// `NegotiateInputSerializerForMediaType`, not streaming).
///
/// A missing or empty header means the first supported type. Parameters
/// (`charset=utf-8`) are ignored but must be well-formed; the type is
/// matched case-insensitively. Anything else, and protobuf, is a 415 listing
/// `supported`.
pub fn negotiate_input(
    content_type: Option<&HeaderValue>,
    supported: &[MediaType],
) -> Result<MediaType, StatusError> {
    let raw = header_str(content_type);
    let essence = if raw.is_empty() {
        supported.first().map(|m| m.as_str().to_owned())
    } else {
        parse_media_type(&raw)
    };
    essence
        .and_then(|essence| supported.iter().copied().find(|m| m.as_str() == essence))
        .filter(|m| m.is_served())
        .ok_or_else(|| unsupported_media_type(supported.iter().map(|m| m.as_str())))
}

/// The kind of patch a `PATCH` body is (Go: `types.PatchType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

/// The patch types kube-apiserver accepts, in the order its 415 lists them
/// (`application/apply-patch+cbor`, alpha and off by default, left out).
pub const PATCH_TYPES: [PatchType; 4] = [
    PatchType::Json,
    PatchType::Merge,
    PatchType::StrategicMerge,
    PatchType::Apply,
];

impl PatchType {
    /// The media type (`application/merge-patch+json`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }
}

impl fmt::Display for PatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The patch type of a `PATCH` request's `Content-Type` (as Go's patch
/// handler reads it): everything from the first `;` on is dropped, the rest
/// must equal a patch type exactly, or it is a 415 listing [`PATCH_TYPES`].
pub fn patch_type(content_type: Option<&HeaderValue>) -> Result<PatchType, StatusError> {
    let raw = header_str(content_type);
    let essence = match raw.find(';') {
        Some(i) if i > 0 => &raw[..i],
        _ => &raw[..],
    };
    PATCH_TYPES
        .into_iter()
        .find(|p| p.as_str() == essence)
        .ok_or_else(|| unsupported_media_type(PATCH_TYPES.iter().map(|p| p.as_str())))
}

/// Whether to pretty-print the response (Go: `isPrettyPrint`): a non-empty
/// `pretty` query parameter decides (`1`, `t`, `true`… as Go's
/// `strconv.ParseBool`); otherwise user agents starting with `curl`, `Wget`
/// or `Mozilla/5.0` get it.
pub fn wants_pretty(uri: &Uri, headers: &HeaderMap) -> bool {
    if let Some(raw) = uri.query().filter(|q| q.contains("pretty")) {
        let query = parse_query(raw);
        if let Some(value) = first(&query, "pretty").filter(|v| !v.is_empty()) {
            return matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True");
        }
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .map_or(&b""[..], HeaderValue::as_bytes);
    [&b"curl"[..], b"Wget", b"Mozilla/5.0"]
        .iter()
        .any(|prefix| user_agent.starts_with(prefix))
}

/// 406 `only the following media types are accepted: <types>` (Go:
/// `NewNotAcceptableError`).
fn not_acceptable<'a>(types: impl Iterator<Item = &'a str>) -> StatusError {
    let types: Vec<_> = types.collect();
    StatusError::new(
        StatusCode::NOT_ACCEPTABLE,
        StatusReason::NotAcceptable,
        format!(
            "only the following media types are accepted: {}",
            types.join(", ")
        ),
    )
}

/// 415 `the body of the request was in an unknown format - accepted media
/// types include: <types>` (Go: `NewUnsupportedMediaTypeError`).
fn unsupported_media_type<'a>(types: impl Iterator<Item = &'a str>) -> StatusError {
    let types: Vec<_> = types.collect();
    StatusError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusReason::UnsupportedMediaType,
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            types.join(", ")
        ),
    )
}

/// A header's text; bytes that are not UTF-8 become U+FFFD, which matches
/// no media type.
fn header_str(value: Option<&HeaderValue>) -> String {
    value.map_or_else(String::new, |v| {
        String::from_utf8_lossy(v.as_bytes()).into_owned()
    })
}

/// Go: `NegotiateMediaTypeOptions`.
fn negotiate(
    accept: Option<&HeaderValue>,
    supported: &[MediaType],
    endpoint: Endpoint,
) -> Option<Negotiated> {
    let header = header_str(accept);
    if header.is_empty() {
        return supported
            .iter()
            .copied()
            .find(|m| m.is_served())
            .map(Negotiated::new);
    }
    for clause in parse_accept(&header) {
        for &media_type in supported {
            let matches = (clause.type_ == "application"
                && (clause.subtype == media_type.subtype() || clause.subtype == "*"))
                || (clause.type_ == "*" && clause.subtype == "*");
            if matches && let Some(negotiated) = accept_options(&clause, media_type, endpoint) {
                return Some(negotiated);
            }
        }
    }
    None
}

/// Go: `acceptMediaTypeOptions`: whether `media_type` with the clause's
/// parameters is acceptable for the endpoint.
fn accept_options(
    clause: &Clause,
    media_type: MediaType,
    endpoint: Endpoint,
) -> Option<Negotiated> {
    let mut negotiated = Negotiated::new(media_type);
    for (key, value) in &clause.params {
        match key.as_str() {
            "as" => negotiated.target.get_or_insert_with(Default::default).kind = value.clone(),
            "g" => negotiated.target.get_or_insert_with(Default::default).group = value.clone(),
            "v" => {
                negotiated
                    .target
                    .get_or_insert_with(Default::default)
                    .version = value.clone()
            }
            "stream" => {
                if !value.is_empty()
                    && (media_type.stream_media_type().is_none() || value != "watch")
                {
                    return None;
                }
                negotiated.stream = !value.is_empty();
            }
            // A server version (`sv`) only a resource endpoint serves, as `v1`.
            "sv" if !value.is_empty() && !endpoint.allows_server_version(value) => return None,
            "pretty" => negotiated.pretty = value == "1",
            "profile" => negotiated.profile = value.clone(),
            // `sv` when allowed, `export` (long gone) and unknown parameters
            // change nothing.
            _ => {}
        }
    }
    endpoint
        .allows(media_type, negotiated.target.as_ref())
        .then_some(negotiated)
}

/// One clause of an `Accept` header (Go: `goautoneg.Accept`).
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    type_: String,
    subtype: String,
    q: f64,
    params: BTreeMap<String, String>,
}

/// Parses an `Accept` header as Go's `goautoneg.ParseAccept` does, quirks
/// included: no lowercasing, `*` alone means `*/*`, a clause without exactly
/// one `/` is dropped, a malformed `q` is 0, a parameter without `=` is
/// skipped, and the clauses are sorted with goautoneg's comparison (higher
/// `q` first, or a concrete type before a wildcard).
fn parse_accept(header: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    for part in header.split(',') {
        let part = part.trim_matches(' ');
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or_default();
        let mut halves = range.split('/');
        let type_ = halves.next().unwrap_or_default().trim_matches(' ');
        let subtype = match (halves.next(), halves.next()) {
            (None, _) if type_ == "*" => "*",
            (Some(subtype), None) => subtype.trim_matches(' '),
            _ => continue,
        };
        let mut clause = Clause {
            type_: type_.to_owned(),
            subtype: subtype.to_owned(),
            q: 1.0,
            params: BTreeMap::new(),
        };
        for param in pieces {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim_matches(' ');
            if key == "q" {
                // Go parses the untrimmed value at 32-bit precision and
                // ignores the error, leaving 0 (or ±Inf when out of range).
                clause.q = value.parse::<f32>().map_or(0.0, f64::from);
            } else {
                clause
                    .params
                    .insert(key.to_owned(), value.trim_matches(' ').to_owned());
            }
        }
        clauses.push(clause);
    }
    sort_clauses(&mut clauses);
    clauses
}

/// goautoneg's ordering. Its comparison is not a consistent order, so the
/// result depends on the algorithm: Go's sort runs an insertion sort on up
/// to 12 elements, reproduced here; longer headers are ordered by a stable
/// sort on (q, concrete type, concrete subtype), which agrees with it for
/// every header that is consistently ordered.
fn sort_clauses(clauses: &mut [Clause]) {
    fn less(a: &Clause, b: &Clause) -> bool {
        a.q > b.q || (a.type_ != "*" && b.type_ == "*") || (a.subtype != "*" && b.subtype == "*")
    }
    if clauses.len() <= 12 {
        for i in 1..clauses.len() {
            let mut j = i;
            while j > 0 && less(&clauses[j], &clauses[j - 1]) {
                clauses.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        clauses.sort_by(|a, b| {
            b.q.total_cmp(&a.q)
                .then((a.type_ == "*").cmp(&(b.type_ == "*")))
                .then((a.subtype == "*").cmp(&(b.subtype == "*")))
        });
    }
}

/// Validates a media type as Go's `mime.ParseMediaType` does and returns
/// its lowercased `type/subtype`; `None` where Go returns an error.
fn parse_media_type(value: &str) -> Option<String> {
    let (base, mut rest) = value.split_at(value.find(';').unwrap_or(value.len()));
    let essence = base.to_lowercase().trim().to_owned();
    let (type_, after) = consume_token(&essence);
    if type_.is_empty() {
        return None;
    }
    if !after.is_empty() {
        let (subtype, after) = consume_token(after.strip_prefix('/')?);
        if subtype.is_empty() || !after.is_empty() {
            return None;
        }
    }
    let mut params = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some((key, value, after)) = consume_param(rest) else {
            // A trailing `;` is tolerated; anything else is malformed.
            if rest.trim() == ";" {
                break;
            }
            return None;
        };
        if params.get(&key).is_some_and(|v| *v != value) {
            return None;
        }
        params.insert(key, value);
        rest = after;
    }
    Some(essence)
}

/// Go: `consumeMediaParam`: `; key=value` with a token key (lowercased) and a
/// token or quoted-string value.
fn consume_param(input: &str) -> Option<(String, String, &str)> {
    let rest = input.trim_start().strip_prefix(';')?.trim_start();
    let (key, rest) = consume_token(rest);
    if key.is_empty() {
        return None;
    }
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let (value, after) = consume_value(rest)?;
    if value.is_empty() && after.len() == rest.len() {
        return None;
    }
    Some((key.to_lowercase(), value, after))
}

/// Go: `consumeValue`: a token, or a quoted string whose backslash escapes a
/// tspecial (any other backslash is literal). `None` on an unterminated
/// string or a CR/LF inside it.
fn consume_value(input: &str) -> Option<(String, &str)> {
    let Some(quoted) = input.strip_prefix('"') else {
        let (token, rest) = consume_token(input);
        return Some((token.to_owned(), rest));
    };
    let bytes = quoted.as_bytes();
    let mut value = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // `"` is ASCII, so `i + 1` is a char boundary.
            b'"' => {
                return Some((
                    String::from_utf8_lossy(&value).into_owned(),
                    &quoted[i + 1..],
                ));
            }
            b'\\' if bytes.get(i + 1).is_some_and(|&b| is_tspecial(b)) => {
                value.push(bytes[i + 1]);
                i += 2;
                continue;
            }
            b'\r' | b'\n' => return None,
            b => value.push(b),
        }
        i += 1;
    }
    None
}

/// Splits off the leading run of token characters.
fn consume_token(input: &str) -> (&str, &str) {
    // Token characters are ASCII, so the split index is a char boundary.
    let end = input
        .bytes()
        .position(|b| !(b > 0x20 && b < 0x7f && !is_tspecial(b)))
        .unwrap_or(input.len());
    input.split_at(end)
}

fn is_tspecial(b: u8) -> bool {
    b"()<>@,;:\\\"/[]?=".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[MediaType] = &SUPPORTED_MEDIA_TYPES;
    const NOT_ACCEPTABLE: &str = "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf";
    const TABLE_V1: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
    const KUBECTL_GET: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn output(
        accept: &str,
        supported: &[MediaType],
        endpoint: Endpoint,
    ) -> Result<Negotiated, StatusError> {
        let header = HeaderValue::from_str(accept).unwrap();
        negotiate_output(Some(&header), supported, endpoint)
    }

    /// `Ok((media type, (group, version, kind) target))` or `Err(message)` (always a 406).
    type Outcome = Result<
        (
            MediaType,
            Option<(&'static str, &'static str, &'static str)>,
        ),
        &'static str,
    >;

    fn check_output(accept: &str, supported: &[MediaType], endpoint: Endpoint, expected: Outcome) {
        let actual = output(accept, supported, endpoint);
        match (&actual, expected) {
            (Ok(n), Ok((media_type, target))) => {
                let t = n
                    .target
                    .as_ref()
                    .map(|t| (t.group.as_str(), t.version.as_str(), t.kind.as_str()));
                assert_eq!((n.media_type, t), (media_type, target), "{accept:?}");
            }
            (Err(e), Err(message)) => {
                assert_eq!(e.message(), message, "{accept:?}");
                assert_eq!(
                    (e.code(), e.reason()),
                    (StatusCode::NOT_ACCEPTABLE, StatusReason::NotAcceptable)
                );
            }
            _ => panic!("{accept:?} on {endpoint:?}: expected {expected:?}, got {actual:?}"),
        }
    }

    /// Go's `TestNegotiate` cases (with kapi's types standing in for its fakes)
    /// and the cases issue 4 names.
    #[test]
    fn output_negotiation() {
        use Endpoint::*;
        use MediaType::*;
        let json = Ok((Json, None));
        let cases: &[(&str, &[MediaType], Endpoint, Outcome)] = &[
            ("", &[Json], Plain, json),
            ("*/*", &[Json], Plain, json),
            ("application/*", &[Json], Plain, json),
            ("application/json", &[Json], Plain, json),
            ("application/json", &[Json, Protobuf], Plain, json),
            ("application/json; pretty=1", &[Json], Plain, json),
            (
                "unrecognized/stuff,application/json; pretty=1",
                &[Json],
                Plain,
                json,
            ),
            (
                "application/json;as=BOGUS;v=v1beta1;g=meta.k8s.io, application/json",
                &[Json],
                Plain,
                json,
            ),
            ("application/BOGUS, application/json", &[Json], Plain, json),
            (
                "",
                &[],
                Plain,
                Err("only the following media types are accepted: "),
            ),
            (
                "*/*",
                &[],
                Plain,
                Err("only the following media types are accepted: "),
            ),
            // issue 4
            (
                "application/vnd.kubernetes.protobuf",
                ALL,
                Plain,
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/vnd.kubernetes.protobuf",
                ALL,
                Resource { table: true },
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/vnd.kubernetes.protobuf, application/json",
                ALL,
                Plain,
                json,
            ),
            ("application/vnd.kubernetes.protobuf,*/*", ALL, Plain, json),
            ("application/yaml", ALL, Plain, Ok((Yaml, None))),
            ("", ALL, Plain, json),
            // q-values and wildcards, ordered as goautoneg orders them
            ("application/yaml;q=0.5, application/json", ALL, Plain, json),
            (
                "application/json;q=0.5, application/yaml;q=0.9",
                ALL,
                Plain,
                Ok((Yaml, None)),
            ),
            ("*/*;q=0.1, application/yaml", ALL, Plain, Ok((Yaml, None))),
            (
                "application/*, application/yaml",
                ALL,
                Plain,
                Ok((Yaml, None)),
            ),
            ("*, text/html", ALL, Plain, json),
            ("application/json;q=0", ALL, Plain, json),
            (
                "text/html, application/xml",
                ALL,
                Plain,
                Err(NOT_ACCEPTABLE),
            ),
            ("Application/JSON", ALL, Plain, Err(NOT_ACCEPTABLE)),
            ("application/json/x", ALL, Plain, Err(NOT_ACCEPTABLE)),
            ("application/json;stream=watch", ALL, Plain, json),
            (
                "application/yaml;stream=watch",
                ALL,
                Plain,
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/json;stream=other",
                ALL,
                Plain,
                Err(NOT_ACCEPTABLE),
            ),
            ("application/json;sv=v1", ALL, Plain, Err(NOT_ACCEPTABLE)),
            (
                "application/json;sv=v1",
                ALL,
                Resource { table: false },
                json,
            ),
            // conversion targets on a resource endpoint
            (
                TABLE_V1,
                ALL,
                Resource { table: true },
                Ok((Json, Some(("meta.k8s.io", "v1", "Table")))),
            ),
            (
                KUBECTL_GET,
                ALL,
                Resource { table: true },
                Ok((Json, Some(("meta.k8s.io", "v1", "Table")))),
            ),
            (KUBECTL_GET, ALL, Resource { table: false }, json),
            (KUBECTL_GET, ALL, Plain, json),
            (TABLE_V1, ALL, Plain, Err(NOT_ACCEPTABLE)),
            (
                "application/yaml;as=Table;v=v1beta1;g=meta.k8s.io",
                ALL,
                Resource { table: true },
                Ok((Yaml, Some(("meta.k8s.io", "v1beta1", "Table")))),
            ),
            (
                "application/json;as=Table;v=v2;g=meta.k8s.io",
                ALL,
                Resource { table: true },
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/json;as=Table;v=v1",
                ALL,
                Resource { table: true },
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/json;as=Table",
                ALL,
                Resource { table: true },
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/json;as=Pod;v=v1;g=",
                ALL,
                Resource { table: true },
                Err(NOT_ACCEPTABLE),
            ),
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
                ALL,
                Resource { table: false },
                Ok((
                    Json,
                    Some(("meta.k8s.io", "v1", "PartialObjectMetadataList")),
                )),
            ),
            (
                "application/yaml;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                ALL,
                Resource { table: false },
                Ok((Yaml, Some(("meta.k8s.io", "v1", "PartialObjectMetadata")))),
            ),
            // aggregated discovery
            (
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
                ALL,
                Discovery,
                Ok((
                    Json,
                    Some(("apidiscovery.k8s.io", "v2", "APIGroupDiscoveryList")),
                )),
            ),
            (
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
                ALL,
                Discovery,
                Err(NOT_ACCEPTABLE),
            ),
            ("application/json", ALL, Discovery, Err(NOT_ACCEPTABLE)),
            // a server listing only what kapi serves
            (
                "application/vnd.kubernetes.protobuf",
                &[Json, Yaml],
                Plain,
                Err(
                    "only the following media types are accepted: application/json, application/yaml",
                ),
            ),
        ];
        for (accept, supported, endpoint, expected) in cases {
            check_output(accept, supported, *endpoint, *expected);
        }
        assert_eq!(
            negotiate_output(None, ALL, Endpoint::Plain)
                .unwrap()
                .media_type,
            MediaType::Json
        );
        assert!(negotiate_output(None, &[MediaType::Protobuf], Endpoint::Plain).is_err());
    }

    #[test]
    fn output_parameters() {
        let n = output(
            "application/json; pretty=1;profile=x ;stream=watch",
            ALL,
            Endpoint::Plain,
        )
        .unwrap();
        assert_eq!((n.pretty, n.profile.as_str(), n.stream), (true, "x", true));
        let n = output(TABLE_V1, ALL, Endpoint::Resource { table: true }).unwrap();
        assert_eq!(n.content_type(), "application/json");
        assert_eq!(
            n.content_type_with_target(),
            "application/json;g=meta.k8s.io;v=v1;as=Table"
        );
        assert_eq!(
            output("application/yaml", ALL, Endpoint::Plain)
                .unwrap()
                .content_type_with_target(),
            "application/yaml"
        );
    }

    #[test]
    fn stream_negotiation() {
        let stream = |accept: &str| {
            let header = HeaderValue::from_str(accept).unwrap();
            negotiate_output_stream(Some(&header), ALL, Endpoint::Plain)
                .map(|n| n.media_type)
                .map_err(|e| e.message().to_owned())
        };
        let refused = "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch";
        assert_eq!(stream("application/json"), Ok(MediaType::Json));
        assert_eq!(
            stream(
                "application/vnd.kubernetes.protobuf;stream=watch, application/json;stream=watch"
            ),
            Ok(MediaType::Json)
        );
        assert_eq!(stream("application/yaml").unwrap_err(), refused);
        assert_eq!(
            stream("application/vnd.kubernetes.protobuf").unwrap_err(),
            refused
        );
    }

    /// goautoneg's comparison is no order; Go's insertion sort decides.
    #[test]
    fn accept_order() {
        let order = |header: &str| {
            parse_accept(header)
                .into_iter()
                .map(|c| format!("{}/{}", c.type_, c.subtype))
                .collect::<Vec<_>>()
        };
        assert_eq!(order("a/b;q=0.5, */*"), ["*/*", "a/b"]);
        // The same clauses in the other order sort the other way.
        assert_eq!(order("*/*, a/b;q=0.5"), ["a/b", "*/*"]);
        assert_eq!(order("a/*, a/b, */*;q=1"), ["a/b", "a/*", "*/*"]);
        assert_eq!(order("a/b;q=x, c/d"), ["c/d", "a/b"]);
        assert_eq!(order("a/b;q= 1, c/d;q=0.1"), ["c/d", "a/b"]);
        assert_eq!(order(" , a, a/b/c, /, a/b"), ["/", "a/b"]);
    }

    #[test]
    fn input_negotiation() {
        let unsupported = "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf";
        let cases: &[(&str, Result<MediaType, &str>)] = &[
            ("", Ok(MediaType::Json)),
            ("application/json", Ok(MediaType::Json)),
            ("application/json; charset=utf-8", Ok(MediaType::Json)),
            ("Application/JSON;charset=\"utf-8\"", Ok(MediaType::Json)),
            ("  application/yaml ; charset=utf-8;", Ok(MediaType::Yaml)),
            ("application/yaml;a=1;a=1", Ok(MediaType::Yaml)),
            ("application/json;a=1;a=2", Err(unsupported)),
            ("application/json;charset", Err(unsupported)),
            ("application/json;charset=", Err(unsupported)),
            ("application/json;charset=\"utf-8", Err(unsupported)),
            ("application/json charset=utf-8", Err(unsupported)),
            ("application/vnd.kubernetes.protobuf", Err(unsupported)),
            ("application/json-patch+json", Err(unsupported)),
            ("text/plain", Err(unsupported)),
            ("application", Err(unsupported)),
            ("/json", Err(unsupported)),
        ];
        for (content_type, expected) in cases {
            let header = HeaderValue::from_str(content_type).unwrap();
            let actual = negotiate_input(Some(&header), ALL).map_err(|e| {
                assert_eq!(
                    (e.code(), e.reason()),
                    (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        StatusReason::UnsupportedMediaType
                    )
                );
                e.message().to_owned()
            });
            assert_eq!(actual, expected.map_err(str::to_owned), "{content_type:?}");
        }
        assert_eq!(negotiate_input(None, ALL), Ok(MediaType::Json));
        assert_eq!(
            negotiate_input(None, &[]).unwrap_err().message(),
            "the body of the request was in an unknown format - accepted media types include: "
        );
    }

    #[test]
    fn patch_types() {
        let unsupported = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";
        let cases: &[(Option<&str>, Result<PatchType, &str>)] = &[
            (Some("application/json-patch+json"), Ok(PatchType::Json)),
            (Some("application/merge-patch+json"), Ok(PatchType::Merge)),
            (
                Some("application/merge-patch+json; charset=utf-8"),
                Ok(PatchType::Merge),
            ),
            (
                Some("application/strategic-merge-patch+json"),
                Ok(PatchType::StrategicMerge),
            ),
            (Some("application/apply-patch+yaml"), Ok(PatchType::Apply)),
            (Some("application/apply-patch+cbor"), Err(unsupported)),
            (
                Some("application/merge-patch+json ; charset=utf-8"),
                Err(unsupported),
            ),
            (Some("Application/Merge-Patch+JSON"), Err(unsupported)),
            (Some("application/json"), Err(unsupported)),
            (Some(";application/json-patch+json"), Err(unsupported)),
            (Some(""), Err(unsupported)),
            (None, Err(unsupported)),
        ];
        for (content_type, expected) in cases {
            let header = content_type.map(|c| HeaderValue::from_str(c).unwrap());
            let actual = patch_type(header.as_ref()).map_err(|e| {
                assert_eq!(e.code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
                e.message().to_owned()
            });
            assert_eq!(actual, expected.map_err(str::to_owned), "{content_type:?}");
        }
    }

    #[test]
    fn pretty() {
        let cases = [
            ("/api/v1/pods?pretty=true", "", true),
            ("/api/v1/pods?pretty=1", "kubectl", true),
            ("/api/v1/pods?pretty=0", "curl/8.0", false),
            ("/api/v1/pods?pretty=yes", "curl/8.0", false),
            ("/api/v1/pods?pretty=", "curl/8.0", true),
            ("/api/v1/pods", "curl/8.0", true),
            ("/api/v1/pods", "Wget/1.21", true),
            ("/api/v1/pods", "Mozilla/5.0 (X11)", true),
            ("/api/v1/pods", "kubectl/v1.33", false),
            ("/api/v1/pods?notpretty=1", "", false),
        ];
        for (uri, user_agent, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_str(user_agent).unwrap(),
            );
            assert_eq!(
                wants_pretty(&uri.parse().unwrap(), &headers),
                expected,
                "{uri} {user_agent}"
            );
        }
    }

    /// Garbage headers never panic, in any negotiation.
    #[test]
    fn garbage_does_not_panic() {
        let pieces = [
            "",
            ",",
            ";",
            "=",
            "*",
            "/",
            "\"",
            "\\",
            "q=",
            "q=1e99",
            "q=nan",
            "application",
            "json",
            "as=Table",
            "g=meta.k8s.io",
            "v=v1",
            "stream=watch",
            " ",
            "é",
            "\t",
        ];
        let mut headers: Vec<Vec<u8>> = vec![vec![0xff, b'/', 0xfe], b"a/b;q=0.1,".repeat(50)];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    headers.push(format!("{a}{b}{c}").into_bytes());
                    headers.push(format!("{a}/{b};{c}").into_bytes());
                }
            }
        }
        for bytes in headers {
            let Ok(header) = HeaderValue::from_bytes(&bytes) else {
                continue;
            };
            for endpoint in [
                Endpoint::Plain,
                Endpoint::Resource { table: true },
                Endpoint::Discovery,
            ] {
                let _ = negotiate_output(Some(&header), ALL, endpoint);
                let _ = negotiate_output_stream(Some(&header), ALL, endpoint);
            }
            let _ = negotiate_input(Some(&header), ALL);
            let _ = patch_type(Some(&header));
        }
    }
}
