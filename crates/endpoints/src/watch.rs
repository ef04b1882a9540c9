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
use serde_json::json;

use crate::info::ResourceInfo;
use crate::response::object_json;

/// What a watch stream needs besides its events.
#[derive(Debug)]
pub(crate) struct WatchStream {
    pub(crate) info: ResourceInfo,
    pub(crate) allow_bookmarks: bool,
    pub(crate) timeout: Duration,
}

impl WatchStream {
    /// The 200 response streaming `watch` until it ends, fails (one
    /// `ERROR` event) or `timeout` passes.
    pub(crate) fn into_response(self, watch: ObjectWatch) -> Response {
        let deadline = Box::pin(tokio::time::sleep(self.timeout));
        let state = (watch, deadline, false);
        let stream = futures::stream::unfold(state, move |(mut watch, mut deadline, done)| {
            let info = self.info.clone();
            let allow_bookmarks = self.allow_bookmarks;
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
                        Ok(event) => frame(&info, &event),
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
            let mut metadata = json!({"resourceVersion": resource_version.to_string()});
            if *initial_events_end {
                metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            let object = json!({
                "kind": info.kind,
                "apiVersion": info.api_version(),
                "metadata": metadata,
            });
            encode_frame("BOOKMARK", &serde_json::to_vec(&object).unwrap_or_default())
        }
    }
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
