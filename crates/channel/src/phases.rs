//! The funded phases: waiting for confirmations, normal operation, shutting down,
//! negotiating the closing fee, and closed. Each is its own struct (DESIGN.md §3).

use crate::action::{Action, CloseReason, Event};
use crate::closing::{fee_range, is_valid_shutdown_script, negotiate, ClosingStep, Scripts};
use crate::error::Error;
use crate::funded::Funded;
use crate::opening::FundingInfo;
use bitcoin::{Amount, ScriptBuf, Transaction};
use shandian_types::{ChannelId, ShortChannelId};
use shandian_wire::{ChannelReady, ClosingSigned, FeeRange, Message, Shutdown};

/// The funding transaction is signed; we wait for it to reach the agreed depth and for both
/// `channel_ready` messages.
#[derive(Debug, Clone)]
pub struct AwaitingConfirmation {
    pub(crate) funded: Funded,
    pub(crate) info: FundingInfo,
    pub(crate) ready_sent: bool,
    pub(crate) ready_received: bool,
    /// The first block height seen while waiting (BOLT 2 fundee funding timeout).
    pub(crate) waiting_since: Option<shandian_types::BlockHeight>,
}

impl AwaitingConfirmation {
    /// The phase right after the funding signatures were exchanged: nothing confirmed or sent.
    pub(crate) fn new(funded: Funded, info: FundingInfo) -> AwaitingConfirmation {
        AwaitingConfirmation {
            funded,
            info,
            ready_sent: false,
            ready_received: false,
            waiting_since: None,
        }
    }
}

/// BOLT 2: blocks after which a fundee forgets a channel whose funding never confirmed.
pub const FUNDING_TIMEOUT_BLOCKS: u32 = 2016;

/// Both sides are ready: HTLCs flow.
#[derive(Debug, Clone)]
pub struct Normal {
    pub(crate) funded: Funded,
    pub(crate) info: FundingInfo,
}

/// `shutdown` was sent (and maybe received): no new HTLCs; closing waits for the last ones.
#[derive(Debug, Clone)]
pub struct ShuttingDown {
    pub(crate) funded: Funded,
    pub(crate) info: FundingInfo,
    pub(crate) counterparty_script: Option<ScriptBuf>,
}

/// No HTLCs remain: both sides exchange `closing_signed` until they agree on a fee.
#[derive(Debug, Clone)]
pub struct Negotiating {
    pub(crate) funded: Funded,
    pub(crate) info: FundingInfo,
    pub(crate) scripts: Scripts,
    pub(crate) range: FeeRange,
    pub(crate) last_sent: Option<Amount>,
}

/// The channel is closed; it accepts nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The channel.
    pub channel_id: ChannelId,
    /// Why it closed.
    pub reason: CloseReason,
}

impl AwaitingConfirmation {
    /// BOLT 2: the funding output is checked exactly (amount and script) when it confirms,
    /// then `channel_ready` goes out at the agreed depth.
    pub(crate) fn on_confirmed(
        &mut self,
        tx: &Transaction,
        block_height: u32,
        tx_index: u32,
        depth: u32,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        let funding = &self.funded.setup.funding;
        let output = usize::try_from(funding.outpoint.vout).ok().and_then(|i| tx.output.get(i));
        if tx.compute_txid() != funding.outpoint.txid || output != Some(&funding.txout()) {
            return Err(Error::WrongFundingOutput);
        }
        let vout = u16::try_from(funding.outpoint.vout).map_err(|_| Error::WrongFundingOutput)?;
        self.funded.short_channel_id = ShortChannelId::new(block_height, tx_index, vout);
        if depth >= self.info.minimum_depth && !self.ready_sent && self.funded.connected {
            out.push(Action::Send(self.channel_ready()?));
            self.ready_sent = true;
        }
        Ok(())
    }

    pub(crate) fn channel_ready(&self) -> Result<Message, Error> {
        let f = &self.funded;
        Ok(Message::from(ChannelReady {
            channel_id: f.setup.channel_id,
            second_per_commitment_point: f.setup.signer.commitment_point(1)?,
            short_channel_id_alias: None,
        }))
    }

    pub(crate) fn on_channel_ready(&mut self, m: &ChannelReady) {
        // The peer's point for its commitment 1, the next one we sign.
        self.funded.counterparty_points.1 = m.second_per_commitment_point;
        self.ready_received = true;
    }

    /// Whether both `channel_ready` went out and came in.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready_sent && self.ready_received && self.funded.short_channel_id.is_some()
    }

    pub(crate) fn into_normal(self, out: &mut Vec<Action>) -> Normal {
        if let Some(short_channel_id) = self.funded.short_channel_id {
            out.push(Action::Event(Event::ChannelReady {
                channel_id: self.funded.setup.channel_id,
                short_channel_id,
            }));
        }
        Normal { funded: self.funded, info: self.info }
    }
}

