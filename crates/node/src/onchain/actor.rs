//! The chain task: owns the block follower, polls the backend, applies blocks to the wallet,
//! fans events out to subscribers in order, and rebroadcasts our transactions until they are
//! confirmed. Watches are commands to this task, so a watch and the blocks around it are
//! handled in one order: blocks already delivered are looked up in [`RecentBlocks`], later
//! ones are searched by the follower.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::{OutPoint, Transaction, Txid};
use shandian_chain::follower::{self, Follower};
use shandian_chain::{BlockRef, Broadcaster, ChainEvent, ChainSource, Wallet};
use shandian_regtest::ChainTip;
use shandian_types::BlockHeight;
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use super::recent::RecentBlocks;

/// Blocks connected per follower round, so commands are not starved during a long catch-up.
const BATCH: usize = 50;
/// Blocks remembered for watches registered after their block went by.
const RECENT_BLOCKS: usize = 288;
/// A broadcast transaction is forgotten once this deep (a reorg deeper than this is not
/// expected) or, still unconfirmed, after this many blocks.
const TRACK_UNTIL_DEPTH: u32 = 6;
const TRACK_AT_MOST_BLOCKS: u32 = 2016;
/// Polls between two mempool scans of the wallet when no block arrives.
const MEMPOOL_EVERY_POLLS: u32 = 5;

/// What the handles ask of the task.
pub(crate) enum Command {
    Subscribe(mpsc::UnboundedSender<ChainEvent>),
    WatchTx(Txid, oneshot::Sender<()>),
    WatchOutput(OutPoint, oneshot::Sender<()>),
    Confirmations(Txid, oneshot::Sender<Option<u32>>),
    /// Where a transaction confirmed (block and index), if known.
    Position(Txid, oneshot::Sender<Option<(BlockRef, u32)>>),
    /// The spend of an output, if the follower or its recent blocks saw it.
    KnownSpend(OutPoint, oneshot::Sender<Option<(Txid, BlockRef)>>),
    /// Rebroadcast this transaction on every block until it is confirmed.
    Track(Box<Transaction>),
    /// Answer once every block up to the backend's tip at the time of the call is delivered.
    Sync(oneshot::Sender<()>),
}

/// A transaction we rebroadcast.
struct Tracked {
    tx: Transaction,
    since: BlockRef,
}

pub(crate) struct Actor {
    source: Arc<dyn ChainSource>,
    broadcaster: Arc<dyn Broadcaster>,
    wallet: Arc<Mutex<Wallet>>,
    follower: Follower,
    recent: RecentBlocks,
    subscribers: Vec<mpsc::UnboundedSender<ChainEvent>>,
    tracked: HashMap<Txid, Tracked>,
    best: watch::Sender<BlockRef>,
    polls_since_mempool: u32,
}

impl Actor {
    pub(crate) fn new(
        source: Arc<dyn ChainSource>,
        broadcaster: Arc<dyn Broadcaster>,
        wallet: Arc<Mutex<Wallet>>,
        follower: Follower,
        best: watch::Sender<BlockRef>,
    ) -> Actor {
        Actor {
            source,
            broadcaster,
            wallet,
            follower,
            recent: RecentBlocks::new(RECENT_BLOCKS),
            subscribers: Vec::new(),
            tracked: HashMap::new(),
            best,
            polls_since_mempool: 0,
        }
    }

    /// Polls until the follower has reached the backend's tip (or an error stops this round).
    pub(crate) async fn catch_up(&mut self) {
        while self.poll().await {}
        self.sync_wallet_mempool().await;
    }

