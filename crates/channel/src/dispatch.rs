//! Routing each input to the phase that handles it, and the phase transitions.

// The channel moves through every handler by value and comes back with the error so the
// reaction can use it; boxing it would only add an allocation per input.
#![allow(clippy::result_large_err)]

use crate::action::{Action, CloseReason, Event};
use crate::channel::{ChainEvent, Channel, Command};
use crate::error::Error;
use crate::phases::{AwaitingConfirmation, Closed, FUNDING_TIMEOUT_BLOCKS};
use bitcoin::secp256k1::Secp256k1;
use shandian_wire::Message;

type Step = Result<(Channel, Vec<Action>), (Channel, Error)>;

/// Runs a fallible handler on a phase borrowed mutably; on error the phase is returned with
/// the error for the reaction.
macro_rules! try_in_place {
    ($channel:expr, $variant:ident, $phase:ident, $out:ident, $body:expr) => {{
        let mut $phase = $phase;
        let mut $out = Vec::new();
        match $body {
            Ok(()) => Ok((Channel::$variant($phase), $out)),
            Err(e) => Err((Channel::$variant($phase), e)),
        }
    }};
}

fn closed_by_error(channel_id: shandian_types::ChannelId, e: Error) -> Step {
    // Before funding is signed there is nothing to broadcast: close and report.
    let closed = Closed { channel_id, reason: CloseReason::ProtocolViolation(e.clone()) };
    Err((Channel::Closed(closed), e))
}

pub(crate) fn dispatch_message(channel: Channel, msg: &Message) -> Step {
    // Only the opening steps need a fresh context; funded phases carry their own.
    let secp = Secp256k1::new;
    let channel_id = channel.channel_id();
    match (channel, msg) {
        (Channel::OutboundOpening(p), Message::AcceptChannel(m)) => match p.on_accept(m) {
            Ok((next, event)) => Ok((Channel::AwaitingFundingTx(next), vec![Action::Event(event)])),
            Err(e) => closed_by_error(channel_id, e),
        },
        (Channel::InboundOpening(p), Message::FundingCreated(m)) => {
            match p.on_funding_created(&secp(), m) {
                Ok((funded, info, reply)) => {
                    let out = vec![
                        Action::Event(Event::ChannelIdChanged {
                            temporary: channel_id,
                            channel_id: funded.setup.channel_id,
                        }),
                        Action::Send(reply),
                        watch(&funded, &info),
                    ];
                    let next = AwaitingConfirmation::new(funded, info);
                    Ok((Channel::AwaitingConfirmation(next), out))
                }
                Err(e) => closed_by_error(channel_id, e),
            }
        }
        (Channel::AwaitingFundingSigned(p), Message::FundingSigned(m)) => {
            match p.on_funding_signed(&secp(), m) {
                Ok((funded, info, tx)) => {
                    // BOLT 2: the funding transaction is broadcast only after funding_signed.
                    let out = vec![Action::Broadcast(tx), watch(&funded, &info)];
                    let next = AwaitingConfirmation::new(funded, info);
                    Ok((Channel::AwaitingConfirmation(next), out))
                }
                Err(e) => closed_by_error(channel_id, e),
            }
        }
        (Channel::AwaitingConfirmation(p), Message::ChannelReady(m)) => {
            let mut p = p;
            p.on_channel_ready(m);
            let mut out = Vec::new();
            Ok((ready_or_wait(p, &mut out), out))
        }
        (Channel::AwaitingConfirmation(p), Message::ChannelReestablish(m)) => {
            try_in_place!(channel, AwaitingConfirmation, p, out, {
                let r = p.funded.on_reestablish(m, &mut out);
                // BOLT 2: retransmit channel_ready while no commitment has been updated.
                if r.is_ok() && p.ready_sent {
                    p.channel_ready().map(|m| out.push(Action::Send(m)))
                } else {
                    r
                }
            })
        }
        (Channel::Normal(p), Message::Shutdown(m)) => {
            let backup = p.clone();
            let mut out = Vec::new();
            match p.on_shutdown(m, &mut out) {
                Ok(next) => after_shutdown_step(next, out),
                Err(e) => Err((Channel::Normal(backup), e)),
            }
        }
        (Channel::Normal(p), Message::ChannelReestablish(m)) => {
            try_in_place!(channel, Normal, p, out, {
                let r = p.funded.on_reestablish(m, &mut out);
                // BOLT 2: both next_commitment_number 1: retransmit channel_ready.
                if r.is_ok()
                    && m.next_commitment_number == 1
                    && p.funded.log().holder_commitment().number == 0
                {
                    ready_message(&p.funded).map(|m| out.push(Action::Send(m)))
                } else {
                    r
                }
            })
        }
        (Channel::Normal(p), Message::ChannelReady(_)) => Ok((Channel::Normal(p), Vec::new())),
        (Channel::Normal(p), m) => {
            try_in_place!(channel, Normal, p, out, p.funded.on_update(m, true, &mut out))
        }
        (Channel::ShuttingDown(p), m) => shutting_down_message(p, m),
        (Channel::Negotiating(p), m) => negotiating_message(p, m),
        (Channel::Closed(p), _) => Ok((Channel::Closed(p), Vec::new())),
        (other, _) => Err((other, Error::UnexpectedMessage)),
    }
}

