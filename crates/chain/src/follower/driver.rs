//! Feeding a [`Follower`] from a [`ChainSource`]: finding the fork point, then disconnecting and
//! connecting blocks; and a small tokio task that does so on a timer.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::{OutPoint, Txid};
use shandian_types::BlockHeight;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use super::core::{ChainEvent, Follower, Spend};
use crate::{BlockRef, ChainSource, Error};

/// How often [`sync`] restarts when the source's chain changes under it before giving up on
/// this round (the next poll tries again).
const MAX_ROUNDS: usize = 8;

/// Brings `follower` to the source's tip, pushing events onto `events` as they happen (so
/// events of blocks already processed are kept even when a later call fails). Connects at most
/// `max_connects` blocks; returns whether the follower reached the tip it last saw.
pub async fn sync(
    follower: &mut Follower,
    source: &(impl ChainSource + ?Sized),
    max_connects: usize,
    events: &mut Vec<ChainEvent>,
) -> Result<bool, Error> {
    let mut budget = max_connects;
    for _ in 0..MAX_ROUNDS {
        let tip = source.tip().await?;
        if tip.hash == follower.best().hash {
            return Ok(true);
        }
        let Some(fork) = fork_point(follower, source, tip.height).await? else {
            continue; // the source's chain shrank while we looked: start over
        };
        while follower.best().height > fork {
            events.extend(follower.disconnect_tip()?);
        }
        match connect_up_to(follower, source, tip.height, &mut budget, events).await? {
            Connected::Reached if follower.best().hash == tip.hash => return Ok(true),
            Connected::BudgetSpent => return Ok(false),
            Connected::Reached | Connected::SourceChanged => {}
        }
    }
    Ok(false)
}

/// The highest height at which the follower and the source agree; `None` if the source
/// changed while we looked.
async fn fork_point(
    follower: &Follower,
    source: &(impl ChainSource + ?Sized),
    source_height: BlockHeight,
) -> Result<Option<BlockHeight>, Error> {
    let mut height = follower.best().height.min(source_height);
    loop {
        let Some(ours) = follower.hash_at(height) else {
            return Err(Error::ReorgTooDeep(follower.recent().count()));
        };
        let Some(theirs) = source.block_hash(height).await? else {
            return Ok(None);
        };
        if ours == theirs {
            return Ok(Some(height));
        }
        let Some(lower) = height.0.checked_sub(1) else {
            return Err(Error::ReorgTooDeep(follower.recent().count()));
        };
        height = BlockHeight(lower);
    }
}

enum Connected {
    Reached,
    BudgetSpent,
    SourceChanged,
}

async fn connect_up_to(
    follower: &mut Follower,
    source: &(impl ChainSource + ?Sized),
    target: BlockHeight,
    budget: &mut usize,
    events: &mut Vec<ChainEvent>,
) -> Result<Connected, Error> {
    while follower.best().height < target {
        if *budget == 0 {
            return Ok(Connected::BudgetSpent);
        }
        let height = BlockHeight(follower.best().height.0.saturating_add(1));
        let Some(hash) = source.block_hash(height).await? else {
            return Ok(Connected::SourceChanged);
        };
        let Some(block) = source.block(hash).await? else {
            return Err(Error::BlockMissing(hash));
        };
        match follower.connect_block(Arc::new(block)) {
            Ok(new) => events.extend(new),
            Err(Error::DoesNotConnect { .. }) => return Ok(Connected::SourceChanged),
            Err(e) => return Err(e),
        }
        *budget -= 1;
    }
    Ok(Connected::Reached)
}

/// A follower shared with a background polling task.
#[derive(Clone)]
pub struct FollowerHandle {
    inner: Arc<Mutex<Follower>>,
}

impl FollowerHandle {
    /// The best block delivered so far.
    pub async fn best(&self) -> BlockRef {
        self.inner.lock().await.best()
    }

    /// See [`Follower::watch_tx`].
    pub async fn watch_tx(&self, txid: Txid, confirmed_in: Option<BlockRef>) {
        self.inner.lock().await.watch_tx(txid, confirmed_in);
    }

    /// See [`Follower::watch_output`].
    pub async fn watch_output(&self, outpoint: OutPoint) {
        self.inner.lock().await.watch_output(outpoint);
    }

    /// See [`Follower::confirmations`].
    pub async fn confirmations(&self, txid: &Txid) -> Option<u32> {
        self.inner.lock().await.confirmations(txid)
    }

    /// See [`Follower::spend_of`].
    pub async fn spend_of(&self, outpoint: &OutPoint) -> Option<Spend> {
        self.inner.lock().await.spend_of(outpoint)
    }
}

/// Blocks connected per lock hold, so watch calls are not starved during a long catch-up.
const BATCH: usize = 50;

/// Spawns a task that polls `source` every `interval` and sends the follower's events, in
/// order, to the returned receiver. The task ends when the receiver is dropped, or with the
/// error when the follower cannot continue ([`Error::ReorgTooDeep`]); transient errors are
/// logged and retried at the next poll.
pub fn spawn_follower(
    source: Arc<dyn ChainSource>,
    follower: Follower,
    interval: Duration,
) -> (FollowerHandle, mpsc::Receiver<ChainEvent>, JoinHandle<Result<(), Error>>) {
    let handle = FollowerHandle { inner: Arc::new(Mutex::new(follower)) };
    let (sender, receiver) = mpsc::channel(1024);
    let inner = handle.inner.clone();
    let task = tokio::spawn(async move {
        loop {
            let mut events = Vec::new();
            let result = {
                let mut follower = inner.lock().await;
                sync(&mut follower, source.as_ref(), BATCH, &mut events).await
            };
            for event in events {
                if sender.send(event).await.is_err() {
                    return Ok(());
                }
            }
            match result {
                Ok(false) => continue, // more blocks to catch up on
                Ok(true) => {}
                Err(e @ Error::ReorgTooDeep(_)) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "chain follower poll failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = sender.closed() => return Ok(()),
            }
        }
    });
    (handle, receiver, task)
}
