//! The [`HtlcHandler`] the channel manager calls inside its batches: incoming HTLCs are
//! received (we are the final node) or forwarded; outcomes of HTLCs we offered go to our
//! payments or back upstream to the forward they belong to.

use std::sync::{Arc, Mutex, PoisonError};

use shandian_channel::{Htlc, NewHtlc, Removal, Update};
use shandian_onion::{peel, FailureMessage, OnionPacket, Peeled, SharedSecret};
use shandian_onion::{FinalPayload, ForwardPayload};
use shandian_types::{BlockHeight, ChannelId, PaymentPreimage};
use shandian_wire::OnionPacket as WireOnion;

use super::forward::{self, UpstreamFailure};
use super::outgoing;
use super::receive::{self, KnownInvoice, Receipt};
use super::state::{ForwardEntry, HtlcKey, PaymentsState};
use crate::store::{ForwardStatus, InvoicePaid, NewForward, StoreError};
use crate::switch::{ChannelOps, HtlcHandler, HtlcOpError, OnchainOutcome};

/// The payment logic's side of the switch (see [`crate::switch`]).
pub(crate) struct Handler {
    pub state: Arc<Mutex<PaymentsState>>,
}

impl Handler {
    fn lock(&self) -> std::sync::MutexGuard<'_, PaymentsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An HTLC we offered will never be settled by the peer (forgotten, or ended on chain):
    /// a forward fails upstream with our own `failure`, our payment's attempt fails.
    fn offered_htlc_gone(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        failure: FailureMessage,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let key = (*channel_id, htlc_id);
        match state.forwards_out.get(&key).copied() {
            Some(incoming) => {
                forward_failed(&mut state, ops, key, incoming, UpstreamFailure::Own(failure))
            }
            None => outgoing::failed(&mut state, ops, key, None),
        }
    }
}

impl HtlcHandler for Handler {
    fn htlc_incoming(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc: &Htlc,
        must_fail: bool,
    ) -> Result<(), StoreError> {
        incoming(&mut self.lock(), ops, channel_id, htlc, must_fail)
    }

    fn htlc_fulfilled(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        preimage: PaymentPreimage,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let key = (*channel_id, htlc_id);
        match state.forwards_out.get(&key).copied() {
            Some(incoming) => forward_fulfilled(&mut state, ops, key, incoming, preimage),
            None => outgoing::fulfilled(&mut state, ops, key, preimage),
        }
    }

    fn htlc_failed(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        update: &Update,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let key = (*channel_id, htlc_id);
        match state.forwards_out.get(&key).copied() {
            Some(incoming) => {
                let failure = match update {
                    Update::Fail(m) => UpstreamFailure::Relay(m.reason.clone()),
                    // BOLT 4: a malformed failure from downstream is turned into our own
                    // failure carrying its code and sha256_of_onion.
                    Update::FailMalformed(m) => {
                        let mut message = m.failure_code.to_be_bytes().to_vec();
                        message.extend_from_slice(&m.sha256_of_onion);
                        UpstreamFailure::Own(FailureMessage::decode(&message).unwrap_or(
                            FailureMessage::TemporaryChannelFailure { channel_update: Vec::new() },
                        ))
                    }
                    _ => UpstreamFailure::Own(FailureMessage::TemporaryNodeFailure),
                };
                forward_failed(&mut state, ops, key, incoming, failure)
            }
            None => outgoing::failed(&mut state, ops, key, Some(update)),
        }
    }

    fn htlc_dropped(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
    ) -> Result<(), StoreError> {
        let failure = FailureMessage::TemporaryChannelFailure { channel_update: Vec::new() };
        self.offered_htlc_gone(ops, channel_id, htlc_id, failure)
    }

