//! Inputs from peers and the chain, and the channels' events.

use std::collections::{HashMap, HashSet};

use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, Transaction};
use shandian_chain::ChainEvent as FollowerEvent;
use shandian_channel::{ChainEvent, Channel, CloseReason, Event};
use shandian_types::{BlockHeight, ChannelId, NodeId};
use shandian_wire::{ChannelUpdate, ErrorMessage, Message};

use super::actor::{Broadcasted, Note};
use super::ops::Ops;
use super::policy;
use super::routing::{route, Route};
use super::state::Confirmation;
use super::{ChannelsError, ClosingInfo, OpenedChannel};
use crate::store::StoreError;
use crate::switch::HtlcHandler;
use crate::PeerInfo;

/// The most peer `channel_update`s kept for channels not located yet.
const MAX_EARLY_UPDATES: usize = 256;

impl Ops<'_, '_> {
    fn channels_with(&self, peer: &PublicKey) -> Vec<ChannelId> {
        let mut ids: Vec<_> =
            self.state.entries.iter().filter(|(_, e)| e.peer == *peer).map(|(id, _)| *id).collect();
        ids.sort();
        ids
    }

    pub(crate) fn peer_connected(&mut self, peer: PeerInfo, connection: u64) {
        let node_id = peer.node_id;
        // A new connection replacing an old one: BOLT 2's reconnection starts from a
        // disconnection (uncommitted updates forgotten).
        if self.state.peers.contains_key(&node_id) {
            self.peer_disconnected(node_id);
        }
        let ids = self.channels_with(&node_id);
        let has_channels = ids.iter().any(|id| {
            self.state.entries.get(id).and_then(|e| e.channel()).is_some_and(|c| !c.is_closed())
        });
        if has_channels && !peer.inbound {
            let address = peer.addr.to_string();
            let at = self.batch.now;
            if let Err(e) = self.writer.save_peer(&NodeId::from(node_id), Some(&address), at) {
                tracing::warn!(peer = %node_id, "cannot save the peer's address: {e}");
            }
        }
        self.state.peers.insert(node_id, (peer, connection));
        for id in ids {
            if let Some(entry) = self.state.entries.get_mut(&id) {
                entry.reestablished = false;
            }
            self.step(id, Channel::connected);
        }
    }

    pub(crate) fn peer_disconnected(&mut self, peer: PublicKey) {
        self.state.peers.remove(&peer);
        for id in self.channels_with(&peer) {
            let dropped = self.unsigned_offers(&id);
            if let Some(entry) = self.state.entries.get_mut(&id) {
                entry.reestablished = false;
            }
            let Some(id) = self.step(id, Channel::disconnected) else { continue };
            for htlc_id in dropped {
                self.batch.notes.push_back(Note::Dropped(id, htlc_id));
            }
            self.fail_waiting_open(id);
        }
    }

    /// Our HTLC offers not yet covered by a signature: forgotten on disconnection.
    pub(crate) fn unsigned_offers(&self, channel_id: &ChannelId) -> Vec<u64> {
        self.state
            .entries
            .get(channel_id)
            .and_then(|e| e.channel())
            .map(super::restore::unsigned_offers)
            .unwrap_or_default()
    }

    /// An opening channel that closed: its `open_channel` caller learns why.
    fn fail_waiting_open(&mut self, channel_id: ChannelId) {
        let Some(Channel::Closed(closed)) =
            self.state.entries.get(&channel_id).and_then(|e| e.channel())
        else {
            return;
        };
        let reason = closed.reason.clone();
        if let Some(reply) = self.state.waiters.opens.remove(&channel_id) {
            let error = ChannelsError::ChannelClosed { channel_id, reason };
            self.batch.after.push(Box::new(move || {
                let _ = reply.send(Err(error));
            }));
        }
    }

    pub(crate) fn peer_message(&mut self, peer: PublicKey, message: Message) {
        match route(&message) {
            Route::Open => {
                if let Message::OpenChannel(open) = message {
                    self.open_requested(peer, open);
                }
            }
            Route::Channel(id) => {
                let known = self.state.entries.get(&id).is_some_and(|e| e.peer == peer);
                if !known {
                    // BOLT 1: an error about an unknown channel is ignored; anything else
                    // about one gets an error back.
                    if !matches!(message, Message::Error(_)) {
                        let data = b"unknown channel".to_vec();
                        let error = ErrorMessage { channel_id: id, data };
                        self.send(peer, Message::Error(error));
                    }
                    return;
                }
                let reestablish = matches!(message, Message::ChannelReestablish(_));
                let Some(id) = self.step(id, |c| c.handle_message(&message)) else { return };
                if reestablish {
                    self.reestablished(id);
                }
            }
            Route::AllChannels => {
                for id in self.channels_with(&peer) {
                    self.step(id, |c| c.handle_message(&message));
                }
            }
            Route::ChannelUpdate => {
                if let Message::ChannelUpdate(update) = message {
                    self.peer_channel_update(peer, &update);
                }
            }
            Route::Ignore => {}
        }
    }

