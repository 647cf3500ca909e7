//! What a commitment transaction contains, independent of keys and scripts: the balances, the
//! HTLCs in flight and the feerate. The update log produces one [`CommitmentSpec`] per
//! commitment by applying [`Update`]s to the previous one ([`CommitmentSpec::reduce`]); the update checks
//! use the same specs with amounts only ([`CommitmentSpec::amounts`]).
//!
//! A spec is always written from the holder's (our) perspective: `offered` are HTLCs we
//! offered, `to_holder` is our balance; the counterparty's commitment uses the same
//! representation and is mirrored only when its transaction is built.

use crate::error::Error;
use shandian_types::{FeeratePerKw, Msat};
use shandian_wire::{
    Message, UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc, UpdateFee, UpdateFulfillHtlc,
};
use std::collections::BTreeMap;

/// An HTLC as both commitments carry it: the `update_add_htlc` that offered it, kept whole so
/// it can be retransmitted byte for byte after a reconnection.
pub type Htlc = UpdateAddHtlc;

/// One change to the channel state, as proposed by one side with an update message. The
/// message is kept as received or sent, for exact retransmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// `update_add_htlc`.
    Add(UpdateAddHtlc),
    /// `update_fulfill_htlc`: removes an HTLC the other side offered, paying it to the proposer.
    Fulfill(UpdateFulfillHtlc),
    /// `update_fail_htlc`: removes an HTLC the other side offered, returning it.
    Fail(UpdateFailHtlc),
    /// `update_fail_malformed_htlc`: likewise, for an onion the proposer could not parse.
    FailMalformed(UpdateFailMalformedHtlc),
    /// `update_fee`, only from the funder.
    Fee(UpdateFee),
}

impl Update {
    /// The HTLC id a removal refers to.
    pub fn removed_id(&self) -> Option<u64> {
        match self {
            Update::Fulfill(m) => Some(m.id),
            Update::Fail(m) => Some(m.id),
            Update::FailMalformed(m) => Some(m.id),
            Update::Add(_) | Update::Fee(_) => None,
        }
    }

    /// The message to (re)transmit for this update.
    pub fn to_message(&self) -> Message {
        match self {
            Update::Add(m) => Message::from(m.clone()),
            Update::Fulfill(m) => Message::from(m.clone()),
            Update::Fail(m) => Message::from(m.clone()),
            Update::FailMalformed(m) => Message::from(m.clone()),
            Update::Fee(m) => Message::from(m.clone()),
        }
    }
}

/// What a spec needs of an HTLC. Commitments carry whole HTLCs ([`Htlc`], onion included);
/// the update checks only need amounts, so they reduce specs of [`Msat`], which are cheap to
/// build (no onion copied per check).
pub trait SpecHtlc: Clone {
    /// Built from the `update_add_htlc` that offered it.
    fn from_add(htlc: &Htlc) -> Self;
    /// Its `amount_msat`.
    fn amount(&self) -> Msat;
}

impl SpecHtlc for Htlc {
    fn from_add(htlc: &Htlc) -> Self {
        htlc.clone()
    }

    fn amount(&self) -> Msat {
        self.amount_msat
    }
}

impl SpecHtlc for Msat {
    fn from_add(htlc: &Htlc) -> Self {
        htlc.amount_msat
    }

    fn amount(&self) -> Msat {
        *self
    }
}

/// The contents of one commitment, from the holder's perspective.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentSpec<H = Htlc> {
    /// HTLCs the holder offered, by id.
    pub offered: BTreeMap<u64, H>,
    /// HTLCs the counterparty offered, by id.
    pub received: BTreeMap<u64, H>,
    /// The holder's balance before fees.
    pub to_holder: Msat,
    /// The counterparty's balance before fees.
    pub to_counterparty: Msat,
    /// The commitment's feerate.
    pub feerate: FeeratePerKw,
}

impl CommitmentSpec {
    /// The initial spec of a channel.
    pub fn new(to_holder: Msat, to_counterparty: Msat, feerate: FeeratePerKw) -> CommitmentSpec {
        CommitmentSpec {
            offered: BTreeMap::new(),
            received: BTreeMap::new(),
            to_holder,
            to_counterparty,
            feerate,
        }
    }

    /// Applies the holder's and the counterparty's changes, in the canonical order: additions,
    /// then removals, then the feerate. Both sides apply the same changes to the same spec and
    /// so agree on the result.
    pub fn reduce(
        &self,
        holder: &[Update],
        counterparty: &[Update],
    ) -> Result<CommitmentSpec, Error> {
        let mut spec = self.clone();
        spec.apply(holder.iter(), counterparty.iter())?;
        Ok(spec)
    }

    /// The same spec with amounts only: what the update checks need.
    pub fn amounts(&self) -> CommitmentSpec<Msat> {
        let amounts = |htlcs: &BTreeMap<u64, Htlc>| {
            htlcs.iter().map(|(id, h)| (*id, h.amount_msat)).collect()
        };
        CommitmentSpec {
            offered: amounts(&self.offered),
            received: amounts(&self.received),
            to_holder: self.to_holder,
            to_counterparty: self.to_counterparty,
            feerate: self.feerate,
        }
    }
}

impl<H: SpecHtlc> CommitmentSpec<H> {
    /// The same commitment seen from the other side: offered and received HTLCs and the two
    /// balances swap places.
    pub fn mirrored(&self) -> CommitmentSpec<H> {
        CommitmentSpec {
            offered: self.received.clone(),
            received: self.offered.clone(),
            to_holder: self.to_counterparty,
            to_counterparty: self.to_holder,
            feerate: self.feerate,
        }
    }

