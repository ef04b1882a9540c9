//! Writing responses: objects and lists in the negotiated media type, with
//! `kind`/`apiVersion` set and `Warning` headers (Go: `response.go` and
//! `responsewriters.WriteObjectNegotiated`).

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, StatusCode, header};
use kapi_core::negotiation::{Endpoint, Negotiated, SUPPORTED_MEDIA_TYPES, negotiate_output};
use kapi_core::{Body, Request, Response, StatusError};
use kapi_storage::{Object, ObjectList};
use serde_json::{Map, Value};

use crate::info::ResourceInfo;
use crate::table::IncludeObject;

/// The negotiated output of a request (Go: `NegotiateOutputMediaType` with
/// the resource's restrictions).
#[derive(Debug)]
pub(crate) struct Output {
    negotiated: Negotiated,
    pretty: bool,
    /// The `Table` asked for, if any.
    table: Option<TableOutput>,
    /// The `PartialObjectMetadata(List)` asked for, if any.
    partial: Option<PartialOutput>,
}

/// A `PartialObjectMetadata` or `PartialObjectMetadataList` response:
/// `meta.k8s.io/<version>`.
#[derive(Debug, Clone)]
pub(crate) struct PartialOutput {
    version: String,
    list: bool,
}

/// What a watch's events are converted to.
#[derive(Debug, Clone, Default)]
pub(crate) enum WatchTarget {
    /// The objects themselves.
    #[default]
    Objects,
    /// One-row `Table`s, the first with the column definitions.
    Table(String, IncludeObject),
    /// `PartialObjectMetadata` of `meta.k8s.io/<version>`.
    Partial(String),
}

/// A `Table` response's conversion: `meta.k8s.io/<version>` and the rows'
/// `includeObject`.
#[derive(Debug)]
struct TableOutput {
    version: String,
    include: IncludeObject,
}

impl Output {
    /// Negotiates the response media type: the resource's own, a `Table`
    /// (JSON or YAML) or `PartialObjectMetadata(List)`.
    pub(crate) fn negotiate(request: &Request) -> Result<Self, StatusError> {
        let accept = request.headers().get(header::ACCEPT);
        let endpoint = Endpoint::Resource { table: true };
        let negotiated = negotiate_output(accept, &SUPPORTED_MEDIA_TYPES, endpoint)?;
        let mut table = None;
        let mut partial = None;
        match &negotiated.target {
            None => {}
            Some(target) if target.kind == "Table" => {
                let query = crate::options::Query::parse(request.uri().query());
                table = Some(TableOutput {
                    version: target.version.clone(),
                    include: IncludeObject::parse(query.get("includeObject"))?,
                });
            }
            Some(target) => {
                partial = Some(PartialOutput {
                    version: target.version.clone(),
                    list: target.kind == "PartialObjectMetadataList",
                });
            }
        }
        let pretty = negotiated.pretty
            || kapi_core::negotiation::wants_pretty(request.uri(), request.headers());
        Ok(Self {
            negotiated,
            pretty,
            table,
            partial,
        })
    }

    /// A response with `value` as its body.
    pub(crate) fn value(&self, status: StatusCode, value: &Value) -> Response {
        match self.negotiated.media_type {
            kapi_core::negotiation::MediaType::Yaml => match kapi_core::yaml::to_string(value) {
                Ok(text) => self.bytes(status, Bytes::from(text)),
                Err(err) => StatusError::internal(err).into_response(),
            },
            _ => {
                let mut json = if self.pretty {
                    serde_json::to_vec_pretty(value)
                } else {
                    serde_json::to_vec(value)
                }
                .unwrap_or_default();
                json.push(b'\n');
                self.bytes(status, Bytes::from(json))
            }
        }
    }

    /// A response with one object of the resource.
    pub(crate) fn object(
        &self,
        status: StatusCode,
        info: &ResourceInfo,
        object: Value,
    ) -> Response {
        let object = with_type_meta(info, object);
        if let Some(partial) = &self.partial {
            if partial.list {
                return not_acceptable_conversion("PartialObjectMetadataList", info, false);
            }
            return self.value(status, &partial_object(&object, &partial.version));
        }
        if let Some(table) = &self.table {
            // Go: a single object's table carries its resourceVersion.
            let mut metadata = Map::new();
            if let Some(rv) = object["metadata"]["resourceVersion"].as_str() {
                metadata.insert("resourceVersion".to_owned(), Value::String(rv.to_owned()));
            }
            let value = crate::table::table(
                info.table.as_deref(),
                &table.version,
                table.include,
                std::slice::from_ref(&object),
                metadata,
            );
            return self.value(status, &value);
        }
        self.value(status, &object)
    }

    /// A response with one stored object: in compact JSON without a
    /// conversion, its encoded bytes as they are (the watch cache's shared
    /// bytes when it came from there).
    pub(crate) fn stored_object(
        &self,
        status: StatusCode,
        info: &ResourceInfo,
        object: Object,
    ) -> Response {
        let plain_json = matches!(
            self.negotiated.media_type,
            kapi_core::negotiation::MediaType::Json
        ) && !self.pretty
            && self.table.is_none()
            && self.partial.is_none()
            && info.converter.is_none();
        if plain_json {
            let json = object_json(info, &object);
            let mut body = BytesMut::with_capacity(json.len() + 1);
            body.put_slice(&json);
            body.put_u8(b'\n');
            return self.bytes(status, body.freeze());
        }
        self.object(status, info, object.into_value())
    }