    /// The peer's `channel_reestablish` was handled: HTLCs may flow again.
    fn reestablished(&mut self, channel_id: ChannelId) {
        let Some(entry) = self.state.entries.get_mut(&channel_id) else { return };
        let Some(channel) = entry.channel() else { return };
        if channel.funded().is_none() {
            return;
        }
        let normal = matches!(channel, Channel::Normal(_));
        entry.reestablished = true;
        self.batch.notes.push_back(Note::Redrive(channel_id));
        if normal {
            // BOLT 7: peers resend channel_update for unannounced channels on reconnection.
            self.send_channel_update(channel_id);
        }
    }

    fn peer_channel_update(&mut self, peer: PublicKey, update: &ChannelUpdate) {
        let Some(id) = self.state.by_scid.get(&update.short_channel_id).copied() else {
            // Kept (bounded) if the peer has a channel with us that is not located yet.
            let expected = self.state.entries.values().any(|e| {
                e.peer == peer
                    && e.confirmation.is_none()
                    && e.channel().is_some_and(|c| c.funded().is_some())
            });
            if expected && self.state.early_updates.len() < MAX_EARLY_UPDATES {
                self.state.early_updates.insert(update.short_channel_id, (peer, update.clone()));
            }
            return;
        };
        let Some(entry) = self.state.entries.get_mut(&id) else { return };
        if entry.peer != peer {
            return;
        }
        let checked = policy::verify_peer_update(
            &self.env.secp,
            update,
            self.env.chain_hash,
            &self.env.node_id,
            &peer,
            entry.remote_update_timestamp,
        );
        match checked {
            Ok(remote) => {
                entry.remote_policy = remote;
                entry.remote_update_timestamp = Some(update.timestamp);
            }
            Err(e) => tracing::info!(%peer, channel = %id, "ignoring channel_update: {e}"),
        }
    }

    /// BOLT 7: sends our `channel_update` for a ready channel to the peer (directly, for an
    /// unannounced one).
    pub(crate) fn send_channel_update(&mut self, channel_id: ChannelId) {
        let Some(entry) = self.state.entries.get_mut(&channel_id) else { return };
        let (Some(scid), Some(funded)) =
            (entry.short_channel_id(), entry.channel.as_ref().and_then(Channel::funded))
        else {
            return;
        };
        let capacity = funded.setup().funding.amount;
        let relay = super::summary::local_policy(
            &self.env.config.relay,
            entry.relay_fees.as_ref(),
            capacity,
        );
        let now = u32::try_from(self.batch.now).unwrap_or(u32::MAX);
        // BOLT 7: each update must have a greater timestamp than the last.
        let timestamp = now.max(entry.local_update_timestamp.saturating_add(1));
        entry.local_update_timestamp = timestamp;
        let direction = policy::direction(&self.env.node_id, &entry.peer);
        let mut update = policy::unsigned_update(
            self.env.chain_hash,
            scid,
            timestamp,
            direction,
            entry.public,
            &relay,
        );
        update.signature = self.env.node.sign_with_node_key(&policy::update_hash(&update));
        let peer = entry.peer;
        self.send(peer, Message::ChannelUpdate(update));
    }

    pub(crate) fn chain_event(&mut self, event: FollowerEvent) {
        match event {
            FollowerEvent::BlockConnected { block, height } => {
                self.block_connected(&block.txdata, height)
            }
            FollowerEvent::BlockDisconnected(block) => {
                // The funding may have to confirm again.
                for entry in self.state.entries.values_mut() {
                    if entry.confirmation.as_ref().is_some_and(|c| c.height >= block.height.0) {
                        entry.confirmation = None;
                    }
                }
            }
            _ => {}
        }
    }

