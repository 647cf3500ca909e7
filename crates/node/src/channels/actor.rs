//! The actor: its thread, its batches, and what happens after each batch commits.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::Transaction;
use shandian_channel::{ChannelRecord, CloseReason, Event};
use shandian_types::{BlockHeight, ChannelId, ShortChannelId};
use shandian_wire::Message;
use tokio::sync::{mpsc, watch};

use super::inbox::Input;
use super::keys::KeyIndexes;
use super::ops::Ops;
use super::state::{Entry, Waiters};
use super::{ChainOpError, ChannelChain, ChannelsError, ChannelsHandle, ChannelsStart};
use crate::onchain::{ClosedChannel, MonitorHandle};
use crate::store::Store;
use crate::switch::HtlcHandler;
use crate::{ChannelsConfig, NodeHandle, PeerInfo};

/// The most inputs one batch takes (bounds a batch's latency under a flood).
const MAX_BATCH: usize = 4096;

/// What the actor uses but never changes.
pub(crate) struct Env {
    pub(crate) node: NodeHandle,
    pub(crate) chain: Arc<dyn ChannelChain>,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) config: ChannelsConfig,
    pub(crate) chain_hash: ChainHash,
    pub(crate) seed: [u8; 32],
    pub(crate) node_id: PublicKey,
    pub(crate) secp: Secp256k1<All>,
    /// Where spawned tasks report back.
    pub(crate) inputs: mpsc::UnboundedSender<Input>,
    outbox: mpsc::UnboundedSender<Vec<Outgoing>>,
    /// Where channels closed other than cooperatively go after the batch commits.
    pub(crate) monitor: Option<MonitorHandle>,
}

/// A message for a peer, on the connection it was meant for.
pub(crate) type Outgoing = (PublicKey, u64, Message);

/// The channels and everything the actor remembers between batches.
pub(crate) struct State {
    pub(crate) entries: HashMap<ChannelId, Entry>,
    pub(crate) by_scid: HashMap<ShortChannelId, ChannelId>,
    /// Connected peers and their connection's id.
    pub(crate) peers: HashMap<PublicKey, (PeerInfo, u64)>,
    pub(crate) best_block: BlockHeight,
    pub(crate) keys: KeyIndexes,
    pub(crate) waiters: Waiters,
    /// Peers' `channel_update`s for short channel ids we do not know yet (their block may
    /// reach the peer before us), applied once we do.
    pub(crate) early_updates: HashMap<ShortChannelId, (PublicKey, shandian_wire::ChannelUpdate)>,
}

/// Something the batch must act on after the input that caused it.
pub(crate) enum Note {
    /// An event of a channel.
    Event(ChannelId, Event),
    /// An HTLC we offered was forgotten before it was signed.
    Dropped(ChannelId, u64),
    /// The channel is re-established: hand its unsettled incoming HTLCs to the handler again.
    Redrive(ChannelId),
    /// A new chain tip.
    Block(BlockHeight),
}

/// Runs once a transaction was handed to the chain backend (or failed to be).
pub(crate) type Broadcasted = Box<dyn FnOnce(Result<(), &ChainOpError>) + Send>;

/// What one batch produced, executed once it commits.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) now: u64,
    pub(crate) sends: Vec<Outgoing>,
    /// Transactions to broadcast, each with what to do once the backend took it.
    pub(crate) broadcasts: Vec<(ChannelId, Transaction, Vec<Broadcasted>)>,
    pub(crate) after: Vec<Box<dyn FnOnce() + Send>>,
    pub(crate) notes: VecDeque<Note>,
    /// Channels whose state must be written.
    pub(crate) dirty: BTreeSet<ChannelId>,
    /// Channels with updates to sign at the end of the batch.
    pub(crate) to_commit: BTreeSet<ChannelId>,
    /// The latest funded record each channel handed out in this batch.
    pub(crate) snapshots: HashMap<ChannelId, Box<ChannelRecord>>,
    /// Funded channels that closed in this batch: why, and their last funded record.
    pub(crate) closed: Vec<(ChannelId, CloseReason, Vec<u8>)>,
    pub(crate) stop: bool,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) async fn start(
    inputs: mpsc::UnboundedSender<Input>,
    queue: mpsc::UnboundedReceiver<Input>,
    start: ChannelsStart,
) -> Result<ChannelsHandle, ChannelsError> {
    let ChannelsStart { node, chain, store, seed, handler, monitor } = start;
    let config = node.config().clone();
    let best_block = chain.best_height().await;
    let mut loaded = super::restore::load(&store, &seed, &config.data_dir)?;
    // First in the queue: the dropped offers resolve before any new HTLC reuses their ids.
    for (channel_id, htlc_ids) in std::mem::take(&mut loaded.forgotten) {
        tracing::info!(channel = %channel_id, "the restart forgot our unsigned HTLCs {htlc_ids:?}");
        let _ = inputs.send(Input::Forgotten(channel_id, htlc_ids));
    }
    // Subscribed first: a funding spend is then either in a block delivered to us from now
    // on, or found by the start-up check for spends made while we were down (or both).
    let mut events = chain.subscribe();
    super::restore::locate_funding(&chain, &mut loaded.entries, &inputs).await;
    let (outbox, outbox_rx) = mpsc::unbounded_channel();
    let runtime = tokio::runtime::Handle::current();
    runtime.spawn(run_outbox(node.clone(), outbox_rx));
    let chain_inputs = inputs.clone();
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if chain_inputs.send(Input::Chain(event)).is_err() {
                return;
            }
        }
    });
    let env = Env {
        node: node.clone(),
        chain: chain.clone(),
        runtime,
        config: config.channels.clone(),
        chain_hash: ChainHash::using_genesis_block(config.network),
        seed,
        node_id: node.node_id(),
        secp: Secp256k1::new(),
        inputs: inputs.clone(),
        outbox,
        monitor,
    };
    let mut state = State {
        entries: HashMap::new(),
        by_scid: HashMap::new(),
        peers: HashMap::new(),
        best_block,
        keys: loaded.keys,
        waiters: Waiters::default(),
        early_updates: HashMap::new(),
    };
    for entry in loaded.entries {
        if let Some(id) = super::summary::id_of(&entry) {
            if let Some(scid) = entry.short_channel_id() {
                state.by_scid.insert(scid, id);
            }
            state.entries.insert(id, entry);
        }
    }
    super::restore::redial(&env, &loaded.peers);
    if let Some(monitor) = &env.monitor {
        // Outcomes the monitor records from now on wake the actor; those recorded before
        // (a crash between the monitor's write and the report) are read by the first batch.
        let wake = inputs.clone();
        monitor.on_htlc_outcomes(Box::new(move || {
            let _ = wake.send(Input::OnchainHtlcs);
        }));
    }
    let _ = inputs.send(Input::OnchainHtlcs);
    let (stopped_tx, stopped) = watch::channel(false);
    let actor = Actor { env, state, handler, store, queue };
    std::thread::Builder::new()
        .name("channels".into())
        .spawn(move || {
            actor.run();
            stopped_tx.send_replace(true);
        })
        .map_err(ChannelsError::Thread)?;
    Ok(ChannelsHandle { inputs, chain, node, stopped })
}