fn ready_message(funded: &crate::funded::Funded) -> Result<Message, Error> {
    Ok(Message::from(shandian_wire::ChannelReady {
        channel_id: funded.setup.channel_id,
        second_per_commitment_point: funded.setup.signer.commitment_point(1)?,
        short_channel_id_alias: None,
    }))
}

fn watch(funded: &crate::funded::Funded, info: &crate::opening::FundingInfo) -> Action {
    let outpoint = funded.setup.funding.outpoint;
    Action::Event(Event::WatchFunding {
        txid: outpoint.txid,
        output_index: u16::try_from(outpoint.vout).unwrap_or(u16::MAX),
        minimum_depth: info.minimum_depth,
    })
}

fn ready_or_wait(p: AwaitingConfirmation, out: &mut Vec<Action>) -> Channel {
    if p.is_ready() {
        Channel::Normal(p.into_normal(out))
    } else {
        Channel::AwaitingConfirmation(p)
    }
}

/// After a shutdown-related step: start negotiating if nothing is left in flight.
pub(crate) fn after_shutdown_step(p: crate::phases::ShuttingDown, mut out: Vec<Action>) -> Step {
    let backup = p.clone();
    match p.try_negotiate(&mut out) {
        Ok(Ok(next)) => Ok((Channel::Negotiating(next), out)),
        Ok(Err(same)) => Ok((Channel::ShuttingDown(same), out)),
        Err(e) => Err((Channel::ShuttingDown(backup), e)),
    }
}

fn shutting_down_message(p: crate::phases::ShuttingDown, msg: &Message) -> Step {
    let mut p = p;
    let mut out = Vec::new();
    let result = match msg {
        Message::Shutdown(m) => p.on_shutdown(m),
        Message::ChannelReestablish(m) => {
            let r = p.funded.on_reestablish(m, &mut out);
            // BOLT 2: retransmit shutdown after reconnecting.
            r.map(|()| out.push(Action::Send(p.shutdown_message())))
        }
        // BOLT 2: only the side that sent shutdown may no longer add; until the peer's
        // shutdown arrives its adds are legal (the node should fail them back).
        m => {
            let peer_may_add = p.counterparty_script.is_none();
            p.funded.on_update(m, peer_may_add, &mut out)
        }
    };
    match result {
        Ok(()) => after_shutdown_step(p, out),
        Err(e) => Err((Channel::ShuttingDown(p), e)),
    }
}

fn negotiating_message(p: crate::phases::Negotiating, msg: &Message) -> Step {
    let mut p = p;
    let mut out = Vec::new();
    match msg {
        Message::ClosingSigned(m) => match p.on_closing_signed(m, &mut out) {
            Ok(Some(tx)) => {
                out.push(Action::Broadcast(tx));
                out.push(Action::Event(Event::Closed(CloseReason::Cooperative)));
                let closed = Closed {
                    channel_id: p.funded.setup.channel_id,
                    reason: CloseReason::Cooperative,
                };
                Ok((Channel::Closed(closed), out))
            }
            Ok(None) => Ok((Channel::Negotiating(p), out)),
            Err(e) => Err((Channel::Negotiating(p), e)),
        },
        // A duplicate shutdown is harmless.
        Message::Shutdown(_) => Ok((Channel::Negotiating(p), out)),
        // BOLT 2: updates after both shutdowns with no HTLCs left are a violation.
        _ => Err((Channel::Negotiating(p), Error::UnexpectedMessage)),
    }
}