    /// The task: until shutdown or every handle is gone.
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut shutdown: watch::Receiver<bool>,
        mut wake: Option<watch::Receiver<ChainTip>>,
        interval: Duration,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                command = commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    None => break,
                },
                () = tip_changed(&mut wake) => self.catch_up().await,
                _ = ticker.tick() => {
                    while self.poll().await {}
                    if self.mempool_due() {
                        self.sync_wallet_mempool().await;
                    }
                }
            }
        }
        tracing::debug!("chain task stopped");
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Subscribe(sender) => self.subscribers.push(sender),
            Command::WatchTx(txid, done) => {
                self.watch_tx(txid).await;
                let _ = done.send(());
            }
            Command::WatchOutput(outpoint, done) => {
                self.watch_output(outpoint);
                let _ = done.send(());
            }
            Command::Confirmations(txid, reply) => {
                let _ = reply.send(self.confirmations(txid).await);
            }
            Command::Position(txid, reply) => {
                let _ = reply.send(self.position(txid).await);
            }
            Command::KnownSpend(outpoint, reply) => {
                let known = match self.follower.spend_of(&outpoint) {
                    Some(spend) => Some((spend.spender, spend.block)),
                    None => self.recent.find_spend(&outpoint),
                };
                let _ = reply.send(known);
            }
            Command::Track(tx) => self.track(*tx).await,
            Command::Sync(done) => {
                self.catch_up().await;
                let _ = done.send(());
            }
        }
    }

    /// One follower round; returns whether there is more to catch up on right away.
    async fn poll(&mut self) -> bool {
        let mut events = Vec::new();
        let result =
            follower::sync(&mut self.follower, self.source.as_ref(), BATCH, &mut events).await;
        let connected = !events.is_empty();
        if connected {
            self.deliver(events).await;
        }
        match result {
            Ok(reached) => !reached,
            Err(e) => {
                tracing::warn!(error = %e, "chain poll failed; retrying");
                false
            }
        }
    }

    /// Applies a round's events: the wallet first (so a subscriber reacting to a block sees
    /// the wallet at that block), then the recent-block memory, then every subscriber.
    async fn deliver(&mut self, events: Vec<ChainEvent>) {
        let wallet = Arc::clone(&self.wallet).lock_owned().await;
        let for_wallet = events.clone();
        let applied = tokio::task::spawn_blocking(move || {
            let mut wallet = wallet;
            wallet.apply_events(&for_wallet)
        })
        .await;
        match applied {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "wallet could not apply blocks"),
            Err(e) => tracing::error!(error = %e, "wallet task failed"),
        }
        let mut new_block = false;
        for event in &events {
            match event {
                ChainEvent::BlockConnected { block, height } => {
                    let at = BlockRef { height: *height, hash: block.block_hash() };
                    self.recent.connect(block, at);
                    new_block = true;
                }
                ChainEvent::BlockDisconnected(gone) => self.recent.disconnect(*gone),
                _ => {}
            }
        }
        for event in events {
            self.publish(event);
        }
        self.best.send_replace(self.follower.best());
        if new_block {
            self.rebroadcast().await;
            self.sync_wallet_mempool().await;
        }
    }

    fn publish(&mut self, event: ChainEvent) {
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
    }

    async fn sync_wallet_mempool(&mut self) {
        self.polls_since_mempool = 0;
        let mut wallet = self.wallet.lock().await;
        if let Err(e) = wallet.sync_mempool(self.source.as_ref()).await {
            tracing::debug!(error = %e, "wallet mempool sync failed");
        }
    }

    /// Watches `txid`; if it already confirmed in a block delivered before, records that and
    /// tells subscribers now.
    /// A second watch of a transaction already seen confirmed tells subscribers again (the
    /// new watcher may have subscribed after the first report).
    async fn watch_tx(&mut self, txid: Txid) {
        if let Some(confirmations) = self.follower.confirmations(&txid) {
            // Already watched: keep its known confirmation, and repeat it.
            let best = self.follower.best().height.0;
            let height = best.checked_sub(confirmations.saturating_sub(1)).map(BlockHeight);
            let block = height
                .filter(|_| confirmations > 0)
                .and_then(|h| self.follower.hash_at(h).map(|hash| BlockRef { height: h, hash }));
            if let Some(block) = block {
                self.publish(ChainEvent::TxConfirmed { txid, block });
            }
            return;
        }
        let found = match self.recent.find_tx(&txid) {
            Some((block, _)) => Some(block),
            None => self.lookup_confirmed(txid).await,
        };
        self.follower.watch_tx(txid, found);
        if let Some(block) = found {
            self.publish(ChainEvent::TxConfirmed { txid, block });
        }
    }

    /// Watches `outpoint`; if a block delivered before spent it, tells subscribers now (also
    /// when an earlier watch already reported it: the new watcher may not have seen that).
    fn watch_output(&mut self, outpoint: OutPoint) {
        if let Some(spend) = self.follower.spend_of(&outpoint) {
            let (spender, block) = (spend.spender, spend.block);
            self.publish(ChainEvent::OutputSpent { outpoint, spender, block });
            return;
        }
        self.follower.watch_output(outpoint);
        if let Some((spender, block)) = self.recent.find_spend(&outpoint) {
            self.publish(ChainEvent::OutputSpent { outpoint, spender, block });
        }
    }

    /// The best-chain block holding `txid`, from the backend (mempool or transaction index),
    /// if it is one the follower has delivered.
    async fn lookup_confirmed(&self, txid: Txid) -> Option<BlockRef> {
        let lookup = self.source.transaction(txid).await.ok().flatten()?;
        let block = lookup.confirmed_in?;
        let delivered = block.height <= self.follower.best().height
            && self.follower.hash_at(block.height).is_none_or(|h| h == block.hash);
        delivered.then_some(block)
    }

    async fn confirmations(&self, txid: Txid) -> Option<u32> {
        if let Some(confirmations) = self.follower.confirmations(&txid) {
            if confirmations > 0 {
                return Some(confirmations);
            }
        }
        if let Some((block, _)) = self.recent.find_tx(&txid) {
            return Some(self.follower.depth(block.height));
        }
        let lookup = self.source.transaction(txid).await.ok().flatten()?;
        Some(lookup.confirmed_in.map_or(0, |b| self.follower.depth(b.height)))
    }

    async fn position(&self, txid: Txid) -> Option<(BlockRef, u32)> {
        if let Some(found) = self.recent.find_tx(&txid) {
            return Some(found);
        }
        let block = self.source.transaction(txid).await.ok().flatten()?.confirmed_in?;
        let full = self.source.block(block.hash).await.ok().flatten()?;
        let index = full.txdata.iter().position(|t| t.compute_txid() == txid)?;
        Some((block, u32::try_from(index).ok()?))
    }

    async fn track(&mut self, tx: Transaction) {
        let txid = tx.compute_txid();
        self.watch_tx(txid).await;
        self.tracked.entry(txid).or_insert(Tracked { tx, since: self.follower.best() });
    }

    /// Rebroadcasts every tracked transaction that is still unconfirmed; forgets those deep
    /// enough or tracked too long.
    async fn rebroadcast(&mut self) {
        let best = self.follower.best();
        let mut done = Vec::new();
        for (txid, tracked) in &self.tracked {
            let confirmations = self.follower.confirmations(txid).unwrap_or(0);
            let age = best.height.0.saturating_sub(tracked.since.height.0);
            if confirmations >= TRACK_UNTIL_DEPTH
                || (confirmations == 0 && age > TRACK_AT_MOST_BLOCKS)
            {
                done.push(*txid);
                continue;
            }
            if confirmations > 0 {
                continue;
            }
            match self.broadcaster.broadcast(&tracked.tx).await {
                Ok(_) => tracing::debug!(%txid, "rebroadcast"),
                Err(e) if e.is_already_known() => {}
                Err(e) => tracing::debug!(%txid, error = %e, "rebroadcast refused"),
            }
        }
        // Still watched: someone else may be counting its confirmations.
        for txid in done {
            self.tracked.remove(&txid);
        }
    }

    /// Counts a poll without a block; true when the wallet's mempool view is due a refresh.
    fn mempool_due(&mut self) -> bool {
        self.polls_since_mempool = self.polls_since_mempool.saturating_add(1);
        self.polls_since_mempool >= MEMPOOL_EVERY_POLLS
    }
}

/// Completes when the embedded chain's tip changes; never without one.
async fn tip_changed(wake: &mut Option<watch::Receiver<ChainTip>>) {
    match wake {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                *wake = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
