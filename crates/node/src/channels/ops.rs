//! One batch at work: applying inputs to channels, collecting their actions, calling the
//! payment logic, and writing the batch's records. Implements [`ChannelOps`].

use bitcoin::secp256k1::PublicKey;
use shandian_channel::{Action, Channel, CloseReason, Command, Event, NewHtlc, Removal};
use shandian_types::{BlockHeight, ChannelId, NodeId, PaymentPreimage, ShortChannelId};
use shandian_wire::Message;

use super::actor::{for_monitor, Batch, Env, Note, State};
use super::inbox::Input;
use super::summary;
use crate::store::{StoreError, Writer};
use crate::switch::{ChannelOps, ChannelSummary, HtlcHandler, HtlcOpError};

/// A batch in progress.
pub(crate) struct Ops<'a, 'w> {
    pub(crate) env: &'a Env,
    pub(crate) state: &'a mut State,
    pub(crate) batch: &'a mut Batch,
    pub(crate) writer: &'a Writer<'w>,
}

/// Messages that change a commitment and so need a `commitment_signed` at the batch's end.
fn is_update(message: &Message) -> bool {
    matches!(
        message,
        Message::UpdateAddHtlc(_)
            | Message::UpdateFulfillHtlc(_)
            | Message::UpdateFailHtlc(_)
            | Message::UpdateFailMalformedHtlc(_)
            | Message::UpdateFee(_)
    )
}

