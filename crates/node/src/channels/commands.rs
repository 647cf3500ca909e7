//! Opening and closing channels, and setting one channel's fees: the caller's side (on the
//! handle) and the actor's.

use bitcoin::secp256k1::rand::{thread_rng, RngCore};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, ScriptBuf};
use shandian_chain::FundingTx;
use shandian_channel::{
    Channel, ChannelConfig, ChannelSigner, ChannelType, Command, OpenRequest, Policy,
};
use shandian_types::{ChannelId, Msat};
use shandian_wire::{ErrorMessage, Message, OpenChannel};
use tokio::sync::oneshot;

use super::actor::Env;
use super::inbox::{self, Input};
use super::ops::Ops;
use super::state::Entry;
use super::summary;
use super::{
    ChainOpError, ChannelsError, ChannelsHandle, ClosingInfo, OpenedChannel, RelayFeesChange,
};
use crate::store::{RelayFees, StoreError};
use crate::switch::RelayPolicy;
use crate::ChannelsConfig;

/// Checks the request, asks the chain for a feerate and a closing script, and hands the
/// open to the actor; answers once the funding transaction is broadcast.
pub(crate) async fn open_channel(
    handle: &ChannelsHandle,
    peer: PublicKey,
    amount: Amount,
    push: Msat,
    public: bool,
) -> Result<OpenedChannel, ChannelsError> {
    let config = &handle.node.config().channels;
    check_amount(config, amount)?;
    if Msat::from_sat(amount).is_none_or(|capacity| push > capacity) {
        return Err(ChannelsError::PushTooLarge { push });
    }
    if !handle.node.peers().iter().any(|p| p.node_id == peer) {
        return Err(ChannelsError::PeerNotConnected(peer));
    }
    let feerate = handle.chain.feerate().await;
    let shutdown_script = handle.chain.shutdown_script().await.map_err(ChannelsError::Chain)?;
    let (reply, answer) = oneshot::channel();
    let request =
        inbox::OpenRequest { peer, amount, push, public, feerate, shutdown_script, reply };
    handle.send(Input::Open(Box::new(request)))?;
    answer.await.map_err(|_| ChannelsError::Stopped)?
}

fn check_amount(config: &ChannelsConfig, amount: Amount) -> Result<(), ChannelsError> {
    let (min, max) = (config.min_channel_size, config.max_channel_size);
    if amount < min || amount > max {
        return Err(ChannelsError::AmountOutOfRange { amount, min, max });
    }
    Ok(())
}

/// Our channel settings for a new channel closing to `shutdown_script`.
fn channel_config(env: &Env, shutdown_script: ScriptBuf) -> ChannelConfig {
    let c = &env.config;
    let mut policy = Policy::new(env.chain_hash);
    policy.min_funding = c.min_channel_size;
    // Anchor channels' HTLC transactions carry no fee and need wallet inputs (CPFP) to
    // confirm, which the monitor does not add yet: neither opened nor accepted.
    policy.anchors = false;
    ChannelConfig {
        policy,
        dust_limit: c.dust_limit,
        // Our limit on what the peer may have in flight to us: the whole channel.
        max_htlc_value_in_flight: Msat(u64::MAX),
        htlc_minimum: c.htlc_minimum,
        to_self_delay: c.to_self_delay,
        max_accepted_htlcs: c.max_accepted_htlcs,
        reserve_permille: c.reserve_permille,
        minimum_depth: c.minimum_depth,
        max_dust_exposure: c.max_dust_exposure,
        shutdown_script,
    }
}

impl Ops<'_, '_> {
    fn signer(&mut self) -> Result<ChannelSigner, ChannelsError> {
        let index = self.state.keys.allocate()?;
        ChannelSigner::from_node_seed(&self.env.seed, index).map_err(ChannelsError::Refused)
    }

    fn reply_open(
        &mut self,
        reply: oneshot::Sender<Result<OpenedChannel, ChannelsError>>,
        result: Result<OpenedChannel, ChannelsError>,
    ) {
        self.batch.after.push(Box::new(move || {
            let _ = reply.send(result);
        }));
    }

    /// Starts opening a channel: `open_channel` goes out after the batch commits.
    pub(crate) fn open(&mut self, request: inbox::OpenRequest) {
        let inbox::OpenRequest { peer, amount, push, public, feerate, shutdown_script, reply } =
            request;
        if !self.state.peers.contains_key(&peer) {
            return self.reply_open(reply, Err(ChannelsError::PeerNotConnected(peer)));
        }
        let signer = match self.signer() {
            Ok(signer) => signer,
            Err(e) => return self.reply_open(reply, Err(e)),
        };
        let key_index = signer.key_index();
        let mut temporary = [0u8; 32];
        thread_rng().fill_bytes(&mut temporary);
        let open = OpenRequest {
            temporary_channel_id: ChannelId(temporary),
            funding: amount,
            push,
            feerate,
            channel_type: ChannelType { anchors: false, scid_alias: false },
            announce: public,
        };
        let config = channel_config(self.env, shutdown_script);
        match Channel::open(config, signer, &open) {
            Ok((channel, actions)) => {
                let id = open.temporary_channel_id;
                self.state.entries.insert(id, Entry::new(channel, peer, public, key_index));
                self.state.waiters.opens.insert(id, reply);
                self.apply(id, actions);
            }
            Err(e) => self.reply_open(reply, Err(ChannelsError::Refused(e))),
        }
    }