    fn htlc_resolved_on_chain(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        outcome: OnchainOutcome,
    ) -> Result<(), StoreError> {
        tracing::info!(channel = %channel_id, htlc_id, ?outcome, "offered HTLC resolved on chain");
        match outcome {
            OnchainOutcome::Fulfilled(preimage) => {
                self.htlc_fulfilled(ops, channel_id, htlc_id, preimage)
            }
            // BOLT 4: the outgoing channel is closed.
            OnchainOutcome::Failed => self.offered_htlc_gone(
                ops,
                channel_id,
                htlc_id,
                FailureMessage::PermanentChannelFailure,
            ),
        }
    }

    fn block_connected(
        &mut self,
        ops: &mut dyn ChannelOps,
        _height: BlockHeight,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let now = ops.now();
        if state.invoices.values().any(|i| i.is_expired(now)) {
            ops.store().expire_invoices(now)?;
            state.invoices.retain(|_, i| !i.is_expired(now));
        }
        Ok(())
    }
}

/// An HTLC offered to us, irrevocably committed.
pub(crate) fn incoming(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    channel_id: &ChannelId,
    htlc: &Htlc,
    must_fail: bool,
) -> Result<(), StoreError> {
    let key = (*channel_id, htlc.id);
    let packet = OnionPacket::from_bytes(htlc.onion_routing_packet.as_bytes());
    let peeled = match peel(&state.secp, &state.node_secret, &packet, htlc.payment_hash.as_bytes())
    {
        Ok(peeled) => peeled,
        Err(error) => return reject_unpeelable(state, ops, key, &packet, &error),
    };
    if state.forwards.contains_key(&key) {
        return replay_forward(state, ops, key, peeled.shared_secret);
    }
    if must_fail {
        // BOLT 2: an HTLC over our dust exposure limit is failed back.
        let failure = FailureMessage::TemporaryChannelFailure { channel_update: Vec::new() };
        return settle_failed(ops, key, &UpstreamFailure::Own(failure), &peeled.shared_secret);
    }
    let secret = peeled.shared_secret;
    match peeled.peeled {
        Peeled::Final { payload } => match FinalPayload::decode(&payload) {
            Ok(payload) => receive_final(state, ops, key, htlc, &payload, &secret),
            Err(e) => reject_payload(ops, key, &e, &secret),
        },
        Peeled::Forward { payload, next_packet } => match ForwardPayload::decode(&payload) {
            Ok(payload) => forward_htlc(state, ops, key, htlc, &payload, *next_packet, &secret),
            Err(e) => reject_payload(ops, key, &e, &secret),
        },
    }
}

/// Settles `key` with a failure created with `secret`. A settle the channel refuses (HTLC
/// already removed after a replay) is logged, not fatal.
fn settle_failed(
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    failure: &UpstreamFailure,
    secret: &SharedSecret,
) -> Result<(), StoreError> {
    settle(ops, key, Removal::Fail(failure.to_reason(secret)));
    Ok(())
}

fn settle(ops: &mut dyn ChannelOps, key: HtlcKey, removal: Removal) {
    match ops.settle_htlc(&key.0, key.1, removal) {
        Ok(()) => {}
        // Offline or closed: the removal goes out when the channel is reestablished (the
        // manager hands the HTLC over again), and a preimage is kept for the chain meanwhile.
        Err(e @ (HtlcOpError::NotUsable(_) | HtlcOpError::UnknownChannel(_))) => {
            tracing::info!(channel = %key.0, "incoming HTLC {} settles later: {e}", key.1)
        }
        Err(e) => tracing::warn!(channel = %key.0, "cannot settle incoming HTLC {}: {e}", key.1),
    }
}