    fn block_connected(&mut self, txdata: &[Transaction], height: BlockHeight) {
        self.state.best_block = height;
        self.find_funding(txdata, height);
        self.find_spends(txdata);
        let mut ids: Vec<_> = self.state.entries.keys().copied().collect();
        ids.sort();
        for id in ids {
            let Some(entry) = self.state.entries.get(&id) else { continue };
            let confirming = matches!(entry.channel(), Some(Channel::AwaitingConfirmation(_)));
            if let (true, Some(c)) = (confirming, entry.confirmation.clone()) {
                let depth = height.0.saturating_sub(c.height).saturating_add(1);
                let event = ChainEvent::FundingConfirmed {
                    tx: c.tx,
                    block_height: c.height,
                    tx_index: c.tx_index,
                    depth,
                };
                self.step(id, |ch| ch.handle_chain_event(&event));
            }
            if self.state.entries.get(&id).and_then(|e| e.channel()).is_some_and(|c| !c.is_closed())
            {
                self.step(id, |ch| ch.handle_chain_event(&ChainEvent::BlockConnected(height)));
            }
        }
        self.batch.notes.push_back(Note::Block(height));
    }

    /// Notes where watched funding transactions confirmed.
    fn find_funding(&mut self, txdata: &[Transaction], height: BlockHeight) {
        let waiting: HashMap<_, _> = self
            .state
            .entries
            .iter()
            .filter(|(_, e)| e.confirmation.is_none())
            .filter_map(|(id, e)| e.funding_txid.map(|t| (t, *id)))
            .collect();
        if waiting.is_empty() {
            return;
        }
        for (index, tx) in txdata.iter().enumerate() {
            let Some(id) = waiting.get(&tx.compute_txid()) else { continue };
            let Ok(tx_index) = u32::try_from(index) else { continue };
            self.funding_position(*id, tx.clone(), height.0, tx_index);
        }
    }

    /// BOLT 5: a transaction spending a funding output closes the channel.
    fn find_spends(&mut self, txdata: &[Transaction]) {
        let open: HashMap<OutPoint, ChannelId> = self
            .state
            .entries
            .iter()
            .filter(|(_, e)| e.channel().is_some_and(|c| c.funded().is_some()))
            .filter_map(|(id, e)| {
                e.funding_txid
                    .map(|txid| (OutPoint { txid, vout: u32::from(e.funding_output) }, *id))
            })
            .collect();
        if open.is_empty() {
            return;
        }
        let mut spent = HashSet::new();
        for input in txdata.iter().flat_map(|tx| tx.input.iter()) {
            if let Some(id) = open.get(&input.previous_output) {
                spent.insert(*id);
            }
        }
        for id in spent {
            self.step(id, |c| c.handle_chain_event(&ChainEvent::FundingSpent));
        }
    }

    /// A restored channel's funding output was spent while the node was down (found by
    /// [`super::restore::check_spends`]): closed, recorded and handed to the monitor exactly as
    /// a spend seen in a block. The check runs after the manager subscribed, so a block
    /// delivered since may have closed it already: then nothing happens (closed once).
    pub(crate) fn funding_spent_offline(&mut self, channel_id: ChannelId) {
        let open = self
            .state
            .entries
            .get(&channel_id)
            .and_then(|e| e.channel())
            .is_some_and(|c| c.funded().is_some());
        if open {
            tracing::warn!(channel = %channel_id, "funding spent while the node was down: closed");
            self.step(channel_id, |c| c.handle_chain_event(&ChainEvent::FundingSpent));
        }
    }

    /// Records where the funding transaction confirmed (from a block, or the chain's index
    /// after a restart).
    pub(crate) fn funding_position(
        &mut self,
        channel_id: ChannelId,
        tx: Transaction,
        height: u32,
        tx_index: u32,
    ) {
        let Some(entry) = self.state.entries.get_mut(&channel_id) else { return };
        if entry.confirmation.is_some() {
            return;
        }
        entry.confirmation = Some(Confirmation { tx: tx.clone(), height, tx_index });
        if let Some(scid) = entry.short_channel_id() {
            self.state.by_scid.insert(scid, channel_id);
            if let Some((peer, update)) = self.state.early_updates.remove(&scid) {
                self.peer_channel_update(peer, &update);
            }
        }
        let Some(entry) = self.state.entries.get(&channel_id) else { return };
        // A restored channel learns its short channel id only now: tell the peer our policy.
        if matches!(entry.channel(), Some(Channel::Normal(_))) && entry.reestablished {
            self.send_channel_update(channel_id);
        }
        let Some(entry) = self.state.entries.get(&channel_id) else { return };
        // A restored channel may have reached its depth while we were down.
        if matches!(entry.channel(), Some(Channel::AwaitingConfirmation(_)))
            && self.state.best_block.0 >= height
        {
            let depth = self.state.best_block.0.saturating_sub(height).saturating_add(1);
            let event = ChainEvent::FundingConfirmed { tx, block_height: height, tx_index, depth };
            self.step(channel_id, |c| c.handle_chain_event(&event));
        }
    }