impl Ops<'_, '_> {
    /// Runs one input.
    pub(crate) fn input(
        &mut self,
        input: Input,
        handler: &mut dyn HtlcHandler,
    ) -> Result<(), StoreError> {
        match input {
            Input::Connected(peer, connection) => self.peer_connected(peer, connection),
            Input::Disconnected(peer) => self.peer_disconnected(peer),
            Input::Message(peer, message) => self.peer_message(peer, message),
            Input::Chain(event) => self.chain_event(event),
            Input::Execute(job) => {
                // Earlier inputs' events first: the job sees their effects.
                self.drain(handler)?;
                job(self)?;
            }
            Input::Open(request) => self.open(*request),
            Input::Accept { peer, open, shutdown_script } => {
                self.accept(peer, &open, shutdown_script)
            }
            Input::AcceptFailed { peer, temporary_channel_id } => {
                self.refuse_open(peer, temporary_channel_id, "cannot get a closing script")
            }
            Input::FundingTx { temporary_channel_id, result } => {
                self.funding_tx(temporary_channel_id, result)
            }
            Input::FundingPosition { channel_id, tx, height, tx_index } => {
                self.funding_position(channel_id, *tx, height, tx_index)
            }
            Input::FundingSpent(channel_id) => self.funding_spent_offline(channel_id),
            Input::Close { channel_id, force, reply } => self.close(channel_id, force, reply),
            Input::OnchainHtlcs => {
                self.drain(handler)?;
                self.report_onchain_htlcs(handler)?;
            }
            Input::List(reply) => {
                let relay = &self.env.config.relay;
                let mut list: Vec<_> =
                    self.state.entries.values().filter_map(|e| summary::info(e, relay)).collect();
                list.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
                self.batch.after.push(Box::new(move || {
                    let _ = reply.send(list);
                }));
            }
            Input::SetRelayFees { channel_id, change, reply } => {
                let result = self.set_relay_fees(channel_id, change)?;
                self.batch.after.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Input::Forgotten(channel_id, htlc_ids) => {
                for htlc_id in htlc_ids {
                    self.batch.notes.push_back(Note::Dropped(channel_id, htlc_id));
                }
            }
            Input::Stop => self.batch.stop = true,
        }
        self.drain(handler)
    }

    /// Hands every on-chain HTLC outcome not yet reported to the payment logic, marking each
    /// reported in this batch's transaction (with the handler's own writes): exactly once,
    /// also across restarts.
    fn report_onchain_htlcs(&mut self, handler: &mut dyn HtlcHandler) -> Result<(), StoreError> {
        for resolved in self.writer.unreported_onchain_htlcs()? {
            let (channel_id, htlc_id) = (resolved.channel_id, resolved.htlc_id);
            if self.writer.mark_onchain_htlc_reported(&channel_id, htlc_id, self.batch.now)? {
                handler.htlc_resolved_on_chain(self, &channel_id, htlc_id, resolved.outcome)?;
                self.drain(handler)?;
            }
        }
        Ok(())
    }

    /// Feeds one input to a channel and applies the actions it returns. Returns the
    /// channel's id afterwards (it changes when the funding outpoint becomes known).
    pub(crate) fn step(
        &mut self,
        channel_id: ChannelId,
        f: impl FnOnce(Channel) -> (Channel, Vec<Action>),
    ) -> Option<ChannelId> {
        // Our unsigned offers die with the channel if this input closes it.
        let unsigned = self.unsigned_offers(&channel_id);
        let entry = self.state.entries.get_mut(&channel_id)?;
        let mut channel = entry.channel.take()?;
        // `finish` signs for every channel an input touched: a received commitment_signed
        // or revoke_and_ack then shares one signature with the updates later inputs of the
        // batch add (fewer commitments, each signing every HTLC in flight).
        channel.sign_when_told();
        let (channel, actions) = f(channel);
        let closed = channel.is_closed();
        entry.channel = Some(channel);
        let channel_id = self.apply(channel_id, actions);
        if closed {
            for htlc_id in unsigned {
                self.batch.notes.push_back(Note::Dropped(channel_id, htlc_id));
            }
        } else {
            self.batch.to_commit.insert(channel_id);
        }
        Some(channel_id)
    }

    /// Like [`Ops::step`] for a command, which the channel may refuse (unchanged).
    pub(crate) fn command(
        &mut self,
        channel_id: ChannelId,
        command: Command,
    ) -> Result<Vec<Action>, HtlcOpError> {
        let entry = self
            .state
            .entries
            .get_mut(&channel_id)
            .ok_or(HtlcOpError::UnknownChannel(channel_id))?;
        let channel = entry.channel.take().ok_or(HtlcOpError::UnknownChannel(channel_id))?;
        let (channel, result) = channel.handle_command(command);
        entry.channel = Some(channel);
        Ok(result?)
    }

    /// Collects a channel's actions into the batch, in order: records to write, messages to
    /// send and transactions to broadcast after the commit, events to act on.
    pub(crate) fn apply(&mut self, mut channel_id: ChannelId, actions: Vec<Action>) -> ChannelId {
        let Some(peer) = self.state.entries.get(&channel_id).map(|e| e.peer) else {
            return channel_id;
        };
        for action in actions {
            match action {
                Action::Persist(record) => {
                    // The record written is the channel's state at the end of the batch,
                    // which includes this one's. A funded snapshot is kept in case the
                    // channel closes later in the batch: the monitor needs the last one.
                    self.batch.dirty.insert(channel_id);
                    if record.channel.funded().is_some() {
                        self.batch.snapshots.insert(channel_id, record);
                    }
                }
                Action::Send(message) => {
                    if is_update(&message) {
                        self.batch.to_commit.insert(channel_id);
                    }
                    self.send(peer, message);
                }
                Action::Broadcast(tx) => self.broadcast(channel_id, tx),
                Action::Event(Event::ChannelIdChanged { temporary, channel_id: permanent }) => {
                    self.rekey(temporary, permanent);
                    channel_id = permanent;
                }
                Action::Event(event) => self.batch.notes.push_back(Note::Event(channel_id, event)),
            }
        }
        channel_id
    }

    /// Queues `message` for the peer's current connection (dropped if there is none: BOLT 2
    /// reconnection starts over with `channel_reestablish`).
    pub(crate) fn send(&mut self, peer: PublicKey, message: Message) {
        if let Some((_, connection)) = self.state.peers.get(&peer) {
            self.batch.sends.push((peer, *connection, message));
        }
    }

    fn rekey(&mut self, temporary: ChannelId, permanent: ChannelId) {
        if let Some(entry) = self.state.entries.remove(&temporary) {
            self.state.entries.insert(permanent, entry);
        }
        if let Some(waiter) = self.state.waiters.opens.remove(&temporary) {
            self.state.waiters.opens.insert(permanent, waiter);
        }
        if self.batch.dirty.remove(&temporary) {
            self.batch.dirty.insert(permanent);
        }
        if let Some(snapshot) = self.batch.snapshots.remove(&temporary) {
            self.batch.snapshots.insert(permanent, snapshot);
        }
        if self.batch.to_commit.remove(&temporary) {
            self.batch.to_commit.insert(permanent);
        }
    }

    /// Acts on every pending note; the handler may cause more (its HTLC operations).
    pub(crate) fn drain(&mut self, handler: &mut dyn HtlcHandler) -> Result<(), StoreError> {
        while let Some(note) = self.batch.notes.pop_front() {
            match note {
                Note::Event(channel_id, event) => self.event(channel_id, event, handler)?,
                Note::Dropped(channel_id, htlc_id) => {
                    handler.htlc_dropped(self, &channel_id, htlc_id)?
                }
                Note::Redrive(channel_id) => {
                    let incoming: Vec<_> = self
                        .state
                        .entries
                        .get(&channel_id)
                        .and_then(|e| e.channel())
                        .and_then(Channel::funded)
                        .map(|f| f.log().unresolved_incoming().into_iter().cloned().collect())
                        .unwrap_or_default();
                    for htlc in incoming {
                        handler.htlc_incoming(self, &channel_id, &htlc, false)?;
                    }
                }
                Note::Block(height) => handler.block_connected(self, height)?,
            }
        }
        Ok(())
    }

    /// Ends the batch: one `commitment_signed` per channel with updates, then every changed
    /// channel's record (archiving closed ones) into the batch's transaction.
    pub(crate) fn finish(&mut self, handler: &mut dyn HtlcHandler) -> Result<(), StoreError> {
        self.drain(handler)?;
        while !self.batch.to_commit.is_empty() {
            for channel_id in std::mem::take(&mut self.batch.to_commit) {
                // Refused when there is nothing to sign or a signature is outstanding; the
                // revocation that ends the wait comes in a later batch, which signs then.
                if let Ok(actions) = self.command(channel_id, Command::Commit) {
                    self.apply(channel_id, actions);
                }
            }
            self.drain(handler)?;
        }
        self.write_records()
    }

    fn write_records(&mut self) -> Result<(), StoreError> {
        let mut forgotten = Vec::new();
        for channel_id in std::mem::take(&mut self.batch.dirty) {
            let Some(entry) = self.state.entries.get_mut(&channel_id) else { continue };
            let Some(channel) = entry.channel() else { continue };
            if let Channel::Closed(closed) = channel {
                let reason = closed.reason.clone();
                if !self.archive(channel_id, reason)? {
                    forgotten.push(channel_id);
                }
                continue;
            }
            if channel.funded().is_none() {
                // BOLT 2 forgets channels that are not funded yet across restarts.
                continue;
            }
            // The channel's last Persist record is exactly what must be durable (later
            // actions of the batch were bare updates); reusing it saves cloning the channel.
            let bytes = match self.batch.snapshots.remove(&channel_id) {
                Some(record) => record.encode(),
                None => shandian_channel::ChannelRecord::new(channel).encode(),
            };
            if entry.update_seq == 0 {
                // A new channel: remember where we reached its peer, to redial after a
                // restart (only an address we dialled is one it listens on).
                if let Some((info, _)) = self.state.peers.get(&entry.peer).filter(|p| !p.0.inbound)
                {
                    let address = info.addr.to_string();
                    self.writer.save_peer(
                        &NodeId::from(entry.peer),
                        Some(&address),
                        self.batch.now,
                    )?;
                }
            }
            let seq = entry.update_seq.saturating_add(1);
            self.writer.save_channel(&channel_id, &NodeId::from(entry.peer), seq, &bytes)?;
            if entry.update_seq == 0 && entry.public {
                self.writer.mark_channel_announced(&channel_id)?;
            }
            entry.update_seq = seq;
            entry.funded_record = Some(bytes);
        }
        for channel_id in forgotten {
            // Never funded: nothing on chain, nothing to keep.
            self.state.entries.remove(&channel_id);
        }
        Ok(())
    }

    /// Archives a closed channel that was funded and hands its latest funded state (this
    /// batch's, if it changed before closing) to the monitor; `false` if it never was funded.
    fn archive(&mut self, channel_id: ChannelId, reason: CloseReason) -> Result<bool, StoreError> {
        let Some(entry) = self.state.entries.get_mut(&channel_id) else { return Ok(false) };
        let funded = match self.batch.snapshots.remove(&channel_id) {
            Some(record) => Some(record.encode()),
            None => entry.funded_record.clone(),
        };
        let Some(record) = funded else { return Ok(false) };
        if entry.update_seq == 0 {
            // Funded and closed within one batch: store its funded state, then archive it.
            self.writer.save_channel(&channel_id, &NodeId::from(entry.peer), 1, &record)?;
            entry.update_seq = 1;
        }
        self.writer.archive_channel(&channel_id, self.batch.now)?;
        entry.funded_record = Some(record.clone());
        // Recorded for the monitor in the transaction that archives it (a crash right after
        // still sweeps it on restart); handed to the running monitor after the commit.
        if let Some(closed) = for_monitor(self.state, channel_id, &reason, record.clone()) {
            crate::onchain::record_closed_channel(self.writer, &closed)?;
        }
        self.batch.closed.push((channel_id, reason, record));
        Ok(true)
    }

    /// A preimage of an HTLC received on `channel_id` that cannot be fulfilled now. An open
    /// channel keeps it in its state (`Command::LearnPreimage`: the fulfillment deadline
    /// applies, and a later close hands it to the monitor with the record). A closed
    /// channel's monitor gets it after the commit and claims the HTLC on chain (BOLT 5).
    fn keep_preimage(&mut self, channel_id: &ChannelId, preimage: PaymentPreimage) {
        let open = self
            .state
            .entries
            .get(channel_id)
            .and_then(|e| e.channel())
            .is_some_and(|c| c.funded().is_some());
        if open {
            match self.command(*channel_id, Command::LearnPreimage(preimage)) {
                Ok(actions) => {
                    self.apply(*channel_id, actions);
                }
                Err(e) => tracing::debug!(channel = %channel_id, "preimage not kept: {e}"),
            }
            return;
        }
        // Closed: the store already holds the preimage (the fulfilled forward or the paid
        // invoice this batch wrote), and the monitor reloads it from there after a restart;
        // the running monitor gets it after the commit. A channel it does not watch ignores it.
        if let Some(monitor) = self.env.monitor.clone() {
            let channel_id = *channel_id;
            self.batch.after.push(Box::new(move || monitor.provide_preimage(channel_id, preimage)));
        }
    }

    /// Whether HTLCs may be offered on the channel now.
    fn usable(&self, channel_id: &ChannelId) -> bool {
        self.channel(channel_id).is_some_and(|s| s.usable)
    }
}

impl ChannelOps for Ops<'_, '_> {
    fn node_id(&self) -> PublicKey {
        self.env.node_id
    }