/// The onion did not peel. BOLT 4: a bad version, key or HMAC is answered with
/// `update_fail_malformed_htlc` (BADONION code and sha256 of the onion); a bad payload framing
/// behind a valid HMAC with `invalid_onion_payload` from us.
fn reject_unpeelable(
    state: &PaymentsState,
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    packet: &OnionPacket,
    error: &shandian_onion::Error,
) -> Result<(), StoreError> {
    let message = error.failure_message().unwrap_or(FailureMessage::TemporaryNodeFailure);
    let code = message.code();
    if code.is_bad_onion() {
        let removal =
            Removal::Malformed { sha256_of_onion: packet.sha256_of_onion(), failure_code: code.0 };
        settle(ops, key, removal);
        return Ok(());
    }
    let secret = match bitcoin::secp256k1::PublicKey::from_slice(&packet.public_key) {
        Ok(ephemeral) => SharedSecret::new(&ephemeral, &state.node_secret),
        Err(_) => {
            let removal = Removal::Malformed {
                sha256_of_onion: packet.sha256_of_onion(),
                failure_code: shandian_onion::FailureCode::INVALID_ONION_KEY.0,
            };
            settle(ops, key, removal);
            return Ok(());
        }
    };
    settle_failed(ops, key, &UpstreamFailure::Own(message), &secret)
}

/// The payload did not decode: `invalid_onion_payload` (BOLT 4).
fn reject_payload(
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    error: &shandian_onion::Error,
    secret: &SharedSecret,
) -> Result<(), StoreError> {
    let message = error.failure_message().unwrap_or(FailureMessage::TemporaryNodeFailure);
    settle_failed(ops, key, &UpstreamFailure::Own(message), secret)
}

/// We are the final node.
fn receive_final(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    htlc: &Htlc,
    payload: &FinalPayload,
    secret: &SharedSecret,
) -> Result<(), StoreError> {
    let hash = htlc.payment_hash;
    // Paid and expired invoices are only in the store.
    let stored;
    let invoice = match state.invoices.get(&hash) {
        Some(known) => Some(known),
        None => {
            stored = ops.store().invoice(&hash)?.as_ref().map(KnownInvoice::from);
            stored.as_ref()
        }
    };
    let receipt = receive::check(
        &key.0,
        htlc,
        payload,
        invoice,
        ops.best_block(),
        ops.now(),
        state.config.min_final_cltv_expiry_delta,
    );
    match receipt {
        Receipt::Accept(preimage) => {
            let paid =
                ops.store().mark_invoice_paid_by(&hash, htlc.amount_msat, ops.now(), Some(key));
            match paid {
                Ok(InvoicePaid::Recorded) => {}
                // Paid meanwhile by another HTLC (cannot happen in one actor) or expired in
                // the store: refuse rather than pay twice.
                Ok(InvoicePaid::AlreadyPaid) | Err(StoreError::InvoiceNotPayable { .. }) => {
                    let failure = FailureMessage::IncorrectOrUnknownPaymentDetails {
                        htlc_msat: htlc.amount_msat,
                        height: ops.best_block(),
                    };
                    return settle_failed(ops, key, &UpstreamFailure::Own(failure), secret);
                }
                Err(e) => return Err(e),
            }
            state.invoices.remove(&hash);
            tracing::info!("invoice {hash} paid with {} msat", htlc.amount_msat.0);
            settle(ops, key, Removal::Fulfill(preimage));
            Ok(())
        }
        Receipt::Replay(preimage) => {
            settle(ops, key, Removal::Fulfill(preimage));
            Ok(())
        }
        Receipt::Reject(failure) => {
            tracing::info!("refusing HTLC {} on {}: {:?}", key.1, key.0, failure.code());
            settle_failed(ops, key, &UpstreamFailure::Own(failure), secret)
        }
    }
}