    /// A transaction to broadcast once the batch commits: the funding transaction (answers
    /// the opener once broadcast), or one that closes the channel (answers closers).
    pub(crate) fn broadcast(&mut self, channel_id: ChannelId, tx: Transaction) {
        let txid = tx.compute_txid();
        let Some(entry) = self.state.entries.get_mut(&channel_id) else { return };
        let mut callbacks: Vec<Broadcasted> = Vec::new();
        if entry.funding_txid == Some(txid) {
            if let Some(reply) = self.state.waiters.opens.remove(&channel_id) {
                let opened = OpenedChannel {
                    channel_id,
                    funding_txid: txid,
                    funding_output: entry.funding_output,
                };
                callbacks.push(Box::new(move |result| {
                    let result = result
                        .map(|()| opened)
                        .map_err(|e| ChannelsError::Chain(e.to_string().into()));
                    let _ = reply.send(result);
                }));
            }
        } else {
            entry.closing_txid = Some(txid);
            let info = ClosingInfo { channel_id, closing_txid: txid };
            for reply in self.state.waiters.closes.remove(&channel_id).unwrap_or_default() {
                let info = info.clone();
                callbacks.push(Box::new(move |result| {
                    let result = result
                        .map(|()| info)
                        .map_err(|e| ChannelsError::Chain(e.to_string().into()));
                    let _ = reply.send(result);
                }));
            }
        }
        self.batch.broadcasts.push((channel_id, tx, callbacks));
    }

    /// Acts on one channel event.
    pub(crate) fn event(
        &mut self,
        channel_id: ChannelId,
        event: Event,
        handler: &mut dyn HtlcHandler,
    ) -> Result<(), StoreError> {
        match event {
            Event::FundingNeeded { temporary_channel_id, script_pubkey, amount } => {
                self.fund(temporary_channel_id, script_pubkey, amount)
            }
            Event::WatchFunding { txid, output_index, .. } => {
                // The manager finds the funding transaction and its spend in every block
                // itself (block_connected); no follower watch is needed.
                if let Some(entry) = self.state.entries.get_mut(&channel_id) {
                    entry.funding_txid = Some(txid);
                    entry.funding_output = output_index;
                }
            }
            Event::ChannelReady { short_channel_id, .. } => {
                self.state.by_scid.insert(short_channel_id, channel_id);
                if let Some(entry) = self.state.entries.get_mut(&channel_id) {
                    entry.reestablished = true;
                }
                tracing::info!(channel = %channel_id, scid = %short_channel_id, "channel ready");
                self.send_channel_update(channel_id);
            }
            Event::HtlcIncoming { htlc, must_fail } => {
                handler.htlc_incoming(self, &channel_id, &htlc, must_fail)?
            }
            Event::HtlcFulfilled { id, preimage } => {
                handler.htlc_fulfilled(self, &channel_id, id, preimage)?
            }
            Event::HtlcFailed { update } => {
                if let Some(id) = update.removed_id() {
                    handler.htlc_failed(self, &channel_id, id, &update)?
                }
            }
            Event::PeerViolation(e) => {
                tracing::warn!(channel = %channel_id, "peer violated the protocol: {e}")
            }
            Event::Closed(reason) => self.closed(channel_id, reason),
            Event::HtlcOffered { .. }
            | Event::ChannelIdChanged { .. }
            | Event::HolderHtlcTransactions(_)
            | Event::ShuttingDown => {}
        }
        Ok(())
    }

    fn closed(&mut self, channel_id: ChannelId, reason: CloseReason) {
        // Archived (funded) or forgotten (never funded) when the batch's records are written.
        self.batch.dirty.insert(channel_id);
        let key_index = self.state.entries.get(&channel_id).map(|e| e.key_index);
        tracing::info!(channel = %channel_id, ?key_index, "channel closed: {reason:?}");
        self.fail_waiting_open(channel_id);
        if let Some(replies) = self.state.waiters.closes.remove(&channel_id) {
            for reply in replies {
                let error = ChannelsError::ChannelClosed { channel_id, reason: reason.clone() };
                self.batch.after.push(Box::new(move || {
                    let _ = reply.send(Err(error));
                }));
            }
        }
        // Abandon the funding transaction of a channel that never reached the chain.
        let unbroadcast = self.state.entries.get(&channel_id).is_some_and(|e| e.update_seq == 0);
        if unbroadcast {
            if let Some(txid) = self.state.entries.get(&channel_id).and_then(|e| e.funding_txid) {
                let chain = self.env.chain.clone();
                let runtime = self.env.runtime.clone();
                self.batch.after.push(Box::new(move || {
                    runtime.spawn(async move { chain.abandon(txid).await });
                }));
            }
        }
    }
}
