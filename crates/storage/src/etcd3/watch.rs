//! Watches of the etcd3 backend: one etcd watch per [`Backend::watch`] call,
//! each on its own gRPC stream and driven by its own task, which forwards
//! mapped responses, sends `WatchProgressRequest`s when the backend asks for
//! progress, and cancels the etcd watch when the returned stream is dropped.
//!
//! [`Backend::watch`]: crate::Backend::watch

use etcd_client::GetOptions;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{Inner, map_error};
use crate::backend::{Event, WatchResponse, WatchStream, prefix_end};
use crate::error::{Error, Result};

/// How many mapped responses may wait for a slow reader before the task
/// stops reading from etcd (etcd then buffers, and eventually cancels a
/// watch that falls too far behind with a compaction).
const BUFFERED_RESPONSES: usize = 64;

/// Opens an etcd watch over `prefix` and returns once etcd has confirmed it,
/// so every write after this returns is seen.
pub(super) async fn start(
    inner: &Inner,
    prefix: &str,
    start_revision: i64,
    progress_notify: bool,
) -> Result<WatchStream> {
    if start_revision < 0 {
        return Err(Error::InvalidRequest(format!(
            "negative start revision {start_revision}"
        )));
    }
    let key = format!("{}{prefix}", inner.key_prefix);
    if start_revision > 1 {
        check_not_compacted(inner, start_revision).await?;
    }
    let range_end = prefix_end(&key).unwrap_or_else(|| vec![0]);
    let mut options = etcd_client::WatchOptions::new()
        .with_range(range_end)
        .with_prev_key()
        .with_start_revision(start_revision);
    if progress_notify {
        options = options.with_progress_notify();
    }
    let mut client = inner.client.watch_client();
    let stream = inner
        .bounded(inner.request_timeout, client.watch(key, Some(options)))
        .await?;
    let (mut requests, mut responses) = stream.split();
    let watch_id = loop {
        let response = match tokio::time::timeout(inner.request_timeout, responses.next()).await {
            Err(_) => {
                return Err(Error::Unavailable(format!(
                    "etcd did not confirm the watch within {:?}",
                    inner.request_timeout
                )));
            }
            Ok(None) => {
                return Err(Error::Unavailable(
                    "etcd closed the watch stream before confirming the watch".into(),
                ));
            }
            Ok(Some(response)) => response.map_err(map_error)?,
        };
        if response.canceled() {
            return Err(canceled(&response, start_revision));
        }
        if response.created() {
            break response.watch_id();
        }
    };

    let (tx, rx) = mpsc::channel(BUFFERED_RESPONSES);
    let inner = inner.clone();
    let mut progress = inner.progress.subscribe();
    tokio::spawn(async move {
        loop {
            let item = tokio::select! {
                () = inner.stop.cancelled() => {
                    let _ = tx.try_send(Err(Error::Unavailable("the etcd backend was dropped".into())));
                    break;
                }
                () = tx.closed() => break,
                changed = progress.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    match requests.request_progress().await {
                        Ok(()) => continue,
                        Err(err) => Err(map_error(err)),
                    }
                }
                response = responses.next() => match response {
                    Some(Ok(response)) => match inner.convert(&response, start_revision) {
                        Ok(Some(item)) => Ok(item),
                        Ok(None) => continue,
                        Err(err) => Err(err),
                    },
                    Some(Err(err)) => Err(map_error(err)),
                    None => Err(Error::Unavailable("etcd closed the watch stream".into())),
                },
            };
            let last = item.is_err();
            if tx.send(item).await.is_err() || last {
                break;
            }
        }
        // Dropping `requests` ends the gRPC stream, which cancels the watch
        // on etcd's side too; the explicit cancel just says so first.
        let _ = requests.cancel(watch_id).await;
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

/// Fails with `Compacted` when `start_revision` is at or below the compacted
/// revision. etcd itself refuses only revisions below it; but the event at
/// the compacted revision comes without its previous value (compacted away),
/// so the backend contract refuses that revision too. A read one revision
/// earlier tells, in one cheap round trip.
async fn check_not_compacted(inner: &Inner, start_revision: i64) -> Result<()> {
    // Any key will do: etcd checks the revision before it reads.
    let key = format!("{}{}", inner.key_prefix, inner.health_key);
    let options = GetOptions::new()
        .with_revision(start_revision - 1)
        .with_count_only()
        .with_limit(1);
    let mut kv = inner.client.kv_client();
    match inner
        .bounded(inner.request_timeout, kv.get(key, Some(options)))
        .await
    {
        Ok(_) => Ok(()),
        Err(Error::Compacted { .. }) => {
            let compacted = match inner.compacted_revision().await {
                Ok(compacted) => compacted,
                Err(_) => start_revision - 1,
            };
            Err(Error::Compacted {
                requested: start_revision,
                compacted,
            })
        }
        // A watch may start one past the current revision (the next write);
        // what that read says about the future is not this check's business.
        Err(Error::FutureRevision { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

impl Inner {
    /// Maps one etcd watch response: events, a progress notification, or
    /// the error that ends the watch; `None` for responses with nothing to
    /// say (a cancel confirmation).
    fn convert(
        &self,
        response: &etcd_client::WatchResponse,
        start_revision: i64,
    ) -> Result<Option<WatchResponse>> {
        if response.canceled() || response.compact_revision() != 0 {
            self.saw_compaction(response.compact_revision());
            return Err(canceled(response, start_revision));
        }
        if response.created() {
            return Ok(None);
        }
        if response.events().is_empty() {
            let revision = response.header().map_or(0, |header| header.revision());
            return Ok(Some(WatchResponse::Progress { revision }));
        }
        let events = response
            .events()
            .iter()
            .map(|event| self.event(event))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(WatchResponse::Events(events)))
    }

    fn event(&self, event: &etcd_client::Event) -> Result<Event> {
        let Some(kv) = event.kv() else {
            return Err(Error::Corrupt {
                key: String::new(),
                message: "etcd sent a watch event without its key-value".into(),
            });
        };
        let prev = event
            .prev_kv()
            .map(|prev| self.key_value(prev.clone()))
            .transpose()?;
        match event.event_type() {
            etcd_client::EventType::Put => Ok(Event::Put {
                kv: self.key_value(kv.clone())?,
                prev,
            }),
            etcd_client::EventType::Delete => {
                let key = self.strip_key(kv.key().to_vec())?;
                // etcd drops the previous value when it was compacted away
                // before the watch caught up; Kubernetes treats that as an
                // error too ("etcd event received with PrevKv=nil").
                let Some(prev) = prev else {
                    return Err(Error::Corrupt {
                        key,
                        message: "etcd sent a delete event without the previous value".into(),
                    });
                };
                Ok(Event::Delete {
                    key,
                    revision: kv.mod_revision(),
                    prev,
                })
            }
        }
    }
}

/// The error of a watch etcd canceled.
fn canceled(response: &etcd_client::WatchResponse, start_revision: i64) -> Error {
    if response.compact_revision() != 0 {
        return Error::Compacted {
            requested: start_revision,
            compacted: response.compact_revision(),
        };
    }
    let reason = response.cancel_reason();
    if reason.is_empty() {
        Error::Unavailable("etcd canceled the watch".into())
    } else {
        Error::Unavailable(format!("etcd canceled the watch: {reason}"))
    }
}
