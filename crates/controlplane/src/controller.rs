//! The loop kapi's in-process controllers share (Go's informer plus work
//! queue, reduced to what they need): list every object of one store, let
//! the controller act on the list, then sleep until the store reports a
//! change, or a short while when the controller has work pending.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kapi_storage::ListOptions;
use kapi_storage::registry::{RequestContext, Store};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// How long a controller with pending work waits before the next pass.
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// How long a controller without pending work waits when nothing changes
/// (a resync, as informers do).
const RESYNC: Duration = Duration::from_secs(300);

/// Runs `sync` over every object of `store` (all namespaces) once at start,
/// after each change, and every [`RETRY`] while `sync` returns `true`
/// (work pending), until `stop` is cancelled.
pub(crate) async fn run<F, Fut>(name: &str, store: Arc<Store>, stop: CancellationToken, mut sync: F)
where
    F: FnMut(Vec<Value>) -> Fut,
    Fut: Future<Output = bool>,
{
    let ctx = RequestContext::cluster();
    while !stop.is_cancelled() {
        let (pending, resource_version) = match store.list(&ctx, &ListOptions::default()).await {
            Ok(list) => {
                let objects = list.items.into_iter().map(|o| o.into_value()).collect();
                (sync(objects).await, list.resource_version.to_string())
            }
            Err(err) => {
                tracing::warn!(controller = name, error = %err.message(), "list failed");
                (true, String::new())
            }
        };
        let wait = tokio::time::sleep(if pending { RETRY } else { RESYNC });
        tokio::pin!(wait);
        let mut options = ListOptions::default();
        options.resource_version = resource_version;
        let watch = if options.resource_version.is_empty() {
            None
        } else {
            store.watch(&ctx, &options).await.ok()
        };
        let Some(mut watch) = watch else {
            tokio::select! {
                () = stop.cancelled() => return,
                () = &mut wait => continue,
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = &mut wait => {}
            // Any event (or the watch ending) means: look again.
            _ = watch.next() => {}
        }
    }
}