    /// A peer's `open_channel`: checked against our limits here, accepted once the wallet
    /// gave a closing script.
    pub(crate) fn open_requested(&mut self, peer: PublicKey, open: OpenChannel) {
        let temporary = open.temporary_channel_id;
        if let Err(e) = check_amount(&self.env.config, open.funding_satoshis) {
            return self.refuse_open(peer, temporary, &e.to_string());
        }
        // BOLT 2: the temporary_channel_id must be unique with this peer.
        if self.state.entries.contains_key(&temporary) {
            return self.refuse_open(peer, temporary, "temporary_channel_id already in use");
        }
        let pending = self
            .state
            .entries
            .values()
            .filter(|e| e.peer == peer)
            .filter(|e| e.channel().is_some_and(|c| summary::state_name(c) == "opening"))
            .count();
        if pending >= self.env.config.max_pending_opens_per_peer {
            return self.refuse_open(peer, temporary, "too many channels opening");
        }
        let chain = self.env.chain.clone();
        let inputs = self.env.inputs.clone();
        self.env.runtime.spawn(async move {
            let input = match chain.shutdown_script().await {
                Ok(shutdown_script) => {
                    Input::Accept { peer, open: Box::new(open), shutdown_script }
                }
                Err(e) => {
                    tracing::warn!(%peer, "no closing script for an inbound channel: {e}");
                    Input::AcceptFailed { peer, temporary_channel_id: temporary }
                }
            };
            let _ = inputs.send(input);
        });
    }

    /// Refuses a channel the peer proposed, with an `error` naming its temporary id.
    pub(crate) fn refuse_open(&mut self, peer: PublicKey, temporary: ChannelId, why: &str) {
        tracing::info!(%peer, channel = %temporary, "refusing channel: {why}");
        let error = ErrorMessage { channel_id: temporary, data: why.as_bytes().to_vec() };
        self.send(peer, Message::Error(error));
    }

    pub(crate) fn accept(&mut self, peer: PublicKey, open: &OpenChannel, script: ScriptBuf) {
        let temporary = open.temporary_channel_id;
        if !self.state.peers.contains_key(&peer) || self.state.entries.contains_key(&temporary) {
            return;
        }
        let signer = match self.signer() {
            Ok(signer) => signer,
            Err(e) => return self.refuse_open(peer, temporary, &e.to_string()),
        };
        let key_index = signer.key_index();
        match Channel::accept(channel_config(self.env, script), signer, open) {
            Ok((channel, actions)) => {
                let public = open.channel_flags & 1 == 1;
                self.state.entries.insert(temporary, Entry::new(channel, peer, public, key_index));
                self.apply(temporary, actions);
            }
            Err(e) => self.refuse_open(peer, temporary, &e.to_string()),
        }
    }

    /// Asks the wallet for the funding transaction; the answer comes back as an input.
    pub(crate) fn fund(&mut self, temporary: ChannelId, script: ScriptBuf, amount: Amount) {
        let chain = self.env.chain.clone();
        let inputs = self.env.inputs.clone();
        self.env.runtime.spawn(async move {
            let result = chain.fund(script, amount).await;
            let _ = inputs.send(Input::FundingTx { temporary_channel_id: temporary, result });
        });
    }

    pub(crate) fn funding_tx(
        &mut self,
        temporary: ChannelId,
        result: Result<FundingTx, ChainOpError>,
    ) {
        let Some(entry) = self.state.entries.get_mut(&temporary) else {
            // The channel is gone (peer disconnected): release the wallet's inputs.
            if let Ok(funding) = result {
                self.abandon(funding.txid());
            }
            return;
        };
        let funding = match result {
            Ok(funding) => funding,
            Err(e) => return self.abort_open(temporary, ChannelsError::Funding(e)),
        };
        entry.funding_txid = Some(funding.txid());
        entry.funding_output = funding.output_index;
        match self.command(temporary, Command::FundingTransaction(funding.tx.clone())) {
            Ok(actions) => {
                self.apply(temporary, actions);
            }
            Err(e) => {
                self.abandon(funding.txid());
                let error = match e {
                    crate::switch::HtlcOpError::Refused(e) => ChannelsError::Refused(e),
                    _ => ChannelsError::UnknownChannel(temporary),
                };
                self.abort_open(temporary, error);
            }
        }
    }

