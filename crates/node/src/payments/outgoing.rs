//! Our own payments inside the manager's batches: start one, send an HTLC over the best
//! remaining route, and on each outcome succeed, retry on another route, or give up — each
//! step written to the store in the batch that carries the HTLC change.

use bitcoin::secp256k1::{rand, SecretKey};
use shandian_channel::{NewHtlc, Update};
use shandian_onion::{build_payment_onion, decode_failure, FailureCode};
use shandian_types::{ChannelId, NodeId, PaymentHash, PaymentPreimage};
use shandian_wire::OnionPacket;

use super::attempt::SentRoute;
use super::route::{self, Candidate};
use super::state::{HtlcKey, Outgoing, PayRequest, PaymentsState, SentHtlc};
use super::{failure_name, PayError, PaySuccess};
use crate::store::{NewAttempt, NewPayment, PaymentStatus, Resolution, StoreError};
use crate::switch::ChannelOps;

/// Starts paying `request` (recorded with `bolt11`); the outcome goes to `outgoing.waiter`.
/// Returns `Ok(Err)` for a payment refused before any HTLC left, `Err` for a store error
/// once one may have been offered (the batch must not commit).
pub(crate) fn start(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    payment_hash: PaymentHash,
    bolt11: String,
    outgoing: Outgoing,
) -> Result<Result<(), PayError>, StoreError> {
    let now = ops.now();
    let payment =
        NewPayment { payment_hash, invoice: Some(bolt11), amount: outgoing.request.amount };
    match ops.store().start_payment(&payment, now) {
        Ok(_) => {}
        Err(StoreError::PaymentExists { status: PaymentStatus::Succeeded, .. }) => {
            return Ok(Err(PayError::AlreadyPaid))
        }
        Err(StoreError::PaymentExists { .. }) => return Ok(Err(PayError::InProgress)),
        // Nothing offered yet: the caller learns why, the batch goes on.
        Err(e) => return Ok(Err(PayError::Store(e))),
    }
    state.outgoing.insert(payment_hash, outgoing);
    // From here on an HTLC may be offered: a store error fails the batch.
    send_next(state, ops, payment_hash)?;
    Ok(Ok(()))
}

/// Sends an HTLC over the best route not excluded yet; with none left, the payment fails.
fn send_next(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    hash: PaymentHash,
) -> Result<(), StoreError> {
    let channels = ops.channels();
    let height = ops.best_block();
    loop {
        let Some(outgoing) = state.outgoing.get_mut(&hash) else { return Ok(()) };
        let request = &outgoing.request;
        let found = route::candidates(
            &channels,
            state.node_id,
            request.payee,
            &request.hints,
            request.amount,
            &outgoing.exclusions,
        );
        let Some(candidate) = found.into_iter().next() else {
            let reason = match &outgoing.last_failure {
                Some(last) => format!("no route left (last failure: {last})"),
                None => "no route to the payee".to_owned(),
            };
            return finish_failed(state, ops, hash, reason);
        };
        outgoing.exclusions.tried.push(candidate.clone());
        let first_scid = channels
            .iter()
            .find(|c| c.channel_id == candidate.channel_id)
            .and_then(|c| c.short_channel_id);
        let Some(first_scid) = first_scid else { continue };
        let request = request.clone();
        if let Some(sent) = try_send(state, ops, &request, hash, &candidate, first_scid, height)? {
            let Some(outgoing) = state.outgoing.get_mut(&hash) else { return Ok(()) };
            outgoing.attempts = outgoing.attempts.saturating_add(1);
            state.sent.insert(sent.0, sent.1);
            return Ok(());
        }
    }
}