pub(crate) fn dispatch_command(channel: Channel, cmd: Command) -> Step {
    // Only the opening steps need a fresh context; funded phases carry their own.
    let secp = Secp256k1::new;
    match (channel, cmd) {
        (Channel::AwaitingFundingTx(p), Command::FundingTransaction(tx)) => {
            let backup = p.clone();
            match p.on_funding_tx(&secp(), tx) {
                Ok((next, out)) => Ok((Channel::AwaitingFundingSigned(next), out)),
                Err(e) => Err((Channel::AwaitingFundingTx(backup), e)),
            }
        }
        (Channel::Normal(p), Command::AddHtlc(h)) => {
            try_in_place!(channel, Normal, p, out, p.funded.add_htlc(h, &mut out))
        }
        (Channel::Normal(p), Command::RemoveHtlc { id, removal }) => {
            try_in_place!(channel, Normal, p, out, p.funded.remove_htlc(id, removal, &mut out))
        }
        (Channel::ShuttingDown(p), Command::RemoveHtlc { id, removal }) => {
            let mut p = p;
            let mut out = Vec::new();
            match p.funded.remove_htlc(id, removal, &mut out) {
                Ok(()) => after_shutdown_step(p, out),
                Err(e) => Err((Channel::ShuttingDown(p), e)),
            }
        }
        (Channel::Normal(p), Command::UpdateFee(rate)) => {
            try_in_place!(channel, Normal, p, out, p.funded.update_fee(rate, &mut out))
        }
        (Channel::ShuttingDown(p), Command::UpdateFee(rate)) => {
            try_in_place!(channel, ShuttingDown, p, out, p.funded.update_fee(rate, &mut out))
        }
        (Channel::Normal(p), Command::Commit) => {
            try_in_place!(channel, Normal, p, out, p.funded.sign_if_needed(&mut out))
        }
        (Channel::ShuttingDown(p), Command::Commit) => {
            let mut p = p;
            let mut out = Vec::new();
            match p.funded.sign_if_needed(&mut out) {
                Ok(()) => after_shutdown_step(p, out),
                Err(e) => Err((Channel::ShuttingDown(p), e)),
            }
        }
        (Channel::Normal(p), Command::Shutdown) => {
            if !p.funded.connected {
                return Err((Channel::Normal(p), Error::Disconnected));
            }
            let backup = p.clone();
            let mut out = Vec::new();
            match p.shutdown(&mut out) {
                Ok(next) => after_shutdown_step(next, out),
                Err(e) => Err((Channel::Normal(backup), e)),
            }
        }
        (mut c, Command::LearnPreimage(preimage)) if c.funded().is_some() => {
            let learned = c.funded_mut().is_some_and(|f| f.learn_preimage(preimage));
            if !learned {
                return Err((c, Error::UnknownPreimage));
            }
            // Nothing to send: only the record, so the preimage survives a restart and
            // reaches the monitor if the channel closes.
            let record = Action::Persist(Box::new(crate::record::ChannelRecord::new(&c)));
            Ok((c, vec![record]))
        }
        (c, Command::ForceClose) if c.funded().is_some() => {
            Ok(c.fail(CloseReason::LocalForceClose, None))
        }
        (other, _) => Err((other, Error::InvalidCommand)),
    }
}

pub(crate) fn dispatch_chain(channel: Channel, event: &ChainEvent) -> Step {
    match (channel, event) {
        (
            Channel::AwaitingConfirmation(p),
            ChainEvent::FundingConfirmed { tx, block_height, tx_index, depth },
        ) => {
            let mut p = p;
            let mut out = Vec::new();
            match p.on_confirmed(tx, *block_height, *tx_index, *depth, &mut out) {
                Ok(()) => Ok((ready_or_wait(p, &mut out), out)),
                Err(e) => {
                    // The funding output is not what we signed for: our commitments spend
                    // nothing valid, so close without broadcasting.
                    let channel_id = p.funded.setup.channel_id;
                    closed_by_error(channel_id, e)
                }
            }
        }
        (c, ChainEvent::FundingSpent) if c.funded().is_some() => {
            let channel_id = c.channel_id();
            let closed = Closed { channel_id, reason: CloseReason::FundingSpent };
            Ok((
                Channel::Closed(closed),
                vec![Action::Event(Event::Closed(CloseReason::FundingSpent))],
            ))
        }
        (Channel::AwaitingConfirmation(mut p), ChainEvent::BlockConnected(height)) => {
            let since = *p.waiting_since.get_or_insert(*height);
            // BOLT 2: the fundee SHOULD forget the channel if the funding transaction has
            // not confirmed after 2016 blocks (we have nothing at stake in it).
            let unconfirmed = p.funded.short_channel_id.is_none();
            let fundee = !p.funded.setup.limits.holder_is_funder;
            if fundee && unconfirmed && height.0.saturating_sub(since.0) >= FUNDING_TIMEOUT_BLOCKS {
                let closed = Closed {
                    channel_id: p.funded.setup.channel_id,
                    reason: CloseReason::Forgotten,
                };
                return Ok((
                    Channel::Closed(closed),
                    vec![Action::Event(Event::Closed(CloseReason::Forgotten))],
                ));
            }
            Ok((Channel::AwaitingConfirmation(p), Vec::new()))
        }
        (c, ChainEvent::BlockConnected(height)) if c.htlc_timed_out(*height) => {
            Ok(c.fail(CloseReason::LocalForceClose, None))
        }
        (other, _) => Ok((other, Vec::new())),
    }
}