    fn best_block(&self) -> BlockHeight {
        self.state.best_block
    }

    fn now(&self) -> u64 {
        self.batch.now
    }

    fn channels(&self) -> Vec<ChannelSummary> {
        let relay = &self.env.config.relay;
        self.state
            .entries
            .values()
            .filter(|e| e.channel().is_some_and(|c| !c.is_closed()))
            .filter_map(|e| summary::summary(e, self.state.peers.contains_key(&e.peer), relay))
            .collect()
    }

    fn channel(&self, channel_id: &ChannelId) -> Option<ChannelSummary> {
        let entry = self.state.entries.get(channel_id)?;
        if entry.channel()?.is_closed() {
            return None;
        }
        let connected = self.state.peers.contains_key(&entry.peer);
        summary::summary(entry, connected, &self.env.config.relay)
    }

    fn channel_by_scid(&self, scid: ShortChannelId) -> Option<ChannelSummary> {
        let channel_id = self.state.by_scid.get(&scid)?;
        self.channel(channel_id)
    }

    fn add_htlc(&mut self, channel_id: &ChannelId, htlc: NewHtlc) -> Result<u64, HtlcOpError> {
        if !self.state.entries.contains_key(channel_id) {
            return Err(HtlcOpError::UnknownChannel(*channel_id));
        }
        if !self.usable(channel_id) {
            return Err(HtlcOpError::NotUsable(*channel_id));
        }
        let actions = self.command(*channel_id, Command::AddHtlc(htlc))?;
        let offered = actions.iter().find_map(|a| match a {
            Action::Event(Event::HtlcOffered { id }) => Some(*id),
            _ => None,
        });
        self.apply(*channel_id, actions);
        self.batch.to_commit.insert(*channel_id);
        offered.ok_or(HtlcOpError::NotUsable(*channel_id))
    }