/// Builds the route and onion for `candidate` and offers the HTLC; `None` if this candidate
/// cannot carry it (it is already marked tried).
fn try_send(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    request: &PayRequest,
    hash: PaymentHash,
    candidate: &Candidate,
    first_scid: shandian_types::ShortChannelId,
    height: shandian_types::BlockHeight,
) -> Result<Option<(HtlcKey, SentHtlc)>, StoreError> {
    let computed = route::compute(
        candidate,
        first_scid,
        request.payee,
        request.amount,
        height,
        request.min_final_cltv_expiry_delta,
    );
    let Ok(path) = computed else { return Ok(None) };
    let payloads = path.payloads(request.payment_secret, request.metadata.as_deref());
    // Fresh OS randomness for every onion (BOLT 4: the session key MUST be random).
    let session_key = SecretKey::new(&mut rand::rngs::OsRng);
    let Ok(onion) = build_payment_onion(&state.secp, &session_key, &payloads, &hash) else {
        return Ok(None);
    };
    let htlc = NewHtlc {
        amount: path.first_amount(),
        payment_hash: hash,
        cltv_expiry: path.first_expiry(),
        onion: OnionPacket::new(onion.packet.to_bytes()),
        blinding_point: None,
    };
    let htlc_id = match ops.add_htlc(&path.channel_id, htlc) {
        Ok(id) => id,
        Err(e) => {
            tracing::debug!(channel = %path.channel_id, "payment {hash}: first hop refused: {e}");
            if let Some(outgoing) = state.outgoing.get_mut(&hash) {
                outgoing.exclusions.channels.push(path.channel_id);
                outgoing.last_failure =
                    Some(format!("our channel {} refused: {e}", path.channel_id));
            }
            return Ok(None);
        }
    };
    let sent = SentRoute::new(&path, onion.shared_secrets);
    let attempt = NewAttempt {
        payment_hash: hash,
        channel_id: path.channel_id,
        htlc_id,
        amount: path.amount(),
        fee: path.fee(),
        route: sent.encode(),
    };
    let attempt_id = ops.store().add_attempt(&attempt, ops.now())?;
    let key = (path.channel_id, htlc_id);
    Ok(Some((key, SentHtlc { attempt_id, payment_hash: hash, route: sent })))
}

/// Our HTLC `key` was fulfilled: the payment succeeded (once).
pub(crate) fn fulfilled(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    preimage: PaymentPreimage,
) -> Result<(), StoreError> {
    let Some(sent) = state.sent.get(&key) else { return Ok(()) };
    if preimage.hash() != sent.payment_hash {
        // The channel checks preimages (BOLT 2); this cannot be a fulfil of our HTLC.
        tracing::warn!(channel = %key.0, "ignoring a preimage that does not match HTLC {}", key.1);
        return Ok(());
    }
    let Some(sent) = state.sent.remove(&key) else { return Ok(()) };
    let resolution = ops.store().succeed_attempt(sent.attempt_id, &preimage, ops.now())?;
    let outgoing = state.outgoing.remove(&sent.payment_hash);
    if resolution != Resolution::Recorded {
        return Ok(());
    }
    tracing::info!("payment {} succeeded", sent.payment_hash);
    if let Some(waiter) = outgoing.and_then(|o| o.waiter.map(|w| (w, o.attempts))) {
        let (waiter, attempts) = waiter;
        let success = PaySuccess {
            payment_hash: sent.payment_hash,
            preimage,
            amount: sent.route.hops.last().map(|h| h.amount).unwrap_or_default(),
            fee: sent
                .route
                .hops
                .first()
                .zip(sent.route.hops.last())
                .map(|(f, l)| f.amount.saturating_sub(l.amount))
                .unwrap_or_default(),
            attempts,
            route: sent.route.nodes(),
        };
        ops.after_commit(Box::new(move || {
            let _ = waiter.send(Ok(success));
        }));
    }
    Ok(())
}

/// What to avoid after a failure, and whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Blame {
    /// The payee refused: no other route changes that.
    Final,
    /// Our own channel.
    Channel(ChannelId),
    /// A channel further on.
    ShortChannel(shandian_types::ShortChannelId),
    /// A node as a whole.
    Node(NodeId),
    /// Unknown: only this exact route is avoided.
    Route,
}

