//! The SQLite backend's watches: the hub the writer publishes each
//! committed group's events to (a bounded broadcast channel, in revision
//! order), and the task behind each watch stream, which catches up from the
//! log, then follows the hub with no gap and no duplicate, and goes back to
//! the log whenever it falls behind the hub's bounded buffer.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::reader::{self, KeyRange, ReadPool};
use crate::backend::{Event, WatchResponse};
use crate::error::{Error, Result};

/// One message of the hub.
#[derive(Debug, Clone)]
pub(super) enum Message {
    /// A committed group's events, in revision order; `revision` is the
    /// store's revision after it.
    Events {
        revision: i64,
        events: Arc<Vec<Event>>,
    },
    /// Every event up to `revision` has been published; `epoch` counts the
    /// progress requests so far.
    Progress { revision: i64, epoch: u64 },
}

/// Where committed events are published.
#[derive(Debug)]
pub(super) struct Hub {
    sender: broadcast::Sender<Message>,
    /// The revision of the last published group and the number of progress
    /// requests so far. Publishing and subscribing hold the lock, so a
    /// subscriber's starting point and the messages it receives meet
    /// exactly.
    published: Mutex<Published>,
}

impl Hub {
    /// A hub holding at most `capacity` messages for the slowest watcher.
    pub(super) fn new(revision: i64, capacity: usize) -> Self {
        Hub {
            sender: broadcast::channel(capacity.max(1)).0,
            published: Mutex::new(Published { revision, epoch: 0 }),
        }
    }

    /// Publishes a committed group's events.
    pub(super) fn publish(&self, revision: i64, events: Vec<Event>) {
        let mut published = self.lock();
        published.revision = revision;
        // No receiver is not an error: nobody watches.
        let _ = self.sender.send(Message::Events {
            revision,
            events: Arc::new(events),
        });
    }

    /// Asks every watcher for a progress notification.
    pub(super) fn progress(&self) {
        let mut published = self.lock();
        published.epoch += 1;
        let _ = self.sender.send(Message::Progress {
            revision: published.revision,
            epoch: published.epoch,
        });
    }

    /// Subscribes; every event after the returned revision, and every
    /// progress request after the returned epoch, will be received.
    pub(super) fn subscribe(&self) -> (broadcast::Receiver<Message>, Published) {
        let published = self.lock();
        (self.sender.subscribe(), *published)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Published> {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// How far the hub has published.
#[derive(Debug, Clone, Copy)]
pub(super) struct Published {
    /// The revision of the last published group.
    pub(super) revision: i64,
    /// How many progress requests were published.
    pub(super) epoch: u64,
}

/// What a watch task needs.
#[derive(Debug)]
pub(super) struct WatchTask {
    pub(super) reads: Arc<ReadPool>,
    pub(super) hub: Arc<Hub>,
    pub(super) live: broadcast::Receiver<Message>,
    /// How far the hub had published when `live` subscribed.
    pub(super) subscribed_at: Published,
    pub(super) prefix: String,
    pub(super) start_revision: i64,
    pub(super) progress: Option<Duration>,
    pub(super) out: mpsc::Sender<Result<WatchResponse>>,
}

/// How following the hub ended.
enum Followed {
    /// The stream was dropped.
    Dropped,
    /// The watcher fell further behind than the hub keeps.
    Lagged,
}

impl WatchTask {
    /// Runs the watch until its stream is dropped or it fails.
    pub(super) async fn run(mut self) {
        if let Err(error) = self.serve().await {
            // The stream may be gone already; then nobody needs the error.
            let _ = self.out.send(Err(error)).await;
        }
    }

    /// Catches up from the log on the writes in `[from, subscribed_at]`,
    /// then follows the hub. A watcher that falls behind the hub's buffer
    /// subscribes again and catches up from the log once more, so a slow
    /// consumer costs disk reads, never memory; it fails with `Compacted`
    /// if the history it needs is compacted meanwhile.
    async fn serve(&mut self) -> Result<()> {
        let keys = KeyRange::prefix(&self.prefix);
        let mut from = if self.start_revision == 0 {
            self.subscribed_at.revision + 1
        } else {
            self.start_revision
        };
        // The progress requests answered so far.
        let mut answered = self.subscribed_at.epoch;
        loop {
            let to = self.subscribed_at.revision;
            if !self.catch_up(&keys, from, to).await? {
                return Ok(());
            }
            // A progress request published while this watcher was behind
            // was lost with the messages it missed: answer it now.
            if self.subscribed_at.epoch > answered {
                answered = self.subscribed_at.epoch;
                if !self.send(WatchResponse::Progress { revision: to }).await {
                    return Ok(());
                }
            }
            let mut caught_up = to;
            match self.follow(&mut caught_up, &mut answered).await? {
                Followed::Dropped => return Ok(()),
                Followed::Lagged => {
                    tracing::debug!(
                        prefix = %self.prefix,
                        revision = caught_up,
                        "sqlite watch fell behind; catching up from the log"
                    );
                    (self.live, self.subscribed_at) = self.hub.subscribe();
                    from = (caught_up + 1).max(self.start_revision);
                }
            }
        }
    }

    /// Sends the writes in `[from, to]` from the log; false when the stream
    /// was dropped.
    async fn catch_up(&self, keys: &KeyRange, mut from: i64, to: i64) -> Result<bool> {
        while from <= to {
            let chunk_keys = keys.clone();
            let events = self
                .reads
                .run(move |conn| reader::history(conn, &chunk_keys, from, to))
                .await?;
            let Some(last) = events.last().map(Event::revision) else {
                break;
            };
            from = last + 1;
            let full = events.len() as i64 == reader::HISTORY_CHUNK;
            if !self.send(WatchResponse::Events(events)).await {
                return Ok(false);
            }
            if !full {
                break;
            }
        }
        Ok(true)
    }

    /// Follows the hub, skipping what the log already gave (groups at or
    /// below `caught_up`), and sends progress notifications.
    async fn follow(&mut self, caught_up: &mut i64, answered: &mut u64) -> Result<Followed> {
        let mut deadline = self.progress.map(|every| Instant::now() + every);
        loop {
            let tick = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            // Biased: deliver what was committed before reporting progress.
            let message = tokio::select! {
                biased;
                message = self.live.recv() => message,
                () = self.out.closed() => return Ok(Followed::Dropped),
                () = tick => Ok(Message::Progress { revision: *caught_up, epoch: *answered }),
            };
            let response = match message {
                Ok(Message::Events { revision, events }) => {
                    if revision <= *caught_up {
                        continue;
                    }
                    *caught_up = revision;
                    let matching: Vec<Event> = events
                        .iter()
                        .filter(|event| {
                            event.revision() >= self.start_revision
                                && event.key().starts_with(&self.prefix)
                        })
                        .cloned()
                        .collect();
                    if matching.is_empty() {
                        continue;
                    }
                    WatchResponse::Events(matching)
                }
                Ok(Message::Progress { revision, epoch }) => {
                    *answered = epoch.max(*answered);
                    WatchResponse::Progress {
                        revision: revision.max(*caught_up),
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => return Ok(Followed::Lagged),
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(Error::Unavailable("the sqlite backend was closed".into()));
                }
            };
            if !self.send(response).await {
                return Ok(Followed::Dropped);
            }
            deadline = self.progress.map(|every| Instant::now() + every);
        }
    }

    /// Sends a response; false when the stream was dropped.
    async fn send(&self, response: WatchResponse) -> bool {
        self.out.send(Ok(response)).await.is_ok()
    }
}