/// Validates the peer's `shutdown` script.
fn check_counterparty_script(info: &FundingInfo, m: &Shutdown) -> Result<ScriptBuf, Error> {
    if !is_valid_shutdown_script(&m.scriptpubkey) {
        return Err(Error::InvalidShutdownScript);
    }
    // BOLT 2: a script that differs from upfront_shutdown_script fails the channel.
    if info.counterparty_upfront_script.as_ref().is_some_and(|s| *s != m.scriptpubkey) {
        return Err(Error::ShutdownScriptMismatch);
    }
    Ok(m.scriptpubkey.clone())
}

fn shutdown_message(funded: &Funded, info: &FundingInfo) -> Message {
    Message::from(Shutdown {
        channel_id: funded.setup.channel_id,
        scriptpubkey: info.shutdown_script.clone(),
    })
}

impl Normal {
    /// Starts a mutual close: BOLT 2 forbids `shutdown` while our updates are unsigned, so
    /// they are signed first.
    pub(crate) fn shutdown(mut self, out: &mut Vec<Action>) -> Result<ShuttingDown, Error> {
        self.funded.sign_if_needed(out)?;
        out.push(Action::Send(shutdown_message(&self.funded, &self.info)));
        out.push(Action::Event(Event::ShuttingDown));
        Ok(ShuttingDown { funded: self.funded, info: self.info, counterparty_script: None })
    }

    /// The peer's `shutdown`: answer with ours (BOLT 2: MUST reply once no updates pending).
    pub(crate) fn on_shutdown(
        self,
        m: &Shutdown,
        out: &mut Vec<Action>,
    ) -> Result<ShuttingDown, Error> {
        let script = check_counterparty_script(&self.info, m)?;
        let mut next = self.shutdown(out)?;
        next.counterparty_script = Some(script);
        Ok(next)
    }
}

impl ShuttingDown {
    pub(crate) fn on_shutdown(&mut self, m: &Shutdown) -> Result<(), Error> {
        self.counterparty_script = Some(check_counterparty_script(&self.info, m)?);
        Ok(())
    }

    pub(crate) fn shutdown_message(&self) -> Message {
        shutdown_message(&self.funded, &self.info)
    }

    /// BOLT 2: closing negotiation starts once both shutdowns are exchanged and no HTLCs
    /// (or any other update) remain; the funder proposes first.
    pub(crate) fn try_negotiate(
        self,
        out: &mut Vec<Action>,
    ) -> Result<Result<Negotiating, ShuttingDown>, Error> {
        let Some(counterparty) = self.counterparty_script.clone() else {
            return Ok(Err(self));
        };
        if !self.funded.log.no_htlcs() || !self.funded.connected {
            return Ok(Err(self));
        }
        let scripts = Scripts { holder: self.info.shutdown_script.clone(), counterparty };
        let feerate = self.funded.log.holder_commitment().spec.feerate;
        let range = fee_range(feerate, self.info.closing_feerate_floor);
        let mut next =
            Negotiating { funded: self.funded, info: self.info, scripts, range, last_sent: None };
        next.propose_if_funder(out)?;
        Ok(Ok(next))
    }
}

impl Negotiating {
    pub(crate) fn propose_if_funder(&mut self, out: &mut Vec<Action>) -> Result<(), Error> {
        if !self.funded.setup.limits.holder_is_funder {
            return Ok(());
        }
        let feerate = self.funded.log.holder_commitment().spec.feerate;
        let fee = feerate
            .fee_for_weight(bitcoin::Weight::from_wu(672))
            .max(self.range.min_fee_satoshis)
            .min(self.range.max_fee_satoshis);
        self.send(fee, out)
    }

    fn send(&mut self, fee: Amount, out: &mut Vec<Action>) -> Result<(), Error> {
        let msg = self.funded.closing_signed(&self.scripts, fee, &self.range)?;
        out.push(Action::Send(Message::from(msg)));
        self.last_sent = Some(fee);
        Ok(())
    }

    /// BOLT 2 `closing_signed`: accept (sign back and broadcast) or counter-propose.
    /// Returns the final transaction once both sides agree.
    pub(crate) fn on_closing_signed(
        &mut self,
        m: &ClosingSigned,
        out: &mut Vec<Action>,
    ) -> Result<Option<Transaction>, Error> {
        let funder = self.funded.setup.limits.holder_is_funder;
        let step =
            negotiate(&self.range, m.fee_range.as_ref(), m.fee_satoshis, funder, self.last_sent)?;
        match step {
            ClosingStep::Accept(fee) => {
                let tx = self.funded.complete_closing(&self.scripts, m)?;
                if self.last_sent != Some(fee) {
                    self.send(fee, out)?;
                }
                Ok(Some(tx))
            }
            ClosingStep::Counter(fee) => {
                // Check their signature even though we do not take this fee.
                self.funded.complete_closing(&self.scripts, m)?;
                self.send(fee, out)?;
                Ok(None)
            }
        }
    }
}