    /// Sum of both balances and every HTLC: the channel capacity, invariant across updates.
    pub fn total(&self) -> Option<Msat> {
        let mut htlcs = self.offered.values().chain(self.received.values());
        htlcs.try_fold(self.to_holder.checked_add(self.to_counterparty)?, |sum, h| {
            sum.checked_add(h.amount())
        })
    }

    /// Sum of the HTLCs the holder offered.
    pub fn offered_total(&self) -> Msat {
        Msat(self.offered.values().fold(0u64, |s, h| s.saturating_add(h.amount().0)))
    }

    /// Sum of the HTLCs the counterparty offered.
    pub fn received_total(&self) -> Msat {
        Msat(self.received.values().fold(0u64, |s, h| s.saturating_add(h.amount().0)))
    }

    /// Applies changes in place, in the order of [`CommitmentSpec::reduce`].
    pub(crate) fn apply<'a>(
        &mut self,
        holder: impl Iterator<Item = &'a Update> + Clone,
        counterparty: impl Iterator<Item = &'a Update> + Clone,
    ) -> Result<(), Error> {
        for update in holder.clone() {
            if let Update::Add(htlc) = update {
                self.to_holder = self
                    .to_holder
                    .checked_sub(htlc.amount_msat)
                    .ok_or(Error::InsufficientBalance)?;
                self.offered.insert(htlc.id, H::from_add(htlc));
            }
        }
        for update in counterparty.clone() {
            if let Update::Add(htlc) = update {
                self.to_counterparty = self
                    .to_counterparty
                    .checked_sub(htlc.amount_msat)
                    .ok_or(Error::InsufficientBalance)?;
                self.received.insert(htlc.id, H::from_add(htlc));
            }
        }
        for update in holder.clone() {
            self.apply_removal(update, true)?;
        }
        for update in counterparty.clone() {
            self.apply_removal(update, false)?;
        }
        let fees = holder.chain(counterparty).filter_map(|u| match u {
            Update::Fee(m) => Some(m.feerate_per_kw),
            _ => None,
        });
        if let Some(rate) = fees.last() {
            self.feerate = rate;
        }
        Ok(())
    }

    /// A removal by the holder settles an HTLC the counterparty offered, and vice versa.
    fn apply_removal(&mut self, update: &Update, by_holder: bool) -> Result<(), Error> {
        let Some(id) = update.removed_id() else {
            return Ok(());
        };
        let fulfilled = matches!(update, Update::Fulfill { .. });
        let htlcs = if by_holder { &mut self.received } else { &mut self.offered };
        let htlc = htlcs.remove(&id).ok_or(Error::UnknownHtlcId(id))?;
        // Fulfilled HTLCs go to the remover; failed ones return to the offerer.
        let to_holder = by_holder == fulfilled;
        let balance = if to_holder { &mut self.to_holder } else { &mut self.to_counterparty };
        *balance = balance.checked_add(htlc.amount()).ok_or(Error::InsufficientBalance)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shandian_types::{ChannelId, CltvExpiry, PaymentPreimage};
    use shandian_wire::{OnionPacket, ONION_PACKET_LEN};

    const CHANNEL: ChannelId = ChannelId([0; 32]);

    fn htlc(id: u64, amount: u64) -> Htlc {
        UpdateAddHtlc {
            channel_id: CHANNEL,
            id,
            amount_msat: Msat(amount),
            payment_hash: PaymentPreimage([id as u8; 32]).hash(),
            cltv_expiry: CltvExpiry(500),
            onion_routing_packet: OnionPacket::new([0; ONION_PACKET_LEN]),
            blinding_point: None,
        }
    }

    fn fail(id: u64) -> Update {
        Update::Fail(UpdateFailHtlc {
            channel_id: CHANNEL,
            id,
            reason: vec![],
            attribution_data: None,
        })
    }

    #[test]
    fn reduce_moves_money_and_keeps_capacity() {
        let base = CommitmentSpec::new(Msat(10_000), Msat(5_000), FeeratePerKw(253));
        let spec =
            base.reduce(&[Update::Add(htlc(0, 1_000))], &[Update::Add(htlc(0, 2_000))]).unwrap();
        assert_eq!((spec.to_holder, spec.to_counterparty), (Msat(9_000), Msat(3_000)));
        assert_eq!(spec.total(), Some(Msat(15_000)));
        let fulfill = Update::Fulfill(UpdateFulfillHtlc {
            channel_id: CHANNEL,
            id: 0,
            payment_preimage: PaymentPreimage([0; 32]),
            attribution_data: None,
        });
        let fee = Update::Fee(UpdateFee { channel_id: CHANNEL, feerate_per_kw: FeeratePerKw(300) });
        let settled = spec.reduce(&[fulfill], &[fail(0), fee]).unwrap();
        // We fulfilled their 2000 (to us); they failed our 1000 (back to us).
        assert_eq!((settled.to_holder, settled.to_counterparty), (Msat(12_000), Msat(3_000)));
        assert_eq!(settled.feerate, FeeratePerKw(300));
        assert_eq!(settled.total(), Some(Msat(15_000)));
    }

    #[test]
    fn reduce_rejects_unknown_ids_and_overdrafts() {
        let base = CommitmentSpec::new(Msat(1_000), Msat(0), FeeratePerKw(253));
        assert_eq!(
            base.reduce(&[Update::Add(htlc(0, 1_001))], &[]),
            Err(Error::InsufficientBalance)
        );
        assert_eq!(base.reduce(&[fail(7)], &[]), Err(Error::UnknownHtlcId(7)));
    }
}