/// Sends each committed batch's messages, in order.
async fn run_outbox(node: NodeHandle, mut outbox: mpsc::UnboundedReceiver<Vec<Outgoing>>) {
    while let Some(batch) = outbox.recv().await {
        for (peer, connection, message) in batch {
            if let Err(e) = node.send_on(peer, connection, message).await {
                tracing::debug!(%peer, "message not sent: {e}");
            }
        }
    }
}

struct Actor {
    env: Env,
    state: State,
    handler: Box<dyn HtlcHandler>,
    store: Store,
    queue: mpsc::UnboundedReceiver<Input>,
}

impl Actor {
    fn run(mut self) {
        while let Some(first) = self.queue.blocking_recv() {
            let mut inputs = vec![first];
            while inputs.len() < MAX_BATCH {
                match self.queue.try_recv() {
                    Ok(input) => inputs.push(input),
                    Err(_) => break,
                }
            }
            let Actor { env, state, handler, store, .. } = &mut self;
            let started = std::time::Instant::now();
            let inputs_len = inputs.len();
            let mut batch = Batch { now: unix_now(), ..Batch::default() };
            let written = store.write(|writer| {
                let mut ops = Ops { env, state, batch: &mut batch, writer };
                for input in inputs {
                    ops.input(input, handler.as_mut())?;
                }
                ops.finish(handler.as_mut())
            });
            if let Err(e) = written {
                // Never speak from state that was not persisted: stop everything.
                tracing::error!("channel state could not be stored, stopping the node: {e}");
                let node = self.env.node.clone();
                self.env.runtime.spawn(async move { node.shutdown().await });
                return;
            }
            tracing::debug!(
                inputs = inputs_len,
                sends = batch.sends.len(),
                micros = started.elapsed().as_micros() as u64,
                "batch committed"
            );
            let stop = batch.stop;
            self.after_commit(batch);
            if stop {
                return;
            }
        }
    }

    /// Executes what a committed batch produced: messages, broadcasts, then callbacks.
    fn after_commit(&mut self, batch: Batch) {
        if !batch.sends.is_empty() {
            let _ = self.env.outbox.send(batch.sends);
        }
        for (channel_id, tx, callbacks) in batch.broadcasts {
            let chain = self.env.chain.clone();
            self.env.runtime.spawn(async move {
                let txid = tx.compute_txid();
                let result = chain.broadcast(tx).await;
                match &result {
                    Ok(()) => tracing::info!(channel = %channel_id, %txid, "broadcast"),
                    Err(e) => tracing::warn!(channel = %channel_id, %txid, "broadcast failed: {e}"),
                }
                for callback in callbacks {
                    callback(result.as_ref().map(|_| ()));
                }
            });
        }
        for (channel_id, reason, record) in batch.closed {
            if let (Some(monitor), Some(closed)) =
                (&self.env.monitor, for_monitor(&self.state, channel_id, &reason, record))
            {
                monitor.watch(closed);
            }
        }
        for task in batch.after {
            task();
        }
    }
}

/// What the monitor watches of a closed channel: nothing after a cooperative close (the
/// closing transaction pays both wallets directly) or for a channel never funded.
pub(crate) fn for_monitor(
    state: &State,
    channel_id: ChannelId,
    reason: &CloseReason,
    record: Vec<u8>,
) -> Option<ClosedChannel> {
    if matches!(reason, CloseReason::Cooperative | CloseReason::Forgotten) {
        return None;
    }
    let key_index = state.entries.get(&channel_id)?.key_index;
    Some(ClosedChannel::new(channel_id, key_index, record, reason))
}