    fn settle_htlc(
        &mut self,
        channel_id: &ChannelId,
        htlc_id: u64,
        removal: Removal,
    ) -> Result<(), HtlcOpError> {
        let Some(entry) = self.state.entries.get(channel_id) else {
            if let Removal::Fulfill(preimage) = removal {
                self.keep_preimage(channel_id, preimage);
            }
            return Err(HtlcOpError::UnknownChannel(*channel_id));
        };
        let connected = self.state.peers.contains_key(&entry.peer) && entry.reestablished;
        let closed = entry.channel().is_none_or(Channel::is_closed);
        if !connected || closed {
            // The fulfil goes out when the channel is reestablished (the manager redrives
            // the HTLC); meanwhile the preimage must count on chain.
            if let Removal::Fulfill(preimage) = removal {
                self.keep_preimage(channel_id, preimage);
            }
            return Err(HtlcOpError::NotUsable(*channel_id));
        }
        let actions = self.command(*channel_id, Command::RemoveHtlc { id: htlc_id, removal })?;
        self.apply(*channel_id, actions);
        self.batch.to_commit.insert(*channel_id);
        Ok(())
    }

    fn store(&self) -> &Writer<'_> {
        self.writer
    }

    fn after_commit(&mut self, task: Box<dyn FnOnce() + Send>) {
        self.batch.after.push(task);
    }
}