/// We forward: check, offer the HTLC on the next channel, and record the forward, in this
/// batch.
fn forward_htlc(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    htlc: &Htlc,
    payload: &ForwardPayload,
    next_packet: OnionPacket,
    secret: &SharedSecret,
) -> Result<(), StoreError> {
    let out = ops.channel_by_scid(payload.short_channel_id);
    let margin = state.config.forward_expiry_margin;
    if let Err(failure) = forward::check(htlc, payload, out.as_ref(), ops.best_block(), margin) {
        return settle_failed(ops, key, &UpstreamFailure::Own(failure), secret);
    }
    let Some(out) = out else { return Ok(()) };
    let new_htlc = NewHtlc {
        amount: payload.amt_to_forward,
        payment_hash: htlc.payment_hash,
        cltv_expiry: payload.outgoing_cltv_value,
        onion: WireOnion::new(next_packet.to_bytes()),
        blinding_point: None,
    };
    let out_htlc_id = match ops.add_htlc(&out.channel_id, new_htlc) {
        Ok(id) => id,
        Err(e) => {
            tracing::info!(channel = %out.channel_id, "cannot forward HTLC {}: {e}", key.1);
            let failure = FailureMessage::TemporaryChannelFailure { channel_update: Vec::new() };
            return settle_failed(ops, key, &UpstreamFailure::Own(failure), secret);
        }
    };
    let forward = NewForward {
        in_channel_id: key.0,
        in_htlc_id: key.1,
        out_channel_id: out.channel_id,
        out_htlc_id,
        payment_hash: htlc.payment_hash,
        in_amount: htlc.amount_msat,
        out_amount: payload.amt_to_forward,
    };
    ops.store().add_forward(&forward, ops.now())?;
    let outgoing = (out.channel_id, out_htlc_id);
    state.forwards_out.insert(outgoing, key);
    state.forwards.insert(
        key,
        ForwardEntry {
            status: ForwardStatus::Pending,
            preimage: None,
            failure: None,
            secret: Some(*secret),
        },
    );
    Ok(())
}

/// An incoming HTLC we already forwarded, seen again after a restart: nothing to do while the
/// outgoing HTLC is pending; otherwise settle it as recorded.
fn replay_forward(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    secret: SharedSecret,
) -> Result<(), StoreError> {
    let Some(entry) = state.forwards.get_mut(&key) else { return Ok(()) };
    entry.secret = Some(secret);
    match entry.status {
        ForwardStatus::Pending => {}
        ForwardStatus::Fulfilled => {
            if let Some(preimage) = entry.preimage {
                settle(ops, key, Removal::Fulfill(preimage));
            }
        }
        ForwardStatus::Failed => {
            let failure = UpstreamFailure::decode(entry.failure.as_deref().unwrap_or_default());
            settle_failed(ops, key, &failure, &secret)?;
        }
    }
    Ok(())
}

/// Downstream fulfilled a forward: fulfil upstream at once.
fn forward_fulfilled(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    outgoing: HtlcKey,
    incoming: HtlcKey,
    preimage: PaymentPreimage,
) -> Result<(), StoreError> {
    match ops.store().fulfil_forward(&outgoing.0, outgoing.1, &preimage, ops.now()) {
        Ok(_) => {}
        // The channel checks preimages (BOLT 2); a mismatch is not a fulfil of this HTLC.
        Err(StoreError::WrongPreimage(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(entry) = state.forwards.get_mut(&incoming) {
        entry.status = ForwardStatus::Fulfilled;
        entry.preimage = Some(preimage);
    }
    settle(ops, incoming, Removal::Fulfill(preimage));
    Ok(())
}

/// Downstream failed a forward (or it never went out): fail upstream.
fn forward_failed(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    outgoing: HtlcKey,
    incoming: HtlcKey,
    failure: UpstreamFailure,
) -> Result<(), StoreError> {
    let stored = failure.encode();
    match ops.store().fail_forward(&outgoing.0, outgoing.1, &stored, ops.now()) {
        Ok(_) => {}
        Err(StoreError::ForwardResolved { .. }) => return Ok(()),
        Err(e) => return Err(e),
    }
    let Some(entry) = state.forwards.get_mut(&incoming) else { return Ok(()) };
    entry.status = ForwardStatus::Failed;
    entry.failure = Some(stored);
    // Without the incoming secret (a restart before the incoming HTLC was replayed) the
    // upstream failure is sent when it is replayed.
    if let Some(secret) = entry.secret {
        settle_failed(ops, incoming, &failure, &secret)?;
    }
    Ok(())
}