    /// A list response; in compact JSON the items' encoded bytes are
    /// written as they are (Go writes each cached object's serialization).
    pub(crate) fn list(&self, info: &ResourceInfo, list: &ObjectList) -> Response {
        let json = matches!(
            self.negotiated.media_type,
            kapi_core::negotiation::MediaType::Json
        );
        if json && !self.pretty && self.table.is_none() && self.partial.is_none() {
            return self.bytes(StatusCode::OK, list_json(info, list));
        }
        let items: Vec<Value> = list
            .items
            .iter()
            .map(|item| with_type_meta(info, item.value().clone()))
            .collect();
        let mut metadata = Map::new();
        metadata.insert(
            "resourceVersion".to_owned(),
            Value::String(list.resource_version.to_string()),
        );
        if let Some(token) = &list.continue_token {
            metadata.insert("continue".to_owned(), Value::String(token.clone()));
        }
        if let Some(remaining) = list.remaining_item_count {
            metadata.insert("remainingItemCount".to_owned(), Value::from(remaining));
        }
        if let Some(table) = &self.table {
            let value = crate::table::table(
                info.table.as_deref(),
                &table.version,
                table.include,
                &items,
                metadata,
            );
            return self.value(StatusCode::OK, &value);
        }
        if let Some(partial) = &self.partial {
            if !partial.list {
                return not_acceptable_conversion("PartialObjectMetadata", info, true);
            }
            let items: Vec<Value> = items
                .iter()
                .map(|item| partial_object(item, &partial.version))
                .collect();
            let value = serde_json::json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": format!("meta.k8s.io/{}", partial.version),
                "metadata": metadata,
                "items": items,
            });
            return self.value(StatusCode::OK, &value);
        }
        let value = serde_json::json!({
            "kind": info.list_kind,
            "apiVersion": info.api_version(),
            "metadata": metadata,
            "items": items,
        });
        self.value(StatusCode::OK, &value)
    }

    /// What a watch's events become under this negotiation.
    pub(crate) fn watch_target(&self) -> Result<WatchTarget, StatusError> {
        if let Some(table) = &self.table {
            return Ok(WatchTarget::Table(table.version.clone(), table.include));
        }
        match &self.partial {
            None => Ok(WatchTarget::Objects),
            Some(partial) if partial.list => Err(StatusError::new(
                StatusCode::NOT_ACCEPTABLE,
                kapi_core::StatusReason::NotAcceptable,
                "you requested PartialObjectMetadataList, but the requested object is not a list",
            )),
            Some(partial) => Ok(WatchTarget::Partial(partial.version.clone())),
        }
    }

    fn bytes(&self, status: StatusCode, body: Bytes) -> Response {
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.negotiated.content_type()),
        );
        response
    }
}

/// `object` as a `PartialObjectMetadata` of `meta.k8s.io/<version>` (Go:
/// `meta.AsPartialObjectMetadata` with the target's kind).
pub(crate) fn partial_object(object: &Value, version: &str) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| serde_json::json!({})),
    })
}

/// Go's 406 for a metadata conversion of the wrong shape (a list asked of
/// an object, or an object of a list).
fn not_acceptable_conversion(asked: &str, info: &ResourceInfo, is_list: bool) -> Response {
    let shape = if is_list {
        format!("is a list (*v1.{})", info.list_kind)
    } else {
        format!("is not a list (*v1.{})", info.kind)
    };
    StatusError::new(
        StatusCode::NOT_ACCEPTABLE,
        kapi_core::StatusReason::NotAcceptable,
        format!("you requested {asked}, but the requested object {shape}"),
    )
    .into_response()
}

/// The compact JSON of a list: the envelope in Go's field order around each
/// item's own bytes.
fn list_json(info: &ResourceInfo, list: &ObjectList) -> Bytes {
    let mut out = BytesMut::new();
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    out.put_slice(
        format!(
            r#"{{"kind":{},"apiVersion":{},"metadata":{{"resourceVersion":"{}""#,
            quote(&info.list_kind),
            quote(&info.api_version()),
            list.resource_version
        )
        .as_bytes(),
    );
    if let Some(token) = &list.continue_token {
        out.put_slice(format!(r#","continue":{}"#, quote(token)).as_bytes());
    }
    if let Some(remaining) = list.remaining_item_count {
        out.put_slice(format!(r#","remainingItemCount":{remaining}"#).as_bytes());
    }
    out.put_slice(br#"},"items":["#);
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&object_json(info, item));
    }
    out.put_slice(b"]}\n");
    out.freeze()
}

/// The JSON bytes of a stored object with the resource's `kind` and
/// `apiVersion`: its own shared bytes when they already say so.
pub(crate) fn object_json(info: &ResourceInfo, object: &Object) -> Bytes {
    let value = object.value();
    let api_version = info.api_version();
    if value["kind"].as_str() == Some(info.kind.as_str())
        && value["apiVersion"].as_str() == Some(api_version.as_str())
    {
        return object.json().clone();
    }
    let fixed = with_type_meta(info, value.clone());
    Bytes::from(serde_json::to_vec(&fixed).unwrap_or_default())
}

/// A stored object as the resource serves it: converted from the storage
/// version (when it has a converter), with the resource's `kind` and
/// `apiVersion`.
pub(crate) fn with_type_meta(info: &ResourceInfo, object: Value) -> Value {
    let mut object = match &info.converter {
        Some(converter) => converter.to_served(object),
        None => object,
    };
    if let Some(map) = object.as_object_mut() {
        map.insert("kind".to_owned(), Value::String(info.kind.clone()));
        map.insert("apiVersion".to_owned(), Value::String(info.api_version()));
    }
    object
}

/// Adds one `Warning: 299 - "<text>"` header per warning (Go:
/// `warning.AddWarning` with the default agent `-`).
pub(crate) fn add_warnings(response: &mut Response, warnings: Vec<String>) {
    for warning in warnings {
        let text = format!("299 - {}", kapi_core::go::quote(&warning));
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}
