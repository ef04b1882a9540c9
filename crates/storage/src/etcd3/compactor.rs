//! The etcd3 backend's periodic compaction, as kube-apiserver's compactor
//! (`pkg/storage/etcd3/compact.go`) runs it.
//!
//! The key `compact_rev_key` holds the last compacted revision, and its
//! etcd *version* (how many times it was written) serves as a logical clock
//! shared by every server on the etcd. Each interval a server compares the
//! key's version with the one it last saw: when equal, it writes the
//! revision it noted one interval earlier (bumping the version) and compacts
//! etcd to it; when not, another server compacted this interval, and it
//! adopts that server's version. Either way it notes the current revision
//! for the next round. So the history kept spans about one interval, at
//! most one server compacts per interval, and when that server goes away
//! another takes over within two intervals. The first round only records a
//! revision: nothing is compacted at start-up.

use std::time::Duration;

use etcd_client::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse};

use super::Inner;
use crate::error::{Error, Result};

/// The key kube-apiserver coordinates compaction through (at the root of
/// etcd's key space, under the backend's key namespace if it has one).
const COMPACT_REV_KEY: &str = "compact_rev_key";

/// Compacts every `interval` until the backend is dropped.
pub(super) async fn run(inner: Inner, interval: Duration) {
    let key = format!("{}{COMPACT_REV_KEY}", inner.key_prefix);
    let mut state = Round::default();
    loop {
        tokio::select! {
            () = inner.stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        match compact(&inner, &key, state).await {
            Ok(next) => state = next,
            Err((next, err)) => {
                state = next;
                tracing::warn!(error = %err, "etcd compaction failed");
            }
        }
    }
}

/// What one round leaves for the next.
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    /// The version of `compact_rev_key` last seen (the logical time).
    version: i64,
    /// The etcd revision seen at the last round: the next compaction target.
    revision: i64,
}

/// One round. On error, returns the state to continue with: unchanged when
/// the compare-and-swap itself failed, advanced when only the compaction did.
async fn compact(inner: &Inner, key: &str, last: Round) -> Result<Round, (Round, Error)> {
    let txn = Txn::new()
        .when([Compare::version(key, CompareOp::Equal, last.version)])
        .and_then([TxnOp::put(key, last.revision.to_string(), None)])
        .or_else([TxnOp::get(key, None)]);
    let mut kv = inner.client.kv_client();
    let response = inner
        .bounded(inner.request_timeout, kv.txn(txn))
        .await
        .map_err(|err| (last, err))?;
    let current = response.header().map_or(0, |header| header.revision());
    if !response.succeeded() {
        // Another server compacted this round: adopt its clock.
        let seen = match response.op_responses().into_iter().next() {
            Some(TxnOpResponse::Get(get)) => get.kvs().first().cloned(),
            _ => None,
        };
        let version = seen.as_ref().map_or(0, |kv| kv.version());
        if let Some(compacted) = seen
            .as_ref()
            .and_then(|kv| std::str::from_utf8(kv.value()).ok())
            .and_then(|value| value.parse::<i64>().ok())
        {
            inner.saw_compaction(compacted);
        }
        return Ok(Round {
            version,
            revision: current,
        });
    }
    let next = Round {
        version: last.version + 1,
        revision: current,
    };
    // The first round only records where to compact next time.
    if last.revision == 0 {
        return Ok(next);
    }
    match inner
        .bounded(inner.request_timeout, kv.compact(last.revision, None))
        .await
    {
        // Someone compacted past it already (for example by hand).
        Ok(_) | Err(Error::Compacted { .. }) => {
            inner.saw_compaction(last.revision);
            tracing::debug!(revision = last.revision, "etcd compacted");
            Ok(next)
        }
        Err(err) => Err((next, err)),
    }
}