/// Reads a failure of our HTLC sent over `channel_id` along `route`: who failed and why.
pub(crate) fn attribute(
    route: &SentRoute,
    channel_id: ChannelId,
    update: Option<&Update>,
) -> (Blame, String) {
    let nodes = route.nodes();
    match update {
        None => (Blame::Channel(channel_id), format!("our channel {channel_id} dropped the HTLC")),
        Some(Update::FailMalformed(m)) => {
            let first = nodes.first().map(ToString::to_string).unwrap_or_default();
            let code = FailureCode(m.failure_code);
            let text = format!(
                "payment failed at hop 0 ({first}) with code {} ({:#06x}): it could not read our onion",
                failure_name(code),
                code.0
            );
            (Blame::Channel(channel_id), text)
        }
        Some(Update::Fail(m)) => match decode_failure(&route.shared_secrets, &m.reason) {
            Ok(decoded) => {
                let node = nodes.get(decoded.hop).copied();
                let code = decoded.code.unwrap_or(FailureCode(0));
                let text = format!(
                    "payment failed at hop {} ({}) with code {} ({:#06x})",
                    decoded.hop,
                    node.map(|n| n.to_string()).unwrap_or_default(),
                    failure_name(code),
                    code.0
                );
                let blame = if decoded.hop + 1 >= nodes.len() {
                    Blame::Final
                } else if code.is_node() {
                    node.map_or(Blame::Route, Blame::Node)
                } else {
                    // The failing node's outgoing channel: the one the next hop is reached by.
                    route
                        .hops
                        .get(decoded.hop + 1)
                        .map_or(Blame::Route, |next| Blame::ShortChannel(next.short_channel_id))
                };
                (blame, text)
            }
            Err(e) => (Blame::Route, format!("payment failed somewhere on the route ({e})")),
        },
        Some(_) => (Blame::Route, "payment failed (unexpected update)".to_owned()),
    }
}

/// Our HTLC `key` failed (`update` is the peer's failure; `None` if it was dropped before the
/// peer committed to it): record it, then retry or give up.
pub(crate) fn failed(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    key: HtlcKey,
    update: Option<&Update>,
) -> Result<(), StoreError> {
    let Some(sent) = state.sent.remove(&key) else { return Ok(()) };
    let (blame, text) = attribute(&sent.route, key.0, update);
    tracing::info!("payment {}: {text}", sent.payment_hash);
    ops.store().fail_attempt(sent.attempt_id, &text, ops.now())?;
    let hash = sent.payment_hash;
    let now = ops.now();
    let Some(outgoing) = state.outgoing.get_mut(&hash) else {
        // After a restart nobody retries: the payment ends with its last HTLC.
        if !state.in_flight(&hash) {
            ops.store().fail_payment(&hash, &text, now)?;
        }
        return Ok(());
    };
    outgoing.last_failure = Some(text.clone());
    match blame {
        Blame::Final => return finish_failed(state, ops, hash, text),
        Blame::Channel(id) => outgoing.exclusions.channels.push(id),
        Blame::ShortChannel(scid) => outgoing.exclusions.short_channel_ids.push(scid),
        Blame::Node(node) => outgoing.exclusions.nodes.push(node),
        Blame::Route => {}
    }
    if now >= outgoing.deadline {
        return finish_failed(state, ops, hash, format!("timed out ({text})"));
    }
    send_next(state, ops, hash)
}

/// Gives up on `hash` once no HTLC of it is in flight, and tells the caller.
fn finish_failed(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    hash: PaymentHash,
    reason: String,
) -> Result<(), StoreError> {
    if state.in_flight(&hash) {
        return Ok(());
    }
    let outgoing = state.outgoing.remove(&hash);
    ops.store().fail_payment(&hash, &reason, ops.now())?;
    if let Some(waiter) = outgoing.and_then(|o| o.waiter) {
        let error = if reason.starts_with("no route") {
            PayError::NoRoute(reason)
        } else {
            PayError::Failed(reason)
        };
        ops.after_commit(Box::new(move || {
            let _ = waiter.send(Err(error));
        }));
    }
    Ok(())
}
