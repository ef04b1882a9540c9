//! Serving a watch: newline-delimited JSON `{"type","object"}` frames over
//! a chunked response, bookmarks, an `ERROR` event for a failure
//! mid-stream, and the stream's timeout (Go: `watch.go`'s
//! `serveWatchHandler` and `WatchServer`).

use std::convert::Infallible;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header};
use kapi_core::{Body, Response, StatusError};
use kapi_storage::{ObjectWatch, WatchEvent};
use serde_json::{Value, json};

use crate::info::ResourceInfo;
use crate::response::{WatchTarget, object_json, partial_object, with_type_meta};

/// What a watch stream needs besides its events.
#[derive(Debug)]
pub(crate) struct WatchStream {
    pub(crate) info: ResourceInfo,
    pub(crate) allow_bookmarks: bool,
    pub(crate) timeout: Duration,
    /// What the events' objects become.
    pub(crate) target: WatchTarget,
}

impl WatchStream {
    /// The 200 response streaming `watch` until it ends, fails (one
    /// `ERROR` event) or `timeout` passes.
    pub(crate) fn into_response(self, watch: ObjectWatch) -> Response {
        let deadline = Box::pin(tokio::time::sleep(self.timeout));
        let state = (watch, deadline, false);
        // Only a table watch's first row carries the column definitions.
        let headers_sent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stream = futures::stream::unfold(state, move |(mut watch, mut deadline, done)| {
            let info = self.info.clone();
            let allow_bookmarks = self.allow_bookmarks;
            let target = self.target.clone();
            let headers_sent = headers_sent.clone();
            async move {
                if done {
                    return None;
                }
                loop {
                    let event = tokio::select! {
                        () = &mut deadline => return None,
                        event = watch.next() => event?,
                    };
                    let frame = match event {
                        Ok(WatchEvent::Bookmark { .. }) if !allow_bookmarks => continue,
                        Ok(event) => match &target {
                            WatchTarget::Objects => frame(&info, &event),
                            target => converted_frame(&info, &event, target, &headers_sent),
                        },
                        Err(err) => {
                            let status = watch_error(err).to_status();
                            let object = serde_json::to_vec(&status).unwrap_or_default();
                            let frame = encode_frame("ERROR", &object);
                            return Some((Ok::<Bytes, Infallible>(frame), (watch, deadline, true)));
                        }
                    };
                    return Some((Ok(frame), (watch, deadline, false)));
                }
            }
        });
        let mut response = Response::new(Body::from_stream(stream));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        response
    }
}

/// One event's frame.
fn frame(info: &ResourceInfo, event: &WatchEvent) -> Bytes {
    match event {
        WatchEvent::Added(object) => encode_frame("ADDED", &object_json(info, object)),
        WatchEvent::Modified(object) => encode_frame("MODIFIED", &object_json(info, object)),
        WatchEvent::Deleted(object) => encode_frame("DELETED", &object_json(info, object)),
        WatchEvent::Bookmark {
            resource_version,
            initial_events_end,
        } => {
            let object = bookmark(info, *resource_version, *initial_events_end);
            encode_frame("BOOKMARK", &serde_json::to_vec(&object).unwrap_or_default())
        }
    }
}

/// A bookmark's object: the resource's type and only the revision (and,
/// ending the initial events, Go's annotation).
fn bookmark(info: &ResourceInfo, resource_version: i64, initial_events_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": info.kind, "apiVersion": info.api_version(), "metadata": metadata})
}

/// One event's frame with its object converted to a one-row `Table` or a
/// `PartialObjectMetadata` (Go: the watch encoder's `doTransformObject`).
fn converted_frame(
    info: &ResourceInfo,
    event: &WatchEvent,
    target: &WatchTarget,
    headers_sent: &std::sync::atomic::AtomicBool,
) -> Bytes {
    let (event_type, object) = match event {
        WatchEvent::Added(object) => ("ADDED", with_type_meta(info, object.value().clone())),
        WatchEvent::Modified(object) => ("MODIFIED", with_type_meta(info, object.value().clone())),
        WatchEvent::Deleted(object) => ("DELETED", with_type_meta(info, object.value().clone())),
        WatchEvent::Bookmark {
            resource_version,
            initial_events_end,
        } => (
            "BOOKMARK",
            bookmark(info, *resource_version, *initial_events_end),
        ),
    };
    let converted = match target {
        WatchTarget::Objects => object,
        WatchTarget::Partial(version) => partial_object(&object, version),
        WatchTarget::Table(version, include) => {
            let mut metadata = serde_json::Map::new();
            if let Some(rv) = object["metadata"]["resourceVersion"].as_str() {
                metadata.insert("resourceVersion".to_owned(), json!(rv));
            }
            let rows: &[Value] = if event_type == "BOOKMARK" {
                &[]
            } else {
                std::slice::from_ref(&object)
            };
            let mut table =
                crate::table::table(info.table.as_deref(), version, *include, rows, metadata);
            if event_type == "BOOKMARK" {
                table["rows"] = Value::Null;
                table["columnDefinitions"] = Value::Null;
            } else if headers_sent.swap(true, std::sync::atomic::Ordering::Relaxed) {
                table["columnDefinitions"] = Value::Null;
            }
            table
        }
    };
    encode_frame(
        event_type,
        &serde_json::to_vec(&converted).unwrap_or_default(),
    )
}

/// `{"type":"<type>","object":<object>}\n`.
fn encode_frame(event_type: &str, object: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(object.len() + 32);
    out.put_slice(br#"{"type":""#);
    out.put_slice(event_type.as_bytes());
    out.put_slice(br#"","object":"#);
    out.put_slice(object);
    out.put_slice(b"}\n");
    out.freeze()
}

/// The Status of a watch that failed mid-stream: a compacted revision is
/// 410 Expired (Go: the etcd3 watcher's message), anything else internal.
fn watch_error(err: kapi_storage::Error) -> StatusError {
    match err {
        kapi_storage::Error::Api(status) => *status,
        kapi_storage::Error::Compacted { .. } => {
            StatusError::expired("The resourceVersion for the provided watch is too old.")
        }
        err => StatusError::internal(err),
    }
}