    fn abandon(&mut self, txid: bitcoin::Txid) {
        let chain = self.env.chain.clone();
        let runtime = self.env.runtime.clone();
        self.batch.after.push(Box::new(move || {
            runtime.spawn(async move { chain.abandon(txid).await });
        }));
    }

    /// Gives up a channel we were opening: tell the peer, forget it, answer the caller.
    fn abort_open(&mut self, temporary: ChannelId, error: ChannelsError) {
        if let Some(entry) = self.state.entries.remove(&temporary) {
            self.refuse_open(entry.peer, temporary, &error.to_string());
        }
        if let Some(reply) = self.state.waiters.opens.remove(&temporary) {
            self.reply_open(reply, Err(error));
        }
    }

    fn answer_close(
        &mut self,
        reply: oneshot::Sender<Result<ClosingInfo, ChannelsError>>,
        result: Result<ClosingInfo, ChannelsError>,
    ) {
        self.batch.after.push(Box::new(move || {
            let _ = reply.send(result);
        }));
    }

    /// Starts a close: `shutdown` (answered once the closing transaction is broadcast) or a
    /// force close (answered with our commitment's txid).
    pub(crate) fn close(
        &mut self,
        channel_id: ChannelId,
        force: bool,
        reply: oneshot::Sender<Result<ClosingInfo, ChannelsError>>,
    ) {
        let Some(entry) = self.state.entries.get(&channel_id) else {
            return self.answer_close(reply, Err(ChannelsError::UnknownChannel(channel_id)));
        };
        match entry.channel() {
            Some(Channel::Closed(_)) | None => {
                return self.answer_close(reply, Err(ChannelsError::UnknownChannel(channel_id)))
            }
            Some(Channel::ShuttingDown(_) | Channel::Negotiating(_)) if !force => {
                return self.answer_close(reply, Err(ChannelsError::AlreadyClosing(channel_id)))
            }
            _ => {}
        }
        let command = if force { Command::ForceClose } else { Command::Shutdown };
        match self.command(channel_id, command) {
            Ok(actions) => {
                // Answered when the closing transaction (or, forced, our commitment) is
                // broadcast, or with the reason if the channel closes without one.
                self.state.waiters.closes.entry(channel_id).or_default().push(reply);
                self.apply(channel_id, actions);
            }
            Err(crate::switch::HtlcOpError::Refused(e)) => {
                self.answer_close(reply, Err(ChannelsError::Refused(e)))
            }
            Err(_) => self.answer_close(reply, Err(ChannelsError::UnknownChannel(channel_id))),
        }
    }

    /// `setchannelfee`: records the channel's own fees in this batch and, once it commits,
    /// sends the peer a `channel_update` with them (BOLT 7: a newer timestamp). Returns the
    /// policy now in force for forwards out over the channel. A store error fails the batch.
    pub(crate) fn set_relay_fees(
        &mut self,
        channel_id: ChannelId,
        change: RelayFeesChange,
    ) -> Result<Result<RelayPolicy, ChannelsError>, StoreError> {
        let Some(entry) = self.state.entries.get(&channel_id) else {
            return Ok(Err(ChannelsError::UnknownChannel(channel_id)));
        };
        let funded = match entry.channel() {
            Some(Channel::Normal(_) | Channel::AwaitingConfirmation(_)) => {
                entry.channel().and_then(Channel::funded)
            }
            Some(Channel::ShuttingDown(_) | Channel::Negotiating(_) | Channel::Closed(_)) => {
                return Ok(Err(ChannelsError::AlreadyClosing(channel_id)))
            }
            _ => None,
        };
        let Some(funded) = funded else {
            return Ok(Err(ChannelsError::UnknownChannel(channel_id)));
        };
        let capacity = funded.setup().funding.amount;
        let relay = &self.env.config.relay;
        let current = summary::local_policy(relay, entry.relay_fees.as_ref(), capacity);
        let fees = RelayFees {
            base_fee: change.base_fee.map_or(current.base_fee, |b| Msat(u64::from(b))),
            proportional_millionths: change
                .proportional_millionths
                .unwrap_or(current.proportional_millionths),
            cltv_expiry_delta: change.cltv_expiry_delta.unwrap_or(current.cltv_expiry_delta),
        };
        self.writer.save_relay_fees(&channel_id, &fees, self.batch.now)?;
        if let Some(entry) = self.state.entries.get_mut(&channel_id) {
            entry.relay_fees = Some(fees);
        }
        // Sent only once the channel has a short channel id (before that, at readiness).
        self.send_channel_update(channel_id);
        Ok(Ok(summary::local_policy(relay, Some(&fees), capacity)))
    }
}
